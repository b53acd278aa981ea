"""The care after a case: the follow-up visits due (回访) and the open corrective actions of complaints."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from aftersales.models import CauseAnalysis, FollowUp
from aftersales.selectors.scope import case_scope_for

FOLLOW_UP_TABS = ("mine", "all", "done")


def follow_ups_for(user, tab: str = "mine") -> QuerySet[FollowUp]:
    """Follow-ups of the cases ``user`` may see: ``mine`` (open, owned by the user or by nobody), ``all`` open
    ones, or the ``done`` ones (latest first). Open ones earliest due first, on the partial index."""
    rows = FollowUp.objects.filter(Q(case__in=case_scope_for(user).values("pk")) | Q(owner=user)).select_related(
        "case__customer", "case__order", "case__category", "owner", "new_case"
    )
    if tab == "done":
        return rows.filter(state=FollowUp.State.DONE).order_by("-done_at", "-id")
    rows = rows.filter(state=FollowUp.State.OPEN)
    if tab == "mine":
        rows = rows.filter(Q(owner=user) | Q(owner__isnull=True))
    return rows.order_by("due_at", "id")


def open_corrective_actions(owner=None) -> QuerySet[CauseAnalysis]:
    """Corrective actions not done yet (of ``owner``, when given), earliest due first (no due date last)."""
    rows = CauseAnalysis.objects.filter(state=CauseAnalysis.State.OPEN)
    if owner is not None:
        rows = rows.filter(owner=owner)
    return rows.select_related("case__category__parent__parent", "owner").order_by("due_on", "recorded_at")


def corrective_actions_by_category(since=None, until=None) -> list[dict]:
    """Per top-level problem category and attribution: analyses recorded (in the period, when given), and how many
    of their corrective actions are still open."""
    rows = CauseAnalysis.objects.all()
    if since is not None:
        rows = rows.filter(recorded_at__gte=since)
    if until is not None:
        rows = rows.filter(recorded_at__lt=until)
    grouped = (
        rows.values(
            "case__category__parent__parent__name",
            "case__category__parent__name",
            "case__category__name",
            "case__category__level",
            "attribution",
        )
        .annotate(total=Count("id"), open=Count("id", filter=Q(state=CauseAnalysis.State.OPEN)))
        .order_by()
    )
    merged: dict[tuple[str, str], dict] = {}
    for row in grouped:
        top = (
            row["case__category__parent__parent__name"]
            or row["case__category__parent__name"]
            or row["case__category__name"]
            or ""
        )
        entry = merged.setdefault((top, row["attribution"]), {"category": top, "attribution": row["attribution"]})
        entry["total"] = entry.get("total", 0) + row["total"]
        entry["open"] = entry.get("open", 0) + row["open"]
    return sorted(merged.values(), key=lambda e: (-e["open"], -e["total"], e["category"]))
