"""Count every day of the reports' rollups again, and store the waits of transitions written without one."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from reports.rollups import refresh


class Command(BaseCommand):
    help = (
        "Recount the daily rollups the KPI dashboard, the cost funnel and the cost ratio read, from every case, "
        "compensation and order, and store the wait of each transition that lacks one (the waiting-time heatmap). "
        "Safe to run at any time; the rollups job keeps them current afterwards."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        days = refresh(full=True)
        self.stdout.write(f"Rollups: {days:,} days counted in {time.monotonic() - started:,.1f}s.")
