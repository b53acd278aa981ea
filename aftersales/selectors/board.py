"""The status board and deadlines: open cases by state × colour with the breached ones (one query), and how
much time a case's stage clock has left."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from aftersales.models import (
    FINAL_STATES,
    OPEN_STATES,
    Case,
    CaseState,
    Priority,
)
from aftersales.selectors.scope import DUE_SOON, case_scope_for

S = CaseState


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
        # Counted on indexed columns: the partial index case_open_board holds every column read (index-only scan).
        .annotate(n=Count("state"), late=Count("stage_due_at", filter=Q(stage_due_at__lt=at)))
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
