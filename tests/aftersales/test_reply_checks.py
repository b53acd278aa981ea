"""Replies that cannot go wrong: a template's unfilled 【blank】 never reaches the customer; the quick refund granted
at approval is said where the agent looks."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from aftersales import services
from aftersales.models import CaseEvent, CaseState, ResponseTemplate
from aftersales.replies.rendering import unfilled_markers

S = CaseState


@pytest.mark.parametrize(
    ("text", "blanks"),
    [
        ("您好，退款【退款金额】将原路退回。", ["【退款金额】"]),
        ("Refund of 【refund amount】 on its way; 【refund amount】 again.", ["【refund amount】"]),
        ("【温馨提示】退货请附上售后单号。", []),  # shops write 【…】 on purpose
        ("请在【当前时限】前寄回【顾客姓名】", ["【当前时限】", "【顾客姓名】"]),
    ],
)
def test_the_blanks_a_template_leaves_are_found_and_nothing_else(text, blanks):
    assert unfilled_markers(text) == blanks


def test_a_reply_with_a_blank_is_refused_naming_it_and_nothing_is_written(case_in, agent):
    case = case_in(S.PENDING_REVIEW)
    events = CaseEvent.objects.filter(case=case).count()
    with pytest.raises(ValidationError) as excinfo:
        services.case_add_note(case_id=case.pk, actor=agent, text="退款【退款金额】已原路退回", to_customer=True)
    assert "【退款金额】" in str(excinfo.value.message_dict["text"])
    assert CaseEvent.objects.filter(case=case).count() == events
    # An internal note may keep it (nobody outside reads it).
    services.case_add_note(case_id=case.pk, actor=agent, text="待确认【退款金额】")
    assert CaseEvent.objects.filter(case=case).count() == events + 1


def test_on_the_case_page_the_blank_is_named_beside_the_text(login, agent, case_in):
    case = case_in(S.PENDING_REVIEW)
    response = login(agent).post(
        reverse("desk:case_action", args=[case.pk, "note"]), {"text": "您好【顾客姓名】", "to_customer": "on"}
    )
    assert response.status_code == 400 and "【顾客姓名】" in response.content.decode()
    assert not CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.REPLY).exists()


def test_a_template_reply_with_a_blank_is_not_sent(login, agent, case_in):
    case = case_in(S.PENDING_REVIEW)
    template = ResponseTemplate.objects.create(
        code="ack-refund", title="退款说明", scenario="acknowledge", body="您好，退款{refund_amount}将原路退回。"
    )
    version = template.history.latest("history_id")
    response = login(agent).post(
        reverse("desk:case_template_reply", args=[case.pk]),
        {"template": template.pk, "version": version.history_id, "text": "您好，退款【退款金额】将原路退回。"},
        follow=True,
    )
    assert "【退款金额】" in response.content.decode()
    assert not CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.REPLY).exists()


def test_the_quick_refund_granted_at_approval_is_said_in_the_message_and_on_the_case(login, agent, open_case, order):
    order.customer.credit_score = 800
    order.customer.save()
    case = open_case()
    response = login(agent).post(
        reverse("desk:case_action", args=[case.pk, "approve"]), {"expected_version": case.version}, follow=True
    )
    page = response.content.decode()
    assert "已审核通过，并已即时发放极速退款 ¥99.00" in page  # the flash
    assert 'id="quick-refund">极速退款 ¥99.00</span>' in page  # the case header
