"""Helpers shared by page tests."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales import services
from tests.factories import OrderLineFactory


def open_many(agent, count, **kwargs):
    """Open ``count`` return cases, each on its own new order."""
    cases = []
    for _ in range(count):
        line = OrderLineFactory()
        cases.append(
            services.case_open(actor=agent, order_id=line.order_id, lines=[(line.pk, 1)], request_type="return_refund", **kwargs)
        )
    return cases


def queries_of(client, url, data=None, *, status=200) -> list[str]:
    """The SQL a GET of ``url`` runs (after asserting its status)."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, data or {})
    assert response.status_code == status, response.status_code
    return [q["sql"] for q in ctx.captured_queries]
