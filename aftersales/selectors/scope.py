"""Who sees what: the single scope rule of cases per user, the workspace areas per role, and the case page's
header — a case outside a user's scope answers 404 by its URL too."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404

from aftersales.models import (
    GRANTED_COMPENSATION_STATES,
    OUTBOUND_STATES,
    Case,
    CaseState,
    CauseAnalysis,
    Compensation,
    CompensationState,
    FollowUp,
    Queue,
)
from aftersales.permissions import AGENT, FINANCE, QC, SUPERVISOR, roles_of

S = CaseState
CS = CompensationState
#: Where QC staff work: goods to come back, goods on their way, goods on the bench, and goods to send out.
QC_STATES = (S.AWAITING_RETURN, S.RETURN_SHIPPED, S.IN_QC, S.AWAITING_DISPATCH)
#: Every case in these states is in a QC user's scope (and the received ones too).
QC_SCOPE_STATES = (*QC_STATES, *OUTBOUND_STATES)
#: Of those, the states whose goods are still to be received.
RECEIVABLE_STATES = (S.AWAITING_RETURN, S.RETURN_SHIPPED)
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
def my_queue_ids(user):
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
        condition |= Q(assignee_id=user.pk) | Q(queue_id__in=my_queue_ids(user)) | Q(queue__isnull=True)
    if QC in roles:
        condition |= Q(state__in=QC_SCOPE_STATES) | Q(received_at__isnull=False)
    if FINANCE in roles:
        condition |= Q(Exists(Compensation.objects.filter(case_id=OuterRef("pk"), state__in=FINANCE_STATES)))
    return Case.objects.filter(condition)


def sees_every_case_in(user, state: str) -> bool:
    """Whether ``user``'s scope holds every case in ``state`` (a list of one state then needs no scope filter,
    which would keep its count from reading the index alone)."""
    if not user.is_authenticated or not user.is_active:
        return False
    roles = roles_of(user)
    return user.is_superuser or SUPERVISOR in roles or (QC in roles and state in QC_SCOPE_STATES)


def case_list_for(user, *, state: str | None = None) -> QuerySet[Case]:
    """The scope with what a row of a case list shows, in deadline order (most urgent first); with ``state``, only
    the cases in it."""
    if state is None:
        scope = case_scope_for(user)
    else:
        scope = (Case.objects.all() if sees_every_case_in(user, state) else case_scope_for(user)).filter(state=state)
    return scope.select_related(*LIST_RELATED).order_by(F("stage_due_at").asc(nulls_last=True), "id")


def case_for_page(user, case_id) -> Case:
    """One case with everything its page header needs, or 404 when outside ``user``'s scope (the owner of its
    follow-up visit or corrective action opens it too: the lists send them there)."""
    scope = case_scope_for(user)
    if user.is_authenticated and user.is_active:
        owned = Q(pk__in=FollowUp.objects.filter(owner=user).values("case_id")) | Q(
            pk__in=CauseAnalysis.objects.filter(owner=user).values("case_id")
        )
        scope = scope | Case.objects.filter(owned, pk=case_id)
    try:
        # The care card and its actions in two small queries: joined in, they cost the case's query more planning
        # (fifteen tables) than they save.
        return (
            scope.select_related(*LIST_RELATED, "customer__dedicated_advisor", "policy", "policy_version")
            .prefetch_related(
                Prefetch("follow_up", queryset=FollowUp.objects.select_related("owner", "new_case")),
                Prefetch("cause_analysis", queryset=CauseAnalysis.objects.select_related("owner")),
            )
            .get(pk=case_id)
        )
    except (Case.DoesNotExist, ValueError):
        raise Http404 from None
