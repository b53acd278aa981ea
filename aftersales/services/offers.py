"""Sending a compensation offer, and the supervisor's approval of offers above an agent's authority.

An agent puts the offer together (``compensation_add``) and sends it
(``case_submit_offer``). Within their authority the offer goes to the customer
at once (``propose``); above it, the case moves to ``awaiting_approval``
(``submit_offer``) instead of the agent being refused: it appears on the
supervisors' approval list, where a supervisor approves and sends it
(``approve_offer``) or returns it to the agent with a reason (``return_offer``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from aftersales.errors import NotAllowed
from aftersales.models import LIVE_COMPENSATION_STATES, Case, CaseState, Compensation, CompensationState
from aftersales.permissions import authority_of
from aftersales.services._base import ensure_may, finish_transition, local_time, lock_case, now, required
from aftersales.services.compensations import (
    approve_pending_within_authority,
    compensation_add,
    offer_total,
    record_compensation,
)
from aftersales.workflow.money import yuan

if TYPE_CHECKING:
    from django.contrib.auth.models import User

CS = CompensationState


@transaction.atomic
def case_propose(
    *, case_id: int, actor: User, note: str = "", expected_version: int | None = None, at: datetime | None = None
) -> Case:
    """Send the compensation offer to the customer.

    Proposed compensations are approved by the actor when the case total is
    within their authority; above it a supervisor must approve them first.
    """
    at = now(at)
    case = lock_case(case_id, expected_version=expected_version)
    ensure_may(case, "propose", actor)
    live = live_offer(case, note=note)
    return propose_locked(case, live, actor=actor, at=at, note=note)


@transaction.atomic
def case_send_offer(
    *,
    case_id: int,
    actor: User,
    kind: str = "",
    amount: Decimal | str | None = None,
    compensation_note: str = "",
    note: str = "",
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    """Put one compensation in the offer and send it, in one step (the suggestion the case page fills in): within
    the sender's authority to the customer, above it to a supervisor. Without an amount the offer is sent as it is
    (``propose``). Nothing is kept when either part is refused."""
    at = now(at)
    lock_case(case_id, expected_version=expected_version)
    if amount in (None, ""):
        return case_submit_offer(case_id=case_id, actor=actor, note=note, at=at)
    if not kind:
        raise ValidationError({"kind": _("Choose the kind of compensation.")})
    try:
        compensation_add(case_id=case_id, actor=actor, kind=kind, amount=amount, note=compensation_note, at=at)
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "note" in exc.error_dict:
            exc.error_dict["compensation_note"] = exc.error_dict.pop("note")
        raise
    return case_submit_offer(case_id=case_id, actor=actor, note=note, at=at)


@transaction.atomic
def case_accept_counter(
    *, case_id: int, actor: User, note: str = "", expected_version: int | None = None, at: datetime | None = None
) -> Case:
    """Accept the customer's counter-offer in one step: it becomes the offer's compensation and the offer is sent
    (to the customer within the sender's authority, else to a supervisor for approval)."""
    at = now(at)
    case = lock_case(case_id, expected_version=expected_version)
    if case.counter_amount is None:
        raise NotAllowed(_("The customer made no counter-offer on case %(number)s.") % {"number": case.number})
    ensure_may(case, "propose", actor)
    asked = _("The customer's counter-offer of %(date)s.") % {"date": local_time(case.counter_at)}
    try:
        return case_send_offer(
            case_id=case.pk,
            actor=actor,
            kind=case.counter_kind or Compensation.Kind.REFUND,
            amount=case.counter_amount,
            compensation_note=asked,
            note=note,
            at=at,
        )
    except ValidationError as exc:
        if not hasattr(exc, "error_dict") or set(exc.error_dict) <= {"note"}:
            raise
        # The amount or kind the customer asked for is refused (e.g. a refund above what the goods are worth):
        # not a field of this one-click form, so said as the form's own error.
        raise ValidationError(
            _("The counter-offer cannot be accepted as it is: %(why)s") % {"why": " ".join(exc.messages)}
        ) from None


def live_offer(case: Case, *, note: str) -> list[Compensation]:
    """The case's live compensations, locked; an offer needs at least one, or a description."""
    live = list(case.compensations.select_for_update().filter(state__in=LIVE_COMPENSATION_STATES))
    if not live and not (note or "").strip():
        raise ValidationError({"note": _("Add a compensation or describe the offer (e.g. a free repair).")})
    return live


def propose_locked(
    case: Case,
    live: list[Compensation],
    *,
    actor: User,
    at: datetime,
    note: str,
    data: dict | None = None,
    name: str = "propose",
) -> Case:
    """Approve what the actor may and send the offer to the customer by the transition ``name`` (``propose``, or a
    supervisor's ``approve_offer``); the case row is locked and the transition allowed."""
    approved = approve_pending_within_authority(case, live, actor=actor, at=at)
    before = case.state
    getattr(case, name)(at=at)
    total = sum((c.amount for c in live), Decimal("0.00"))
    case.counter_kind, case.counter_amount, case.counter_at = "", None, None  # the customer has a new offer
    finish_transition(
        case,
        name=name,
        before=before,
        actor=actor,
        at=at,
        note=(note or "").strip(),
        fields={"proposed_at", "counter_kind", "counter_amount", "counter_at"},
        data={"total": str(total), "approved": approved, **(data or {})},
    )
    return case


def _ensure_awaiting_approval(case: Case) -> None:
    if case.state != CaseState.AWAITING_APPROVAL:
        raise NotAllowed(
            _("The offer on case %(number)s is not waiting for a supervisor's approval.") % {"number": case.number}
        )


def requested_by(case: Case) -> int | None:
    """Who sent the offer waiting for approval (the actor of the latest ``submit_offer``)."""
    return (
        case.events.filter(name="submit_offer")
        .order_by("-created_at", "-id")
        .values_list("actor_id", flat=True)
        .first()
    )


@transaction.atomic
def case_submit_offer(
    *, case_id: int, actor: User, note: str = "", expected_version: int | None = None, at: datetime | None = None
) -> Case:
    """Send the offer; above the actor's authority, send it to a supervisor for approval instead.

    Afterwards the case is ``awaiting_confirmation`` when the offer went to the customer (``propose``), or
    ``awaiting_approval`` when it waits for a supervisor (``submit_offer``).
    """
    at = now(at)
    case = lock_case(case_id, expected_version=expected_version)
    if case.state == CaseState.AWAITING_APPROVAL:
        raise NotAllowed(
            _("The offer on case %(number)s already waits for a supervisor's approval.") % {"number": case.number}
        )
    ensure_may(case, "propose", actor)
    live = live_offer(case, note=note)
    total = offer_total(live)
    limit = authority_of(actor, case.policy_version)
    needs_approval = any(c.state == CS.PROPOSED for c in live) and limit is not None and total > limit
    if not needs_approval:
        return propose_locked(case, live, actor=actor, at=at, note=note)

    ensure_may(case, "submit_offer", actor)
    before = case.state
    case.submit_offer(at=at)
    finish_transition(
        case,
        name="submit_offer",
        before=before,
        actor=actor,
        at=at,
        note=(note or "").strip()
        or _("The offer totals %(total)s, above the authority of %(limit)s: sent to a supervisor for approval.")
        % {"total": yuan(total), "limit": yuan(limit)},
        data={"total": str(total), "authority": str(limit), "compensations": [c.pk for c in live]},
    )
    return case


@transaction.atomic
def case_approve_offer(
    *, case_id: int, actor: User, note: str = "", expected_version: int | None = None, at: datetime | None = None
) -> Case:
    """A supervisor approves an over-authority offer and sends it to the customer."""
    at = now(at)
    case = lock_case(case_id, expected_version=expected_version)
    _ensure_awaiting_approval(case)
    ensure_may(case, "approve_offer", actor)
    live = live_offer(case, note=note)  # a supervisor's authority is unlimited: nothing more to check
    data = {"approved_for": requested_by(case), "over_authority": True}
    return propose_locked(case, live, actor=actor, at=at, note=note, data=data, name="approve_offer")


@transaction.atomic
def case_return_offer(
    *, case_id: int, actor: User, note: str, expected_version: int | None = None, at: datetime | None = None
) -> Case:
    """A supervisor refuses an over-authority offer: its proposals are rejected and the agent revises it."""
    at = now(at)
    note = required(note, "note", _("Tell the agent why the offer goes back."))
    case = lock_case(case_id, expected_version=expected_version)
    _ensure_awaiting_approval(case)
    ensure_may(case, "return_offer", actor)
    pending = list(case.compensations.select_for_update().filter(state=CS.PROPOSED))
    for comp in pending:
        ensure_may(comp, "reject", actor)
        comp.reject(note=note[:200])
        comp.save(update_fields=["state", "decision_note"])
        record_compensation(case, comp, action="reject", actor=actor, at=at, note=note)
    before = case.state
    case.return_offer(at=at)
    finish_transition(
        case,
        name="return_offer",
        before=before,
        actor=actor,
        at=at,
        note=note,
        data={"rejected": [c.pk for c in pending], "requested_by": requested_by(case)},
    )
    return case
