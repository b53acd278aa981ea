"""Pure workflow rules: labels, stage clocks, policy windows, priority and
quick-refund eligibility. No queries here; services pass in what they loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext_lazy as _

from aftersales.models import (
    QUICK_REFUND_TYPES,
    Attribution,
    CaseState,
    Priority,
    WaitingOn,
)

CENT = Decimal("0.01")


def money(value) -> Decimal:
    """The one rounding helper: to the cent, half up."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


ACTION_LABELS = {
    "open": _("open"),
    "approve": _("approve"),
    "auto_approve": _("approve automatically"),
    "reject": _("reject"),
    "receive": _("receive the return"),
    "inspect": _("record the inspection"),
    "propose": _("send the offer"),
    "confirm": _("confirm"),
    "decline": _("decline the offer"),
    "auto_confirm": _("confirm automatically"),
    "cancel": _("cancel"),
    "escalate": _("escalate"),
    "resolve_escalation": _("resolve the escalation"),
    "mark_paid": _("mark paid"),
    "mark_failed": _("mark the payout failed"),
    "void": _("void"),
}


# --------------------------------------------------------------------------
# Stage clocks: whom each open state waits on, and for how long
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class StageClock:
    waiting_on: str
    policy_field: str
    unit: str  # "hours" or "days"


STAGE_CLOCKS: dict[str, StageClock] = {
    CaseState.PENDING_REVIEW: StageClock(WaitingOn.MERCHANT, "review_timeout_hours", "hours"),
    CaseState.AWAITING_RETURN: StageClock(WaitingOn.CUSTOMER, "return_ship_days", "days"),
    CaseState.IN_QC: StageClock(WaitingOn.WAREHOUSE, "qc_timeout_hours", "hours"),
    CaseState.COMPENSATION: StageClock(WaitingOn.MERCHANT, "proposal_timeout_hours", "hours"),
    CaseState.AWAITING_CONFIRMATION: StageClock(WaitingOn.CUSTOMER, "confirm_timeout_hours", "hours"),
    CaseState.ESCALATED: StageClock(WaitingOn.MERCHANT, "escalation_timeout_hours", "hours"),
}


def stage_clock(state: str, policy, since: datetime) -> tuple[str, datetime | None]:
    """``(waiting_on, due_at)`` for a case entering ``state`` at ``since``."""
    clock = STAGE_CLOCKS.get(state)
    if clock is None:
        return WaitingOn.NOBODY, None
    amount = getattr(policy, clock.policy_field)
    return clock.waiting_on, since + timedelta(**{clock.unit: amount})


# --------------------------------------------------------------------------
# Policy window
# --------------------------------------------------------------------------
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


def initial_priority(*, urgency: int, is_vip: bool, claim_value: Decimal) -> str:
    """Urgency × impact → colour. Red: very urgent, or urgent with a VIP or a high-value claim."""
    impact = int(is_vip) + int(claim_value >= HIGH_VALUE)
    if urgency >= 5 or (urgency >= 4 and impact >= 1) or (urgency >= 3 and impact >= 2):
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
