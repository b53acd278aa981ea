"""The queue page: scoped, filtered, deadline first, fixed queries; claim and bulk assign; the status board."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales import services
from aftersales.models import Case, CaseState, Queue
from customers.models import Customer
from tests.factories import ProblemCategoryFactory, QueueFactory, UserFactory
from tests.helpers import open_many, queries_of

S = CaseState
QUEUE = reverse("desk:queue")
pytestmark = pytest.mark.usefixtures("policy")


def numbers(response) -> list[str]:
    return [row["number"] for row in response.context["rows"]]


@pytest.fixture
def agent_client(login, agent):
    return login(agent)


def test_default_shows_open_cases_most_urgent_deadline_first(agent_client, agent, supervisor):
    first, second, third = open_many(agent, 3)
    Case.objects.filter(pk=first.pk).update(stage_due_at=timezone.now() + timedelta(hours=5))
    Case.objects.filter(pk=second.pk).update(stage_due_at=timezone.now() - timedelta(hours=1))
    Case.objects.filter(pk=third.pk).update(stage_due_at=timezone.now() + timedelta(minutes=20))
    cancelled = open_many(agent, 1)[0]
    services.case_cancel(case_id=cancelled.pk, actor=agent)
    response = agent_client.get(QUEUE)
    assert numbers(response) == [second.number, third.number, first.number]
    html = response.content.decode()
    assert 'class="due breached"' in html and 'class="due soon"' in html and 'class="due ok"' in html
    assert "已超时" in html and "剩余" in html
    assert numbers(agent_client.get(QUEUE, {"state": "any"})).count(cancelled.number) == 1
    assert numbers(agent_client.get(QUEUE, {"state": "cancelled"})) == [cancelled.number]


def test_search_by_case_number_order_number_phone_or_tracking_number(agent_client, agent, qc):
    target, _other = open_many(agent, 2)
    for term in (target.number, target.order.number, target.customer.phone, target.number.lower()):
        assert numbers(agent_client.get(QUEUE, {"q": term})) == [target.number], term
    services.case_approve(case_id=target.pk, actor=agent)
    services.case_receive(case_id=target.pk, actor=qc, tracking_number="YT9988776655")
    assert numbers(agent_client.get(QUEUE, {"q": "YT9988776655"})) == [target.number]
    assert numbers(agent_client.get(QUEUE, {"q": "DD-NOT-THERE"})) == []


def test_filters_by_priority_type_channel_vip_and_crisis(agent_client, agent, supervisor):
    red, vip, crisis, _plain = open_many(agent, 4)
    services.case_update(case_id=red.pk, actor=supervisor, changes={"priority": "red"})
    customer = vip.customer
    customer.tier = Customer.Tier.VIP
    customer.save()  # as the admin saves it: the tier is copied on the customer's cases
    services.case_update(case_id=crisis.pk, actor=supervisor, changes={"crisis": True})
    assert numbers(agent_client.get(QUEUE, {"priority": "red"})) == [red.number]
    assert numbers(agent_client.get(QUEUE, {"vip": "on"})) == [vip.number]
    assert numbers(agent_client.get(QUEUE, {"crisis": "on"})) == [crisis.number]
    assert numbers(agent_client.get(QUEUE, {"request_type": "exchange"})) == []
    assert len(numbers(agent_client.get(QUEUE, {"channel": "app"}))) == 4
    customer.tier = Customer.Tier.REGULAR
    customer.save()
    assert numbers(agent_client.get(QUEUE, {"vip": "on"})) == []


def test_a_case_opened_for_a_vip_customer_is_a_vip_case(agent, policy):
    from tests.factories import CustomerFactory, OrderFactory, OrderLineFactory

    line = OrderLineFactory(order=OrderFactory(customer=CustomerFactory(tier=Customer.Tier.VIP)))
    case = services.case_open(actor=agent, order_id=line.order_id, lines=[(line.pk, 1)], request_type="refund_only")
    assert case.vip and Case.objects.filter(pk=case.pk, vip=True).exists()


def test_category_filter_includes_the_levels_below(agent_client, agent, supervisor):
    quality = ProblemCategoryFactory(name="质量问题")
    fabric = ProblemCategoryFactory(name="面料", parent=quality)
    pilling = ProblemCategoryFactory(name="起球", parent=fabric)
    logistics = ProblemCategoryFactory(name="物流问题")
    a, b, c = open_many(agent, 3)
    services.case_update(case_id=a.pk, actor=supervisor, changes={"category": pilling})
    services.case_update(case_id=b.pk, actor=supervisor, changes={"category": fabric})
    services.case_update(case_id=c.pk, actor=supervisor, changes={"category": logistics})
    assert set(numbers(agent_client.get(QUEUE, {"category": quality.pk}))) == {a.number, b.number}
    assert numbers(agent_client.get(QUEUE, {"category": pilling.pk})) == [a.number]
    assert "质量问题 › 面料 › 起球" in agent_client.get(QUEUE, {"reset": 1}).content.decode()


def test_sla_filters_breached_and_due_within_the_hour(agent_client, agent):
    late, soon, fine = open_many(agent, 3)
    now = timezone.now()
    Case.objects.filter(pk=late.pk).update(stage_due_at=now - timedelta(minutes=1))
    Case.objects.filter(pk=soon.pk).update(stage_due_at=now + timedelta(minutes=30))
    Case.objects.filter(pk=fine.pk).update(stage_due_at=now + timedelta(hours=3))
    assert numbers(agent_client.get(QUEUE, {"sla": "breached"})) == [late.number]
    assert numbers(agent_client.get(QUEUE, {"sla": "soon"})) == [soon.number]
    assert numbers(agent_client.get(QUEUE, {"sla": "ok"})) == [fine.number]


def test_my_cases_my_queues_and_unassigned(agent_client, agent, supervisor):
    mine, queued, loose = open_many(agent, 3)
    services.case_claim(case_id=mine.pk, actor=agent)
    queue = QueueFactory(code="general", name="普通售后")
    queue.members.add(agent)
    Case.objects.filter(pk=queued.pk).update(queue=queue)
    assert numbers(agent_client.get(QUEUE, {"view": "mine"})) == [mine.number]
    assert numbers(agent_client.get(QUEUE, {"view": "queues"})) == [queued.number]
    assert set(numbers(agent_client.get(QUEUE, {"view": "unassigned"}))) == {queued.number, loose.number}


def test_invalid_filter_values_are_reported_not_crashing(agent_client, agent):
    open_many(agent, 1)
    response = agent_client.get(QUEUE, {"priority": "purple", "category": "abc", "page": "zzz", "per_page": "9999"})
    assert response.status_code == 200
    assert "priority" in response.context["filter"].form.errors
    assert len(numbers(response)) == 1


def test_pages_of_25(agent_client, agent):
    open_many(agent, 27)
    first = agent_client.get(QUEUE, {"per_page": 25})
    assert len(numbers(first)) == 25 and first.context["paginator"].count == 27
    assert len(numbers(agent_client.get(QUEUE, {"per_page": 25, "page": 2}))) == 2


def test_the_queue_costs_the_same_queries_for_3_or_30_cases(agent_client, agent, supervisor):
    quality = ProblemCategoryFactory(name="质量问题")
    leaf = ProblemCategoryFactory(name="起球", parent=ProblemCategoryFactory(name="面料", parent=quality))
    for case in open_many(agent, 3):
        services.case_update(case_id=case.pk, actor=supervisor, changes={"category": leaf, "assignee": agent})
    params = {"per_page": 100}
    agent_client.get(QUEUE, params)
    few = queries_of(agent_client, QUEUE, params)
    for case in open_many(agent, 27):
        services.case_update(case_id=case.pk, actor=supervisor, changes={"category": leaf, "assignee": agent})
    many = queries_of(agent_client, QUEUE, params)
    assert len(few) == len(many), "\n".join(many)
    filtered = {"per_page": 100, "category": quality.pk, "vip": "on", "sla": "breached", "q": "138"}
    assert len(queries_of(agent_client, QUEUE, filtered)) <= len(many) + 2


def test_the_queue_never_counts_the_whole_table(agent_client, agent):
    open_many(agent, 2)
    counts = [sql for sql in queries_of(agent_client, QUEUE) if "COUNT(" in sql.upper()]
    assert counts and all("LIMIT 10001" in sql for sql in counts), counts


# -- claim and bulk -------------------------------------------------------------------
def test_claim_from_the_list(agent_client, agent):
    case = open_many(agent, 1)[0]
    response = agent_client.post(
        reverse("desk:case_action", args=[case.pk, "claim"]) + "?next=" + QUEUE, {"expected_version": case.version}
    )
    assert response.status_code == 302 and response["Location"] == QUEUE
    assert Case.objects.get(pk=case.pk).assignee == agent


def test_bulk_claim_reports_what_it_could_not_take(agent_client, agent):
    free, taken = open_many(agent, 2)
    services.case_claim(case_id=taken.pk, actor=UserFactory(username="agent2", roles=["agent"]))
    response = agent_client.post(reverse("desk:bulk"), {"action": "claim", "cases": [free.pk, taken.pk]}, follow=True)
    texts = [str(m) for m in response.context["messages"]]
    assert any(free.number in t and "已认领" in t for t in texts)
    assert any(taken.number in t and "agent2" in t for t in texts)
    assert Case.objects.get(pk=free.pk).assignee == agent


def test_bulk_assign_is_for_supervisors(login, agent, supervisor):
    cases = open_many(agent, 2)
    ids = [c.pk for c in cases]
    assert (
        login(agent).post(reverse("desk:bulk"), {"action": "assign", "cases": ids, "assignee": agent.pk}).status_code
        == 403
    )
    assert not Case.objects.filter(assignee=agent).exists()
    response = login(supervisor).post(reverse("desk:bulk"), {"action": "assign", "cases": ids, "assignee": agent.pk})
    assert response.status_code == 302
    assert Case.objects.filter(pk__in=ids, assignee=agent).count() == 2


def test_bulk_assign_without_an_assignee_is_refused(login, agent, supervisor):
    case = open_many(agent, 1)[0]
    response = login(supervisor).post(reverse("desk:bulk"), {"action": "assign", "cases": [case.pk]}, follow=True)
    assert any("请选择分派给谁" in str(m) for m in response.context["messages"])
    assert Case.objects.get(pk=case.pk).assignee is None


@pytest.mark.parametrize("bad", ["99999999999999999999", "-1", "abc", ""])
def test_bulk_with_malformed_ids_answers_with_a_message(agent_client, bad):
    response = agent_client.post(reverse("desk:bulk"), {"action": "claim", "cases": [bad]}, follow=True)
    assert response.status_code == 200
    assert list(response.context["messages"])


def test_bulk_never_touches_cases_outside_the_scope(agent_client, agent):
    case = open_many(agent, 1)[0]
    Case.objects.filter(pk=case.pk).update(queue=QueueFactory(code="vip", name="VIP", purpose=Queue.Purpose.VIP))
    agent_client.post(reverse("desk:bulk"), {"action": "claim", "cases": [case.pk]})
    assert Case.objects.get(pk=case.pk).assignee is None


# -- status board ----------------------------------------------------------------------
def test_board_counts_open_cases_by_state_and_colour_with_links(login, agent, supervisor):
    a, b, c = open_many(agent, 3)
    services.case_update(case_id=a.pk, actor=supervisor, changes={"priority": "red"})
    services.case_approve(case_id=b.pk, actor=agent)
    services.case_cancel(case_id=c.pk, actor=agent)
    Case.objects.filter(pk=b.pk).update(stage_due_at=timezone.now() - timedelta(hours=1))
    response = login(supervisor).get(reverse("desk:board"))
    rows = {row.state: row for row in response.context["rows"]}
    assert rows[S.PENDING_REVIEW].counts == {"red": 1, "yellow": 0, "green": 0}
    assert rows[S.AWAITING_RETURN].total == 1 and rows[S.AWAITING_RETURN].breached == 1
    assert response.context["grand_total"] == 2
    html = response.content.decode()
    assert f"{QUEUE}?state=pending_review&amp;priority=red" in html
    assert f"{QUEUE}?state=awaiting_return&amp;sla=breached" in html


def test_board_is_scoped_and_costs_fixed_queries(login, agent, supervisor):
    cases = open_many(agent, 2)
    Case.objects.filter(pk=cases[0].pk).update(queue=QueueFactory(code="vip", name="VIP"))
    client = login(agent)
    assert client.get(reverse("desk:board")).context["grand_total"] == 1
    few = queries_of(client, reverse("desk:board"))
    open_many(agent, 10)
    assert len(queries_of(client, reverse("desk:board"))) == len(few)
