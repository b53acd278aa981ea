"""``manage.py run_jobs``: the background jobs in a loop, without a broker.

Each job runs when its interval has passed (sweeps every minute, delivery every
ten seconds …); a sweep whose batch came back full runs again at once, until
what is due has drained. Several runners may run at once — every job is idempotent and
locks its rows with SKIP LOCKED — but one is enough for most teams. ``--once``
runs every job a single time (cron-friendly); ``--only`` picks jobs by name.
"""

from __future__ import annotations

import signal
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection

from aftersales.automation.jobs import JOBS


class Command(BaseCommand):
    help = "Run the background jobs (deadline sweeps, SLA, claimant flags, notification delivery) in a loop."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run each job once and exit.")
        parser.add_argument("--only", nargs="+", metavar="JOB", help=f"Only these jobs: {', '.join(JOBS)}.")
        parser.add_argument("--tick", type=float, default=1.0, help="Seconds between checks (default %(default)s).")

    def handle(self, *args, once, only, tick, **options):
        names = only or list(JOBS)
        unknown = set(names) - set(JOBS)
        if unknown:
            raise CommandError(f"Unknown job(s): {', '.join(sorted(unknown))}. Known: {', '.join(JOBS)}.")
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        last: dict[str, float] = {}
        while not stopping:
            for name in names:
                job = JOBS[name]
                if not once and time.monotonic() - last.get(name, -job.every) < job.every:
                    continue
                if not connection.in_atomic_block:  # (a test's transaction must survive)
                    close_old_connections()
                started = time.monotonic()
                done, runs = 0, 0
                while True:  # a sweep whose batch came back full runs again at once, until it drains
                    try:
                        result = job.run()
                    except Exception as exc:
                        self.stderr.write(f"{name}: {exc!r}")
                        break
                    done, runs = done + result, runs + 1
                    if not getattr(result, "full", False) or stopping:
                        break
                last[name] = time.monotonic()
                if done or once:
                    batches = f", {runs} batches" if runs > 1 else ""
                    self.stdout.write(f"{name}: {done} ({time.monotonic() - started:.2f}s{batches})")
            if once:
                return
            time.sleep(tick)
