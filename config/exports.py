"""The one writer of every CSV and XLSX file the product hands out.

Callers give a header and an iterable of rows (lists of plain values: text, numbers, ``Decimal``, dates and
datetimes, ``None``); the writer streams them in bounded memory and makes every text cell safe for a
spreadsheet program (:func:`safe_cell`): no control character, never a formula (CSV/formula injection).

- CSV (:func:`csv_response`): streamed, UTF-8 with a BOM (so Excel reads the Chinese), written with the
  standard ``csv`` module and :func:`safe_cell` on every cell (the one formula guard of CSV and XLSX alike);
  datetimes as ``%Y-%m-%d %H:%M:%S`` in local time.
- XLSX (:func:`xlsx_response`, :func:`write_xlsx`): xlsxwriter in constant-memory mode into a file; bold
  header, ``#,##0.00`` on the money columns; aware datetimes as naive local time (spreadsheets take no
  offsets).
- A background export (``reports.background``) writes the same way to a file (:func:`write_csv`,
  :func:`write_xlsx`) and reports its progress.

This module imports no project app (an import-linter contract checks it).
"""

from __future__ import annotations

import csv
import re
import tempfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

import xlsxwriter
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.http import content_disposition_header
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

#: A line whose first character, after any leading blanks, is one of these is a formula to a spreadsheet.
FORMULA_STARTS = frozenset("=+-@|%")
#: Characters spreadsheet programs drop from the start of a cell before deciding it is a formula.
LEADING_BLANKS = " \t\r\n\x0b\x0c\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u200c\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff"
#: A plain number, signed or not ("-12.50", "+86", "1,000"): a spreadsheet reads it as a number, not a formula.
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)")
LINE_BREAK = re.compile(r"(\r\n|\r|\n)")
#: A printable text whose first character is none of these is safe as it is (no formula, no blank to strip).
RISKY_FIRST = FORMULA_STARTS | frozenset(LEADING_BLANKS) | {"\t"}
MONEY_FORMAT = "#,##0.00"
CSV_DATE = "%Y-%m-%d"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_DATETIME = "yyyy-mm-dd hh:mm:ss"
#: How often (in rows) a writer reports its progress.
PROGRESS_EVERY = 5000


def _inert_line(line: str) -> str:
    if line[:1] == "\t":
        return "'" + line
    rest = line.lstrip(LEADING_BLANKS)
    if rest[:1] in FORMULA_STARTS and not PLAIN_NUMBER.fullmatch(rest):
        return "'" + line
    return line


def safe_cell(value):
    """A cell value a spreadsheet program shows as it is and never runs.

    Text loses the control characters XLSX refuses, and each of its lines that would start a formula
    (``= + - @ | %``, also after leading spaces, tabs or NBSP, or a line starting with tab or CR) is
    prefixed with ``'``. Plain numbers written as text ("-12.50") stay as they are. Lazy translations become
    text; any other value (numbers, ``Decimal``, dates, ``None``) is returned unchanged.
    """
    if isinstance(value, Promise):
        value = str(value)
    if not isinstance(value, str):
        return value
    if value.isprintable() and value[:1] not in RISKY_FIRST:  # the common case, at C speed: nothing to do
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if "\n" not in value and "\r" not in value:
        return _inert_line(value)
    parts = LINE_BREAK.split(value)  # lines at even indexes, their breaks at odd ones
    value = "".join(part if n % 2 else _inert_line(part) for n, part in enumerate(parts))
    return "'" + value if value.startswith("\r") else value  # a cell starting with CR is quoted as a whole too


def _local(value: datetime) -> datetime:
    """Naive local time (aware datetimes are converted; naive ones are taken as local already)."""
    return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value


def _csv_cell(value):
    if isinstance(value, datetime):
        return _local(value).replace(microsecond=0).isoformat(" ")  # YYYY-MM-DD HH:MM:SS, faster than strftime
    if isinstance(value, date):
        return value.strftime(CSV_DATE)
    return safe_cell(value)


class _Echo:
    """A file whose ``write`` hands the text back, so ``csv.writer`` yields lines for streaming."""

    def write(self, value):
        return value


def csv_response(*, filename: str, header: Sequence, rows: Iterable[Sequence]) -> StreamingHttpResponse:
    """Stream ``header`` and ``rows`` as ``<filename>.csv`` (``filename`` without extension), as rows come."""
    writer = csv.writer(_Echo())

    def stream():
        yield "\ufeff"  # a BOM, so spreadsheet programs read the Chinese as UTF-8
        yield writer.writerow([safe_cell(title) for title in header])
        for row in rows:
            yield writer.writerow([_csv_cell(value) for value in row])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"{filename}.csv")
    return response


def _xlsx_cell(value):
    if isinstance(value, datetime):
        return _local(value)
    return safe_cell(value)


def write_csv(handle, *, header: Sequence, rows: Iterable[Sequence], progress=None) -> int:
    """Write ``header`` and ``rows`` to a text file (UTF-8 with a BOM); returns the number of rows.

    ``progress(n)`` is called every ``PROGRESS_EVERY`` rows (a background export shows it)."""
    writer = csv.writer(handle)
    handle.write("\ufeff")
    writer.writerow([safe_cell(title) for title in header])
    n = 0
    for row in rows:
        writer.writerow([_csv_cell(value) for value in row])
        n += 1
        if progress is not None and n % PROGRESS_EVERY == 0:
            progress(n)
    return n


def write_xlsx(
    path,
    *,
    header: Sequence,
    rows: Iterable[Sequence],
    sheet_title: str,
    money_columns: Iterable[int] = (),
    progress=None,
) -> int:
    """Write ``header`` and ``rows`` to an XLSX file at ``path``: xlsxwriter in constant-memory mode (each row
    is written and flushed as it comes), bold header, ``#,##0.00`` on the money columns (0-based indexes),
    local times; ``sheet_title`` is cut to the 31 characters a sheet name may have. Returns the number of rows."""
    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,  # text is text (and safe_cell guards it for other programs too)
            "strings_to_urls": False,
            "default_date_format": XLSX_DATETIME,
        },
    )
    sheet = workbook.add_worksheet(str(sheet_title)[:31])
    bold, money = workbook.add_format({"bold": True}), workbook.add_format({"num_format": MONEY_FORMAT})
    stamp = workbook.add_format({"num_format": XLSX_DATETIME})
    sheet.write_row(0, 0, [safe_cell(title) for title in header], bold)
    money_at = frozenset(money_columns)
    n = 0
    for n, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, datetime):
                sheet.write_datetime(n, c, _local(value), stamp)
            elif c in money_at and isinstance(value, int | float | Decimal):
                sheet.write_number(n, c, value, money)
            elif isinstance(value, bool):
                sheet.write_boolean(n, c, value)
            elif isinstance(value, int | float | Decimal):
                sheet.write_number(n, c, value)
            else:
                sheet.write_string(n, c, str(safe_cell(value)))
        if progress is not None and n % PROGRESS_EVERY == 0:
            progress(n)
    workbook.close()
    return n


def xlsx_response(
    *,
    filename: str,
    header: Sequence,
    rows: Iterable[Sequence],
    sheet_title: str,
    money_columns: Iterable[int] = (),
) -> FileResponse:
    """Write the workbook (:func:`write_xlsx`) to a temporary file and stream it as ``<filename>.xlsx``."""
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the response streams and closes it
    write_xlsx(handle.name, header=header, rows=rows, sheet_title=sheet_title, money_columns=money_columns)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=f"{filename}.xlsx", content_type=XLSX_CONTENT_TYPE)
