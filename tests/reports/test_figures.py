"""Every report's numbers against the hand-built month (tests/reports/conftest.py), not against its own query."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from config.periods import Period
from reports import selectors

NOV = Period(date(2026, 11, 1), date(2026, 11, 30))
D = Decimal


def test_compensation_totals_by_local_day_and_kind(november):
    from django.http import QueryDict

    from aftersales.models import Compensation
    from reports.filters import CompensationReportFilter

    report = CompensationReportFilter(
        QueryDict("date_from=2026-11-01&date_to=2026-11-30"), queryset=Compensation.objects.all()
    )
    totals = selectors.compensation_totals(report.qs, report.basis_field)
    assert [(e["day"], dict(e["by_kind"])) for e in totals.days] == [
        (date(2026, 11, 10), {"refund": D("1000.00")}),  # paid 23:30 local: still the 10th
        (date(2026, 11, 11), {"return_shipping": D("12.00")}),  # paid 00:30 local = 16:30 UTC on the 10th
        (date(2026, 11, 12), {"cash": D("30.00")}),
    ]
    assert totals.total == D("1042.00") and totals.count == 3
    assert [kind for kind, _label in totals.kinds] == ["return_shipping", "cash", "refund"]  # the ladder order


@pytest.mark.parametrize(
    ("query", "total", "count"),
    [
        ("date_from=2026-11-10&date_to=2026-11-10", "1000.00", 1),
        ("date_from=2026-11-11&date_to=2026-11-11", "12.00", 1),
        ("date_from=2026-11-01&date_to=2026-11-30&basis=approved", "1082.00", 4),
        ("date_from=2026-11-01&date_to=2026-11-30&basis=proposed", "1102.00", 5),
        ("date_from=2026-11-01&date_to=2026-11-30&basis=approved&state=approved", "40.00", 1),
        ("date_from=2026-11-01&date_to=2026-11-30&basis=approved&kind=refund", "1040.00", 2),
        ("date_from=2026-11-01&date_to=2026-11-30&basis=approved&product=__apparel__", "70.00", 2),
        ("date_from=2026-11-01&date_to=2026-11-30&basis=proposed&agent=__agent__", "90.00", 3),
    ],
)
def test_compensation_filters(november, users, query, total, count):
    from django.http import QueryDict

    from aftersales.models import Compensation
    from reports.filters import CompensationReportFilter

    query = query.replace("__apparel__", str(november["categories"]["apparel"].pk)).replace(
        "__agent__", str(users["agent"].pk)
    )
    report = CompensationReportFilter(QueryDict(query), queryset=Compensation.objects.all())
    totals = selectors.compensation_totals(report.qs, report.basis_field)
    assert (totals.total, totals.count) == (D(total), count)


def test_cost_funnel_follows_the_ladder(november):
    rows = {
        row["kind"]: {s["key"]: (s["amount"], s["count"]) for s in row["stages"]} for row in selectors.cost_funnel(NOV)
    }
    assert list(rows) == ["return_shipping", "coupon", "cash", "refund"]
    assert rows["return_shipping"] == {
        "proposed": (D("12.00"), 1),
        "approved": (D("12.00"), 1),
        "paid": (D("12.00"), 1),
    }
    assert rows["coupon"] == {"proposed": (D("20.00"), 1), "approved": (D("0"), 0), "paid": (D("0"), 0)}
    assert rows["cash"] == {"proposed": (D("30.00"), 1), "approved": (D("30.00"), 1), "paid": (D("30.00"), 1)}
    assert rows["refund"] == {"proposed": (D("1040.00"), 2), "approved": (D("1040.00"), 2), "paid": (D("1000.00"), 1)}


def test_cost_ratio_by_month_and_category_with_the_one_third_alert(november):
    rows = {row.category: row for row in selectors.cost_ratio(NOV)}
    digital, apparel = rows["数码"], rows["服饰"]
    assert (digital.cost, digital.margin) == (D("1012.00"), D("300.00"))
    assert digital.ratio == D("3.3733") and digital.alert
    assert (apparel.cost, apparel.margin) == (D("70.00"), D("220.00"))
    assert apparel.ratio == D("0.3182") and not apparel.alert
    assert {row.month for row in rows.values()} == {date(2026, 11, 1)}


def test_kpis_for_the_month_and_by_week(november):
    data = selectors.kpis(NOV)
    overall = data["overall"]
    assert overall["first_response_hours"] == D("3.7")  # 1 h, 8 h and the complaint answered in 2 h: 11 / 3
    assert overall["resolution_rate"] == D("66.7")  # 2 of 3 finished
    assert overall["first_contact_resolution"] == D("100.0")
    assert overall["csat"] == D("4.00") and overall["nps"] == D("0.0")  # one promoter, one detractor
    assert overall["return_rate"] == D("66.7")  # 2 return/refund cases on 3 orders
    assert overall["complaint_rate"] == D("33.3")
    assert overall["repurchase_rate"] == D("50.0")  # B bought again after their case; A did not
    weeks = {week["week"]: week for week in data["weeks"]}
    assert weeks[date(2026, 11, 2)]["first_response_hours"] == D("4.5")
    assert weeks[date(2026, 11, 9)]["resolution_rate"] == D("0.0")  # the complaint of Tue 11-10 23:30 local
    assert weeks[date(2026, 11, 16)]["return_rate"] == D("0.0")  # no cases, one order: 0 of 1
    assert weeks[date(2026, 11, 23)]["return_rate"] is None  # no orders at all: no rate
    assert selectors.kpi_status(selectors.KPIS[0], overall["first_response_hours"]) == "ok"
    assert selectors.kpi_status(selectors.KPIS[3], overall["csat"]) == "bad"


def test_waiting_heatmap_uses_local_weekday_and_hour(november):
    data = selectors.waiting_heatmap(NOV, "pending_review")
    grid = {key: (round(cell["median"]), cell["count"]) for key, cell in data["grid"].items()}
    assert grid == {
        (3, 9): (3600, 1),  # C1: Wed 09:00, reviewed in 1 h
        (4, 22): (8 * 3600, 1),  # C2: Thu 22:00, 8 h
        (2, 23): (2 * 3600, 1),  # C3: Tue 23:30 local (15:30 UTC), 2 h
    }


def test_waiting_heatmap_median_over_several_waits(november):
    data = selectors.waiting_heatmap(NOV)
    # all nodes where the customer waits on us: review, QC, offer; C1's QC wait began Wed 15:00 and lasted 18 h
    assert round(data["grid"][(3, 15)]["median"]) == 18 * 3600


def test_word_cloud_counts_cases_per_keyword(november):
    words = {item["word"]: item["count"] for item in selectors.word_cloud(NOV)}
    assert words["电池"] == 2 and words["鼓包"] == 2 and words["起球"] == 1
    digital = {
        item["word"]: item["count"] for item in selectors.word_cloud(NOV, category=november["categories"]["digital"].pk)
    }
    assert digital["电池"] == 1 and "起球" not in digital
    assert selectors.word_cloud(Period(date(2026, 10, 1), date(2026, 10, 31))) == []


def test_team_performance(november, users):
    rows = {row["user"].username: row for row in selectors.team_performance(NOV)}
    agent = rows["agent"]
    assert (agent["cases"], agent["open"], agent["closed"]) == (3, 1, 2)
    assert agent["response_hours"] == D("3.7")  # 1 h, 8 h and the complaint's 2 h
    assert agent["resolution_hours"] == D("42.5")  # 49 h and 36 h
    assert agent["csat"] == D("4.00") and agent["rated"] == 2
    assert agent["granted"] == D("70.00")  # refund 40 + cash 30 (the coupon was refused)
    assert rows["supervisor"]["granted"] == D("1012.00") and rows["supervisor"]["cases"] == 0


def test_the_heatmap_period_starts_at_local_midnight(november):
    # C2's review ended Fri 11-06 06:00 local (= 11-05 22:00 UTC): it belongs to the 6th.
    sixth = selectors.waiting_heatmap(Period(date(2026, 11, 6), date(2026, 11, 6)), "pending_review")
    assert set(sixth["grid"]) == {(4, 22)}
    fifth = selectors.waiting_heatmap(Period(date(2026, 11, 5), date(2026, 11, 5)), "pending_review")
    assert fifth["grid"] == {}


def test_repurchase_counts_each_customer_once_over_the_period(november, users):
    from aftersales import services
    from tests.reports.conftest import local

    c3 = november["cases"][2]
    services.compensation_add(case_id=c3.pk, actor=users["supervisor"], kind="coupon", amount="10", at=local(11, 16, 9))
    services.case_propose(case_id=c3.pk, actor=users["supervisor"], at=local(11, 16, 10))
    services.case_confirm(
        case_id=c3.pk, actor=users["channel"], at=local(11, 17, 10)
    )  # A: a second closed case, another week
    assert selectors.kpis(NOV)["overall"]["repurchase_rate"] == D("50.0")  # A (no new order) and B (ordered again)


def test_the_complaints_row_is_shown_but_never_alerted_and_the_third_is_exact(november):
    row = selectors.CostRow(date(2026, 11, 1), None, "无商品", cost=D("5"), margin=D("0"))
    assert not row.alert
    just_above = selectors.CostRow(date(2026, 11, 1), 1, "x", cost=D("100.01"), margin=D("300.00"))
    exactly = selectors.CostRow(date(2026, 11, 1), 1, "x", cost=D("100.00"), margin=D("300.00"))
    assert just_above.alert and not exactly.alert
    assert just_above.ratio == D("0.3334")
    no_margin_yet = selectors.CostRow(date(2026, 12, 1), 1, "x", cost=D("99.00"), margin=D("0"))
    assert no_margin_yet.ratio is None and not no_margin_yet.alert  # the month's first day: no orders yet
