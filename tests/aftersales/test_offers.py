"""Offers above an agent's authority go to a supervisor instead of being refused."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from aftersales import services
from aftersales.errors import NotAllowed
from aftersales.models import Case, CaseEvent, CaseState, Compensation, CompensationState
from aftersales.selectors import offers_awaiting_approval
from aftersales.workflow.transitions import stage_clock

S = CaseState
CS = CompensationState


def event_time(case):
    return case.events.get(name="submit_offer").created_at


@pytest.fixture
def jacket_case(case_in, order):
    """A return of the ¥1,299 jacket, inspected and waiting for its offer."""
    jacket = order.lines.get(sku="JK-002")
    return case_in(S.COMPENSATION, lines=[(jacket.pk, 1)])


def test_offer_within_authority_goes_to_the_customer(case_in, agent):
    case = case_in(S.COMPENSATION)  # one T-shirt, ¥99; the agent's default authority is ¥200
    services.compensation_add(case_id=case.pk, actor=agent, kind="refund", amount="99")
    case = services.case_submit_offer(case_id=case.pk, actor=agent)
    assert case.state == S.AWAITING_CONFIRMATION
    assert not case.events.filter(name="submit_offer").exists()
    assert Compensation.objects.get(case=case).state == CS.APPROVED


def test_offer_above_authority_waits_for_a_supervisor(jacket_case, agent):
    services.compensation_add(case_id=jacket_case.pk, actor=agent, kind="refund", amount="1299")
    case = services.case_submit_offer(case_id=jacket_case.pk, actor=agent, note="全额退款")
    assert case.state == S.AWAITING_APPROVAL
    assert (case.waiting_on, case.stage_due_at) == stage_clock(
        S.AWAITING_APPROVAL, case.policy_version, event_time(case)
    )
    assert Compensation.objects.get(case=case).state == CS.PROPOSED
    event = CaseEvent.objects.filter(case=case).latest("id")
    assert (event.name, event.kind, event.actor) == ("submit_offer", CaseEvent.Kind.TRANSITION, agent)
    assert (event.from_state, event.to_state) == (S.COMPENSATION, S.AWAITING_APPROVAL)
    assert event.data["total"] == "1299.00" and event.data["authority"] == "200.00"
    assert list(offers_awaiting_approval()) == [case]


def test_the_offer_under_review_cannot_be_changed_or_sent_twice(jacket_case, agent):
    comp = services.compensation_add(case_id=jacket_case.pk, actor=agent, kind="refund", amount="1299")
    services.case_submit_offer(case_id=jacket_case.pk, actor=agent)
    with pytest.raises(NotAllowed, match="正在等待主管审批"):
        services.compensation_add(case_id=jacket_case.pk, actor=agent, kind="coupon", amount="10")
    with pytest.raises(NotAllowed, match="正在等待主管审批"):
        services.compensation_void(compensation_id=comp.pk, actor=agent, note="改方案")
    with pytest.raises(NotAllowed, match="已在等待主管审批"):
        services.case_submit_offer(case_id=jacket_case.pk, actor=agent)
    assert Compensation.objects.filter(case=jacket_case).count() == 1


def test_supervisor_approves_and_sends_the_offer(jacket_case, agent, supervisor):
    services.compensation_add(case_id=jacket_case.pk, actor=agent, kind="refund", amount="1299")
    services.case_submit_offer(case_id=jacket_case.pk, actor=agent)
    case = services.case_approve_offer(case_id=jacket_case.pk, actor=supervisor, note="质量问题，同意全额退款")
    assert case.state == S.AWAITING_CONFIRMATION and case.proposed_at is not None
    comp = Compensation.objects.get(case=case)
    assert comp.state == CS.APPROVED and comp.approved_by == supervisor
    approval = CaseEvent.objects.get(case=case, name="approve_offer")
    assert approval.actor == supervisor and approval.data["approved_for"] == agent.pk
    assert (approval.from_state, approval.to_state) == (S.AWAITING_APPROVAL, S.AWAITING_CONFIRMATION)
    assert not offers_awaiting_approval().exists()


def test_an_agent_cannot_approve_an_offer_above_their_authority(jacket_case, agent):
    services.compensation_add(case_id=jacket_case.pk, actor=agent, kind="refund", amount="1299")
    services.case_submit_offer(case_id=jacket_case.pk, actor=agent)
    with pytest.raises(PermissionDenied):
        services.case_approve_offer(case_id=jacket_case.pk, actor=agent)
    assert Case.objects.get(pk=jacket_case.pk).state == S.AWAITING_APPROVAL


def test_even_an_agent_with_a_high_limit_cannot_approve_another_agents_request(jacket_case, agent, users):
    from tests.factories import AgentProfileFactory, UserFactory

    senior = UserFactory(username="senior", roles=["agent"])
    AgentProfileFactory(user=senior, authority_limit="5000.00")
    services.compensation_add(case_id=jacket_case.pk, actor=agent, kind="refund", amount="1299")
    services.case_submit_offer(case_id=jacket_case.pk, actor=agent)
    with pytest.raises(PermissionDenied):
        services.case_approve_offer(case_id=jacket_case.pk, actor=senior)
    assert Case.objects.get(pk=jacket_case.pk).state == S.AWAITING_APPROVAL


def test_the_items_under_review_are_frozen_for_agents_in_every_service(jacket_case, agent, supervisor):
    comp = services.compensation_add(case_id=jacket_case.pk, actor=agent, kind="refund", amount="1299")
    services.case_submit_offer(case_id=jacket_case.pk, actor=agent)
    with pytest.raises(NotAllowed):
        services.compensation_reject(compensation_id=comp.pk, actor=agent, note="不给了")
    with pytest.raises(NotAllowed):
        services.compensation_approve(compensation_id=comp.pk, actor=agent)
    comp.refresh_from_db()
    assert comp.state == CS.PROPOSED
    services.compensation_approve(compensation_id=comp.pk, actor=supervisor)  # a supervisor may decide item by item
    comp.refresh_from_db()
    assert comp.state == CS.APPROVED


def test_supervisor_returns_the_offer_with_a_reason(jacket_case, agent, supervisor):
    comp = services.compensation_add(case_id=jacket_case.pk, actor=agent, kind="refund", amount="1299")
    services.case_submit_offer(case_id=jacket_case.pk, actor=agent)
    with pytest.raises(ValidationError) as excinfo:
        services.case_return_offer(case_id=jacket_case.pk, actor=supervisor, note="  ")
    assert "note" in excinfo.value.message_dict
    case = services.case_return_offer(case_id=jacket_case.pk, actor=supervisor, note="先给 30% 部分退款")
    assert case.state == S.COMPENSATION
    returned = CaseEvent.objects.filter(case=case).latest("id")
    assert (returned.name, returned.from_state, returned.to_state) == (
        "return_offer",
        S.AWAITING_APPROVAL,
        S.COMPENSATION,
    )
    assert returned.data["requested_by"] == agent.pk
    comp.refresh_from_db()
    assert comp.state == CS.REJECTED and comp.decision_note == "先给 30% 部分退款"
    # The agent revises the offer and sends it within authority.
    services.compensation_add(case_id=case.pk, actor=agent, kind="refund", amount="150")
    with pytest.raises(NotAllowed):
        services.case_approve_offer(case_id=case.pk, actor=supervisor)


def test_returning_or_approving_needs_a_pending_request(case_in, supervisor):
    case = case_in(S.COMPENSATION)
    with pytest.raises(NotAllowed, match="并未在等待"):
        services.case_return_offer(case_id=case.pk, actor=supervisor, note="x")
    with pytest.raises(NotAllowed, match="并未在等待"):
        services.case_approve_offer(case_id=case.pk, actor=supervisor)


def test_escalation_clears_a_pending_approval(jacket_case, agent, supervisor):
    services.compensation_add(case_id=jacket_case.pk, actor=agent, kind="refund", amount="1299")
    services.case_submit_offer(case_id=jacket_case.pk, actor=agent)
    case = services.case_escalate(case_id=jacket_case.pk, actor=supervisor, reason="顾客投诉升级")
    assert (case.state, case.escalated_from) == (S.ESCALATED, S.AWAITING_APPROVAL)
    assert not offers_awaiting_approval().exists()


def test_quick_refunds_do_not_count_against_the_agent(case_in, order, agent):
    """A quick refund is granted by the policy; the agent answers only for what they add."""
    order.customer.credit_score = 800
    order.customer.save()
    case = case_in(S.COMPENSATION)
    assert case.quick_refund
    services.compensation_add(case_id=case.pk, actor=agent, kind="coupon", amount="150")
    case = services.case_submit_offer(case_id=case.pk, actor=agent)
    assert case.state == S.AWAITING_CONFIRMATION
    states = dict(Compensation.objects.filter(case=case).values_list("kind", "state"))
    assert states == {"refund": CS.APPROVED, "coupon": CS.APPROVED}
