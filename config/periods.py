"""Report periods in local dates (Asia/Shanghai): a day starts at local midnight, whatever UTC says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone


@dataclass(frozen=True)
class Period:
    start: date  # first local day, included
    end: date  # last local day, included

    @property
    def since(self) -> datetime:
        """Aware start: local midnight of ``start``."""
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def until(self) -> datetime:
        """Aware end, excluded: local midnight after ``end``."""
        return timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def label(self) -> str:
        return f"{self.start:%Y%m%d}-{self.end:%Y%m%d}"


def today() -> date:
    return timezone.localdate()


def last_days(days: int, *, until: date | None = None) -> Period:
    end = until or today()
    return Period(end - timedelta(days=days - 1), end)


def month_of(day: date) -> Period:
    start = day.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return Period(start, following - timedelta(days=1))


#: Dates outside these years are clamped (a typo like 0001-01-01 must not overflow).
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


def clamp(day: date | None) -> date | None:
    return None if day is None else min(max(day, EARLIEST), LATEST)


def parse_period(start: date | None, end: date | None, *, default_days: int = 30, max_days: int = 400) -> Period:
    """A period from optional bounds: missing ones default to the last ``default_days``; reversed ones are swapped."""
    start, end = clamp(start), clamp(end)
    if start is None and end is None:
        return last_days(default_days)
    if start is None:
        start = end - timedelta(days=default_days - 1)
    if end is None:
        end = max(start, today())
    if end < start:
        start, end = end, start
    if (end - start).days + 1 > max_days:
        start = end - timedelta(days=max_days - 1)
    return Period(start, end)
