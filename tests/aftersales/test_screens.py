"""The workspace at a laptop's 1366 px and a tablet's 768 px: screenshots to look at, and what must stay visible.

Saved under ``test-artifacts/screens/``: the queue, a case page, the QC bench, approvals, payouts and the
dashboard, at both widths.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from aftersales import services
from aftersales.models import CaseState
from tests.aftersales.browser import sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

S = CaseState
SIZES = {1366: 768, 768: 1024}


@pytest.fixture
def floor(case_in, order, users):
    """A few cases the way a team's day leaves them."""
    jacket = order.lines.get(sku="JK-002")
    cases = {
        "offer": case_in(S.COMPENSATION),
        "shipped": case_in(S.RETURN_SHIPPED, request_type="exchange", lines=[(jacket.pk, 1)]),
        "complaint": case_in(S.PENDING_REVIEW, request_type="complaint", lines=[]),
    }
    return cases


def shoot(page, artifacts, name: str, width: int) -> None:
    folder = artifacts / "screens"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0


def visible(page, selector: str) -> bool:
    return page.locator(selector).first.is_visible()


@pytest.mark.parametrize("width", SIZES)
def test_the_workspace_pages_at_laptop_and_tablet_width(live_server, chromium, artifacts, floor, users, width):
    context = chromium.new_context(
        viewport={"width": width, "height": SIZES[width]}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(15_000)
    page, base = context.new_page(), live_server.url
    # One offer above the agent's authority waits for approval; one refund is payable.
    jacket_case = floor["shipped"]
    services.case_receive(case_id=jacket_case.pk, actor=users["qc"], tracking_number="SF1234567890123")
    offer = floor["offer"]
    services.compensation_add(case_id=offer.pk, actor=users["agent"], kind="refund", amount="99.00")
    services.compensation_add(case_id=offer.pk, actor=users["agent"], kind="cash", amount="150.00")
    services.case_submit_offer(case_id=offer.pk, actor=users["agent"])

    sign_in(page, base, "supervisor")
    page.goto(base + reverse("desk:queue") + "?reset=1")
    shoot(page, artifacts, "queue", width)
    for header in ("case number", "state", "deadline", "assignee"):
        column = {"case number": 2, "state": 7, "deadline": 10, "assignee": 12}[header]
        assert page.locator(f"table.queue thead th:nth-child({column})").is_visible(), header
    assert page.locator("table.queue thead th.wide").first.is_visible() is (width > 900)

    page.goto(base + reverse("desk:case", args=[offer.pk]))
    shoot(page, artifacts, "case", width)
    actions, timeline = page.locator("#actions").bounding_box(), page.locator("#timeline").bounding_box()
    assert actions["y"] < timeline["y"] if width < 1000 else actions["x"] > timeline["x"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing wider than the screen

    page.goto(base + reverse("desk:qc"))
    shoot(page, artifacts, "bench", width)
    page.goto(base + reverse("desk:approvals"))
    assert page.locator(f"tr[data-case='{offer.number}']").count() == 1
    shoot(page, artifacts, "approvals", width)
    page.goto(base + reverse("reports:dashboard"))
    shoot(page, artifacts, "dashboard", width)
    sign_out(page)

    services.case_approve_offer(case_id=offer.pk, actor=users["supervisor"])
    services.case_confirm(case_id=offer.pk, actor=users["channel"])
    sign_in(page, base, "finance")
    page.goto(base + reverse("desk:finance"))
    assert page.locator(f"tr[data-case='{offer.number}'], tr:has(a:text('{offer.number}'))").count() >= 1
    shoot(page, artifacts, "payouts", width)
    context.close()
