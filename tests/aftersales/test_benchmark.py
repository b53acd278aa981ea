"""``manage.py benchmark`` keeps working: every page and API row it times answers 200 on demo data (no timings asserted)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_the_benchmark_requests_every_page_and_api_row_successfully():
    call_command("seed_demo", "--cases", "120", stdout=StringIO())
    call_command("create_demo_users", stdout=StringIO())
    out = StringIO()
    call_command("benchmark", "--repeat", "1", "--no-write", "--orders", stdout=out)
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
