"""``manage.py benchmark``: time the workspace pages on the current database (not a test).

Run it on a big database (``seed_demo --cases 1000000`` on PostgreSQL) and it
requests each page several times as the demo users (``create_demo_users``),
then writes the median and worst time and the query count of each page to
``docs/benchmarks.md`` (between the markers of its section) and to stdout.
Pages are requested in-process through Django's test client, so the numbers
are server time: database, ORM and template rendering, without the network.
"""

from __future__ import annotations

import platform
import statistics
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from aftersales.management.commands.create_demo_users import ensure_demo_api_key
from aftersales.models import Case, CaseState, Compensation, ProblemCategory

DOC = Path(settings.BASE_DIR) / "docs" / "benchmarks.md"
START, END = "<!-- benchmark:pages:start -->", "<!-- benchmark:pages:end -->"


#: Django keeps the last 9,000 queries of a connection; a capture that fills it counts "9000+".
QUERY_LOG_LIMIT = 9000


@contextmanager
def _counting():
    """Count the queries of a block, however many the process ran before (the log is emptied first)."""
    reset_queries()
    with CaptureQueriesContext(connection) as ctx:
        yield ctx


def _count(ctx) -> int | str:
    count = len(ctx.captured_queries)
    return f"{QUERY_LOG_LIMIT}+" if count >= QUERY_LOG_LIMIT else count


class Command(BaseCommand):
    help = "Time the queue, board, case, QC, approvals and payouts pages on this database; write docs/benchmarks.md."

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=5, help="Requests per page (default %(default)s).")
        parser.add_argument("--no-write", action="store_true", help="Print only; leave docs/benchmarks.md alone.")
        parser.add_argument(
            "--jobs",
            action="store_true",
            help="Also time one run of each background job. It ACTS on the due rows (a benchmark database only).",
        )
        parser.add_argument(
            "--http",
            type=int,
            metavar="CLIENTS",
            default=0,
            help="Also serve the app with gunicorn and time the main pages over HTTP with this many concurrent "
            "clients (req/s, p50, p95).",
        )
        parser.add_argument("--http-workers", type=int, default=2, help="gunicorn workers (default %(default)s).")
        parser.add_argument(
            "--transitions",
            action="store_true",
            help="Also time transitions through their services (approve, send the offer, confirm). It ACTS on cases.",
        )
        parser.add_argument(
            "--orders",
            action="store_true",
            help="Also time batches of 500 orders through the channel API. It WRITES them (a benchmark database only).",
        )

    def handle(self, *args, repeat, no_write, jobs, orders=False, transitions=False, http=0, http_workers=2, **options):
        User = get_user_model()
        users = {name: User.objects.filter(username=name).first() for name in ("agent", "qc", "supervisor", "finance")}
        if not all(users.values()):
            raise CommandError("Demo users missing: run `manage.py create_demo_users` first.")
        total = Case.objects.order_by().count()
        if not total:
            raise CommandError("No cases: run `manage.py seed_demo --cases N` first.")
        sample = Case.objects.filter(state=CaseState.CLOSED).order_by("-id").values_list("pk", "number").first()
        busy = (
            Case.objects.filter(state=CaseState.COMPENSATION).order_by("-id").values_list("pk", "order__number").first()
        )
        app_case = (
            Case.objects.filter(channel="app", state=CaseState.CLOSED)
            .order_by("-id")
            .values_list("number", flat=True)
            .first()
        )
        leaf = ProblemCategory.objects.filter(level=1).values_list("pk", flat=True).first()
        comp = Compensation.objects.filter(payable=True).values_list("case_id", flat=True).first()

        queue = reverse("desk:queue")
        pages = [
            ("supervisor", "queue (default: open, deadline first)", queue, {}),
            ("supervisor", "queue: red, breached, VIP", queue, {"priority": "red", "sla": "breached", "vip": "on"}),
            ("supervisor", "queue: category (level 1) and channel", queue, {"category": leaf, "channel": "app"}),
            ("supervisor", "queue: any state, newest first", queue, {"state": "any", "sort": "newest"}),
            ("supervisor", "queue: search by case number", queue, {"q": sample[1] if sample else ""}),
            ("supervisor", "queue: search by order number", queue, {"q": busy[1] if busy else ""}),
            ("agent", "queue (agent's scope)", queue, {}),
            ("agent", "queue: my cases", queue, {"view": "mine"}),
            ("supervisor", "status board", reverse("desk:board"), {}),
            ("agent", "status board (agent's scope)", reverse("desk:board"), {}),
            ("supervisor", "case page (closed case)", reverse("desk:case", args=[sample[0]]) if sample else None, {}),
            ("supervisor", "case page (compensation)", reverse("desk:case", args=[busy[0]]) if busy else None, {}),
            ("qc", "QC page: awaiting return", reverse("desk:qc"), {}),
            ("qc", "QC page: return on its way", reverse("desk:qc"), {"tab": "return_shipped"}),
            ("qc", "QC page: in QC", reverse("desk:qc"), {"tab": "in_qc"}),
            ("supervisor", "approvals", reverse("desk:approvals"), {}),
            ("finance", "payouts", reverse("desk:finance"), {}),
            ("finance", "report: compensation, paid, 30 days", reverse("reports:compensation"), {}),
            (
                "finance",
                "report: compensation, approved, 365 days",
                reverse("reports:compensation"),
                {"basis": "approved", "date_from": _days_ago(364)},
            ),
            ("finance", "report: cost funnel and ratio, 90 days", reverse("reports:costs"), {}),
            ("supervisor", "report: KPI dashboard, 8 weeks", reverse("reports:dashboard"), {}),
            ("supervisor", "report: waiting heatmap, 30 days", reverse("reports:heatmap"), {}),
            ("supervisor", "report: defect word cloud, 30 days", reverse("reports:words"), {}),
            ("supervisor", "report: team performance, 30 days", reverse("reports:team"), {}),
            ("supervisor", "API: staff case list (default)", reverse("api:staff-case-list"), {}),
            (
                "supervisor",
                "API: staff case list, red and breached",
                reverse("api:staff-case-list"),
                {"priority": "red", "sla": "breached"},
            ),
            ("agent", "API: staff case list (agent's scope)", reverse("api:staff-case-list"), {}),
            (
                "supervisor",
                "API: staff case detail",
                reverse("api:staff-case-detail", args=[busy[0]]) if busy else None,
                {},
            ),
            (
                "channel",
                "API: a case's progress (channel key)",
                reverse("api:case", args=[app_case]) if app_case else None,
                {},
            ),
        ]
        if comp is None:
            self.stderr.write("No payable compensation: the payouts page will be empty.")

        clients = {}
        for name, user in users.items():
            clients[name] = Client()
            clients[name].force_login(user)
        clients["channel"] = Client(headers={"Authorization": f"Api-Key {ensure_demo_api_key()[1]}"})

        rows = []
        for who, label, url, params in pages:
            if url is None:
                continue
            client = clients[who]
            client.get(url, params)  # warm up (connections, templates)
            times, queries = [], 0
            for _ in range(repeat):
                with _counting() as ctx:
                    started = time.perf_counter()
                    response = client.get(url, params)
                    times.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise CommandError(f"{label}: HTTP {response.status_code}")
                queries = _count(ctx)
            rows.append((label, who, statistics.median(times), max(times), queries))
            self.stdout.write(
                f"{label:45} {who:10} median {statistics.median(times):7.1f} ms  max {max(times):7.1f} ms  {queries} queries"
            )

        export_rows = [self._time_export(clients["finance"], fmt, days) for fmt, days in (("csv", 365), ("xlsx", 365))]
        http_rows = self._time_http(pages, users, clients=http, workers=http_workers, repeat=repeat) if http else []
        transition_rows = self._time_transitions(repeat) if transitions else []
        job_rows = self._time_jobs() if jobs else []
        order_rows = self._time_orders(clients["channel"]) if orders else []

        vendor = connection.vendor
        server = ""
        if vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW server_version")
                server = f" {cursor.fetchone()[0]}"
        lines = [
            START,
            f"Measured {timezone.localtime():%Y-%m-%d %H:%M} on {vendor}{server}, {total:,} cases, "
            f"{platform.machine()} with {_cpus()} CPUs; {repeat} requests per page, in-process (no network).",
            "",
            "| page | as | median | worst | queries |",
            "|---|---|---:|---:|---:|",
            *[
                f"| {label} | {who} | {median:.0f} ms | {worst:.0f} ms | {queries} |"
                for label, who, median, worst, queries in rows
            ],
            "",
            "Exports of the compensation report (approved in the last 365 days), to the end: streamed within the "
            "request, or (beyond `EXPORT_STREAM_MAX_ROWS`) asked for and written by the background path:",
            "",
            "| export | rows | time | growth of the process's peak memory |",
            "|---|---:|---:|---:|",
            *[
                f"| {fmt} | {count:,} | {seconds:.1f} s | {peak / 1e6:.1f} MB |"
                for fmt, count, seconds, peak in export_rows
            ],
            *(
                [
                    "",
                    f"Over HTTP: gunicorn with {http_workers} sync workers on this machine, {http} concurrent "
                    f"clients, {max(repeat, 5) * http} requests per page (signed-in sessions, keep-alive off):",
                    "",
                    "| page | as | req/s | p50 | p95 |",
                    "|---|---|---:|---:|---:|",
                    *[
                        f"| {label} | {who} | {rate:.1f} | {p50:.0f} ms | {p95:.0f} ms |"
                        for label, who, rate, p50, p95 in http_rows
                    ],
                ]
                if http_rows
                else []
            ),
            *(
                [
                    "",
                    "One transition through its service (lock, checks, transition, event, message, rules):",
                    "",
                    "| transition | median | worst | queries |",
                    "|---|---:|---:|---:|",
                    *[
                        f"| {label} | {median:.1f} ms | {worst:.1f} ms | {queries} |"
                        for label, median, worst, queries in transition_rows
                    ],
                ]
                if transition_rows
                else []
            ),
            *(
                [
                    "",
                    "Background jobs, one run each (a sweep handles at most 200 due cases per run):",
                    "",
                    "| job | rows acted on | time | queries |",
                    "|---|---:|---:|---:|",
                    *[f"| {name} | {done} | {ms:.0f} ms | {queries} |" for name, done, ms, queries in job_rows],
                ]
                if job_rows
                else []
            ),
            *(
                [
                    "",
                    "Orders in: the channel API's `POST /api/v1/orders/batch/` with 500 orders of 3 lines each, and "
                    "the admin's file import of 10,000 rows (3,334 orders):",
                    "",
                    "| batch | orders | time | queries |",
                    "|---|---:|---:|---:|",
                    *[f"| {label} | {count} | {ms:.0f} ms | {queries} |" for label, count, ms, queries in order_rows],
                ]
                if order_rows
                else []
            ),
            END,
        ]
        if no_write:
            return
        text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n\n"
        block = "\n".join(lines)
        if START in text and END in text:
            text = text[: text.index(START)] + block + text[text.index(END) + len(END) :]
        else:
            text = text.rstrip() + "\n\n## Workspace pages (`manage.py benchmark`)\n\n" + block + "\n"
        DOC.write_text(text, encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"Written to {DOC.relative_to(settings.BASE_DIR)}"))

    def _time_export(self, client, fmt: str, days: int) -> tuple:
        """Export to the end — streamed, or written in the background when it is too large to stream — counting its
        rows: the path taken, time (request and writing), and how far the process's peak memory grew."""
        import resource

        from reports.background import export_write
        from reports.models import ExportJob

        url = reverse("reports:compensation_export", args=[fmt])
        params = {"basis": "approved", "date_from": _days_ago(days - 1)}
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        started = time.perf_counter()
        response = client.get(url, params)
        with tempfile.TemporaryFile() as handle:
            if response.status_code == 302:  # the background path: the job the request recorded, written here
                path = "background"
                job = ExportJob.objects.order_by("-id").first()
                if not export_write(job.pk):
                    raise CommandError(f"export {fmt}: the background export was not written")
                job.refresh_from_db()
                with job.file.open("rb") as written:
                    for chunk in iter(lambda: written.read(1 << 20), b""):
                        handle.write(chunk)
            else:
                path = "streamed"
                for chunk in response.streaming_content:
                    handle.write(chunk if isinstance(chunk, bytes) else chunk.encode())
            seconds = time.perf_counter() - started
            peak = max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before)
            size = handle.tell()
            handle.seek(0)
            if fmt == "csv":
                lines = sum(1 for _line in handle)
            else:
                from openpyxl import load_workbook

                lines = sum(1 for _row in load_workbook(handle, read_only=True).worksheets[0].iter_rows())
        self.stdout.write(
            f"export {fmt} ({path}): {lines - 1:,} rows, {size / 1e6:.1f} MB in {seconds:.1f} s, "
            f"peak memory +{peak / 1e6:.1f} MB"
        )
        return f"{fmt.upper()} ({path})", lines - 1, seconds, peak

    def _time_http(self, pages, users, *, clients: int, workers: int, repeat: int) -> list[tuple]:
        """The main pages through gunicorn on a free local port, ``clients`` at once; each client signs in with a
        session of its user (written to the session store the server reads)."""
        import os
        import socket
        import subprocess
        import sys
        import urllib.request
        from concurrent.futures import ThreadPoolExecutor
        from urllib.parse import urlencode

        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
        from django.contrib.sessions.backends.db import SessionStore

        main = [page for page in pages if page[0] != "channel" and not page[1].startswith(("report:", "API:"))]
        sessions = {}
        for name, user in users.items():
            store = SessionStore()
            store[SESSION_KEY], store[BACKEND_SESSION_KEY] = str(user.pk), "django.contrib.auth.backends.ModelBackend"
            store[HASH_SESSION_KEY] = user.get_session_auth_hash()
            store.save()
            sessions[name] = store.session_key
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        db = connection.settings_dict
        env = dict(os.environ)
        if connection.vendor == "postgresql":
            env["DATABASE_URL"] = (
                f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
            )
        else:
            env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
        gunicorn = Path(sys.executable).with_name("gunicorn")
        server = subprocess.Popen(
            [str(gunicorn), "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers), "--timeout", "120"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):  # up within 10 s
                try:
                    urllib.request.urlopen(base + reverse("login"), timeout=2).read()
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                raise CommandError("gunicorn did not start")
            rows = []
            count = max(repeat, 5) * clients
            for who, label, url, params in main:
                if url is None:
                    continue
                target = base + url + (f"?{urlencode(params)}" if params else "")
                cookie = f"{settings.SESSION_COOKIE_NAME}={sessions[who]}"

                def fetch(_n, target=target, cookie=cookie, label=label):
                    request = urllib.request.Request(target, headers={"Cookie": cookie, "Connection": "close"})
                    started = time.perf_counter()
                    with urllib.request.urlopen(request, timeout=120) as response:
                        response.read()
                        if response.status != 200 or response.geturl() != target:  # not sent to the sign-in page
                            raise CommandError(f"{label}: HTTP {response.status} at {response.geturl()}")
                    return (time.perf_counter() - started) * 1000

                fetch(0)  # warm up every worker's templates
                started = time.perf_counter()
                with ThreadPoolExecutor(clients) as pool:
                    times = sorted(pool.map(fetch, range(count)))
                wall = time.perf_counter() - started
                p50, p95 = times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.95))]
                rows.append((label, who, count / wall, p50, p95))
                self.stdout.write(
                    f"http {label:45} {who:10} {count / wall:6.1f} req/s  p50 {p50:6.0f} ms  p95 {p95:6.0f} ms"
                )
            return rows
        finally:
            server.terminate()
            server.wait(timeout=30)

    def _time_transitions(self, repeat: int) -> list[tuple]:
        """One transition through its service, on cases in the state it starts from (it ACTS on them)."""
        from aftersales import services

        supervisor = get_user_model().objects.get(username="supervisor")
        runs = [
            ("approve", CaseState.PENDING_REVIEW, lambda pk: services.case_approve(case_id=pk, actor=supervisor)),
            (
                "send the offer (a coupon, then propose)",
                CaseState.COMPENSATION,
                lambda pk: services.case_send_offer(case_id=pk, actor=supervisor, kind="coupon", amount="5.00"),
            ),
            (
                "confirm",
                CaseState.AWAITING_CONFIRMATION,
                lambda pk: services.case_confirm(case_id=pk, actor=supervisor),
            ),
        ]
        rows = []
        for label, state, run in runs:
            ids = list(Case.objects.filter(state=state).order_by("-id").values_list("pk", flat=True)[: repeat + 1])
            if len(ids) < 2:
                continue
            run(ids.pop())  # warm up
            times, queries = [], 0
            for pk in ids:
                with _counting() as ctx:
                    started = time.perf_counter()
                    run(pk)
                    times.append((time.perf_counter() - started) * 1000)
                queries = _count(ctx)
            rows.append((label, statistics.median(times), max(times), queries))
            self.stdout.write(f"transition {label:40} median {statistics.median(times):7.1f} ms  {queries} queries")
        return rows

    def _time_orders(self, client) -> list[tuple]:
        """Batches of 500 orders through the channel API: new, the same again, then each one shipped."""
        import json

        from customers.models import ProductCategory

        codes = list(ProductCategory.objects.values_list("code", flat=True)) or ["none"]
        run = f"BM{int(time.time())}"

        def batch(version: int, shipped: str | None) -> list[dict]:
            return [
                {
                    "number": f"{run}{i:05d}",
                    "version": version,
                    "customer": {"id": f"{run}-c{i % 300}", "name": "压测顾客", "phone": f"139{i:08d}"},
                    "placed_at": "2026-11-28T20:15:00+08:00",
                    "paid_at": "2026-11-28T20:16:00+08:00",
                    "shipped_at": shipped,
                    "payment_method": "alipay",
                    "payment_transaction_id": f"{run}{i:016d}",
                    "lines": [
                        {
                            "sku": f"SKU-{j}",
                            "name": f"商品{j}",
                            "category": codes[j % len(codes)],
                            "unit_price": "99.00",
                            "unit_cost": "40.00",
                            "quantity": j + 1,
                        }
                        for j in range(3)
                    ],
                }
                for i in range(500)
            ]

        rows = []
        for label, orders in (
            ("500 new orders", batch(1, None)),
            ("the same 500 again (unchanged)", batch(1, None)),
            ("the 500 shipped (updated)", batch(2, "2026-11-29T09:00:00+08:00")),
        ):
            body = json.dumps({"orders": orders})
            with _counting() as ctx:
                started = time.perf_counter()
                response = client.post(reverse("api:orders-batch"), body, content_type="application/json")
                elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200 or response.json()["counts"]["error"]:
                raise CommandError(f"order batch {label}: HTTP {response.status_code} {response.content[:300]!r}")
            rows.append((label, len(orders), elapsed, _count(ctx)))
            self.stdout.write(f"orders: {label:35} {elapsed:7.0f} ms  {_count(ctx)} queries")
        rows += self._time_order_import(run, codes)
        return rows

    def _time_order_import(self, run: str, codes: list[str]) -> list[tuple]:
        """The admin's order import of a 10,000-row file (3 lines an order): the preview, then the import."""
        from aftersales.services.order_files import COLUMNS, import_order_rows

        headers = [name for _code, name, _example in COLUMNS]
        table = []
        for i in range(10_000):
            order, line = divmod(i, 3)
            table.append(
                [
                    f"{run}F{order:05d}", "app", "1", "", f"{run}-f{order % 500}", "导入顾客", f"138{order:08d}", "",
                    "", "2026-11-28 20:15:00", "2026-11-28 20:16:00", "", "", "alipay", "", "",
                    f"SKU-{line}", f"商品{line}", codes[line % len(codes)], "99.00", "40.00", str(line + 1),
                ]
            )  # fmt: skip
        supervisor = get_user_model().objects.get(username="supervisor")
        rows = []
        for label, dry_run in (("file import: preview of 10,000 rows", True), ("file import: 10,000 rows", False)):
            with _counting() as ctx:
                started = time.perf_counter()
                outcomes = import_order_rows(headers, table, actor=supervisor, dry_run=dry_run)
                elapsed = (time.perf_counter() - started) * 1000
            if any(outcome.result == "error" for outcome in outcomes):
                raise CommandError(f"{label}: the file did not import")
            rows.append((label, len({row[0] for row in table}), elapsed, _count(ctx)))
            self.stdout.write(f"orders: {label:35} {elapsed:7.0f} ms  {_count(ctx)} queries")
        return rows

    def _time_jobs(self) -> list[tuple]:
        from aftersales.automation.jobs import JOBS

        rows = []
        for name, job in JOBS.items():
            with _counting() as ctx:
                started = time.perf_counter()
                done = job.run()
                elapsed = (time.perf_counter() - started) * 1000
            rows.append((name, done, elapsed, _count(ctx)))
            self.stdout.write(f"job {name:25} {done:5} rows  {elapsed:8.1f} ms  {_count(ctx)} queries")
        return rows


def _days_ago(days: int) -> str:
    return (timezone.localdate() - timedelta(days=days)).isoformat()


def _cpus() -> int:
    import os

    return os.cpu_count() or 1
