"""How many clicks an agent and QC need: a case from pending review to closed, in Chromium at 1366×768.

Only visible controls are clicked; typing, choosing and signing in and out are not counted. The goals: a
return-and-refund case in at most 8 clicks and 6 full page loads (agent and QC together), a refund-only case
within the agent's authority in at most 4 clicks. The customer's own steps (the parcel they send, their "yes"
to the offer, given by phone) happen outside the pages.
"""

from __future__ import annotations

import pytest

from aftersales import services
from aftersales.models import CaseState, Compensation
from tests.aftersales.browser import Walk, sign_in, sign_out, state_of, wait_for_change

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

S = CaseState


@pytest.fixture
def desk(chromium):
    context = chromium.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def open_from_the_queue(walk: Walk, number: str) -> None:
    walk.click(walk.page.locator(f"tr[data-case='{number}'] a", has_text=number), f"case {number} in the queue")


def primary(walk: Walk, name: str):
    """The state's primary action: first among the actions, open, its fields filled in."""
    panel = walk.page.locator("#actions [data-primary]")
    assert panel.get_attribute("id") == f"action-{name}"
    assert walk.page.locator("#actions > details, #actions > form").first.get_attribute("id") == f"action-{name}"
    return panel


def test_return_and_refund_from_review_to_closed_in_8_clicks(live_server, desk, artifacts, users, policy, order):
    page, base = desk, live_server.url
    shirt = order.lines.get(sku="TS-001")
    case = services.case_open(
        actor=users["channel"],
        order_id=order.pk,
        lines=[(shirt.pk, 1)],
        request_type="return_refund",
        reason="T恤尺码不合适，退货退款",
        urgency=3,
    )
    walk = Walk(page)

    # The agent: from the queue to the case, approve (open and ready).
    with walk.paused():
        sign_in(page, base, "agent")
    open_from_the_queue(walk, case.number)
    walk.click(primary(walk, "approve").locator("button[type=submit]"), "审核通过")
    assert state_of(page) == S.AWAITING_RETURN
    page.screenshot(path=str(artifacts / "clicks-approved.png"), full_page=True)
    with walk.paused():
        sign_out(page)

    # The customer sends the T-shirt back and reports the parcel in the app.
    services.case_ship_return(case_id=case.pk, actor=users["channel"], carrier="SF", tracking_number="SF1234567890123")

    # QC: the bench opens on the parcels on their way; the scanned number finds the case, whose one form
    # receives and inspects it (filled in from the customer's report).
    with walk.paused():
        sign_in(page, base, "qc")
    search = page.locator("main input[name=q]")
    search.fill("SF1234567890123")
    walk.press_enter(search, "scan")
    panel = page.locator(f"#receive-inspect-{case.pk}")
    assert panel.get_attribute("open") is not None
    assert panel.locator("input[name=tracking_number]").input_value() == "SF1234567890123"
    panel.locator("select[name=grade]").select_option("B")
    page.screenshot(path=str(artifacts / "clicks-bench.png"), full_page=True)
    walk.click(panel.locator("button[type=submit]"), "签收并质检")
    assert page.locator("main input[name=q]").input_value() == "SF1234567890123"  # the bench keeps its search
    with walk.paused():
        sign_out(page)
    case.refresh_from_db()
    assert case.state == S.COMPENSATION

    # The agent: the queue as they left it, the case, the suggested refund already in the offer, sent.
    with walk.paused():
        sign_in(page, base, "agent")
    open_from_the_queue(walk, case.number)
    offer = primary(walk, "send_offer")
    assert offer.locator("select[name=kind]").input_value() == "refund"
    assert offer.locator("input[name=amount]").input_value() == "99.00"
    walk.click(offer.locator("button[type=submit]"), "发送补偿方案")
    assert state_of(page) == S.AWAITING_CONFIRMATION

    # The customer says yes on the phone: the agent confirms.
    walk.click(primary(walk, "confirm").locator("button[type=submit]"), "确认方案")
    assert state_of(page) == S.CLOSED
    page.screenshot(path=str(artifacts / "clicks-closed.png"), full_page=True)

    print(f"return and refund: {walk.clicks} clicks, {walk.loads} page loads, {walk.keys} keys", *walk.log, sep="\n")
    assert walk.clicks <= 8 and walk.loads <= 6, walk.log
    names = list(case.events.filter(kind="transition").values_list("name", flat=True))
    assert names == ["approve", "ship_return", "receive", "inspect", "propose", "confirm"]
    refund = Compensation.objects.get(case=case)
    assert refund.kind == "refund" and str(refund.amount) == "99.00" and refund.payable


def test_refund_only_within_authority_in_4_clicks(live_server, desk, users, policy, order):
    page, base = desk, live_server.url
    shirt = order.lines.get(sku="TS-001")
    case = services.case_open(
        actor=users["channel"],
        order_id=order.pk,
        lines=[(shirt.pk, 1)],
        request_type="refund_only",
        reason="少发了一件T恤",
        urgency=3,
    )
    walk = Walk(page)
    with walk.paused():
        sign_in(page, base, "agent")
    open_from_the_queue(walk, case.number)
    walk.click(primary(walk, "approve").locator("button[type=submit]"), "审核通过")
    assert state_of(page) == S.COMPENSATION
    walk.click(primary(walk, "send_offer").locator("button[type=submit]"), "发送补偿方案")
    assert state_of(page) == S.AWAITING_CONFIRMATION
    walk.click(primary(walk, "confirm").locator("button[type=submit]"), "确认方案")
    assert state_of(page) == S.CLOSED

    print(f"refund only: {walk.clicks} clicks, {walk.loads} page loads", *walk.log, sep="\n")
    assert walk.clicks <= 4, walk.log
    assert Compensation.objects.get(case=case).payable


def test_the_keyboard_moves_through_the_queue_and_opens_a_case(live_server, desk, users, policy, order):
    page, base = desk, live_server.url
    shirt, jacket = order.lines.get(sku="TS-001"), order.lines.get(sku="JK-002")
    for line in (shirt, jacket):
        services.case_open(
            actor=users["channel"], order_id=order.pk, lines=[(line.pk, 1)], request_type="refund_only", reason="少发"
        )
    sign_in(page, base, "agent")
    rows = page.locator("tr[data-case]")
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert rows.nth(1).get_attribute("aria-selected") == "true"
    page.keyboard.press("k")
    assert rows.nth(0).get_attribute("aria-selected") == "true"
    number = rows.nth(0).get_attribute("data-case")
    before = page.evaluate("() => [performance.timeOrigin, Number(document.documentElement.dataset.swaps || 0)]")
    page.keyboard.press("Enter")
    wait_for_change(page, before)
    assert page.locator("#case-number").inner_text() == number
    page.keyboard.press("a")  # the next action's first field has the focus
    assert page.evaluate("document.activeElement.closest('[data-primary]') !== null")
    page.keyboard.press("Escape")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("?")
    assert page.locator("dialog#shortcuts").evaluate("el => el.open")
