"""A return-and-refund case from pending review to closed, through the pages alone, in a real browser.

Agent, QC and supervisor sign in in turn (Debian's Chromium, driven by
Playwright); the offer is above the agent's authority, so a supervisor
approves it on the approvals page. Screenshots of the queue and the case page
are saved under ``test-artifacts/``.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from aftersales import services
from aftersales.models import Case, CaseState, Compensation, InspectionPhoto
from tests.aftersales.test_case_page import png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

S = CaseState
PASSWORD = "pw-for-tests-1"


def sign_in(page, base: str, username: str) -> None:
    page.goto(base + reverse("login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state()


def sign_out(page) -> None:
    page.click("header.top .me button[type=submit]")
    page.wait_for_url(re.compile(r".*/accounts/login/.*"))


def do(page, name: str) -> None:
    """Open an action's form on the case page (if it has one) and submit it."""
    panel = page.locator(f"#action-{name}")
    summary = panel.locator("summary")
    if summary.count():
        summary.click()
    panel.locator("button[type=submit]").click()
    page.wait_for_load_state()


def state_of(page) -> str:
    return page.locator("#case-state").get_attribute("data-state")


def test_return_and_refund_from_review_to_closed_through_the_pages(
    live_server, browser_page, artifacts, users, policy, order, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    page, base = browser_page, live_server.url
    jacket = order.lines.get(sku="JK-002")
    case = services.case_open(
        actor=users["channel"],
        order_id=order.pk,
        lines=[(jacket.pk, 1)],
        request_type="return_refund",
        reason="羽绒服拉链坏了，要求退货退款",
        urgency=4,
    )

    # 1. The agent lands on the queue, opens the case and approves it.
    sign_in(page, base, "agent")
    assert page.url.endswith(reverse("desk:queue"))
    assert page.locator(f"tr[data-case='{case.number}']").count() == 1
    page.screenshot(path=str(artifacts / "queue.png"), full_page=True)
    page.click(f"text={case.number}")
    assert page.locator("#order-number").inner_text() == order.number
    page.screenshot(path=str(artifacts / "case-pending-review.png"), full_page=True)
    do(page, "approve")
    assert state_of(page) == S.AWAITING_RETURN
    sign_out(page)

    # 2. QC records the receipt on the QC page, then the inspection with a photo on the case page.
    sign_in(page, base, "qc")
    assert page.url.endswith(reverse("desk:qc"))
    row = page.locator(f"tr[data-case='{case.number}']")
    row.locator("select[name=carrier]").select_option("SF")
    row.locator("input[name=tracking_number]").fill("SF1234567890123")
    row.locator("button[type=submit]").click()
    page.wait_for_load_state()
    page.click("a[data-tab='in_qc']")
    page.locator(f"tr[data-case='{case.number}'] a.button").click()
    page.locator("#action-inspect summary").click()
    form = page.locator("#action-inspect form")
    form.locator("select[name=grade]").select_option("C")
    form.locator("select[name=responsible_party]").select_option("merchant")
    form.locator("select[name=disposition]").select_option("refurbish")
    form.locator("textarea[name=findings]").fill("拉链断裂，属质量问题")
    form.locator("input[name=photos]").set_input_files(
        [{"name": "拉链.png", "mimeType": "image/png", "buffer": png_bytes()}]
    )
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert state_of(page) == S.COMPENSATION
    assert page.locator("#inspections img").count() == 1
    sign_out(page)

    # 3. The agent takes the suggested full refund and sends the offer: above ¥200, it goes to a supervisor.
    sign_in(page, base, "agent")
    page.goto(base + reverse("desk:case", args=[case.pk]))
    page.locator("button[data-suggestion='refund']").click()
    page.wait_for_load_state()
    assert "¥1,299.00" in page.locator("#offer-total").inner_text()
    do(page, "propose")
    assert page.locator("#awaiting-approval").count() == 1
    assert state_of(page) == S.AWAITING_APPROVAL
    page.screenshot(path=str(artifacts / "case-awaiting-approval.png"), full_page=True)
    sign_out(page)

    # 4. The supervisor approves the offer on the approvals page.
    sign_in(page, base, "supervisor")
    page.click("header.top a[data-area='approvals']")
    row = page.locator(f"tr[data-case='{case.number}']")
    row.locator("details").first.locator("summary").click()
    row.locator("button[value='approve_offer']").click()
    page.wait_for_load_state()
    assert page.locator(f"tr[data-case='{case.number}']").count() == 0
    sign_out(page)

    # 5. The customer accepts by phone; the agent confirms on their behalf.
    sign_in(page, base, "agent")
    page.goto(base + reverse("desk:case", args=[case.pk]))
    assert state_of(page) == S.AWAITING_CONFIRMATION
    do(page, "confirm")
    assert state_of(page) == S.CLOSED
    page.screenshot(path=str(artifacts / "case-closed.png"), full_page=True)

    case.refresh_from_db()
    assert case.state == S.CLOSED and case.return_tracking_number == "SF1234567890123"
    refund = Compensation.objects.get(case=case)
    assert refund.payable and refund.approved_by == users["supervisor"] and str(refund.amount) == "1299.00"
    assert InspectionPhoto.objects.filter(inspection__case=case).count() == 1
    names = list(case.events.filter(kind="transition").values_list("name", flat=True))
    assert names == ["approve", "receive", "inspect", "submit_offer", "approve_offer", "confirm"]
    assert (artifacts / "queue.png").stat().st_size > 0 and (artifacts / "case-closed.png").stat().st_size > 0
    assert Case.objects.count() == 1
