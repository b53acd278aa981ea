"""The customer's progress page: a signed link per case, no login, what the customer may know and do — and nothing
of the staff's — rate-limited, expiring with the case."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from aftersales import services
from aftersales.models import ApiKey, Case, CaseEvent, CaseState, Notification, Shipment
from aftersales.permissions import PORTAL_USERNAME
from aftersales.workflow.links import progress_token, progress_url

S = CaseState


@pytest.fixture(autouse=True)
def _fresh_rate_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def warehouse(policy):
    policy.return_recipient, policy.return_phone = "售后仓 王建国", "021-59886000"
    policy.return_address = "上海市嘉定区博学路1288号"
    policy.save()
    return policy


def link(case) -> str:
    return reverse("customer:progress", args=[progress_token(case)])


def test_the_link_comes_in_the_customers_message_and_the_channels_event(case_in, users):
    key = ApiKey(name="App", channel="app", user=users["channel"], webhook_url="https://app.example.com/hooks")
    key.issue()
    key.save()
    case = case_in(S.AWAITING_RETURN)
    email = Notification.objects.filter(case=case, kind=Notification.Kind.CUSTOMER_PROGRESS).latest("id")
    assert progress_url(case) in email.body and progress_url(case).endswith(link(case))
    event = Notification.objects.filter(case=case, kind=Notification.Kind.CHANNEL_EVENT).latest("id")
    assert event.payload["progress_url"] == progress_url(case)


def test_the_page_shows_the_state_and_the_public_steps_but_no_staff_names_or_notes(client, case_in, users):
    users["agent"].first_name, users["agent"].last_name = "晓明", "李"
    users["agent"].save()
    case = case_in(S.AWAITING_CONFIRMATION)
    services.case_add_note(case_id=case.pk, actor=users["agent"], text="内部：顾客是老客户，可多补偿")
    services.case_add_note(case_id=case.pk, actor=users["agent"], text="您好，方案已发送", to_customer=True)
    page = client.get(link(case)).content.decode()
    assert 'data-state="awaiting_confirmation"' in page and "待客户确认" in page and "等待您处理" in page
    assert "¥99.00" in page and 'id="accept"' in page and "您好，方案已发送" in page
    assert "内部：顾客是老客户" not in page and "李晓明" not in page and "agent" not in page


def test_the_customer_accepts_the_offer_then_rates_the_case(client, case_in):
    case = case_in(S.AWAITING_CONFIRMATION)
    response = client.post(link(case), {"action": "accept"})
    assert response.status_code == 302 and response["Location"] == link(case)
    case.refresh_from_db()
    assert case.state == S.CLOSED
    assert CaseEvent.objects.filter(case=case, name="confirm").get().actor.username == PORTAL_USERNAME
    page = client.get(link(case)).content.decode()
    assert ('id="rating"' in page and "感谢您接受方案" in page) or "接受" in page
    assert client.post(link(case), {"action": "rate", "csat": "5", "nps": "9", "comment": "很快"}).status_code == 302
    case.refresh_from_db()
    assert (case.csat, case.nps) == (5, 9)
    assert 'id="rating"' not in client.get(link(case)).content.decode()


def test_an_offer_changed_since_the_page_was_read_is_not_accepted_unseen(client, case_in, users):
    case = case_in(S.AWAITING_CONFIRMATION)
    read = case.version
    services.case_add_note(case_id=case.pk, actor=users["agent"], text="方案有调整")  # someone changed the case
    response = client.post(link(case), {"action": "accept", "expected_version": read}, follow=True)
    assert Case.objects.get(pk=case.pk).state == S.AWAITING_CONFIRMATION
    assert case.number in response.content.decode() and 'class="error"' in response.content.decode()


def test_declining_says_what_the_customer_asks_for(client, case_in):
    case = case_in(S.AWAITING_CONFIRMATION)
    response = client.post(link(case), {"action": "decline", "reason": "金额太少", "counter_amount": "150.00"})
    assert response.status_code == 302
    case.refresh_from_db()
    event = CaseEvent.objects.filter(case=case, name="decline").get()
    assert case.state == S.COMPENSATION and event.data["counter_amount"] == "150.00"
    assert "150.00" in event.note and "金额太少" in event.note


@pytest.mark.parametrize(
    ("data", "field_error"),
    [({"reason": ""}, "reason"), ({"reason": "少", "counter_amount": "abc"}, "counter_amount")],
)
def test_a_decline_without_its_reason_or_with_a_bad_amount_is_shown_again_and_nothing_changes(
    client, case_in, data, field_error
):
    case = case_in(S.AWAITING_CONFIRMATION)
    response = client.post(link(case), {"action": "decline", **data})
    assert response.status_code == 400 and 'class="error"' in response.content.decode()
    assert Case.objects.get(pk=case.pk).state == S.AWAITING_CONFIRMATION


def test_the_customer_gives_the_tracking_number_where_the_address_is_shown(client, case_in, warehouse):
    case = case_in(S.AWAITING_RETURN)
    page = client.get(link(case)).content.decode()
    assert "上海市嘉定区博学路1288号" in page and 'id="shipment-form"' in page
    bad = client.post(link(case), {"action": "ship", "carrier": "YTO", "tracking_number": "12345"})
    assert bad.status_code == 400 and "YT1234567890123" in bad.content.decode()
    assert not Shipment.objects.exists()
    good = client.post(link(case), {"action": "ship", "carrier": "YTO", "tracking_number": "YT1234567890123"})
    assert good.status_code == 302
    case.refresh_from_db()
    assert case.state == S.RETURN_SHIPPED
    page = client.get(link(case)).content.decode()
    assert 'id="parcel"' in page and "YT1234567890123" in page


def test_an_action_the_case_does_not_allow_now_is_refused_with_a_message(client, case_in):
    case = case_in(S.PENDING_REVIEW)
    response = client.post(link(case), {"action": "accept"}, follow=True)
    assert Case.objects.get(pk=case.pk).state == S.PENDING_REVIEW
    assert "待审核" in response.content.decode()  # the reason names the state
    assert client.post(link(case), {"action": "delete"}).status_code == 403


def test_a_tampered_or_foreign_link_is_not_found(client, case_in):
    case = case_in(S.PENDING_REVIEW)
    token = progress_token(case)
    assert client.get(reverse("customer:progress", args=[token[:-2] + "xx"])).status_code == 404
    Case.objects.filter(pk=case.pk).update(number="AS20990101-000001")  # the link names the number too
    assert client.get(reverse("customer:progress", args=[token])).status_code == 404


def test_the_link_expires_thirty_days_after_the_case_finished(client, case_in, settings):
    case = case_in(S.CLOSED)
    assert client.get(link(case)).status_code == 200
    Case.objects.filter(pk=case.pk).update(closed_at=timezone.now() - timedelta(days=settings.PROGRESS_LINK_DAYS + 1))
    response = client.get(link(case))
    assert response.status_code == 410 and "已过期" in response.content.decode()


def test_each_address_is_rate_limited(client, case_in, settings):
    settings.PROGRESS_PAGE_RATE = "3/min"
    case = case_in(S.PENDING_REVIEW)
    assert [client.get(link(case)).status_code for _ in range(3)] == [200, 200, 200]
    response = client.get(link(case), HTTP_X_FORWARDED_FOR="203.0.113.7")  # naming another address does not help
    assert response.status_code == 429 and "请求过于频繁" in response.content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_on_a_phone_the_customer_sends_the_parcel_and_accepts_the_offer(
    live_server, chromium, artifacts, users, policy, order
):
    policy.return_address, policy.return_recipient = "上海市嘉定区博学路1288号", "售后仓"
    policy.save()
    case = services.case_open(
        actor=users["channel"],
        order_id=order.pk,
        lines=[(order.lines.get(sku="TS-001").pk, 1)],
        request_type="return_refund",
        reason="衣服起球",
    )
    case = services.case_approve(case_id=case.pk, actor=users["agent"])
    context = chromium.new_context(
        viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(live_server.url + link(case))
        assert page.locator("#status .state").inner_text() == "待寄回"
        assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing wider than the phone
        page.screenshot(path=str(artifacts / "progress-awaiting-return.png"), full_page=True)
        page.select_option("#shipment-form select[name=carrier]", "SF")
        page.fill("#shipment-form input[name=tracking_number]", "SF1234567890123")
        page.click("#shipment-form button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("#status .state").inner_text() == "退货在途"
        assert "SF1234567890123" in page.locator("#parcel").inner_text()

        # QC receives and inspects; the agent sends an offer; the customer accepts it on the same link.
        services.case_receive(case_id=case.pk, actor=users["qc"], carrier="SF", tracking_number="SF1234567890123")
        services.case_inspect(
            case_id=case.pk, actor=users["qc"], grade="C", responsible_party="merchant", disposition="refurbish"
        )
        services.compensation_add(case_id=case.pk, actor=users["agent"], kind="refund", amount="99.00")
        services.case_propose(case_id=case.pk, actor=users["agent"])
        page.reload()
        assert "¥99.00" in page.locator("#offer").inner_text()
        page.screenshot(path=str(artifacts / "progress-offer.png"), full_page=True)
        page.click("#accept")
        page.wait_for_load_state()
        assert page.locator("#status .state").inner_text() == "已完成"
        page.locator("#rating label", has_text="5").first.click()
        page.click("#rating button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("#rated").count() == 1
        page.screenshot(path=str(artifacts / "progress-closed.png"), full_page=True)
    finally:
        context.close()
    case.refresh_from_db()
    assert case.state == S.CLOSED and case.csat == 5


def test_the_agent_finds_the_customers_link_on_the_case_page(login, agent, qc, case_in):
    case = case_in(S.PENDING_REVIEW)
    assert progress_url(case) in login(agent).get(reverse("desk:case", args=[case.pk])).content.decode()
    assert 'id="progress-link"' not in login(qc).get(reverse("desk:qc")).content.decode()


def test_a_production_start_warns_when_progress_links_would_point_at_localhost(settings):
    from django.core.checks import run_checks

    settings.DEBUG = False
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    assert "aftersales.W001" in {message.id for message in run_checks()}
    settings.PUBLIC_BASE_URL = "https://aftersales.example.com"
    assert "aftersales.W001" not in {message.id for message in run_checks()}
