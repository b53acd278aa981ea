"""The case timeline: one constructor per kind of event, so each kind always has its name and its fields.

Events are appended, never edited. A transition's event is named by the registry
(``aftersales.workflow.transitions``); every other event by ``EventName``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from aftersales.models import Case, CaseEvent, Compensation, EventName
from aftersales.workflow.transitions import TRANSITIONS

if TYPE_CHECKING:
    from django.contrib.auth.models import User

Kind = CaseEvent.Kind


def _record(
    case: Case,
    kind: str,
    name: str,
    *,
    actor: User | None = None,
    before: str = "",
    after: str = "",
    note: str = "",
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
    **extra: Any,
) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        name=name,
        from_state=before,
        to_state=after,
        actor=actor,
        note=note,
        data=data or {},
        created_at=at or timezone.now(),
        **extra,
    )


def wait_before(case: Case, at: datetime) -> dict[str, Any]:
    """How long the case waited in its state before a transition at ``at``: since its opening or the transition
    before (the event fields ``wait_seconds``, ``wait_weekday``, ``wait_hour``; the weekday and hour are local,
    of the time the wait began)."""
    entered = (
        CaseEvent.objects.filter(case=case, kind__in=(Kind.OPENED, Kind.TRANSITION), created_at__lte=at)
        .order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    )
    if entered is None:
        return {}
    began = timezone.localtime(entered, timezone.get_default_timezone())
    return {"wait_seconds": (at - entered).total_seconds(), "wait_weekday": began.isoweekday(), "wait_hour": began.hour}


def transition_event(
    case: Case, *, name: str, before: str, actor: User | None, note: str = "", data: dict | None = None, at: datetime
) -> CaseEvent:
    """``case`` left ``before`` by the registry's transition ``name`` (it is in its new state already)."""
    entry = TRANSITIONS.get(name)
    if entry is None or not entry.is_transition:
        raise ValueError(f"{name!r} is not a transition of the registry")
    return _record(
        case,
        Kind.TRANSITION,
        name,
        actor=actor,
        before=before,
        after=case.state,
        note=note,
        data=data,
        at=at,
        **wait_before(case, at),
    )


def opened_event(case: Case, *, actor: User, note: str, data: dict, at: datetime) -> CaseEvent:
    return _record(case, Kind.OPENED, EventName.OPEN, actor=actor, after=case.state, note=note, data=data, at=at)


def compensation_event(
    case: Case, comp: Compensation, *, action: str, actor: User | None, note: str = "", at: datetime
) -> CaseEvent:
    """``action`` (propose, approve, reject, void, payable, mark_paid, mark_failed, quick_refund) on one item."""
    name = EventName(f"compensation_{action}")
    data = {"compensation": comp.pk, "kind": comp.kind, "amount": str(comp.amount), "state": comp.state}
    return _record(case, Kind.COMPENSATION, name, actor=actor, note=note, data=data, at=at)


def system_event(
    case: Case, *, name: EventName, note: str, data: dict | None = None, actor: User | None = None, at: datetime
) -> CaseEvent:
    """What the system did or noticed: a deadline passed, a crisis raised (by a rule, or flagged by ``actor``),
    a rule fired."""
    return _record(case, Kind.SYSTEM, EventName(name), actor=actor, note=note, data=data, at=at)


def note_event(
    case: Case, *, actor: User, text: str, to_customer: bool, data: dict | None = None, at: datetime
) -> CaseEvent:
    """An internal note, or a reply sent to the customer (``data``: e.g. the template and version used)."""
    kind, name = (Kind.REPLY, EventName.REPLY) if to_customer else (Kind.NOTE, EventName.NOTE)
    return _record(case, kind, name, actor=actor, note=text, data=data, at=at)


def update_event(
    case: Case,
    *,
    name: EventName,
    actor: User,
    note: str = "",
    data: dict | None = None,
    assignment: bool = False,
    at: datetime,
) -> CaseEvent:
    """A change that does not move the case: triage, a claim, the customer's rating (``assignment``: only who
    works it changed)."""
    return _record(
        case, Kind.ASSIGNMENT if assignment else Kind.UPDATE, EventName(name), actor=actor, note=note, data=data, at=at
    )
