"""What happens when a clock runs out without a transition: overdue alerts and SLA breaches.

(The clocks that end in a transition — review timeout, confirmation timeout,
goods never sent back — are ``case_auto_approve``, ``case_auto_confirm`` and
``case_expire``.) Each service locks the case, re-checks that the deadline
really passed and has not been handled, and records what it did, so a sweep
can call it again and again without doing anything twice.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales.automation.calendars import local_time
from aftersales.automation.rules import run_rules
from aftersales.errors import NotAllowed
from aftersales.models import (
    ESCALATABLE_STATES,
    FINAL_STATES,
    AutomationRule,
    Case,
    EventName,
    Priority,
    SlaPolicy,
    WaitingOn,
)
from aftersales.notifications.outbox import alert_staff
from aftersales.permissions import QC, SUPERVISOR
from aftersales.services._base import escalate_locked, lock_case, now, save_case
from aftersales.services.events import system_event
from aftersales.workflow.transitions import ALERT, STAGE_CLOCKS

#: Whom an overdue stage alerts, by the party the case waits on.
ALERTED = {
    WaitingOn.WAREHOUSE: [QC, SUPERVISOR],
    # A returned parcel that has not arrived: the warehouse looks for it, a supervisor chases the carrier.
    WaitingOn.CARRIER: [QC, SUPERVISOR],
    WaitingOn.MERCHANT: [SUPERVISOR],
    WaitingOn.SUPERVISOR: [SUPERVISOR],
    WaitingOn.FINANCE: [SUPERVISOR],
}


@transaction.atomic
def case_stage_overdue(*, case_id: int, at: datetime | None = None) -> Case:
    """The stage deadline of a state without a timeout transition passed: alert once, and run the deadline rules."""
    at = now(at)
    case = lock_case(case_id)
    clock = STAGE_CLOCKS.get(case.state)
    if clock is None or clock.on_timeout != ALERT or case.stage_due_at is None or case.stage_due_at > at:
        raise NotAllowed(_("Case %(number)s has no overdue stage to report.") % {"number": case.number})
    if case.stage_alerted_at is not None:
        raise NotAllowed(_("The overdue stage of %(number)s was already reported.") % {"number": case.number})
    case.stage_alerted_at = at
    save_case(case, actor=None, at=at, fields={"stage_alerted_at"})
    note = _("“%(state)s” passed its deadline of %(due)s, waiting on %(party)s.") % {
        "state": case.get_state_display(),
        "due": local_time(case.stage_due_at),
        "party": case.get_waiting_on_display(),
    }
    system_event(case, name=EventName.STAGE_OVERDUE, note=note, data={"state": case.state}, at=at)
    alert_staff(
        ALERTED.get(case.waiting_on, [SUPERVISOR]),
        subject=_("Overdue: %(number)s in “%(state)s”") % {"number": case.number, "state": case.get_state_display()},
        body=note,
        case=case,
        key=f"stage:{case.pk}:{case.state}:{case.stage_due_at:%Y%m%d%H%M}",
    )
    run_rules(case, AutomationRule.Trigger.DEADLINE_PASSED, at=at)
    return case


@transaction.atomic
def case_first_response_missed(*, case_id: int, at: datetime | None = None) -> Case:
    """Nobody answered within the first-response target: mark it and alert the supervisors (once)."""
    at = now(at)
    case = lock_case(case_id)
    if (
        case.state in FINAL_STATES
        or case.first_response_at is not None
        or case.first_response_breached_at is not None
        or case.first_response_due_at is None
        or case.first_response_due_at > at
    ):
        raise NotAllowed(_("Case %(number)s has not missed its first-response target.") % {"number": case.number})
    case.first_response_breached_at = at
    save_case(case, actor=None, at=at, fields={"first_response_breached_at"})
    note = _("No first response by %(due)s (%(priority)s target).") % {
        "due": local_time(case.first_response_due_at),
        "priority": case.get_priority_display(),
    }
    system_event(case, name=EventName.FIRST_RESPONSE_MISSED, note=note, at=at)
    alert_staff(
        [SUPERVISOR],
        subject=_("First response missed: %(number)s") % {"number": case.number},
        body=note,
        case=case,
        key=f"first_response:{case.pk}",
    )
    run_rules(case, AutomationRule.Trigger.DEADLINE_PASSED, at=at)
    return case


@transaction.atomic
def case_sla_breach(*, case_id: int, at: datetime | None = None) -> Case:
    """The resolution target passed while the case waits on the merchant: raise it to red, alert the
    supervisors, and escalate it when the SLA target says so. Once per case."""
    at = now(at)
    case = lock_case(case_id)
    if (
        case.state in FINAL_STATES
        or case.sla_breached_at is not None
        or case.resolution_due_at is None
        or case.resolution_due_at > at
        or case.waiting_on == WaitingOn.CUSTOMER
    ):
        raise NotAllowed(_("Case %(number)s has not breached its resolution target.") % {"number": case.number})
    sla = SlaPolicy.objects.filter(priority=case.priority, active=True).first()
    case.sla_breached_at = at
    fields = {"sla_breached_at"}
    if case.priority != Priority.RED:
        case.priority = Priority.RED
        fields.add("priority")
    save_case(case, actor=None, at=at, fields=fields)
    note = _("Resolution target of %(due)s missed while waiting on %(party)s.") % {
        "due": local_time(case.resolution_due_at),
        "party": case.get_waiting_on_display() or _("the merchant"),
    }
    system_event(case, name=EventName.SLA_BREACH, note=note, at=at)
    alert_staff(
        [SUPERVISOR],
        subject=_("SLA breached: %(number)s") % {"number": case.number},
        body=note,
        case=case,
        key=f"sla:{case.pk}",
    )
    if sla is not None and sla.breach_action == SlaPolicy.BreachAction.ESCALATE and case.state in ESCALATABLE_STATES:
        escalate_locked(case, actor=None, at=at, note=note)
    run_rules(case, AutomationRule.Trigger.DEADLINE_PASSED, at=at)
    return case
