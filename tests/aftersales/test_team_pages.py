"""Approvals and payouts for a team: waiting work by age on the board, small offers approved together, a refused
decision that keeps the supervisor on the list, and a payouts list finance can search, filter and age."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales import services
from aftersales.models import Case, CaseState, Compensation

pytestmark = pytest.mark.django_db
S = CaseState


@pytest.fixture
def waiting_offers(case_in, order, users):
    """Two offers above the agent's ¥200: a small one (¥250) and a big one (¥1,299)."""
    shirt, jacket = order.lines.get(sku="TS-001"), order.lines.get(sku="JK-002")
    small = case_in(S.COMPENSATION, lines=[(shirt.pk, 1)])
    services.compensation_add(case_id=small.pk, actor=users["agent"], kind="refund", amount="99.00")
    services.compensation_add(case_id=small.pk, actor=users["agent"], kind="cash", amount="151.00")
    services.case_submit_offer(case_id=small.pk, actor=users["agent"])
    big = case_in(S.COMPENSATION, lines=[(jacket.pk, 1)])
    services.compensation_add(case_id=big.pk, actor=users["agent"], kind="refund", amount="1299.00")
    services.case_submit_offer(case_id=big.pk, actor=users["agent"])
    return Case.objects.get(pk=small.pk), Case.objects.get(pk=big.pk)


def numbers(response) -> list[str]:
    return [row["case"].number for row in response.context["rows"]]


def test_small_offers_are_listed_apart(login, supervisor, waiting_offers):
    small, big = waiting_offers
    client = login(supervisor)
    assert set(numbers(client.get(reverse("desk:approvals")))) == {small.number, big.number}
    assert numbers(client.get(reverse("desk:approvals"), {"small": 1})) == [small.number]


def test_bulk_approval_approves_each_offer_and_refuses_a_stale_one(login, supervisor, agent, waiting_offers):
    small, big = waiting_offers
    services.case_add_note(case_id=big.pk, actor=agent, text="顾客又来电")  # the big one changed since the page
    response = login(supervisor).post(
        reverse("desk:approvals_bulk"),
        {"offers": [f"{small.pk}:{small.version}", f"{big.pk}:{big.version}"], "next": "/approvals/?small=1"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/approvals/?small=1"
    texts = [str(m) for m in response.context["messages"]]
    assert any(small.number in t and "已批准 1 个" in t for t in texts)
    assert any(big.number in t and "已被他人修改" in t for t in texts)
    assert Case.objects.get(pk=small.pk).state == S.AWAITING_CONFIRMATION
    assert Case.objects.get(pk=big.pk).state == S.AWAITING_APPROVAL
    assert Case.objects.get(pk=small.pk).events.filter(name="approve_offer").count() == 1


def test_only_supervisors_approve_in_bulk(login, agent, waiting_offers):
    small, _big = waiting_offers
    response = login(agent).post(reverse("desk:approvals_bulk"), {"offers": [f"{small.pk}:{small.version}"]})
    assert response.status_code == 403
    assert Case.objects.get(pk=small.pk).state == S.AWAITING_APPROVAL


def test_a_refused_decision_keeps_the_supervisor_on_the_list(login, supervisor, waiting_offers):
    small, _big = waiting_offers
    url = reverse("desk:case_action", args=[small.pk, "return_offer"]) + "?next=/approvals/"
    response = login(supervisor).post(url, {"expected_version": small.version, "note": "", "stay": "1"}, follow=True)
    assert response.redirect_chain[-1][0] == "/approvals/"
    assert any(small.number in str(m) and "退回原因" in str(m) for m in response.context["messages"])
    assert Case.objects.get(pk=small.pk).state == S.AWAITING_APPROVAL


def test_the_board_shows_waiting_approvals_and_unpaid_money_by_age(login, supervisor, agent, waiting_offers):
    from django.core.cache import cache

    cache.clear()  # the board keeps its payout ages for a minute
    small, big = waiting_offers
    Case.objects.filter(pk=big.pk).update(stage_due_at=timezone.now() - timedelta(days=2))  # long overdue
    services.case_approve_offer(case_id=small.pk, actor=supervisor)
    services.case_confirm(case_id=small.pk, actor=agent)
    Compensation.objects.filter(case=small, kind="cash").update(payable_at=timezone.now() - timedelta(days=5))
    board = login(supervisor).get(reverse("desk:board")).context
    approvals = {item["band"].key: item["count"] for item in board["approvals_by_age"]}
    assert approvals == {"fresh": 0, "days": 0, "old": 1}  # the small one was approved; the big one waits
    payouts = {item["band"].key: (item["count"], str(item["amount"])) for item in board["payouts_by_age"]}
    assert payouts == {"fresh": (1, "99.00"), "days": (0, "0.00"), "old": (1, "151.00")}
    assert login(agent).get(reverse("desk:board")).context["approvals_by_age"] is None


@pytest.fixture
def payable(waiting_offers, supervisor, agent):
    small, _big = waiting_offers
    services.case_approve_offer(case_id=small.pk, actor=supervisor)
    services.case_confirm(case_id=small.pk, actor=agent)
    Compensation.objects.filter(case=small, kind="cash").update(payable_at=timezone.now() - timedelta(days=4))
    return small


def kinds(response) -> list[str]:
    return sorted(row["comp"].kind for row in response.context["rows"])


def test_payouts_search_filter_and_age(login, finance, payable):
    client = login(finance)
    url = reverse("desk:finance")
    assert kinds(client.get(url)) == ["cash", "refund"]
    assert kinds(client.get(url, {"q": payable.number})) == ["cash", "refund"]
    assert kinds(client.get(url, {"q": "AS19990101-000001"})) == []
    assert kinds(client.get(url, {"kind": "cash"})) == ["cash"]
    assert kinds(client.get(url, {"channel": payable.channel})) == ["cash", "refund"]
    assert kinds(client.get(url, {"age": "3"})) == ["cash"]
    response = client.get(url)
    aged = {row["comp"].kind: row["aged"] for row in response.context["rows"]}
    assert aged == {"cash": True, "refund": False}
    assert response.content.decode().count("data-aged") == 1
    kind_choices = [value for value, _label in response.context["filter"].form.fields["kind"].choices if value]
    assert set(kind_choices) == set(Compensation.CASH_KINDS)  # the cash tab offers only money kinds


def test_a_payout_is_marked_paid_from_its_row_and_a_missing_reference_keeps_finance_on_the_list(
    login, finance, payable
):
    client = login(finance)
    refund = Compensation.objects.get(case=payable, kind="refund")
    url = reverse("desk:compensation_action", args=[payable.pk, refund.pk, "mark_paid"]) + "?next=/finance/"
    refused = client.post(url, {"payout_reference": "", "stay": "1"}, follow=True)
    assert refused.redirect_chain[-1][0] == "/finance/"
    assert any(payable.number in str(m) for m in refused.context["messages"])
    assert Compensation.objects.get(pk=refund.pk).state == "approved"
    client.post(url, {"payout_reference": "TX-20261201-1", "stay": "1"})
    assert Compensation.objects.get(pk=refund.pk).state == "paid"
