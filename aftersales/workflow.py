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
    "approve_offer": _("approve and send the offer"),
    "return_offer": _("return the offer to the agent"),
    "claim": _("claim"),
    "expire": _("cancel: goods never sent back"),
    "triage": _("triage"),
    "note": _("add a note or reply"),
}

#: Timeline labels of events that are not transitions (by ``CaseEvent.name``).
EVENT_LABELS = {
    "compensation_quick_refund": _("Quick refund granted"),
    "compensation_propose": _("Compensation proposed"),
    "compensation_approve": _("Compensation approved"),
    "compensation_reject": _("Compensation refused"),
    "compensation_void": _("Compensation voided"),
    "compensation_payable": _("Compensation payable"),
    "compensation_mark_paid": _("Paid out"),
    "compensation_mark_failed": _("Payout failed"),
    "offer_approval_requested": _("Offer sent for a supervisor's approval"),
    "offer_returned": _("Offer returned to the agent"),
    "claim": _("Claimed"),
}


# --------------------------------------------------------------------------
# Stage clocks: whom each open state waits on, and for how long
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class StageClock:
    waiting_on: str
    policy_field: str
    unit: str  # "hours" or "days"
    #: What the sweep does when the deadline passes: a system transition, or an overdue alert.
    on_timeout: str


STAGE_CLOCKS: dict[str, StageClock] = {
    CaseState.PENDING_REVIEW: StageClock(WaitingOn.MERCHANT, "review_timeout_hours", "hours", "auto_approve"),
    CaseState.AWAITING_RETURN: StageClock(WaitingOn.CUSTOMER, "return_ship_days", "days", "expire"),
    CaseState.IN_QC: StageClock(WaitingOn.WAREHOUSE, "qc_timeout_hours", "hours", "alert"),
    CaseState.COMPENSATION: StageClock(WaitingOn.MERCHANT, "proposal_timeout_hours", "hours", "alert"),
    CaseState.AWAITING_CONFIRMATION: StageClock(WaitingOn.CUSTOMER, "confirm_timeout_hours", "hours", "auto_confirm"),
    CaseState.ESCALATED: StageClock(WaitingOn.MERCHANT, "escalation_timeout_hours", "hours", "alert"),
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


def initial_priority(
    *, urgency: int, is_vip: bool, claim_value: Decimal, request_type: str = "", crisis: bool = False
) -> str:
    """Urgency × impact → colour.

    Impact counts a VIP (or high-value) customer, a claim worth ¥1,000 or more,
    and a complaint. Red: a crisis, very urgent, urgent with some impact, or
    medium urgency with two impacts; yellow: urgent, or any impact.
    """
    from aftersales.models import RequestType

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


# --------------------------------------------------------------------------
# Suggested compensation: from the goods in the case and the QC result
# --------------------------------------------------------------------------
#: Share of the goods' value suggested for a price adjustment (partial refund).
PRICE_ADJUSTMENT_SHARE = Decimal("0.10")
#: Goodwill coupon for a complaint, regular and VIP customers.
COMPLAINT_COUPON = Decimal("20.00")
COMPLAINT_COUPON_VIP = Decimal("50.00")
#: The VIP compensation upgrade (offered by a rule): a coupon of a share of the goods' value, with a floor.
VIP_UPGRADE_SHARE = Decimal("0.10")
VIP_UPGRADE_MIN = Decimal("30.00")


@dataclass(frozen=True)
class Suggestion:
    kind: str
    amount: Decimal
    basis: str


def suggest_compensation(
    *,
    request_type: str,
    claim_value: Decimal,
    already: dict[str, Decimal],
    grade: str | None,
    responsible_party: str | None,
    policy,
    is_vip: bool,
    vip_upgrade: bool = False,
) -> list[Suggestion]:
    """What an agent would offer, with the reason for each amount.

    ``already`` holds the live compensation per kind (quick refunds included),
    so a suggestion never repeats what is already offered or paid.
    """
    from aftersales.models import Compensation, Inspection, RequestType

    K, G, P = Compensation.Kind, Inspection.Grade, Inspection.Party
    if responsible_party == P.CUSTOMER:
        return []  # the customer is at fault: QC rejects the case, nothing to offer
    merchant_side = responsible_party in (P.MERCHANT, P.LOGISTICS)
    out: list[Suggestion] = []

    def add(kind: str, amount: Decimal, basis) -> None:
        amount = money(amount) - already.get(kind, Decimal("0.00"))
        if amount > 0:
            out.append(Suggestion(kind, money(amount), str(basis)))

    if request_type in (RequestType.REFUND_ONLY, RequestType.RETURN_REFUND):
        add(K.REFUND, claim_value, _("Full refund of the goods in this case."))
    elif request_type == RequestType.EXCHANGE:
        add(K.REPLACEMENT, claim_value, _("A replacement of the same value."))
    elif request_type == RequestType.REPAIR and grade == G.D:
        add(K.REPLACEMENT, claim_value, _("QC found the item unusable: replace it instead of repairing it."))
    elif request_type == RequestType.PRICE_ADJUSTMENT:
        add(K.REFUND, claim_value * PRICE_ADJUSTMENT_SHARE, _("Partial refund of 10% of the goods' value."))
    elif request_type == RequestType.COMPLAINT:
        coupon = COMPLAINT_COUPON_VIP if is_vip else COMPLAINT_COUPON
        add(
            K.COUPON,
            coupon,
            _("Goodwill coupon for the trouble (VIP rate).") if is_vip else _("Goodwill coupon for the trouble."),
        )
    if vip_upgrade and request_type != RequestType.COMPLAINT:
        add(
            K.COUPON,
            max(VIP_UPGRADE_MIN, claim_value * VIP_UPGRADE_SHARE),
            _("VIP compensation upgrade: a coupon of 10% of the goods' value (at least ¥30)."),
        )
    if grade is not None and merchant_side and not policy.shipping_insurance:
        add(
            K.RETURN_SHIPPING,
            policy.return_shipping_allowance,
            _("Return postage: the merchant's side is at fault and no shipping insurance covers it."),
        )
    return out
