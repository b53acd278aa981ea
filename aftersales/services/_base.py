"""Shared steps of every case service: lock, save, record, announce."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import DecimalField, F, Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from aftersales.errors import StaleCase
from aftersales.models import LIVE_COMPENSATION_STATES, ZERO, Case, CaseEvent, CaseLine, CaseState, Compensation
from aftersales.permissions import AGENT, QC, SUPERVISOR, roles_of
from aftersales.services.events import case_event_record
from aftersales.signals import case_changed
from aftersales.workflow.transitions import stage_clock

_WORKING_ROLES = {AGENT, QC, SUPERVISOR}


def lock_case(case_id: int, *, expected_version: int | None = None) -> Case:
    """Fetch the case row locked for this transaction (with what the rules need)."""
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("policy_version", "order", "customer", "category")
        .get(pk=case_id)
    )
    if expected_version is not None and case.version != expected_version:
        raise StaleCase(
            _("Case %(number)s was changed by someone else since you opened it; reload it and try again.")
            % {"number": case.number}
        )
    return case


def is_working_staff(actor) -> bool:
    """Agents, QC and supervisors: their first action is the case's first response."""
    if actor is None:
        return False
    return actor.is_superuser or bool(roles_of(actor) & _WORKING_ROLES)


def save_case(case: Case, *, actor, at: datetime, fields: Iterable[str] = ()) -> None:
    """Save the changed fields, stamp the first response and bump the version."""
    update = {"updated_at", "version", *fields}
    if case.first_response_at is None and is_working_staff(actor):
        case.first_response_at = at
        update.add("first_response_at")
    case.version += 1
    case.save(update_fields=sorted(update))


def announce(case: Case, *, action: str, actor, before: str = "") -> None:
    """Send ``case_changed`` once the transaction commits (never on rollback)."""
    payload = {
        "case_id": case.pk,
        "action": action,
        "actor_id": getattr(actor, "pk", None),
        "from_state": before,
        "to_state": case.state,
    }
    transaction.on_commit(lambda: case_changed.send(sender=Case, **payload))


def finish_transition(
    case: Case,
    *,
    name: str,
    before: str,
    actor,
    at: datetime,
    note: str = "",
    fields: Iterable[str] = (),
    data: dict | None = None,
) -> None:
    """After ``case.<name>()``: restart the stage clock, save, record the event, announce."""
    case.waiting_on, case.stage_due_at = stage_clock(case.state, case.policy_version, at)
    case.stage_alerted_at = None
    fields = {"state", "waiting_on", "stage_due_at", "stage_alerted_at", *fields}
    if case.offer_approval_requested_at is not None and case.state != CaseState.COMPENSATION:
        # The offer left the table (sent, escalated, closed): nothing waits for a supervisor any more.
        case.offer_approval_requested_at = None
        case.offer_approval_requested_by = None
        fields |= {"offer_approval_requested_at", "offer_approval_requested_by"}
    save_case(case, actor=actor, at=at, fields=fields)
    case_event_record(
        case=case,
        kind=CaseEvent.Kind.TRANSITION,
        actor=actor,
        name=name,
        before=before,
        after=case.state,
        note=note,
        data=data,
        at=at,
    )
    from aftersales.automation.rules import run_rules
    from aftersales.models import AutomationRule
    from aftersales.notifications.outbox import notify_customer

    notify_customer(case, name)
    run_rules(case, AutomationRule.Trigger.STATE_CHANGED, at=at)
    announce(case, action=name, actor=actor, before=before)


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


def escalate_locked(case: Case, *, actor, at: datetime, note: str) -> Case:
    """Escalate a locked case whose escalation is allowed (by the actor, or by the system's deadlines)."""
    before = case.state
    case.escalate(at=at)
    finish_transition(
        case, name="escalate", before=before, actor=actor, at=at, note=note, fields={"escalated_from", "escalated_at"}
    )
    return case


def required(value: str, field: str, message) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: message})
    return value


def local_time(dt: datetime) -> str:
    return date_format(timezone.localtime(dt), "Y-m-d H:i")
