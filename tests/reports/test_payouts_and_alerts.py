"""Batch payouts (never twice) and the cost-ratio alert."""

from __future__ import annotations

import pytest
from django.urls import reverse

from aftersales.models import CaseEvent, Compensation, Notification
from reports import jobs


def test_finance_pays_a_batch_under_one_reference(login, users, case_in, order):
    first = case_in("closed")
    second = case_in("closed", lines=[(order.lines.order_by("id")[1].pk, 1)])
    ids = list(Compensation.objects.filter(case__in=[first, second]).values_list("pk", flat=True))
    client = login(users["finance"])
    response = client.post(
        reverse("desk:finance_batch"), {"batch_reference": "BANK-20261125", "compensations": ids}, follow=True
    )
    assert any("BANK-20261125" in str(m) for m in response.context["messages"])
    paid = dict(Compensation.objects.filter(pk__in=ids).values_list("pk", "payout_reference"))
    assert paid == {pk: f"BANK-20261125-{pk}" for pk in ids}
    assert CaseEvent.objects.filter(name="compensation_mark_paid", case__in=[first, second]).count() == 2
    again = client.post(reverse("desk:finance_batch"), {"batch_reference": "BANK-2", "compensations": ids}, follow=True)
    texts = [str(m) for m in again.context["messages"]]
    assert sum("不能重复打款" in t for t in texts) == 2
    assert dict(Compensation.objects.filter(pk__in=ids).values_list("pk", "payout_reference")) == paid


def test_a_batch_needs_a_reference_and_is_for_finance(login, users, case_in):
    case = case_in("closed")
    comp = Compensation.objects.get(case=case)
    response = login(users["finance"]).post(reverse("desk:finance_batch"), {"compensations": [comp.pk]}, follow=True)
    assert any("批次号" in str(m) for m in response.context["messages"])
    assert (
        login(users["agent"])
        .post(reverse("desk:finance_batch"), {"batch_reference": "X", "compensations": [comp.pk]})
        .status_code
        == 403
    )
    comp.refresh_from_db()
    assert comp.state == "approved"


def test_cost_above_a_third_of_the_margin_alerts_the_supervisors_once(november, users, settings):
    import time_machine

    from tests.reports.conftest import local

    users["supervisor"].email = "boss@shop.example.com"
    users["supervisor"].save()
    with time_machine.travel(local(11, 28, 12), tick=False):
        assert jobs.cost_ratio_alerts() == 1  # 数码: ¥1,012 against ¥300; 服饰 stays below a third
        assert jobs.cost_ratio_alerts() == 0
    alert = Notification.objects.get(recipient="boss@shop.example.com", kind="staff_alert")
    assert "数码" in alert.subject and "1012.00" in alert.body and "2026-11" in alert.body


def test_the_cost_page_shows_the_banner(login, users, november):
    import time_machine

    from tests.reports.conftest import local

    with time_machine.travel(local(11, 28, 12), tick=False):
        response = login(users["finance"]).get(
            reverse("reports:costs"), {"date_from": "2026-11-01", "date_to": "2026-11-30"}
        )
    assert [row.category for row in response.context["alerts"]] == ["数码"]
    assert 'data-alert="' in response.content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_dashboard_heatmap_and_word_cloud_in_a_browser(live_server, browser_page, artifacts, november):
    page, base = browser_page, live_server.url
    page.goto(base + reverse("login"))
    page.fill("input[name=username]", "supervisor")
    page.fill("input[name=password]", "pw-for-tests-1")
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    month = "?date_from=2026-11-01&date_to=2026-11-30"
    for name, selector, shot in (
        ("reports:dashboard", "[data-kpi=csat] .echart[data-drawn] svg", "report-dashboard.png"),
        ("reports:heatmap", ".echart[data-chart=heatmap][data-drawn] svg", "report-heatmap.png"),
        ("reports:words", "svg.cloud text[data-word='电池']", "report-words.png"),
    ):
        page.goto(base + reverse(name) + month)
        page.wait_for_selector(selector)
        assert page.locator(selector).count() == 1, name
        page.screenshot(path=str(artifacts / shot), full_page=True)
    page.click("svg.cloud text[data-word='电池']")
    page.wait_for_load_state()
    assert page.locator("table.queue tbody tr[data-case]").count() == 2
    assert (artifacts / "report-words.png").stat().st_size > 0
