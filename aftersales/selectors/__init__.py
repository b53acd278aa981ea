"""Readers of after-sales data: one scoped queryset per audience.

``case_scope_for(user)`` is the single rule of which cases a user may see; the
queue, the status board, the QC page and the case page all start from it, so
a case missing from a user's list cannot be reached by its URL either.
Every reader here costs a fixed number of queries, whatever the table size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.http import Http404
from django.utils import timezone

from aftersales.models import (
    FINAL_STATES,
    GRANTED_COMPENSATION_STATES,
    LIVE_COMPENSATION_STATES,
    OPEN_STATES,
    Case,
    CaseEvent,
    CaseState,
    Compensation,
    CompensationState,
    Inspection,
    InspectionPhoto,
    Priority,
    Queue,
)
from aftersales.permissions import AGENT, FINANCE, QC, SUPERVISOR, roles_of
from aftersales.selectors.actions import actions_for as actions_for
from aftersales.selectors.actions import compensation_actions_for as compensation_actions_for

S = CaseState
CS = CompensationState
#: Where QC staff work: goods on their way back, and goods on the bench.
QC_STATES = (S.AWAITING_RETURN, S.IN_QC)
#: Compensation states finance deals with.
FINANCE_STATES = GRANTED_COMPENSATION_STATES  # what finance works on
#: Columns every list of cases shows.
LIST_RELATED = ("order", "customer", "queue", "assignee", "category__parent__parent")
DUE_SOON = timedelta(hours=1)

# --------------------------------------------------------------------------
# Areas of the workspace, by role
# --------------------------------------------------------------------------
AREAS: dict[str, set[str]] = {
    "queue": {AGENT, SUPERVISOR},
    "board": {AGENT, SUPERVISOR},
    "qc": {QC, SUPERVISOR},
    "approvals": {SUPERVISOR},
    "finance": {FINANCE},
    "risk": {SUPERVISOR},
    "money_reports": {FINANCE, SUPERVISOR},
    "analytics": {SUPERVISOR},
}


def may_use(user, area: str) -> bool:
    """May ``user`` open the pages of ``area`` (queue, board, qc, approvals, finance)?"""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or bool(roles_of(user) & AREAS[area])


def start_area(user) -> str | None:
    """Where a user lands after signing in."""
    roles = roles_of(user)
    if user.is_superuser or SUPERVISOR in roles:
        return "board"
    for role, area in ((AGENT, "queue"), (QC, "qc"), (FINANCE, "finance")):
        if role in roles:
            return area
    return None


# --------------------------------------------------------------------------
# Scope
# --------------------------------------------------------------------------
def _my_queue_ids(user):
    return Queue.members.through.objects.filter(user_id=user.pk).values("queue_id")


def case_scope_for(user) -> QuerySet[Case]:
    """The cases ``user`` may see, as one queryset (no query is run here).

    - supervisors (and superusers): every case;
    - agents: cases assigned to them, cases in queues they belong to, and cases in no queue;
    - QC staff: goods coming back or on the bench, and every case whose goods were received;
    - finance: cases with a compensation approved for payment, paid or failed.
    Someone with several roles sees the union.
    """
    if not user.is_authenticated or not user.is_active:
        return Case.objects.none()
    roles = roles_of(user)
    if user.is_superuser or SUPERVISOR in roles:
        return Case.objects.all()
    condition = Q(pk__in=[])
    if AGENT in roles:
        condition |= Q(assignee_id=user.pk) | Q(queue_id__in=_my_queue_ids(user)) | Q(queue__isnull=True)
    if QC in roles:
        condition |= Q(state__in=QC_STATES) | Q(received_at__isnull=False)
    if FINANCE in roles:
        condition |= Q(Exists(Compensation.objects.filter(case_id=OuterRef("pk"), state__in=FINANCE_STATES)))
    return Case.objects.filter(condition)


def case_list_for(user) -> QuerySet[Case]:
    """The scope with what a row of a case list shows, in deadline order (most urgent first)."""
    return case_scope_for(user).select_related(*LIST_RELATED).order_by(F("stage_due_at").asc(nulls_last=True), "id")


def case_for_page(user, case_id) -> Case:
    """One case with everything its page header needs, or 404 when outside ``user``'s scope."""
    try:
        return (
            case_scope_for(user)
            .select_related(
                *LIST_RELATED,
                "customer__dedicated_advisor",
                "policy",
                "policy_version",
            )
            .get(pk=case_id)
        )
    except (Case.DoesNotExist, ValueError):
        raise Http404 from None


# --------------------------------------------------------------------------
# Deadlines
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Deadline:
    due_at: datetime | None
    remaining: timedelta | None

    @property
    def status(self) -> str:
        """``breached``, ``soon`` (within the hour), ``ok``, or ``none`` (no clock running)."""
        if self.remaining is None:
            return "none"
        if self.remaining < timedelta(0):
            return "breached"
        if self.remaining <= DUE_SOON:
            return "soon"
        return "ok"


def deadline_of(case: Case, at: datetime | None = None) -> Deadline:
    if case.stage_due_at is None or case.state in FINAL_STATES:
        return Deadline(None, None)
    return Deadline(case.stage_due_at, case.stage_due_at - (at or timezone.now()))


# --------------------------------------------------------------------------
# Status board
# --------------------------------------------------------------------------
@dataclass
class BoardRow:
    state: str
    label: str
    counts: dict[str, int] = field(default_factory=dict)
    breached: int = 0
    total: int = 0

    @property
    def cells(self) -> list[tuple[str, int]]:
        """``(colour, count)`` in the order red, yellow, green."""
        return [(colour, self.counts.get(colour, 0)) for colour in Priority.values]


def status_board_for(user, *, at: datetime | None = None) -> list[BoardRow]:
    """Open cases in ``user``'s scope by state × priority colour, with the breached deadlines (one query)."""
    at = at or timezone.now()
    rows = {state: BoardRow(state, str(S(state).label)) for state in OPEN_STATES}
    grouped = (
        case_scope_for(user)
        .filter(state__in=OPEN_STATES)
        .order_by()
        .values("state", "priority")
        .annotate(n=Count("id"), late=Count("id", filter=Q(stage_due_at__lt=at)))
    )
    for item in grouped:
        row = rows[item["state"]]
        row.counts[item["priority"]] = row.counts.get(item["priority"], 0) + item["n"]
        row.breached += item["late"]
        row.total += item["n"]
    for row in rows.values():
        for colour in Priority.values:
            row.counts.setdefault(colour, 0)
    return list(rows.values())


# --------------------------------------------------------------------------
# Case page
# --------------------------------------------------------------------------
def recent_cases_of_customer(user, case: Case, *, limit: int = 3) -> tuple[list[dict], int]:
    """The customer's latest other cases that ``user`` may see, and how many of those latest they may not (two queries).

    Cases outside the user's scope are counted, never listed: one scope rule for every list.
    """
    latest = list(
        Case.objects.filter(customer_id=case.customer_id)
        .exclude(pk=case.pk)
        .order_by("-opened_at", "-id")
        .values("pk", "number", "state", "request_type", "opened_at")[:limit]
    )
    if not latest:
        return [], 0
    visible = set(case_scope_for(user).filter(pk__in=[o["pk"] for o in latest]).values_list("pk", flat=True))
    shown = [{**other, "state_label": S(other["state"]).label} for other in latest if other["pk"] in visible]
    return shown, len(latest) - len(shown)


def case_inspections(case: Case) -> list[Inspection]:
    return list(
        case.inspections.select_related("inspector").prefetch_related(
            Prefetch("photos", queryset=InspectionPhoto.objects.order_by("id"))
        )
    )


def photo_for(user, case_id, photo_id) -> InspectionPhoto:
    """A QC photo, only for someone who may see its case."""
    try:
        return InspectionPhoto.objects.select_related("inspection").get(
            pk=photo_id, inspection__case__in=case_scope_for(user).filter(pk=case_id)
        )
    except (InspectionPhoto.DoesNotExist, ValueError):
        raise Http404 from None


# --------------------------------------------------------------------------
# Supervisor approvals, QC work list, finance payables
# --------------------------------------------------------------------------
def offers_awaiting_approval() -> QuerySet[Case]:
    """Offers above an agent's authority that wait for a supervisor, the nearest deadline first.

    Each case carries ``requested_at`` and ``requested_by_id``: the time and sender of its latest
    ``submit_offer`` (kept on the event, not on the case).
    """
    submitted = CaseEvent.objects.filter(case_id=OuterRef("pk"), name="submit_offer").order_by("-created_at", "-id")
    return (
        Case.objects.filter(state=S.AWAITING_APPROVAL)
        .annotate(
            requested_at=Subquery(submitted.values("created_at")[:1]),
            requested_by_id=Subquery(submitted.values("actor_id")[:1]),
        )
        .select_related("order", "customer", "policy_version")
        .prefetch_related(
            Prefetch(
                "compensations",
                queryset=Compensation.objects.filter(state__in=LIVE_COMPENSATION_STATES).order_by("id"),
                to_attr="live_compensations",
            )
        )
        .order_by(F("stage_due_at").asc(nulls_last=True), "id")
    )


def requesters_of(cases) -> dict[int, object]:
    """The senders of the offers in ``cases`` (from ``offers_awaiting_approval``) with their authority, by id."""
    ids = {case.requested_by_id for case in cases if case.requested_by_id}
    return get_user_model().objects.select_related("agent_profile").in_bulk(ids) if ids else {}


def qc_worklist_for(user, state: str) -> QuerySet[Case]:
    """Goods coming back (``awaiting_return``) or on the bench (``in_qc``): QC-priority cases first, then by deadline."""
    return (
        case_list_for(user).filter(state=state).order_by("-qc_priority", F("stage_due_at").asc(nulls_last=True), "id")
    )


def payables() -> QuerySet[Compensation]:
    """Compensations finance has to pay: payable, approved (or failed and to be retried), not yet paid."""
    return (
        Compensation.objects.filter(payable=True, state__in=(CS.APPROVED, CS.FAILED))
        .select_related("case__order", "case__customer", "approved_by")
        .order_by("payable_at", "id")
    )


def payables_total() -> Decimal:
    return payables().order_by().aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
