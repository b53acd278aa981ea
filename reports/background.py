"""Large exports in the background: asked for on the page, written by a job to a file, downloaded when ready.

A request that would export more than ``EXPORT_STREAM_MAX_ROWS`` rows does not stream: it records an
``ExportJob`` (the report, its filters as they were, whether phone numbers are shown) and the page follows its
progress. The file is written by Celery when a broker is configured (the task is queued after the commit) and
by the ``exports`` job of ``manage.py run_jobs`` otherwise, through Django's storage (local media or the S3
bucket), with the same writer and the same rows as a streamed export. A job is claimed with a conditional
update, so two workers never write the same export; one left running by a worker that died is failed after
``STALE_AFTER`` and may be asked for again.
"""

from __future__ import annotations

import logging
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import connection, transaction
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from config import exports as writer
from reports.models import ExportJob

log = logging.getLogger(__name__)
#: A job still "being written" this long after it started has lost its worker.
STALE_AFTER = timedelta(hours=2)
#: Exports the runner writes per run (each may take a while; the next run takes the next ones).
PER_RUN = 2


@dataclass(frozen=True)
class ExportSpec:
    header: list
    rows: object
    sheet_title: str
    money_columns: tuple[int, ...] = ()


def _compensation(params: QueryDict, show_pii: bool) -> ExportSpec:
    from aftersales.models import Compensation
    from reports import exports
    from reports.filters import CompensationReportFilter

    queryset = CompensationReportFilter(params, queryset=Compensation.objects.all()).qs
    return ExportSpec(
        exports.columns(),
        exports.rows(queryset, show_pii=show_pii),
        _("Compensation"),
        (exports.MONEY_COLUMN,),
    )


#: The reports that export in the background, by name: ``(params, show_pii) → ExportSpec``.
REPORTS = {"compensation": _compensation}


@contextmanager
def whole_result_plans():
    """Plans for reading a whole result, not its first rows: PostgreSQL plans a cursor's query for a tenth of it
    (``cursor_tuple_fraction``), nested loops of index lookups that are slow for a million rows."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET cursor_tuple_fraction = 1.0")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET cursor_tuple_fraction")
        except Exception:  # a broken connection: it is closed anyway, and the export's own error is the one to keep
            log.warning("could not reset cursor_tuple_fraction", exc_info=True)


def stream_limit() -> int:
    return int(getattr(settings, "EXPORT_STREAM_MAX_ROWS", 20_000))


def export_request(
    *, user, report: str, fmt: str, params: QueryDict, show_pii: bool, filename: str, rows_total: int | None
) -> ExportJob:
    """Record an export to write in the background (and hand it to Celery after the commit, when configured)."""
    if report not in REPORTS or fmt not in ("csv", "xlsx"):
        raise ValueError(f"No background export {report!r} as {fmt!r}.")
    job = ExportJob.objects.create(
        report=report,
        fmt=fmt,
        params=params.urlencode(),
        show_pii=show_pii,
        requested_by=user,
        filename=filename,
        rows_total=rows_total,
    )
    if getattr(settings, "CELERY_BROKER_URL", ""):
        from reports.tasks import write_export

        transaction.on_commit(lambda: write_export.delay(job.pk))
    return job


def export_write(job_id: int, *, at: datetime | None = None) -> bool:
    """Write one queued export (claimed atomically: another worker's claim wins). Returns whether it was written."""
    at = at or timezone.now()
    claimed = ExportJob.objects.filter(pk=job_id, state=ExportJob.State.QUEUED).update(
        state=ExportJob.State.RUNNING, started_at=at, rows_done=0, error=""
    )
    if not claimed:
        return False
    job = ExportJob.objects.get(pk=job_id)
    try:
        spec = REPORTS[job.report](QueryDict(job.params), job.show_pii)

        def progress(n: int) -> None:
            ExportJob.objects.filter(pk=job.pk).update(rows_done=n)

        with tempfile.TemporaryDirectory() as folder, whole_result_plans():
            path = Path(folder) / f"export.{job.fmt}"
            if job.fmt == "csv":
                with path.open("w", encoding="utf-8", newline="") as handle:
                    written = writer.write_csv(handle, header=spec.header, rows=spec.rows, progress=progress)
            else:
                written = writer.write_xlsx(
                    path,
                    header=spec.header,
                    rows=spec.rows,
                    sheet_title=spec.sheet_title,
                    money_columns=spec.money_columns,
                    progress=progress,
                )
            with path.open("rb") as handle:
                job.file.save(f"{job.filename}.{job.fmt}", File(handle), save=False)
        ExportJob.objects.filter(pk=job.pk).update(
            state=ExportJob.State.DONE,
            file=job.file.name,
            rows_done=written,
            rows_total=written,
            finished_at=timezone.now(),
        )
        return True
    except Exception as exc:
        log.exception("export %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(
            state=ExportJob.State.FAILED, error=repr(exc)[:2000], finished_at=timezone.now()
        )
        return False


def write_queued_exports(at: datetime | None = None) -> int:
    """The runner's job: fail exports whose worker died, then write the oldest queued ones."""
    at = at or timezone.now()
    ExportJob.objects.filter(state=ExportJob.State.RUNNING, started_at__lt=at - STALE_AFTER).update(
        state=ExportJob.State.FAILED, error=_("The export was interrupted; ask for it again."), finished_at=at
    )
    written = 0
    for job_id in (
        ExportJob.objects.filter(state=ExportJob.State.QUEUED).order_by("id").values_list("pk", flat=True)[:PER_RUN]
    ):
        written += export_write(job_id, at=at)
    return written


def exports_of(user, *, limit: int = 20):
    """The user's latest exports."""
    return ExportJob.objects.filter(requested_by=user).order_by("-id")[:limit]


__all__ = ["export_request", "export_write", "exports_of", "stream_limit", "write_queued_exports"]
