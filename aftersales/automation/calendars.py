"""Working time on a service calendar: adding working minutes to a moment, counting the working minutes between
two moments, and which calendar and which SLA targets (a campaign's, else the colour's) a case follows.

All in local time (Asia/Shanghai). A day's working windows come from its weekday's hours, none on a holiday,
and the ``makeup_hours_from`` weekday's on a make-up working day (调休).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format

from aftersales.models import CalendarDay, Campaign, CampaignTarget, ServiceCalendar, SlaPolicy

#: Beyond this many days without a working minute the calendar is taken as empty (counted in calendar time).
HORIZON_DAYS = 800


@dataclass
class Clock:
    """One calendar's rules, loaded once (three queries) and then computed in memory."""

    calendar: ServiceCalendar | None
    hours: dict[int, list[tuple[time, time]]] = field(default_factory=dict)
    holidays: set[date] = field(default_factory=set)
    workdays: set[date] = field(default_factory=set)
    makeup_weekday: int = 0

    @classmethod
    def of(cls, calendar: ServiceCalendar | None) -> Clock:
        if calendar is None:
            return cls(None)
        hours: dict[int, list[tuple[time, time]]] = {}
        for row in calendar.hours.all():
            hours.setdefault(row.weekday, []).append((row.starts, row.ends))
        days = list(calendar.days.values_list("day", "kind"))
        return cls(
            calendar,
            {weekday: sorted(windows) for weekday, windows in hours.items()},
            {day for day, kind in days if kind == CalendarDay.Kind.HOLIDAY},
            {day for day, kind in days if kind == CalendarDay.Kind.WORKDAY},
            calendar.makeup_hours_from,
        )

    @property
    def counts_working_time(self) -> bool:
        return self.calendar is not None and any(self.hours.values())

    def windows(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's working windows as aware local datetimes."""
        if day in self.holidays:
            return []
        weekday = self.makeup_weekday if day in self.workdays else day.weekday()
        zone = timezone.get_current_timezone()
        result = []
        for starts, ends in self.hours.get(weekday, []):
            begin = datetime.combine(day, starts, tzinfo=zone)
            end = datetime.combine(day + timedelta(days=1) if ends == time(0) else day, ends, tzinfo=zone)
            if end > begin:
                result.append((begin, end))
        return result

    def add(self, start: datetime, minutes: float) -> datetime:
        """The moment ``minutes`` working minutes after ``start``."""
        if not self.counts_working_time:
            return start + timedelta(minutes=minutes)
        left = timedelta(minutes=minutes)
        local = timezone.localtime(start)
        day = local.date()
        for _offset in range(HORIZON_DAYS):
            for begin, end in self.windows(day):
                if end <= local:
                    continue
                begin = max(begin, local)
                if begin + left <= end:
                    return begin + left
                left -= end - begin
            day += timedelta(days=1)
        return start + timedelta(minutes=minutes)  # no working time in sight: calendar time

    def between(self, start: datetime, end: datetime) -> float:
        """Working minutes from ``start`` to ``end`` (negative when ``end`` is earlier)."""
        if end < start:
            return -self.between(end, start)
        if not self.counts_working_time:
            return (end - start).total_seconds() / 60
        start, end = timezone.localtime(start), timezone.localtime(end)
        total = timedelta()
        day = start.date()
        while day <= end.date():
            for begin, finish in self.windows(day):
                overlap = min(finish, end) - max(begin, start)
                if overlap > timedelta():
                    total += overlap
            day += timedelta(days=1)
        return total.total_seconds() / 60

    def is_working(self, at: datetime) -> bool:
        if not self.counts_working_time:
            return True
        local = timezone.localtime(at)
        return any(begin <= local < end for begin, end in self.windows(local.date()))


def calendar_for(*, queue_id: int | None, channel: str) -> ServiceCalendar | None:
    """The queue's calendar, else the channel's, else the default one (or none). One query."""
    match = Q(is_default=True)
    if queue_id:
        match |= Q(queue_id=queue_id)
    if channel:
        match |= Q(channel=channel)
    candidates = list(ServiceCalendar.objects.filter(match))

    def rank(calendar: ServiceCalendar) -> int:
        if queue_id and calendar.queue_id == queue_id:
            return 0
        if channel and calendar.channel == channel:
            return 1
        return 2

    return min(candidates, key=rank, default=None)


def clock_for_case(case) -> Clock:
    return Clock.of(calendar_for(queue_id=case.queue_id, channel=case.channel))


def campaign_at(calendar: ServiceCalendar | None, at: datetime) -> Campaign | None:
    """The campaign running at ``at`` for this calendar (its own before one for every calendar)."""
    running = Campaign.objects.filter(starts_at__lte=at, ends_at__gt=at).filter(
        Q(calendar=calendar) | Q(calendar__isnull=True) if calendar else Q(calendar__isnull=True)
    )
    return min(running, key=lambda c: (c.calendar_id is None, -c.starts_at.timestamp()), default=None)


@dataclass(frozen=True)
class Targets:
    first_response_minutes: int
    resolution_minutes: int
    campaign: Campaign | None = None


def targets_for(priority: str, calendar: ServiceCalendar | None, at: datetime) -> Targets | None:
    """The SLA targets of a case of ``priority`` opened at ``at``: the running campaign's for that colour, else
    the colour's own (``None`` without either)."""
    campaign = campaign_at(calendar, at)
    if campaign is not None:
        target = CampaignTarget.objects.filter(campaign=campaign, priority=priority).first()
        if target is not None:
            return Targets(target.first_response_minutes, target.resolution_minutes, campaign)
    sla = SlaPolicy.objects.filter(priority=priority, active=True).first()
    if sla is None:
        return None
    return Targets(sla.first_response_minutes, sla.resolution_minutes)


def local_time(dt: datetime) -> str:
    """A moment as people here read it: local (Asia/Shanghai) ``Y-m-d H:i``."""
    return date_format(timezone.localtime(dt), "Y-m-d H:i")
