"""Conditions of each transition: refused with a message naming the problem, nothing written."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from aftersales import services
from aftersales.errors import NotAllowed
from aftersales.models import Case, CaseEvent, CaseState, Notification
from aftersales.services._base import ensure_may
from tests.factories import ProblemCategoryFactory

S = CaseState


def _deliver(order, days_ago):
    order.delivered_at = timezone.now() - timedelta(days=days_ago)
    order.placed_at = order.delivered_at - timedelta(days=2)
    order.save()


# -- approve ---------------------------------------------------------------
def test_approve_outside_the_no_reason_window_is_refused_with_dates(open_case, order, agent):
    _deliver(order, 10)
    case = open_case()
    with pytest.raises(NotAllowed, match="7"):
        services.case_approve(case_id=case.pk, actor=agent)
    assert Case.objects.get(pk=case.pk).state == S.PENDING_REVIEW
    assert not CaseEvent.objects.filter(case=case, name="approve").exists()


def test_quality_problem_gets_the_longer_quality_window(open_case, order, agent):
    _deliver(order, 10)
    quality = ProblemCategoryFactory(name="质量问题", attribution="product_quality")
    case = open_case(category_id=quality.pk)
    assert services.case_approve(case_id=case.pk, actor=agent).state == S.AWAITING_RETURN


def test_supervisor_may_override_the_window_and_the_event_says_so(open_case, order, supervisor):
    _deliver(order, 10)
    case = open_case()
    services.case_approve(case_id=case.pk, actor=supervisor, override_window=True, note="老顾客特批")
    event = CaseEvent.objects.get(case=case, name="approve")
    assert event.data["window_override"] is True


def test_agent_cannot_override_the_window(open_case, order, agent):
    _deliver(order, 10)
    case = open_case()
    with pytest.raises(PermissionDenied):
        services.case_approve(case_id=case.pk, actor=agent, override_window=True)
    assert Case.objects.get(pk=case.pk).state == S.PENDING_REVIEW


def test_refund_only_goes_straight_to_compensation(open_case, agent):
    case = open_case(request_type="refund_only")
    assert services.case_approve(case_id=case.pk, actor=agent).state == S.COMPENSATION


def test_auto_approve_waits_for_the_review_deadline_then_approves_once(open_case):
    case = open_case()
    with pytest.raises(NotAllowed):
        services.case_auto_approve(case_id=case.pk)
    later = case.stage_due_at + timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        approved = services.case_auto_approve(case_id=case.pk)
        assert approved.state == S.AWAITING_RETURN
        with pytest.raises(NotAllowed):
            services.case_auto_approve(case_id=case.pk)
    event = CaseEvent.objects.get(case=case, name="auto_approve")
    assert event.actor is None
    assert approved.first_response_at is None


def test_system_transitions_are_refused_to_users(case_in, supervisor):
    case = case_in(S.PENDING_REVIEW)
    with pytest.raises(PermissionDenied):
        ensure_may(case, "auto_approve", supervisor)


def test_users_only_transitions_are_refused_to_the_system(case_in):
    case = case_in(S.PENDING_REVIEW)
    with pytest.raises(PermissionDenied):
        ensure_may(case, "approve", None)


# -- quick refund ------------------------------------------------------------
def test_quick_refund_for_good_credit_is_payable_at_approval(open_case, order, agent):
    order.customer.credit_score = 800
    order.customer.save()
    case = services.case_approve(case_id=open_case().pk, actor=agent)
    assert case.quick_refund is True
    refund = case.compensations.get()
    assert (refund.kind, refund.amount, refund.state, refund.payable) == ("refund", Decimal("99.00"), "approved", True)


@pytest.mark.parametrize(
    ("credit", "flags", "quantity_of_jacket"),
    [(650, [], 0), (800, ["frequent_claims"], 0), (800, [], 1)],
    ids=["low-credit", "flagged", "above-cap"],
)
def test_no_quick_refund_when_credit_flags_or_amount_disqualify(
    open_case, order, agent, credit, flags, quantity_of_jacket
):
    order.customer.credit_score = credit
    order.customer.risk_flags = flags
    order.customer.save()
    lines = list(order.lines.order_by("id"))
    wanted = [(lines[1].pk, 1)] if quantity_of_jacket else [(lines[0].pk, 1)]
    case = services.case_approve(case_id=open_case(lines=wanted).pk, actor=agent)
    assert case.quick_refund is False
    assert not case.compensations.exists()


def test_case_with_quick_refund_cannot_be_cancelled(open_case, order, agent):
    order.customer.credit_score = 900
    order.customer.save()
    case = services.case_approve(case_id=open_case().pk, actor=agent)
    with pytest.raises(NotAllowed, match=r"quick refund|极速退款"):
        services.case_cancel(case_id=case.pk, actor=agent)


def test_qc_finding_customer_at_fault_after_quick_refund_flags_recovery(open_case, order, agent, qc):
    order.customer.credit_score = 900
    order.customer.save()
    case = services.case_approve(case_id=open_case().pk, actor=agent)
    services.case_receive(case_id=case.pk, actor=qc, tracking_number="SF1")
    case = services.case_inspect(
        case_id=case.pk, actor=qc, grade="D", responsible_party="customer", disposition="scrap", findings="人为损坏"
    )
    assert case.state == S.REJECTED
    assert CaseEvent.objects.get(case=case, name="inspect").data["quick_refund_recovery"] is True


# -- reject / receive / inspect ---------------------------------------------
def test_reject_needs_a_reason(case_in, agent):
    case = case_in(S.PENDING_REVIEW)
    with pytest.raises(ValidationError) as excinfo:
        services.case_reject(case_id=case.pk, actor=agent, reason="  ")
    assert "reason" in excinfo.value.message_dict
    assert Case.objects.get(pk=case.pk).state == S.PENDING_REVIEW


def test_receive_needs_a_tracking_number(case_in, qc):
    case = case_in(S.AWAITING_RETURN)
    with pytest.raises(ValidationError) as excinfo:
        services.case_receive(case_id=case.pk, actor=qc, tracking_number="")
    assert "tracking_number" in excinfo.value.message_dict


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"grade": "Z", "responsible_party": "merchant", "disposition": "restock"}, "grade"),
        ({"grade": "A", "responsible_party": "aliens", "disposition": "restock"}, "responsible_party"),
        ({"grade": "A", "responsible_party": "merchant", "disposition": "burn"}, "disposition"),
        ({"grade": "D", "responsible_party": "customer", "disposition": "scrap"}, "findings"),
    ],
)
def test_inspection_input_is_checked_field_by_field(case_in, qc, kwargs, field):
    case = case_in(S.IN_QC)
    with pytest.raises(ValidationError) as excinfo:
        services.case_inspect(case_id=case.pk, actor=qc, **kwargs)
    assert field in excinfo.value.message_dict
    assert not case.inspections.exists()
    assert Case.objects.get(pk=case.pk).state == S.IN_QC


def test_customer_at_fault_rejects_the_case_with_the_findings(case_in, qc):
    case = case_in(S.IN_QC)
    case = services.case_inspect(
        case_id=case.pk,
        actor=qc,
        grade="wrong_item",
        responsible_party="customer",
        disposition="return_to_customer",
        findings="寄回的不是本店商品",
    )
    assert case.state == S.REJECTED
    assert case.reject_reason == "寄回的不是本店商品"
    assert case.inspections.get().inspector == qc


# -- propose / confirm / decline ----------------------------------------------
def test_propose_needs_a_compensation_or_a_described_offer(case_in, agent):
    case = case_in(S.COMPENSATION)
    with pytest.raises(ValidationError) as excinfo:
        services.case_propose(case_id=case.pk, actor=agent)
    assert "note" in excinfo.value.message_dict


def test_confirm_makes_approved_compensation_payable(case_in, channel_user):
    case = case_in(S.AWAITING_CONFIRMATION)
    comp = case.compensations.get()
    assert (comp.state, comp.payable) == ("approved", False)
    services.case_confirm(case_id=case.pk, actor=channel_user)
    comp.refresh_from_db()
    assert comp.payable and comp.payable_at is not None


def test_decline_voids_the_offer_and_reopens_negotiation(case_in, channel_user):
    case = case_in(S.AWAITING_CONFIRMATION)
    case = services.case_decline(case_id=case.pk, actor=channel_user, note="希望多补偿")
    assert case.state == S.COMPENSATION
    assert list(case.compensations.values_list("state", flat=True)) == ["voided"]


def test_auto_confirm_waits_for_the_confirmation_deadline(case_in):
    case = case_in(S.AWAITING_CONFIRMATION)
    with pytest.raises(NotAllowed):
        services.case_auto_confirm(case_id=case.pk)
    with time_machine.travel(case.stage_due_at + timedelta(seconds=1), tick=False):
        case = services.case_auto_confirm(case_id=case.pk)
    assert case.state == S.CLOSED
    assert case.compensations.get().payable


# -- escalation -----------------------------------------------------------------
def test_escalation_needs_a_reason_and_remembers_where_it_came_from(case_in, supervisor):
    case = case_in(S.IN_QC)
    with pytest.raises(ValidationError):
        services.case_escalate(case_id=case.pk, actor=supervisor, reason="")
    case = services.case_escalate(case_id=case.pk, actor=supervisor, reason="顾客要求平台介入")
    assert (case.state, case.escalated_from) == (S.ESCALATED, S.IN_QC)


def test_rules_may_escalate_as_the_system(case_in):
    case = case_in(S.PENDING_REVIEW)
    case = services.case_escalate(case_id=case.pk, actor=None, reason="危机词触发")
    assert case.state == S.ESCALATED
    assert CaseEvent.objects.get(case=case, name="escalate").actor is None


def test_resolve_escalation_checks_the_decision(case_in, supervisor):
    case = case_in(S.ESCALATED)
    with pytest.raises(ValidationError) as excinfo:
        services.case_resolve_escalation(case_id=case.pk, actor=supervisor, decision="in_qc", note="x")
    assert "decision" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        services.case_resolve_escalation(case_id=case.pk, actor=supervisor, decision="closed", note="")
    assert "note" in excinfo.value.message_dict


def test_resolving_escalation_to_compensation_lets_the_offer_be_reworked(case_in, supervisor, agent):
    case = case_in(S.ESCALATED)
    case = services.case_resolve_escalation(
        case_id=case.pk, actor=supervisor, decision="compensation", note="补偿优惠券"
    )
    assert case.state == S.COMPENSATION and case.closed_at is None
    services.compensation_add(case_id=case.pk, actor=agent, kind="coupon", amount="20")
    assert services.case_propose(case_id=case.pk, actor=agent).state == S.AWAITING_CONFIRMATION


def test_resolving_escalation_as_rejected_voids_unpaid_offers(case_in, supervisor, agent):
    case = case_in(S.COMPENSATION)
    services.compensation_add(case_id=case.pk, actor=agent, kind="cash", amount="30")
    services.case_escalate(case_id=case.pk, actor=supervisor, reason="争议")
    case = services.case_resolve_escalation(case_id=case.pk, actor=supervisor, decision="rejected", note="证据不足")
    assert case.state == S.REJECTED
    assert case.reject_reason == "证据不足"
    assert list(case.compensations.values_list("state", flat=True)) == ["voided"]


# -- side effects in the same transaction ----------------------------------------------------------
def test_the_customer_message_is_written_with_the_change_and_rolled_back_with_it(case_in, agent):
    case = case_in(S.PENDING_REVIEW)
    assert case.customer.email
    before = Notification.objects.filter(case=case).count()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.case_approve(case_id=case.pk, actor=agent)
        assert Notification.objects.filter(case=case, payload__action="approve").exists()
        raise RuntimeError("the caller's transaction fails after the service")
    assert Notification.objects.filter(case=case).count() == before
    assert Case.objects.get(pk=case.pk).state == S.PENDING_REVIEW
    services.case_approve(case_id=case.pk, actor=agent)
    assert Notification.objects.filter(case=case, payload__action="approve").count() == 1
    with pytest.raises(NotAllowed):
        services.case_approve(case_id=case.pk, actor=agent)
    assert Notification.objects.filter(case=case, payload__action="approve").count() == 1
