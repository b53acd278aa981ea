"""Report pages: who may see them, what they cost in queries, and exports that match the screen."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from reports.rollups import refresh
from tests.helpers import queries_of

MONTH = {"date_from": "2026-11-01", "date_to": "2026-11-30"}
FINANCE_PAGES = ["reports:compensation", "reports:costs"]
SUPERVISOR_PAGES = ["reports:dashboard", "reports:heatmap", "reports:words", "reports:team"]


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("finance", set(FINANCE_PAGES)),
        ("supervisor", set(FINANCE_PAGES + SUPERVISOR_PAGES)),
        ("agent", set()),
        ("qc", set()),
    ],
)
def test_who_may_open_which_report(login, users, role, allowed):
    client = login(users[role])
    for name in FINANCE_PAGES + SUPERVISOR_PAGES:
        assert client.get(reverse(name), MONTH).status_code == (200 if name in allowed else 403), (role, name)


def test_finance_reaches_only_finance_pages(login, users):
    client = login(users["finance"])
    for url in [
        reverse("desk:queue"),
        reverse("desk:board"),
        reverse("desk:qc"),
        reverse("desk:approvals"),
        reverse("desk:claimants"),
    ]:
        assert client.get(url).status_code == 403
    nav = client.get(reverse("reports:compensation")).context["desk_nav"]
    assert {item["area"] for item in nav} == {"finance", "money_reports"}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_agent_cannot_export(login, users, fmt):
    assert login(users["agent"]).get(reverse("reports:compensation_export", args=[fmt]), MONTH).status_code == 403


def test_the_page_shows_the_totals_by_day(login, users, november):
    response = login(users["finance"]).get(reverse("reports:compensation"), MONTH)
    assert response.context["totals"].total == Decimal("1042.00")
    html = response.content.decode()
    assert 'data-day="2026-11-10"' in html and 'data-day="2026-11-11"' in html and "¥1,042.00" in html
    option = chart_option(html, "stacked_bars")
    assert option["title"]["text"] == "按日期和类型的补偿金额"
    assert option["yAxis"]["name"] == "金额（元）" and option["yAxis"]["axisLabel"]["formatter"] == "¥{value}"
    assert "echarts.min.js" in html  # the vendored library, from our own static files


def chart_option(html: str, kind: str) -> dict:
    """The ECharts option a page wrote for its chart of ``kind``."""
    import json
    import re
    from html import unescape

    found = re.search(rf'data-chart="{kind}" data-option="([^"]*)"', html)
    assert found, f"no {kind} chart"
    return json.loads(unescape(found.group(1)))


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_csv_export_matches_the_screen(login, users, november):
    client = login(users["finance"])
    response = client.get(reverse("reports:compensation_export", args=["csv"]), MONTH)
    assert response["Content-Disposition"] == 'attachment; filename="compensation_paid_20261101-20261130.csv"'
    rows = _csv(response)
    header, data = rows[0], rows[1:]
    assert header[:3] == ["补偿", "售后单号", "订单号"] and "金额（元）" in header
    amount, paid_at, phone = header.index("金额（元）"), header.index("打款时间"), header.index("手机号")
    assert (
        sum(Decimal(row[amount]) for row in data)
        == client.get(reverse("reports:compensation"), MONTH).context["totals"].total
    )
    by_id = {int(row[0]): row for row in data}
    k1, k2 = november["k"][0], november["k"][1]
    assert (
        by_id[k1.pk][paid_at] == "2026-11-10 23:30:00" and by_id[k2.pk][paid_at] == "2026-11-11 00:30:00"
    )  # local times
    assert {row[phone] for row in data} == {"138****0001", "139****0002"}  # finance may not see phones


def test_xlsx_export_matches_the_screen_with_decimal_amounts(login, users, november):
    from openpyxl import load_workbook

    client = login(users["supervisor"])
    query = {**MONTH, "basis": "approved"}
    response = client.get(reverse("reports:compensation_export", args=["xlsx"]), query)
    assert 'filename="compensation_approved_20261101-20261130.xlsx"' in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header, data = rows[0], rows[1:]
    amount, approved_at, phone = header.index("金额（元）"), header.index("审核通过时间"), header.index("手机号")
    total = sum(Decimal(str(row[amount])) for row in data)
    assert total == client.get(reverse("reports:compensation"), query).context["totals"].total == Decimal("1082.00")
    assert all(isinstance(row[amount], int | float) for row in data)  # numbers, not text
    assert any(row[approved_at] == datetime(2026, 11, 5, 10, 0) for row in data)  # local, without offset
    assert "13800000001" in {row[phone] for row in data}  # supervisors see phones


def test_exports_follow_the_filters(login, users, november):
    rows = _csv(
        login(users["finance"]).get(reverse("reports:compensation_export", args=["csv"]), {**MONTH, "kind": "cash"})
    )
    assert len(rows) == 2 and rows[1][6] == "现金补偿"


@pytest.mark.parametrize("name", FINANCE_PAGES + SUPERVISOR_PAGES)
def test_report_pages_cost_a_fixed_number_of_queries(login, users, november, name):
    from tests.reports.conftest import local

    client = login(users["supervisor"])
    client.get(reverse(name), MONTH)
    few = len(queries_of(client, reverse(name), MONTH))
    # A second, similar month of activity: the same queries, more rows.
    from aftersales import services
    from tests.factories import OrderFactory, OrderLineFactory

    for day in range(14, 19):
        line = OrderLineFactory(order=OrderFactory(placed_at=local(11, day - 2), delivered_at=local(11, day - 1)))
        case = services.case_open(
            actor=users["channel"],
            order_id=line.order_id,
            lines=[(line.pk, 1)],
            request_type="refund_only",
            reason="质量太差，开线",
            at=local(11, day, 10),
        )
        services.case_approve(case_id=case.pk, actor=users["agent"], at=local(11, day, 12))
        comp = services.compensation_add(
            case_id=case.pk, actor=users["agent"], kind="refund", amount="10", at=local(11, day, 13)
        )
        services.case_propose(case_id=case.pk, actor=users["agent"], at=local(11, day, 14))
        services.case_confirm(case_id=case.pk, actor=users["channel"], at=local(11, day, 15))
        services.compensation_mark_paid(
            compensation_id=comp.pk, actor=users["finance"], payout_reference=f"B-{day}", at=local(11, day, 16)
        )
    refresh()  # the rollups' own recount (a background job) is not the page's
    assert len(queries_of(client, reverse(name), MONTH)) == few


def test_word_cloud_links_to_the_cases_behind_a_word(login, users, november):
    client = login(users["supervisor"])
    cloud = client.get(reverse("reports:words"), MONTH).context["cloud"]
    battery = next(item for item in cloud if item["word"] == "电池")
    queue = client.get(battery["url"])
    assert {row["pk"] for row in queue.context["rows"]} == {november["cases"][0].pk, november["cases"][2].pk}


def test_exports_never_hand_a_formula_or_a_control_character_to_a_spreadsheet(login, users, november):
    from openpyxl import load_workbook

    from customers.models import Customer

    Customer.objects.filter(name="顾客乙").update(name='=HYPERLINK("http://evil.example","点我")\x0b')
    client = login(users["finance"])
    rows = _csv(client.get(reverse("reports:compensation_export", args=["csv"]), MONTH))
    names = {row[4] for row in rows[1:]}
    assert all(not name.startswith("=") for name in names) and any(name.startswith("'=") for name in names)
    response = client.get(reverse("reports:compensation_export", args=["xlsx"]), MONTH)
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    cells = [row[4] for row in sheet.iter_rows(min_row=2)]
    assert all(cell.data_type == "s" for cell in cells)
    assert any(cell.value.startswith("'=HYPERLINK") and "\x0b" not in cell.value for cell in cells)


@pytest.mark.parametrize("query", [{"date_to": "0001-01-01"}, {"date_from": "9999-12-31"}, {"date_from": "abc"}])
def test_absurd_dates_are_clamped_not_crashing(login, users, query):
    client = login(users["supervisor"])
    for name in [
        "reports:compensation",
        "reports:dashboard",
        "reports:heatmap",
        "reports:costs",
        "reports:words",
        "reports:team",
    ]:
        assert client.get(reverse(name), query).status_code == 200, name
    assert client.get(reverse("reports:compensation_export", args=["csv"]), query).status_code == 200
    assert (
        client.get(reverse("desk:queue"), {"opened_to": "9999-12-31", "opened_from": "0001-01-01"}).status_code == 200
    )


def test_a_word_filtered_by_category_links_to_exactly_its_cases(login, users, november):
    client = login(users["supervisor"])
    digital = november["categories"]["digital"]
    cloud = client.get(reverse("reports:words"), {**MONTH, "category": digital.pk}).context["cloud"]
    battery = next(item for item in cloud if item["word"] == "电池")
    queue = client.get(battery["url"])
    assert len(queue.context["rows"]) == battery["count"] == 1
