"""A return-and-refund case from pending review to closed, through the pages alone, in a real browser.

Agent, QC and supervisor sign in in turn (Debian's Chromium, driven by
Playwright); the offer is above the agent's authority, so a supervisor
approves it on the approvals page. Screenshots of the queue and the case page
are saved under ``test-artifacts/``.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from aftersales import services
from aftersales.models import Case, CaseState, Compensation, InspectionPhoto
from tests.aftersales.browser import click, sign_in, sign_out, state_of
from tests.aftersales.test_case_page import png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

S = CaseState


def do(page, name: str) -> None:
    """Open an action's form on the case page (unless it is open already) and submit it."""
    panel = page.locator(f"#action-{name}")
    if panel.evaluate("el => el.tagName === 'DETAILS' && !el.open"):
        panel.locator("summary").click()
    click(page, panel.locator("button[type=submit]"))


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
    row = row.locator("form.inline-form")
    row.locator("select[name=carrier]").select_option("SF")
    row.locator("input[name=tracking_number]").fill("SF1234567890123")
    click(page, row.locator("button[type=submit]"))
    click(page, page.locator("a[data-tab='in_qc']"))
    click(page, page.locator(f"tr[data-case='{case.number}'] a.button"))
    assert page.locator("#action-inspect").get_attribute("open") is not None  # the inspect link opens its panel
    form = page.locator("#action-inspect form")
    form.locator("select[name=grade]").select_option("C")
    form.locator("select[name=responsible_party]").select_option("merchant")
    form.locator("select[name=disposition]").select_option("refurbish")
    form.locator("textarea[name=findings]").fill("拉链断裂，属质量问题")
    form.locator("input[name=photos]").set_input_files(
        [{"name": "拉链.png", "mimeType": "image/png", "buffer": png_bytes()}]
    )
    click(page, form.locator("button[type=submit]"))
    assert state_of(page) == S.COMPENSATION
    assert page.locator("#inspections img").count() == 1
    sign_out(page)

    # 3. The agent takes the suggested full refund and sends the offer: above ¥200, it goes to a supervisor.
    sign_in(page, base, "agent")
    page.goto(base + reverse("desk:case", args=[case.pk]))
    click(page, page.locator("button[data-suggestion='refund']"))
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
    click(page, row.locator("button[value='approve_offer']"))
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
