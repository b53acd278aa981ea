"""Suggested compensation: from the goods in the case and the QC result."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from aftersales.workflow.suggestions import suggest_compensation

POLICY = SimpleNamespace(shipping_insurance=True, return_shipping_allowance=Decimal("12.00"))
NO_INSURANCE = SimpleNamespace(shipping_insurance=False, return_shipping_allowance=Decimal("15.00"))


def suggest(
    request_type, *, value="1299.00", already=None, grade=None, party=None, policy=POLICY, vip=False, upgrade=False
):
    return [
        (s.kind, s.amount)
        for s in suggest_compensation(
            request_type=request_type,
            claim_value=Decimal(value),
            already=already or {},
            grade=grade,
            responsible_party=party,
            policy=policy,
            is_vip=vip,
            vip_upgrade=upgrade,
        )
    ]


def test_a_return_with_a_merchant_fault_is_refunded_in_full():
    assert suggest("return_refund", grade="C", party="merchant") == [("refund", Decimal("1299.00"))]


def test_without_shipping_insurance_the_return_postage_is_added():
    assert suggest("return_refund", grade="C", party="logistics", policy=NO_INSURANCE) == [
        ("refund", Decimal("1299.00")),
        ("return_shipping", Decimal("15.00")),
    ]


def test_what_is_already_offered_or_quick_refunded_is_not_suggested_again():
    assert suggest("return_refund", already={"refund": Decimal("1000.00")}) == [("refund", Decimal("299.00"))]
    assert suggest("return_refund", already={"refund": Decimal("1299.00")}) == []


def test_nothing_is_suggested_when_the_customer_is_at_fault():
    assert suggest("return_refund", grade="wrong_item", party="customer", policy=NO_INSURANCE) == []


def test_exchange_repair_price_adjustment_and_complaint():
    assert suggest("exchange", grade="B", party="merchant") == [("replacement", Decimal("1299.00"))]
    assert suggest("repair", grade="D", party="merchant") == [("replacement", Decimal("1299.00"))]
    assert suggest("repair", grade="B", party="merchant") == []
    assert suggest("price_adjustment", value="99.95") == [("refund", Decimal("10.00"))]
    assert suggest("complaint", value="0") == [("coupon", Decimal("20.00"))]
    assert suggest("complaint", value="0", vip=True) == [("coupon", Decimal("50.00"))]


def test_the_vip_upgrade_adds_a_coupon_with_a_floor():
    assert suggest("return_refund", upgrade=True) == [("refund", Decimal("1299.00")), ("coupon", Decimal("129.90"))]
    assert suggest("return_refund", value="99.00", upgrade=True) == [
        ("refund", Decimal("99.00")),
        ("coupon", Decimal("30.00")),
    ]
