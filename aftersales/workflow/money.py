"""Money: CNY as ``Decimal``, one rounding helper, one way to show an amount."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def money(value) -> Decimal:
    """The one rounding helper: to the cent, half up."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def yuan(amount: Decimal) -> str:
    """An amount as people read it: ¥1,299.00."""
    return f"¥{money(amount):,}"
