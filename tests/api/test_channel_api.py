"""The channel systems' API: keys, opening cases (idempotently), progress, the customer's decisions and rating."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from aftersales import services
from aftersales.models import ApiKey, Case, CaseEvent, IdempotencyRecord, Notification
from tests.factories import OrderFactory, OrderLineFactory, UserFactory
from tests.helpers import LocalReceiver

CASES = reverse("api:cases")


def case_url(number, action=""):
    return reverse("api:case" + (f"-{action}" if action else ""), args=[number])


@pytest.fixture
def app_key(users):
    key = ApiKey(name="App", channel="app", user=users["channel"])
    raw = key.issue()
    key.save()
    return key, raw


@pytest.fixture
def api(app_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {app_key[1]}")
    return client


def open_body(order, **extra):
    return {
        "order_number": order.number,
        "request_type": "return_refund",
        "lines": [{"sku": "TS-001", "quantity": 1}],
        "reason": "起球了",
        **extra,
    }


# -- keys ---------------------------------------------------------------------------------------------
def test_only_a_hash_of_the_key_is_stored(app_key):
    key, raw = app_key
    assert raw.startswith(f"ask_{key.prefix}_") and raw.split("_", 2)[2] not in key.secret_hash
    assert key.matches(raw.split("_", 2)[2]) and not key.matches("guess")


@pytest.mark.parametrize("header", [None, "Api-Key nonsense", "Api-Key ask_0000000000_x", "Bearer abc"])
def test_requests_without_a_valid_key_are_refused(policy, order, header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.post(CASES, open_body(order), format="json")
    assert response.status_code in (401, 403) and not Case.objects.exists()


def test_a_revoked_key_stops_working(api, app_key, policy, order):
    ApiKey.objects.filter(pk=app_key[0].pk).update(revoked_at=timezone.now())
    assert api.post(CASES, open_body(order), format="json").status_code == 401


def test_staff_sessions_cannot_use_channel_endpoints(login, agent, policy, order):
    response = login(agent).post(CASES, open_body(order), content_type="application/json")
    assert response.status_code in (401, 403)


# -- open ------------------------------------------------------------------------------------------
def test_open_a_case_by_sku_and_read_its_progress(api, policy, order, users):
    response = api.post(CASES, {**open_body(order), "evidence": ["https://img.example.com/1.jpg"]}, format="json")
    assert response.status_code == 201, response.data
    body = response.json()
    case = Case.objects.get(number=body["number"])
    assert (
        body["order_number"] == order.number and body["state"] == "pending_review" and body["waiting_on"] == "merchant"
    )
    assert case.channel == "app" and list(case.lines.values_list("order_line__sku", "quantity")) == [("TS-001", 1)]
    assert CaseEvent.objects.get(case=case, name="open").actor == users["channel"]
    progress = api.get(case_url(case.number)).json()
    assert progress["deadline"] and [entry["event"] for entry in progress["timeline"]] == ["open"]


def test_invalid_input_names_each_field(api, policy, order):
    response = api.post(
        CASES,
        {"order_number": order.number, "request_type": "teleport", "lines": [{"quantity": 0}], "urgency": 9},
        format="json",
    )
    assert response.status_code == 400
    assert {"request_type", "lines", "urgency"} <= set(response.json())
    unknown = api.post(CASES, {**open_body(order), "order_number": "DD-NOPE"}, format="json")
    assert unknown.status_code == 400 and "order_number" in unknown.json()
    too_many = api.post(CASES, {**open_body(order), "lines": [{"sku": "TS-001", "quantity": 9}]}, format="json")
    assert too_many.status_code == 400 and "lines" in too_many.json()
    assert api.post(CASES, "{not json", content_type="application/json").status_code == 400
    assert not Case.objects.exists()


def test_orders_of_another_channel_are_unknown_to_the_key(api, policy):
    web_order = OrderFactory(channel="web")
    OrderLineFactory(order=web_order, sku="TS-001")
    response = api.post(CASES, open_body(web_order), format="json")
    assert response.status_code == 400 and "order_number" in response.json()


def test_a_second_open_case_on_a_line_is_refused(api, policy, order):
    assert api.post(CASES, open_body(order), format="json").status_code == 201
    again = api.post(CASES, open_body(order), format="json")
    assert again.status_code == 400 and "lines" in again.json()


def test_the_same_idempotency_key_returns_the_same_case(api, policy, order):
    first = api.post(CASES, open_body(order), format="json", HTTP_IDEMPOTENCY_KEY="req-1")
    again = api.post(CASES, open_body(order), format="json", HTTP_IDEMPOTENCY_KEY="req-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["number"] == again.json()["number"] and Case.objects.count() == 1
    other = api.post(CASES, open_body(order, reason="换个理由"), format="json", HTTP_IDEMPOTENCY_KEY="req-1")
    assert other.status_code == 409 and "Idempotency-Key" in other.json()["detail"]


def test_a_retry_that_spells_out_a_default_is_the_same_request(api, policy, order):
    first = api.post(CASES, open_body(order), format="json", HTTP_IDEMPOTENCY_KEY="k-defaults")
    retry = api.post(
        CASES, open_body(order, category=None, urgency=3, evidence=[]), format="json", HTTP_IDEMPOTENCY_KEY="k-defaults"
    )
    assert (first.status_code, retry.status_code) == (201, 200) and retry.json()["number"] == first.json()["number"]


def test_idempotency_keys_are_forgotten_after_30_days(api, policy, order):
    from datetime import timedelta

    from aftersales.automation import jobs

    api.post(CASES, open_body(order), format="json", HTTP_IDEMPOTENCY_KEY="k-old")
    record = IdempotencyRecord.objects.get(key="k-old")
    assert jobs.run_job("idempotency_purge", record.created_at + timedelta(days=29)) == 0
    assert jobs.run_job("idempotency_purge", record.created_at + timedelta(days=30, seconds=1)) == 1
    assert not IdempotencyRecord.objects.exists() and Case.objects.count() == 1  # the case itself stays


def test_a_failed_create_leaves_the_idempotency_key_free(api, policy, order):
    bad = api.post(
        CASES, {**open_body(order), "lines": [{"sku": "NOPE", "quantity": 1}]}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert bad.status_code == 400 and not IdempotencyRecord.objects.exists()
    assert api.post(CASES, open_body(order), format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201


# -- scope ---------------------------------------------------------------------------------------------
def test_a_key_cannot_read_another_channels_case(api, policy, users, open_case):
    mini_order = OrderFactory(channel="mini_program")
    line = OrderLineFactory(order=mini_order)
    other = services.case_open(
        actor=users["channel"], order_id=mini_order.pk, lines=[(line.pk, 1)], request_type="refund_only"
    )
    assert api.get(case_url(other.number)).status_code == 404
    assert api.post(case_url(other.number, "cancel"), {}, format="json").status_code == 404
    assert Case.objects.get(pk=other.pk).state == "pending_review"
    assert api.get(case_url("AS00000000-000000")).status_code == 404


# -- the customer's decisions ------------------------------------------------------------------------------
def test_accept_the_offer(api, case_in):
    case = case_in("awaiting_confirmation")
    progress = api.get(case_url(case.number)).json()
    refund = case.compensations.get()
    assert progress["offer"] == [
        {"compensation": refund.pk, "kind": "refund", "kind_label": "退款", "amount": "99.00", "state": "approved"}
    ]
    response = api.post(case_url(case.number, "accept"), {}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "closed"


def test_decline_the_offer(api, case_in):
    case = case_in("awaiting_confirmation")
    response = api.post(case_url(case.number, "decline"), {"note": "金额太少"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "compensation"
    assert response.json()["offer"] == []  # the declined offer's unpaid items are void


def test_a_draft_compensation_is_not_an_offer_until_approved(api, case_in, users):
    case = case_in("compensation")
    services.compensation_add(case_id=case.pk, actor=users["agent"], kind="cash", amount="5.00")
    assert api.get(case_url(case.number)).json()["offer"] == []  # proposed, may still be returned by a supervisor
    services.case_propose(case_id=case.pk, actor=users["agent"])
    offer = api.get(case_url(case.number)).json()["offer"]
    assert [(item["kind"], item["state"]) for item in offer] == [("cash", "approved")]


def test_accepting_twice_is_409_with_the_reason(api, case_in):
    case = case_in("awaiting_confirmation")
    api.post(case_url(case.number, "accept"), {}, format="json")
    again = api.post(case_url(case.number, "accept"), {}, format="json")
    assert again.status_code == 409 and "已完成" in again.json()["detail"]


def test_cancel_and_appeal(api, case_in, order):
    case = case_in("pending_review")
    assert (
        api.post(case_url(case.number, "cancel"), {"reason": "不想退了"}, format="json").json()["state"] == "cancelled"
    )
    other = case_in("awaiting_return", lines=[(order.lines.order_by("id")[1].pk, 1)])
    missing = api.post(case_url(other.number, "appeal"), {}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()
    appealed = api.post(case_url(other.number, "appeal"), {"reason": "商家迟迟不处理"}, format="json")
    assert appealed.status_code == 200 and appealed.json()["state"] == "escalated"


def test_rating_once_after_closing(api, case_in):
    case = case_in("awaiting_confirmation")
    early = api.post(case_url(case.number, "rating"), {"csat": 5, "nps": 9}, format="json")
    assert early.status_code == 409
    api.post(case_url(case.number, "accept"), {}, format="json")
    bad = api.post(case_url(case.number, "rating"), {"csat": 6, "nps": 11}, format="json")
    assert bad.status_code == 400 and {"csat", "nps"} <= set(bad.json())
    good = api.post(case_url(case.number, "rating"), {"csat": 5, "nps": 9, "comment": "处理很快"}, format="json")
    assert good.status_code == 200 and (good.json()["csat"], good.json()["nps"]) == (5, 9)
    assert api.post(case_url(case.number, "rating"), {"csat": 1}, format="json").status_code == 409
    case.refresh_from_db()
    assert (case.csat, case.nps) == (5, 9)


def test_the_public_timeline_hides_internal_notes_and_staff_names(api, case_in, users):
    case = case_in("awaiting_confirmation")
    services.case_add_note(case_id=case.pk, actor=users["agent"], text="内部：顾客是老客户，可以多给点")
    services.case_add_note(case_id=case.pk, actor=users["agent"], text="您好，方案已发送，请确认", to_customer=True)
    body = api.get(case_url(case.number)).content.decode()
    assert "内部" not in body and "您好，方案已发送，请确认" in body
    for user in users.values():
        assert f'"{user.username}"' not in body


# -- webhook ------------------------------------------------------------------------------------------------
def test_a_webhook_may_not_point_inside_our_network(api, app_key, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    for url in (
        "http://169.254.169.254/latest/meta-data",
        "http://localhost:6379/",
        "http://10.1.2.3/hook",
        "http://[::1]/",
    ):
        rejected = api.put(reverse("api:webhook"), {"url": url}, format="json")
        assert rejected.status_code == 400 and "url" in rejected.json(), url
    assert ApiKey.objects.get(pk=app_key[0].pk).webhook_url == ""


def test_delivery_refuses_a_private_address_and_redirects(app_key, case_in, settings):
    """Checked again at send time (DNS may change after saving), and a redirect is never followed."""
    from aftersales.notifications.delivery import DeliveryError, send

    with LocalReceiver(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data"}) as redirecting:
        ApiKey.objects.filter(pk=app_key[0].pk).update(webhook_url=f"{redirecting.base}/hook")
        settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
        case_in("pending_review")
        event = Notification.objects.get(kind="channel_event")
        with pytest.raises(DeliveryError, match="302"):
            send(event)
        settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
        with pytest.raises(DeliveryError, match="not a public address"):
            send(event)
    assert [path for path, _headers, _body in redirecting.received] == ["/hook"]  # the redirect was not followed


def test_a_channel_registers_a_webhook_and_progress_goes_to_the_outbox(api, app_key, case_in):
    assert api.options(reverse("api:webhook")).json()["name"] == "Webhook"  # OPTIONS describes, never fails
    for bad in ("ftp://example.com", "not a url"):
        rejected = api.put(reverse("api:webhook"), {"url": bad}, format="json")
        assert rejected.status_code == 400 and "url" in rejected.json()
    response = api.put(reverse("api:webhook"), {"url": "https://app.example.com/hooks/aftersales"}, format="json")
    assert response.status_code == 200 and api.get(reverse("api:webhook")).json()["url"].endswith("/aftersales")
    case = case_in("awaiting_confirmation")
    api.post(case_url(case.number, "accept"), {}, format="json")
    events = list(Notification.objects.filter(kind="channel_event", api_key=app_key[0]).order_by("id"))
    assert events and events[-1].payload["event"] == "confirm" and events[-1].payload["state"] == "closed"
    assert events[-1].payload["case"] == case.number and "actor" not in events[-1].payload
    assert events[-1].payload["at"].endswith("+08:00")  # Shanghai time, like the API's other times
    declined = case_in("awaiting_confirmation")
    api.post(case_url(declined.number, "decline"), {"note": "金额太少"}, format="json")
    assert Notification.objects.filter(kind="channel_event", case=declined, payload__event="decline").exists()


def test_progress_events_are_posted_to_the_channel_signed(api, app_key, case_in, settings):
    import hashlib
    import hmac
    import json

    from aftersales.notifications.delivery import deliver_due

    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True  # the test's receiver listens on 127.0.0.1
    secret = api.get(reverse("api:webhook")).json()["signing_secret"]
    assert secret.startswith("whsec_") and secret != ApiKey(name="other").webhook_secret
    with LocalReceiver() as channel_system:
        ApiKey.objects.filter(pk=app_key[0].pk).update(webhook_url=f"{channel_system.base}/hook")
        case = case_in("pending_review")
        deliver_due()
    received = []
    for _path, headers, body in channel_system.received:  # verified as a channel system would
        signed = f"{headers['X-Aftersales-Timestamp']}.".encode() + body
        expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        received.append((hmac.compare_digest(expected, headers["X-Aftersales-Signature"]), json.loads(body)))
    assert [(valid, event["event"], event["case"]) for valid, event in received] == [(True, "open", case.number)]


# -- throttling ----------------------------------------------------------------------------------------------
def test_a_malformed_rate_is_refused_by_the_model_and_never_breaks_requests(api, app_key):
    from django.core.exceptions import ValidationError as DjangoValidationError

    key = app_key[0]
    for rate in ("10/", "/min", "1e3/min", "-1/min", "0/min"):
        key.rate = rate
        with pytest.raises(DjangoValidationError) as caught:
            key.full_clean()
        assert "rate" in caught.value.message_dict, rate
    ApiKey.objects.filter(pk=key.pk).update(rate="10/")  # written around the validation (e.g. raw SQL)
    assert api.get(case_url("AS00000000-000001")).status_code == 404  # the default rate applies, no 500


def test_each_key_has_its_own_rate(api, app_key, policy, order, settings):
    from django.core.cache import cache

    cache.clear()
    ApiKey.objects.filter(pk=app_key[0].pk).update(rate="3/min")
    codes = [api.get(case_url("AS00000000-000001")).status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]
    other = ApiKey(name="Web", channel="web", user=UserFactory(username="web_system", roles=["channel"]))
    raw = other.issue()
    other.save()
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert fresh.get(case_url("AS00000000-000001")).status_code == 404  # another key, its own budget
    cache.clear()
