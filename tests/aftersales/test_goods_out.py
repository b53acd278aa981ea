"""Goods out to the customer: an accepted offer with a replacement (or a gift) waits for the warehouse to dispatch
it, then for the carrier and the customer; the case closes on receipt, or by itself after delivery."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from aftersales import services
from aftersales.automation.jobs import run_job
from aftersales.errors import NotAllowed
from aftersales.models import ApiKey, Case, CaseState, Compensation, Notification, Shipment
from aftersales.workflow.links import progress_token

S = CaseState


@pytest.fixture
def hooked(users):
    key = ApiKey(name="App", channel="app", user=users["channel"], webhook_url="https://app.example.com/hooks")
    raw = key.issue()
    key.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def accepted_exchange(case_in, users) -> Case:
    case = case_in(S.COMPENSATION, request_type="exchange")
    services.compensation_add(case_id=case.pk, actor=users["agent"], kind="replacement", amount="99.00")
    services.case_propose(case_id=case.pk, actor=users["agent"])
    return services.case_confirm(case_id=case.pk, actor=users["channel"])


def dispatched(case_in, users) -> Case:
    case = accepted_exchange(case_in, users)
    return services.case_send_goods(case_id=case.pk, actor=users["qc"], carrier="SF", tracking_number="SF7654321098765")


def test_an_accepted_replacement_waits_for_the_warehouse_instead_of_closing(case_in, users):
    case = accepted_exchange(case_in, users)
    assert case.state == S.AWAITING_DISPATCH and case.closed_at is None and case.waiting_on == "warehouse"
    assert case.events.get(name="confirm").data["goods_out"] is True
    replacement = case.compensations.get(kind=Compensation.Kind.REPLACEMENT)
    assert replacement.payable and replacement.payable_at is not None  # payable at the acceptance, as before


def test_an_accepted_refund_still_closes_at_once(case_in, users):
    case = case_in(S.AWAITING_CONFIRMATION)
    case = services.case_confirm(case_id=case.pk, actor=users["channel"])
    assert case.state == S.CLOSED and case.closed_at is not None


def test_the_warehouse_dispatches_from_the_bench_and_the_channel_hears_the_parcel(login, case_in, users, hooked):
    case = accepted_exchange(case_in, users)
    client = login(users["qc"])
    bench = client.get(reverse("desk:qc") + "?tab=awaiting_dispatch").content.decode()
    assert case.number in bench and reverse("desk:case_action", args=[case.pk, "send_goods"]) in bench
    url = reverse("desk:case_action", args=[case.pk, "send_goods"])
    bad = client.post(url, {"expected_version": case.version, "carrier": "SF", "tracking_number": "12"})
    assert bad.status_code == 400 and not Shipment.objects.filter(direction="outbound").exists()
    good = client.post(url, {"expected_version": case.version, "carrier": "SF", "tracking_number": "SF7654321098765"})
    assert good.status_code == 302
    case.refresh_from_db()
    assert case.state == S.AWAITING_DELIVERY and case.waiting_on == "carrier"
    parcel = Shipment.objects.get(direction="outbound")
    assert (parcel.carrier, parcel.tracking_number, parcel.reported_by) == ("SF", "SF7654321098765", users["qc"])
    event = Notification.objects.filter(case=case, kind=Notification.Kind.CHANNEL_EVENT).latest("id").payload
    assert event["event"] == "send_goods"
    assert event["outbound_shipment"] == {"carrier": "SF", "tracking_number": "SF7654321098765"}


def test_an_agent_may_not_dispatch_and_a_case_not_waiting_for_it_refuses(case_in, users):
    case = accepted_exchange(case_in, users)
    with pytest.raises(PermissionDenied):
        services.case_send_goods(case_id=case.pk, actor=users["agent"], carrier="SF", tracking_number="SF7654321098765")
    other = case_in(S.AWAITING_CONFIRMATION, lines=[(case.order.lines.get(sku="JK-002").pk, 1)])
    with pytest.raises(NotAllowed):
        services.case_send_goods(case_id=other.pk, actor=users["qc"], carrier="SF", tracking_number="SF7654321098765")


def test_the_delivered_scan_starts_the_customers_clock_and_the_case_closes_by_itself_after_it(
    client, case_in, users, settings
):
    settings.TRACKING_PROVIDER, settings.TRACKING_KUAIDI100_KEY = "kuaidi100", "k"
    settings.TRACKING_KUAIDI100_CUSTOMER, settings.TRACKING_KUAIDI100_SALT = "c", "salt"
    case = dispatched(case_in, users)
    when = timezone.localtime(timezone.now().replace(microsecond=0) - timedelta(minutes=10))
    result = {
        "state": "3",
        "com": "shunfeng",
        "nu": "SF7654321098765",
        "data": [{"ftime": f"{when:%Y-%m-%d %H:%M:%S}", "context": "已签收，本人签收", "statusCode": "301"}],
    }
    param = json.dumps({"status": "shutdown", "lastResult": result}, ensure_ascii=False)
    sign = hashlib.md5((param + "salt").encode()).hexdigest().upper()
    client.post(reverse("api:tracking-push", args=["kuaidi100"]), {"param": param, "sign": sign})
    case.refresh_from_db()
    assert case.state == S.AWAITING_RECEIPT and case.waiting_on == "customer"
    hours = case.policy_version.confirm_timeout_hours
    assert run_job("receipt_timeouts", at=timezone.now() + timedelta(hours=hours - 1)) == 0
    assert run_job("receipt_timeouts", at=timezone.now() + timedelta(hours=hours + 1)) == 1
    case.refresh_from_db()
    assert case.state == S.CLOSED and case.events.latest("id").name == "auto_confirm_receipt"


def test_the_customer_confirms_receipt_through_the_channel_even_before_the_delivered_scan(case_in, users, hooked):
    case = dispatched(case_in, users)
    response = hooked.post(reverse("api:case-confirm-receipt", args=[case.number]), {}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "closed"
    assert response.json()["outbound_shipment"]["tracking_number"] == "SF7654321098765"


def test_confirming_receipt_before_dispatch_is_refused_with_the_state_named(case_in, users, hooked):
    case = accepted_exchange(case_in, users)
    response = hooked.post(reverse("api:case-confirm-receipt", args=[case.number]), {}, format="json")
    assert response.status_code == 409 and "待发货" in response.json()["detail"]
    assert Case.objects.get(pk=case.pk).state == S.AWAITING_DISPATCH


def test_the_progress_page_shows_the_parcel_and_takes_the_receipt(client, case_in, users):
    case = dispatched(case_in, users)
    link = reverse("customer:progress", args=[progress_token(case)])
    page = client.get(link).content.decode()
    assert 'id="outbound"' in page and "SF7654321098765" in page and 'id="confirm-receipt"' in page
    response = client.post(link, {"action": "receipt", "expected_version": case.version})
    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).state == S.CLOSED
