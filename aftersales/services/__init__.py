"""The only writers of after-sales data. Views, admin, API and jobs call these."""

from aftersales.services.assignment import case_claim
from aftersales.services.cases import (
    case_add_note,
    case_approve,
    case_auto_approve,
    case_auto_confirm,
    case_available_transitions,
    case_cancel,
    case_confirm,
    case_decline,
    case_escalate,
    case_expire,
    case_inspect,
    case_open,
    case_propose,
    case_rate,
    case_receive,
    case_reject,
    case_resolve_escalation,
    case_update,
    policy_for_channel,
)
from aftersales.services.compensations import (
    compensation_add,
    compensation_approve,
    compensation_mark_failed,
    compensation_mark_paid,
    compensation_reject,
    compensation_void,
)
from aftersales.services.events import case_event_record
from aftersales.services.numbers import case_number_next
from aftersales.services.offers import case_approve_offer, case_return_offer, case_submit_offer
from aftersales.services.risk_flags import customer_flag_clear, customer_flag_refresh

__all__ = [
    "case_add_note",
    "case_approve",
    "case_approve_offer",
    "case_auto_approve",
    "case_auto_confirm",
    "case_available_transitions",
    "case_cancel",
    "case_claim",
    "case_confirm",
    "case_decline",
    "case_escalate",
    "case_event_record",
    "case_expire",
    "case_inspect",
    "case_number_next",
    "case_open",
    "case_propose",
    "case_rate",
    "case_receive",
    "case_reject",
    "case_resolve_escalation",
    "case_return_offer",
    "case_submit_offer",
    "case_update",
    "compensation_add",
    "compensation_approve",
    "compensation_mark_failed",
    "compensation_mark_paid",
    "compensation_reject",
    "compensation_void",
    "customer_flag_clear",
    "customer_flag_refresh",
    "policy_for_channel",
]
