"""Readers for customers: derived money figures (annual spend, gross margin)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from customers.models import Customer, OrderLine

ANNUAL_WINDOW = timedelta(days=365)
_MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)
ZERO = Decimal("0.00")


def _spend_since(since: datetime) -> Subquery:
    lines = (
        OrderLine.objects.filter(order__customer=OuterRef("pk"), order__placed_at__gte=since)
        .values("order__customer")
        .annotate(total=Sum(F("unit_price") * F("quantity"), output_field=_MONEY_FIELD))
        .values("total")
    )
    return Subquery(lines, output_field=_MONEY_FIELD)


def customers_with_annual_spend(queryset: QuerySet[Customer] | None = None, *, as_of: datetime | None = None):
    """Annotate ``annual_spend``: the value of order lines placed in the 365 days before ``as_of``."""
    since = (as_of or timezone.now()) - ANNUAL_WINDOW
    queryset = Customer.objects.all() if queryset is None else queryset
    return queryset.annotate(
        annual_spend=Coalesce(_spend_since(since), Value(Decimal("0.00")), output_field=_MONEY_FIELD)
    )


def customer_annual_spend(customer: Customer, *, as_of: datetime | None = None) -> Decimal:
    return annual_spend_by_customer([customer.pk], as_of=as_of).get(customer.pk, ZERO)


def annual_spend_by_customer(customer_ids, *, as_of: datetime | None = None) -> dict[int, Decimal]:
    """The annual spend of each of ``customer_ids`` that bought anything in the window (one grouped query)."""
    since = (as_of or timezone.now()) - ANNUAL_WINDOW
    return dict(
        OrderLine.objects.filter(order__customer_id__in=list(customer_ids), order__placed_at__gte=since)
        .order_by()
        .values("order__customer_id")
        .annotate(amount=Sum(F("unit_price") * F("quantity"), output_field=_MONEY_FIELD))
        .values_list("order__customer_id", "amount")
    )


def order_totals(order_id: int) -> dict[str, Decimal]:
    """``{"amount": …, "margin": …}`` for one order."""
    return OrderLine.objects.filter(order_id=order_id).totals()
