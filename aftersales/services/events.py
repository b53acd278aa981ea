from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from aftersales.models import Case, CaseEvent


def case_event_record(
    *,
    case: Case,
    kind: str,
    actor=None,
    name: str = "",
    before: str = "",
    after: str = "",
    note: str = "",
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> CaseEvent:
    """Append one event to the case's timeline (events are never edited)."""
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        name=name,
        from_state=before,
        to_state=after,
        actor=actor,
        note=note,
        data=data or {},
        created_at=at or timezone.now(),
    )
