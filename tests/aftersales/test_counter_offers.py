"""Counter-offers with an amount: the customer's decline may say what and how much they ask for (API, progress
page, the agent's form); the agent sees it beside the offer and accepts it in one step, within their authority to
the customer, above it to a supervisor."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from aftersales import services
from aftersales.errors import NotAllowed
from aftersales.models import ApiKey, Case, CaseEvent, CaseState, Compensation, CompensationState, Notification

S = CaseState
CS = CompensationState
SHANGHAI = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


@pytest.fixture
def app_key(users):
    key = ApiKey(name="App", channel="app", user=users["channel"], webhook_url="https://app.example.com/hooks")
    raw = key.issue()
    key.save()
    return raw


@pytest.fixture
def jacket_offer(case_in, order):
    """The ¥1,299 jacket's return, offered ¥99 (within the agent's ¥200 authority), awaiting the customer."""
    jacket = order.lines.get(sku="JK-002")
    return case_in(S.AWAITING_CONFIRMATION, lines=[(jacket.pk, 1)])


def test_the_customer_declines_through_the_api_with_what_and_how_much(app_key, jacket_offer, time_machine):
    at = datetime(2026, 12, 3, 10, 15, tzinfo=SHANGHAI)
    time_machine.move_to(at, tick=False)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {app_key}")
    response = api.post(
        f"/api/v1/cases/{jacket_offer.number}/decline/",
        {"note": "优惠券用不上，想要现金补偿", "counter_amount": "150.00", "counter_kind": "cash"},
        format="json",
    )
    assert response.status_code == 200, response.content
    case = Case.objects.get(pk=jacket_offer.pk)
    assert (case.state, case.counter_kind, case.counter_amount, case.counter_at) == (
        S.COMPENSATION,
        "cash",
        Decimal("150.00"),
        at,
    )
    event = CaseEvent.objects.get(case=case, name="decline")
    assert event.data["counter_kind"] == "cash" and event.data["counter_amount"] == "150.00"
    assert "现金" in event.note and "150.00" in event.note
    webhook = Notification.objects.filter(case=case, kind=Notification.Kind.CHANNEL_EVENT).latest("id")
    assert webhook.payload["counter_offer"] == {"kind": "cash", "amount": "150.00", "at": at.isoformat()}


def test_without_a_kind_the_counter_offer_takes_the_declined_offers_kind(jacket_offer, users):
    case = services.case_decline(case_id=jacket_offer.pk, actor=users["channel"], counter_amount="300")
    assert (case.counter_kind, case.counter_amount) == ("refund", Decimal("300.00"))


def test_a_kind_without_an_amount_is_refused_naming_the_field(jacket_offer, users):
    with pytest.raises(ValidationError) as caught:
        services.case_decline(case_id=jacket_offer.pk, actor=users["channel"], counter_kind="coupon")
    assert "counter_amount" in caught.value.error_dict
    assert Case.objects.get(pk=jacket_offer.pk).state == S.AWAITING_CONFIRMATION  # nothing half-written


def test_the_agent_accepts_a_counter_offer_within_authority_in_one_step(jacket_offer, users, agent, login):
    services.case_decline(case_id=jacket_offer.pk, actor=users["channel"], counter_amount="150", counter_kind="coupon")
    client = login(agent)
    page = client.get(reverse("desk:case", args=[jacket_offer.pk])).content.decode()
    assert 'id="counter-offer"' in page and "¥150.00" in page and "接受顾客还价：优惠券 ¥150.00" in page
    case = Case.objects.get(pk=jacket_offer.pk)

    response = client.post(
        reverse("desk:case_action", args=[case.pk, "accept_counter"]), {"expected_version": case.version}
    )

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == S.AWAITING_CONFIRMATION  # the customer has the offer they asked for
    assert case.counter_amount is None and case.counter_kind == ""
    offer = case.compensations.filter(state=CS.APPROVED).get()
    assert (offer.kind, offer.amount) == ("coupon", Decimal("150.00"))
    assert "顾客还价" in offer.note
    assert 'id="counter-offer"' not in client.get(reverse("desk:case", args=[case.pk])).content.decode()


def test_above_the_agents_authority_the_accepted_counter_offer_goes_to_a_supervisor(jacket_offer, users, agent):
    services.case_decline(case_id=jacket_offer.pk, actor=users["channel"], counter_amount="800", counter_kind="refund")

    case = services.case_accept_counter(case_id=jacket_offer.pk, actor=agent)

    assert case.state == S.AWAITING_APPROVAL
    assert case.compensations.filter(state=CS.PROPOSED, kind="refund", amount=Decimal("800.00")).exists()
    case = services.case_approve_offer(case_id=case.pk, actor=users["supervisor"])
    assert case.state == S.AWAITING_CONFIRMATION and case.counter_amount is None


def test_a_counter_offer_the_rules_refuse_is_said_on_the_form(case_in, users, agent, login):
    tshirt = case_in(S.AWAITING_CONFIRMATION)  # the ¥99 T-shirt
    services.case_decline(case_id=tshirt.pk, actor=users["channel"], counter_amount="500", counter_kind="refund")
    client = login(agent)
    case = Case.objects.get(pk=tshirt.pk)
    response = client.post(
        reverse("desk:case_action", args=[case.pk, "accept_counter"]), {"expected_version": case.version}
    )
    assert response.status_code == 400
    assert "无法直接接受" in response.content.decode()
    case.refresh_from_db()
    assert case.state == S.COMPENSATION and not case.compensations.filter(amount=Decimal("500.00")).exists()


def test_accepting_without_a_counter_offer_is_refused(case_in, agent):
    case = case_in(S.COMPENSATION)
    with pytest.raises(NotAllowed):
        services.case_accept_counter(case_id=case.pk, actor=agent)


def test_the_staff_api_shows_and_accepts_the_counter_offer(jacket_offer, users, agent):
    services.case_decline(case_id=jacket_offer.pk, actor=users["channel"], counter_amount="120", counter_kind="cash")
    api = APIClient()
    api.force_authenticate(agent)
    detail = api.get(f"/api/v1/staff/cases/{jacket_offer.pk}/").json()
    assert detail["counter_offer"]["kind"] == "cash" and detail["counter_offer"]["amount"] == "120.00"
    response = api.post(
        f"/api/v1/staff/cases/{jacket_offer.pk}/accept-counter/",
        {"expected_version": detail["version"]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert Case.objects.get(pk=jacket_offer.pk).state == S.AWAITING_CONFIRMATION


def test_the_agents_decline_form_takes_the_kind(jacket_offer, agent, login):
    client = login(agent)
    case = Case.objects.get(pk=jacket_offer.pk)
    response = client.post(
        reverse("desk:case_action", args=[case.pk, "decline"]),
        {"expected_version": case.version, "counter_kind": "gift", "counter_amount": "60", "note": "电话里顾客说"},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.counter_kind, case.counter_amount) == ("gift", Decimal("60.00"))
    assert Compensation.objects.filter(case=case, state=CS.VOIDED).exists()


def test_the_channel_cannot_ask_for_goods_and_a_finished_case_keeps_no_counter_offer(app_key, jacket_offer, users):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {app_key}")
    url = f"/api/v1/cases/{jacket_offer.number}/decline/"
    response = api.post(url, {"counter_amount": "60", "counter_kind": "gift"}, format="json")
    assert response.status_code == 400 and "counter_kind" in response.json()
    assert api.post(url, {"counter_amount": "60", "counter_kind": "coupon"}, format="json").status_code == 200
    case = services.case_escalate(case_id=jacket_offer.pk, actor=users["channel"], reason="申诉")
    assert case.counter_amount is not None  # the supervisor deciding sees what was asked
    case = services.case_resolve_escalation(
        case_id=case.pk, actor=users["supervisor"], decision=S.REJECTED, note="不符合政策"
    )
    case.refresh_from_db()
    assert (case.counter_kind, case.counter_amount) == ("", None)
