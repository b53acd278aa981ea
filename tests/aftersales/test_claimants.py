"""Professional-claimant detection: transparent thresholds, reasons shown, cleared only with a justification."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from aftersales import services
from aftersales.automation import jobs
from aftersales.automation.risk import claimant_reasons, customer_facts
from aftersales.errors import NotAllowed
from aftersales.models import RiskThresholds
from customers.models import Customer, CustomerRiskFlag
from tests.factories import OrderFactory, OrderLineFactory


def claim(agent, customer, *, at=None):
    line = OrderLineFactory(order=OrderFactory(customer=customer), unit_price=Decimal("59.00"), quantity=1)
    return services.case_open(
        actor=agent, order_id=line.order_id, lines=[(line.pk, 1)], request_type="refund_only", at=at
    )


@pytest.fixture
def thresholds(db):
    row = RiskThresholds.current()
    row.claims_90d, row.claim_order_ratio, row.min_orders_for_ratio = 3, Decimal("0.50"), 4
    row.save()
    return row


def test_facts_and_reasons_name_the_figures_and_the_limits(policy, order, agent, thresholds):
    customer = order.customer
    for _ in range(3):
        claim(agent, customer)
    facts = customer_facts(customer.pk, at=timezone.now())
    assert facts.claims_90d == 3 and facts.orders_365d == 4  # the fixture's order and three more
    reasons = claimant_reasons(facts, thresholds)
    assert any("3" in r and "90" in r for r in reasons)
    assert any("0.75" in r for r in reasons)  # 3 claims on 4 orders, threshold 0.50 from 4 orders


def test_the_threshold_flags_the_customer_on_open_and_disables_quick_refunds(
    policy, order, agent, supervisor, thresholds
):
    customer = order.customer
    claim(agent, customer)
    claim(agent, customer)
    assert not CustomerRiskFlag.objects.exists()
    claim(agent, customer)
    flag = CustomerRiskFlag.objects.get(customer=customer, active=True)
    assert flag.kind == "professional_claimant" and flag.reasons and flag.metrics["claims_90d"] == 3
    customer.refresh_from_db()
    assert customer.risk_flags == ["professional_claimant"]
    customer.credit_score = 900
    customer.save()
    case = claim(agent, customer)
    assert not services.case_approve(case_id=case.pk, actor=agent).quick_refund  # flagged: no quick refund


def test_the_report_lists_flagged_customers_with_reasons_and_history(
    login, policy, order, agent, supervisor, thresholds
):
    cases = [claim(agent, order.customer) for _ in range(3)]
    response = login(supervisor).get(reverse("desk:claimants"))
    assert response.status_code == 200
    row = response.context["rows"][0]
    assert row["flag"].customer == order.customer
    html = response.content.decode()
    assert cases[-1].number in html and row["flag"].reasons[0] in html
    assert login(agent).get(reverse("desk:claimants")).status_code == 403


def test_clearing_needs_a_supervisor_and_a_written_justification(login, policy, order, agent, supervisor, thresholds):
    for _ in range(3):
        claim(agent, order.customer)
    flag = CustomerRiskFlag.objects.get()
    with pytest.raises(PermissionDenied):
        services.customer_flag_clear(flag_id=flag.pk, actor=agent, justification="老顾客，批发采购退换属正常")
    response = login(supervisor).post(reverse("desk:claimant_clear", args=[flag.pk]), {"justification": "没问题"})
    assert response.status_code == 400 and "justification" in response.context["rows"][0]["form"].errors
    flag.refresh_from_db()
    assert flag.active
    login(supervisor).post(
        reverse("desk:claimant_clear", args=[flag.pk]),
        {"justification": "企业客户批量采购，退换比例属正常，已电话核实"},
    )
    flag.refresh_from_db()
    assert not flag.active and flag.cleared_by == supervisor and "企业客户" in flag.justification
    assert Customer.objects.get(pk=order.customer_id).risk_flags == []
    with pytest.raises(NotAllowed):
        services.customer_flag_clear(flag_id=flag.pk, actor=supervisor, justification="再清除一次可以吗可以")
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerRiskFlag.objects.filter(pk=flag.pk).update(justification="")  # the database keeps the reason too


def test_a_cleared_customer_is_flagged_again_only_after_a_new_claim(policy, order, agent, supervisor, thresholds):
    for _ in range(3):
        claim(agent, order.customer)
    flag = CustomerRiskFlag.objects.get()
    services.customer_flag_clear(flag_id=flag.pk, actor=supervisor, justification="企业客户批量采购，已核实")
    jobs.sweep_claimant_flags()
    assert not CustomerRiskFlag.objects.filter(active=True).exists()
    claim(agent, order.customer, at=timezone.now() + timedelta(minutes=1))
    assert CustomerRiskFlag.objects.filter(active=True, customer=order.customer).count() == 1


def test_the_sweep_screens_customers_together_and_refreshes_only_those_reaching_a_threshold(
    policy, agent, django_assert_max_num_queries
):
    from aftersales.automation.risk import customers_facts
    from tests.factories import CustomerFactory

    busy, quiet = CustomerFactory(), [CustomerFactory() for _ in range(6)]
    for _ in range(3):
        claim(agent, busy)
    for customer in quiet:
        claim(agent, customer)
    assert not CustomerRiskFlag.objects.exists()  # the thresholds are raised only now
    row = RiskThresholds.current()
    row.claims_90d = 3
    row.save()
    at = timezone.now()
    together = customers_facts([busy.pk, *(c.pk for c in quiet)], at=at)
    assert together == {pk: customer_facts(pk, at=at) for pk in together}  # the same facts, one at a time
    assert together[busy.pk].claims_90d == 3 and together[quiet[0].pk].claims_90d == 1
    with django_assert_max_num_queries(40):  # six quiet customers more cost nothing one by one
        assert jobs.sweep_claimant_flags(at) == 1
    assert list(CustomerRiskFlag.objects.values_list("customer_id", flat=True)) == [busy.pk]
    assert jobs.sweep_claimant_flags(at) == 1  # already flagged: counted, not raised again
    assert CustomerRiskFlag.objects.count() == 1


def test_the_ratio_is_compared_exactly_not_after_rounding(db):
    from aftersales.automation.risk import CustomerFacts

    row = RiskThresholds(
        claim_order_ratio=Decimal("0.80"), min_orders_for_ratio=5, claims_90d=99, compensation_30d=Decimal("99999")
    )
    facts = CustomerFacts(Decimal("0"), 0, 0, 35, 44, Decimal("0"))  # 0.795…, shown as 0.80
    assert claimant_reasons(facts, row) == []
    assert claimant_reasons(CustomerFacts(Decimal("0"), 0, 0, 36, 45, Decimal("0")), row) != []  # exactly 0.80


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_clearing_a_flag_while_the_customer_opens_a_case_does_not_deadlock(
    policy, order, agent, supervisor, monkeypatch
):
    """Opening a case holds the customer row and then updates their flag; clearing must take the same order."""
    import time

    from aftersales.services import opening
    from tests.aftersales.test_concurrency import race

    row = RiskThresholds.current()
    row.claims_90d = 2
    row.save()
    claim(agent, order.customer)
    claim(agent, order.customer)
    flag = CustomerRiskFlag.objects.get(active=True)
    refresh = opening.customer_flag_refresh

    def slow_refresh(**kwargs):
        time.sleep(0.4)  # opening holds the customer row (locked with the order) while it gets here
        return refresh(**kwargs)

    monkeypatch.setattr(opening, "customer_flag_refresh", slow_refresh)

    def clear_a_moment_later():
        time.sleep(0.15)
        return services.customer_flag_clear(flag_id=flag.pk, actor=supervisor, justification="企业客户批量采购，已核实")

    results = race(lambda: claim(agent, order.customer), clear_a_moment_later)
    assert not any(isinstance(r, Exception) for r in results), results
    flag.refresh_from_db()
    assert not flag.active
