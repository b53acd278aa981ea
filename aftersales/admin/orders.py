"""Orders and customers from a file, in the admin: django-import-export's preview, then one atomic import.

One row per order line, the order's columns repeated on each of its lines (headers by code or by their Chinese
name; CSV in UTF-8 or GBK, or XLSX). The rows are grouped into orders and go through the same validation and the
same service as the channel API's order feed (``OrderBatchItemSerializer``, ``order_upsert_many``): the preview
shows what each row would do, or each bad row with its fields; the import writes the whole file or nothing.

The shop's orders are registered here rather than in ``customers.admin`` because importing and correcting them
follows the after-sales rules (a line a case holds cannot shrink); ``customers.admin`` keeps the list and form.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms.models import BaseInlineFormSet
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export import resources
from import_export.admin import ImportMixin
from import_export.fields import Field
from import_export.formats import base_formats
from import_export.results import Error, Result, RowResult
from rest_framework import serializers

from aftersales.errors import Conflict, NotAllowed
from aftersales.services.orders import CREATED, UPDATED, held_by_order, order_upsert_many
from aftersales.workflow.serializers import OrderBatchItemSerializer, categories_by_code
from config.exports import csv_response
from customers import admin as customers_admin
from customers.models import Channel, Order, PaymentMethod

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


class FileError(Error):
    """A problem with the whole file, said in words (no traceback: it is the file, not the program)."""

    traceback = ""


class ChineseCSV(base_formats.CSV):
    """CSV in UTF-8 (with or without a BOM) or GBK/GB18030, as Excel in China saves it."""

    def is_binary(self):
        return True  # read as bytes: the encoding is found here, not assumed

    def get_read_mode(self):
        return "rb"

    def create_dataset(self, in_stream, **kwargs):
        if isinstance(in_stream, bytes):
            for encoding in ("utf-8-sig", "gb18030"):
                try:
                    in_stream = in_stream.decode(encoding)
                    break
                except UnicodeDecodeError:
                    continue
            else:
                raise FileProblem(gettext("The file is neither UTF-8 nor GBK text; save it as CSV (UTF-8) or XLSX."))
        return super().create_dataset(in_stream, **kwargs)


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


class OrderImport(resources.Resource):
    """The rows of a file, grouped into orders and written by ``order_upsert_many`` (see the module's doc)."""

    @classmethod
    def get_display_name(cls) -> str:
        return str(_("Orders and customers"))

    def get_user_visible_fields(self):
        return [Field(column_name=name) for _code, name, _example in COLUMNS]

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None, **kwargs):
        result = Result()
        result.diff_headers = [name for _code, name, _example in COLUMNS]
        try:
            codes = self._headers(dataset.headers or [])
        except FileProblem as exc:
            result.append_base_error(FileError(exc))
            return result
        rows = [{code: _text(value) for code, value in zip(codes, row, strict=False) if code} for row in dataset]
        orders, row_errors = self._orders(rows)
        outcomes: dict[str, object] = {}
        with transaction.atomic():
            valid = [(number, order) for number, (order, _rows) in orders.items() if number not in row_errors]
            by_channel = defaultdict(list)
            for number, order in valid:
                by_channel[order.pop("_channel")].append((number, order))
            for channel, group in by_channel.items():
                for (number, _order), outcome in zip(
                    group, order_upsert_many(channel=channel, orders=group, actor=kwargs.get("user")), strict=True
                ):
                    outcomes[number] = outcome
            for number, outcome in outcomes.items():
                if isinstance(outcome, Exception):
                    row_errors.setdefault(number, {})[orders[number][1][0]] = _messages(outcome)
            if dry_run or row_errors:
                transaction.set_rollback(True)  # a preview, or a file with a bad row: nothing is written
        for number, (_order, order_rows) in orders.items():
            outcome = outcomes.get(number)
            for index in order_rows:
                errors = row_errors.get(number, {}).get(index)
                row = RowResult()
                row.diff = [rows[index].get(code, "") for code, _name, _example in COLUMNS]
                if errors or number in row_errors:
                    row.import_type = RowResult.IMPORT_TYPE_INVALID
                    message = errors or {"order_number": [gettext("Another row of this order is wrong.")]}
                    result.append_invalid_row(
                        index + 1, dict(zip(result.diff_headers, row.diff, strict=True)), ValidationError(message)
                    )
                else:
                    row.import_type = {CREATED: RowResult.IMPORT_TYPE_NEW, UPDATED: RowResult.IMPORT_TYPE_UPDATE}.get(
                        outcome.result, RowResult.IMPORT_TYPE_SKIP
                    )
                    if index == order_rows[0] and row.import_type != RowResult.IMPORT_TYPE_SKIP:
                        row.instance, row.object_id, row.object_repr = (
                            outcome.order,
                            outcome.order.pk,
                            str(outcome.order),
                        )
                result.append_row_result(row)
                result.increment_row_result_total(row)
        result.total_rows = len(rows)
        return result

    @staticmethod
    def _headers(headers) -> list[str | None]:
        codes = [HEADERS.get(str(header).strip()) for header in headers]
        unknown = [
            str(header) for header, code in zip(headers, codes, strict=True) if code is None and str(header).strip()
        ]
        if unknown:
            raise FileProblem(
                gettext("Unknown columns: %(columns)s. Download the template for the columns this import reads.")
                % {"columns": ", ".join(unknown)}
            )
        missing = [name for code, name, _example in COLUMNS if code in REQUIRED and code not in codes]
        if missing:
            raise FileProblem(gettext("Missing columns: %(columns)s.") % {"columns": ", ".join(missing)})
        return codes

    def _orders(self, rows: list[dict]):
        """Group the rows by order number and validate each order as the API does.

        Returns ``{number: (order data, [row indexes])}`` and ``{number: {row index: {field: [messages]}}}``.
        """
        grouped: dict[str, list[int]] = {}
        for index, row in enumerate(rows):
            grouped.setdefault(row.get("order_number", ""), []).append(index)
        validator = OrderBatchItemSerializer(context={"categories": categories_by_code()})
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
                "customer": {
                    key: first.get(f"customer_{key}", "") for key in ("id", "name", "phone", "email", "region")
                },
                "lines": [
                    {field: rows[index].get(code, "") for code, field in LINE_COLUMNS.items()} for index in indexes
                ],
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


def _by_row(detail, indexes: list[int]) -> dict[int, dict]:
    """A serializer's errors on one order, put on the rows they are about (a line's on its row)."""
    out: dict[int, dict] = {}
    line_columns = {api: code for code, api in LINE_COLUMNS.items()}
    for field, messages in detail.items():
        if field == "lines" and isinstance(messages, dict):
            for position, line_errors in messages.items():
                out.setdefault(indexes[int(position)], {}).update(
                    {line_columns.get(name, name): [str(m) for m in msgs] for name, msgs in line_errors.items()}
                )
        elif field == "customer" and isinstance(messages, dict):
            out.setdefault(indexes[0], {}).update(
                {f"customer_{name}": [str(m) for m in msgs] for name, msgs in messages.items()}
            )
        else:
            column = "order_number" if field == "number" else field
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


class HeldLinesFormSet(BaseInlineFormSet):
    """An order's lines in the admin follow the same rule as the API: not reduced below what open cases hold.

    (Deleting a line a case refers to is refused by the admin itself: the case's line protects it.)"""

    def clean(self):
        super().clean()
        if self.instance.pk is None:
            return
        held = held_by_order([self.instance.pk]).get(self.instance.pk, {})
        for form in self.forms:
            line = form.instance
            if line.pk not in held or not hasattr(form, "cleaned_data") or self._should_delete_form(form):
                continue
            quantity, number = held[line.pk]
            asked = form.cleaned_data.get("quantity") or 0
            if asked < quantity:
                form.add_error(
                    "quantity",
                    gettext("Line %(sku)s cannot go down to %(asked)s: case %(number)s holds %(quantity)s of it.")
                    % {"sku": line.sku, "asked": asked, "number": number, "quantity": quantity},
                )


class OrderLineInline(customers_admin.OrderLineInline):
    formset = HeldLinesFormSet


admin.site.unregister(Order)


@admin.register(Order)
class OrderAdmin(ImportMixin, customers_admin.OrderAdmin):
    """The shop's orders: list and form from ``customers.admin``, import from a file here."""

    resource_classes = [OrderImport]
    inlines = (OrderLineInline,)
    formats = [ChineseCSV, base_formats.XLSX]
    import_template_name = "admin/customers/order/import.html"

    def get_urls(self):
        return [
            path(
                "import/template/",
                self.admin_site.admin_view(self.import_template_view),
                name="customers_order_import_template",
            ),
            *super().get_urls(),
        ]

    def import_template_view(self, request):
        """The file to fill in: every column, with one example line."""
        return csv_response(
            filename="order_import_template",
            header=[name for _code, name, _example in COLUMNS],
            rows=[[example for _code, _name, example in COLUMNS]],
        )

    def get_import_context_data(self, **kwargs):
        return {
            **super().get_import_context_data(**kwargs),
            "template_url": reverse("admin:customers_order_import_template"),
            "columns": COLUMNS,
            "required": REQUIRED,
        }

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, FileProblem):
            form.add_error("import_file", str(e))
        else:
            super().add_data_read_fail_error_to_form(form, e)

    def _log_actions(self, result, request):
        """One admin log entry per order, however many lines it has."""
        rows: dict[str, list] = {}
        for row in result:
            if row.instance is not None and row.instance not in rows.setdefault(row.import_type, []):
                rows[row.import_type].append(row.instance)
        self._create_log_entries(request.user.pk, rows)
