"""Derived money figures and masking of personal data."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.utils import timezone

from customers.masking import mask_address, mask_email, mask_phone
from customers.selectors import customer_annual_spend, customers_with_annual_spend, order_totals
from tests.factories import CustomerFactory, OrderFactory, OrderLineFactory


@pytest.mark.django_db
def test_annual_spend_counts_only_the_last_365_days_of_orders():
    customer = CustomerFactory()
    now = timezone.now()
    recent = OrderFactory(customer=customer, placed_at=now - timedelta(days=30), delivered_at=None)
    OrderLineFactory(order=recent, unit_price=Decimal("120.50"), quantity=2)
    OrderLineFactory(order=recent, unit_price=Decimal("9.90"), quantity=1)
    old = OrderFactory(customer=customer, placed_at=now - timedelta(days=400), delivered_at=None)
    OrderLineFactory(order=old, unit_price=Decimal("5000.00"), quantity=1)
    OrderLineFactory(order=OrderFactory(), unit_price=Decimal("777.00"), quantity=1)  # someone else

    assert customer_annual_spend(customer) == Decimal("250.90")
    annotated = customers_with_annual_spend().get(pk=customer.pk)
    assert annotated.annual_spend == Decimal("250.90")
    assert customers_with_annual_spend().get(pk=CustomerFactory().pk).annual_spend == Decimal("0.00")


@pytest.mark.django_db
def test_order_value_and_gross_margin_come_from_the_lines():
    order = OrderFactory()
    OrderLineFactory(order=order, unit_price=Decimal("99.00"), unit_cost=Decimal("40.00"), quantity=2)
    OrderLineFactory(order=order, unit_price=Decimal("1299.00"), unit_cost=Decimal("600.00"), quantity=1)
    assert order_totals(order.pk) == {"amount": Decimal("1497.00"), "margin": Decimal("817.00")}
    assert order.total == Decimal("1497.00")


@pytest.mark.django_db
def test_the_database_refuses_impossible_orders():
    with pytest.raises(IntegrityError):
        OrderLineFactory(quantity=0)


@pytest.mark.parametrize(
    ("value", "masked"),
    [("13812345678", "138****5678"), ("12345", "***45"), ("", "")],
)
def test_phone_masking(value, masked):
    assert mask_phone(value) == masked


def test_email_and_address_masking():
    assert mask_email("zhangwei@example.com") == "z***@example.com"
    assert mask_address("上海市浦东新区世纪大道100号") == "上海市浦东新****"
    assert mask_address("") == ""
