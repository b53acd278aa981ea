"""The compensation ledger: amounts, authority, payouts that never happen twice."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from aftersales import services
from aftersales.errors import NeedsApproval, NotAllowed
from aftersales.models import CaseEvent, CaseState, Compensation
from tests.factories import AgentProfileFactory

S = CaseState


@pytest.fixture
def offer_case(case_in):
    """A case in the compensation state whose goods (one T-shirt) are worth ¥99."""
    return case_in(S.COMPENSATION)


@pytest.mark.parametrize("amount", ["-5", "0", "12.345", "abc", "NaN"])
def test_bad_amounts_are_refused_naming_the_amount(offer_case, agent, amount):
    with pytest.raises(ValidationError) as excinfo:
        services.compensation_add(case_id=offer_case.pk, actor=agent, kind="cash", amount=amount)
    assert "amount" in excinfo.value.message_dict
    assert not Compensation.objects.exists()


def test_unknown_kind_is_refused(offer_case, agent):
    with pytest.raises(ValidationError) as excinfo:
        services.compensation_add(case_id=offer_case.pk, actor=agent, kind="bitcoin", amount="5")
    assert "kind" in excinfo.value.message_dict


def test_refunds_cannot_exceed_the_value_of_the_goods(offer_case, agent):
    services.compensation_add(case_id=offer_case.pk, actor=agent, kind="refund", amount="60")
    with pytest.raises(ValidationError) as excinfo:
        services.compensation_add(case_id=offer_case.pk, actor=agent, kind="refund", amount="40")
    assert "¥99.00" in excinfo.value.message_dict["amount"][0]
    assert Compensation.objects.count() == 1
    services.compensation_add(case_id=offer_case.pk, actor=agent, kind="refund", amount="39")


def test_compensation_only_while_the_offer_is_worked_out(case_in, agent):
    case = case_in(S.AWAITING_RETURN)
    with pytest.raises(NotAllowed):
        services.compensation_add(case_id=case.pk, actor=agent, kind="coupon", amount="10")


def test_qc_cannot_propose_compensation(offer_case, qc):
    with pytest.raises(PermissionDenied):
        services.compensation_add(case_id=offer_case.pk, actor=qc, kind="coupon", amount="10")


def test_adding_records_an_event_on_the_case(offer_case, agent):
    comp = services.compensation_add(case_id=offer_case.pk, actor=agent, kind="coupon", amount="10", note="无门槛券")
    event = CaseEvent.objects.filter(case=offer_case).latest("id")
    assert (event.kind, event.name, event.data["compensation"], event.data["amount"]) == (
        "compensation",
        "compensation_propose",
        comp.pk,
        "10.00",
    )


# -- authority --------------------------------------------------------------------
def test_agent_may_approve_within_the_policy_default_authority(offer_case, agent):
    comp = services.compensation_add(case_id=offer_case.pk, actor=agent, kind="cash", amount="200")
    assert services.compensation_approve(compensation_id=comp.pk, actor=agent).state == "approved"


def test_agent_above_authority_is_refused_and_told_to_ask_a_supervisor(offer_case, agent, supervisor):
    comp = services.compensation_add(case_id=offer_case.pk, actor=agent, kind="cash", amount="250")
    with pytest.raises(NeedsApproval, match="200"):
        services.compensation_approve(compensation_id=comp.pk, actor=agent)
    comp.refresh_from_db()
    assert comp.state == "proposed"
    assert services.compensation_approve(compensation_id=comp.pk, actor=supervisor).approved_by == supervisor


def test_splitting_an_amount_does_not_get_round_the_authority(offer_case, agent):
    first = services.compensation_add(case_id=offer_case.pk, actor=agent, kind="cash", amount="150")
    services.compensation_approve(compensation_id=first.pk, actor=agent)
    second = services.compensation_add(case_id=offer_case.pk, actor=agent, kind="coupon", amount="150")
    with pytest.raises(NeedsApproval, match="300"):
        services.compensation_approve(compensation_id=second.pk, actor=agent)


def test_personal_authority_limit_overrides_the_policy_default(offer_case, agent):
    AgentProfileFactory(user=agent, authority_limit=Decimal("1000.00"))
    comp = services.compensation_add(case_id=offer_case.pk, actor=agent, kind="cash", amount="800")
    assert services.compensation_approve(compensation_id=comp.pk, actor=agent).state == "approved"


def test_propose_above_authority_needs_a_supervisor_first(offer_case, agent, supervisor):
    comp = services.compensation_add(case_id=offer_case.pk, actor=agent, kind="cash", amount="500")
    with pytest.raises(NeedsApproval):
        services.case_propose(case_id=offer_case.pk, actor=agent)
    offer_case.refresh_from_db()
    assert offer_case.state == S.COMPENSATION
    services.compensation_approve(compensation_id=comp.pk, actor=supervisor)
    assert services.case_propose(case_id=offer_case.pk, actor=agent).state == S.AWAITING_CONFIRMATION


def test_quick_refund_does_not_use_up_the_agents_authority(open_case, order, agent, qc):
    order.customer.credit_score = 900
    order.customer.save()
    case = services.case_approve(case_id=open_case().pk, actor=agent)
    services.case_receive(case_id=case.pk, actor=qc, tracking_number="SF9")
    services.case_inspect(case_id=case.pk, actor=qc, grade="B", responsible_party="logistics", disposition="restock")
    services.compensation_add(case_id=case.pk, actor=agent, kind="return_shipping", amount="12")
    assert services.case_propose(case_id=case.pk, actor=agent).state == S.AWAITING_CONFIRMATION


def test_supervisor_rejects_an_over_authority_proposal_with_a_note(offer_case, agent, supervisor):
    comp = services.compensation_add(case_id=offer_case.pk, actor=agent, kind="cash", amount="500")
    with pytest.raises(ValidationError):
        services.compensation_reject(compensation_id=comp.pk, actor=supervisor, note="")
    comp = services.compensation_reject(compensation_id=comp.pk, actor=supervisor, note="金额过高，改发优惠券")
    assert comp.state == "rejected"


# -- payouts ----------------------------------------------------------------------
@pytest.fixture
def payable(case_in):
    case = case_in(S.CLOSED)
    return case.compensations.get()


def test_finance_marks_a_payable_compensation_paid_once(payable, finance):
    comp = services.compensation_mark_paid(compensation_id=payable.pk, actor=finance, payout_reference="WX-0001")
    assert (comp.state, comp.payout_reference, comp.paid_by) == ("paid", "WX-0001", finance)
    with pytest.raises(NotAllowed, match="WX-0001"):
        services.compensation_mark_paid(compensation_id=payable.pk, actor=finance, payout_reference="WX-0002")
    comp.refresh_from_db()
    assert comp.payout_reference == "WX-0001"
    assert CaseEvent.objects.filter(case=comp.case, name="compensation_mark_paid").count() == 1


def test_not_yet_payable_compensation_cannot_be_paid(case_in, finance):
    comp = case_in(S.AWAITING_CONFIRMATION).compensations.get()
    with pytest.raises(NotAllowed, match=r"payable|可打款|接受"):
        services.compensation_mark_paid(compensation_id=comp.pk, actor=finance, payout_reference="WX-9")
    comp.refresh_from_db()
    assert comp.state == "approved"


def test_only_finance_marks_paid(payable, agent, supervisor):
    for user in (agent, supervisor):
        with pytest.raises(PermissionDenied):
            services.compensation_mark_paid(compensation_id=payable.pk, actor=user, payout_reference="WX-1")


def test_payout_reference_is_required_and_unique(payable, case_in, finance, order):
    with pytest.raises(ValidationError) as excinfo:
        services.compensation_mark_paid(compensation_id=payable.pk, actor=finance, payout_reference=" ")
    assert "payout_reference" in excinfo.value.message_dict
    services.compensation_mark_paid(compensation_id=payable.pk, actor=finance, payout_reference="WX-7")
    other = case_in(S.CLOSED, lines=[(order.lines.order_by("id")[1].pk, 1)]).compensations.get()
    with pytest.raises(ValidationError) as excinfo:
        services.compensation_mark_paid(compensation_id=other.pk, actor=finance, payout_reference="WX-7")
    assert payable.case.number in excinfo.value.message_dict["payout_reference"][0]


def test_failed_payout_can_be_paid_again(payable, finance):
    services.compensation_mark_failed(compensation_id=payable.pk, actor=finance, note="账户已注销")
    comp = services.compensation_mark_paid(compensation_id=payable.pk, actor=finance, payout_reference="BANK-2")
    assert comp.state == "paid"


def test_voiding_a_payable_compensation_is_for_supervisors(payable, agent, supervisor):
    with pytest.raises(PermissionDenied):
        services.compensation_void(compensation_id=payable.pk, actor=agent, note="重复")
    comp = services.compensation_void(compensation_id=payable.pk, actor=supervisor, note="重复补偿")
    assert (comp.state, comp.payable) == ("voided", False)


def test_paid_compensation_cannot_be_voided(payable, finance, supervisor):
    services.compensation_mark_paid(compensation_id=payable.pk, actor=finance, payout_reference="WX-3")
    with pytest.raises(NotAllowed):
        services.compensation_void(compensation_id=payable.pk, actor=supervisor, note="撤回")


def test_offer_with_the_customer_is_not_changed_under_their_feet(case_in, supervisor):
    case = case_in(S.AWAITING_CONFIRMATION)
    comp = case.compensations.get()
    with pytest.raises(NotAllowed):
        services.compensation_void(compensation_id=comp.pk, actor=supervisor, note="改方案")
    comp.refresh_from_db()
    assert comp.state == "approved"
