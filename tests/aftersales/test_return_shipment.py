"""The customer's return parcel: the address they are told, the shipment they report (channel API or an agent),
the stopped return-expiry clock, a replaced report, and QC's receipt that checks the parcel against it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from aftersales import services
from aftersales.automation.jobs import run_job
from aftersales.errors import NotAllowed
from aftersales.models import ApiKey, Case, CaseEvent, CaseState, Notification, Shipment
from aftersales.workflow.forms import ReceiveForm
from aftersales.workflow.shipping import FORMATS, clean_shipment

S = CaseState


@pytest.fixture
def warehouse(policy):
    policy.return_recipient = "售后仓 王建国"
    policy.return_phone = "021-59886000"
    policy.return_address = "上海市嘉定区博学路1288号"
    policy.return_instructions = "包裹内请附售后单号。"
    policy.pickup_offered = True
    policy.save()
    return policy


@pytest.fixture
def app_key(users):
    key = ApiKey(name="App", channel="app", user=users["channel"], webhook_url="https://app.example.com/hooks")
    raw = key.issue()
    key.save()
    return key, raw


@pytest.fixture
def api(app_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {app_key[1]}")
    return client


def shipment_url(case):
    return reverse("api:case-return-shipment", args=[case.number])


def _written(case):
    fresh = Case.objects.get(pk=case.pk)
    return fresh.state, fresh.version, CaseEvent.objects.filter(case=case).count(), Shipment.objects.count()


# -- carriers and their numbers ---------------------------------------------------------------------
@pytest.mark.parametrize("carrier", sorted(FORMATS))
def test_each_carriers_example_number_passes_its_own_check(carrier):
    example = FORMATS[carrier][1]
    assert clean_shipment(carrier.lower(), f" {example[:4]} {example[4:]} ") == (carrier, example)


@pytest.mark.parametrize(
    ("carrier", "number"),
    [("SF", "YT1234567890123"), ("YTO", "1234567890123"), ("JTEXPRESS", "JT123"), ("JD", "SF1234567890123")],
)
def test_a_number_in_another_carriers_format_is_refused_naming_the_field(carrier, number):
    with pytest.raises(ValidationError) as excinfo:
        clean_shipment(carrier, number)
    assert "tracking_number" in excinfo.value.message_dict
    assert "1234567890123" in str(excinfo.value) or "JT123" in str(excinfo.value)


def test_an_unknown_carrier_is_refused_with_the_codes_listed():
    with pytest.raises(ValidationError) as excinfo:
        clean_shipment("顺丰", "SF1234567890123")
    assert "carrier" in excinfo.value.message_dict and "JTEXPRESS" in str(excinfo.value)


# -- the address the customer is told ----------------------------------------------------------------------
def test_approval_tells_the_customer_where_and_by_when_and_the_channel_gets_it_as_data(
    warehouse, app_key, open_case, agent
):
    case = open_case()
    assert case.customer.email
    case = services.case_approve(case_id=case.pk, actor=agent)
    message = Notification.objects.filter(case=case, kind=Notification.Kind.CUSTOMER_PROGRESS).latest("id")
    deadline = timezone.localtime(case.stage_due_at).strftime("%Y-%m-%d %H:%M")
    assert "上海市嘉定区博学路1288号" in message.body and "021-59886000" in message.body
    assert deadline in message.body and "包裹内请附售后单号" in message.body and "上门取件" in message.body
    event = Notification.objects.filter(case=case, kind=Notification.Kind.CHANNEL_EVENT).latest("id").payload
    assert event["event"] == "approve"
    assert event["return"]["address"] == "上海市嘉定区博学路1288号" and event["return"]["pickup_offered"] is True
    assert event["return"]["send_by"] == timezone.localtime(case.stage_due_at).isoformat()
    assert event["return"]["shipment_url"] == f"/api/v1/cases/{case.number}/return-shipment/"


def test_a_refund_only_approval_carries_no_address(warehouse, app_key, open_case, agent):
    case = services.case_approve(case_id=open_case(request_type="refund_only").pk, actor=agent)
    event = Notification.objects.filter(case=case, kind=Notification.Kind.CHANNEL_EVENT).latest("id").payload
    assert "return" not in event


# -- the customer reports the parcel ------------------------------------------------------------------
def test_the_channel_reports_the_parcel_and_the_case_waits_on_the_carrier(warehouse, api, case_in):
    case = case_in(S.AWAITING_RETURN)
    response = api.post(shipment_url(case), {"carrier": "SF", "tracking_number": "sf 1234 5678 90123"}, format="json")
    assert response.status_code == 200, response.data
    body = response.json()
    assert body["state"] == "return_shipped" and body["waiting_on"] == "carrier"
    assert (
        body["return_shipment"]["carrier"] == "SF" and body["return_shipment"]["tracking_number"] == "SF1234567890123"
    )
    assert body["return_shipment"]["status"] == "reported" and body["return_address"]["send_by"] is None
    fresh = Case.objects.get(pk=case.pk)
    assert (fresh.return_carrier, fresh.return_tracking_number) == ("SF", "SF1234567890123")
    assert fresh.stage_due_at - timezone.now() > timedelta(days=warehouse.return_transit_days) - timedelta(minutes=1)
    event = fresh.events.latest("id")
    assert (event.name, event.from_state, event.to_state) == ("ship_return", S.AWAITING_RETURN, S.RETURN_SHIPPED)
    assert event.data["shipment"] == Shipment.objects.get().pk
    hook = Notification.objects.filter(case=case, kind=Notification.Kind.CHANNEL_EVENT).latest("id").payload
    assert hook["return_shipment"] == {"carrier": "SF", "tracking_number": "SF1234567890123"}
    assert Case.objects.search("sf1234567890123").get() == fresh  # QC scans or types it in lower case


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"carrier": "SF", "tracking_number": "12345"}, "tracking_number"),
        ({"carrier": "SHUNFENG", "tracking_number": "SF1234567890123"}, "carrier"),
        ({"carrier": "SF"}, "tracking_number"),
        ({"carrier": "ZTO", "tracking_number": "731234567890123", "pickup": "maybe"}, "pickup"),
    ],
)
def test_bad_shipment_input_is_refused_naming_the_field_and_nothing_is_written(api, case_in, body, field):
    case = case_in(S.AWAITING_RETURN)
    before = _written(case)
    response = api.post(shipment_url(case), body, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert _written(case) == before


def test_pickup_where_the_policy_offers_none_is_refused(api, case_in):
    case = case_in(S.AWAITING_RETURN)
    before = _written(case)
    response = api.post(
        shipment_url(case), {"carrier": "ZTO", "tracking_number": "731234567890123", "pickup": True}, format="json"
    )
    assert response.status_code == 400 and "pickup" in response.json()
    assert _written(case) == before


def test_a_case_that_takes_no_goods_back_has_no_return_shipment(api, case_in):
    case = case_in(S.COMPENSATION, request_type="refund_only")
    before = _written(case)
    response = api.post(shipment_url(case), {"carrier": "SF", "tracking_number": "SF1234567890123"}, format="json")
    assert response.status_code == 409 and "退货运单" in response.json()["detail"], response.json()
    assert _written(case) == before


def test_before_approval_or_after_receipt_the_report_is_refused_with_the_state_named(api, case_in, order):
    for state, sku in ((S.PENDING_REVIEW, "TS-001"), (S.IN_QC, "JK-002")):
        case = case_in(state, lines=[(order.lines.get(sku=sku).pk, 1)])
        before = _written(case)
        response = api.post(shipment_url(case), {"carrier": "SF", "tracking_number": "SF1234567890123"}, format="json")
        assert response.status_code == 409 and str(S(state).label) in response.json()["detail"]
        assert _written(case) == before


def test_another_channels_case_is_not_found(api, case_in):
    other = case_in(S.AWAITING_RETURN)
    Case.objects.filter(pk=other.pk).update(channel="live_stream")
    response = api.post(shipment_url(other), {"carrier": "SF", "tracking_number": "SF1234567890123"}, format="json")
    assert response.status_code == 404 and not Shipment.objects.exists()


def test_a_second_report_replaces_the_first_and_the_same_report_again_changes_nothing(api, case_in):
    case = case_in(S.AWAITING_RETURN)
    assert (
        api.post(shipment_url(case), {"carrier": "SF", "tracking_number": "SF1234567890123"}, format="json").status_code
        == 200
    )
    again = api.post(shipment_url(case), {"carrier": "SF", "tracking_number": "SF1234567890123"}, format="json")
    assert again.status_code == 200 and Shipment.objects.count() == 1
    version = Case.objects.get(pk=case.pk).version
    assert (
        api.post(shipment_url(case), {"carrier": "SF", "tracking_number": "SF1234567890123"}, format="json").status_code
        == 200
    )
    assert Case.objects.get(pk=case.pk).version == version  # a retry is not a change

    response = api.post(shipment_url(case), {"carrier": "YTO", "tracking_number": "YT9876543210987"}, format="json")
    assert response.status_code == 200 and response.json()["return_shipment"]["carrier"] == "YTO"
    old, new = Shipment.objects.order_by("id")
    assert (old.active, new.active) == (False, True) and old.replaced_at is not None
    event = Case.objects.get(pk=case.pk).events.latest("id")
    assert (event.name, event.from_state, event.to_state) == ("ship_return", S.RETURN_SHIPPED, S.RETURN_SHIPPED)
    assert event.data["replaces"] == {"carrier": "SF", "tracking_number": "SF1234567890123"}


def test_an_agent_records_the_parcel_on_the_case_page(login, agent, case_in):
    case = case_in(S.AWAITING_RETURN)
    page = login(agent).get(reverse("desk:case", args=[case.pk]))
    assert 'id="action-ship_return"' in page.content.decode()
    response = login(agent).post(
        reverse("desk:case_action", args=[case.pk, "ship_return"]),
        {"expected_version": case.version, "carrier": "JD", "tracking_number": "JDVA12345678901"},
    )
    assert response.status_code == 302
    fresh = Case.objects.get(pk=case.pk)
    assert fresh.state == S.RETURN_SHIPPED and Shipment.objects.get().reported_by == agent
    page = login(agent).get(reverse("desk:case", args=[case.pk])).content.decode()
    assert "JDVA12345678901" in page and 'id="parcels"' in page


def test_a_wrong_number_on_the_case_page_says_what_is_wrong(login, agent, case_in):
    case = case_in(S.AWAITING_RETURN)
    response = login(agent).post(
        reverse("desk:case_action", args=[case.pk, "ship_return"]),
        {"expected_version": case.version, "carrier": "JTEXPRESS", "tracking_number": "12"},
    )
    assert response.status_code == 400 and "JT1234567890123" in response.content.decode()
    assert Case.objects.get(pk=case.pk).state == S.AWAITING_RETURN and not Shipment.objects.exists()


# -- the clocks ----------------------------------------------------------------------------------------------
def test_a_reported_parcel_stops_the_return_expiry_and_a_late_one_alerts_the_warehouse(case_in, users, policy):
    for role in ("qc", "supervisor", "agent"):
        users[role].email = f"{role}@shop.example.com"
        users[role].save()
    case = case_in(S.RETURN_SHIPPED)
    later = timezone.now() + timedelta(days=policy.return_ship_days + 1)
    with pytest.raises(NotAllowed):
        services.case_expire(case_id=case.pk, at=later)
    run_job("return_expiry", at=later)
    assert Case.objects.get(pk=case.pk).state == S.RETURN_SHIPPED

    overdue = timezone.now() + timedelta(days=policy.return_transit_days, hours=1)
    run_job("stage_alerts", at=overdue)
    fresh = Case.objects.get(pk=case.pk)
    assert fresh.state == S.RETURN_SHIPPED and fresh.stage_alerted_at is not None
    alerts = Notification.objects.filter(case=case, kind=Notification.Kind.STAFF_ALERT)
    assert set(alerts.values_list("recipient", flat=True)) == {"qc@shop.example.com", "supervisor@shop.example.com"}
    assert all("退货在途" in alert.subject for alert in alerts)


# -- QC receives it ------------------------------------------------------------------------------------------
def test_the_receipt_form_is_filled_in_from_the_report(case_in, qc):
    case = case_in(S.RETURN_SHIPPED)
    form = ReceiveForm(case=case, user=qc)
    assert (form.initial["carrier"], form.initial["tracking_number"]) == ("SF", "SF1234567890123")


def test_receiving_the_reported_parcel_marks_it_delivered_without_a_flag(case_in, qc):
    case = case_in(S.RETURN_SHIPPED)
    services.case_receive(case_id=case.pk, actor=qc, carrier="SF", tracking_number="SF1234567890123")
    shipment = Shipment.objects.get()
    assert shipment.status == Shipment.Status.DELIVERED and shipment.delivered_at is not None
    assert "mismatch" not in Case.objects.get(pk=case.pk).events.get(name="receive").data


def test_receiving_another_parcel_is_flagged_on_the_event_the_flash_and_the_case_page(login, case_in, qc):
    case = case_in(S.RETURN_SHIPPED)
    response = login(qc).post(
        reverse("desk:case_action", args=[case.pk, "receive"]),
        {"expected_version": case.version, "carrier": "ZTO", "tracking_number": "731234567890123"},
        follow=True,
    )
    text = response.content.decode()
    assert Case.objects.get(pk=case.pk).state == S.IN_QC
    assert "SF1234567890123" in text and 'id="receipt-mismatch"' in text
    event = Case.objects.get(pk=case.pk).events.get(name="receive")
    assert event.data["mismatch"] == {"carrier": "SF", "tracking_number": "SF1234567890123"}
    assert event.data["tracking_number"] == "731234567890123"
    reported = Shipment.objects.get()
    assert reported.status == Shipment.Status.REPORTED and reported.delivered_at is None  # not known to have come


def test_the_qc_bench_has_a_tab_for_parcels_on_their_way_with_the_number_filled_in(login, qc, case_in, order):
    waiting = case_in(S.AWAITING_RETURN, lines=[(order.lines.get(sku="JK-002").pk, 1)])
    shipped = case_in(S.RETURN_SHIPPED)
    page = login(qc).get(reverse("desk:qc") + "?tab=return_shipped").content.decode()
    assert shipped.number in page and waiting.number not in page
    assert 'value="SF1234567890123"' in page and "data-reported" in page
    searched = login(qc).get(reverse("desk:qc") + "?tab=awaiting_return&q=SF1234567890123").content.decode()
    assert 'data-tab="return_shipped"' in searched and "(1)" in searched
