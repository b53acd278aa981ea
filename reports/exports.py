"""Streaming exports of the compensation report: CSV and XLSX in bounded memory.

Rows are read with a server-side iterator in chunks and written as they come:
CSV straight into the response, XLSX through openpyxl's write-only workbook
into a temporary file that is then streamed. The rows are the report's own
queryset, so the exported total equals the total on screen. Times are local
(Asia/Shanghai, without offset: spreadsheets do not take aware times); money
stays ``Decimal``; phone numbers are masked unless the user may see them.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterator

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.masking import mask_phone

CHUNK = 2000


def columns() -> list[str]:
    return [
        _("compensation"),
        _("case number"),
        _("order number"),
        _("channel"),
        _("customer"),
        _("phone"),
        _("kind"),
        _("amount (CNY)"),
        _("state"),
        _("quick refund"),
        _("proposed by"),
        _("proposed at"),
        _("approved by"),
        _("approved at"),
        _("paid by"),
        _("paid at"),
        _("payout reference"),
        _("note"),
    ]


def _local(dt):
    return timezone.localtime(dt).replace(tzinfo=None) if dt else None


def _who(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


def rows(queryset, *, show_pii: bool) -> Iterator[list]:
    for comp in queryset.iterator(chunk_size=CHUNK):
        case = comp.case
        phone = case.customer.phone if show_pii else mask_phone(case.customer.phone)
        yield [
            comp.pk,
            case.number,
            case.order.number,
            case.get_channel_display(),
            case.customer.name,
            phone,
            comp.get_kind_display(),
            comp.amount,
            comp.get_state_display(),
            _("yes") if comp.quick_refund else "",
            _who(comp.proposed_by),
            _local(comp.proposed_at),
            _who(comp.approved_by),
            _local(comp.approved_at),
            _who(comp.paid_by),
            _local(comp.paid_at),
            comp.payout_reference or "",
            " ".join(part for part in (comp.note, comp.decision_note) if part),
        ]


class _Echo:
    def write(self, value):
        return value


def csv_response(queryset, *, filename: str, show_pii: bool) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def stream():
        yield "\ufeff"  # a BOM, so spreadsheet programs read the Chinese as UTF-8
        yield writer.writerow(columns())
        for row in rows(queryset, show_pii=show_pii):
            yield writer.writerow(
                [value.strftime("%Y-%m-%d %H:%M:%S") if hasattr(value, "strftime") else value for value in row]
            )

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def xlsx_response(queryset, *, filename: str, show_pii: bool, sheet_title: str) -> FileResponse:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    bold = Font(bold=True)
    header = []
    for title in columns():
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    money_column, time_columns = 7, {11, 13, 15}
    for row in rows(queryset, show_pii=show_pii):
        cells = []
        for index, value in enumerate(row):
            cell = WriteOnlyCell(sheet, value=value)
            if index == money_column:
                cell.number_format = "#,##0.00"
            elif index in time_columns and value is not None:
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            cells.append(cell)
        sheet.append(cells)
    handle = tempfile.TemporaryFile()
    workbook.save(handle)
    handle.seek(0)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"{filename}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )

