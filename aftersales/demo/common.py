"""What the demo modules share: the state and kind shorthands, the relative clock (seconds), fen → yuan, and the
fast weighted random choices."""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from aftersales.models import (
    CaseState,
    Compensation,
    CompensationState,
    RequestType,
)

S = CaseState
CS = CompensationState
RT = RequestType
K = Compensation.Kind
MINUTE, HOUR, DAY = 60, 3600, 86400
YEAR = 365 * DAY


class FastRandom(random.Random):
    """``random.Random`` with cheaper ``randint``/``randrange``/``choice`` (one ``random()`` call each).

    Still deterministic for a seed; the bias is below 2**-40 for the small ranges used here.
    """

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def randrange(self, start: int, stop: int | None = None) -> int:
        if stop is None:
            start, stop = 0, start
        return start + int(self.random() * (stop - start))

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]


class Weighted:
    """Fast weighted choice with a given ``random.Random``."""

    __slots__ = ("cumulative", "items", "total")

    def __init__(self, weights: dict | Sequence[tuple]):
        pairs = list(weights.items()) if isinstance(weights, dict) else list(weights)
        self.items = [item for item, _ in pairs]
        self.cumulative = []
        total = 0
        for _, weight in pairs:
            total += weight
            self.cumulative.append(total)
        self.total = total

    def __call__(self, rng: random.Random):
        return self.items[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


def cents(value: int) -> Decimal:
    """Integer fen → Decimal yuan with two places."""
    return Decimal(value).scaleb(-2)


def to_dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


# --------------------------------------------------------------------------
# Reference data (idempotent, ordinary saves)
# --------------------------------------------------------------------------
