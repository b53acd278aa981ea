"""Daily rollups: the figures of each local day, counted once and kept, so a report over a month reads thirty
days' rows instead of a month's cases.

``refresh`` recounts the days that rows changed since its last run touched: every case, compensation and order
carries an indexed ``updated_at`` (a partial save moves it too, ``aftersales.models.cases.TouchedOnSave``), and a
changed row makes dirty the days it is counted on (a case's opening and rating days, a compensation's proposal and
approval days, an order's placing day). A day is always recounted whole, from the source rows, so a refresh is
idempotent and can run as often as wanted: the ``rollups`` job runs it every minute, and the reports run it
before they read (nothing to do when nothing changed: a few empty index range scans). The first refresh, or
``manage.py backfill_rollups``, counts every day.

The same refresh keeps each closed case's ``came_back`` (its customer placed an order after it closed: the
repurchase rate) for the customers whose cases or orders changed, so the KPIs read it from an index instead of
probing each closed case's orders.

A reader's refresh reads the rows stamped since the last refresh; the job reads back ``LAG`` before its own last
run, so a transaction that stamped ``updated_at`` before a refresh but committed after it is counted within a
minute.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import (
    Count,
    DecimalField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    Sum,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from aftersales.models import (
    FINAL_STATES,
    GRANTED_COMPENSATION_STATES,
    ZERO,
    Case,
    CaseEvent,
    CaseKeyword,
    CaseState,
    Compensation,
    RequestType,
)
from config.periods import Period
from customers.models import Order, OrderDayChange, OrderLine
from reports.models import DailyCompensation, DailyFigures, DailyTeam, DailyWaits, DailyWords, RollupState

S = CaseState
LAG = timedelta(minutes=5)
#: Before any refresh: every row is newer than this.
BEGINNING = datetime(2000, 1, 1, tzinfo=timezone.get_fixed_timezone(0))
#: Dirty days closer than this are recounted as one range (fewer, larger queries).
GAP = 7
#: A report page recounts at most this many changed days itself; more are left to the job, when it runs (it
#: settled within ``JOB_SEEN``). Without a job runner (``make run``) a page recounts whatever changed.
READER_DAYS = 14
JOB_SEEN = timedelta(minutes=5)
MONEY = DecimalField(max_digits=16, decimal_places=2)


def _zone():
    return timezone.get_default_timezone()


def _day(field: str) -> TruncDate:
    return TruncDate(field, tzinfo=_zone())


def _us(value: timedelta | None) -> int:
    return 0 if value is None else value // timedelta(microseconds=1)


def _case_times() -> dict:
    """Aggregates of cases opened on a day that the figures and the team share: closed, answered, and the sums of
    their first-response and resolution times."""
    response = ExpressionWrapper(F("first_response_at") - F("opened_at"), output_field=DurationField())
    resolution = ExpressionWrapper(F("closed_at") - F("opened_at"), output_field=DurationField())
    return {
        "closed": Count("id", filter=Q(state=S.CLOSED)),
        "responded": Count("id", filter=Q(first_response_at__isnull=False)),
        "response": Sum(response, filter=Q(first_response_at__isnull=False)),
        "resolved": Sum(resolution, filter=Q(state=S.CLOSED)),
    }


def _set_times(entry, item: dict) -> None:
    entry.closed, entry.responded = item["closed"], item["responded"]
    entry.response_us, entry.resolved_us = _us(item["response"]), _us(item["resolved"])


# --------------------------------------------------------------------------
# Counting days
# --------------------------------------------------------------------------
def _figures(since: datetime, until: datetime) -> Iterable[DailyFigures]:
    rows: dict[tuple, DailyFigures] = {}

    def row(day, channel, category) -> DailyFigures:
        key = (day, channel, category)
        if key not in rows:
            rows[key] = DailyFigures(day=day, channel=channel, category_id=category)
        return rows[key]

    declined = CaseEvent.objects.filter(case_id=OuterRef("pk"), name="decline")
    opened = (
        Case.objects.filter(opened_at__gte=since, opened_at__lt=until)
        .order_by()
        .annotate(d=_day("opened_at"), cat=F("main_category_id"))
        .values("d", "channel", "cat")
        .annotate(
            opened=Count("id"),
            finished=Count("id", filter=Q(state__in=FINAL_STATES)),
            one_pass=Count("id", filter=Q(state=S.CLOSED, escalated_at__isnull=True) & ~Q(Exists(declined))),
            returns=Count("id", filter=Q(request_type__in=(RequestType.RETURN_REFUND, RequestType.REFUND_ONLY))),
            complaints=Count("id", filter=Q(request_type=RequestType.COMPLAINT)),
            **_case_times(),
        )
    )
    for item in opened:
        entry = row(item["d"], item["channel"], item["cat"])
        for name in ("opened", "finished", "one_pass", "returns", "complaints"):
            setattr(entry, name, item[name])
        _set_times(entry, item)

    rated = (
        Case.objects.filter(rated_at__gte=since, rated_at__lt=until)
        .filter(Q(csat__isnull=False) | Q(nps__isnull=False))
        .order_by()
        .annotate(d=_day("rated_at"), cat=F("main_category_id"))
        .values("d", "channel", "cat")
        .annotate(
            rated=Count("csat"),
            csat_sum=Sum("csat"),
            nps_n=Count("nps"),
            promoters=Count("id", filter=Q(nps__gte=9)),
            detractors=Count("id", filter=Q(nps__lte=6)),
        )
    )
    for item in rated:
        entry = row(item["d"], item["channel"], item["cat"])
        entry.rated, entry.csat_sum = item["rated"], item["csat_sum"] or 0
        entry.nps_n, entry.promoters, entry.detractors = item["nps_n"], item["promoters"], item["detractors"]

    orders = (
        Order.objects.filter(placed_at__gte=since, placed_at__lt=until)
        .order_by()
        .annotate(d=_day("placed_at"))
        .values("d", "channel")
        .annotate(n=Count("id"))
    )
    for item in orders:
        row(item["d"], item["channel"], None).orders = item["n"]

    lines = (
        OrderLine.objects.filter(order__placed_at__gte=since, order__placed_at__lt=until)
        .order_by()
        .annotate(d=_day("order__placed_at"), ch=F("order__channel"), cat=F("category_id"))
        .values("d", "ch", "cat")
        .annotate(
            n=Count("id"),
            revenue=Sum(F("unit_price") * F("quantity"), output_field=MONEY),
            margin=Sum((F("unit_price") - F("unit_cost")) * F("quantity"), output_field=MONEY),
        )
    )
    for item in lines:
        entry = row(item["d"], item["ch"], item["cat"])
        entry.order_lines, entry.revenue, entry.margin = item["n"], item["revenue"] or ZERO, item["margin"] or ZERO
    return rows.values()


def _compensation(since: datetime, until: datetime) -> list[DailyCompensation]:
    out = []
    for basis, field in (
        (DailyCompensation.Basis.PROPOSED, "proposed_at"),
        (DailyCompensation.Basis.APPROVED, "approved_at"),
    ):
        grouped = (
            Compensation.objects.filter(**{f"{field}__gte": since, f"{field}__lt": until})
            .order_by()
            .annotate(d=_day(field), ch=F("case__channel"), cat=F("case__main_category_id"))
            .values("d", "ch", "cat", "kind", "state")
            .annotate(n=Count("id"), total=Sum("amount"))
        )
        out += [
            DailyCompensation(
                day=item["d"],
                basis=basis,
                channel=item["ch"],
                category_id=item["cat"],
                kind=item["kind"],
                state=item["state"],
                count=item["n"],
                amount=item["total"] or ZERO,
            )
            for item in grouped
        ]
    return out


def _team(since: datetime, until: datetime) -> Iterable[DailyTeam]:
    rows: dict[tuple, DailyTeam] = {}

    def row(day, user) -> DailyTeam:
        if (day, user) not in rows:
            rows[(day, user)] = DailyTeam(day=day, user_id=user)
        return rows[(day, user)]

    assigned = (
        Case.objects.filter(opened_at__gte=since, opened_at__lt=until, assignee__isnull=False)
        .order_by()
        .annotate(d=_day("opened_at"))
        .values("d", "assignee")
        .annotate(
            n=Count("id"),
            still=Count("id", filter=~Q(state__in=FINAL_STATES)),
            ratings=Count("csat"),
            csat_total=Sum("csat"),
            **_case_times(),
        )
    )
    for item in assigned:
        entry = row(item["d"], item["assignee"])
        entry.cases, entry.open = item["n"], item["still"]
        entry.rated, entry.csat_sum = item["ratings"], item["csat_total"] or 0
        _set_times(entry, item)
    granted = (
        Compensation.objects.filter(
            state__in=GRANTED_COMPENSATION_STATES,
            approved_at__gte=since,
            approved_at__lt=until,
            proposed_by__isnull=False,
        )
        .order_by()
        .annotate(d=_day("approved_at"))
        .values("d", "proposed_by")
        .annotate(total=Sum("amount"))
    )
    for item in granted:
        row(item["d"], item["proposed_by"]).granted = item["total"] or ZERO
    return rows.values()


def _words(since: datetime, until: datetime) -> Iterable[DailyWords]:
    counted = (
        CaseKeyword.objects.filter(opened_at__gte=since, opened_at__lt=until)
        .order_by()
        .annotate(d=_day("opened_at"))
        .values("d", "word")
        .annotate(n=Count("case_id"))
    )
    return (DailyWords(day=item["d"], word=item["word"], cases=item["n"]) for item in counted)


def _transitions_with_waits():
    """Transition events with a stored wait, through their index (``caseevent_waits``: its node comes first)."""
    return CaseEvent.objects.filter(
        kind=CaseEvent.Kind.TRANSITION, wait_seconds__isnull=False, from_state__in=S.values
    ).order_by()


def _waits(since: datetime, until: datetime) -> Iterable[DailyWaits]:
    """Each day's waits per node and the local weekday and hour they began, sorted."""
    ended = _transitions_with_waits().filter(created_at__gte=since, created_at__lt=until).annotate(d=_day("created_at"))
    if connection.vendor == "postgresql":
        # Straight from the events into the rollup, in the database (275 k lists at a million cases).
        sql, params = ended.values("id").query.sql_with_params()
        events, table = CaseEvent._meta.db_table, DailyWaits._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (day, from_state, weekday, hour, waits) "
                f"SELECT (e.created_at AT TIME ZONE %s)::date, e.from_state, e.wait_weekday, e.wait_hour, "
                f"array_agg(e.wait_seconds ORDER BY e.wait_seconds) "
                f"FROM {events} e WHERE e.id IN ({sql}) GROUP BY 1, 2, 3, 4",
                [str(_zone()), *params],
            )
        return ()
    grouped: dict[tuple, list[float]] = defaultdict(list)
    for day, node, weekday, hour, wait in ended.values_list(
        "d", "from_state", "wait_weekday", "wait_hour", "wait_seconds"
    ):
        grouped[(_as_date(day), node, weekday, hour)].append(wait)
    return (
        DailyWaits(day=day, from_state=node, weekday=weekday, hour=hour, waits=sorted(waits))
        for (day, node, weekday, hour), waits in grouped.items()
    )


ROLLUPS = (
    (DailyFigures, _figures),
    (DailyCompensation, _compensation),
    (DailyTeam, _team),
    (DailyWords, _words),
    (DailyWaits, _waits),
)


def recount(first: date, last: date) -> int:
    """Count the local days ``first`` to ``last`` again from the source rows (in the caller's transaction)."""
    period = Period(first, last)
    for model, count in ROLLUPS:
        model.objects.filter(day__gte=first, day__lte=last).delete()
        model.objects.bulk_create(count(period.since, period.until), batch_size=5000)
    return period.days


# --------------------------------------------------------------------------
# Which days changed
# --------------------------------------------------------------------------
def changed_since(since: datetime) -> tuple[set[date], set[int]]:
    """The local days counted on by the cases, compensations and orders changed at or after ``since``, and the
    customers of those cases and orders. One query per table."""
    days: set[date] = set()
    customers: set[int] = set()
    sources = (
        (Case, ("opened_at", "rated_at"), True),
        (Compensation, ("proposed_at", "approved_at"), False),
        (Order, ("placed_at",), True),
    )
    for model, fields, of_customer in sources:
        changed = model.objects.filter(updated_at__gte=since).order_by()
        columns = {f"day_{field}": _day(field) for field in fields}
        for row in (
            changed.annotate(**columns).values_list(*columns, *(["customer_id"] if of_customer else [])).distinct()
        ):
            days.update(_as_date(day) for day in row[: len(fields)] if day is not None)
            if of_customer:
                customers.add(row[-1])
    return days, customers


def event_days(after_id: int, since: datetime | None = None) -> tuple[set[date], int]:
    """The local days on which the transitions written after event ``after_id`` ended (their waits are new), and,
    with ``since``, those of the transitions created at or after it (for a transaction that committed late); and
    the newest such transition (``after_id`` when there is none)."""
    days: set[date] = set()
    last = after_id
    found = [_transitions_with_waits().filter(pk__gt=after_id)]
    if since is not None:
        found.append(_transitions_with_waits().filter(created_at__gte=since))
    for events in found:
        for day, newest in (
            events.annotate(d=_day("created_at")).values("d").annotate(newest=Max("pk")).values_list("d", "newest")
        ):
            days.add(_as_date(day))
            last = max(last, newest)
    return days, last


def _as_date(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def ranges(days: Iterable[date], *, gap: int = GAP) -> list[tuple[date, date]]:
    """Sorted days as inclusive ranges, days less than ``gap`` apart merged."""
    out: list[list[date]] = []
    for day in sorted(days):
        if out and (day - out[-1][1]).days <= gap:
            out[-1][1] = day
        else:
            out.append([day, day])
    return [(a, b) for a, b in out]


def refresh(*, full: bool = False, settle: bool = False) -> int:
    """Recount the days changed since the last refresh (every day with ``full``, or the first time); returns how
    many days were recounted. Two refreshes at once wait for each other (the state row is locked).

    A reader's refresh looks at the rows stamped since the last refresh, and leaves the work to the job when the
    job is at it already (the lock is taken), or when it runs and more than ``READER_DAYS`` days changed (a sweep
    or an import across many days): then a page never waits seconds for a recount. The job's refresh (``settle``) looks ``LAG``
    further back than its own last run, for rows stamped before a refresh and committed after it."""
    reader = not (full or settle)
    RollupState.objects.get_or_create(
        name="rollups", defaults={"watermark": BEGINNING, "settled": BEGINNING, "refreshed_at": timezone.now()}
    )
    with transaction.atomic():
        state = RollupState.objects.select_for_update(skip_locked=reader).filter(name="rollups").first()
        if state is None:
            return 0  # the job is counting: read what is there
        started = timezone.now()
        first_time = state.settled <= BEGINNING
        if full or first_time:
            since = BEGINNING
        elif settle:
            since = min(state.settled, state.watermark) - LAG
        else:
            since = state.watermark
        # Days (and customers) orders left or were deleted from.
        moved = {
            pk: (day, customer) for pk, day, customer in OrderDayChange.objects.values_list("pk", "day", "customer_id")
        }
        if full or first_time:
            fill_waits()  # first: the days of the waits it stores are counted below
        days, customers = changed_since(since)
        days |= {day for day, _customer in moved.values()}
        ended, last_event = event_days(0 if (full or first_time) else state.last_event, since if settle else None)
        days |= ended
        if reader and len(days) > READER_DAYS and state.settled > started - JOB_SEEN:
            return 0  # many days changed, and the job is running: it recounts them within a minute
        if full or first_time:
            for model, _count in ROLLUPS:
                model.objects.all().delete()  # days without any rows left are not recounted: clear them all
        counted = sum(recount(a, b) for a, b in ranges(days))
        # Last: the case rows it corrects stay locked only until the commit, not through the recount.
        if full or first_time:
            fill_came_back()
        else:
            fill_came_back(customers | {customer for _day, customer in moved.values() if customer is not None})
        OrderDayChange.objects.filter(pk__in=list(moved)).delete()  # the ones read (newer ones wait their turn)
        state.watermark, state.refreshed_at, state.days_refreshed = started, started, counted
        state.last_event = last_event
        if full or first_time or settle:
            state.settled = started
        state.save()
    return counted


def rollups_job(at: datetime | None = None) -> int:
    """The ``rollups`` background job: a settling refresh."""
    return refresh(settle=True)


# --------------------------------------------------------------------------
# Customers who came back after their case
# --------------------------------------------------------------------------
#: Customers whose cases ``fill_came_back`` corrects in one statement.
CUSTOMERS_AT_ONCE = 5000


def fill_came_back(customers: Iterable[int] | None = None) -> int:
    """Set ``Case.came_back`` right for these customers' cases (every case when ``None``): a closed case whose
    customer placed an order after it closed. Two set-based updates, of the rows that are wrong only (a plain
    update: the rollups' own bookkeeping does not stamp ``updated_at``)."""
    if customers is None:
        return _fill_came_back(Case.objects.all())
    customers = sorted(customers)
    return sum(  # in slices: a big import changes many customers (and SQLite takes 32,766 parameters at most)
        _fill_came_back(Case.objects.filter(customer_id__in=customers[start : start + CUSTOMERS_AT_ONCE]))
        for start in range(0, len(customers), CUSTOMERS_AT_ONCE)
    )


def _fill_came_back(cases) -> int:
    again = Exists(Order.objects.filter(customer_id=OuterRef("customer_id"), placed_at__gt=OuterRef("closed_at")))
    set_ = cases.filter(again, state=S.CLOSED, came_back=False).update(came_back=True)
    cleared = cases.filter(came_back=True).exclude(Q(again, state=S.CLOSED)).update(came_back=False)
    return set_ + cleared


# --------------------------------------------------------------------------
# Waits on events written before they were stored
# --------------------------------------------------------------------------
def fill_waits() -> int:
    """Give each transition without a stored wait the one it would have had (``transition_event`` stores it on
    new ones): the time since the case's event before it (its opening or its previous transition), and the
    local weekday and hour that wait began. One statement, over the cases that lack a wait."""
    events = CaseEvent._meta.db_table
    zone = str(_zone())
    todo = f"SELECT DISTINCT case_id FROM {events} WHERE kind = 'transition' AND wait_seconds IS NULL"
    moves = f"""
        SELECT e.id, e.kind, e.created_at,
               LAG(e.created_at) OVER (PARTITION BY e.case_id ORDER BY e.created_at, e.id) AS entered_at
        FROM {events} e WHERE e.kind IN ('opened', 'transition') AND e.case_id IN ({todo})
    """
    if connection.vendor == "postgresql":
        sql = f"""
            UPDATE {events} AS t SET
                wait_seconds = EXTRACT(EPOCH FROM m.created_at - m.entered_at),
                wait_weekday = EXTRACT(ISODOW FROM m.entered_at AT TIME ZONE %s),
                wait_hour = EXTRACT(HOUR FROM m.entered_at AT TIME ZONE %s)
            FROM ({moves}) AS m
            WHERE t.id = m.id AND m.kind = 'transition' AND m.entered_at IS NOT NULL AND t.wait_seconds IS NULL
        """
        params = [zone, zone]
    else:
        # SQLite keeps UTC text; the zone's offset is fixed (Asia/Shanghai has no summer time).
        offset = timezone.now().astimezone(_zone()).utcoffset() or timedelta(0)
        shift = f"'{offset.total_seconds() / 3600:+.0f} hours'"
        sql = f"""
            UPDATE {events} AS t SET
                wait_seconds = (julianday(m.created_at) - julianday(m.entered_at)) * 86400.0,
                wait_weekday = ((CAST(strftime('%%w', m.entered_at, {shift}) AS INTEGER) + 6) %% 7) + 1,
                wait_hour = CAST(strftime('%%H', m.entered_at, {shift}) AS INTEGER)
            FROM ({moves}) AS m
            WHERE t.id = m.id AND m.kind = 'transition' AND m.entered_at IS NOT NULL AND t.wait_seconds IS NULL
        """
        params = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
