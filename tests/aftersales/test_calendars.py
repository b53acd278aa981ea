"""Service calendars: first-response and resolution clocks count working time, skip holidays, work make-up days,
take a campaign's targets, and stand still while the case waits on the customer."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from aftersales import services
from aftersales.automation.calendars import Clock, calendar_for
from aftersales.models import (
    CalendarDay,
    Campaign,
    CampaignTarget,
    CaseState,
    Queue,
    ServiceCalendar,
    SlaPolicy,
    WaitingOn,
    WorkingHours,
)
from tests.factories import OrderFactory, OrderLineFactory

SH = ZoneInfo("Asia/Shanghai")
S = CaseState
pytestmark = pytest.mark.django_db


def local(*parts) -> datetime:
    return datetime(*parts, tzinfo=SH)


@pytest.fixture
def office(db):
    """Monday to Friday 09:00–18:00; Monday 2026-11-30 a holiday; Sunday 2026-11-29 a make-up working day off."""
    calendar = ServiceCalendar.objects.create(name="客服时间", is_default=True)
    for weekday in range(5):
        WorkingHours.objects.create(calendar=calendar, weekday=weekday, starts=time(9), ends=time(18))
    CalendarDay.objects.create(calendar=calendar, day=local(2026, 11, 30).date(), kind="holiday", name="测试假日")
    return calendar


@pytest.fixture
def targets(db):
    SlaPolicy.objects.update(first_response_minutes=60, resolution_minutes=600)


def _open(agent, at, **kwargs):
    order = OrderFactory(placed_at=at - timedelta(days=5), delivered_at=at - timedelta(days=2))
    line = OrderLineFactory(order=order, unit_price=Decimal("99.00"))
    return services.case_open(
        actor=agent,
        order_id=order.pk,
        lines=[(line.pk, 1)],
        request_type="return_refund",
        reason="起球",
        at=at,
        **kwargs,
    )


def test_a_case_opened_friday_night_before_a_holiday_is_due_on_the_next_working_day(office, targets, agent, policy):
    case = _open(agent, local(2026, 11, 27, 23, 50))  # Friday; Saturday and Sunday off, Monday a holiday
    assert case.first_response_due_at == local(2026, 12, 1, 10, 0)
    # 600 working minutes: Tuesday's nine hours, then one more on Wednesday.
    assert case.resolution_due_at == local(2026, 12, 2, 10, 0)


def test_a_make_up_working_day_is_worked_with_mondays_hours(office, targets, agent, policy):
    CalendarDay.objects.create(calendar=office, day=local(2026, 11, 29).date(), kind="workday", name="调休")
    case = _open(agent, local(2026, 11, 28, 15, 0))  # Saturday
    assert case.first_response_due_at == local(2026, 11, 29, 10, 0)


def test_without_a_calendar_the_clocks_count_calendar_time(targets, agent, policy):
    at = local(2026, 11, 27, 23, 50)
    case = _open(agent, at)
    assert case.first_response_due_at == at + timedelta(minutes=60)
    assert case.resolution_due_at == at + timedelta(minutes=600)


def test_a_campaigns_targets_apply_while_it_runs(office, targets, agent, policy):
    double11 = Campaign.objects.create(
        name="双11", starts_at=local(2026, 11, 10), ends_at=local(2026, 11, 13), staffing_notes="全员加班"
    )
    case = _open(agent, local(2026, 11, 11, 10, 0))
    CampaignTarget.objects.create(
        campaign=double11, priority=case.priority, first_response_minutes=240, resolution_minutes=1200
    )
    case = _open(agent, local(2026, 11, 11, 10, 0))
    assert case.first_response_due_at == local(2026, 11, 11, 14, 0)
    # 1200 minutes = 20 h: 8 on Wednesday (10–18), 9 on Thursday, 3 on Friday.
    assert case.resolution_due_at == local(2026, 11, 13, 12, 0)
    after = _open(agent, local(2026, 11, 16, 10, 0))  # the campaign is over: the colour's own targets
    assert after.first_response_due_at == local(2026, 11, 16, 11, 0)


def test_the_resolution_clock_stands_still_while_waiting_on_the_customer(
    office, targets, agent, qc, users, policy, time_machine
):
    opened = local(2026, 12, 1, 9, 0)  # Tuesday
    time_machine.move_to(opened, tick=False)
    case = _open(agent, opened)
    assert case.resolution_due_at == local(2026, 12, 2, 10, 0)
    time_machine.move_to(local(2026, 12, 1, 11, 0), tick=False)
    case = services.case_approve(case_id=case.pk, actor=agent)  # awaiting the return: the customer's turn
    assert case.waiting_on == WaitingOn.CUSTOMER and case.sla_paused_at == local(2026, 12, 1, 11, 0)

    page = _page(agent, case)
    assert "等待顾客" in page and "已暂停" in page
    assert "剩余 8 工作小时" in page  # 11:00 → next day 10:00 in working time

    # The parcel arrives the next Monday morning: Tue 11–18, Wed, Thu, Fri, Mon 9–10 (35 working hours) paused.
    time_machine.move_to(local(2026, 12, 7, 10, 0), tick=False)
    case = services.case_receive(case_id=case.pk, actor=qc, tracking_number="SF1234567890")
    assert case.sla_paused_at is None and case.sla_paused_minutes == 35 * 60
    assert case.resolution_due_at == local(2026, 12, 7, 18, 0)  # the 8 working hours left, from Monday 10:00
    page = _page(agent, case)
    assert "剩余 8 工作小时" in page and "已暂停" not in page


def test_a_deadline_passed_while_paused_does_not_breach(office, targets, agent, policy, time_machine):
    from aftersales.automation.jobs import sweep_sla

    opened = local(2026, 12, 1, 9, 0)
    time_machine.move_to(opened, tick=False)
    case = _open(agent, opened)
    case = services.case_approve(case_id=case.pk, actor=agent)
    time_machine.move_to(local(2026, 12, 4, 12, 0), tick=False)  # long past the old deadline
    assert sweep_sla() == 0
    case.refresh_from_db()
    assert case.sla_breached_at is None


def test_the_queue_calendar_wins_over_the_channel_and_the_default(office, db):
    queue = Queue.objects.create(code="vip", name="VIP")
    own = ServiceCalendar.objects.create(name="VIP 7×24", queue=queue)
    app = ServiceCalendar.objects.create(name="App 渠道", channel="app")
    assert calendar_for(queue_id=queue.pk, channel="app") == own
    assert calendar_for(queue_id=None, channel="app") == app
    assert calendar_for(queue_id=None, channel="web") == office


def test_working_time_added_and_counted_back_agree(office):
    clock = Clock.of(office)
    rng = random.Random(7)
    for _ in range(200):
        start = local(2026, 11, 20) + timedelta(minutes=rng.randrange(0, 60 * 24 * 30))
        minutes = rng.randrange(1, 60 * 60)
        due = clock.add(start, minutes)
        assert clock.is_working(due - timedelta(seconds=1))
        assert clock.between(start, due) == pytest.approx(minutes)


def test_hours_that_end_before_they_start_name_the_field(office):
    row = WorkingHours(calendar=office, weekday=5, starts=time(18), ends=time(9))
    with pytest.raises(ValidationError) as caught:
        row.full_clean()
    assert "ends" in caught.value.message_dict
    WorkingHours(calendar=office, weekday=5, starts=time(20), ends=time(0)).full_clean()  # until midnight


def test_supervisors_configure_calendars_in_the_admin(login, supervisor):
    supervisor.is_staff = True
    supervisor.save()
    client = login(supervisor)
    assert client.get(reverse("admin:aftersales_servicecalendar_add")).status_code == 200
    assert client.get(reverse("admin:aftersales_campaign_add")).status_code == 200


def _page(user, case) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.get(reverse("desk:case", args=[case.pk])).content.decode()
