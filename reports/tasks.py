"""Celery tasks of the reports: a background export, written as soon as it is asked for."""

from __future__ import annotations

from celery import shared_task

from reports.background import export_write


@shared_task(name="reports.tasks.write_export")
def write_export(job_id: int) -> bool:
    return export_write(job_id)
