"""The care after a case: recording a follow-up visit (回访), a complaint's cause analysis and closing its
corrective action. Creating the follow-up is automatic (``aftersales.automation.care``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from aftersales.automation.calendars import clock_for_case
from aftersales.errors import NotAllowed, StaleCase
from aftersales.models import Attribution, CauseAnalysis, EventName, FollowUp, RequestType
from aftersales.permissions import AGENT, SUPERVISOR, display_name, may_close_corrective_action, roles_of, supervises
from aftersales.services._base import local_time, lock_case, now, required, save_case
from aftersales.services.events import update_event
from aftersales.services.opening import case_open

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def follow_up_record(
    *,
    case_id: int,
    actor: User,
    reached: bool,
    satisfied: bool | None = None,
    notes: str = "",
    new_complaint: bool = False,
    expected_attempts: int | None = None,
    at: datetime | None = None,
) -> FollowUp:
    """The outcome of one call. Reached: satisfied or not, and done (with a new complaint case when the customer
    still has a problem). Not reached: called again after ``FOLLOW_UP_RETRY_HOURS`` working hours, and closed as
    unreached after ``FollowUp.MAX_ATTEMPTS`` calls."""
    at = now(at)
    if actor is None or not actor.has_perm("aftersales.change_followup"):
        raise PermissionDenied(_("You do not have permission to record follow-up visits."))
    notes = (notes or "").strip()
    errors = {}
    if reached and satisfied is None:
        errors["satisfied"] = _("Say whether the customer is satisfied.")
    if not reached and satisfied is not None:
        errors["satisfied"] = _("A customer who was not reached cannot be satisfied or not.")
    if not reached and new_complaint:
        errors["new_complaint"] = _("Open a new case only for a customer you reached.")
    if new_complaint and not notes:
        errors["notes"] = _("Describe the problem the new case is about.")
    if errors:
        raise ValidationError(errors)
    case = lock_case(case_id)
    follow_up = FollowUp.objects.select_for_update().filter(case=case).first()
    if follow_up is None:
        raise NotAllowed(_("Case %(number)s has no follow-up visit.") % {"number": case.number})
    if follow_up.state != FollowUp.State.OPEN:
        raise NotAllowed(
            _("The follow-up visit of %(number)s was already recorded on %(date)s.")
            % {"number": case.number, "date": local_time(follow_up.done_at)}
        )
    if expected_attempts is not None and follow_up.attempts != expected_attempts:
        raise StaleCase(
            _("A call to the customer of %(number)s was recorded since you opened the page; reload it.")
            % {"number": case.number}
        )
    follow_up.attempts += 1
    follow_up.notes = "\n".join(part for part in (follow_up.notes, notes) if part)
    fields = {"attempts", "notes"}
    if reached or follow_up.attempts >= FollowUp.MAX_ATTEMPTS:
        follow_up.state, follow_up.done_at, follow_up.done_by = FollowUp.State.DONE, at, actor
        follow_up.reached, follow_up.satisfied = reached, satisfied if reached else None
        fields |= {"state", "done_at", "done_by", "reached", "satisfied"}
    else:
        follow_up.due_at = clock_for_case(case).add(at, settings.FOLLOW_UP_RETRY_HOURS * 60)
        fields.add("due_at")
    if new_complaint:
        new_case = case_open(
            actor=actor,
            order_id=case.order_id,
            request_type=RequestType.COMPLAINT,
            reason=notes,
            channel=case.channel,
            at=at,
        )
        follow_up.new_case = new_case
        fields.add("new_case")
    follow_up.save(update_fields=sorted(fields))
    update_event(
        case,
        name=EventName.FOLLOW_UP,
        actor=actor,
        note=" ".join(part for part in (follow_up.outcome_label, notes) if part),
        data={
            "follow_up": follow_up.pk,
            "reached": reached,
            "satisfied": satisfied,
            "attempt": follow_up.attempts,
            "new_case": follow_up.new_case.number if follow_up.new_case_id else None,
        },
        at=at,
    )
    return follow_up


@transaction.atomic
def cause_analysis_record(
    *,
    case_id: int,
    actor: User,
    root_cause: str,
    attribution: str,
    corrective_action: str,
    owner,
    due_on: date | None = None,
    at: datetime | None = None,
) -> CauseAnalysis:
    """A complaint's cause analysis: the root cause, who is responsible, and the corrective action with its owner
    (recorded once, corrected while the action is open)."""
    at = now(at)
    if actor is None or not actor.has_perm("aftersales.add_causeanalysis"):
        raise PermissionDenied(_("You do not have permission to record a cause analysis."))
    errors = {}
    root_cause = (root_cause or "").strip()
    corrective_action = (corrective_action or "").strip()
    if not root_cause:
        errors["root_cause"] = _("Describe the root cause.")
    if attribution not in Attribution.values:
        errors["attribution"] = _("Choose who is responsible.")
    if not corrective_action:
        errors["corrective_action"] = _("Say what is done so that it does not happen again.")
    if owner is None or not owner.is_active:
        errors["owner"] = _("Name the person who carries out the corrective action.")
    elif not (owner.is_superuser or roles_of(owner) & {AGENT, SUPERVISOR}):
        errors["owner"] = _("The action's owner is an agent or a supervisor.")
    if errors:
        raise ValidationError(errors)
    case = lock_case(case_id)
    if not case.keeps_cause_analysis:
        raise NotAllowed(
            _("A cause analysis is kept for complaints and escalated cases; %(number)s is neither.")
            % {"number": case.number}
        )
    analysis = CauseAnalysis.objects.select_for_update().filter(case=case).first()
    if analysis is not None and analysis.state == CauseAnalysis.State.DONE:
        raise NotAllowed(
            _("The corrective action of %(number)s is done; its analysis can no longer change.")
            % {"number": case.number}
        )
    if analysis is not None and actor.pk not in (analysis.recorded_by_id, analysis.owner_id) and not supervises(actor):
        raise PermissionDenied(_("Only who recorded the analysis, the action's owner or a supervisor changes it."))
    values = {
        "root_cause": root_cause,
        "attribution": attribution,
        "corrective_action": corrective_action,
        "owner": owner,
        "due_on": due_on,
    }
    if analysis is None:
        analysis = CauseAnalysis.objects.create(case=case, recorded_by=actor, recorded_at=at, **values)
    else:
        for name, value in values.items():
            setattr(analysis, name, value)
        analysis.save(update_fields=[*values])
    save_case(case, actor=actor, at=at)
    update_event(
        case,
        name=EventName.CAUSE_ANALYSIS,
        actor=actor,
        note=_("Root cause: %(cause)s · corrective action (%(owner)s): %(action)s")
        % {"cause": root_cause, "owner": display_name(owner), "action": corrective_action},
        data={"attribution": attribution, "owner": owner.pk, "due_on": due_on.isoformat() if due_on else None},
        at=at,
    )
    return analysis


@transaction.atomic
def corrective_action_close(*, case_id: int, actor: User, result: str, at: datetime | None = None) -> CauseAnalysis:
    """The corrective action is done (by its owner, or a supervisor): what was done closes the loop."""
    at = now(at)
    result = required(result, "result", _("Say what was done."))
    case = lock_case(case_id)
    analysis = CauseAnalysis.objects.select_for_update().filter(case=case).first()
    if analysis is None:
        raise NotAllowed(_("Case %(number)s has no cause analysis yet.") % {"number": case.number})
    if actor is None or not may_close_corrective_action(actor, analysis):
        raise PermissionDenied(_("Only the action's owner or a supervisor closes a corrective action."))
    if analysis.state == CauseAnalysis.State.DONE:
        raise NotAllowed(
            _("The corrective action of %(number)s was already closed on %(date)s.")
            % {"number": case.number, "date": local_time(analysis.done_at)}
        )
    analysis.state, analysis.result, analysis.done_at = CauseAnalysis.State.DONE, result, at
    analysis.save(update_fields=["state", "result", "done_at"])
    update_event(case, name=EventName.CORRECTIVE_ACTION_DONE, actor=actor, note=result, at=at)
    return analysis
