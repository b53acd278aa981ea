"""The machinery behind a case that nobody clicks: SLA deadlines, routing, the crisis
protocol and the actions automation rules take. Every function here runs inside
the calling service's transaction, on a locked (or new) case row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db.models import Count
from django.utils.translation import gettext as _

from aftersales.automation.calendars import clock_for_case, targets_for
from aftersales.models import (
    OPEN_STATES,
    AgentProfile,
    Case,
    CaseLine,
    EventName,
    Priority,
    Queue,
)
from aftersales.notifications.outbox import alert_staff
from aftersales.permissions import AGENT, SUPERVISOR, display_name
from aftersales.services.events import system_event

if TYPE_CHECKING:
    from django.contrib.auth.models import User


# --------------------------------------------------------------------------
# SLA
# --------------------------------------------------------------------------
def sla_deadlines(case: Case) -> tuple[datetime | None, datetime | None]:
    """(first response due, resolution due) for ``case``: its colour's targets (a running campaign's first), counted
    in working time on its service calendar from the opening, the resolution clock extended by the working time
    it stood still while the case waited on the customer."""
    clock = clock_for_case(case)
    targets = targets_for(case.priority, clock.calendar, case.opened_at)
    if targets is None:
        return None, None
    return clock.add(case.opened_at, targets.first_response_minutes), clock.add(
        case.opened_at, targets.resolution_minutes + case.sla_paused_minutes
    )


def apply_sla(case: Case) -> set[str]:
    """Set the case's SLA deadlines from its priority; returns the fields changed."""
    case.first_response_due_at, case.resolution_due_at = sla_deadlines(case)
    return {"first_response_due_at", "resolution_due_at"}


def set_priority(case: Case, priority: str) -> set[str]:
    """A new colour brings its own SLA targets (counted from the opening); returns the fields changed."""
    case.priority = priority
    return {"priority", *apply_sla(case)}


# --------------------------------------------------------------------------
# Routing
# --------------------------------------------------------------------------
@dataclass
class Route:
    queue: Queue | None = None
    assignee: object | None = None
    reasons: list[str] = field(default_factory=list)


def _queue(purpose: str) -> Queue | None:
    return Queue.objects.filter(purpose=purpose, active=True).order_by("id").first()


def case_categories(case: Case) -> list[int]:
    return list(CaseLine.objects.filter(case=case).values_list("order_line__category_id", flat=True).distinct())


def least_loaded_member(queue: Queue, categories: list[int], *, roles: tuple[str, ...] = (AGENT, SUPERVISOR)):
    """The queue member (of ``roles``: agents or supervisors) with the fewest open cases, preferring those skilled
    in ``categories``.

    Returns ``(user, skilled)``, or ``(None, False)`` for a queue without members. Three queries on indexed
    columns: the members, their open cases (``case_assignee_state``), their skills.
    """
    User = get_user_model()
    member_ids = list(
        User.objects.filter(case_queues=queue, is_active=True, groups__name__in=list(roles))
        .values_list("pk", flat=True)
        .distinct()
    )
    if not member_ids:
        return None, False
    load = dict(
        Case.objects.filter(assignee_id__in=member_ids, state__in=OPEN_STATES)
        .order_by()
        .values_list("assignee_id")
        .annotate(n=Count("id"))
    )
    skilled = (
        set(
            AgentProfile.objects.filter(user_id__in=member_ids, skills__in=categories).values_list("user_id", flat=True)
        )
        if categories
        else set()
    )
    best = min(member_ids, key=lambda pk: (pk not in skilled, load.get(pk, 0), pk))
    return User.objects.get(pk=best), best in skilled


def route_new_case(case: Case, *, categories: list[int], high_value: bool, crisis: bool) -> Route:
    """Queue and assignee of a new case: crisis queue, VIP channel (dedicated advisor), else the default queue;
    then the least-loaded member with the right skill when nobody is named."""
    route = Route()
    customer = case.customer
    if crisis:
        route.queue = _queue(Queue.Purpose.CRISIS)
        if route.queue:
            route.reasons.append(_("crisis → %(queue)s") % {"queue": route.queue})
    if route.queue is None and (customer.is_vip or high_value):
        route.queue = _queue(Queue.Purpose.VIP)
        if route.queue:
            why = _("VIP customer") if customer.is_vip else _("high-value customer")
            route.reasons.append(f"{why} → {route.queue}")
    if route.queue is None:
        route.queue = Queue.objects.filter(is_default=True, active=True).first()
    if customer.dedicated_advisor_id and (customer.is_vip or high_value) and customer.dedicated_advisor.is_active:
        route.assignee = customer.dedicated_advisor
        route.reasons.append(_("dedicated advisor %(user)s") % {"user": route.assignee})
    elif route.queue is not None:
        member, skilled = least_loaded_member(route.queue, categories)
        if member is not None:
            route.assignee = member
            route.reasons.append(
                (_("least-loaded agent with the skill: %(user)s") if skilled else _("least-loaded agent: %(user)s"))
                % {"user": member}
            )
    return route


# --------------------------------------------------------------------------
# Escalations: to the people who decide
# --------------------------------------------------------------------------
def route_escalation(case: Case, *, at: datetime, reason: str) -> tuple[set[str], dict]:
    """An escalated case goes to the escalation queue and to a supervisor there (an agent cannot resolve it), and
    the supervisors are alerted at once. Returns the fields changed and what the event records."""
    changed: set[str] = set()
    # Where it was, so that a decision sending it back to compensation returns it to the agent who works it.
    data: dict = {"from_queue": case.queue_id, "from_assignee": case.assignee_id}
    queue = _queue(Queue.Purpose.ESCALATION)
    if queue is not None and case.queue_id != queue.pk:
        case.queue = queue
        changed.add("queue")
    if queue is not None:
        data["queue"] = queue.name
    members = (
        list(queue.members.filter(is_active=True, groups__name=SUPERVISOR).values_list("pk", flat=True))
        if queue
        else []
    )
    if members:
        keep = case.assignee_id in members
        decider = case.assignee if keep else least_loaded_member(queue, case_categories(case), roles=(SUPERVISOR,))[0]
    else:  # nobody named for escalations: a supervisor keeps it, an agent's case waits for whichever supervisor
        assignee = case.assignee
        keep = assignee is not None and assignee.is_active and assignee.has_perm("aftersales.resolve_escalation")
        decider = assignee if keep else None
    if case.assignee_id != (decider.pk if decider else None):
        case.assignee = decider
        changed.add("assignee")
    if case.assignee is not None:
        data["assignee"] = display_name(case.assignee)
    alert_staff(
        [SUPERVISOR],
        subject=_("Escalated: case %(number)s") % {"number": case.number},
        body=_("Case %(number)s (order %(order)s) was escalated and waits for a supervisor's decision: %(reason)s")
        % {"number": case.number, "order": case.order.number, "reason": reason},
        case=case,
        key=f"escalated:{case.pk}:{at.isoformat()}",
        user_ids=members or None,
    )
    return changed, data


def route_back_from_escalation(case: Case) -> set[str]:
    """A supervisor sent the escalated case back to compensation: it returns to the queue and the agent it had
    before the escalation (when they are still there to work it). Returns the fields changed."""
    event = case.events.filter(name="escalate").order_by("-created_at", "-id").values_list("data", flat=True).first()
    data = event or {}
    changed: set[str] = set()
    if "from_queue" not in data:  # escalated before escalations were routed: it stays where it is
        return changed
    queue = None
    if data["from_queue"] is not None:
        queue = (
            Queue.objects.filter(pk=data["from_queue"], active=True).first()
            or Queue.objects.filter(is_default=True, active=True).first()
        )
    if case.queue_id != (queue.pk if queue else None):
        case.queue = queue
        changed.add("queue")
    User = get_user_model()
    agent = (
        User.objects.filter(pk=data.get("from_assignee"), is_active=True).first() if data.get("from_assignee") else None
    )
    if agent is not None and case.assignee_id != agent.pk:
        case.assignee = agent
        changed.add("assignee")
    return changed


# --------------------------------------------------------------------------
# Crisis protocol
# --------------------------------------------------------------------------
def raise_crisis(case: Case, *, reasons: list[str], at: datetime, actor: User | None = None) -> set[str]:
    """Crisis: red, the crisis queue, an event saying why, the supervisors alerted (once per case)."""
    changed = set()
    if not case.crisis:
        case.crisis = True
        changed.add("crisis")
    if case.priority != Priority.RED:
        changed |= set_priority(case, Priority.RED)
    crisis_queue = _queue(Queue.Purpose.CRISIS)
    if crisis_queue is not None and case.queue_id != crisis_queue.pk:
        case.queue = crisis_queue
        changed.add("queue")
    system_event(
        case,
        name=EventName.CRISIS,
        actor=actor,
        note="；".join(reasons),
        data={"reasons": reasons},
        at=at,
    )
    alert_staff(
        [SUPERVISOR],
        subject=_("Crisis on case %(number)s") % {"number": case.number},
        body=_("Case %(number)s (order %(order)s) is a crisis: %(reasons)s")
        % {"number": case.number, "order": case.order.number, "reasons": "；".join(reasons)},
        case=case,
        key=f"crisis:{case.pk}",
    )
    return changed


# --------------------------------------------------------------------------
# Rule actions
# --------------------------------------------------------------------------
def apply_actions(case: Case, actions: list[dict], *, at: datetime, rule) -> list[str]:
    """Carry out a rule's actions on the locked case; returns what changed, in words, and saves the case."""
    from aftersales.services._base import save_case

    changes: list[str] = []
    fields: set[str] = set()
    for action in actions:
        kind, value = action["type"], action.get("value")
        if kind == "set_priority" and case.priority != value:
            changes.append(_("priority %(old)s → %(new)s") % {"old": case.priority, "new": value})
            fields |= set_priority(case, value)
        elif kind == "route_to_queue":
            queue = Queue.objects.filter(code=value, active=True).first()
            if queue is not None and case.queue_id != queue.pk:
                changes.append(_("queue → %(queue)s") % {"queue": queue})
                case.queue = queue
                fields.add("queue")
                if not any(a.get("type") == "assign" for a in actions) and not _serves(case.assignee_id, queue):
                    # The agent picked for the old queue does not work this one: pick again within it.
                    user = least_loaded_member(queue, case_categories(case))[0]
                    changes.append(_("assignee → %(user)s") % {"user": user or "—"})
                    case.assignee = user
                    fields.add("assignee")
        elif kind == "assign":
            user = _assignee_for(case, value)
            if user is not None and case.assignee_id != user.pk:
                changes.append(_("assignee → %(user)s") % {"user": user})
                case.assignee = user
                fields.add("assignee")
        elif kind == "qc_priority" and not case.qc_priority:
            case.qc_priority = True
            fields.add("qc_priority")
            changes.append(_("QC priority"))
        elif kind == "vip_upgrade" and not case.vip_upgrade:
            case.vip_upgrade = True
            fields.add("vip_upgrade")
            changes.append(_("VIP compensation upgrade offered"))
        elif kind == "flag_crisis" and not case.crisis:
            fields |= raise_crisis(case, reasons=[_("Rule “%(rule)s”.") % {"rule": rule.name}], at=at)
            changes.append(_("flagged as crisis"))
        elif kind == "notify_group":
            written = alert_staff(
                [value],
                subject=_("Rule “%(rule)s” on case %(number)s") % {"rule": rule.name, "number": case.number},
                body=_("Case %(number)s (order %(order)s) matched the rule “%(rule)s”.")
                % {"number": case.number, "order": case.order.number, "rule": rule.name},
                case=case,
                key=f"rule:{rule.pk}:{case.pk}:{case.state}",
            )
            if written:
                changes.append(_("notified %(group)s") % {"group": value})
    if fields:
        save_case(case, actor=None, at=at, fields=fields)
    return changes


def _assignee_for(case: Case, value: str):
    if value == "advisor":
        advisor = case.customer.dedicated_advisor
        return advisor if advisor is not None and advisor.is_active else None
    if value == "least_loaded":
        return least_loaded_member(case.queue, case_categories(case))[0] if case.queue_id else None
    return get_user_model().objects.filter(username=value, is_active=True).first()


def _serves(user_id: int | None, queue: Queue) -> bool:
    return user_id is not None and queue.members.filter(pk=user_id).exists()
