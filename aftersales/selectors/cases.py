"""The case page's readers: the customer's last cases (within the reader's scope), inspections with photos,
a photo only for someone who may see its case."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404

from aftersales.models import (
    Case,
    CaseState,
    Evidence,
    Inspection,
    InspectionPhoto,
)
from aftersales.selectors.scope import case_scope_for

S = CaseState


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


def evidence_for(user, case_id, evidence_id) -> Evidence:
    """A file of the customer's evidence, only for someone who may see its case."""
    try:
        return Evidence.objects.get(pk=evidence_id, case__in=case_scope_for(user).filter(pk=case_id))
    except (Evidence.DoesNotExist, ValueError):
        raise Http404 from None
