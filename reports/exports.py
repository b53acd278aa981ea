"""Streaming exports of the compensation report: CSV and XLSX in bounded memory.

Rows are read with a server-side iterator in chunks and written as they come by the
shared writer (``config.exports``): CSV straight into the response, XLSX through
openpyxl's write-only workbook into a temporary file that is then streamed; every
text cell is made safe for a spreadsheet there. The rows are the report's own
queryset, so the exported total equals the total on screen. Times are local
(Asia/Shanghai, without offset: spreadsheets do not take aware times); money
stays ``Decimal``; phone numbers are masked unless the user may see them.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import connection
from django.db.models import DateTimeField, F, Func, Value
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from config import exports
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


FIELDS = (
    "pk",
    "case__number",
    "case__order__number",
    "case__channel",
    "case__customer__name",
    "case__customer__phone",
    "kind",
    "amount",
    "state",
    "quick_refund",
    "proposed_by__username",
    "proposed_by__first_name",
    "proposed_by__last_name",
    "proposed_at",
    "approved_by__username",
    "approved_by__first_name",
    "approved_by__last_name",
    "approved_at",
    "paid_by__username",
    "paid_by__first_name",
    "paid_by__last_name",
    "paid_at",
    "payout_reference",
    "note",
    "decision_note",
)


TIMES = ("proposed_at", "approved_at", "paid_at")


class LocalTime(Func):
    """A ``timestamptz`` as local wall time (PostgreSQL's ``timezone(zone, t)``), a naive datetime in Python."""

    function = "timezone"
    output_field = DateTimeField()

    def __init__(self, field: str, zone):
        super().__init__(Value(str(zone)), F(field))


def rows(queryset, *, show_pii: bool) -> Iterator[list]:
    """The export rows, read as plain values in chunks (no model instances: a million rows stay fast and small)."""
    from aftersales.models import Compensation, CompensationState
    from customers.models import Channel

    zone = timezone.get_current_timezone()
    channels, kinds, states = dict(Channel.choices), dict(Compensation.Kind.choices), dict(CompensationState.choices)
    channels, kinds, states = ({k: str(v) for k, v in d.items()} for d in (channels, kinds, states))
    yes = _("yes")
    fields = list(FIELDS)
    if connection.vendor == "postgresql":
        # The database hands the times back as local ones: no time zone to parse and convert per cell.
        for name in TIMES:
            queryset = queryset.annotate(**{f"{name}_local": LocalTime(name, zone)})
            fields[fields.index(name)] = f"{name}_local"

        def local(dt):
            return dt
    else:

        def local(dt):
            return dt.astimezone(zone).replace(tzinfo=None) if dt else None

    def who(username, first, last):
        return f"{first or ''}{last or ''}".strip() or (username or "")

    for (
        pk,
        number,
        order,
        channel,
        customer,
        phone,
        kind,
        amount,
        state,
        quick,
        p_user,
        p_first,
        p_last,
        proposed_at,
        a_user,
        a_first,
        a_last,
        approved_at,
        x_user,
        x_first,
        x_last,
        paid_at,
        reference,
        note,
        decision,
    ) in queryset.values_list(*fields).iterator(chunk_size=CHUNK):
        yield [
            pk,
            number,
            order,
            channels.get(channel, channel),
            customer,
            phone if show_pii else mask_phone(phone),
            kinds.get(kind, kind),
            amount,
            states.get(state, state),
            yes if quick else "",
            who(p_user, p_first, p_last),
            local(proposed_at),
            who(a_user, a_first, a_last),
            local(approved_at),
            who(x_user, x_first, x_last),
            local(paid_at),
            reference or "",
            " ".join(part for part in (note, decision) if part),
        ]


#: The 0-based index of the amount column: the XLSX shows it as money.
MONEY_COLUMN = 7


def csv_response(queryset, *, filename: str, show_pii: bool) -> StreamingHttpResponse:
    return exports.csv_response(filename=filename, header=columns(), rows=rows(queryset, show_pii=show_pii))


def xlsx_response(queryset, *, filename: str, show_pii: bool, sheet_title: str) -> FileResponse:
    return exports.xlsx_response(
        filename=filename,
        header=columns(),
        rows=rows(queryset, show_pii=show_pii),
        sheet_title=sheet_title,
        money_columns=(MONEY_COLUMN,),
    )
