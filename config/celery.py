"""Celery for scale-out: the same jobs as ``manage.py run_jobs``, as tasks scheduled by beat.

Run with a broker (Redis):
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 celery -A config worker -l info
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 celery -A config beat -l info
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("aftersales")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["aftersales", "reports"])


def _beat_schedule() -> dict:
    from aftersales.automation.jobs import JOBS

    return {
        f"job-{name}": {"task": "aftersales.tasks.run_job", "schedule": float(job.every), "args": (name,)}
        for name, job in JOBS.items()
    }


@app.on_after_finalize.connect
def _schedule(sender, **kwargs):
    sender.conf.beat_schedule = _beat_schedule()
