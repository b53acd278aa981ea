"""Customers hear from us the way they prefer: a WeChat mini-program subscription message or an SMS (Alibaba
Cloud or Tencent Cloud) through the outbox, with the step's approved template, never an SMS at night, retried
like email and kept when given up; else by email. Delivered to local stand-ins of the clouds that check each
request's signature or token the way the cloud does (``tests/cloud_receivers.py``)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales import services
from aftersales.models import MessageTemplate, Notification
from aftersales.notifications import delivery
from aftersales.notifications.delivery import deliver_due, quiet_until, retry_now
from tests.cloud_receivers import (
    ALIYUN_ID,
    ALIYUN_SECRET,
    SDK_APP_ID,
    TENCENT_ID,
    TENCENT_KEY,
    WX_APP_ID,
    WX_SECRET,
)

SH = ZoneInfo("Asia/Shanghai")
N = Notification.State
pytestmark = pytest.mark.django_db


def today_at(hour: int, minute: int = 0) -> datetime:
    return timezone.localtime().replace(hour=hour, minute=minute, second=0, microsecond=0)


@pytest.fixture
def daytime(time_machine):
    time_machine.move_to(today_at(10), tick=False)


@pytest.fixture
def approve_sms(db):
    return MessageTemplate.objects.create(
        event="approve",
        channel="sms",
        template_code="SMS_465300123",
        variables={"number": "number", "deadline": "deadline"},
    )


@pytest.fixture
def approve_wechat(db):
    return MessageTemplate.objects.create(
        event="approve",
        channel="miniprogram",
        template_code="tmpl-approve-0001",
        variables={"character_string1": "number", "phrase2": "state", "thing3": "reason"},
        page="pages/aftersales/detail",
    )


@pytest.fixture
def aliyun_settings(settings, aliyun):
    settings.SMS_PROVIDER = "aliyun"
    settings.SMS_ACCESS_KEY_ID, settings.SMS_ACCESS_KEY_SECRET = ALIYUN_ID, ALIYUN_SECRET
    settings.SMS_SIGN_NAME = "售后服务"
    settings.SMS_ENDPOINT = f"{aliyun.base}/"
    return settings


@pytest.fixture
def tencent_settings(settings, tencent):
    settings.SMS_PROVIDER = "tencent"
    settings.SMS_ACCESS_KEY_ID, settings.SMS_ACCESS_KEY_SECRET = TENCENT_ID, TENCENT_KEY
    settings.SMS_SDK_APP_ID = SDK_APP_ID
    settings.SMS_SIGN_NAME = "售后服务"
    settings.SMS_ENDPOINT = f"{tencent.base}/"
    return settings


@pytest.fixture
def wechat_settings(settings, wechat):
    settings.MINIPROGRAM_APP_ID, settings.MINIPROGRAM_APP_SECRET = WX_APP_ID, WX_SECRET
    settings.MINIPROGRAM_API_BASE = wechat.base
    delivery._MINI_PROGRAMS.clear()
    return settings


def _approve(case_in, users):
    from aftersales.models import CaseState

    case = case_in(CaseState.PENDING_REVIEW)
    services.case_approve(case_id=case.pk, actor=users["agent"])
    return case


def _customer_message(case) -> Notification:
    return Notification.objects.filter(case=case, kind=Notification.Kind.CUSTOMER_PROGRESS).latest("id")


def test_an_sms_through_aliyun_is_signed_and_delivered(daytime, aliyun_settings, aliyun, approve_sms, case_in, users):
    case = _approve(case_in, users)
    row = _customer_message(case)
    assert (row.channel, row.recipient) == ("sms", case.customer.phone)
    assert row.payload["template"] == "SMS_465300123"
    assert row.payload["variables"]["number"] == case.number

    assert deliver_due()["sent"] >= 1

    row.refresh_from_db()
    assert row.state == N.SENT
    [sent] = aliyun.accepted  # the stand-in accepted only what its own signature check passed
    assert sent["PhoneNumbers"] == case.customer.phone and sent["TemplateCode"] == "SMS_465300123"
    assert json.loads(sent["TemplateParam"])["number"] == case.number


def test_an_sms_through_tencent_is_signed_and_delivered(
    daytime, tencent_settings, tencent, approve_sms, case_in, users
):
    case = _approve(case_in, users)
    deliver_due()
    assert _customer_message(case).state == N.SENT
    [accepted] = tencent.accepted
    sent = accepted["body"]
    assert accepted["headers"]["x-tc-action"] == "SendSms"
    assert sent["PhoneNumberSet"] == [f"+86{case.customer.phone}"] and sent["TemplateId"] == "SMS_465300123"
    assert sent["TemplateParamSet"][0] == case.number


def test_a_refused_signature_is_retried_with_the_providers_reason(
    daytime, aliyun_settings, aliyun, approve_sms, case_in, users
):
    aliyun_settings.SMS_ACCESS_KEY_SECRET = "a-wrong-secret"
    case = _approve(case_in, users)
    assert deliver_due()["retry"] == 1
    row = _customer_message(case)
    assert (row.state, row.attempts) == (N.PENDING, 1)
    assert "SignatureDoesNotMatch" in row.last_error and "a-wrong-secret" not in row.last_error
    assert not aliyun.accepted


def test_a_mini_program_message_goes_first_when_the_customer_has_an_openid(
    daytime, wechat_settings, wechat, aliyun_settings, approve_sms, approve_wechat, case_in, users
):
    case = case_in("pending_review")
    case.customer.miniprogram_openid = "o-customer-0001"
    case.customer.save()
    services.case_approve(case_id=case.pk, actor=users["agent"])
    row = _customer_message(case)
    assert (row.channel, row.recipient) == ("miniprogram", "o-customer-0001")

    deliver_due()

    row.refresh_from_db()
    assert row.state == N.SENT
    [message] = wechat.delivered
    assert message["touser"] == "o-customer-0001" and message["template_id"] == "tmpl-approve-0001"
    assert message["page"] == "pages/aftersales/detail"
    assert message["data"]["character_string1"] == {"value": case.number}
    assert len(message["data"]["phrase2"]["value"]) <= 5  # WeChat's limit for a phrase field


def test_a_customer_without_a_subscription_is_given_up_at_once_kept_and_reached_another_way(
    daytime,
    wechat_settings,
    wechat,
    aliyun_settings,
    aliyun,
    approve_wechat,
    approve_sms,
    case_in,
    users,
    supervisor,
    login,
):
    wechat.refused.add("o-unsubscribed")
    case = case_in("pending_review")
    case.customer.miniprogram_openid = "o-unsubscribed"
    case.customer.save()
    services.case_approve(case_id=case.pk, actor=users["agent"])

    assert deliver_due()["failed"] == 1

    row = Notification.objects.get(case=case, channel="miniprogram", payload__action="approve")
    assert (row.state, row.attempts) == (N.FAILED, 1) and "43101" in row.last_error
    sms = _customer_message(case)  # the next way the customer has: an SMS with the step's SMS template
    assert (sms.channel, sms.recipient, sms.state) == ("sms", case.customer.phone, N.PENDING)
    assert sms.payload["variables"]["number"] == case.number and sms.body == row.body
    deliver_due()
    assert len(aliyun.accepted) == 1
    supervisor.is_staff = True
    supervisor.save()
    page = login(supervisor).get(reverse("admin:aftersales_notification_changelist") + "?state__exact=failed")
    assert "o-unsubscribed" in page.content.decode()
    assert retry_now(Notification.objects.filter(pk=row.pk)) == 1  # the dead letter can be sent again


def test_no_sms_at_night_it_waits_for_the_morning(aliyun_settings, aliyun, approve_sms, case_in, users, time_machine):
    night = today_at(22, 30)
    time_machine.move_to(night, tick=False)
    case = _approve(case_in, users)
    row = _customer_message(case)
    morning = (night + timedelta(days=1)).replace(hour=8, minute=0)
    assert row.next_attempt_at == morning

    time_machine.move_to(night + timedelta(minutes=5), tick=False)
    deliver_due()
    assert not aliyun.accepted and _customer_message(case).state == N.PENDING

    time_machine.move_to(morning + timedelta(minutes=1), tick=False)
    deliver_due()
    assert len(aliyun.accepted) == 1 and _customer_message(case).state == N.SENT


def test_a_retry_falling_in_the_quiet_hours_is_held_without_counting_an_attempt(
    aliyun_settings, aliyun, approve_sms, case_in, users, time_machine
):
    time_machine.move_to(today_at(20, 59), tick=False)
    case = _approve(case_in, users)
    row = _customer_message(case)
    Notification.objects.filter(pk=row.pk).update(attempts=3, next_attempt_at=today_at(23, 0))
    time_machine.move_to(today_at(23, 1), tick=False)
    assert deliver_due()["retry"] == 1
    row.refresh_from_db()
    assert (row.state, row.attempts) == (N.PENDING, 3)
    assert row.next_attempt_at == (today_at(23, 0) + timedelta(days=1)).replace(hour=8)
    assert not aliyun.accepted


@pytest.mark.parametrize(
    ("at", "quiet"),
    [((20, 59), None), ((21, 0), (1, 8)), ((23, 59), (1, 8)), ((0, 30), (0, 8)), ((7, 59), (0, 8)), ((8, 0), None)],
)
def test_the_quiet_hours_over_midnight(settings, at, quiet):
    settings.SMS_QUIET_HOURS = "21:00-08:00"
    moment = datetime(2026, 12, 2, *at, tzinfo=SH)
    expected = None if quiet is None else datetime(2026, 12, 2 + quiet[0], quiet[1], 0, tzinfo=SH)
    assert quiet_until(moment) == expected


@pytest.mark.parametrize("preference", ["email", "none"])
def test_the_customers_preference_wins(daytime, aliyun_settings, approve_sms, case_in, users, preference):
    case = case_in("pending_review")
    case.customer.notify_by = preference
    case.customer.save()
    services.case_approve(case_id=case.pk, actor=users["agent"])
    rows = Notification.objects.filter(case=case, kind=Notification.Kind.CUSTOMER_PROGRESS, payload__action="approve")
    if preference == "none":
        assert not rows.exists()
    else:
        assert list(rows.values_list("channel", "recipient")) == [("email", case.customer.email)]


def test_a_step_without_a_template_goes_by_email(daytime, aliyun_settings, approve_sms, case_in, users):
    case = case_in("pending_review")
    services.case_reject(case_id=case.pk, actor=users["agent"], reason="超出退货期")  # only approve has an SMS
    row = _customer_message(case)
    assert (row.channel, row.recipient) == ("email", case.customer.email)


def test_the_channel_sets_the_preference_and_openid_through_the_orders_api(users, policy):
    from rest_framework.test import APIClient

    from aftersales.models import ApiKey
    from customers.models import Customer

    key = ApiKey(name="小程序", channel="miniprogram", user=users["channel"])
    raw = key.issue()
    key.save()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    order = {
        "version": 1,
        "customer": {
            "id": "u1",
            "name": "李女士",
            "phone": "13900001111",
            "notify_by": "sms",
            "miniprogram_openid": "o-li-0001",
        },
        "placed_at": "2026-11-25T10:00:00+08:00",
        "delivered_at": "2026-11-27T10:00:00+08:00",
        "payment_method": "wechat_pay",
        "lines": [
            {
                "sku": "A1",
                "name": "T恤",
                "category": "apparel",
                "unit_price": "99.00",
                "unit_cost": "40.00",
                "quantity": 1,
            }
        ],
    }
    from tests.factories import ProductCategoryFactory

    ProductCategoryFactory(code="apparel", name="服饰")
    response = api.put("/api/v1/orders/MP0001/", order, format="json")
    assert response.status_code in (200, 201), response.content
    customer = Customer.objects.get(external_id="u1")
    assert (customer.notify_by, customer.miniprogram_openid) == ("sms", "o-li-0001")
    del order["customer"]["notify_by"], order["customer"]["miniprogram_openid"]
    order["customer"]["name"] = "李女士（VIP）"
    order["version"] = 2
    order["shipping_address"] = "上海市徐汇区漕溪北路 1 号"  # the order changed too (customer details ride with it)
    assert api.put("/api/v1/orders/MP0001/", order, format="json").status_code == 200
    customer.refresh_from_db()
    assert (customer.name, customer.notify_by, customer.miniprogram_openid) == ("李女士（VIP）", "sms", "o-li-0001")


def test_erasing_a_customer_removes_the_openid_and_stops_their_messages(
    daytime, wechat_settings, approve_wechat, case_in, users, supervisor
):
    from aftersales.services.privacy import erase_customer

    case = case_in("pending_review")
    case.customer.miniprogram_openid = "o-erase-me-0001"
    case.customer.save()
    services.case_approve(case_id=case.pk, actor=users["agent"])
    services.case_cancel(case_id=case.pk, actor=users["agent"])
    erase_customer(customer_id=case.customer_id, actor=supervisor, reason="顾客要求删除")
    case.customer.refresh_from_db()
    assert case.customer.miniprogram_openid == ""
    assert not Notification.objects.filter(recipient="o-erase-me-0001").exists()
    assert not Notification.objects.filter(case=case, state=N.PENDING, channel="miniprogram").exists()


def test_variables_are_cut_to_the_carriers_limits_but_a_link_never_and_empty_ones_get_a_dash():
    from aftersales.notifications.outbox import _fit

    link = "https://aftersales.example.com/t/" + "x" * 80 + "/"
    assert _fit("sms", "url", link, "url") == link
    assert _fit("sms", "note", "很" * 50, "note") == "很" * 34 + "…"
    assert _fit("miniprogram", "thing3", "质检照片显示包装在签收前已经破损所以重新给您方案", "note").endswith("…")
    assert len(_fit("miniprogram", "thing3", "质检照片显示包装在签收前已经破损所以重新给您方案", "note")) == 20
    assert _fit("miniprogram", "phrase2", "", "reason") == "—"
