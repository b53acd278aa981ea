"""Exports too large for one request: written in the background to a file equal to the streamed one."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from reports import background
from reports.models import ExportJob

MONTH = {"date_from": "2026-11-01", "date_to": "2026-11-30", "basis": "proposed"}


@pytest.fixture
def small_limit(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.EXPORT_STREAM_MAX_ROWS = 2  # the hand-built month has more compensations than that
    return settings


def streamed(client, fmt: str, settings) -> bytes:
    settings.EXPORT_STREAM_MAX_ROWS = 10_000
    response = client.get(reverse("reports:compensation_export", args=[fmt]), MONTH)
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    settings.EXPORT_STREAM_MAX_ROWS = 2
    return body


def xlsx_rows(data: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(data), read_only=True).active.iter_rows(values_only=True))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_large_export_is_written_in_the_background_and_equals_the_streamed_one(
    login, users, november, small_limit, fmt
):
    client = login(users["finance"])
    response = client.get(reverse("reports:compensation_export", args=[fmt]), MONTH)
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("reports:export", args=[job.pk])
    assert job.state == "queued" and job.rows_total == 5 and job.requested_by == users["finance"]
    page = client.get(response.url)
    assert '<meta http-equiv="refresh"' in page.content.decode() and "排队中" in page.content.decode()

    call_command("run_jobs", "--once", "--only", "exports", stdout=io.StringIO())
    job.refresh_from_db()
    assert job.state == "done" and job.rows_done == 5 and job.file.name.endswith(f".{fmt}")
    page = client.get(reverse("reports:export", args=[job.pk])).content.decode()
    assert 'id="export-download"' in page and "http-equiv" not in page
    download = client.get(reverse("reports:export_download", args=[job.pk]))
    assert download["Content-Disposition"].startswith("attachment")
    data = b"".join(download.streaming_content)
    expected = streamed(client, fmt, small_limit)
    if fmt == "csv":
        assert data == expected
    else:
        assert xlsx_rows(data) == xlsx_rows(expected) and len(xlsx_rows(data)) == 6  # header + the 5 of the month


def test_only_the_person_who_asked_sees_the_export(login, users, november, small_limit):
    login(users["finance"]).get(reverse("reports:compensation_export", args=["csv"]), MONTH)
    job = ExportJob.objects.get()
    background.write_queued_exports()
    other = login(users["supervisor"])
    assert other.get(reverse("reports:export", args=[job.pk])).status_code == 404
    assert other.get(reverse("reports:export_download", args=[job.pk])).status_code == 404
    assert login(users["agent"]).get(reverse("reports:export", args=[job.pk])).status_code == 403


def test_small_exports_still_stream(login, users, november, settings):
    response = login(users["finance"]).get(reverse("reports:compensation_export", args=["csv"]), MONTH)
    assert response.status_code == 200 and response.streaming and not ExportJob.objects.exists()


def test_an_export_is_written_once_and_a_lost_one_fails(login, users, november, small_limit):
    login(users["finance"]).get(reverse("reports:compensation_export", args=["csv"]), MONTH)
    job = ExportJob.objects.get()
    assert background.export_write(job.pk) is True
    assert background.export_write(job.pk) is False  # claimed (and written) already
    stuck = ExportJob.objects.create(
        report="compensation",
        fmt="csv",
        requested_by=users["finance"],
        filename="x",
        state="running",
        started_at=timezone.now() - timedelta(hours=3),
    )
    background.write_queued_exports()
    stuck.refresh_from_db()
    assert stuck.state == "failed" and "重新导出" in stuck.error


def test_with_a_broker_the_export_is_handed_to_celery_after_the_commit(
    login, users, november, small_limit, monkeypatch, django_capture_on_commit_callbacks
):
    from reports import tasks

    queued = []
    small_limit.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    monkeypatch.setattr(tasks.write_export, "delay", lambda job_id: queued.append(job_id))
    with django_capture_on_commit_callbacks(execute=True):
        login(users["finance"]).get(reverse("reports:compensation_export", args=["xlsx"]), MONTH)
    assert queued == [ExportJob.objects.get().pk]
    assert tasks.write_export.run(queued[0]) is True
    assert ExportJob.objects.get().state == "done"


def test_a_failing_export_says_so(login, users, november, small_limit, monkeypatch):
    login(users["finance"]).get(reverse("reports:compensation_export", args=["csv"]), MONTH)

    def broken(params, show_pii):
        raise RuntimeError("disk full")

    monkeypatch.setitem(background.REPORTS, "compensation", broken)
    background.write_queued_exports()
    job = ExportJob.objects.get()
    assert job.state == "failed" and "disk full" in job.error
    page = login(users["finance"]).get(reverse("reports:export", args=[job.pk])).content.decode()
    assert "生成失败" in page
