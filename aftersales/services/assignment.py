"""Who works a case: an agent claims an unassigned case from their queues."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from aftersales.errors import NotAllowed
from aftersales.models import FINAL_STATES, Case, EventName
from aftersales.selectors import case_scope_for
from aftersales.services._base import ensure_version, lock_case, now, save_case
from aftersales.services.events import update_event

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def case_claim(*, case_id: int, actor: User, expected_version: int | None = None, at: datetime | None = None) -> Case:
    """Take an unassigned open case that ``actor`` can see. Two agents claiming at once: one gets it.

    A page built before someone else claimed the case hears who did; one built before another change hears
    that the case changed (``expected_version``).
    """
    at = now(at)
    if actor is None or not actor.has_perm("aftersales.claim_case"):
        raise PermissionDenied(_("You do not have permission to claim cases."))
    case = lock_case(case_id)
    if not case_scope_for(actor).filter(pk=case.pk).exists():
        raise PermissionDenied(_("Case %(number)s is not in your queues.") % {"number": case.number})
    if case.state in FINAL_STATES:
        raise NotAllowed(_("Case %(number)s is finished; there is nothing to claim.") % {"number": case.number})
    if case.assignee_id == actor.pk:
        raise NotAllowed(_("Case %(number)s is already yours.") % {"number": case.number})
    if case.assignee_id is not None:
        raise NotAllowed(
            _("Case %(number)s was already claimed by %(user)s.") % {"number": case.number, "user": case.assignee}
        )
    ensure_version(case, expected_version)
    case.assignee = actor
    save_case(case, actor=actor, at=at, fields={"assignee"})
    update_event(
        case,
        name=EventName.CLAIM,
        actor=actor,
        data={"changes": {"assignee": ["", str(actor)]}},
        assignment=True,
        at=at,
    )
    return case
