"""The care after a case: follow-up visits (回访) created when a complaint, an escalated case, a crisis or a low
rating finishes, recorded by their owner, and listed when due; a complaint's cause analysis and its corrective
action, followed by supervisors until done; the KPI dashboard's follow-up figures."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from aftersales import services
from aftersales.errors import NotAllowed
from aftersales.models import (
    Case,
    CaseEvent,
    CaseState,
    CauseAnalysis,
    EventName,
    FollowUp,
    ServiceCalendar,
    WorkingHours,
)
from config.periods import Period
from reports import selectors as report_selectors

S = CaseState
SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def local(*parts) -> datetime:
    return datetime(*parts, tzinfo=SH)


@pytest.fixture
def office(db):
    """Monday to Friday 09:00–18:00."""
    calendar = ServiceCalendar.objects.create(name="客服时间", is_default=True)
    for weekday in range(5):
        WorkingHours.objects.create(calendar=calendar, weekday=weekday, starts=time(9), ends=time(18))
    return calendar


@pytest.fixture
def closed_complaint(open_case, users):
    """``closed_complaint(at)``: a complaint (no goods) opened, offered a coupon and accepted, closing at ``at``."""

    def _close(at: datetime) -> Case:
        case = open_case(request_type="complaint", lines=[], at=at.replace(hour=9, minute=0))
        services.case_approve(case_id=case.pk, actor=users["agent"], at=at.replace(hour=9, minute=5))
        services.compensation_add(
            case_id=case.pk, actor=users["agent"], kind="coupon", amount="20", at=at.replace(hour=9, minute=10)
        )
        services.case_propose(case_id=case.pk, actor=users["agent"], at=at.replace(hour=9, minute=15))
        return services.case_confirm(case_id=case.pk, actor=users["channel"], at=at)

    return _close


def test_a_complaint_closing_on_friday_evening_gets_a_follow_up_due_on_monday(office, closed_complaint, agent):
    case = closed_complaint(local(2026, 12, 4, 17, 30))  # Friday; 8 working hours: 30 min Friday, 7.5 h Monday
    follow_up = FollowUp.objects.get(case=case)
    assert follow_up.reasons == ["complaint"] and follow_up.state == "open"
    assert follow_up.due_at == local(2026, 12, 7, 16, 30)
    assert follow_up.owner == agent  # the agent who worked the case
    assert CaseEvent.objects.filter(case=case, name=EventName.FOLLOW_UP_DUE).exists()


def test_an_ordinary_return_closing_well_gets_no_follow_up(case_in):
    case = case_in(S.CLOSED)
    assert not FollowUp.objects.filter(case=case).exists()


def test_a_low_rating_after_closing_creates_a_follow_up(case_in, users, time_machine):
    case = case_in(S.CLOSED)
    time_machine.move_to(local(2026, 12, 2, 11, 0), tick=False)
    services.case_rate(case_id=case.pk, actor=users["channel"], csat=2, comment="退款太慢")
    follow_up = FollowUp.objects.get(case=case)
    assert follow_up.reasons == ["low_rating"]
    assert follow_up.created_at == local(2026, 12, 2, 11, 0)


def test_a_good_rating_creates_none_and_a_low_one_adds_its_reason_to_an_open_follow_up(closed_complaint, users):
    case = closed_complaint(local(2026, 12, 2, 15, 0))
    services.case_rate(case_id=case.pk, actor=users["channel"], csat=1)
    assert FollowUp.objects.get(case=case).reasons == ["complaint", "low_rating"]
    other = closed_complaint(local(2026, 12, 3, 15, 0))
    FollowUp.objects.filter(case=other).delete()
    services.case_rate(case_id=other.pk, actor=users["channel"], csat=5)
    assert FollowUp.objects.filter(case=other).exists()  # still a complaint: it is called back whatever the rating


def test_an_escalated_case_resolved_gets_a_follow_up(case_in, users):
    case = case_in(S.ESCALATED)
    services.case_resolve_escalation(case_id=case.pk, actor=users["supervisor"], decision="rejected", note="人为损坏")
    assert FollowUp.objects.get(case=case).reasons == ["escalated"]


def test_the_owner_records_a_satisfied_customer_and_the_follow_up_closes(closed_complaint, agent, login):
    case = closed_complaint(local(2026, 12, 2, 15, 0))
    client = login(agent)
    page = client.get(reverse("desk:case", args=[case.pk])).content.decode()
    assert 'id="follow-up"' in page and 'id="action-follow_up"' in page
    response = client.post(
        reverse("desk:case_action", args=[case.pk, "follow_up"]),
        {"reached": "yes", "satisfied": "yes", "notes": "顾客表示满意"},
    )
    assert response.status_code == 302
    follow_up = FollowUp.objects.get(case=case)
    assert (follow_up.state, follow_up.reached, follow_up.satisfied, follow_up.attempts) == ("done", True, True, 1)
    assert follow_up.done_by == agent
    assert CaseEvent.objects.filter(case=case, name=EventName.FOLLOW_UP, data__satisfied=True).exists()
    with pytest.raises(NotAllowed):
        services.follow_up_record(case_id=case.pk, actor=agent, reached=True, satisfied=False)


def test_an_unreached_customer_is_called_again_then_closed_as_unreached(office, closed_complaint, agent):
    case = closed_complaint(local(2026, 12, 2, 15, 0))  # a Wednesday
    services.follow_up_record(case_id=case.pk, actor=agent, reached=False, at=local(2026, 12, 3, 10, 0))
    follow_up = FollowUp.objects.get(case=case)
    assert (follow_up.state, follow_up.attempts) == ("open", 1)
    assert follow_up.due_at == local(2026, 12, 3, 14, 0)  # 4 working hours later
    services.follow_up_record(case_id=case.pk, actor=agent, reached=False, at=local(2026, 12, 3, 17, 0))
    assert FollowUp.objects.get(case=case).due_at == local(2026, 12, 4, 12, 0)
    services.follow_up_record(case_id=case.pk, actor=agent, reached=False, at=local(2026, 12, 4, 12, 0))
    follow_up.refresh_from_db()
    assert (follow_up.state, follow_up.reached, follow_up.attempts) == ("done", False, FollowUp.MAX_ATTEMPTS)


def test_a_customer_still_unhappy_gets_a_new_complaint_case(closed_complaint, agent):
    case = closed_complaint(local(2026, 12, 2, 15, 0))
    follow_up = services.follow_up_record(
        case_id=case.pk, actor=agent, reached=True, satisfied=False, notes="优惠券无法使用", new_complaint=True
    )
    new = follow_up.new_case
    assert new is not None and new.pk != case.pk
    assert (new.request_type, new.order_id, new.state) == ("complaint", case.order_id, S.PENDING_REVIEW)
    assert new.reason == "优惠券无法使用"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"reached": True}, "satisfied"),
        ({"reached": False, "satisfied": True}, "satisfied"),
        ({"reached": True, "satisfied": False, "new_complaint": True}, "notes"),
    ],
)
def test_an_outcome_that_does_not_add_up_is_refused_naming_the_field(closed_complaint, agent, kwargs, field):
    case = closed_complaint(local(2026, 12, 2, 15, 0))
    with pytest.raises(ValidationError) as caught:
        services.follow_up_record(case_id=case.pk, actor=agent, **kwargs)
    assert field in caught.value.error_dict
    assert FollowUp.objects.get(case=case).attempts == 0


def test_qc_cannot_record_follow_ups(closed_complaint, qc):
    case = closed_complaint(local(2026, 12, 2, 15, 0))
    with pytest.raises(PermissionDenied):
        services.follow_up_record(case_id=case.pk, actor=qc, reached=True, satisfied=True)


def test_the_follow_ups_page_lists_the_due_ones_mine_first(closed_complaint, agent, supervisor, login, time_machine):
    mine = closed_complaint(local(2026, 12, 2, 15, 0))
    theirs = closed_complaint(local(2026, 12, 3, 15, 0))
    FollowUp.objects.filter(case=theirs).update(owner=supervisor)
    time_machine.move_to(local(2026, 12, 8, 9, 0), tick=False)
    client = login(agent)
    page = client.get(reverse("desk:follow_ups")).content.decode()
    assert mine.number in page and theirs.number not in page and "已逾期" in page
    page = client.get(reverse("desk:follow_ups") + "?tab=all").content.decode()
    assert mine.number in page and theirs.number in page
    services.follow_up_record(case_id=mine.pk, actor=agent, reached=True, satisfied=True)
    assert mine.number not in client.get(reverse("desk:follow_ups")).content.decode()
    assert mine.number in client.get(reverse("desk:follow_ups") + "?tab=done").content.decode()


def test_the_follow_ups_page_costs_the_same_queries_for_more_rows(
    closed_complaint, agent, login, django_assert_max_num_queries
):
    client = login(agent)
    closed_complaint(local(2026, 12, 2, 15, 0))
    client.get(reverse("desk:follow_ups"))
    for day in (3, 4, 5):
        closed_complaint(local(2026, 12, day, 15, 0))
    with django_assert_max_num_queries(8):
        response = client.get(reverse("desk:follow_ups"))
    assert response.content.decode().count("data-case=") == 4


def test_follow_up_figures_on_the_kpi_dashboard(closed_complaint, agent):
    cases = [closed_complaint(local(2026, 12, day, 15, 0)) for day in (1, 2, 3, 4, 5)]
    services.follow_up_record(case_id=cases[0].pk, actor=agent, reached=True, satisfied=True)
    services.follow_up_record(case_id=cases[1].pk, actor=agent, reached=True, satisfied=False)
    services.follow_up_record(case_id=cases[2].pk, actor=agent, reached=True, satisfied=True)
    for _call in range(FollowUp.MAX_ATTEMPTS):
        services.follow_up_record(case_id=cases[3].pk, actor=agent, reached=False)  # closed as unreached
    # cases[4]: not called yet, so not a miss yet
    overall = report_selectors.kpis(Period(date(2026, 12, 1), date(2026, 12, 31)))["overall"]
    assert overall["follow_up_rate"] == Decimal("75.0")  # 3 of the 4 done were reached
    assert overall["post_follow_up_satisfaction"] == Decimal("66.7")  # 2 of the 3 reached


# --------------------------------------------------------------------------
# The complaint loop: cause analysis and corrective action
# --------------------------------------------------------------------------
def test_a_complaint_records_its_cause_analysis_and_the_owner_closes_the_action(
    open_case, agent, qc, supervisor, login
):
    from tests.factories import UserFactory

    qc = UserFactory(username="warehouse-lead", first_name="仓库组长", roles=["agent"])  # the action's owner
    case = open_case(request_type="complaint", lines=[])
    client = login(agent)
    response = client.post(
        reverse("desk:case_action", args=[case.pk, "analyse_cause"]),
        {
            "root_cause": "仓库打包未放干燥剂，运输中受潮",
            "attribution": "logistics",
            "corrective_action": "打包流程增加干燥剂检查项",
            "owner": qc.pk,
            "due_on": "2026-12-15",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    analysis = CauseAnalysis.objects.get(case=case)
    assert (analysis.attribution, analysis.owner, analysis.state) == ("logistics", qc, "open")
    assert analysis.due_on == date(2026, 12, 15)
    assert list(report_selectors_open()) == [analysis]
    with pytest.raises(PermissionDenied):
        services.corrective_action_close(case_id=case.pk, actor=agent, result="已完成")  # not the owner
    services.corrective_action_close(case_id=case.pk, actor=qc, result="流程已更新并培训")
    analysis.refresh_from_db()
    assert analysis.state == "done" and analysis.result == "流程已更新并培训" and analysis.done_at is not None
    assert list(report_selectors_open()) == []
    with pytest.raises(NotAllowed):
        services.cause_analysis_record(
            case_id=case.pk,
            actor=supervisor,
            root_cause="改",
            attribution="service",
            corrective_action="改",
            owner=qc,
        )


def report_selectors_open():
    from aftersales.selectors import open_corrective_actions

    return open_corrective_actions()


def test_a_cause_analysis_names_its_missing_fields(open_case, agent):
    case = open_case(request_type="complaint", lines=[])
    with pytest.raises(ValidationError) as caught:
        services.cause_analysis_record(
            case_id=case.pk, actor=agent, root_cause=" ", attribution="nobody", corrective_action="", owner=None
        )
    assert set(caught.value.error_dict) == {"root_cause", "attribution", "corrective_action", "owner"}
    assert not CauseAnalysis.objects.exists()


def test_an_ordinary_return_keeps_no_cause_analysis(open_case, agent):
    case = open_case()
    with pytest.raises(NotAllowed):
        services.cause_analysis_record(
            case_id=case.pk,
            actor=agent,
            root_cause="起球",
            attribution="product_quality",
            corrective_action="换面料",
            owner=agent,
        )


def test_supervisors_see_open_corrective_actions_by_category(open_case, agent, supervisor, login):
    for attribution in ("logistics", "logistics", "service"):
        case = open_case(request_type="complaint", lines=[])
        services.cause_analysis_record(
            case_id=case.pk,
            actor=agent,
            root_cause="原因",
            attribution=attribution,
            corrective_action="措施",
            owner=supervisor,
        )
    services.corrective_action_close(case_id=case.pk, actor=supervisor, result="完成")  # the service one
    page = login(supervisor).get(reverse("desk:corrective_actions")).content.decode()
    assert page.count('data-case="') == 2
    assert "物流" in page
    rows = {
        (r["attribution"], r["total"], r["open"])
        for r in __import__("aftersales.selectors", fromlist=["x"]).corrective_actions_by_category()
    }
    assert rows == {("logistics", 2, 2), ("service", 1, 0)}
    mine = login(agent).get(reverse("desk:corrective_actions")).content.decode()
    assert 'id="mine-only"' in mine and 'data-case="' not in mine  # the agent owns none of them


def test_the_owner_of_an_action_outside_their_queues_finds_it_and_opens_the_case(open_case, agent, supervisor, login):
    from aftersales.models import Queue
    from tests.factories import UserFactory

    elsewhere = Queue.objects.create(code="live", name="直播专席")
    owner = UserFactory(username="li", first_name="李娜", roles=["agent"])
    case = open_case(request_type="complaint", lines=[])
    Case.objects.filter(pk=case.pk).update(queue=elsewhere, assignee=None)  # not in the owner's scope
    client = login(owner)
    assert client.get(reverse("desk:case", args=[case.pk])).status_code == 404
    services.cause_analysis_record(
        case_id=case.pk,
        actor=supervisor,
        root_cause="主播话术误导",
        attribution="service",
        corrective_action="培训",
        owner=owner,
    )
    assert case.number in client.get(reverse("desk:corrective_actions")).content.decode()
    page = client.get(reverse("desk:case", args=[case.pk])).content.decode()
    assert 'id="action-close_corrective_action"' in page


def test_only_agents_or_supervisors_own_an_action_and_only_they_change_it(open_case, agent, qc, supervisor):
    from tests.factories import UserFactory

    case = open_case(request_type="complaint", lines=[])
    values = {"root_cause": "原因", "attribution": "service", "corrective_action": "措施"}
    with pytest.raises(ValidationError) as caught:
        services.cause_analysis_record(case_id=case.pk, actor=agent, owner=qc, **values)
    assert "owner" in caught.value.error_dict
    services.cause_analysis_record(case_id=case.pk, actor=supervisor, owner=supervisor, **values)
    other = UserFactory(username="other-agent", roles=["agent"])
    with pytest.raises(PermissionDenied):
        services.cause_analysis_record(case_id=case.pk, actor=other, owner=other, **values)
    assert CauseAnalysis.objects.get(case=case).owner == supervisor


def test_a_low_rating_after_a_satisfied_call_reopens_the_follow_up(closed_complaint, agent, users):
    case = closed_complaint(local(2026, 12, 2, 15, 0))
    services.follow_up_record(case_id=case.pk, actor=agent, reached=True, satisfied=True)
    services.case_rate(case_id=case.pk, actor=users["channel"], csat=1, comment="其实还是不满意")
    follow_up = FollowUp.objects.get(case=case)
    assert follow_up.state == "open" and follow_up.reasons == ["complaint", "low_rating"]
    assert (follow_up.attempts, follow_up.reached, follow_up.satisfied, follow_up.done_at) == (0, None, None, None)
    assert CaseEvent.objects.filter(case=case, name=EventName.FOLLOW_UP_DUE).count() == 2


def test_the_defect_words_report_shows_the_loop_of_the_period(open_case, agent, supervisor, login):
    case = open_case(request_type="complaint", lines=[])
    services.cause_analysis_record(
        case_id=case.pk,
        actor=agent,
        root_cause="面料批次问题",
        attribution="product_quality",
        corrective_action="更换供应商",
        owner=supervisor,
    )
    page = login(supervisor).get(reverse("reports:words")).content.decode()
    section = page[page.index('id="complaint-loop"') :]
    assert "商品质量" in section and '<td class="num">1</td><td class="num">1</td>' in section.replace("\n", "")


def test_the_same_call_submitted_twice_counts_once(closed_complaint, agent, login):
    case = closed_complaint(local(2026, 12, 2, 15, 0))
    client = login(agent)
    url = reverse("desk:case_action", args=[case.pk, "follow_up"])
    form = {"reached": "no", "notes": "无人接听", "expected_attempts": "0"}
    assert client.post(url, form).status_code == 302
    again = client.post(url, form, follow=True)
    assert any("刷新" in str(m) or "重新" in str(m) for m in again.context["messages"]), list(again.context["messages"])
    assert FollowUp.objects.get(case=case).attempts == 1
