"""The outbox: written with the change, delivered after commit, retried with back-off, never lost."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from aftersales import services
from aftersales.models import Case, Notification, WebhookEndpoint
from aftersales.notifications.delivery import MAX_ATTEMPTS, backoff, deliver_due, retry_now
from aftersales.notifications.outbox import alert_staff
from aftersales.permissions import SUPERVISOR
from aftersales.workflow.links import progress_url
from tests.helpers import LocalReceiver

N = Notification.State


class Robot(LocalReceiver):
    """A local chat-group robot: answers with ``status`` (and a WeCom-style errcode), records what it got."""

    def __init__(self):
        super().__init__(status=200, headers={"Content-Type": "application/json"})
        self.errcode = 0
        self.url = f"{self.base}/cgi-bin/webhook/send?key=test"

    @property
    def bodies(self) -> list[dict]:
        return [json.loads(body) for _path, _headers, body in self.received]

    def reply(self):
        payload = json.dumps({"errcode": self.errcode, "errmsg": "ok" if not self.errcode else "bad"}).encode()
        return self.status, self.headers, payload


@pytest.fixture
def robot():
    server = Robot()
    yield server
    server.close()


@pytest.fixture
def supervisors_endpoint(robot, db, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True  # the robot listens on 127.0.0.1
    return WebhookEndpoint.objects.create(name="售后主管群", url=robot.url, audience=[SUPERVISOR])


@pytest.fixture
def customer_email(order):
    order.customer.email = "buyer@example.com"
    order.customer.save()
    return order.customer.email


def test_each_step_writes_a_customer_message_delivered_by_email(open_case, agent, customer_email):
    case = open_case()
    services.case_approve(case_id=case.pk, actor=agent)
    rows = list(Notification.objects.filter(case=case, kind="customer_progress").order_by("id"))
    assert [row.payload["action"] for row in rows] == ["open", "approve"]
    assert all(row.recipient == customer_email and row.state == N.PENDING for row in rows)
    assert "寄回" in rows[1].body  # the goods come back: the customer is told to send them
    assert deliver_due() == {"sent": 2, "retry": 0, "failed": 0}
    assert [m.to for m in mail.outbox] == [[customer_email], [customer_email]]
    assert case.number in mail.outbox[0].subject
    assert set(Notification.objects.filter(case=case).values_list("state", flat=True)) == {N.SENT}


def test_a_rolled_back_change_sends_nothing(open_case, agent, customer_email):
    case = open_case()
    Notification.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.case_approve(case_id=case.pk, actor=agent)
        raise RuntimeError("something later in the same transaction failed")
    assert Case.objects.get(pk=case.pk).state == "pending_review"
    assert not Notification.objects.exists()
    deliver_due()
    assert mail.outbox == []


def test_a_reply_reaches_the_customer_word_for_word(open_case, agent, customer_email):
    case = open_case()
    services.case_add_note(case_id=case.pk, actor=agent, text="您好，退货地址已发送，请查收。", to_customer=True)
    services.case_add_note(case_id=case.pk, actor=agent, text="内部：顾客很着急")
    bodies = list(Notification.objects.filter(case=case, payload__action="reply").values_list("body", flat=True))
    # The words as written, then the link to the customer's progress page.
    assert bodies == [f"您好，退货地址已发送，请查收。\n\n查看售后进度：{progress_url(case)}"]


def test_staff_alerts_go_to_the_webhook_in_wecom_style(robot, supervisors_endpoint, db):
    assert alert_staff([SUPERVISOR], subject="危机：AS1", body="顾客辱骂并多次投诉", key="crisis:1") == 1
    assert alert_staff([SUPERVISOR], subject="危机：AS1", body="顾客辱骂并多次投诉", key="crisis:1") == 0  # idempotent
    assert deliver_due()["sent"] == 1
    assert robot.bodies == [{"msgtype": "text", "text": {"content": "危机：AS1\n顾客辱骂并多次投诉"}}]


def test_a_down_endpoint_is_retried_with_back_off_and_delivered_when_it_recovers(robot, supervisors_endpoint, db):
    robot.status = 500
    alert_staff([SUPERVISOR], subject="SLA 超时", body="AS2 超过处理时限", key="sla:2")
    start = timezone.now()
    assert deliver_due(at=start) == {"sent": 0, "retry": 1, "failed": 0}
    row = Notification.objects.get()
    assert row.state == N.PENDING and row.attempts == 1 and "500" in row.last_error
    assert row.next_attempt_at == start + backoff(1)
    assert deliver_due(at=start + timedelta(seconds=5))["retry"] == 0  # not due yet: nothing tried
    robot.status = 200
    assert deliver_due(at=start + backoff(1)) == {"sent": 1, "retry": 0, "failed": 0}
    row.refresh_from_db()
    assert row.state == N.SENT and row.attempts == 2 and row.last_error == ""
    assert len(robot.received) == 2  # one failed POST, one delivered


def test_a_wecom_error_code_counts_as_a_failure(robot, supervisors_endpoint, db):
    robot.errcode = 93000
    alert_staff([SUPERVISOR], subject="x", body="y", key="k")
    assert deliver_due()["retry"] == 1
    assert "93000" in Notification.objects.get().last_error


def test_after_many_failures_nothing_is_lost_and_it_can_be_retried(robot, supervisors_endpoint, db):
    robot.status = 503
    alert_staff([SUPERVISOR], subject="x", body="y", key="k")
    at = timezone.now()
    for _attempt in range(MAX_ATTEMPTS):
        deliver_due(at=at)
        at += timedelta(hours=2)
    row = Notification.objects.get()
    assert row.state == N.FAILED and row.attempts == MAX_ATTEMPTS
    assert deliver_due(at=at)["retry"] == 0  # gave up: the row stays, visible
    robot.status = 200
    assert retry_now(Notification.objects.all()) == 1
    assert deliver_due()["sent"] == 1


def test_an_abandoned_claim_is_taken_over(robot, supervisors_endpoint, db):
    alert_staff([SUPERVISOR], subject="x", body="y", key="k")
    Notification.objects.update(state=N.SENDING, locked_until=timezone.now() - timedelta(seconds=1))
    assert deliver_due()["sent"] == 1


def test_back_off_doubles_and_is_capped():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(30).total_seconds() == 3600


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_deliver_each_message_once(robot, supervisors_endpoint):
    from tests.aftersales.test_concurrency import race

    for n in range(20):
        alert_staff([SUPERVISOR], subject=f"alert {n}", body="…", key=f"k{n}")
    results = race(deliver_due, deliver_due)
    assert sum(r["sent"] for r in results) == 20, results
    assert len(robot.received) == 20
    assert Notification.objects.filter(state=N.SENT).count() == 20


def test_a_row_another_worker_took_over_is_not_sent_twice(robot, supervisors_endpoint, db, monkeypatch):
    from aftersales.notifications import delivery

    alert_staff([SUPERVISOR], subject="first", body="…", key="k1")
    alert_staff([SUPERVISOR], subject="second", body="…", key="k2")
    real_send = delivery.send
    second = Notification.objects.get(subject="second")

    def slow_send(row):
        real_send(row)
        # Meanwhile our claim on the second row ran out and another worker claimed it.
        Notification.objects.filter(pk=second.pk).update(locked_until=timezone.now() + timedelta(minutes=9))

    monkeypatch.setattr(delivery, "send", slow_send)
    assert deliver_due()["sent"] == 1
    second.refresh_from_db()
    assert second.state == N.SENDING and [m["text"]["content"][:5] for m in robot.bodies] == ["first"]
    assert retry_now(Notification.objects.filter(pk=second.pk)) == 0  # being sent elsewhere: left alone


def test_a_killed_workers_rows_are_taken_over_within_a_minute_with_the_same_event_id(
    robot, supervisors_endpoint, db, monkeypatch
):
    from aftersales.notifications import delivery

    supervisors_endpoint.style = WebhookEndpoint.Style.JSON
    supervisors_endpoint.save()
    alert_staff([SUPERVISOR], subject="x", body="y", key="k")
    row = Notification.objects.get()
    start = timezone.now()

    def dies_after_sending(notification):
        delivery._post_json(
            supervisors_endpoint.url,
            delivery.webhook_payload(notification, supervisors_endpoint),
            event_id=notification.pk,
        )
        raise SystemExit("worker killed before it recorded the outcome")

    monkeypatch.setattr(delivery, "send", dies_after_sending)
    with pytest.raises(SystemExit):
        deliver_due(at=start)
    monkeypatch.undo()
    assert deliver_due(at=start + timedelta(seconds=30))["sent"] == 0  # still claimed by the dead worker
    assert deliver_due(at=timezone.now() + timedelta(seconds=61))["sent"] == 1  # taken over within a minute
    ids = [headers["X-Aftersales-Event-Id"] for _path, headers, _body in robot.received]
    assert ids == [str(row.pk), str(row.pk)]  # delivered twice, as at least once allows: the receiver drops one
    assert [body["id"] for body in robot.bodies] == [row.pk, row.pk]


def test_a_staff_webhook_to_a_private_address_is_refused_on_save_and_on_send(robot, db, settings, login, users):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    supervisor = users["supervisor"]
    supervisor.is_staff = True
    supervisor.save()
    client = login(supervisor)
    for url in ("http://127.0.0.1:9/hook", "http://10.0.0.8/hook", "http://169.254.169.254/latest/meta-data/"):
        response = client.post(
            "/admin/aftersales/webhookendpoint/add/",
            {"name": "内网", "url": url, "style": "json", "audience": ["supervisor"], "active": "on"},
        )
        assert response.status_code == 200, url
        assert "不是公网地址" in response.content.decode(), url
    assert not WebhookEndpoint.objects.exists()

    # One saved before (or whose name now resolves inside): refused when sending, and retried later, not lost.
    WebhookEndpoint.objects.create(name="旧", url=robot.url, audience=[SUPERVISOR])
    alert_staff([SUPERVISOR], subject="x", body="y", key="k")
    assert deliver_due()["retry"] == 1
    assert "not a public address" in Notification.objects.get().last_error
    assert robot.received == []
