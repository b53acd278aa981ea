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
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.errors import Conflict, NotAllowed
from aftersales.models import Case, CaseLine, CaseState
from customers.models import Customer, Order, OrderDayChange, OrderLine

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
#: Customer fields a channel may leave out: then they keep their value (the preference may come from elsewhere).
OPTIONAL_CUSTOMER_FIELDS = ("notify_by", "miniprogram_openid")


def _customer_values(data: dict) -> dict:
    values = {name: data.get(name) or "" for name in CUSTOMER_FIELDS}
    values.update({name: data[name] or "" for name in OPTIONAL_CUSTOMER_FIELDS if name in data})
    return values


@dataclass
class UpsertResult:
    order: Order
    result: str  # created, updated, unchanged, stale
    warnings: list[str] = field(default_factory=list)


def _newer(data: dict, order: Order) -> bool | None:
    """Is the incoming version newer than the stored one (``None``: the same version)?

    Compared on what both carry: the channel's ``version`` first, else its ``updated_at``; an order stored without
    either (typed in the admin) is always overwritten. An order stored with one that the update does not carry is
    a ``Conflict``: without it, an older update could overwrite a newer one.
    """
    if data.get("version") is not None and order.source_version is not None:
        incoming, stored = data["version"], order.source_version
    elif data.get("updated_at") is not None and order.source_updated_at is not None:
        incoming, stored = data["updated_at"], order.source_updated_at
    elif order.source_version is None and order.source_updated_at is None:
        return True
    else:
        field = "version" if order.source_version is not None else "updated_at"
        raise Conflict(
            _(
                "Order %(number)s was received with its %(field)s; send the update with it too, so an older update "
                "never overwrites a newer one."
            )
            % {"number": order.number, "field": field},
            field=field,
        )
    if incoming == stored:
        return None
    return incoming > stored


def _content(*, customer_id: str, order: dict, lines: list[dict]) -> dict:
    """What an order says, in one comparable shape (the request's or the stored one's).

    The customer counts by id only: their name or phone may have changed through another of their orders.
    """
    return {
        "customer": customer_id,
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
    return _content(
        customer_id=order.customer.external_id,
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
            for line in order.lines.all()  # with their categories (prefetched by the callers)
        ],
    )


def held_by_order(order_ids) -> dict[int, dict[int, tuple[int, str]]]:
    """order id → {order line id → (quantity its live cases hold, a case number)}, for every line a case refers to.

    A case rejected or cancelled holds nothing (quantity 0) but still refers to the line: its history keeps it.
    """
    held: dict[int, dict[int, tuple[int, str]]] = {}
    rows = CaseLine.objects.filter(order_line__order_id__in=order_ids).values_list(
        "order_line__order_id", "order_line_id", "quantity", "case__number", "case__state"
    )
    for order_id, line_id, quantity, number, state in rows:
        lines = held.setdefault(order_id, {})
        before, first = lines.get(line_id, (0, number))
        live = state not in RELEASED_STATES
        lines[line_id] = (before + (quantity if live else 0), number if live else first)
    return held


def _customer(channel: str, data: dict) -> Customer:
    """The channel's customer by its id: created, or brought up to date."""
    values = _customer_values(data)
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


def _customers(channel: str, details: list[dict]) -> dict[str, Customer]:
    """The channel's customers of a group of orders by id: created or brought up to date together (the last
    order's details win, as one by one)."""
    wanted = {data["id"]: _customer_values(data) for data in details}
    customers = {c.external_id: c for c in Customer.objects.filter(channel=channel, external_id__in=wanted)}
    changed, fresh = [], []
    for external_id, values in wanted.items():
        customer = customers.get(external_id)
        if customer is None:
            fresh.append(Customer(channel=channel, external_id=external_id, **values))
        elif any(getattr(customer, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(customer, name, value)
            customer.updated_at = timezone.now()
            changed.append(customer)
    for customer in Customer.objects.bulk_create(fresh):
        customers[customer.external_id] = customer
    Customer.objects.bulk_update(changed, [*CUSTOMER_FIELDS, *OPTIONAL_CUSTOMER_FIELDS, "updated_at"])
    return customers


@dataclass
class LinePlan:
    """What an order's lines become: the lines to insert, to update, and the ids to delete."""

    new: list[OrderLine] = field(default_factory=list)
    changed: list[OrderLine] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)


LINE_FIELDS = ("product_name", "category", "unit_price", "unit_cost", "quantity")


def _plan_lines(order: Order, lines: list[dict], held: dict[int, tuple[int, str]]) -> LinePlan:
    """Match the incoming lines to the stored ones by SKU; refuse (``Conflict``) what the cases' lines forbid.

    Writes nothing: ``order`` (saved, with its lines prefetched when it is not new) only gets its plan."""
    existing = {line.sku: line for line in order.lines.all()} if order.pk else {}
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
    plan = LinePlan(gone=[line.pk for sku, line in existing.items() if sku not in incoming])
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
            plan.new.append(OrderLine(order=order, sku=sku, **values))
        elif any(getattr(line, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(line, name, value)
            plan.changed.append(line)
    return plan


def _write_lines(plans: list[LinePlan]) -> None:
    gone = [pk for plan in plans for pk in plan.gone]
    if gone:
        OrderLine.objects.filter(pk__in=gone).delete()
    for line in (line for plan in plans for line in plan.changed):
        # One short statement per changed line (a CASE per column over the batch is slower).
        OrderLine.objects.filter(pk=line.pk).update(**{name: getattr(line, name) for name in LINE_FIELDS})
    for plan in plans:
        for line in plan.new:
            line.order_id = line.order.pk  # the order may have got its id after the plan
    OrderLine.objects.bulk_create([line for plan in plans for line in plan.new])


def _ensure_same_customer(order: Order, data: dict, with_cases: bool) -> None:
    if with_cases and order.customer.external_id != data["customer"]["id"]:
        raise Conflict(
            _("Order %(number)s has after-sales cases for another customer; it cannot change customer.")
            % {"number": order.number},
            field="customer",
        )


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


def _ensure_may_send(actor: User | None) -> None:
    if actor is None or not (actor.has_perm("customers.add_order") and actor.has_perm("customers.change_order")):
        raise PermissionDenied(_("You do not have permission to send orders."))


def order_upsert(*, channel: str, number: str, data: dict, actor: User | None) -> UpsertResult:
    """Create or update the channel's order ``number`` from ``data`` (as ``OrderUpsertSerializer`` validates it)."""
    _ensure_may_send(actor)
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


def _compare(order: Order, *, channel: str, number: str, data: dict) -> str | None:
    """``STALE`` or ``UNCHANGED`` when the stored order stands, ``None`` when ``data`` changes it (or a Conflict)."""
    if order.channel != channel:
        raise Conflict(
            _("Order number %(number)s is already used by another channel.") % {"number": number}, field="number"
        )
    newer = _newer(data, order)
    if newer is False:
        return STALE
    if _content(customer_id=data["customer"]["id"], order=data, lines=data["lines"]) == _stored_content(order):
        return UNCHANGED
    if newer is None:
        raise Conflict(
            _("Version %(version)s of order %(number)s was already received with other content; send a newer one.")
            % {"version": data.get("version", data.get("updated_at")), "number": number},
            field="version",
        )
    return None


def _take_version(order: Order, data: dict) -> bool:
    """Remember a newer version of unchanged content (so an older one is recognised as stale later)."""
    version, updated = _versions(order, data)
    if (version, updated) == (order.source_version, order.source_updated_at):
        return False
    order.source_version, order.source_updated_at = version, updated
    return True


def _upsert(*, channel: str, number: str, data: dict, warnings: list[str]) -> UpsertResult:
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("customer")
        .prefetch_related("lines__category")
        .filter(number=number)
        .first()
    )
    if order is not None:
        standing = _compare(order, channel=channel, number=number, data=data)
        if standing is not None:
            if standing == UNCHANGED and _take_version(order, data):
                order.save(update_fields=["source_version", "source_updated_at", "updated_at"])
            return UpsertResult(order, standing, warnings)
    created = order is None
    if created:
        order = Order(number=number, channel=channel)
        held = {}
    else:
        _ensure_same_customer(order, data, order.cases.exists())
        held = held_by_order([order.pk]).get(order.pk, {})
    plan = _plan_lines(order, data["lines"], held)
    _set_fields(order, _customer(channel, data["customer"]), data)
    order.save()
    _write_lines([plan])
    return UpsertResult(order, CREATED if created else UPDATED, warnings)


def _set_fields(order: Order, customer: Customer, data: dict) -> None:
    order.customer = customer
    for name in ORDER_FIELDS:
        value = data.get(name)
        setattr(order, name, value if name.endswith("_at") else value or "")
    order.source_version, order.source_updated_at = _versions(order, data)


def _versions(order: Order, data: dict) -> tuple:
    """The order's version and update time after ``data``: what it sends, else what was stored."""
    version, updated = data.get("version"), data.get("updated_at")
    return (
        order.source_version if version is None else version,
        order.source_updated_at if updated is None else updated,
    )


def order_upsert_many(
    *, channel: str, orders: list[tuple[str, dict]], actor: User | None
) -> list[UpsertResult | Exception]:
    """The batch: the same rules as ``order_upsert`` for each ``(number, data)``, each order written whole or not at all.

    Returns, per order, its result or the error that refused it. The orders that change nothing are answered
    from one read of the batch; the new ones are inserted together, and the changed ones locked, checked again and
    updated together — each group in one transaction, so every order is written whole or not at all, with one
    statement per table instead of several per order. A number sent twice, or a group that meets a parallel
    request (a number or customer id taken meanwhile), goes one by one through ``order_upsert``.
    """
    _ensure_may_send(actor)
    results: list[UpsertResult | Exception | None] = [None] * len(orders)
    warnings: dict[int, list[str]] = {}
    for index, (_number, data) in enumerate(orders):
        try:
            warnings[index] = validate_order_data(data)
        except ValidationError as exc:
            results[index] = exc
    todo = [index for index in range(len(orders)) if results[index] is None]
    numbers = {orders[index][0] for index in todo}
    stored = {
        order.number: order
        for order in Order.objects.filter(number__in=numbers)
        .select_related("customer")
        .prefetch_related("lines__category")
    }
    new, changed, one_by_one, seen = [], [], [], set()
    for index in todo:
        number, data = orders[index]
        if number in seen:  # the same number twice in one batch: the later ones in turn, after the group
            one_by_one.append(index)
            continue
        seen.add(number)
        (changed if number in stored else new).append(index)
    # Those that change nothing are answered from the read above, without a lock or a write.
    to_update = []
    for index in changed:
        number, data = orders[index]
        order = stored[number]
        try:
            standing = _compare(order, channel=channel, number=number, data=data)
        except Conflict as exc:
            results[index] = exc
            continue
        if standing is None or (standing == UNCHANGED and _take_version(order, data)):
            to_update.append(index)  # written (or its newer version remembered) under a lock, below
        else:
            results[index] = UpsertResult(order, standing, warnings[index])
    if new:
        try:
            with transaction.atomic():
                created = _create_many(channel, [orders[index] for index in new])
        except IntegrityError:  # a parallel request took a number or a customer id meanwhile: one by one, then
            one_by_one.extend(new)
        else:
            for index, order in zip(new, created, strict=True):
                results[index] = UpsertResult(order, CREATED, warnings[index])
    if to_update:
        try:
            with transaction.atomic():
                updated = _update_many(channel, [(index, *orders[index]) for index in to_update], warnings)
        except IntegrityError:
            one_by_one.extend(to_update)
        else:
            for index, outcome in updated.items():
                results[index] = outcome
    for index in sorted(one_by_one):
        number, data = orders[index]
        try:
            results[index] = order_upsert(channel=channel, number=number, data=data, actor=actor)
        except (ValidationError, NotAllowed) as exc:
            results[index] = exc
    return results


def _create_many(channel: str, orders: list[tuple[str, dict]]) -> list[Order]:
    """Insert new orders with their lines and customers (in the caller's transaction)."""
    customers = _customers(channel, [data["customer"] for _number, data in orders])
    created, plans = [], []
    for number, data in orders:
        order = Order(number=number, channel=channel)
        plans.append(_plan_lines(order, data["lines"], {}))
        _set_fields(order, customers[data["customer"]["id"]], data)
        created.append(order)
    Order.objects.bulk_create(created)
    _write_lines(plans)
    return created


def _update_many(
    channel: str, orders: list[tuple[int, str, dict]], warnings: dict[int, list[str]]
) -> dict[int, UpsertResult | Exception]:
    """Update stored orders together (in the caller's transaction), each locked and checked again as one by one.

    An order the checks refuse is left as it was; the others are written with one statement per table.
    """
    numbers = {number for _index, number, _data in orders}
    locked = {
        order.number: order
        for order in Order.objects.select_for_update(of=("self",))
        .filter(number__in=numbers)
        .order_by("pk")
        .select_related("customer")
        .prefetch_related("lines__category")
    }
    held = held_by_order([order.pk for order in locked.values()])
    with_cases = set(Case.objects.filter(order__in=locked.values()).values_list("order_id", flat=True))
    results: dict[int, UpsertResult | Exception] = {}
    planned: list[tuple[int, Order, dict, LinePlan]] = []
    bumped = []
    for index, number, data in orders:
        order = locked[number]
        try:
            standing = _compare(order, channel=channel, number=number, data=data)
            if standing is None:
                _ensure_same_customer(order, data, order.pk in with_cases)
                planned.append((index, order, data, _plan_lines(order, data["lines"], held.get(order.pk, {}))))
                continue
        except Conflict as exc:
            results[index] = exc
            continue
        if standing == UNCHANGED and _take_version(order, data):
            bumped.append(order)
        results[index] = UpsertResult(order, standing, warnings[index])
    customers = _customers(channel, [data["customer"] for _index, _order, data, _plan in planned])
    columns = ["customer_id", *ORDER_FIELDS, "source_version", "source_updated_at"]
    now = timezone.now()
    for index, order, data, _plan in planned:
        before = [getattr(order, name) for name in columns]
        _set_fields(order, customers[data["customer"]["id"]], data)
        changed = [name for name, old in zip(columns, before, strict=True) if getattr(order, name) != old]
        if "placed_at" in changed or "customer_id" in changed:  # the day and the customer it left: recounted
            OrderDayChange.note(before[columns.index("placed_at")], customer_id=before[columns.index("customer_id")])
        # Only what changed, one short statement per order (a CASE per column over the batch is slower).
        Order.objects.filter(pk=order.pk).update(updated_at=now, **{name: getattr(order, name) for name in changed})
        results[index] = UpsertResult(order, UPDATED, warnings[index])
    for order in bumped:
        Order.objects.filter(pk=order.pk).update(
            source_version=order.source_version, source_updated_at=order.source_updated_at, updated_at=now
        )
    _write_lines([plan for _index, _order, _data, plan in planned])
    return results
