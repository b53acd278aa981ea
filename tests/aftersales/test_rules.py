"""Automation rules: fire on their trigger, say why and which version fired, dry-run without side effects."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from aftersales import services
from aftersales.automation.rules import dry_run
from aftersales.models import AutomationRule, Case, CaseEvent, Notification, ProblemCategory, Queue
from tests.factories import OrderFactory, OrderLineFactory, ProblemCategoryFactory, QueueFactory

HIGH_VALUE_QUALITY = {
    "name": "高价值质量问题 → VIP 专席",
    "trigger": AutomationRule.Trigger.OPENED,
    "conditions": [
        {"field": "order.value", "op": "gte", "value": 1000},
        {"field": "case.attribution", "op": "eq", "value": "product_quality"},
    ],
    "actions": [{"type": "route_to_queue", "value": "vip"}, {"type": "qc_priority", "value": True}],
    "active": True,
}


@pytest.fixture
def vip_queue(db):
    QueueFactory(code="general", name="普通售后", is_default=True)
    return QueueFactory(code="vip", name="VIP专席", purpose=Queue.Purpose.VIP)


@pytest.fixture
def quality(db) -> ProblemCategory:
    return ProblemCategoryFactory(name="做工", parent=ProblemCategoryFactory(name="质量问题"))


def make_rule(**overrides) -> AutomationRule:
    rule = AutomationRule(**{**HIGH_VALUE_QUALITY, **overrides})
    rule.full_clean()
    rule.save()
    return rule


def open_case_on(agent, *, price: str, category=None, reason="拉链坏了"):
    line = OrderLineFactory(order=OrderFactory(), unit_price=Decimal(price), quantity=1)
    return services.case_open(
        actor=agent,
        order_id=line.order_id,
        lines=[(line.pk, 1)],
        request_type="return_refund",
        category_id=category.pk if category else None,
        reason=reason,
    )


def test_high_value_quality_rule_fires_on_open_and_logs_itself(policy, agent, vip_queue, quality):
    rule = make_rule()
    case = open_case_on(agent, price="1299.00", category=quality)
    assert case.queue == vip_queue and case.qc_priority
    event = CaseEvent.objects.get(case=case, name="rule")
    version = rule.history.latest().history_id
    assert event.data["rule"] == rule.pk and event.data["version"] == version
    assert any("¥1,299.00 ≥ ¥1,000.00" in reason for reason in event.data["reasons"]), event.data["reasons"]
    assert rule.name in event.note


def test_the_rule_stays_quiet_when_a_condition_fails(policy, agent, vip_queue, quality):
    make_rule()
    cheap = open_case_on(agent, price="99.00", category=quality)
    no_category = open_case_on(agent, price="1299.00")
    for case in (cheap, no_category):
        assert case.queue.code == "general" and not case.qc_priority
        assert not CaseEvent.objects.filter(case=case, name="rule").exists()


def test_any_match_fires_on_one_condition(policy, agent, vip_queue):
    make_rule(match=AutomationRule.Match.ANY)
    assert open_case_on(agent, price="1299.00").queue == vip_queue


def test_inactive_rules_do_not_fire(policy, agent, vip_queue, quality):
    make_rule(active=False)
    assert open_case_on(agent, price="1299.00", category=quality).queue.code == "general"


def test_rules_run_in_order_and_may_stop_the_rest(policy, agent, vip_queue, quality):
    make_rule(name="first", position=1, actions=[{"type": "set_priority", "value": "red"}], stop_processing=True)
    make_rule(name="second", position=2)
    case = open_case_on(agent, price="1299.00", category=quality)
    assert case.priority == "red" and case.queue.code == "general"
    assert list(CaseEvent.objects.filter(case=case, name="rule").values_list("data__rule_name", flat=True)) == ["first"]


def test_state_changed_rules_fire_on_transitions(policy, agent, supervisor, vip_queue):
    supervisor.email = "boss@shop.example.com"
    supervisor.save()
    make_rule(
        name="退货单审核通过 → 通知主管",
        trigger=AutomationRule.Trigger.STATE_CHANGED,
        conditions=[{"field": "case.state", "op": "eq", "value": "awaiting_return"}],
        actions=[{"type": "notify_group", "value": "supervisor"}],
    )
    case = open_case_on(agent, price="99.00")
    assert not CaseEvent.objects.filter(case=case, name="rule").exists()
    services.case_approve(case_id=case.pk, actor=agent)
    assert CaseEvent.objects.filter(case=case, name="rule").count() == 1
    assert Notification.objects.filter(case=case, recipient="boss@shop.example.com", kind="staff_alert").exists()


def test_editing_a_rule_makes_a_new_version_and_firings_name_it(policy, agent, vip_queue, quality):
    rule = make_rule()
    first = rule.history.latest().history_id
    rule.conditions = [{"field": "order.value", "op": "gte", "value": 2000}]
    rule.save()
    assert rule.history.count() == 2
    assert rule.history.latest().history_id != first
    case = open_case_on(agent, price="2500.00")
    assert CaseEvent.objects.get(case=case, name="rule").data["version"] == rule.history.latest().history_id
    old = rule.history.earliest()
    assert old.conditions[0]["value"] == 1000  # the old version is kept as it was


def test_the_dry_run_reports_without_side_effects(policy, agent, vip_queue, quality):
    matching = open_case_on(agent, price="1299.00", category=quality)
    other = open_case_on(agent, price="99.00", category=quality)
    rule = make_rule(active=False)
    before = (
        CaseEvent.objects.count(),
        Notification.objects.count(),
        list(Case.objects.values_list("queue_id", "qc_priority", "version")),
    )
    rows = {row.case.pk: row for row in dry_run(rule, last=50)}
    assert rows[matching.pk].fired and not rows[other.pk].fired
    assert any("质量" in r or "quality" in r.lower() for r in rows[matching.pk].reasons)
    after = (
        CaseEvent.objects.count(),
        Notification.objects.count(),
        list(Case.objects.values_list("queue_id", "qc_priority", "version")),
    )
    assert before == after


def test_reasons_say_choices_and_yes_or_no_in_words(policy, agent, vip_queue):
    case = open_case_on(agent, price="99.00")
    rule = make_rule(
        active=False,
        conditions=[
            {"field": "case.request_type", "op": "eq", "value": "return_refund"},
            {"field": "case.crisis", "op": "eq", "value": False},
        ],
    )
    (row,) = [row for row in dry_run(rule, last=5) if row.case.pk == case.pk]
    assert row.fired
    assert row.reasons == ["售后类型 退货退款 = 退货退款", "危机 否 = 否"]


def test_the_rule_list_says_what_a_rule_does_in_words():
    from aftersales.automation.rules import describe_action, describe_condition

    assert describe_condition({"field": "case.state", "op": "eq", "value": "escalated"}) == "状态 = 升级处理"
    assert describe_condition({"field": "order.value", "op": "gte", "value": 1000}) == "订单金额 ≥ 1000"
    assert describe_action({"type": "notify_group", "value": "supervisor"}) == "通知角色组: 售后主管"
    assert describe_action({"type": "set_priority", "value": "red"}).endswith(": 红")


def test_the_dry_run_page_in_the_admin(login, supervisor, policy, agent, vip_queue, quality):
    supervisor.is_staff = True
    supervisor.save()
    matching = open_case_on(agent, price="1299.00", category=quality)
    rule = make_rule(active=False)
    response = login(supervisor).get(reverse("admin:aftersales_automationrule_dry_run"), {"ids": rule.pk, "last": 20})
    assert response.status_code == 200
    html = response.content.decode()
    assert matching.number in html and "1,299.00" in html
    assert not CaseEvent.objects.filter(name="rule").exists()


@pytest.mark.parametrize(
    ("conditions", "actions", "field", "fragment"),
    [
        (
            [{"field": "order.colour", "op": "eq", "value": "red"}],
            [{"type": "qc_priority"}],
            "conditions",
            "order.colour",
        ),
        (
            [{"field": "order.value", "op": "contains", "value": "9"}],
            [{"type": "qc_priority"}],
            "conditions",
            "contains",
        ),
        (
            [{"field": "order.value", "op": "gte", "value": "lots"}],
            [{"type": "qc_priority"}],
            "conditions",
            "order.value",
        ),
        (
            [{"field": "case.request_type", "op": "eq", "value": "refund_all"}],
            [{"type": "qc_priority"}],
            "conditions",
            "refund_only",
        ),
        ([], [{"type": "route_to_queue", "value": "nowhere"}], "actions", "nowhere"),
        ([], [{"type": "teleport"}], "actions", "teleport"),
        ([], [{"type": "assign", "value": "ghost"}], "actions", "ghost"),
        ([], [], "actions", ""),
    ],
)
def test_bad_rules_are_refused_naming_the_entry(db, vip_queue, conditions, actions, field, fragment):
    rule = AutomationRule(name="bad", conditions=conditions, actions=actions)
    with pytest.raises(ValidationError) as excinfo:
        rule.full_clean()
    messages = " ".join(excinfo.value.message_dict[field])
    assert fragment in messages


def test_routing_to_another_queue_picks_an_agent_of_that_queue(policy, agent, vip_queue, quality):
    from tests.factories import UserFactory

    general_agent, vip_agent = (
        UserFactory(username="general_agent", roles=["agent"]),
        UserFactory(username="vip_agent", roles=["agent"]),
    )
    Queue.objects.get(code="general").members.add(general_agent)
    vip_queue.members.add(vip_agent)
    make_rule()
    routed = open_case_on(agent, price="1299.00", category=quality)
    assert routed.queue == vip_queue and routed.assignee == vip_agent
    stays = open_case_on(agent, price="99.00", category=quality)
    assert stays.assignee == general_agent


def test_the_dry_run_sees_customer_figures_as_the_live_run_did(policy, agent, vip_queue):
    rule = make_rule(
        conditions=[{"field": "customer.claims_90d", "op": "gte", "value": 1}],
        actions=[{"type": "qc_priority", "value": True}],
    )
    first = open_case_on(agent, price="99.00")
    assert not first.qc_priority  # the customer's first claim: no earlier claims
    rows = {row.case.pk: row.fired for row in dry_run(rule, last=10)}
    assert rows[first.pk] is False
