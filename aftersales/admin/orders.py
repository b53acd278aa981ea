"""Orders and customers from a file, in the admin: django-import-export's preview, then one atomic import.

One row per order line, the order's columns repeated on each of its lines (headers by code or by their Chinese
name; CSV in UTF-8 or GBK, or XLSX). The rows are grouped into orders and go through the same validation and the
same service as the channel API's order feed (``OrderBatchItemSerializer``, ``order_upsert_many``): the preview
shows what each row would do, or each bad row with its fields; the import writes the whole file or nothing.

The shop's orders are registered here rather than in ``customers.admin`` because importing and correcting them
follows the after-sales rules (a line a case holds cannot shrink); ``customers.admin`` keeps the list and form.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export import resources
from import_export.admin import ImportMixin
from import_export.fields import Field
from import_export.formats import base_formats
from import_export.results import Error, Result, RowResult

from aftersales.services.order_files import COLUMNS, REQUIRED, FileProblem, import_order_rows
from aftersales.services.orders import CREATED, UPDATED, held_by_order
from config.exports import csv_response
from customers import admin as customers_admin
from customers.models import Channel, Order, PaymentMethod, ProductCategory


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


class OrderImport(resources.Resource):
    """A file's rows through ``import_order_rows``, shown as django-import-export's preview (see the module's doc)."""

    @classmethod
    def get_display_name(cls) -> str:
        return str(_("Orders and customers"))

    def get_user_visible_fields(self):
        return [Field(column_name=name) for _code, name, _example in COLUMNS]

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None, **kwargs):
        result = Result()
        result.diff_headers = [name for _code, name, _example in COLUMNS]
        result.warnings = []  # (row number, text): shown above the preview
        try:
            outcomes = import_order_rows(dataset.headers, list(dataset), actor=kwargs.get("user"), dry_run=dry_run)
        except FileProblem as exc:
            result.append_base_error(FileError(exc))
            return result
        kinds = {CREATED: RowResult.IMPORT_TYPE_NEW, UPDATED: RowResult.IMPORT_TYPE_UPDATE}
        for number, outcome in enumerate(outcomes, start=1):
            row = RowResult()
            row.diff = [outcome.values.get(code, "") for code, _name, _example in COLUMNS]
            if outcome.result == "error":
                row.import_type = RowResult.IMPORT_TYPE_INVALID
                values = dict(zip(result.diff_headers, row.diff, strict=True))
                result.append_invalid_row(number, values, ValidationError(outcome.errors))
            else:
                result.warnings.extend((number, warning) for warning in outcome.warnings)
                row.import_type = kinds.get(outcome.result, RowResult.IMPORT_TYPE_SKIP)
                if outcome.first_of_order and row.import_type != RowResult.IMPORT_TYPE_SKIP:
                    row.instance, row.object_id, row.object_repr = outcome.order, outcome.order.pk, str(outcome.order)
            result.append_row_result(row)
            result.increment_row_result_total(row)
        result.total_rows = len(outcomes)
        return result


class HeldLinesFormSet(BaseInlineFormSet):
    """An order's lines in the admin follow the same rule as the API: not reduced below what open cases hold.

    (Deleting a line a case refers to is refused by the admin itself: the case's line protects it.)"""

    def clean(self):
        super().clean()
        if self.instance.pk is None:
            return
        # The admin's save runs in one transaction: lock the order as opening a case does, so no case takes a
        # line between this check and the save.
        list(Order.objects.select_for_update().filter(pk=self.instance.pk).values_list("pk"))
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

    def get_readonly_fields(self, request, obj=None):
        """An order with cases keeps its customer (the cases are theirs), as the API refuses to move it."""
        fields = super().get_readonly_fields(request, obj)
        if obj is not None and obj.cases.exists():
            return (*fields, "customer")
        return fields

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
            "channels": Channel.choices,
            "payment_methods": PaymentMethod.choices,
            "categories": ProductCategory.objects.order_by("name"),
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
