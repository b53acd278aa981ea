"""Report figures, computed by the database: each report is a handful of grouped queries on indexed
columns, whatever the number of cases. Days and weeks are local (Asia/Shanghai).

The KPIs, the cost funnel and the cost ratio read the daily rollups (``reports.rollups``), refreshed before they
read; the heatmap reads the waits stored on the transitions' events."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import (
    Count,
    F,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncDate, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.models import (
    GRANTED_COMPENSATION_STATES,
    Case,
    CaseKeyword,
    CaseState,
    Compensation,
    CompensationState,
    FollowUp,
)
from aftersales.permissions import display_name
from config.periods import Period
from customers.models import ProductCategory
from reports.models import DailyCompensation, DailyFigures, DailyTeam, DailyWaits, DailyWords
from reports.rollups import ZERO, refresh

CS = CompensationState
S = CaseState
#: Compensation that costs the merchant: approved, paid, or paid and failed (to be paid again).
GRANTED = GRANTED_COMPENSATION_STATES
#: The order in which a merchant escalates compensation (the cost funnel): cheapest first.
LADDER = (
    Compensation.Kind.RETURN_SHIPPING,
    Compensation.Kind.COUPON,
    Compensation.Kind.CASH,
    Compensation.Kind.REFUND,
    Compensation.Kind.REPLACEMENT,
    Compensation.Kind.GIFT,
)


def tz():
    return timezone.get_current_timezone()


# --------------------------------------------------------------------------
# Compensation report
# --------------------------------------------------------------------------
def compensation_rows(queryset: QuerySet) -> QuerySet:
    return queryset.select_related("case__order", "case__customer", "proposed_by", "approved_by", "paid_by")


@dataclass
class Totals:
    days: list[dict]  # [{"day", "by_kind": {kind: amount}, "total", "count"}]
    kinds: list[tuple[str, str]]  # kinds that occur, ladder order
    by_kind: dict[str, Decimal]
    total: Decimal
    count: int


def compensation_totals(queryset: QuerySet, basis_field: str) -> Totals:
    """Totals by local day and kind (one query)."""
    grouped = (
        queryset.order_by()
        .annotate(day=TruncDate(basis_field, tzinfo=tz()))
        .values("day", "kind")
        .annotate(total=Sum("amount"), n=Count("id"))
    )
    days: dict[date, dict] = {}
    by_kind: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for row in grouped:
        entry = days.setdefault(
            row["day"], {"day": row["day"], "by_kind": defaultdict(lambda: ZERO), "total": ZERO, "count": 0}
        )
        entry["by_kind"][row["kind"]] += row["total"]
        entry["total"] += row["total"]
        entry["count"] += row["n"]
        by_kind[row["kind"]] += row["total"]
    labels = dict(Compensation.Kind.choices)
    kinds = [(k, labels[k]) for k in LADDER if k in by_kind]
    ordered = [days[d] for d in sorted(days)]
    for entry in ordered:
        entry["cells"] = [entry["by_kind"].get(k, ZERO) for k, _label in kinds]
    return Totals(
        days=ordered,
        kinds=kinds,
        by_kind=dict(by_kind),
        total=sum(by_kind.values(), ZERO),
        count=sum(e["count"] for e in ordered),
    )


# --------------------------------------------------------------------------
# Cost funnel and cost ratio
# --------------------------------------------------------------------------
FUNNEL_STAGES = (
    ("proposed", _("proposed"), (CS.PROPOSED, CS.APPROVED, CS.PAID, CS.FAILED, CS.REJECTED, CS.VOIDED)),
    ("approved", _("approved"), GRANTED),
    ("paid", _("paid"), (CS.PAID,)),
)


def cost_funnel(period: Period) -> list[dict]:
    """For each kind, in ladder order: amount and count proposed, approved and paid (proposed in the period).
    Read from the daily rollups."""
    refresh()
    grouped = (
        DailyCompensation.objects.filter(
            basis=DailyCompensation.Basis.PROPOSED, day__gte=period.start, day__lte=period.end
        )
        .order_by()
        .values("kind", "state")
        .annotate(total=Sum("amount"), n=Sum("count"))
    )
    cells: dict[str, dict[str, list]] = defaultdict(lambda: {key: [ZERO, 0] for key, _l, _s in FUNNEL_STAGES})
    for row in grouped:
        for key, _label, states in FUNNEL_STAGES:
            if row["state"] in states:
                cells[row["kind"]][key][0] += row["total"]
                cells[row["kind"]][key][1] += row["n"]
    labels = dict(Compensation.Kind.choices)
    return [
        {
            "kind": kind,
            "label": labels[kind],
            "stages": [
                {"key": key, "label": label, "amount": cells[kind][key][0], "count": cells[kind][key][1]}
                for key, label, _s in FUNNEL_STAGES
            ],
        }
        for kind in LADDER
        if kind in cells
    ]


@dataclass
class CostRow:
    month: date
    category_id: int | None
    category: str
    cost: Decimal = ZERO
    margin: Decimal = ZERO

    @property
    def ratio(self) -> Decimal | None:
        if self.margin <= 0:
            return None
        return (self.cost / self.margin).quantize(Decimal("0.0001"))

    @property
    def alert(self) -> bool:
        """Cost above a third of the margin, compared exactly (not the rounded ratio). Complaints without goods
        have no margin of their own: their row is shown, never alerted."""
        if self.category_id is None:
            return False
        return over_a_third(self.cost, self.margin)


def over_a_third(cost: Decimal, margin: Decimal) -> bool:
    """The alert's rule: after-sales cost above a third of the gross margin (exact, not the rounded ratio). No
    margin yet (a month's first day, before its orders) is no ratio and no alert."""
    return cost > 0 and margin > 0 and cost * 3 > margin


def cost_ratio(period: Period) -> list[CostRow]:
    """After-sales cost (granted compensation, by approval month) over gross margin (order lines placed that month),
    by local month and product category (two queries of the daily rollups)."""
    refresh()
    days = {"day__gte": period.start, "day__lte": period.end}
    costs = (
        DailyCompensation.objects.filter(basis=DailyCompensation.Basis.APPROVED, state__in=GRANTED, **days)
        .order_by()
        .annotate(month=TruncMonth("day"))
        .values("month", "category")
        .annotate(total=Sum("amount"))
    )
    margins = (
        DailyFigures.objects.filter(order_lines__gt=0, **days)
        .order_by()
        .annotate(month=TruncMonth("day"))
        .values("month", "category")
        .annotate(total=Sum("margin"))
    )
    names = dict(ProductCategory.objects.values_list("pk", "name"))
    rows: dict[tuple, CostRow] = {}

    def row(month, category) -> CostRow:
        month = _to_date(month)
        key = (month, category)
        if key not in rows:
            rows[key] = CostRow(month, category, names.get(category, str(_("no goods (complaints)"))))
        return rows[key]

    for item in costs:
        row(item["month"], item["category"]).cost += item["total"] or ZERO
    for item in margins:
        row(item["month"], item["category"]).margin += item["total"] or ZERO
    return sorted(rows.values(), key=lambda r: (r.month, r.category))


# --------------------------------------------------------------------------
# KPIs with targets, by local week
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Kpi:
    key: str
    label: object
    target: Decimal | None
    better: str  # "low" or "high"
    unit: str  # "h", "%", "/5", ""


KPIS = [
    Kpi("first_response_hours", _("average first response"), Decimal("6"), "low", "h"),
    Kpi("resolution_rate", _("resolution rate"), Decimal("85"), "high", "%"),
    Kpi("first_contact_resolution", _("first-contact resolution"), Decimal("70"), "high", "%"),
    Kpi("csat", _("CSAT"), Decimal("4.5"), "high", "/5"),
    Kpi("nps", _("NPS"), Decimal("30"), "high", ""),
    Kpi("return_rate", _("return rate"), Decimal("15"), "low", "%"),
    Kpi("complaint_rate", _("complaint rate"), Decimal("2"), "low", "%"),
    Kpi("repurchase_rate", _("repurchase after after-sales"), Decimal("40"), "high", "%"),
    Kpi("follow_up_rate", _("follow-up rate (customer reached)"), Decimal("90"), "high", "%"),
    Kpi("post_follow_up_satisfaction", _("satisfied after the follow-up"), Decimal("80"), "high", "%"),
]


def _pct(part, whole) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _to_date(value) -> date:
    """A truncated week or month as a local date (the database may hand it back in UTC)."""
    if isinstance(value, datetime):
        return timezone.localtime(value, tz()).date() if timezone.is_aware(value) else value.date()
    return value


#: The rollup columns the KPIs add up, per week and over the period.
KPI_COLUMNS = (
    "opened", "finished", "closed", "one_pass", "returns", "complaints", "responded", "response_us",
    "rated", "csat_sum", "nps_n", "promoters", "detractors", "orders",
)  # fmt: skip


def _kpi_data(sums: dict) -> dict:
    """The figures' inputs from summed rollup columns."""
    responded, rated = sums.get("responded", 0), sums.get("rated", 0)
    return {
        "n": sums.get("opened", 0),
        **{key: sums.get(key, 0) for key in ("finished", "closed", "one_pass", "returns", "complaints", "orders")},
        "responded": responded,
        "response": _mean_time(sums["response_us"], responded),
        "rated": {
            "n": rated,
            "csat_avg": Decimal(sums["csat_sum"]) / rated if rated else None,
            **{key: sums.get(key, 0) for key in ("promoters", "detractors", "nps_n")},
        },
    }


def kpis(period: Period) -> dict:
    """Each KPI for the whole period and per local week (weeks start on Monday), from the daily rollups; the
    repurchase rate (customers counted once over the period) from the closed cases' index (which holds whether each
    customer came back, ``Case.came_back``), the follow-up figures from
    the follow-ups created in the period. Five queries."""
    local = tz()
    refresh()
    daily = (
        DailyFigures.objects.filter(day__gte=period.start, day__lte=period.end)
        .order_by()
        .values("day")
        .annotate(**{column: Sum(column) for column in KPI_COLUMNS})
    )
    by_week: dict[date, dict] = defaultdict(lambda: defaultdict(int))
    totals: dict[str, int] = defaultdict(int)
    for row in daily:
        week = by_week[_week_start(row["day"])]
        for column in KPI_COLUMNS:
            week[column] += row[column] or 0
            totals[column] += row[column] or 0
    weekly: dict[date, dict] = defaultdict(dict)
    for week, sums in by_week.items():
        weekly[week] = _kpi_data(sums)

    closed_cases = (
        Case.objects.filter(state=S.CLOSED, closed_at__gte=period.since, closed_at__lt=period.until)
        .order_by()
        .annotate(again=F("came_back"))  # kept by the refresh above (``rollups.fill_came_back``)
    )
    # Per week and for the whole period (a customer with cases closed in two weeks counts once there) in one pass.
    for week, n, back in _distinct_by_week(
        closed_cases.annotate(week=TruncWeek("closed_at", tzinfo=local)).values("week", "customer_id", "again")
    ):
        if week is None:
            whole = {"n": n, "back": back}
        else:
            weekly[week]["repurchase"] = {"n": n, "back": back}
    totals["closed_customers"], totals["came_back"] = whole["n"], whole["back"]

    # Follow-up visits created in the period (by the week they were created) and done: reached, and satisfied once
    # reached.
    follow_ups = (
        FollowUp.objects.filter(created_at__gte=period.since, created_at__lt=period.until)
        .annotate(week=TruncWeek("created_at", tzinfo=local))
        .order_by()
        .values("week")
        .annotate(
            n=Count("id", filter=Q(state=FollowUp.State.DONE)),  # an open visit is not a miss yet
            reached=Count("id", filter=Q(reached=True)),
            satisfied=Count("id", filter=Q(satisfied=True)),
        )
    )
    for row in follow_ups:
        counts = {"n": row["n"], "reached": row["reached"], "satisfied": row["satisfied"]}
        weekly[_week_start(_to_date(row["week"]))]["follow_up"] = counts
        for key, value in counts.items():
            totals[f"follow_up_{key}"] += value

    def figures(data: dict, *, response=None, csat=None) -> dict:
        rated_row = data.get("rated") or {}
        rep = data.get("repurchase") or {}
        visits = data.get("follow_up") or {}
        nps_n = rated_row.get("nps_n", 0)
        return {
            "first_response_hours": _hours(response),
            "resolution_rate": _pct(data.get("finished", 0), data.get("n", 0)),
            "first_contact_resolution": _pct(data.get("one_pass", 0), data.get("closed", 0)),
            "csat": Decimal(str(csat)).quantize(Decimal("0.01")) if csat is not None else None,
            "nps": (
                (
                    (Decimal(rated_row.get("promoters", 0)) - Decimal(rated_row.get("detractors", 0))) * 100 / nps_n
                ).quantize(Decimal("0.1"))
                if nps_n
                else None
            ),
            "return_rate": _pct(data.get("returns", 0), data.get("orders", 0)),
            "complaint_rate": _pct(data.get("complaints", 0), data.get("orders", 0)),
            "repurchase_rate": _pct(rep.get("back", 0), rep.get("n", 0)),
            "follow_up_rate": _pct(visits.get("reached", 0), visits.get("n", 0)),
            "post_follow_up_satisfaction": _pct(visits.get("satisfied", 0), visits.get("reached", 0)),
        }

    weeks = []
    start = _week_start(period.start)
    while start <= period.end:
        data = weekly.get(start, {})
        weeks.append(
            {
                "week": start,
                **figures(data, response=data.get("response"), csat=(data.get("rated") or {}).get("csat_avg")),
            }
        )
        start += timedelta(days=7)
    overall_data = _kpi_data(totals)
    overall_data["repurchase"] = {"n": totals["closed_customers"], "back": totals["came_back"]}
    overall_data["follow_up"] = {key: totals[f"follow_up_{key}"] for key in ("n", "reached", "satisfied")}
    overall = figures(
        overall_data, response=overall_data["response"], csat=overall_data["rated"]["csat_avg"]
    )  # (``response`` may be exactly zero: answered at once)
    return {"overall": overall, "weeks": weeks, "counts": dict(totals)}


def _distinct_by_week(rows: QuerySet) -> list[tuple[date | None, int, int]]:
    """Distinct customers, and those who came ``again``, per week and (week ``None``) over all the rows: one
    statement, the rows computed once."""
    sql, params = rows.query.sql_with_params()
    counts = "COUNT(DISTINCT customer_id), COUNT(DISTINCT CASE WHEN again THEN customer_id END)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH closed AS ({sql}) SELECT week, {counts} FROM closed GROUP BY week "
            f"UNION ALL SELECT NULL, {counts} FROM closed",
            params,
        )
        found = cursor.fetchall()
    return [(None if week is None else _week_date(week), n, back) for week, n, back in found]


def _week_date(value) -> date:
    """A truncated week as the database hands it back in raw SQL (a naive local timestamp, or SQLite's text)."""
    return value.date() if isinstance(value, datetime) else date.fromisoformat(str(value)[:10])


def kpi_status(kpi: Kpi, value) -> str:
    """``ok`` when the value meets its target, ``bad`` when not, ``none`` without a value or target."""
    if value is None or kpi.target is None:
        return "none"
    ok = value <= kpi.target if kpi.better == "low" else value >= kpi.target
    return "ok" if ok else "bad"


# --------------------------------------------------------------------------
# Waiting-time heatmap
# --------------------------------------------------------------------------
#: Nodes where the customer waits on the merchant's side.
WAITING_NODES = (S.PENDING_REVIEW, S.IN_QC, S.COMPENSATION, S.ESCALATED)


#: Sort memory for the heatmap's medians (a busy month's waits; PostgreSQL's default of 4 MB sorts them on disk).
HEATMAP_WORK_MEM = "96MB"


def waiting_heatmap(period: Period, node: str | None = None) -> dict:
    """Median time the customer waited at a node, by local weekday × hour the wait began.

    A wait is the time from entering a node (the previous transition, or the opening) to leaving it (a
    transition out of it), for transitions in the period: each transition's event stores its wait and the
    local weekday and hour it began (``aftersales.services.events.wait_before``), and the daily rollup
    ``DailyWaits`` keeps each day's waits per node and cell, sorted. The median of the period's lists is exact;
    on PostgreSQL the database computes it over the unnested arrays.
    """
    nodes = [node] if node in WAITING_NODES else list(WAITING_NODES)
    refresh()
    days = DailyWaits.objects.filter(day__gte=period.start, day__lte=period.end, from_state__in=nodes)
    grid: dict[tuple[int, int], dict] = {}
    if connection.vendor == "postgresql":
        sql, params = days.values("weekday", "hour", "waits").query.sql_with_params()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = %s", [HEATMAP_WORK_MEM])  # the waits sorted in memory, not on disk
            cursor.execute(
                "SELECT weekday, hour, percentile_cont(0.5) WITHIN GROUP (ORDER BY wait), COUNT(*) "
                f"FROM ({sql}) AS cells, unnest(cells.waits) AS wait GROUP BY weekday, hour",
                params,
            )
            for weekday, hour, median, count in cursor.fetchall():
                grid[(weekday, hour)] = {"median": median, "count": count}
    else:
        by_cell: dict[tuple[int, int], list[float]] = defaultdict(list)
        for weekday, hour, waits in days.values_list("weekday", "hour", "waits"):
            by_cell[(weekday, hour)].extend(waits)
        for key, values in by_cell.items():
            grid[key] = {"median": statistics.median(values), "count": len(values)}
    return {"grid": grid, "nodes": nodes, "max": max((cell["median"] for cell in grid.values()), default=0.0)}


# --------------------------------------------------------------------------
# Defect word cloud
# --------------------------------------------------------------------------
def word_cloud(period: Period, *, category: int | None = None, sku: str = "", top: int = 60) -> list[dict]:
    """The most frequent keywords of customers' reasons in the period: from the daily rollup, or for one product
    category or SKU from the keywords' own indexes (one GROUP BY either way)."""
    if category or sku:
        rows = CaseKeyword.objects.filter(opened_at__gte=period.since, opened_at__lt=period.until)
        if category:
            rows = rows.filter(product_category_id=category)
        if sku:
            rows = rows.filter(sku=sku)
        counted = rows.order_by().values("word").annotate(n=Count("case_id"))
    else:
        refresh()
        counted = (
            DailyWords.objects.filter(day__gte=period.start, day__lte=period.end)
            .order_by()
            .values("word")
            .annotate(n=Sum("cases"))
        )
    return [{"word": row["word"], "count": row["n"]} for row in counted.order_by("-n", "word")[:top]]


# --------------------------------------------------------------------------
# Team performance
# --------------------------------------------------------------------------
def team_performance(period: Period) -> list[dict]:
    """Per agent (assignee of cases opened in the period): workload, times, CSAT, compensation granted. From the
    daily rollups: one query, and one for the names."""
    from django.contrib.auth import get_user_model

    refresh()
    columns = ("cases", "open", "closed", "responded", "response_us", "resolved_us", "rated", "csat_sum", "granted")
    rows = {
        row["user"]: row
        for row in DailyTeam.objects.filter(day__gte=period.start, day__lte=period.end)
        .order_by()
        .values("user")
        .annotate(**{column: Sum(column) for column in columns})
    }
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=rows)}
    out = []
    for pk, row in rows.items():
        user = users.get(pk)
        responded, closed, rated = row["responded"], row["closed"], row["rated"]
        out.append(
            {
                "user": user,
                "name": display_name(user, "—"),
                "cases": row["cases"],
                "open": row["open"],
                "closed": closed,
                "response_hours": _hours(_mean_time(row["response_us"], responded)),
                "resolution_hours": _hours(_mean_time(row["resolved_us"], closed)),
                "csat": (Decimal(row["csat_sum"]) / rated).quantize(Decimal("0.01")) if rated else None,
                "rated": rated,
                "granted": row["granted"] or ZERO,
            }
        )
    return sorted(out, key=lambda r: (-r["cases"], r["name"]))


def _mean_time(total_us: int, n: int) -> timedelta | None:
    """The mean of ``n`` durations summed in microseconds (none of none)."""
    return timedelta(microseconds=total_us / n) if n else None


def _hours(value: timedelta | None) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(value.total_seconds()) / 3600).quantize(Decimal("0.1"))
