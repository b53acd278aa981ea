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
            services.case_open(
                actor=agent, order_id=line.order_id, lines=[(line.pk, 1)], request_type="return_refund", **kwargs
            )
        )
    return cases


def queries_of(client, url, data=None, *, status=200) -> list[str]:
    """The SQL a GET of ``url`` runs (after asserting its status)."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, data or {})
    assert response.status_code == status, response.status_code
    return [q["sql"] for q in ctx.captured_queries]


class LocalReceiver:
    """An HTTP server on 127.0.0.1 that records each POST (path, headers, raw body) and answers with ``reply()``.

    Stands in for chat robots and channel systems' webhooks; use as a context manager or call ``close()``."""

    def __init__(self, status: int = 204, headers: dict | None = None):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.status, self.headers, self.received = status, headers or {}, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                receiver.received.append(
                    (self.path, self.headers, self.rfile.read(int(self.headers["Content-Length"])))
                )
                status, headers, body = receiver.reply()
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reply(self) -> tuple[int, dict, bytes]:
        return self.status, self.headers, b""

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
