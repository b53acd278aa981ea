"""The only writers of after-sales data. Views, admin, API and jobs call these (import them from here).

One module per stage: ``opening``, ``cases`` (review, goods back and QC, the customer's answer, cancel,
escalation), ``offers`` (sending an offer, and the supervisor's approval above an agent's authority),
``compensations`` (the ledger and payouts), ``updates`` (rating, triage, notes), ``assignment`` (claim),
``risk_flags`` (claimant flags), ``shipments`` (parcels' scans from the tracking provider); ``_base`` holds the steps every service shares (lock, check, save, record, notify).
May import models, the workflow registry and rules, automation, notifications and selectors; never a door.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aftersales.services.assignment import case_claim
from aftersales.services.care import cause_analysis_record, corrective_action_close, follow_up_record
from aftersales.services.cases import (
    case_approve,
    case_auto_approve,
    case_auto_confirm,
    case_auto_confirm_receipt,
    case_cancel,
    case_confirm,
    case_confirm_receipt,
    case_decline,
    case_deliver,
    case_escalate,
    case_expire,
    case_inspect,
    case_receive,
    case_receive_and_inspect,
    case_reject,
    case_resolve_escalation,
    case_send_goods,
    case_ship_return,
)
from aftersales.services.compensations import (
    compensation_add,
    compensation_approve,
    compensation_mark_failed,
    compensation_mark_paid,
    compensation_reject,
    compensation_settle,
    compensation_settlement_overdue,
    compensation_void,
)
from aftersales.services.numbers import case_number_next
from aftersales.services.offers import (
    case_accept_counter,
    case_approve_offer,
    case_propose,
    case_return_offer,
    case_send_offer,
    case_submit_offer,
)
from aftersales.services.opening import case_open, policy_for_channel
from aftersales.services.risk_flags import customer_flag_clear, customer_flag_refresh
from aftersales.services.shipments import shipment_stuck, shipment_track
from aftersales.services.updates import case_add_evidence, case_add_note, case_rate, case_update

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from aftersales.workflow.transitions import Action

__all__ = [
    "case_accept_counter",
    "case_add_evidence",
    "case_add_note",
    "case_approve",
    "case_approve_offer",
    "case_auto_approve",
    "case_auto_confirm",
    "case_auto_confirm_receipt",
    "case_cancel",
    "case_claim",
    "case_confirm",
    "case_confirm_receipt",
    "case_decline",
    "case_deliver",
    "case_escalate",
    "case_expire",
    "case_inspect",
    "case_number_next",
    "case_open",
    "case_propose",
    "case_rate",
    "case_receive",
    "case_receive_and_inspect",
    "case_reject",
    "case_resolve_escalation",
    "case_return_offer",
    "case_send_goods",
    "case_send_offer",
    "case_ship_return",
    "case_submit_offer",
    "case_update",
    "cause_analysis_record",
    "compensation_add",
    "compensation_approve",
    "compensation_mark_failed",
    "compensation_mark_paid",
    "compensation_reject",
    "compensation_settle",
    "compensation_settlement_overdue",
    "compensation_void",
    "corrective_action_close",
    "customer_flag_clear",
    "customer_flag_refresh",
    "follow_up_record",
    "perform",
    "policy_for_channel",
    "shipment_stuck",
    "shipment_track",
]


def perform(action: Action, *, target_id: int, actor: User | None, data: dict) -> object:
    """Run a registry entry's service on the case (or compensation) ``target_id`` with a form's or serializer's data.

    The doors call this for every action of the registry (``aftersales.workflow.transitions``); the data are the
    service's keyword arguments, as the action's form or serializer hands them over.
    """
    service = globals()[action.service]
    return service(**{action.target: target_id}, actor=actor, **data)
