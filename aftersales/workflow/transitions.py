"""What each transition and action is called, and the stage clock of each open state.

Pure data: no queries. Services stamp the clocks; the sweeps act when they run out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.translation import gettext_lazy as _

from aftersales.models import CaseState, WaitingOn

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
