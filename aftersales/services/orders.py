"""Orders and customers from the shop: one idempotent upsert per order, by the channel that owns it.

The channel sends the whole order as it stands (lines, times, payment, address, customer) with its own
``version`` and/or ``updated_at``. An update older than the stored one never overwrites it (``stale``); the same
content again changes nothing (``unchanged``). Lines are matched by SKU. A line that cases hold (any case not
rejected or cancelled) cannot be removed or reduced below what they hold, nor can the order move to another
customer once it has cases: each is a ``Conflict`` naming the line. Everything is one transaction per order; the
order row is locked, so two updates of one order apply one after the other.

This lives with the after-sales services (not in ``customers``) because its rules are about the cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from aftersales.errors import Conflict
from aftersales.models import CaseLine, CaseState
from customers.models import Customer, Order, OrderLine, ProductCategory

if TYPE_CHECKING:
    from django.contrib.auth.models import User

#: Cases that no longer hold their lines.
RELEASED_STATES = (CaseState.REJECTED, CaseState.CANCELLED)
CREATED, UPDATED, UNCHANGED, STALE = "created", "updated", "unchanged", "stale"
ORDER_FIELDS = (
    "placed_at",
    "paid_at",
    "shipped_at",
    "delivered_at",
    "payment_method",
    "payment_transaction_id",
    "shipping_address",
)
CUSTOMER_FIELDS = ("name", "phone", "email", "region")


@dataclass
class UpsertResult:
    order: Order
    result: str  # created, updated, unchanged, stale
    warnings: list[str] = field(default_factory=list)


def _newer(data: dict, order: Order) -> bool | None:
    """Is the incoming version newer than the stored one (``None``: the same version)?

    Compared on what both carry: the channel's ``version`` first, else its ``updated_at``; an order stored without
    either (typed in the admin, imported) is always overwritten.
    """
    if data.get("version") is not None and order.source_version is not None:
        incoming, stored = data["version"], order.source_version
    elif data.get("updated_at") is not None and order.source_updated_at is not None:
        incoming, stored = data["updated_at"], order.source_updated_at
    else:
        return True
    if incoming == stored:
        return None
    return incoming > stored


def _content(*, customer: dict, order: dict, lines: list[dict]) -> dict:
    """What an order says, in one comparable shape (the request's or the stored one's)."""
    return {
        "customer": {name: customer.get(name) or "" for name in ("id", *CUSTOMER_FIELDS)},
        "order": {name: order.get(name) if name.endswith("_at") else order.get(name) or "" for name in ORDER_FIELDS},
        "lines": sorted(
            (
                line["sku"],
                line["name"],
                line["category"].code,
                Decimal(line["unit_price"]).quantize(Decimal("0.01")),
                Decimal(line["unit_cost"]).quantize(Decimal("0.01")),
                line["quantity"],
            )
            for line in lines
        ),
    }


def _stored_content(order: Order) -> dict:
    customer = order.customer
    return _content(
        customer={"id": customer.external_id, **{name: getattr(customer, name) for name in CUSTOMER_FIELDS}},
        order={name: getattr(order, name) for name in ORDER_FIELDS},
        lines=[
            {
                "sku": line.sku,
                "name": line.product_name,
                "category": line.category,
                "unit_price": line.unit_price,
                "unit_cost": line.unit_cost,
                "quantity": line.quantity,
            }
            for line in order.lines.select_related("category")
        ],
    )


def _held(order: Order) -> dict[int, tuple[int, str]]:
    """order line id → (quantity its live cases hold, a case number), for every line a case refers to.

    A case rejected or cancelled holds nothing (quantity 0) but still refers to the line: its history keeps it.
    """
    held: dict[int, tuple[int, str]] = {}
    rows = CaseLine.objects.filter(order_line__order=order).values_list(
        "order_line_id", "quantity", "case__number", "case__state"
    )
    for line_id, quantity, number, state in rows:
        before, first = held.get(line_id, (0, number))
        live = state not in RELEASED_STATES
        held[line_id] = (before + (quantity if live else 0), number if live else first)
    return held


def _customer(channel: str, data: dict) -> Customer:
    """The channel's customer by its id: created, or brought up to date."""
    values = {name: data.get(name) or "" for name in CUSTOMER_FIELDS}
    try:
        with transaction.atomic():
            customer, created = Customer.objects.select_for_update().get_or_create(
                channel=channel, external_id=data["id"], defaults=values
            )
    except IntegrityError:  # created by a parallel request between the get and the insert
        customer, created = Customer.objects.select_for_update().get(channel=channel, external_id=data["id"]), False
    changed = [name for name, value in values.items() if getattr(customer, name) != value]
    if not created and changed:
        for name in changed:
            setattr(customer, name, values[name])
        customer.save(update_fields=[*changed, "updated_at"])
    return customer


def _apply_lines(order: Order, lines: list[dict], *, created: bool) -> None:
    existing = {} if created else {line.sku: line for line in order.lines.all()}
    held = {} if created else _held(order)
    incoming = {line["sku"]: line for line in lines}
    for sku, line in existing.items():
        if line.pk not in held:
            continue
        quantity, number = held[line.pk]
        if sku not in incoming:
            raise Conflict(
                _("Line %(sku)s cannot be removed: case %(number)s refers to it.") % {"sku": sku, "number": number},
                field="lines",
            )
        if incoming[sku]["quantity"] < quantity:
            raise Conflict(
                _("Line %(sku)s cannot go down to %(asked)s: case %(number)s holds %(quantity)s of it.")
                % {"sku": sku, "asked": incoming[sku]["quantity"], "number": number, "quantity": quantity},
                field="lines",
            )
    gone = [line.pk for sku, line in existing.items() if sku not in incoming]
    if gone:
        OrderLine.objects.filter(pk__in=gone).delete()
    new = []
    for sku, data in incoming.items():
        values = {
            "product_name": data["name"],
            "category": data["category"],
            "unit_price": data["unit_price"],
            "unit_cost": data["unit_cost"],
            "quantity": data["quantity"],
        }
        line = existing.get(sku)
        if line is None:
            new.append(OrderLine(order=order, sku=sku, **values))
            continue
        changed = [name for name, value in values.items() if getattr(line, name) != value]
        if changed:
            for name in changed:
                setattr(line, name, values[name])
            line.save(update_fields=changed)
    OrderLine.objects.bulk_create(new)


def _label(name: str) -> str:
    return str(Order._meta.get_field(name).verbose_name)


def validate_order_data(data: dict) -> list[str]:
    """Check what a serializer cannot see alone (raises ``ValidationError`` naming the field); returns warnings."""
    errors: dict[str, list[str]] = {}
    placed = data["placed_at"]
    previous: tuple[str, datetime] = ("placed_at", placed)
    for name in ("paid_at", "shipped_at", "delivered_at"):
        when = data.get(name)
        if when is None:
            continue
        if when < previous[1]:
            errors[name] = [
                _("%(field)s is before %(earlier)s.")
                % {"field": _label(name).capitalize(), "earlier": _label(previous[0])},
            ]
        previous = (name, when)
    skus = [line["sku"] for line in data["lines"]]
    twice = sorted({sku for sku in skus if skus.count(sku) > 1})
    if twice:
        errors["lines"] = [_("SKU %(sku)s is listed twice.") % {"sku": sku} for sku in twice]
    if data.get("version") is None and data.get("updated_at") is None:
        errors["version"] = [_("Send the order's version or updated_at, so an older update never wins.")]
    if errors:
        raise ValidationError(errors)
    return [
        _("Line %(sku)s costs more than its price (%(cost)s > %(price)s).")
        % {"sku": line["sku"], "cost": line["unit_cost"], "price": line["unit_price"]}
        for line in data["lines"]
        if line["unit_cost"] > line["unit_price"]
    ]


def order_upsert(*, channel: str, number: str, data: dict, actor: User | None) -> UpsertResult:
    """Create or update the channel's order ``number`` from ``data`` (as ``OrderUpsertSerializer`` validates it)."""
    if actor is None or not (actor.has_perm("customers.add_order") and actor.has_perm("customers.change_order")):
        raise PermissionDenied(_("You do not have permission to send orders."))
    warnings = validate_order_data(data)
    try:
        with transaction.atomic():
            return _upsert(channel=channel, number=number, data=data, warnings=warnings)
    except IntegrityError:
        # Another request created the same order between our look and our insert: this one is an update of it.
        if not Order.objects.filter(number=number).exists():
            raise
    with transaction.atomic():
        return _upsert(channel=channel, number=number, data=data, warnings=warnings)


def _upsert(*, channel: str, number: str, data: dict, warnings: list[str]) -> UpsertResult:
    order = Order.objects.select_for_update().select_related("customer").filter(number=number).first()
    if order is not None and order.channel != channel:
        raise Conflict(
            _("Order number %(number)s is already used by another channel.") % {"number": number}, field="number"
        )
    incoming = _content(customer=data["customer"], order=data, lines=data["lines"])
    if order is not None:
        newer = _newer(data, order)
        same = incoming == _stored_content(order)
        if newer is False:
            return UpsertResult(order, STALE, warnings)
        if same:
            if newer:
                order.source_version = data.get("version", order.source_version)
                order.source_updated_at = data.get("updated_at", order.source_updated_at)
                order.save(update_fields=["source_version", "source_updated_at", "updated_at"])
            return UpsertResult(order, UNCHANGED, warnings)
        if newer is None:
            raise Conflict(
                _("Version %(version)s of order %(number)s was already received with other content; send a newer one.")
                % {"version": data.get("version", data.get("updated_at")), "number": number},
                field="version",
            )
    customer = _customer(channel, data["customer"])
    created = order is None
    if created:
        order = Order(number=number, channel=channel)
    elif customer.pk != order.customer_id and order.cases.exists():
        raise Conflict(
            _("Order %(number)s has after-sales cases for another customer; it cannot change customer.")
            % {"number": number},
            field="customer",
        )
    order.customer = customer
    for name in ORDER_FIELDS:
        value = data.get(name)
        setattr(order, name, value if name.endswith("_at") else value or "")
    order.source_version = data.get("version")
    order.source_updated_at = data.get("updated_at")
    order.save()
    _apply_lines(order, data["lines"], created=created)
    return UpsertResult(order, CREATED if created else UPDATED, warnings)


def categories_by_code(codes) -> dict[str, ProductCategory]:
    return {category.code: category for category in ProductCategory.objects.filter(code__in=set(codes))}
