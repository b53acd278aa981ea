"""Carrier tracking: Kuaidi100's push (signed, checked), its subscription and query (against a local stand-in that
checks the protocol), the scans on the case, the QC bench's "arrived, not yet received", and the alerts."""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales.automation.jobs import run_job
from aftersales.models import Case, CaseEvent, CaseState, EventName, Notification, Shipment, ShipmentEvent
from aftersales.tracking.providers import Kuaidi100
from tests.helpers import LocalReceiver

S = CaseState
SALT = "s3cr3t-salt"
KEY = "kd100-key"
CUSTOMER = "CUSTOMER42"
PUSH = reverse("api:tracking-push", args=["kuaidi100"])


@pytest.fixture
def kuaidi100(settings):
    settings.TRACKING_PROVIDER = "kuaidi100"
    settings.TRACKING_KUAIDI100_KEY = KEY
    settings.TRACKING_KUAIDI100_CUSTOMER = CUSTOMER
    settings.TRACKING_KUAIDI100_SALT = SALT
    return settings


@pytest.fixture
def shipped(case_in, users):
    for role in ("qc", "supervisor"):
        users[role].email = f"{role}@shop.example.com"
        users[role].save()
    case = case_in(S.RETURN_SHIPPED)  # SF1234567890123
    return case, Shipment.objects.get(case=case)


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest().upper()


def scan(when, context, code, status_word=""):
    return {
        "time": f"{timezone.localtime(when):%Y-%m-%d %H:%M:%S}",
        "ftime": f"{timezone.localtime(when):%Y-%m-%d %H:%M:%S}",
        "context": context,
        "status": status_word,
        "statusCode": code,
        "areaName": "上海市",
    }


def last_result(data, state="0", number="SF1234567890123", com="shunfeng"):
    return {
        "message": "ok",
        "state": state,
        "status": "200",
        "condition": "F00",
        "ischeck": "1" if state == "3" else "0",
        "com": com,
        "nu": number,
        "data": data,
    }


def push(client, result, *, salt=SALT, status="polling"):
    param = json.dumps({"status": status, "billstatus": "got", "message": "", "lastResult": result}, ensure_ascii=False)
    return client.post(PUSH, {"param": param, "sign": md5(param + salt)})


def collected_and_transit(now):
    return [
        scan(now - timedelta(hours=2), "快件已到达【上海转运中心】", "1002", "在途"),
        scan(now - timedelta(hours=20), "【杭州市】快递员已上门揽收", "103", "揽收"),
    ]


# -- the push ------------------------------------------------------------------------------------------
def test_a_signed_push_records_each_scan_once_and_the_parcel_takes_the_latest_status(kuaidi100, client, shipped):
    case, shipment = shipped
    now = timezone.now().replace(microsecond=0)
    data = collected_and_transit(now)
    response = push(client, last_result(data))
    assert response.status_code == 200
    assert response.json() == {"result": True, "returnCode": "200", "message": "ok: 2 new scans"}
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.IN_TRANSIT and shipment.last_scan_at == now - timedelta(hours=2)
    assert shipment.quiet_since == shipment.last_scan_at
    assert list(shipment.scans.values_list("status", "place")) == [("in_transit", "上海市"), ("collected", "上海市")]
    # The provider sends the whole history every time: nothing is recorded twice.
    again = push(client, last_result(data))
    assert again.json()["message"] == "ok: 0 new scans" and ShipmentEvent.objects.count() == 2
    assert Case.objects.get(pk=case.pk).state == S.RETURN_SHIPPED  # a scan never moves the case


@pytest.mark.parametrize(
    "tamper",
    [
        lambda client, result: push(client, result, salt="wrong-salt"),
        lambda client, result: client.post(PUSH, {"param": json.dumps({"lastResult": result}), "sign": ""}),
        lambda client, result: client.post(PUSH, {"sign": "ABC"}),
        lambda client, result: client.post(PUSH, {"param": "{not json", "sign": md5("{not json" + SALT)}),
    ],
)
def test_a_push_that_is_not_signed_right_or_unreadable_is_answered_and_changes_nothing(
    kuaidi100, client, shipped, tamper
):
    _case, shipment = shipped
    response = tamper(client, last_result(collected_and_transit(timezone.now())))
    assert response.status_code == 200 and response.json()["result"] is True
    assert response.json()["message"].startswith("ignored")
    assert not ShipmentEvent.objects.exists()
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.REPORTED


def test_a_push_for_an_unknown_number_is_answered_and_changes_nothing(kuaidi100, client, shipped):
    response = push(client, last_result(collected_and_transit(timezone.now()), number="SF9999999999999"))
    assert response.status_code == 200 and response.json()["message"] == "ignored: unknown parcel"
    assert not ShipmentEvent.objects.exists()


def test_the_push_endpoint_is_not_there_without_the_provider_set_up(client, shipped):
    response = push(client, last_result(collected_and_transit(timezone.now())))
    assert response.status_code == 404 and not ShipmentEvent.objects.exists()


def test_delivery_shows_as_arrived_not_received_on_the_bench_and_in_the_timeline(kuaidi100, client, shipped, login, qc):
    case, shipment = shipped
    now = timezone.now().replace(microsecond=0)
    data = [
        scan(now - timedelta(minutes=30), "【上海市嘉定区】已签收，签收人：售后仓", "301", "签收"),
        *collected_and_transit(now),
    ]
    push(client, last_result(data, state="3"))
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.DELIVERED and shipment.delivered_at == now - timedelta(minutes=30)
    event = CaseEvent.objects.filter(case=case, name=EventName.PARCEL_DELIVERED).get()
    assert "SF1234567890123" in event.note
    bench = login(qc).get(reverse("desk:qc") + "?tab=return_shipped").content.decode()
    assert 'data-parcel="delivered"' in bench and "已到仓，待签收" in bench
    page = login(qc).get(reverse("desk:case", args=[case.pk])).content.decode()
    assert page.count('data-event="scan"') == 3 and "签收人：售后仓" in page


def test_a_delivery_problem_alerts_the_warehouse_and_supervisors_once(kuaidi100, client, shipped):
    case, _shipment = shipped
    now = timezone.now().replace(microsecond=0)
    data = [
        scan(now - timedelta(minutes=5), "快件外包装破损，已联系发件人处理", "209", "疑难"),
        *collected_and_transit(now),
    ]
    push(client, last_result(data, state="2"))
    push(client, last_result(data, state="2"))
    alerts = Notification.objects.filter(case=case, kind=Notification.Kind.STAFF_ALERT)
    assert set(alerts.values_list("recipient", flat=True)) == {"qc@shop.example.com", "supervisor@shop.example.com"}
    assert CaseEvent.objects.filter(case=case, name=EventName.PARCEL_EXCEPTION).count() == 1


def test_the_channel_sees_the_scans_with_the_parcel(kuaidi100, client, shipped, users):
    from rest_framework.test import APIClient

    from aftersales.models import ApiKey

    case, _shipment = shipped
    push(client, last_result(collected_and_transit(timezone.now().replace(microsecond=0))))
    key = ApiKey(name="App", channel="app", user=users["channel"])
    raw = key.issue()
    key.save()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    body = api.get(reverse("api:case", args=[case.number])).json()
    assert [s["status"] for s in body["return_shipment"]["scans"]] == ["in_transit", "collected"]
    assert body["return_shipment"]["status_label"] == "运输中"


# -- stuck parcels -------------------------------------------------------------------------------------
def test_a_parcel_without_news_for_the_policys_days_alerts_once_until_the_next_scan(kuaidi100, client, shipped, policy):
    case, shipment = shipped
    early = timezone.now() + timedelta(days=policy.parcel_stuck_days - 1)
    assert run_job("stuck_parcels", at=early) == 0
    late = timezone.now() + timedelta(days=policy.parcel_stuck_days, hours=1)
    assert run_job("stuck_parcels", at=late) == 1
    assert run_job("stuck_parcels", at=late + timedelta(hours=1)) == 0
    shipment.refresh_from_db()
    assert shipment.stuck_alerted_at is not None
    assert CaseEvent.objects.filter(case=case, name=EventName.PARCEL_STUCK).count() == 1
    # News again: the alert is reset, and a later silence alerts again.
    push(client, last_result([scan(timezone.now(), "快件已到达【上海转运中心】", "1002", "在途")]))
    shipment.refresh_from_db()
    assert shipment.stuck_alerted_at is None


# -- subscription and query against a stand-in that checks the protocol ---------------------------------
class Kuaidi100StandIn(LocalReceiver):
    """Answers as Kuaidi100 does, after checking what its protocol requires; anything else gets its error code."""

    def __init__(self, data, phone=""):
        super().__init__()
        self.data, self.phone = data, phone

    def reply(self):
        path, _headers, raw = self.received[-1]
        form = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
        param = json.loads(form.get("param", "{}"))
        if path == "/poll":
            ok = (
                form.get("schema") == "json"
                and param.get("key") == KEY
                and param.get("company") == "shunfeng"
                and param.get("number") == "SF1234567890123"
                and param.get("parameters", {}).get("callbackurl", "").endswith("/api/v1/tracking/kuaidi100/")
                and param["parameters"].get("salt") == SALT
                and param["parameters"].get("phone") == self.phone  # SF shows a route only with the phone
            )
            body = {"result": ok, "returnCode": "200" if ok else "600", "message": "提交成功" if ok else "参数错误"}
        elif path == "/poll/query.do":
            signed = form.get("sign") == md5(form.get("param", "") + KEY + CUSTOMER)
            ok = (
                signed
                and form.get("customer") == CUSTOMER
                and param.get("com") == "shunfeng"
                and param.get("phone") == self.phone
            )
            body = last_result(self.data) if ok else {"result": False, "returnCode": "601", "message": "签名错误"}
        else:
            body = {"result": False, "returnCode": "404"}
        return 200, {"Content-Type": "application/json"}, json.dumps(body, ensure_ascii=False).encode()


def test_new_parcels_are_subscribed_and_quiet_ones_are_asked_about(kuaidi100, shipped):
    case, shipment = shipped
    now = timezone.now().replace(microsecond=0)
    with Kuaidi100StandIn(collected_and_transit(now), phone=case.customer.phone) as standin:
        kuaidi100.TRACKING_KUAIDI100_URL = standin.base
        kuaidi100.TRACKING_CALLBACK_URL = "https://aftersales.example.com/api/v1/tracking/kuaidi100/"
        later = now + timedelta(hours=kuaidi100.TRACKING_PULL_HOURS + 1)
        assert run_job("track_parcels", at=later) == 2  # subscribed, then asked
        paths = [path for path, _h, _b in standin.received]
    assert paths == ["/poll", "/poll/query.do"]
    shipment.refresh_from_db()
    assert shipment.subscribed_at is not None and shipment.polled_at is not None
    assert shipment.status == Shipment.Status.IN_TRANSIT and shipment.scans.count() == 2


def test_a_refused_query_records_nothing_and_is_asked_again_later(kuaidi100, shipped):
    case, shipment = shipped
    with Kuaidi100StandIn([], phone=case.customer.phone) as standin:
        kuaidi100.TRACKING_KUAIDI100_URL = standin.base
        kuaidi100.TRACKING_KUAIDI100_KEY = "a-key-the-provider-does-not-know"  # the signature no longer matches
        later = timezone.now() + timedelta(hours=kuaidi100.TRACKING_PULL_HOURS + 1)
        assert run_job("track_parcels", at=later) == 0
        assert standin.received[-1][0] == "/poll/query.do"
    shipment.refresh_from_db()
    assert shipment.polled_at is not None and not shipment.scans.exists()


def test_a_refused_subscription_waits_for_the_next_window_and_new_parcels_still_get_theirs(kuaidi100, shipped):
    _case, shipment = shipped
    with Kuaidi100StandIn([], phone="not the customer's") as standin:  # refuses: wrong phone
        kuaidi100.TRACKING_KUAIDI100_URL = standin.base
        kuaidi100.TRACKING_CALLBACK_URL = "https://aftersales.example.com/api/v1/tracking/kuaidi100/"
        now = timezone.now()
        run_job("track_parcels", at=now)
        shipment.refresh_from_db()
        assert shipment.subscribed_at is None and shipment.polled_at == now
        asked = len(standin.received)
        run_job("track_parcels", at=now + timedelta(minutes=10))  # not before the next window
        assert len(standin.received) == asked


def test_a_cancelled_cases_parcel_is_no_longer_followed_or_alerted(kuaidi100, shipped, users, policy):
    from aftersales import services

    case, _shipment = shipped
    services.case_cancel(case_id=case.pk, actor=users["agent"], reason="顾客不退了")
    with Kuaidi100StandIn([], phone=case.customer.phone) as standin:
        kuaidi100.TRACKING_KUAIDI100_URL = standin.base
        kuaidi100.TRACKING_CALLBACK_URL = "https://aftersales.example.com/api/v1/tracking/kuaidi100/"
        later = timezone.now() + timedelta(days=policy.parcel_stuck_days + 1)
        assert run_job("track_parcels", at=later) == 0 and standin.received == []
    assert run_job("stuck_parcels", at=later) == 0


def test_when_the_provider_stops_following_a_parcel_it_is_subscribed_again(kuaidi100, client, shipped):
    _case, shipment = shipped
    Shipment.objects.filter(pk=shipment.pk).update(subscribed_at=timezone.now())
    push(client, last_result(collected_and_transit(timezone.now().replace(microsecond=0))), status="abort")
    shipment.refresh_from_db()
    assert shipment.subscribed_at is None and shipment.scans.count() == 2


def test_without_a_provider_nothing_is_asked(shipped):
    assert run_job("track_parcels") == 0


@pytest.mark.parametrize(
    ("code", "word", "status"),
    [
        ("101", "", "reported"),
        ("103", "揽收", "collected"),
        ("1002", "在途", "in_transit"),
        ("501", "派件", "out_for_delivery"),
        ("301", "签收", "delivered"),
        ("14", "拒签", "exception"),
        ("", "签收", "delivered"),
        ("999", "", None),
    ],
)
def test_the_providers_codes_map_to_our_statuses(code, word, status):
    assert Kuaidi100.status_of(code, word) == status
