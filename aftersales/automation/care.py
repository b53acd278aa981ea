"""Follow-up visits (回访) nobody has to remember: a case that needs one gets it when it finishes or is rated
badly. Runs inside the calling service's transaction, on the locked case row."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from aftersales.automation.calendars import clock_for_case, local_time
from aftersales.automation.routing import case_categories, least_loaded_member
from aftersales.models import Case, CaseState, EventName, FollowUp, RequestType
from aftersales.services.events import system_event

R = FollowUp.Reason
LOW_CSAT = 2


def follow_up_reasons(case: Case) -> list[str]:
    """Why a finished case needs a follow-up visit (none: it does not)."""
    reasons = []
    if case.request_type == RequestType.COMPLAINT:
        reasons.append(R.COMPLAINT)
    if case.escalated_at is not None:
        reasons.append(R.ESCALATED)
    if case.crisis:
        reasons.append(R.CRISIS)
    if case.csat is not None and case.csat <= LOW_CSAT:
        reasons.append(R.LOW_RATING)
    if case.state == CaseState.CANCELLED and R.CRISIS not in reasons:
        return []  # the customer withdrew: only a crisis is still worth a call
    return reasons


def _owner(case: Case):
    """Who calls: the agent the case is assigned to, else the last one who worked it, else the least-loaded member
    of its queue. Two queries at most for the first two (the users who may call, among the candidates)."""
    recent = list(
        case.events.filter(actor__isnull=False).order_by("-created_at", "-id").values_list("actor_id", flat=True)[:20]
    )
    candidates = [pk for pk in (case.assignee_id, *recent) if pk is not None]
    callers = {
        user.pk: user
        for user in get_user_model()
        .objects.with_perm(
            "aftersales.change_followup", include_superusers=False, backend="django.contrib.auth.backends.ModelBackend"
        )
        .filter(pk__in=candidates)
    }
    for pk in candidates:
        if pk in callers:
            return callers[pk]
    if case.queue_id is not None:
        return least_loaded_member(case.queue, case_categories(case))[0]
    return None


def schedule_follow_up(case: Case, *, at: datetime) -> FollowUp | None:
    """Create the case's follow-up when it needs one (or add the new reasons to an open one); due after
    ``FOLLOW_UP_DUE_HOURS`` working hours on the case's service calendar."""
    reasons = follow_up_reasons(case)
    if not reasons:
        return None
    existing = FollowUp.objects.select_for_update().filter(case=case).first()
    due = clock_for_case(case).add(at, settings.FOLLOW_UP_DUE_HOURS * 60)
    if existing is not None:
        new = [reason for reason in reasons if reason not in existing.reasons]
        if not new:
            return existing
        existing.reasons = [*existing.reasons, *new]
        fields = ["reasons"]
        if existing.state == FollowUp.State.DONE:  # e.g. rated badly after a satisfied call: call again
            existing.state, existing.due_at, existing.attempts = FollowUp.State.OPEN, due, 0
            existing.reached = existing.satisfied = existing.done_at = existing.done_by = None
            fields += ["state", "due_at", "attempts", "reached", "satisfied", "done_at", "done_by"]
        existing.save(update_fields=fields)
        _scheduled_event(case, existing, at=at)
        return existing
    follow_up = FollowUp.objects.create(case=case, reasons=reasons, owner=_owner(case), due_at=due, created_at=at)
    _scheduled_event(case, follow_up, at=at)
    return follow_up


def _scheduled_event(case: Case, follow_up: FollowUp, *, at: datetime) -> None:
    system_event(
        case,
        name=EventName.FOLLOW_UP_DUE,
        note=_("Follow-up visit due %(due)s (%(reasons)s).")
        % {"due": local_time(follow_up.due_at), "reasons": "、".join(follow_up.reason_labels)},
        data={"follow_up": follow_up.pk, "reasons": follow_up.reasons, "owner": follow_up.owner_id},
        at=at,
    )
