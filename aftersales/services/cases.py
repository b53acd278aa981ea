"""Case services: one per workflow transition of review, the goods back and QC, the customer's answer to the
offer, cancel and escalation (the offer itself is in ``offers``, opening in ``opening``).

Each service: lock the row, check state and permission (``ensure_may``), check the transition's conditions with a
message that names the problem, transition, save with ``update_fields``, record the ``CaseEvent``, write the
customer's message to the outbox and run the rules — in one transaction. Nothing is written when any check fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from aftersales.automation.routing import route_back_from_escalation
from aftersales.errors import NotAllowed
from aftersales.models import (
    ESCALATION_RESOLUTIONS,
    GRANTED_COMPENSATION_STATES,
    LIVE_COMPENSATION_STATES,
    Case,
    CaseState,
    Compensation,
    Inspection,
    Shipment,
)
from aftersales.services._base import (
    ensure_may,
    escalate_locked,
    finish_transition,
    local_time,
    lock_case,
    now,
    required,
)
from aftersales.services.compensations import (
    grant_quick_refund,
    make_approved_payable,
    parse_amount,
    void_unpaid,
)
from aftersales.services.photos import store_photos, validate_photos
from aftersales.workflow.policy import return_window_days, window_deadline
from aftersales.workflow.shipping import carrier_label, clean_shipment, normalise_tracking_number

if TYPE_CHECKING:
    from django.contrib.auth.models import User

S = CaseState


# --------------------------------------------------------------------------
# Review
# --------------------------------------------------------------------------
def _check_window(case: Case, *, actor: User | None, override: bool) -> dict:
    """Refuse approval outside the policy window unless an authorised override."""
    attribution = case.category.attribution if case.category_id else None
    days = return_window_days(case.policy_version, attribution)
    deadline = window_deadline(case.order.delivered_at, days)
    if deadline is None or case.opened_at <= deadline:
        return {}
    if override:
        if not actor.has_perm("aftersales.override_policy_window"):
            raise PermissionDenied(_("Only a supervisor may approve outside the policy window."))
        return {"window_override": True, "window_days": days}
    raise NotAllowed(
        _(
            "The request came on %(opened)s, after the %(days)s-day window that ended on %(deadline)s (delivered %(delivered)s). A supervisor may override."
        )
        % {
            "opened": local_time(case.opened_at),
            "days": days,
            "deadline": local_time(deadline),
            "delivered": local_time(case.order.delivered_at),
        }
    )


def _approve(case: Case, *, name: str, actor: User | None, at: datetime, note: str, data: dict) -> Case:
    before = case.state
    getattr(case, name)(at=at)
    refund = grant_quick_refund(case, actor=actor, at=at)
    if refund is not None:
        case.quick_refund = True
        data = {**data, "quick_refund": str(refund.amount)}
    finish_transition(
        case, name=name, before=before, actor=actor, at=at, note=note, fields={"approved_at", "quick_refund"}, data=data
    )
    return case


@transaction.atomic
def case_approve(
    *,
    case_id: int,
    actor: User | None,
    note: str = "",
    override_window: bool = False,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    at = now(at)
    case = lock_case(case_id, expected_version=expected_version)
    ensure_may(case, "approve", actor)
    data = _check_window(case, actor=actor, override=override_window)
    return _approve(case, name="approve", actor=actor, at=at, note=note, data=data)


@transaction.atomic
def case_auto_approve(*, case_id: int, at: datetime | None = None) -> Case:
    """System: the review timeout of the case's policy passed without action."""
    at = now(at)
    case = lock_case(case_id)
    ensure_may(case, "auto_approve", None)
    if case.stage_due_at is None or case.stage_due_at > at:
        raise NotAllowed(_("The review deadline of %(number)s has not passed yet.") % {"number": case.number})
    note = _("Approved by default: not reviewed within %(hours)s hours.") % {
        "hours": case.policy_version.review_timeout_hours
    }
    return _approve(case, name="auto_approve", actor=None, at=at, note=note, data={})


@transaction.atomic
def case_reject(
    *, case_id: int, actor: User | None, reason: str, expected_version: int | None = None, at: datetime | None = None
) -> Case:
    at = now(at)
    reason = required(reason, "reason", _("Give the customer a reason for the rejection."))
    case = lock_case(case_id, expected_version=expected_version)
    ensure_may(case, "reject", actor)
    before = case.state
    case.reject(at=at, reason=reason)
    finish_transition(
        case, name="reject", before=before, actor=actor, at=at, note=reason, fields={"reject_reason", "closed_at"}
    )
    return case


# --------------------------------------------------------------------------
# Goods back and QC
# --------------------------------------------------------------------------
def _active_return(case: Case) -> Shipment | None:
    return case.shipments.filter(direction=Shipment.Direction.RETURN, active=True).first()


@transaction.atomic
def case_ship_return(
    *,
    case_id: int,
    actor: User | None,
    carrier: str,
    tracking_number: str,
    pickup: bool = False,
    note: str = "",
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    """The customer sent the goods back (reported through the channel, or by an agent on their behalf).

    A second report replaces the first (kept inactive, the event says what it replaced); the same parcel reported
    again changes nothing. The case waits on the carrier from now on: the return-expiry clock has stopped.
    """
    at = now(at)
    carrier, tracking_number = clean_shipment(carrier, tracking_number)
    case = lock_case(case_id, expected_version=expected_version)
    if not case.goods_come_back:
        raise NotAllowed(
            _("%(number)s is a “%(type)s” request: no goods come back, so there is no return shipment to record.")
            % {"number": case.number, "type": case.get_request_type_display()}
        )
    ensure_may(case, "ship_return", actor)
    if pickup and not case.policy_version.pickup_offered:
        raise ValidationError({"pickup": _("The policy of this case offers no door-to-door pickup.")})
    current = _active_return(case)
    if current is not None and (current.carrier, current.tracking_number) == (carrier, tracking_number):
        return case  # the same parcel again (a retry): nothing to change
    data: dict = {"carrier": carrier, "tracking_number": tracking_number, "pickup": pickup}
    if current is not None:
        current.active, current.replaced_at = False, at
        current.save(update_fields=["active", "replaced_at"])
        data["replaces"] = {"carrier": current.carrier, "tracking_number": current.tracking_number}
    shipment = Shipment.objects.create(
        case=case,
        direction=Shipment.Direction.RETURN,
        carrier=carrier,
        tracking_number=tracking_number,
        pickup=pickup,
        reported_by=actor,
        created_at=at,
        quiet_since=at,
    )
    data["shipment"] = shipment.pk
    before = case.state
    case.ship_return(at=at, carrier=carrier, tracking_number=tracking_number)
    finish_transition(
        case,
        name="ship_return",
        before=before,
        actor=actor,
        at=at,
        note=(note or "").strip(),
        fields={"return_carrier", "return_tracking_number"},
        data=data,
    )
    return case


@transaction.atomic
def case_receive(
    *,
    case_id: int,
    actor: User | None,
    tracking_number: str,
    carrier: str = "",
    note: str = "",
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    """The parcel arrived at the warehouse. A number in the wrong format for the carrier given is refused (a typo);
    a parcel other than the one the customer reported is recorded on the event (and shown on the case), never
    refused — the goods are here."""
    at = now(at)
    required(tracking_number, "tracking_number", _("Record the return tracking number."))
    if carrier:
        carrier, tracking_number = clean_shipment(carrier, tracking_number)
    else:
        tracking_number = normalise_tracking_number(tracking_number)
    case = lock_case(case_id, expected_version=expected_version)
    ensure_may(case, "receive", actor)
    data: dict = {"tracking_number": tracking_number, "carrier": carrier}
    reported = _active_return(case)
    if reported is not None:
        if reported.tracking_number != tracking_number or (carrier and reported.carrier != carrier):
            # Another parcel came: the one reported is not known to have arrived (its status stays as it is).
            data["mismatch"] = {"carrier": reported.carrier, "tracking_number": reported.tracking_number}
        else:
            reported.status, reported.delivered_at = Shipment.Status.DELIVERED, reported.delivered_at or at
            reported.save(update_fields=["status", "delivered_at"])
    before = case.state
    case.receive(at=at, carrier=carrier, tracking_number=tracking_number)
    finish_transition(
        case,
        name="receive",
        before=before,
        actor=actor,
        at=at,
        note=note,
        fields={"received_at", "return_carrier", "return_tracking_number"},
        data=data,
    )
    return case


def _choice(value: str, choices, field: str) -> str:
    if value not in choices.values:
        listed = ", ".join(f"{code} ({label})" for code, label in choices.choices)  # the API sends the code
        raise ValidationError({field: _("Choose one of: %(choices)s.") % {"choices": listed}})
    return value


@transaction.atomic
def case_inspect(
    *,
    case_id: int,
    actor: User | None,
    grade: str,
    responsible_party: str,
    disposition: str,
    findings: str = "",
    photos: Sequence = (),
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    """Record the QC inspection (with photos); the customer at fault → rejected, otherwise → compensation."""
    at = now(at)
    accepted_photos = validate_photos(photos)
    grade = _choice(grade, Inspection.Grade, "grade")
    responsible_party = _choice(responsible_party, Inspection.Party, "responsible_party")
    disposition = _choice(disposition, Inspection.Disposition, "disposition")
    findings = (findings or "").strip()
    customer_at_fault = responsible_party == Inspection.Party.CUSTOMER
    if customer_at_fault and not findings:
        raise ValidationError({"findings": _("Describe what the customer is responsible for.")})
    case = lock_case(case_id, expected_version=expected_version)
    ensure_may(case, "inspect", actor)
    inspection = Inspection.objects.create(
        case=case,
        grade=grade,
        responsible_party=responsible_party,
        disposition=disposition,
        findings=findings,
        inspector=actor,
        inspected_at=at,
    )
    before = case.state
    case.inspect(at=at, customer_at_fault=customer_at_fault)
    data = {
        "inspection": inspection.pk,
        "grade": grade,
        "responsible_party": responsible_party,
        "photos": len(accepted_photos),
    }
    fields = {"inspected_at"}
    if customer_at_fault:
        case.reject_reason = findings
        fields |= {"reject_reason", "closed_at"}
        if case.quick_refund:
            data["quick_refund_recovery"] = True
    finish_transition(case, name="inspect", before=before, actor=actor, at=at, note=findings, fields=fields, data=data)
    # Files last: nothing after them can fail but the commit itself.
    store_photos(inspection, accepted_photos)
    return case


@transaction.atomic
def case_receive_and_inspect(
    *,
    case_id: int,
    actor: User | None,
    tracking_number: str,
    grade: str,
    responsible_party: str,
    disposition: str,
    carrier: str = "",
    note: str = "",
    findings: str = "",
    photos: Sequence = (),
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    """The parcel is on the bench: record its receipt and its inspection in one step (both events, one
    transaction — a refused inspection leaves the case unreceived)."""
    at = now(at)
    case_receive(
        case_id=case_id,
        actor=actor,
        tracking_number=tracking_number,
        carrier=carrier,
        note=note,
        expected_version=expected_version,
        at=at,
    )
    return case_inspect(
        case_id=case_id,
        actor=actor,
        grade=grade,
        responsible_party=responsible_party,
        disposition=disposition,
        findings=findings,
        photos=photos,
        at=at,
    )


# --------------------------------------------------------------------------
# Offer and confirmation
# --------------------------------------------------------------------------


#: Compensations that are goods sent to the customer: an offer with one goes on to dispatch before it closes.
OUTBOUND_KINDS = (Compensation.Kind.REPLACEMENT, Compensation.Kind.GIFT)


def _goods_out(case: Case) -> bool:
    return case.compensations.filter(kind__in=OUTBOUND_KINDS, state__in=GRANTED_COMPENSATION_STATES).exists()


def _close_with_payables(case: Case, *, name: str, actor: User | None, at: datetime, note: str) -> Case:
    """The offer is accepted: its compensations become payable; the case closes — or, when the offer sends goods
    (a replacement, a gift, a resend), waits for the warehouse to dispatch them."""
    goods_out = _goods_out(case)
    before = case.state
    getattr(case, name)(at=at, goods_out=goods_out)
    payable = make_approved_payable(case, actor=actor, at=at)
    finish_transition(
        case,
        name=name,
        before=before,
        actor=actor,
        at=at,
        note=note,
        fields={"closed_at"},
        data={"payable": payable, "goods_out": goods_out},
    )
    return case


# --------------------------------------------------------------------------
# Goods out to the customer
# --------------------------------------------------------------------------
@transaction.atomic
def case_send_goods(
    *,
    case_id: int,
    actor: User | None,
    carrier: str,
    tracking_number: str,
    note: str = "",
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    """The warehouse sent the goods: the outbound parcel is recorded (and tracked); the case waits for delivery."""
    at = now(at)
    carrier, tracking_number = clean_shipment(carrier, tracking_number)
    case = lock_case(case_id, expected_version=expected_version)
    ensure_may(case, "send_goods", actor)
    previous = case.shipments.filter(direction=Shipment.Direction.OUTBOUND, active=True).first()
    if previous is not None:  # a parcel recorded before that never went: replaced
        previous.active, previous.replaced_at = False, at
        previous.save(update_fields=["active", "replaced_at"])
    shipment = Shipment.objects.create(
        case=case,
        direction=Shipment.Direction.OUTBOUND,
        carrier=carrier,
        tracking_number=tracking_number,
        reported_by=actor,
        created_at=at,
        quiet_since=at,
    )
    case.outbound_parcel = f"{carrier_label(carrier)} {tracking_number}"
    before = case.state
    case.send_goods(at=at)
    finish_transition(
        case,
        name="send_goods",
        before=before,
        actor=actor,
        at=at,
        note=(note or "").strip(),
        data={"shipment": shipment.pk, "carrier": carrier, "tracking_number": tracking_number},
    )
    return case


def deliver_locked(case: Case, *, at: datetime, note: str) -> Case:
    """System: the carrier delivered the goods (a tracking scan); the customer's confirmation clock starts."""
    ensure_may(case, "deliver", None)
    before = case.state
    case.deliver(at=at)
    finish_transition(case, name="deliver", before=before, actor=None, at=at, note=note)
    return case


@transaction.atomic
def case_deliver(*, case_id: int, at: datetime | None = None, note: str = "") -> Case:
    return deliver_locked(lock_case(case_id), at=now(at), note=note)


@transaction.atomic
def case_confirm_receipt(
    *, case_id: int, actor: User | None, note: str = "", expected_version: int | None = None, at: datetime | None = None
) -> Case:
    """The customer has the goods (through the channel, the progress page, or an agent for them): closed."""
    at = now(at)
    case = lock_case(case_id, expected_version=expected_version)
    ensure_may(case, "confirm_receipt", actor)
    before = case.state
    case.confirm_receipt(at=at)
    finish_transition(
        case, name="confirm_receipt", before=before, actor=actor, at=at, note=(note or "").strip(), fields={"closed_at"}
    )
    return case


@transaction.atomic
def case_auto_confirm_receipt(*, case_id: int, at: datetime | None = None) -> Case:
    """System: delivered, and the customer did not answer within the confirmation timeout."""
    at = now(at)
    case = lock_case(case_id)
    ensure_may(case, "auto_confirm_receipt", None)
    if case.stage_due_at is None or case.stage_due_at > at:
        raise NotAllowed(_("The receipt deadline of %(number)s has not passed yet.") % {"number": case.number})
    note = _("Taken as received: delivered, and no answer within %(hours)s hours.") % {
        "hours": case.policy_version.confirm_timeout_hours
    }
    before = case.state
    case.auto_confirm_receipt(at=at)
    finish_transition(
        case, name="auto_confirm_receipt", before=before, actor=None, at=at, note=note, fields={"closed_at"}
    )
    return case


@transaction.atomic
def case_confirm(
    *, case_id: int, actor: User | None, note: str = "", expected_version: int | None = None, at: datetime | None = None
) -> Case:
    """The customer accepts the offer (through a channel, or an agent on their behalf)."""
    at = now(at)
    case = lock_case(case_id, expected_version=expected_version)
    ensure_may(case, "confirm", actor)
    return _close_with_payables(case, name="confirm", actor=actor, at=at, note=note)


@transaction.atomic
def case_auto_confirm(*, case_id: int, at: datetime | None = None) -> Case:
    """System: the confirmation timeout passed; the offer is taken as accepted."""
    at = now(at)
    case = lock_case(case_id)
    ensure_may(case, "auto_confirm", None)
    if case.stage_due_at is None or case.stage_due_at > at:
        raise NotAllowed(_("The confirmation deadline of %(number)s has not passed yet.") % {"number": case.number})
    note = _("Accepted by default: no answer within %(hours)s hours.") % {
        "hours": case.policy_version.confirm_timeout_hours
    }
    return _close_with_payables(case, name="auto_confirm", actor=None, at=at, note=note)


@transaction.atomic
def case_decline(
    *,
    case_id: int,
    actor: User | None,
    note: str = "",
    counter_amount=None,
    counter_kind: str = "",
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    """The customer declines the offer: it is withdrawn and the case goes back to compensation.

    ``counter_amount`` and ``counter_kind``: what the customer asks for instead. Kept on the case beside the offer
    (the agent accepts it in one step, ``case_accept_counter``) and on the event. Without a kind, the kind of the
    main item of the declined offer (a refund when it had none)."""
    at = now(at)
    counter = None if counter_amount in (None, "") else parse_amount(counter_amount, "counter_amount")
    counter_kind = (counter_kind or "").strip()
    if counter_kind and counter_kind not in Compensation.Kind.values:
        raise ValidationError({"counter_kind": _("Choose the kind of compensation.")})
    if counter_kind and counter is None:
        raise ValidationError({"counter_amount": _("Say how much the customer asks for.")})
    case = lock_case(case_id, expected_version=expected_version)
    ensure_may(case, "decline", actor)
    if counter is not None and not counter_kind:
        main = (
            case.compensations.filter(state__in=LIVE_COMPENSATION_STATES, quick_refund=False)
            .order_by("-amount", "id")
            .values_list("kind", flat=True)
            .first()
        )
        counter_kind = main or Compensation.Kind.REFUND
    voided = void_unpaid(case, actor=actor, at=at, note=_("Offer declined by the customer."))
    before = case.state
    case.decline(at=at)
    data: dict = {"voided": voided}
    note = (note or "").strip()
    case.counter_kind, case.counter_amount, case.counter_at = counter_kind, counter, (at if counter else None)
    if counter is not None:
        data["counter_amount"] = str(counter)
        data["counter_kind"] = counter_kind
        asked = _("The customer asks for %(kind)s ¥%(amount)s.") % {
            "kind": Compensation.Kind(counter_kind).label,
            "amount": counter,
        }
        note = f"{asked} {note}".strip()
    finish_transition(
        case,
        name="decline",
        before=before,
        actor=actor,
        at=at,
        note=note,
        fields={"proposed_at", "counter_kind", "counter_amount", "counter_at"},
        data=data,
    )
    return case


@transaction.atomic
def case_expire(*, case_id: int, at: datetime | None = None) -> Case:
    """System: the goods were never sent back in time. Cancelled — or, after a quick refund, escalated."""
    at = now(at)
    case = lock_case(case_id)
    ensure_may(case, "expire", None)
    if case.stage_due_at is None or case.stage_due_at > at:
        raise NotAllowed(_("The return deadline of %(number)s has not passed yet.") % {"number": case.number})
    days = case.policy_version.return_ship_days
    if _quick_refund_granted(case):
        note = _("Goods not sent back within %(days)s days after a quick refund: escalated for recovery.") % {
            "days": days
        }
        return escalate_locked(case, actor=None, at=at, note=note)
    void_unpaid(case, actor=None, at=at, note=_("Goods not sent back in time."))
    before = case.state
    case.expire(at=at)
    note = _("Goods not sent back within %(days)s days: cancelled.") % {"days": days}
    finish_transition(case, name="expire", before=before, actor=None, at=at, note=note, fields={"closed_at"})
    return case


def _quick_refund_granted(case: Case) -> bool:
    return (
        case.quick_refund
        and case.compensations.filter(quick_refund=True, state__in=GRANTED_COMPENSATION_STATES).exists()
    )


# --------------------------------------------------------------------------
# Cancel and escalation
# --------------------------------------------------------------------------
@transaction.atomic
def case_cancel(
    *,
    case_id: int,
    actor: User | None,
    reason: str = "",
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    at = now(at)
    case = lock_case(case_id, expected_version=expected_version)
    ensure_may(case, "cancel", actor)
    if _quick_refund_granted(case):
        raise NotAllowed(
            _(
                "A quick refund was already granted on %(number)s: the goods must come back, the case cannot be cancelled."
            )
            % {"number": case.number}
        )
    void_unpaid(case, actor=actor, at=at, note=_("Case cancelled."))
    before = case.state
    case.cancel(at=at)
    finish_transition(
        case, name="cancel", before=before, actor=actor, at=at, note=(reason or "").strip(), fields={"closed_at"}
    )
    return case


@transaction.atomic
def case_escalate(
    *, case_id: int, actor: User | None, reason: str, expected_version: int | None = None, at: datetime | None = None
) -> Case:
    """Escalate a dispute (customer appeal, supervisor, or automation rules as ``actor=None``)."""
    at = now(at)
    reason = required(reason, "reason", _("Say why the case is escalated."))
    case = lock_case(case_id, expected_version=expected_version)
    ensure_may(case, "escalate", actor)
    return escalate_locked(case, actor=actor, at=at, note=reason)


@transaction.atomic
def case_resolve_escalation(
    *,
    case_id: int,
    actor: User | None,
    decision: str,
    note: str,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    """Supervisor's decision on an escalated case: back to compensation, closed, or rejected."""
    at = now(at)
    if decision not in ESCALATION_RESOLUTIONS:
        labels = ", ".join(str(S(value).label) for value in ESCALATION_RESOLUTIONS)
        raise ValidationError({"decision": _("Choose one of: %(choices)s.") % {"choices": labels}})
    note = required(note, "note", _("Record the decision and its reason."))
    case = lock_case(case_id, expected_version=expected_version)
    ensure_may(case, "resolve_escalation", actor)
    data: dict = {"decision": decision}
    if decision == S.CLOSED:
        data["payable"] = make_approved_payable(case, actor=actor, at=at)
    elif decision == S.REJECTED:
        data["voided"] = void_unpaid(case, actor=actor, at=at, note=_("Escalation resolved: rejected."))
    before = case.state
    case.resolve_escalation(at=at, decision=decision)
    fields = {"closed_at", "reject_reason"}
    if decision == S.COMPENSATION:  # the agent who worked it makes the new offer
        fields |= route_back_from_escalation(case)
    if decision == S.REJECTED:
        case.reject_reason = note
    finish_transition(
        case, name="resolve_escalation", before=before, actor=actor, at=at, note=note, fields=fields, data=data
    )
    return case
