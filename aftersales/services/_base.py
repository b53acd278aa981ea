"""Shared steps of every case service: lock, check the transition, save, record the event, notify."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import DecimalField, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed, has_transition_perm

from aftersales.automation.calendars import (
    clock_for_case,
    local_time,  # noqa: F401 - the services read it from here
)
from aftersales.automation.care import schedule_follow_up
from aftersales.automation.routing import apply_sla, route_escalation
from aftersales.automation.rules import run_rules
from aftersales.errors import NotAllowed, StaleCase
from aftersales.models import (
    FINAL_STATES,
    LIVE_COMPENSATION_STATES,
    ZERO,
    AutomationRule,
    Case,
    CaseLine,
    Compensation,
    WaitingOn,
)
from aftersales.notifications.outbox import notify_customer
from aftersales.permissions import AGENT, QC, SUPERVISOR, roles_of
from aftersales.services.events import transition_event
from aftersales.workflow.transitions import CASE, COMPENSATION, action_label, stage_clock

if TYPE_CHECKING:
    from django.contrib.auth.models import User

_WORKING_ROLES = {AGENT, QC, SUPERVISOR}


#: What a locked case comes with (what the rules and the messages read).
LOCK_RELATED = ("policy_version", "order", "customer", "category")
#: Cases a sweep locked together for its transaction, taken (once each) by ``lock_case`` instead of a query.
_prelocked: ContextVar[dict[int, Case] | None] = ContextVar("prelocked_cases", default=None)


def lock_case(case_id: int, *, expected_version: int | None = None) -> Case:
    """Fetch the case row locked for this transaction (with what the rules need)."""
    taken = _prelocked.get()
    case = taken.pop(case_id, None) if taken else None
    if case is None:
        case = Case.objects.select_for_update(of=("self",)).select_related(*LOCK_RELATED).get(pk=case_id)
    ensure_version(case, expected_version)
    return case


@contextmanager
def cases_locked_together(due: Q, ids: Iterable[int]) -> Iterator[list[int]]:
    """Inside a transaction: lock those of ``ids`` still matching ``due`` in one statement (skipping any a request
    or another sweep holds) and hand them to ``lock_case`` while the block runs; yields their ids, in order."""
    ids = list(ids)
    cases = Case.objects.select_for_update(of=("self",), skip_locked=True).select_related(*LOCK_RELATED)
    locked = {case.pk: case for case in cases.filter(due, pk__in=ids)}
    token = _prelocked.set(locked)
    try:
        yield [pk for pk in ids if pk in locked]
    finally:
        _prelocked.reset(token)


def ensure_version(case: Case, expected_version: int | None) -> None:
    """Refuse to act on a page (or API read) older than the case: someone else changed it since."""
    if expected_version is not None and case.version != expected_version:
        raise StaleCase(
            _("Case %(number)s was changed by someone else since you opened it; reload it and try again.")
            % {"number": case.number}
        )


def is_working_staff(actor: User | None) -> bool:
    """Agents, QC and supervisors: their first action is the case's first response."""
    if actor is None:
        return False
    return actor.is_superuser or bool(roles_of(actor) & _WORKING_ROLES)


def save_case(case: Case, *, actor: User | None, at: datetime, fields: Iterable[str] = ()) -> None:
    """Save the changed fields, stamp the first response and bump the version (``updated_at`` moves with any save)."""
    update = {"version", *fields}
    if case.first_response_at is None and is_working_staff(actor):
        case.first_response_at = at
        update.add("first_response_at")
    case.version += 1
    case.save(update_fields=sorted(update))


def finish_transition(
    case: Case,
    *,
    name: str,
    before: str,
    actor: User | None,
    at: datetime,
    note: str = "",
    fields: Iterable[str] = (),
    data: dict | None = None,
) -> None:
    """After ``case.<name>()``: restart the stage clock, save, record the event, tell the customer, run the rules."""
    was_waiting_on = case.waiting_on
    case.waiting_on, case.stage_due_at = stage_clock(case.state, case.policy_version, at)
    case.stage_alerted_at = None
    fields = {"state", "waiting_on", "stage_due_at", "stage_alerted_at", *fields, *sla_pause(case, was_waiting_on, at)}
    if case.state in FINAL_STATES and case.counter_amount is not None:  # nothing is offered any more
        case.counter_kind, case.counter_amount, case.counter_at = "", None, None
        fields |= {"counter_kind", "counter_amount", "counter_at"}
    save_case(case, actor=actor, at=at, fields=fields)
    transition_event(case, name=name, before=before, actor=actor, note=note, data=data, at=at)
    notify_customer(case, name, note=note)
    if case.state in FINAL_STATES:
        schedule_follow_up(case, at=at)
    run_rules(case, AutomationRule.Trigger.STATE_CHANGED, at=at)


def sla_pause(case: Case, was_waiting_on: str, at: datetime) -> set[str]:
    """The resolution clock stands still while the case waits on the customer (awaiting the return, their answer):
    paused when it starts waiting on them, and on resuming the deadline moves by the working time it stood still.
    Returns the fields changed."""
    waiting = case.waiting_on == WaitingOn.CUSTOMER and case.state not in FINAL_STATES
    if waiting and case.sla_paused_at is None and case.resolution_due_at and case.sla_breached_at is None:
        case.sla_paused_at = at
        return {"sla_paused_at"}
    if not waiting and case.sla_paused_at is not None:
        paused = clock_for_case(case).between(case.sla_paused_at, at)
        case.sla_paused_minutes += max(0, round(paused))
        case.sla_paused_at = None
        fields = {"sla_paused_at", "sla_paused_minutes"}
        if case.state not in FINAL_STATES:
            fields |= apply_sla(case)
        return fields
    return set()


def now(at: datetime | None = None) -> datetime:
    return at or timezone.now()


# --------------------------------------------------------------------------
# Money on a case
# --------------------------------------------------------------------------
_MONEY = DecimalField(max_digits=14, decimal_places=2)


def case_claim_value(case: Case) -> Decimal:
    """Value of the goods the case is about (quantity × unit price of its lines)."""
    total = CaseLine.objects.filter(case=case).aggregate(
        total=Sum(F("quantity") * F("order_line__unit_price"), output_field=_MONEY)
    )["total"]
    return total or ZERO


def live_compensation_total(case: Case, *, kind: str | None = None, exclude_quick_refund: bool = False) -> Decimal:
    qs = Compensation.objects.filter(case=case, state__in=LIVE_COMPENSATION_STATES)
    if kind is not None:
        qs = qs.filter(kind=kind)
    if exclude_quick_refund:
        qs = qs.filter(quick_refund=False)
    return qs.aggregate(total=Sum("amount"))["total"] or ZERO


def escalate_locked(case: Case, *, actor: User | None, at: datetime, note: str) -> Case:
    """Escalate a locked case whose escalation is allowed (by the actor, or by the system's deadlines)."""
    before = case.state
    case.escalate(at=at)
    routed, data = route_escalation(case, at=at, reason=note)
    finish_transition(
        case,
        name="escalate",
        before=before,
        actor=actor,
        at=at,
        note=note,
        fields={"escalated_from", "escalated_at", *routed},
        data=data,
    )
    return case


def required(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: message})
    return value


# --------------------------------------------------------------------------
# Transition checks
# --------------------------------------------------------------------------
def transition_sources(model_class, name: str) -> list[str]:
    meta = getattr(model_class, name)._django_fsm
    return list(meta.transitions.keys())


def is_system_transition(model_class, name: str) -> bool:
    meta = getattr(model_class, name)._django_fsm
    return any(t.custom.get("system") for t in meta.transitions.values())


def ensure_may(instance, name: str, actor: User | None) -> None:
    """Refuse ``instance.<name>()`` for ``actor`` with a clear reason.

    ``actor=None`` is the system (sweeps, automation rules), allowed only on
    transitions marked ``custom={"system": True}``. Raises ``NotAllowed`` when
    the current state does not allow the transition, ``PermissionDenied``
    when the actor lacks its permission. Calling a django-fsm transition does
    not check ``permission=``; this does.
    """
    method = getattr(instance, name)
    on = CASE if isinstance(instance, Case) else COMPENSATION
    if not can_proceed(method, check_conditions=False):
        state_choices = dict(instance._meta.get_field("state").choices)
        allowed = ", ".join(str(state_choices.get(s, s)) for s in transition_sources(type(instance), name))
        raise NotAllowed(
            _("Cannot %(action)s: the %(model)s is “%(state)s”; this is possible only from: %(allowed)s.")
            % {
                "action": action_label(name, on),
                "model": instance._meta.verbose_name,
                "state": state_choices.get(instance.state, instance.state),
                "allowed": allowed,
            }
        )
    if actor is None:
        if not is_system_transition(type(instance), name):
            raise PermissionDenied(_("The system may not %(action)s.") % {"action": action_label(name, on)})
        return
    if not has_transition_perm(method, actor):
        raise PermissionDenied(
            _("You do not have permission to %(action)s this %(model)s.")
            % {"action": action_label(name, on), "model": instance._meta.verbose_name}
        )
