"""Refunds settled with the channel: a signed refund.requested, the channel's report, late settlements alerted."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from aftersales import services
from aftersales.automation import jobs
from aftersales.errors import NotAllowed
from aftersales.models import ApiKey, CaseEvent, CaseState, Compensation, Notification
from tests.factories import UserFactory
from tests.helpers import LocalReceiver

S = CaseState


@pytest.fixture
def channel_settles(policy, order):
    policy.refund_settlement = "channel"
    policy.settlement_timeout_hours = 24
    policy.save()  # a new policy version: the cases opened from now on pin it
    order.payment_method, order.payment_transaction_id = "wechat_pay", "4200001234202611200001"
    order.save()
    return policy


@pytest.fixture
def app(users):
    key = ApiKey(name="App", channel="app", user=users["channel"], webhook_url="https://app.example.com/hooks")
    raw = key.issue()
    key.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return key, client


def settle(client, comp, **body):
    return client.post(reverse("api:compensation-settlement", args=[comp.pk]), body, format="json")


def test_a_refund_that_becomes_payable_is_requested_from_the_channel(channel_settles, app, case_in):
    case = case_in(S.CLOSED)
    refund = Compensation.objects.get(case=case)
    assert (refund.settlement, refund.payable) == ("channel", True)
    assert refund.settlement_due_at == refund.settlement_requested_at + timedelta(hours=24)
    request = Notification.objects.get(case=case, payload__event="refund.requested")
    assert request.api_key == app[0]
    assert request.payload | {"at": None, "settle_by": None} == {
        "event": "refund.requested",
        "case": case.number,
        "order": case.order.number,
        "compensation": refund.pk,
        "amount": "99.00",
        "currency": "CNY",
        "payment_method": "wechat_pay",
        "payment_transaction_id": "4200001234202611200001",
        "quick_refund": False,
        "settlement_url": f"/api/v1/compensations/{refund.pk}/settlement/",
        "at": None,
        "settle_by": None,
    }
    assert CaseEvent.objects.filter(case=case, name="compensation_settlement_requested").exists()


def test_the_request_reaches_the_channel_signed_with_its_key(channel_settles, app, case_in, settings):
    from aftersales.notifications.delivery import deliver_due

    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True  # the receiver listens on 127.0.0.1
    with LocalReceiver() as channel_system:
        ApiKey.objects.filter(pk=app[0].pk).update(webhook_url=f"{channel_system.base}/hook")
        case_in(S.CLOSED)
        deliver_due()
    events = []
    for _path, headers, body in channel_system.received:
        signed = f"{headers['X-Aftersales-Timestamp']}.".encode() + body
        expected = "sha256=" + hmac.new(app[0].webhook_secret.encode(), signed, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(expected, headers["X-Aftersales-Signature"])
        events.append(json.loads(body)["event"])
    assert "refund.requested" in events


def test_the_channel_reports_the_refund_settled_once(channel_settles, app, case_in, users):
    refund = Compensation.objects.get(case=case_in(S.CLOSED))
    _key, client = app
    paid = settle(
        client, refund, status="succeeded", reference="50301234567890", settled_at="2026-12-01T10:00:00+08:00"
    )
    assert paid.status_code == 400 and "settled_at" in paid.json()  # before the refund was even requested
    paid = settle(client, refund, status="succeeded", reference="50301234567890")
    assert paid.status_code == 200 and paid.json()["state"] == "paid" and paid.json()["changed"] is True
    refund.refresh_from_db()
    assert (refund.state, refund.payout_reference, refund.paid_by) == ("paid", "50301234567890", users["channel"])
    again = settle(client, refund, status="succeeded", reference="50301234567890")
    assert again.status_code == 200 and again.json()["changed"] is False
    other = settle(client, refund, status="succeeded", reference="50309999999999")
    assert other.status_code == 409 and other.json()["field"] == "reference"
    late_failure = settle(client, refund, status="failed", reason="余额不足")
    assert late_failure.status_code == 409
    assert CaseEvent.objects.filter(case=refund.case, name="compensation_mark_paid").count() == 1


def test_a_failed_settlement_is_recorded_and_finance_pays_it_by_hand(channel_settles, app, case_in, login, finance):
    refund = Compensation.objects.get(case=case_in(S.CLOSED))
    _key, client = app
    assert settle(client, refund, status="failed").status_code == 400  # a reason is required
    failed = settle(client, refund, status="failed", reason="原支付渠道已关闭")
    assert failed.status_code == 200 and failed.json()["state"] == "failed"
    assert settle(client, refund, status="failed", reason="原支付渠道已关闭").json()["changed"] is False
    client = login(finance)
    assert client.get(reverse("desk:finance"), {"tab": "channel"}).context["rows"] == []
    page = client.get(reverse("desk:finance"))  # it moved to the cash list
    assert [row["comp"].pk for row in page.context["rows"]] == [refund.pk]
    assert "mark_paid" in [form["name"] for form in page.context["rows"][0]["forms"]]
    services.compensation_mark_paid(compensation_id=refund.pk, actor=finance, payout_reference="BANK-777")
    assert Compensation.objects.get(pk=refund.pk).paid_by == finance


def test_finance_cannot_pay_a_refund_the_channel_is_settling_until_it_fails_or_is_overdue(
    channel_settles, app, case_in, login, finance
):
    refund = Compensation.objects.get(case=case_in(S.CLOSED))
    client = login(finance)
    row = client.get(reverse("desk:finance"), {"tab": "channel"}).context["rows"][0]
    assert row["comp"].pk == refund.pk and row["forms"] == []  # no button that would pay it twice
    assert refund.pk not in [r["comp"].pk for r in client.get(reverse("desk:finance")).context["rows"]]
    with pytest.raises(NotAllowed, match="两次"):
        services.compensation_mark_paid(compensation_id=refund.pk, actor=finance, payout_reference="BANK-1")
    with pytest.raises(NotAllowed, match="前回报"):
        services.compensation_mark_failed(compensation_id=refund.pk, actor=finance, note="渠道未退")
    batch = client.post(
        reverse("desk:finance_batch"), {"compensations": [refund.pk], "batch_reference": "B1", "next": "/finance/"}
    )
    assert batch.status_code == 302 and Compensation.objects.get(pk=refund.pk).state == "approved"
    with time_machine.travel(refund.settlement_due_at + timedelta(minutes=1)):
        row = client.get(reverse("desk:finance"), {"tab": "channel"}).context["rows"][0]
        assert [form["name"] for form in row["forms"]] == ["mark_failed"]
        services.compensation_mark_failed(compensation_id=refund.pk, actor=finance, note="渠道超时未退，改由财务打款")
        services.compensation_mark_paid(compensation_id=refund.pk, actor=finance, payout_reference="BANK-1")
    refund.refresh_from_db()
    assert (refund.state, refund.paid_by, refund.payout_reference) == ("paid", finance, "BANK-1")
    late = settle(app[1], refund, status="succeeded", reference="50301234567890")
    assert late.status_code == 409 and "BANK-1" in late.json()["detail"]  # the channel learns it was paid


def test_only_a_refund_the_channel_settles_can_be_reported_and_only_by_its_channel(
    channel_settles, app, case_in, users, policy
):
    case = case_in(S.CLOSED)
    refund = Compensation.objects.get(case=case)
    coupon = Compensation.objects.create(
        case=case, kind="coupon", amount="10.00", state="approved", payable=True, approved_by=users["agent"]
    )
    _key, client = app
    refused = settle(client, coupon, status="succeeded", reference="X")
    assert refused.status_code == 409 and refused.json()["field"] == "compensation"
    assert (
        client.post("/api/v1/compensations/999999/settlement/", {"status": "failed"}, format="json").status_code == 404
    )
    web = ApiKey(name="Web", channel="web", user=UserFactory(username="web_sys", roles=["channel"]))
    raw = web.issue()
    web.save()
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert settle(stranger, refund, status="succeeded", reference="X").status_code == 404
    assert Compensation.objects.get(pk=refund.pk).state == "approved"


def test_with_finance_settling_nothing_is_requested_and_the_refund_is_on_the_cash_list(app, case_in, login, finance):
    case = case_in(S.CLOSED)
    refund = Compensation.objects.get(case=case)
    assert (
        refund.settlement == "finance" and not Notification.objects.filter(payload__event="refund.requested").exists()
    )
    Compensation.objects.create(
        case=case, kind="coupon", amount="10.00", state="approved", payable=True, approved_by=finance
    )
    client = login(finance)
    cash = [row["comp"].kind for row in client.get(reverse("desk:finance")).context["rows"]]
    issue_page = client.get(reverse("desk:finance"), {"tab": "issue"})
    issue = [row["comp"].kind for row in issue_page.context["rows"]]
    assert cash == ["refund"] and issue == ["coupon"]  # coupons never appear on the cash payout list
    labels = [str(item["label"]) for item in issue_page.context["rows"][0]["forms"]]
    assert labels == ["标记已发放", "标记发放失败"]  # a coupon is issued, not paid
    cash_labels = [str(item["label"]) for item in client.get(reverse("desk:finance")).context["rows"][0]["forms"]]
    assert cash_labels == ["标记已打款", "标记打款失败"]
    assert settle(app[1], refund, status="succeeded", reference="X").status_code == 409


def test_a_refund_the_channel_does_not_settle_in_time_alerts_finance_once(channel_settles, app, case_in, finance):
    finance.email = "cashier@example.com"
    finance.save(update_fields=["email"])
    refund = Compensation.objects.get(case=case_in(S.CLOSED))
    assert jobs.run_job("settlements") == 0
    with time_machine.travel(refund.settlement_due_at + timedelta(minutes=1)):
        assert jobs.run_job("settlements") == 1
        assert jobs.run_job("settlements") == 0
    alerts = Notification.objects.filter(kind=Notification.Kind.STAFF_ALERT, case=refund.case)
    assert list(alerts.values_list("recipient", flat=True)) == ["cashier@example.com"]
    assert str(refund.pk) in alerts.get().body
    assert CaseEvent.objects.filter(name="compensation_settlement_overdue").count() == 1


def test_a_quick_refund_is_requested_from_the_channel_at_approval(channel_settles, app, open_case, order, agent):
    order.customer.credit_score = 800
    order.customer.save()
    case = services.case_approve(case_id=open_case().pk, actor=agent)
    assert case.quick_refund
    refund = Compensation.objects.get(case=case, quick_refund=True)
    assert refund.settlement == "channel"
    payload = Notification.objects.get(payload__event="refund.requested").payload
    assert payload["quick_refund"] is True and payload["compensation"] == refund.pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_reports_at_once_pay_the_refund_once(channel_settles, app, case_in, users):
    from tests.aftersales.test_concurrency import race

    refund = Compensation.objects.get(case=case_in(S.CLOSED))
    actor = users["channel"]
    results = race(
        lambda: services.compensation_settle(
            compensation_id=refund.pk, actor=actor, outcome="succeeded", reference="R-1"
        ),
        lambda: services.compensation_settle(
            compensation_id=refund.pk, actor=actor, outcome="succeeded", reference="R-2"
        ),
    )
    paid = [r for r in results if isinstance(r, tuple)]
    assert len(paid) == 1, results
    assert CaseEvent.objects.filter(case=refund.case, name="compensation_mark_paid").count() == 1
    assert Compensation.objects.get(pk=refund.pk).payout_reference in ("R-1", "R-2")
