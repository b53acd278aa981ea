"""The case page: what it shows, the actions it offers per role, and how it answers bad input and conflicts."""

from __future__ import annotations

import struct
import zlib
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from aftersales import services
from aftersales.models import Case, CaseEvent, CaseState, Compensation, Inspection, InspectionPhoto
from tests.factories import OrderFactory, OrderLineFactory
from tests.helpers import queries_of

S = CaseState


def page(case) -> str:
    return reverse("desk:case", args=[case.pk])


def act(case, name) -> str:
    return reverse("desk:case_action", args=[case.pk, name])


def png_bytes() -> bytes:
    """A valid 1×1 PNG."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", raw)
        + chunk(b"IEND", b"")
    )


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


# -- what the page shows ----------------------------------------------------------------
def test_page_shows_case_and_order_numbers_customer_and_goods(login, agent, open_case, order):
    case = open_case()
    html = login(agent).get(page(case)).content.decode()
    assert case.number in html and order.number in html
    assert "纯棉T恤" in html and "羽绒服" in html
    assert "¥99.00" in html  # value of the goods in this case (1 × ¥99)
    assert order.customer.masked_phone in html and order.customer.phone not in html


def test_customer_panel_derives_annual_spend_and_lists_their_last_three_cases(login, agent, open_case, order):
    customer = order.customer
    earlier = []
    for _ in range(4):
        other = OrderFactory(customer=customer)
        line = OrderLineFactory(order=other, unit_price="50.00", quantity=1)
        earlier.append(
            services.case_open(actor=agent, order_id=other.pk, lines=[(line.pk, 1)], request_type="refund_only")
        )
    case = open_case()
    response = login(agent).get(page(case))
    # ¥99×2 + ¥1,299 + 4 × ¥50 placed within the year
    assert response.context["annual_spend"] == 99 * 2 + 1299 + 200
    recent = response.context["recent_cases"]
    assert [r["number"] for r in recent] == [c.number for c in reversed(earlier[1:])]
    html = response.content.decode()
    assert f'href="{page(earlier[3])}"' in html and earlier[0].number not in html


def test_recent_cases_outside_the_scope_are_counted_not_listed(login, qc, case_in, order):
    first = case_in(S.PENDING_REVIEW)
    second = case_in(S.AWAITING_RETURN, lines=[(order.lines.order_by("id")[1].pk, 1)])
    response = login(qc).get(page(second))
    assert response.context["recent_cases"] == [] and response.context["recent_hidden"] == 1
    html = response.content.decode()
    assert first.number not in html and 'id="recent-hidden"' in html


def test_timeline_shows_the_time_spent_at_each_node(login, agent, open_case):
    start = timezone.now() - timedelta(hours=5)
    case = open_case(at=start)
    services.case_approve(case_id=case.pk, actor=agent, at=start + timedelta(hours=2, minutes=5))
    response = login(agent).get(page(case))
    stages = response.context["stages"]
    assert stages[0]["state"] == "待审核" and stages[0]["spent"] == timedelta(hours=2, minutes=5)
    assert stages[1]["ongoing"] and stages[1]["state"] == "待寄回"
    assert "待审核: 2小时5分" in response.content.decode()


@pytest.mark.parametrize(
    ("role", "state", "expected"),
    [
        ("agent", S.PENDING_REVIEW, ["claim", "approve", "cancel", "reject", "note"]),
        ("supervisor", S.PENDING_REVIEW, ["claim", "approve", "cancel", "escalate", "reject", "triage", "note"]),
        ("qc", S.AWAITING_RETURN, ["receive_inspect", "receive", "note"]),
        ("qc", S.IN_QC, ["inspect", "note"]),
        ("agent", S.AWAITING_CONFIRMATION, ["claim", "confirm", "decline", "note"]),
    ],
)
def test_page_offers_exactly_the_actions_this_user_may_take(login, users, case_in, role, state, expected):
    case = case_in(state)
    panels = login(users[role]).get(page(case)).context["panels"]
    assert sorted(p.name for p in panels) == sorted(expected)


def test_the_page_costs_the_same_queries_whatever_the_history(login, supervisor, case_in, users, order):
    case_in(S.PENDING_REVIEW)  # an earlier case of the same customer
    case = case_in(S.CLOSED, lines=[(order.lines.order_by("id")[1].pk, 1)])
    client = login(supervisor)
    client.get(page(case))
    few = queries_of(client, page(case))
    events = case.events.count()
    for i in range(6):
        services.case_add_note(case_id=case.pk, actor=users["agent"], text=f"备注{i}")
    for _ in range(3):  # more history for the customer panel
        line = OrderLineFactory(order=OrderFactory(customer=order.customer))
        other = services.case_open(
            actor=users["agent"], order_id=line.order_id, lines=[(line.pk, 1)], request_type="refund_only"
        )
        services.case_cancel(case_id=other.pk, actor=users["agent"])
    assert case.events.count() == events + 6
    assert len(queries_of(client, page(case))) == len(few)


# -- actions ------------------------------------------------------------------------------
def test_approve_from_the_page(login, agent, open_case):
    case = open_case()
    response = login(agent).post(
        act(case, "approve"), {"expected_version": case.version, "note": "符合七天无理由"}, follow=True
    )
    assert response.redirect_chain[-1][0] == page(case)
    assert Case.objects.get(pk=case.pk).state == S.AWAITING_RETURN
    assert any("审核通过" in str(m) for m in response.context["messages"])


def test_a_missing_reason_is_shown_beside_the_field_and_nothing_is_written(login, agent, open_case):
    case = open_case()
    events = CaseEvent.objects.count()
    response = login(agent).post(act(case, "reject"), {"expected_version": case.version, "reason": ""})
    assert response.status_code == 400
    panel = next(p for p in response.context["panels"] if p.name == "reject")
    assert panel.open and "reason" in panel.form.errors
    assert 'id="id_reject_reason_errors"' in response.content.decode()  # each panel its own ids
    assert Case.objects.get(pk=case.pk).state == S.PENDING_REVIEW and CaseEvent.objects.count() == events


def test_a_case_changed_by_someone_else_gives_a_message_and_the_fresh_page(login, agent, supervisor, open_case):
    case = open_case()
    stale_version = case.version
    services.case_cancel(case_id=case.pk, actor=supervisor, reason="顾客来电撤回")
    response = login(agent).post(act(case, "approve"), {"expected_version": stale_version}, follow=True)
    assert response.status_code == 200 and response.redirect_chain[-1][0] == page(case)
    assert any("已被他人修改" in str(m) for m in response.context["messages"])
    assert Case.objects.get(pk=case.pk).state == S.CANCELLED
    assert response.context["case"].state == S.CANCELLED


def test_a_transition_not_allowed_now_says_why(login, agent, case_in):
    case = case_in(S.CLOSED)
    response = login(agent).post(act(case, "cancel"), {}, follow=True)
    texts = [str(m) for m in response.context["messages"]]
    assert any("已完成" in t for t in texts), texts
    assert Case.objects.get(pk=case.pk).state == S.CLOSED


def test_unknown_actions_are_404(login, agent, open_case):
    assert login(agent).post(act(open_case(), "explode"), {}).status_code == 404


def test_notes_and_replies_go_on_the_timeline(login, agent, open_case):
    case = open_case()
    client = login(agent)
    client.post(act(case, "note"), {"text": "顾客来电催促"})
    client.post(act(case, "note"), {"text": "您好，已为您加急处理", "to_customer": "on"})
    kinds = list(CaseEvent.objects.filter(case=case, kind__in=["note", "reply"]).values_list("kind", "note"))
    assert kinds == [("note", "顾客来电催促"), ("reply", "您好，已为您加急处理")]
    assert "发给顾客" in client.get(page(case)).content.decode()


def test_qc_writes_internal_notes_but_does_not_reply_to_customers(login, qc, case_in):
    case = case_in(S.AWAITING_RETURN)
    client = login(qc)
    note_panel = next(p for p in client.get(page(case)).context["panels"] if p.name == "note")
    assert "to_customer" not in note_panel.form.fields
    client.post(act(case, "note"), {"text": "包裹外箱破损", "to_customer": "on"})
    assert list(CaseEvent.objects.filter(case=case, kind__in=["note", "reply"]).values_list("kind", flat=True)) == [
        "note"
    ]
    with pytest.raises(PermissionDenied):
        services.case_add_note(case_id=case.pk, actor=qc, text="您好", to_customer=True)


def test_head_requests_of_the_case_page_are_answered(login, agent, open_case):
    assert login(agent).head(page(open_case())).status_code == 200


def test_supervisor_flags_a_crisis_in_triage(login, supervisor, open_case):
    case = open_case()
    login(supervisor).post(
        act(case, "triage"), {"expected_version": case.version, "urgency": 5, "priority": "red", "crisis": "on"}
    )
    case.refresh_from_db()
    assert case.crisis and case.priority == "red" and case.urgency == 5


# -- QC with photos -------------------------------------------------------------------
def inspect_data(case, **extra):
    return {
        "expected_version": case.version,
        "grade": Inspection.Grade.C,
        "responsible_party": Inspection.Party.MERCHANT,
        "disposition": Inspection.Disposition.REFURBISH,
        "findings": "面料起球",
        **extra,
    }


def test_qc_records_an_inspection_with_photos_served_only_within_scope(login, qc, finance, case_in):
    case = case_in(S.IN_QC)
    photo = SimpleUploadedFile("起球.png", png_bytes(), content_type="image/png")
    response = login(qc).post(act(case, "inspect"), inspect_data(case, photos=[photo]))
    assert response.status_code == 302
    stored = InspectionPhoto.objects.get()
    assert stored.content_type == "image/png" and stored.original_name == "起球.png"
    assert Case.objects.get(pk=case.pk).state == S.COMPENSATION
    url = reverse("desk:photo", args=[case.pk, stored.pk])
    served = login(qc).get(url)
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == png_bytes()
    assert login(finance).get(url).status_code == 404


def test_a_photo_that_is_not_an_image_is_refused_and_nothing_is_written(login, qc, case_in):
    case = case_in(S.IN_QC)
    fake = SimpleUploadedFile("photo.jpg", b"#!/bin/sh\nrm -rf /\n", content_type="image/jpeg")
    response = login(qc).post(act(case, "inspect"), inspect_data(case, photos=[fake]))
    assert response.status_code == 400
    panel = next(p for p in response.context["panels"] if p.name == "inspect")
    assert "photo.jpg" in panel.form.errors["photos"][0]
    assert not Inspection.objects.exists() and Case.objects.get(pk=case.pk).state == S.IN_QC


def test_a_photo_too_large_is_refused(login, qc, case_in, settings):
    settings.QC_PHOTO_MAX_BYTES = 50
    case = case_in(S.IN_QC)
    big = SimpleUploadedFile("big.png", png_bytes() + b"\0" * 100, content_type="image/png")
    response = login(qc).post(act(case, "inspect"), inspect_data(case, photos=[big]))
    assert response.status_code == 400
    assert "big.png" in response.context["panels"][0].form.errors["photos"][0]
    assert not Inspection.objects.exists()


# -- compensation, approval, payout ---------------------------------------------------------
@pytest.fixture
def jacket_case(case_in, order):
    return case_in(S.COMPENSATION, lines=[(order.lines.get(sku="JK-002").pk, 1)])


def test_the_page_suggests_the_refund_from_the_goods_and_qc(login, agent, jacket_case):
    response = login(agent).get(page(jacket_case))
    assert [(s.kind, str(s.amount)) for s in response.context["suggestions"]] == [("refund", "1299.00")]
    assert response.context["add_form"].initial["amount"] == response.context["suggestions"][0].amount


def test_a_bad_amount_is_shown_beside_the_field(login, agent, jacket_case):
    response = login(agent).post(
        reverse("desk:compensation_add", args=[jacket_case.pk]), {"kind": "refund", "amount": "-1"}
    )
    assert response.status_code == 400 and "amount" in response.context["add_form"].errors
    over = login(agent).post(
        reverse("desk:compensation_add", args=[jacket_case.pk]), {"kind": "refund", "amount": "5000"}
    )
    assert over.status_code == 400 and "¥1,299.00" in over.context["add_form"].errors["amount"][0]
    assert not Compensation.objects.exists()


def test_over_authority_offer_goes_to_the_approvals_page_and_back(login, agent, supervisor, jacket_case):
    agent_client = login(agent)
    agent_client.post(reverse("desk:compensation_add", args=[jacket_case.pk]), {"kind": "refund", "amount": "1299.00"})
    response = agent_client.post(
        act(jacket_case, "propose"), {"expected_version": Case.objects.get(pk=jacket_case.pk).version}, follow=True
    )
    assert any("已提交主管审批" in str(m) for m in response.context["messages"])
    assert "propose" not in [p.name for p in response.context["panels"]]

    sup = login(supervisor)
    approvals = sup.get(reverse("desk:approvals"))
    assert [row["case"].pk for row in approvals.context["rows"]] == [jacket_case.pk]
    assert str(approvals.context["rows"][0]["authority"]) == "200.00"
    version = Case.objects.get(pk=jacket_case.pk).version
    done = sup.post(
        act(jacket_case, "approve_offer") + "?next=" + reverse("desk:approvals"),
        {"expected_version": version, "note": "同意"},
    )
    assert done["Location"] == reverse("desk:approvals")
    assert Case.objects.get(pk=jacket_case.pk).state == S.AWAITING_CONFIRMATION
    assert sup.get(reverse("desk:approvals")).context["rows"] == []


def test_finance_pays_once_and_a_second_payout_is_refused_with_a_message(login, finance, case_in):
    case = case_in(S.CLOSED)
    comp = Compensation.objects.get(case=case)
    client = login(finance)
    rows = client.get(reverse("desk:finance")).context["rows"]
    assert [row["comp"].pk for row in rows] == [comp.pk]
    url = reverse("desk:compensation_action", args=[case.pk, comp.pk, "mark_paid"])
    assert client.post(url, {"payout_reference": "4200001234"}).status_code == 302
    again = client.post(url, {"payout_reference": "4200009999"}, follow=True)
    assert any("不能重复打款" in str(m) for m in again.context["messages"]), [str(m) for m in again.context["messages"]]
    comp.refresh_from_db()
    assert comp.state == "paid" and comp.payout_reference == "4200001234"
    assert client.get(reverse("desk:finance")).context["rows"] == []


def test_a_missing_payout_reference_is_shown_beside_the_field(login, finance, case_in):
    case = case_in(S.CLOSED)
    comp = Compensation.objects.get(case=case)
    response = login(finance).post(
        reverse("desk:compensation_action", args=[case.pk, comp.pk, "mark_paid"]), {"payout_reference": ""}
    )
    assert response.status_code == 400
    row = response.context["compensations"][0]
    action = next(a for a in row["actions"] if a["name"] == "mark_paid")
    assert action["open"] and "payout_reference" in action["form"].errors


def test_while_an_offer_waits_for_a_supervisor_only_supervisors_act_on_its_items(login, agent, supervisor, jacket_case):
    services.compensation_add(case_id=jacket_case.pk, actor=agent, kind="refund", amount="1299")
    services.case_submit_offer(case_id=jacket_case.pk, actor=agent)
    agent_row = login(agent).get(page(jacket_case)).context["compensations"][0]
    assert agent_row["actions"] == []
    supervisor_row = login(supervisor).get(page(jacket_case)).context["compensations"][0]
    assert {a["name"] for a in supervisor_row["actions"]} == {"approve", "reject", "void"}
