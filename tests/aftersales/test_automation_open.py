"""What happens when a case opens: emotion radar, crisis protocol, priority × SLA, routing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from aftersales import services
from aftersales.automation.radar import analyse
from aftersales.models import CaseEvent, LexiconWord, Notification, Priority, Queue
from aftersales.workflow.policy import initial_priority
from customers.models import Customer
from tests.factories import (
    AgentProfileFactory,
    OrderFactory,
    OrderLineFactory,
    ProductCategoryFactory,
    QueueFactory,
    UserFactory,
)

ANGRY = "你们就是骗子，垃圾商家，再不退款我就去12315投诉！"


@pytest.fixture
def queues(db):
    return {
        "general": QueueFactory(code="general", name="普通售后", purpose=Queue.Purpose.GENERAL, is_default=True),
        "vip": QueueFactory(code="vip", name="VIP专席", purpose=Queue.Purpose.VIP),
        "crisis": QueueFactory(code="crisis", name="危机处理", purpose=Queue.Purpose.CRISIS),
    }


def open_on_new_order(actor, customer, *, reason="", price="99.00", category=None, **kwargs):
    line = OrderLineFactory(
        order=OrderFactory(customer=customer),
        unit_price=Decimal(price),
        quantity=1,
        **({"category": category} if category else {}),
    )
    return services.case_open(
        actor=actor,
        order_id=line.order_id,
        lines=[(line.pk, 1)],
        request_type=kwargs.pop("request_type", "return_refund"),
        reason=reason,
        **kwargs,
    )


# -- emotion radar -----------------------------------------------------------------------------
def test_the_radar_names_the_words_it_heard_and_suggests_urgency(db):
    radar = analyse(ANGRY)
    assert {hit["word"] for hit in radar.words} >= {"骗子", "垃圾", "12315", "投诉"}
    assert radar.abusive and radar.urgency == 5
    calm = analyse("衣服有点起球，麻烦帮忙处理一下，谢谢")
    assert calm.words == [] and calm.urgency == 1 and not calm.abusive


def test_the_lexicon_is_editable(db):
    assert analyse("这个客服真是废物").words == []
    LexiconWord.objects.create(word="废物", kind=LexiconWord.Kind.ABUSIVE, weight=3)
    assert [hit["word"] for hit in analyse("这个客服真是废物").words] == ["废物"]
    LexiconWord.objects.filter(word="废物").update(active=False)
    assert analyse("这个客服真是废物").words == []


def test_an_angry_text_raises_the_urgency_and_is_kept_on_the_case(policy, order, agent):
    case = open_on_new_order(agent, order.customer, reason="太差劲了，气死我了", urgency=2)
    assert case.urgency == 4 and case.emotion_score == 4
    assert {hit["word"] for hit in case.emotion_words} == {"太差劲", "气死"}
    assert not case.crisis  # angry, not abusive


# -- crisis protocol ---------------------------------------------------------------------------
def test_abusive_words_with_a_prior_case_trigger_the_crisis_protocol(policy, order, agent, supervisor, queues):
    supervisor.email = "boss@shop.example.com"
    supervisor.save()
    open_on_new_order(agent, order.customer, reason="商品有划痕")  # a prior case in the last 30 days
    case = open_on_new_order(agent, order.customer, reason=ANGRY)
    assert case.crisis and case.priority == Priority.RED and case.queue == queues["crisis"]
    crisis = CaseEvent.objects.get(case=case, name="crisis")
    assert "骗子" in crisis.note and "2" in crisis.note
    alert = Notification.objects.get(case=case, recipient="boss@shop.example.com")
    assert case.number in alert.subject


def test_abusive_words_on_a_first_case_are_not_a_crisis(policy, order, agent, queues):
    case = open_on_new_order(agent, order.customer, reason=ANGRY)
    assert not case.crisis and case.queue == queues["general"]
    assert case.urgency == 5 and case.priority == Priority.RED  # still urgent


def test_a_calm_text_with_prior_cases_is_not_a_crisis(policy, order, agent, queues):
    open_on_new_order(agent, order.customer, reason="商品有划痕")
    case = open_on_new_order(agent, order.customer, reason="颜色和图片不一样，想退货")
    assert not case.crisis and not CaseEvent.objects.filter(case=case, name="crisis").exists()


def test_prior_cases_outside_the_window_do_not_count(policy, order, agent, queues):
    line = order.lines.first()
    services.case_open(
        actor=agent,
        order_id=order.pk,
        lines=[(line.pk, 1)],
        request_type="return_refund",
        at=timezone.now() - timedelta(days=40),
    )
    case = open_on_new_order(agent, order.customer, reason=ANGRY)
    assert not case.crisis


# -- priority and SLA ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("urgency", "vip", "value", "rtype", "crisis", "expected"),
    [
        (3, False, "99", "return_refund", False, Priority.GREEN),
        (3, True, "99", "return_refund", False, Priority.YELLOW),
        (3, False, "99", "complaint", False, Priority.YELLOW),
        (3, True, "1299", "return_refund", False, Priority.RED),
        (4, False, "1299", "return_refund", False, Priority.RED),
        (4, False, "99", "return_refund", False, Priority.YELLOW),
        (5, False, "10", "return_refund", False, Priority.RED),
        (1, False, "10", "return_refund", True, Priority.RED),
    ],
)
def test_priority_is_urgency_times_impact(urgency, vip, value, rtype, crisis, expected):
    assert (
        initial_priority(urgency=urgency, is_vip=vip, claim_value=Decimal(value), request_type=rtype, crisis=crisis)
        == expected
    )


def test_sla_deadlines_follow_the_colour(policy, order, agent):
    case = open_on_new_order(agent, order.customer, urgency=2)
    assert case.priority == Priority.GREEN
    assert case.first_response_due_at == case.opened_at + timedelta(hours=4)
    assert case.resolution_due_at == case.opened_at + timedelta(hours=72)


# -- routing -----------------------------------------------------------------------------------------
def test_a_vip_goes_to_the_vip_queue_and_their_dedicated_advisor(policy, order, agent, queues):
    advisor = UserFactory(username="advisor", roles=["agent"])
    Customer.objects.filter(pk=order.customer_id).update(tier=Customer.Tier.VIP, dedicated_advisor=advisor)
    order.customer.refresh_from_db()
    case = open_on_new_order(agent, order.customer)
    assert case.queue == queues["vip"] and case.assignee == advisor
    assert any("VIP" in reason for reason in CaseEvent.objects.get(case=case, name="open").data["route"])


def test_a_high_value_customer_with_few_claims_is_routed_to_the_vip_queue(policy, agent, queues):
    customer = OrderFactory().customer
    OrderLineFactory(order=OrderFactory(customer=customer), unit_price=Decimal("12000.00"), quantity=1)
    case = open_on_new_order(agent, customer)
    assert case.queue == queues["vip"]
    assert CaseEvent.objects.get(case=case, name="open").data["high_value"] is True


def test_many_claims_keep_a_big_spender_in_the_general_queue(policy, agent, queues):
    customer = OrderFactory().customer
    OrderLineFactory(order=OrderFactory(customer=customer), unit_price=Decimal("12000.00"), quantity=1)
    for _ in range(3):
        open_on_new_order(agent, customer)
    assert open_on_new_order(agent, customer).queue == queues["general"]


def test_within_a_queue_the_least_loaded_agent_with_the_skill_gets_the_case(policy, agent, queues):
    digital = ProductCategoryFactory(code="digital", name="数码")
    expert_a, expert_b, generalist = (
        UserFactory(username=n, roles=["agent"]) for n in ("expert_a", "expert_b", "generalist")
    )
    for user in (expert_a, expert_b):
        AgentProfileFactory(user=user).skills.add(digital)
    AgentProfileFactory(user=generalist)
    queues["general"].members.add(expert_a, expert_b, generalist)
    customer = OrderFactory().customer
    first = open_on_new_order(agent, customer, category=digital)
    second = open_on_new_order(agent, customer, category=digital)
    assert {first.assignee, second.assignee} == {expert_a, expert_b}  # skilled first, and the load evens out
    third = open_on_new_order(agent, customer, category=digital)
    assert third.assignee in (expert_a, expert_b)  # a skilled agent with one case beats an idle generalist
    apparel = ProductCategoryFactory(code="apparel", name="服饰")
    fourth = open_on_new_order(agent, customer, category=apparel)
    assert fourth.assignee == generalist  # nobody has the skill: the least loaded of all
