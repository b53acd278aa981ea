"""Escalations reach the people who decide: the escalation queue (shipped by a migration), a supervisor there,
the supervisors alerted at once; the customer and the channel learn the decision and its reason."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from aftersales import services
from aftersales.models import ApiKey, Case, CaseEvent, CaseState, Notification, Queue
from aftersales.notifications.delivery import deliver_due
from aftersales.permissions import SUPERVISOR
from tests.factories import UserFactory

S = CaseState
SHANGHAI = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def test_the_escalation_queue_ships_with_the_database():
    queue = Queue.objects.get(purpose=Queue.Purpose.ESCALATION)
    assert queue.active and queue.name == "升级处理"


@pytest.fixture
def escalation_desk(users):
    """The escalation queue with two supervisors; ``lead`` already has an open case, so ``second`` is less loaded."""
    queue = Queue.objects.get(purpose=Queue.Purpose.ESCALATION)
    lead = UserFactory(username="lead", first_name="王主管", email="lead@example.com", roles=[SUPERVISOR])
    second = UserFactory(username="second", first_name="李主管", email="second@example.com", roles=[SUPERVISOR])
    queue.members.set([lead, second])
    users["supervisor"].email = "other-supervisor@example.com"
    users["supervisor"].save()
    return queue, lead, second


def test_an_appeal_goes_to_the_escalation_queue_and_a_supervisor_there_alerted_at_once(
    case_in, users, order, escalation_desk, time_machine
):
    queue, lead, second = escalation_desk
    busy = case_in(S.PENDING_REVIEW, lines=[(order.lines.order_by("id").last().pk, 1)])
    Case.objects.filter(pk=busy.pk).update(assignee=lead)
    case = case_in(S.COMPENSATION)
    Case.objects.filter(pk=case.pk).update(assignee=users["agent"])
    case.refresh_from_db()
    agent_queue = case.queue_id
    at = datetime(2026, 12, 4, 21, 30, tzinfo=SHANGHAI)  # a Friday evening: the alert does not wait for Monday
    time_machine.move_to(at, tick=False)

    services.case_escalate(case_id=case.pk, actor=users["channel"], reason="顾客不接受方案，申请平台介入")

    case.refresh_from_db()
    assert case.state == S.ESCALATED
    assert case.queue_id == queue.pk != agent_queue
    assert case.assignee_id == second.pk  # the least-loaded supervisor of the queue, not the agent
    event = CaseEvent.objects.filter(case=case, name="escalate").latest("id")
    assert event.data["queue"] == "升级处理" and event.data["assignee"] == "李主管"
    alerts = Notification.objects.filter(case=case, kind=Notification.Kind.STAFF_ALERT)
    assert sorted(alerts.values_list("recipient", flat=True)) == ["lead@example.com", "second@example.com"]
    assert {a.created_at for a in alerts} == {at}
    assert all("申请平台介入" in a.body for a in alerts)


def test_without_supervisors_in_the_queue_every_supervisor_is_alerted_and_an_agent_lets_go(case_in, users):
    Queue.objects.get(purpose=Queue.Purpose.ESCALATION).members.clear()
    users["supervisor"].email = "boss@example.com"
    users["supervisor"].save()
    case = case_in(S.COMPENSATION)
    Case.objects.filter(pk=case.pk).update(assignee=users["agent"])

    services.case_escalate(case_id=case.pk, actor=users["channel"], reason="申诉")

    case.refresh_from_db()
    assert case.assignee_id is None  # the agent cannot resolve it; it waits in the queue for a supervisor
    recipients = Notification.objects.filter(case=case, kind=Notification.Kind.STAFF_ALERT)
    assert list(recipients.values_list("recipient", flat=True)) == ["boss@example.com"]


def test_an_escalation_by_the_deadline_sweep_is_routed_the_same_way(case_in, users, escalation_desk):
    queue, lead, second = escalation_desk
    case = case_in(S.COMPENSATION)
    services.case_escalate(case_id=case.pk, actor=None, reason="SLA 超时自动升级")
    case.refresh_from_db()
    assert case.queue_id == queue.pk and case.assignee_id in (lead.pk, second.pk)


@pytest.mark.parametrize(
    ("decision", "words"),
    [
        (S.COMPENSATION, "我们会重新给您方案"),
        (S.CLOSED, "按已同意的补偿结案"),
        (S.REJECTED, "您的申请未获支持"),
    ],
)
def test_the_customer_and_the_channel_learn_the_decision_and_its_reason(case_in, users, decision, words):
    key = ApiKey(name="App", channel="app", user=users["channel"], webhook_url="https://app.example.com/hooks")
    key.issue()
    key.save()
    case = case_in(S.ESCALATED)
    Notification.objects.all().delete()

    services.case_resolve_escalation(
        case_id=case.pk, actor=users["supervisor"], decision=decision, note="质检照片显示为人为损坏"
    )

    email = Notification.objects.get(case=case, kind=Notification.Kind.CUSTOMER_PROGRESS)
    assert words in email.body and "原因：质检照片显示为人为损坏" in email.body
    event = Notification.objects.get(case=case, kind=Notification.Kind.CHANNEL_EVENT)
    assert event.payload["event"] == "resolve_escalation"
    assert event.payload["decision"] == decision and event.payload["reason"] == "质检照片显示为人为损坏"
    deliver_due(limit=10)
    assert any("质检照片显示为人为损坏" in m.body for m in mail.outbox)


def test_other_transitions_do_not_leak_their_internal_note_to_the_channel(case_in, users):
    key = ApiKey(name="App", channel="app", user=users["channel"], webhook_url="https://app.example.com/hooks")
    key.issue()
    key.save()
    case = case_in(S.PENDING_REVIEW)
    services.case_approve(case_id=case.pk, actor=users["agent"], note="内部：此顾客多次退货")
    event = Notification.objects.filter(case=case, kind=Notification.Kind.CHANNEL_EVENT).latest("id")
    assert "reason" not in event.payload and "内部" not in str(event.payload)
    email = Notification.objects.filter(case=case, kind=Notification.Kind.CUSTOMER_PROGRESS).latest("id")
    assert "内部" not in email.body


def test_sent_back_to_compensation_the_case_returns_to_its_queue_and_agent(case_in, users, escalation_desk):
    _queue, lead, _second = escalation_desk
    case = case_in(S.COMPENSATION)
    Case.objects.filter(pk=case.pk).update(assignee=users["agent"])
    case.refresh_from_db()
    home = case.queue_id
    services.case_escalate(case_id=case.pk, actor=users["channel"], reason="申诉")
    services.case_resolve_escalation(
        case_id=case.pk, actor=lead, decision=S.COMPENSATION, note="同意重新给方案，请补发优惠券"
    )
    case.refresh_from_db()
    assert case.state == S.COMPENSATION
    assert (case.queue_id, case.assignee_id) == (home, users["agent"].pk)
