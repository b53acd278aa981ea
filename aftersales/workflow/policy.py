"""Pure policy rules: the return window, priority from urgency × impact, quick-refund eligibility.
No queries here; services pass in what they loaded.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from aftersales.models import QUICK_REFUND_TYPES, Attribution, Priority, RequestType


def return_window_days(policy, attribution: str | None) -> int:
    if attribution == Attribution.PRODUCT_QUALITY:
        return policy.quality_return_days
    return policy.no_reason_return_days


def window_deadline(delivered_at: datetime | None, days: int) -> datetime | None:
    """End of the return window, or ``None`` when the goods were never delivered (always within)."""
    if delivered_at is None:
        return None
    return delivered_at + timedelta(days=days)


# --------------------------------------------------------------------------
# Priority and quick refund
# --------------------------------------------------------------------------
HIGH_VALUE = Decimal("1000.00")


def initial_priority(
    *, urgency: int, is_vip: bool, claim_value: Decimal, request_type: str = "", crisis: bool = False
) -> str:
    """Urgency × impact → colour.

    Impact counts a VIP (or high-value) customer, a claim worth ¥1,000 or more,
    and a complaint. Red: a crisis, very urgent, urgent with some impact, or
    medium urgency with two impacts; yellow: urgent, or any impact.
    """
    impact = int(is_vip) + int(claim_value >= HIGH_VALUE) + int(request_type == RequestType.COMPLAINT)
    if crisis or urgency >= 5 or (urgency >= 4 and impact >= 1) or (urgency >= 3 and impact >= 2):
        return Priority.RED
    if urgency >= 4 or impact >= 1:
        return Priority.YELLOW
    return Priority.GREEN


def quick_refund_eligible(*, policy, request_type: str, credit_score: int, amount: Decimal, flagged: bool) -> bool:
    return bool(
        policy.quick_refund_enabled
        and request_type in QUICK_REFUND_TYPES
        and not flagged
        and credit_score >= policy.quick_refund_min_credit
        and Decimal("0") < amount <= policy.quick_refund_max_amount
    )
