"""The reports' background jobs, run beside the after-sales ones (``manage.py run_jobs``, Celery beat).

They are registered with ``aftersales.automation.jobs.register`` from ``ReportsConfig.ready``: the workflow below
never imports the reports above it.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.automation.jobs import Job, register
from aftersales.models import HealthReport
from aftersales.notifications.outbox import alert_staff
from aftersales.permissions import SUPERVISOR
from aftersales.replies.health import health_report_generate, previous_month
from config.periods import month_of
from reports.background import write_queued_exports
from reports.rollups import rollups_job
from reports.selectors import cost_ratio


def cost_ratio_alerts(at: datetime | None = None) -> int:
    """This month's after-sales cost above a third of the gross margin, per product category: alert the supervisors once."""
    at = at or timezone.now()
    month = month_of(timezone.localtime(at).date())
    written = 0
    for row in cost_ratio(month):
        if not row.alert:
            continue
        share = f"{row.ratio * 100:.1f}%" if row.ratio is not None else "∞"
        with transaction.atomic():
            written += alert_staff(
                [SUPERVISOR],
                subject=_("After-sales cost above a third of the margin: %(category)s") % {"category": row.category},
                body=_(
                    "%(month)s, %(category)s: after-sales cost ¥%(cost)s against a gross margin of ¥%(margin)s (%(share)s)."
                )
                % {
                    "month": f"{row.month:%Y-%m}",
                    "category": row.category,
                    "cost": row.cost,
                    "margin": row.margin,
                    "share": share,
                },
                key=f"cost_ratio:{row.month:%Y-%m}:{row.category_id or 'none'}",
            )
    return written


def template_health(at: datetime | None = None) -> int:
    """On the 1st of a month (or the first run after it), the health report of the month before (once)."""
    at = at or timezone.now()
    month = previous_month(timezone.localtime(at).date())
    if HealthReport.objects.filter(month=month).exists():
        return 0
    health_report_generate(month=month, at=at)
    return 1


JOBS = [
    register(Job("exports", write_queued_exports, 5)),
    register(Job("rollups", rollups_job, 60)),
    register(Job("cost_ratio_alerts", cost_ratio_alerts, 3600)),
    register(Job("template_health", template_health, 3600)),
]
