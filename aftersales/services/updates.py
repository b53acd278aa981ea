"""What changes a case without moving it: the customer's rating, triage (urgency, colour, category, queue,
assignee), notes and replies, and which transitions a user may take now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from aftersales.automation.care import schedule_follow_up
from aftersales.automation.routing import apply_sla
from aftersales.errors import NotAllowed
from aftersales.models import (
    FINAL_STATES,
    Case,
    CaseEvent,
    CaseState,
    EventName,
    Evidence,
)
from aftersales.notifications.outbox import notify_customer
from aftersales.permissions import may_reply_to_customers
from aftersales.replies.rendering import unfilled_markers
from aftersales.services._base import (
    local_time,
    lock_case,
    now,
    required,
    save_case,
)
from aftersales.services.events import note_event, system_event, update_event
from aftersales.services.photos import store_files, validate_media
from aftersales.workflow.forms import TRIAGE_FIELDS

if TYPE_CHECKING:
    from django.contrib.auth.models import User

S = CaseState


# --------------------------------------------------------------------------
# Rating
# --------------------------------------------------------------------------
@transaction.atomic
def case_rate(
    *,
    case_id: int,
    actor: User | None,
    csat: int,
    nps: int | None = None,
    comment: str = "",
    at: datetime | None = None,
) -> Case:
    """The customer's rating after the case closed: CSAT 1–5 and NPS 0–10, once."""
    at = now(at)
    errors = {}
    if isinstance(csat, bool) or not isinstance(csat, int) or not 1 <= csat <= 5:
        errors["csat"] = _("CSAT is a whole number from 1 to 5.")
    if nps is not None and (isinstance(nps, bool) or not isinstance(nps, int) or not 0 <= nps <= 10):
        errors["nps"] = _("NPS is a whole number from 0 to 10.")
    if errors:
        raise ValidationError(errors)
    if actor is None or not actor.has_perm("aftersales.confirm_case"):
        raise PermissionDenied(_("You do not have permission to rate cases."))
    case = lock_case(case_id)
    if case.state != S.CLOSED:
        raise NotAllowed(
            _("Case %(number)s can be rated once it is closed; it is “%(state)s”.")
            % {"number": case.number, "state": case.get_state_display()}
        )
    if case.rated_at is not None:
        raise NotAllowed(
            _("Case %(number)s was already rated on %(date)s.")
            % {"number": case.number, "date": local_time(case.rated_at)}
        )
    case.csat, case.nps, case.rated_at = csat, nps, at
    save_case(case, actor=actor, at=at, fields={"csat", "nps", "rated_at"})
    schedule_follow_up(case, at=at)  # a low rating calls for a follow-up visit
    update_event(
        case,
        name=EventName.RATED,
        actor=actor,
        note=(comment or "").strip()[:1000],
        data={"csat": csat, "nps": nps},
        at=at,
    )
    return case


# --------------------------------------------------------------------------
# Non-transition actions
# --------------------------------------------------------------------------


@transaction.atomic
def case_update(
    *,
    case_id: int,
    actor: User | None,
    changes: dict,
    note: str = "",
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    """Change triage fields (urgency, priority, crisis flag, category, queue, assignee) with an event naming each change."""
    at = now(at)
    if actor is None or not actor.has_perm("aftersales.change_case"):
        raise PermissionDenied(_("You do not have permission to change cases."))
    unknown = set(changes) - set(TRIAGE_FIELDS)
    if unknown:
        raise ValidationError({name: _("This field cannot be changed here.") for name in sorted(unknown)})
    case = lock_case(case_id, expected_version=expected_version)
    if case.state in FINAL_STATES:
        raise NotAllowed(_("Case %(number)s is finished and can no longer be changed.") % {"number": case.number})
    diff = {}
    for name, value in changes.items():
        old = getattr(case, name)
        if old != value:
            setattr(case, name, value)
            diff[name] = [str(old) if old is not None else "", str(value) if value is not None else ""]
    if not diff:
        return case
    try:
        case.full_clean(
            exclude=[f.name for f in Case._meta.fields if f.name not in diff] + ["state"], validate_unique=False
        )
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from None
    fields = {Case._meta.get_field(name).attname for name in diff}
    if "priority" in diff or "queue" in diff:
        # A new colour brings its own SLA targets, a new queue perhaps its own calendar: counted from the opening.
        fields |= apply_sla(case)
    save_case(case, actor=actor, at=at, fields=fields)
    update_event(
        case,
        name=EventName.UPDATE,
        actor=actor,
        note=note,
        data={"changes": diff},
        assignment=set(diff) <= {"queue", "assignee"},
        at=at,
    )
    return case


@transaction.atomic
def case_add_note(
    *,
    case_id: int,
    actor: User | None,
    text: str,
    to_customer: bool = False,
    data: dict | None = None,
    at: datetime | None = None,
) -> CaseEvent:
    """An internal note, or a reply to the customer; both go on the timeline (``data``: e.g. the template used)."""
    at = now(at)
    text = required(text, "text", _("Write the note first."))
    if actor is None or not actor.has_perm("aftersales.view_case"):
        raise PermissionDenied(_("You do not have permission to write on cases."))
    if to_customer and not may_reply_to_customers(actor):
        raise PermissionDenied(_("Only agents and supervisors reply to customers; write an internal note instead."))
    blanks = unfilled_markers(text) if to_customer else []
    if blanks:
        raise ValidationError(
            {
                "text": _("The reply still has blanks to fill in: %(blanks)s. Replace them before sending.")
                % {"blanks": "、".join(blanks)}
            }
        )
    case = lock_case(case_id)
    save_case(case, actor=actor, at=at)
    event = note_event(case, actor=actor, text=text, to_customer=to_customer, data=data, at=at)
    if to_customer:
        notify_customer(case, "reply", reply=text)
    return event


# --------------------------------------------------------------------------
# Evidence
# --------------------------------------------------------------------------
@transaction.atomic
def case_add_evidence(
    *, case_id: int, actor: User | None, files: Sequence, at: datetime | None = None
) -> list[Evidence]:
    """The customer's photos and short videos for an open case (through the channel, or an agent for them).

    Each file is checked by its content and size and stripped of its metadata before anything is written; the
    files are stored last (removed again if storing one of them fails), so only a failure of the commit itself
    could leave a file without its row.
    """
    at = now(at)
    if actor is None or not actor.has_perm("aftersales.add_evidence"):
        raise PermissionDenied(_("You do not have permission to add evidence to cases."))
    case = lock_case(case_id)
    if case.state in FINAL_STATES:
        raise NotAllowed(
            _("Case %(number)s is “%(state)s”: evidence can be added while it is open.")
            % {"number": case.number, "state": case.get_state_display()}
        )
    if not [f for f in files if f]:
        raise ValidationError({"files": _("Choose at least one photo or video.")})
    accepted = validate_media(
        files,
        field="files",
        max_count=settings.EVIDENCE_MAX_COUNT,
        videos=True,
        already=case.uploads.count(),
    )
    save_case(case, actor=actor, at=at)
    rows = [
        Evidence(
            case=case,
            original_name=(getattr(item.upload, "name", "") or "")[:200],
            content_type=item.content_type,
            size=len(item.content),
            uploaded_by=actor,
            uploaded_at=at,
        )
        for item in accepted
    ]
    note = ", ".join(row.original_name or "?" for row in rows)
    event = system_event(case, name=EventName.EVIDENCE, note=note, actor=actor, data={"files": len(rows)}, at=at)
    # Files last: nothing after them can fail but the commit itself.
    store_files([(row, "file", item) for row, item in zip(rows, accepted, strict=True)])
    event.data = {"files": len(rows), "evidence": [row.pk for row in rows]}
    event.save(update_fields=["data"])
    return rows
