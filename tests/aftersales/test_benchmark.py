"""``manage.py benchmark`` keeps working: every page and API row it times answers 200 on demo data (no timings asserted)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_the_benchmark_requests_every_page_and_api_row_successfully():
    call_command("seed_demo", "--cases", "120", stdout=StringIO())
    call_command("create_demo_users", "--force", stdout=StringIO())  # DEBUG is off under pytest
    out = StringIO()
    call_command("benchmark", "--repeat", "2", "--no-write", "--orders", "--transitions", stdout=out)
    printed = out.getvalue()
    from customers.models import Order

    assert Order.objects.filter(number__startswith="BM").count() == 500 + 3334  # the batches and the file import
    assert "the 500 shipped (updated)" in printed and "file import: 10,000 rows" in printed
    for label in (
        "queue (default: open, deadline first)",
        "report: KPI dashboard",
        "API: staff case list (default)",
        "API: staff case detail",
        "API: a case's progress (channel key)",
    ):
        assert label in printed
    assert "queries" in printed
    assert "export csv (streamed)" in printed and "export xlsx (streamed)" in printed
    assert "transition approve" in printed and "transition confirm" in printed


@pytest.mark.django_db
def test_the_benchmark_times_a_large_export_through_the_background_path(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.EXPORT_STREAM_MAX_ROWS = 5
    call_command("seed_demo", "--cases", "60", stdout=StringIO())
    call_command("create_demo_users", "--force", stdout=StringIO())  # DEBUG is off under pytest
    out = StringIO()
    call_command("benchmark", "--repeat", "1", "--no-write", stdout=out)
    from reports.models import ExportJob

    assert "export csv (background)" in out.getvalue() and "export xlsx (background)" in out.getvalue()
    assert ExportJob.objects.filter(state="done").count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_benchmark_serves_the_pages_through_gunicorn_with_concurrent_clients():
    call_command("seed_demo", "--cases", "60", stdout=StringIO())
    call_command("create_demo_users", "--force", stdout=StringIO())  # DEBUG is off under pytest
    out = StringIO()
    call_command("benchmark", "--repeat", "1", "--no-write", "--http", "2", "--http-workers", "1", stdout=out)
    http = [line for line in out.getvalue().splitlines() if line.startswith("http ")]
    assert any("queue (default" in line for line in http) and any("case page" in line for line in http)
    assert all("req/s" in line and "p95" in line for line in http)
