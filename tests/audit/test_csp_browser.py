"""The Content-Security-Policy is sent, and the pages' own scripts still run under it (no inline script is
refused, charts draw, htmx loads, the language switch and the select-all boxes work)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from aftersales.models import CaseState
from tests.aftersales.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pages_pass_the_policy_and_their_scripts_run(live_server, chromium, artifacts, case_in, users):
    case = case_in(CaseState.PENDING_REVIEW)
    supervisor = users["supervisor"]
    supervisor.is_staff = True
    supervisor.save()
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    refused = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.on("pageerror", lambda error: refused.append(f"page error: {error}"))
    base = live_server.url
    sign_in(page, base, "supervisor")

    pages = [
        reverse("desk:queue"),
        reverse("desk:case", args=[case.pk]),
        reverse("desk:board"),
        "/reports/dashboard/",
        "/reports/heatmap/",
        "/admin/",
        reverse("admin:aftersales_case_change", args=[case.pk]),
        "/api/v1/docs/",
    ]
    for path in pages:
        response = page.goto(base + path)
        assert response.status == 200, path
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, (path, policy)
        page.wait_for_load_state("networkidle")
        if path == "/reports/dashboard/":
            page.wait_for_selector(".echart[data-drawn] svg", timeout=10_000)  # ECharts drew
        if path == "/api/v1/docs/":
            page.wait_for_selector(".swagger-ui .opblock", timeout=10_000)  # Swagger UI started from its file
    assert refused == [], refused

    page.goto(base + reverse("desk:queue"))
    assert page.evaluate("typeof window.htmx") == "object"
    boxes = page.locator("input[name=cases]")
    if boxes.count():
        page.check("input[data-select-all]")
        assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))

    with page.expect_navigation():  # forms.js submits the switch (no inline handler)
        page.select_option("select[data-submit-on-change]", "en")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    page.screenshot(path=str(artifacts / "csp-queue-en.png"), full_page=True)
    assert refused == [], refused
    context.close()
