"""Celery tasks: thin wrappers around ``aftersales.automation.jobs`` (the same functions ``run_jobs`` calls)."""

from __future__ import annotations

from celery import shared_task

from aftersales.automation import jobs


@shared_task(name="aftersales.tasks.run_job", ignore_result=False)
def run_job(name: str) -> int:
    """Run one job by name (beat schedules every job this way); a full batch queues the next one at once."""
    done = jobs.run_job(name)
    if getattr(done, "full", False):
        run_job.delay(name)
    return int(done)


@shared_task(name="aftersales.tasks.deliver_notifications")
def deliver_notifications() -> int:
    """Deliver the outbox now (queued right after a commit that wrote notifications)."""
    return jobs.deliver_notifications()
