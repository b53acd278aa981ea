"""Orders from a table (a file's rows): the rows grouped into orders, validated as the channel API's order feed
and written by ``order_upsert_many`` — the whole table or nothing.

One row per order line, the order's columns repeated on each of its lines; headers by code or by their Chinese
name. The admin's import (django-import-export) and the demo data read files through here.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext
from rest_framework import serializers

from aftersales.errors import Conflict, NotAllowed
from aftersales.services.orders import order_upsert_many
from aftersales.workflow.serializers import OrderBatchItemSerializer, categories_by_code
from customers.models import Channel, Order, PaymentMethod

if TYPE_CHECKING:
    from django.contrib.auth.models import User

#: The file's columns: (code, Chinese name as the template file heads them, an example value).
COLUMNS = [
    ("order_number", "订单号", "TB20261201000001"),
    ("channel", "渠道", "app"),
    ("version", "版本号", "1"),
    ("updated_at", "更新时间", "2026-11-30 14:05:00"),
    ("customer_id", "顾客编号", "tb_u_10086"),
    ("customer_name", "顾客姓名", "王小明"),
    ("customer_phone", "手机号", "13912345678"),
    ("customer_email", "邮箱", ""),
    ("customer_region", "地区", "杭州"),
    ("placed_at", "下单时间", "2026-11-28 20:15:00"),
    ("paid_at", "付款时间", "2026-11-28 20:16:10"),
    ("shipped_at", "发货时间", "2026-11-29 09:30:00"),
    ("delivered_at", "签收时间", "2026-11-30 14:05:00"),
    ("payment_method", "支付方式", "alipay"),
    ("payment_transaction_id", "支付交易号", "2026112822001400001234567890"),
    ("shipping_address", "收货地址", "浙江省杭州市西湖区文三路100号"),
    ("sku", "SKU", "TS-001"),
    ("product_name", "商品名称", "纯棉T恤 白色 L"),
    ("category", "商品品类", "apparel"),
    ("unit_price", "单价", "99.00"),
    ("unit_cost", "成本", "35.00"),
    ("quantity", "数量", "2"),
]
REQUIRED = {
    "order_number",
    "channel",
    "customer_id",
    "customer_name",
    "customer_phone",
    "placed_at",
    "sku",
    "product_name",
    "category",
    "unit_price",
    "unit_cost",
    "quantity",
}
ORDER_COLUMNS = [code for code, _name, _example in COLUMNS[:16]]
LINE_COLUMNS = {
    "sku": "sku",
    "product_name": "name",
    "category": "category",
    "unit_price": "unit_price",
    "unit_cost": "unit_cost",
    "quantity": "quantity",
}
HEADERS = {code: code for code, _name, _example in COLUMNS} | {name: code for code, name, _example in COLUMNS}


class FileProblem(ValueError):
    """The file itself cannot be read (encoding, headers): shown above the form, nothing is imported."""


def _text(value) -> str:
    """A cell as text: integral numbers from a spreadsheet without their ``.0``, times in ISO form."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def _choice(value: str, choices) -> str:
    """A code given by its code or its label (渠道 “小程序”, 支付方式 “微信支付”)."""
    for code, label in choices:
        if value in (code, str(label)):
            return code
    return value


@dataclass
class RowOutcome:
    """What one row did: ``created``, ``updated``, ``unchanged``, ``stale`` (its order's result) or ``error``."""

    values: dict
    result: str
    errors: dict = field(default_factory=dict)
    order: Order | None = None
    first_of_order: bool = False
    #: Allowed but worth a look (a line that costs more than its price), on the order's first row.
    warnings: list[str] = field(default_factory=list)


def import_order_rows(headers, rows, *, actor: User | None, dry_run: bool = False) -> list[RowOutcome]:
    """Read ``rows`` (sequences under ``headers``) as orders and write them, unless a row is wrong (then nothing
    is written) or it is a ``dry_run`` (a preview: the outcomes as they would be, nothing kept).

    Raises ``FileProblem`` when the headers themselves are wrong.
    """
    codes = read_headers(headers or [])
    table = [{code: _text(value) for code, value in zip(codes, row, strict=False) if code} for row in rows]
    orders, row_errors = _group(table)
    outcomes: dict[str, object] = {}
    with transaction.atomic():
        by_channel = defaultdict(list)
        for number, (order, _indexes) in orders.items():
            if number not in row_errors:
                by_channel[order.pop("_channel")].append((number, order))
        for channel, group in by_channel.items():
            results = order_upsert_many(channel=channel, orders=group, actor=actor)
            for (number, _order), outcome in zip(group, results, strict=True):
                outcomes[number] = outcome
        for number, outcome in outcomes.items():
            if isinstance(outcome, Exception):
                row_errors.setdefault(number, {})[orders[number][1][0]] = _messages(outcome)
        if dry_run or row_errors:
            transaction.set_rollback(True)  # a preview, or a table with a bad row: nothing is written
    result: list[RowOutcome | None] = [None] * len(table)
    for number, (_order, indexes) in orders.items():
        outcome = outcomes.get(number)
        for index in indexes:
            if number in row_errors:
                errors = row_errors[number].get(index) or {
                    "order_number": [gettext("Another row of this order is wrong.")]
                }
                result[index] = RowOutcome(table[index], "error", errors)
            else:
                first = index == indexes[0]
                result[index] = RowOutcome(
                    table[index],
                    outcome.result,
                    order=outcome.order,
                    first_of_order=first,
                    warnings=[str(warning) for warning in outcome.warnings] if first else [],
                )
    return result


def read_headers(headers) -> list[str | None]:
    codes = [HEADERS.get(str(header).strip()) for header in headers]
    unknown = [str(header) for header, code in zip(headers, codes, strict=True) if code is None and str(header).strip()]
    if unknown:
        raise FileProblem(
            gettext("Unknown columns: %(columns)s. Download the template for the columns this import reads.")
            % {"columns": ", ".join(unknown)}
        )
    missing = [name for code, name, _example in COLUMNS if code in REQUIRED and code not in codes]
    if missing:
        raise FileProblem(gettext("Missing columns: %(columns)s.") % {"columns": ", ".join(missing)})
    return codes


def _group(rows: list[dict]):
    """Group the rows by order number and validate each order as the API does.

    Returns ``{number: (order data, [row indexes])}`` and ``{number: {row index: {field: [messages]}}}``.
    """
    grouped: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        grouped.setdefault(row.get("order_number", ""), []).append(index)
    categories = categories_by_code()
    category_codes = {category.name: code for code, category in categories.items()}
    validator = OrderBatchItemSerializer(context={"categories": categories})
    orders, errors = {}, {}
    for number, indexes in grouped.items():
        first = rows[indexes[0]]
        problems: dict[int, dict] = {}
        for index in indexes[1:]:
            differ = [code for code in ORDER_COLUMNS if rows[index].get(code, "") != first.get(code, "")]
            if differ:
                problems[index] = {code: [gettext("Differs from the first row of this order.")] for code in differ}
        raw = {
            "number": number,
            "customer": {key: first.get(f"customer_{key}", "") for key in ("id", "name", "phone", "email", "region")},
            "lines": [_line(rows[index], category_codes) for index in indexes],
            **{
                code: first.get(code) or None
                for code in ("version", "updated_at", "placed_at", "paid_at", "shipped_at", "delivered_at")
            },
            "payment_method": _choice(first.get("payment_method", ""), PaymentMethod.choices),
            "payment_transaction_id": first.get("payment_transaction_id", ""),
            "shipping_address": first.get("shipping_address", ""),
        }
        channel = _choice(first.get("channel", ""), Channel.choices)
        if channel not in Channel.values:
            problems.setdefault(indexes[0], {})["channel"] = [
                gettext("Unknown channel “%(value)s”.") % {"value": first.get("channel", "")}
            ]
        try:
            data = dict(validator.run_validation(raw))
        except serializers.ValidationError as exc:
            for index, messages in _by_row(exc.detail, indexes).items():
                problems.setdefault(index, {}).update(messages)
            data = None
        if problems:
            errors[number] = problems
        data = data or {}
        data.pop("number", None)
        data["_channel"] = channel
        orders[number] = (data, indexes)
    return orders, errors


def _line(row: dict, category_codes: dict[str, str]) -> dict:
    """A row's line, its category given by code or by name (“服饰”)."""
    line = {field: row.get(code, "") for code, field in LINE_COLUMNS.items()}
    line["category"] = category_codes.get(line["category"], line["category"])
    return line


def _by_row(detail, indexes: list[int]) -> dict[int, dict]:
    """A serializer's errors on one order, put on the rows they are about (a line's on its row)."""
    out: dict[int, dict] = {}
    line_columns = {api: code for code, api in LINE_COLUMNS.items()}
    for name, messages in detail.items():
        if name == "lines" and isinstance(messages, dict):
            for position, line_errors in messages.items():
                out.setdefault(indexes[int(position)], {}).update(
                    {line_columns.get(key, key): [str(m) for m in msgs] for key, msgs in line_errors.items()}
                )
        elif name == "customer" and isinstance(messages, dict):
            out.setdefault(indexes[0], {}).update(
                {f"customer_{key}": [str(m) for m in msgs] for key, msgs in messages.items()}
            )
        else:
            column = "order_number" if name == "number" else name
            out.setdefault(indexes[0], {})[column] = (
                [str(m) for m in messages] if isinstance(messages, list) else [str(messages)]
            )
    return out


def _messages(exc: Exception) -> dict:
    if isinstance(exc, Conflict):
        return {"order_number" if exc.field == "number" else exc.field: [str(exc)]}
    if isinstance(exc, ValidationError):
        return exc.message_dict if hasattr(exc, "error_dict") else {"order_number": exc.messages}
    if isinstance(exc, NotAllowed):
        return {"order_number": [str(exc)]}
    raise exc
