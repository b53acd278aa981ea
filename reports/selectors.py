"""Report figures, computed by the database: each report is a handful of grouped queries on indexed
columns, whatever the number of cases. Days and weeks are local (Asia/Shanghai).

A little over 500 lines: one reader per report (compensation, cost funnel and ratio, KPIs, heatmap, word cloud,
team) sharing the period, category and weekly-grouping helpers at the top; the rollups of the performance work
will split it by report."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import (
    Avg,
    Count,
    DecimalField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncDate, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.models import (
    FINAL_STATES,
    GRANTED_COMPENSATION_STATES,
    Case,
    CaseEvent,
    CaseKeyword,
    CaseState,
    Compensation,
    CompensationState,
    RequestType,
)
from aftersales.permissions import display_name
from config.periods import Period
from customers.models import Order, OrderLine, ProductCategory

CS = CompensationState
S = CaseState
ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=16, decimal_places=2)
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
    """For each kind, in ladder order: amount and count proposed, approved and paid (proposed in the period)."""
    grouped = (
        Compensation.objects.filter(proposed_at__gte=period.since, proposed_at__lt=period.until)
        .order_by()
        .values("kind", "state")
        .annotate(total=Sum("amount"), n=Count("id"))
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
    by local month and product category (two queries)."""
    costs = (
        Compensation.objects.filter(state__in=GRANTED, approved_at__gte=period.since, approved_at__lt=period.until)
        .order_by()
        .annotate(month=TruncMonth("approved_at", tzinfo=tz()), category=F("case__main_category_id"))
        .values("month", "category")
        .annotate(total=Sum("amount"))
    )
    margins = (
        OrderLine.objects.filter(order__placed_at__gte=period.since, order__placed_at__lt=period.until)
        .order_by()
        .annotate(month=TruncMonth("order__placed_at", tzinfo=tz()))
        .values("month", "category")
        .annotate(total=Sum((F("unit_price") - F("unit_cost")) * F("quantity"), output_field=MONEY))
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


def kpis(period: Period) -> dict:
    """Each KPI for the whole period and per local week (weeks start on Monday). Seven grouped queries."""
    local = tz()
    opened = Case.objects.filter(opened_at__gte=period.since, opened_at__lt=period.until).order_by()
    weekly: dict[date, dict] = defaultdict(dict)
    overall: dict[str, Decimal | None] = {}

    response = ExpressionWrapper(F("first_response_at") - F("opened_at"), output_field=DurationField())
    by_week = (
        opened.annotate(week=TruncWeek("opened_at", tzinfo=local))
        .values("week")
        .annotate(
            n=Count("id"),
            finished=Count("id", filter=Q(state__in=FINAL_STATES)),
            closed=Count("id", filter=Q(state=S.CLOSED)),
            one_pass=Count(
                "id",
                filter=Q(state=S.CLOSED, escalated_at__isnull=True)
                & ~Q(Exists(CaseEvent.objects.filter(case_id=OuterRef("pk"), name="decline"))),
            ),
            returns=Count("id", filter=Q(request_type__in=(RequestType.RETURN_REFUND, RequestType.REFUND_ONLY))),
            complaints=Count("id", filter=Q(request_type=RequestType.COMPLAINT)),
            responded=Count("id", filter=Q(first_response_at__isnull=False)),
            response=Avg(response, filter=Q(first_response_at__isnull=False)),
        )
    )
    totals = defaultdict(lambda: 0)
    response_sum = timedelta(0)
    for row in by_week:
        week = _to_date(row["week"])
        weekly[week].update(row)
        for key in ("n", "finished", "closed", "one_pass", "returns", "complaints", "responded"):
            totals[key] += row[key]
        if row["response"] is not None:
            response_sum += row["response"] * row["responded"]

    rated = (
        Case.objects.filter(rated_at__gte=period.since, rated_at__lt=period.until)
        .filter(Q(csat__isnull=False) | Q(nps__isnull=False))
        .order_by()
        .annotate(week=TruncWeek("rated_at", tzinfo=local))
        .values("week")
        .annotate(
            n=Count("csat"),
            csat_avg=Avg("csat"),
            promoters=Count("id", filter=Q(nps__gte=9)),
            detractors=Count("id", filter=Q(nps__lte=6)),
            nps_n=Count("id", filter=Q(nps__isnull=False)),
        )
    )
    csat_sum = Decimal(0)
    for row in rated:
        week = _to_date(row["week"])
        weekly[week]["rated"] = row
        totals["rated"] += row["n"]
        totals["promoters"] += row["promoters"]
        totals["detractors"] += row["detractors"]
        totals["nps_n"] += row["nps_n"]
        if row["csat_avg"] is not None:
            csat_sum += Decimal(str(row["csat_avg"])) * row["n"]

    orders = (
        Order.objects.filter(placed_at__gte=period.since, placed_at__lt=period.until)
        .order_by()
        .annotate(week=TruncWeek("placed_at", tzinfo=local))
        .values("week")
        .annotate(n=Count("id"))
    )
    for row in orders:
        weekly[_to_date(row["week"])]["orders"] = row["n"]
        totals["orders"] += row["n"]

    closed_cases = (
        Case.objects.filter(state=S.CLOSED, closed_at__gte=period.since, closed_at__lt=period.until)
        .order_by()
        .annotate(
            again=Exists(Order.objects.filter(customer_id=OuterRef("customer_id"), placed_at__gt=OuterRef("closed_at")))
        )
    )
    repurchase = (
        closed_cases.annotate(week=TruncWeek("closed_at", tzinfo=local))
        .values("week")
        .annotate(n=Count("customer_id", distinct=True), back=Count("customer_id", distinct=True, filter=Q(again=True)))
    )
    for row in repurchase:
        weekly[_to_date(row["week"])]["repurchase"] = row
    # The whole period in one query: a customer with cases closed in two weeks counts once.
    whole = closed_cases.aggregate(
        n=Count("customer_id", distinct=True), back=Count("customer_id", distinct=True, filter=Q(again=True))
    )
    totals["closed_customers"], totals["came_back"] = whole["n"], whole["back"]

    def figures(data: dict, *, response=None, csat=None) -> dict:
        rated_row = data.get("rated") or {}
        rep = data.get("repurchase") or {}
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
    overall_data = {
        **totals,
        "rated": {"promoters": totals["promoters"], "detractors": totals["detractors"], "nps_n": totals["nps_n"]},
        "repurchase": {"n": totals["closed_customers"], "back": totals["came_back"]},
    }
    overall = figures(
        overall_data,
        response=(response_sum / totals["responded"]) if totals["responded"] else None,
        # (``response`` may be exactly zero: answered at once)
        csat=(csat_sum / totals["rated"]) if totals["rated"] else None,
    )
    return {"overall": overall, "weeks": weeks, "counts": dict(totals)}


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


def waiting_heatmap(period: Period, node: str | None = None) -> dict:
    """Median time the customer waited at a node, by local weekday × hour the wait began.

    A wait is the time from entering a node (the previous transition, or the opening) to leaving it
    (a transition out of it), for transitions in the period. One query (a window function); on
    PostgreSQL the medians are computed by the database (``percentile_cont``).
    """
    nodes = [node] if node in WAITING_NODES else list(WAITING_NODES)
    offset = timezone.localtime(period.since).utcoffset() or timedelta(0)
    adapt = connection.ops.adapt_datetimefield_value  # SQLite compares datetimes as UTC text
    since, until = adapt(period.since), adapt(period.until)
    params = [since, until, until, since, until, *nodes]
    placeholders = ", ".join(["%s"] * len(nodes))
    events = CaseEvent._meta.db_table
    # Only the cases with a transition in the period, but all their earlier events: a wait that began
    # long before the period still has its start.
    base = f"""
        WITH touched AS (
            SELECT DISTINCT case_id FROM {events}
            WHERE kind = 'transition' AND created_at >= %s AND created_at < %s
        ),
        moves AS (
            SELECT e.created_at AS left_at, e.from_state, e.kind,
                   LAG(e.created_at) OVER (PARTITION BY e.case_id ORDER BY e.created_at, e.id) AS entered_at
            FROM {events} e JOIN touched t ON t.case_id = e.case_id
            WHERE e.kind IN ('opened', 'transition') AND e.created_at < %s
        )
        SELECT {{dow}} AS dow, {{hour}} AS hour, {{wait}} AS wait
        FROM moves
        WHERE kind = 'transition' AND entered_at IS NOT NULL AND left_at >= %s AND left_at < %s
          AND from_state IN ({placeholders})
    """
    grid: dict[tuple[int, int], dict] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = base.format(
                dow="EXTRACT(ISODOW FROM entered_at AT TIME ZONE %s)",
                hour="EXTRACT(HOUR FROM entered_at AT TIME ZONE %s)",
                wait="EXTRACT(EPOCH FROM left_at - entered_at)",
            )
            zone = settings.TIME_ZONE
            cursor.execute(
                f"SELECT dow, hour, percentile_cont(0.5) WITHIN GROUP (ORDER BY wait), COUNT(*) FROM ({sql}) w GROUP BY dow, hour",
                [*params[:3], zone, zone, *params[3:]],
            )
            for dow, hour, median, count in cursor.fetchall():
                grid[(int(dow), int(hour))] = {"median": float(median), "count": count}
        else:
            hours = offset.total_seconds() / 3600
            shift = f"'{hours:+.0f} hours'"
            sql = base.format(
                dow=f"((CAST(strftime('%%w', entered_at, {shift}) AS INTEGER) + 6) %% 7) + 1",
                hour=f"CAST(strftime('%%H', entered_at, {shift}) AS INTEGER)",
                wait="(julianday(left_at) - julianday(entered_at)) * 86400.0",
            )
            cursor.execute(sql, params)
            waits: dict[tuple[int, int], list[float]] = defaultdict(list)
            for dow, hour, wait in cursor.fetchall():
                waits[(int(dow), int(hour))].append(float(wait))
            for key, values in waits.items():
                grid[key] = {"median": statistics.median(values), "count": len(values)}
    return {"grid": grid, "nodes": nodes, "max": max((cell["median"] for cell in grid.values()), default=0.0)}


# --------------------------------------------------------------------------
# Defect word cloud
# --------------------------------------------------------------------------
def word_cloud(period: Period, *, category: int | None = None, sku: str = "", top: int = 60) -> list[dict]:
    """The most frequent keywords of customers' reasons in the period (one indexed GROUP BY)."""
    rows = CaseKeyword.objects.filter(opened_at__gte=period.since, opened_at__lt=period.until)
    if category:
        rows = rows.filter(product_category_id=category)
    if sku:
        rows = rows.filter(sku=sku)
    counted = rows.order_by().values("word").annotate(n=Count("case_id")).order_by("-n", "word")[:top]
    return [{"word": row["word"], "count": row["n"]} for row in counted]


# --------------------------------------------------------------------------
# Team performance
# --------------------------------------------------------------------------
def team_performance(period: Period) -> list[dict]:
    """Per agent (assignee of cases opened in the period): workload, times, CSAT, compensation granted. Three queries."""
    from django.contrib.auth import get_user_model

    resolution = ExpressionWrapper(F("closed_at") - F("opened_at"), output_field=DurationField())
    response = ExpressionWrapper(F("first_response_at") - F("opened_at"), output_field=DurationField())
    cases = (
        Case.objects.filter(opened_at__gte=period.since, opened_at__lt=period.until, assignee__isnull=False)
        .order_by()
        .values("assignee")
        .annotate(
            n=Count("id"),
            open=Count("id", filter=~Q(state__in=FINAL_STATES)),
            closed=Count("id", filter=Q(state=S.CLOSED)),
            response=Avg(response, filter=Q(first_response_at__isnull=False)),
            resolution=Avg(resolution, filter=Q(state=S.CLOSED)),
            csat_avg=Avg("csat"),
            rated=Count("csat"),
        )
    )
    granted = dict(
        Compensation.objects.filter(state__in=GRANTED, approved_at__gte=period.since, approved_at__lt=period.until)
        .order_by()
        .values_list("proposed_by")
        .annotate(total=Sum("amount"))
    )
    rows = {row["assignee"]: row for row in cases}
    ids = set(rows) | {pk for pk in granted if pk is not None}
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=ids)}
    out = []
    for pk in ids:
        row = rows.get(pk, {})
        user = users.get(pk)
        out.append(
            {
                "user": user,
                "name": display_name(user, "—"),
                "cases": row.get("n", 0),
                "open": row.get("open", 0),
                "closed": row.get("closed", 0),
                "response_hours": _hours(row.get("response")),
                "resolution_hours": _hours(row.get("resolution")),
                "csat": Decimal(str(row["csat_avg"])).quantize(Decimal("0.01"))
                if row.get("csat_avg") is not None
                else None,
                "rated": row.get("rated", 0),
                "granted": granted.get(pk) or ZERO,
            }
        )
    return sorted(out, key=lambda r: (-r["cases"], r["name"]))


def _hours(value: timedelta | None) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(value.total_seconds()) / 3600).quantize(Decimal("0.1"))
