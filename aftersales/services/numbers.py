"""Human-readable, unique case numbers: ``AS`` + local date + daily counter."""

from __future__ import annotations

from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from aftersales.models import CaseNumberSequence

PREFIX = "AS"


def format_case_number(day: date, value: int) -> str:
    return f"{PREFIX}{day:%Y%m%d}-{value:06d}"


def case_number_next(*, at: datetime) -> str:
    """Allocate the next number for the local day of ``at`` (row-locked counter)."""
    return format_case_number(*case_numbers_reserve(at=at, count=1))


def case_numbers_reserve(*, at: datetime, count: int) -> tuple[date, int]:
    """Reserve ``count`` consecutive numbers; returns ``(day, first_value)``."""
    day = timezone.localdate(at)
    with transaction.atomic():
        CaseNumberSequence.objects.get_or_create(day=day)  # handles a concurrent first insert
        seq = CaseNumberSequence.objects.select_for_update().get(day=day)
        first = seq.last_value + 1
        seq.last_value += count
        seq.save(update_fields=["last_value"])
    return day, first
