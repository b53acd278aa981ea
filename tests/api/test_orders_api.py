"""Orders and customers in, by the channel's API: upsert one, a batch, versions, lines held by cases, scope."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from aftersales import services
from aftersales.models import ApiKey, CaseState
from customers.models import Customer, Order, OrderLine
from tests.factories import ProductCategoryFactory

pytestmark = pytest.mark.usefixtures("policy")
BATCH = reverse("api:orders-batch")


def order_url(number):
    return reverse("api:order", args=[number])


@pytest.fixture
def categories(db):
    return ProductCategoryFactory(code="apparel", name="服饰"), ProductCategoryFactory(code="digital", name="数码")


def key_for(users, channel="app"):
    key = ApiKey(name=channel, channel=channel, user=users["channel"])
    raw = key.issue()
    key.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture
def api(users, categories):
    return key_for(users)


def body(version=1, **changes):
    data = {
        "version": version,
        "customer": {"id": "U1001", "name": "张三", "phone": "13800001111", "region": "上海"},
        "placed_at": "2026-11-20T10:00:00+08:00",
        "paid_at": "2026-11-20T10:01:00+08:00",
        "shipped_at": "2026-11-21T09:00:00+08:00",
        "delivered_at": "2026-11-23T15:00:00+08:00",
        "payment_method": "wechat_pay",
        "payment_transaction_id": "4200001234202611200001",
        "shipping_address": "上海市浦东新区世纪大道100号",
        "lines": [
            {
                "sku": "TS-001",
                "name": "纯棉T恤",
                "category": "apparel",
                "unit_price": "99.00",
                "unit_cost": "35.00",
                "quantity": 2,
            },
            {
                "sku": "JK-002",
                "name": "羽绒服",
                "category": "apparel",
                "unit_price": "1299.00",
                "unit_cost": "600.00",
                "quantity": 1,
            },
        ],
    }
    data.update(changes)
    return data


def put(api, number, data):
    return api.put(order_url(number), data, format="json")


def test_an_order_and_its_customer_come_in_and_a_case_can_be_opened_on_it(api, users):
    response = put(api, "TB20261120001", body())
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["result"] == "created" and answer["warnings"] == []
    assert answer["order"]["customer"] == {"id": "U1001", "name": "张三", "phone": "138****1111"}
    assert [line["sku"] for line in answer["order"]["lines"]] == ["TS-001", "JK-002"]
    order = Order.objects.get(number="TB20261120001")
    assert (order.channel, order.payment_method, order.payment_transaction_id) == (
        "app",
        "wechat_pay",
        "4200001234202611200001",
    )
    assert order.source_version == 1 and order.lines.count() == 2
    customer = Customer.objects.get(channel="app", external_id="U1001")
    assert (customer.name, customer.phone, customer.region) == ("张三", "13800001111", "上海")
    # The channel opens a case on the order it sent: no more "unknown order".
    opened = api.post(
        reverse("api:cases"),
        {"order_number": "TB20261120001", "request_type": "return_refund", "lines": [{"sku": "TS-001", "quantity": 1}]},
        format="json",
    )
    assert opened.status_code == 201, opened.json()
    assert api.get(order_url("TB20261120001")).json()["number"] == "TB20261120001"


def test_the_same_order_again_changes_nothing_and_an_older_version_never_wins(api):
    put(api, "TB1", body(version=5))
    again = put(api, "TB1", body(version=5))
    assert again.status_code == 200 and again.json()["result"] == "unchanged"
    newer = put(api, "TB1", body(version=6, shipping_address="北京市朝阳区建国路1号"))
    assert newer.json()["result"] == "updated"
    older = put(api, "TB1", body(version=4, shipping_address="广州市天河区1号"))
    assert older.status_code == 200 and older.json()["result"] == "stale"
    order = Order.objects.get(number="TB1")
    assert order.shipping_address == "北京市朝阳区建国路1号" and order.source_version == 6
    conflict = put(api, "TB1", body(version=6, shipping_address="深圳市南山区1号"))
    assert conflict.status_code == 409 and conflict.json()["field"] == "version"
    by_time = put(api, "TB2", body(version=None, updated_at="2026-11-20T12:00:00+08:00"))
    assert by_time.status_code == 201
    stale = put(api, "TB2", body(version=None, updated_at="2026-11-20T11:00:00+08:00", payment_method="alipay"))
    assert stale.json()["result"] == "stale" and Order.objects.get(number="TB2").payment_method == "wechat_pay"


def test_an_update_without_the_version_the_order_came_with_is_refused_and_keeps_it(api):
    put(api, "TB3", body(version=5))
    by_time = put(api, "TB3", body(version=None, updated_at="2026-11-30T12:00:00+08:00", payment_method="alipay"))
    assert by_time.status_code == 409 and by_time.json()["field"] == "version"
    assert Order.objects.get(number="TB3").source_version == 5
    both = put(api, "TB3", body(version=6, updated_at="2026-11-30T12:00:00+08:00", payment_method="alipay"))
    assert both.json()["result"] == "updated"
    only_version = put(api, "TB3", body(version=7, payment_method="unionpay"))
    assert only_version.json()["result"] == "updated"
    order = Order.objects.get(number="TB3")  # the update time it did not send is kept, not cleared
    assert (order.source_version, order.source_updated_at is not None) == (7, True)
    assert put(api, "TB3", body(version=4)).json()["result"] == "stale"


def test_lines_are_added_changed_and_removed_by_sku(api):
    put(api, "TB3", body())
    data = body(version=2)
    data["lines"] = [
        {**data["lines"][0], "quantity": 3, "unit_price": "89.00"},
        {
            "sku": "EP-9",
            "name": "耳机",
            "category": "digital",
            "unit_price": "199.00",
            "unit_cost": "80.00",
            "quantity": 1,
        },
    ]
    assert put(api, "TB3", data).json()["result"] == "updated"
    lines = {line.sku: line for line in OrderLine.objects.filter(order__number="TB3")}
    assert set(lines) == {"TS-001", "EP-9"}
    assert (lines["TS-001"].quantity, lines["TS-001"].unit_price) == (3, Decimal("89.00"))
    assert lines["EP-9"].category.code == "digital"


def test_a_line_a_case_holds_cannot_be_removed_or_reduced_below_what_it_holds(api, agent):
    put(api, "TB4", body())
    order = Order.objects.get(number="TB4")
    jacket = order.lines.get(sku="JK-002")
    tshirt = order.lines.get(sku="TS-001")
    case = services.case_open(
        actor=agent, order_id=order.pk, lines=[(jacket.pk, 1), (tshirt.pk, 2)], request_type="return_refund"
    )
    removed = body(version=2)
    removed["lines"] = [removed["lines"][0]]
    refused = put(api, "TB4", removed)
    assert refused.status_code == 409
    assert "JK-002" in refused.json()["detail"] and case.number in refused.json()["detail"]
    assert refused.json()["field"] == "lines"
    reduced = body(version=3)
    reduced["lines"][0]["quantity"] = 1
    refused = put(api, "TB4", reduced)
    assert refused.status_code == 409 and "TS-001" in refused.json()["detail"]
    assert order.lines.count() == 2 and order.lines.get(sku="TS-001").quantity == 2  # nothing half-written
    # Once the case is cancelled its quantities are free again; the lines stay, as its history refers to them.
    services.case_cancel(case_id=case.pk, actor=agent)
    assert put(api, "TB4", reduced).json()["result"] == "updated"
    assert order.lines.get(sku="TS-001").quantity == 1
    still = put(api, "TB4", {**removed, "version": 4})
    assert still.status_code == 409 and case.number in still.json()["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"paid_at": "2026-11-19T10:00:00+08:00"}, "paid_at"),
        ({"delivered_at": "2026-11-20T09:00:00+08:00"}, "delivered_at"),
        ({"payment_method": "bitcoin"}, "payment_method"),
        ({"version": None}, "version"),
        ({"customer": {"id": "U1", "name": "李四", "phone": "13900000000", "email": "a" * 250 + "@x.cn"}}, "customer"),
        ({"customer": {"id": "U1", "name": "李四"}}, "customer"),
        ({"lines": []}, "lines"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_orders_are_refused_naming_the_field_and_nothing_is_written(api, change, field):
    response = put(api, "TB5", body(**change))
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not Order.objects.filter(number="TB5").exists() and not Customer.objects.filter(external_id="U1001").exists()


@pytest.mark.parametrize(
    "line_change",
    [{"unit_price": "-1"}, {"quantity": 0}, {"category": "toys"}, {"colour": "red"}],
)
def test_bad_lines_are_refused_naming_the_line_and_its_field(api, line_change):
    data = body()
    data["lines"][1].update(line_change)
    response = put(api, "TB6", data)
    assert response.status_code == 400
    errors = response.json()["lines"]
    assert set(errors) == {"1"} and set(errors["1"]) == set(line_change)
    assert not Order.objects.filter(number="TB6").exists()


def test_a_duplicate_sku_is_refused_and_a_cost_above_the_price_is_taken_with_a_warning(api):
    data = body()
    data["lines"][1]["sku"] = "TS-001"
    assert "lines" in put(api, "TB7", data).json()
    data = body()
    data["lines"][0]["unit_cost"] = "120.00"
    response = put(api, "TB7", data)
    assert response.status_code == 201 and "TS-001" in response.json()["warnings"][0]


def test_another_channels_order_is_invisible_and_its_number_cannot_be_taken(api, users):
    put(api, "TB8", body())
    live = key_for(users, "live_stream")
    assert live.get(order_url("TB8")).status_code == 404
    taken = put(live, "TB8", body(version=9))
    assert taken.status_code == 409 and taken.json()["field"] == "number"
    assert Order.objects.get(number="TB8").channel == "app" and Order.objects.get(number="TB8").source_version == 1
    # The same customer id in another channel is another customer.
    assert put(live, "LS8", body()).status_code == 201
    assert Customer.objects.filter(external_id="U1001").count() == 2


def test_staff_and_unknown_keys_cannot_send_orders(login, agent, categories):
    assert login(agent).put(order_url("TB9"), body(), content_type="application/json").status_code in (401, 403)
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Api-Key ask_0000000000_nope")
    assert stranger.put(order_url("TB9"), body(), format="json").status_code in (401, 403)
    assert not Order.objects.exists()


def test_a_batch_answers_per_order_and_writes_each_on_its_own(api):
    put(api, "B2", body(version=3))
    good = {"number": "B1", **body()}
    unchanged = {"number": "B2", **body(version=3)}
    stale = {"number": "B2", **body(version=2)}
    bad = {"number": "B3", **body(paid_at="2026-11-01T00:00:00+08:00")}
    broken_line = {"number": "B4", **body()}
    broken_line["lines"] = copy.deepcopy(broken_line["lines"])
    broken_line["lines"][0]["quantity"] = -2
    response = api.post(BATCH, {"orders": [good, unchanged, stale, bad, broken_line, {"number": "B 5"}]}, format="json")
    assert response.status_code == 200
    answer = response.json()
    assert [(row["number"], row["result"]) for row in answer["results"]] == [
        ("B1", "created"),
        ("B2", "unchanged"),
        ("B2", "stale"),
        ("B3", "error"),
        ("B4", "error"),
        ("B 5", "error"),
    ]
    assert "paid_at" in answer["results"][3]["errors"]
    assert "quantity" in answer["results"][4]["errors"]["lines"]["0"]
    assert {"number", "customer", "lines", "placed_at"} <= set(answer["results"][5]["errors"])
    assert answer["counts"] == {"created": 1, "updated": 0, "unchanged": 1, "stale": 1, "error": 3}
    assert set(Order.objects.values_list("number", flat=True)) == {"B1", "B2"}


def test_a_batch_is_limited_to_500_orders(api):
    response = api.post(BATCH, {"orders": [{"number": f"X{i}"} for i in range(501)]}, format="json")
    assert response.status_code == 400 and "orders" in response.json()
    assert api.post(BATCH, {"orders": "all of them"}, format="json").status_code == 400


def test_the_order_feed_is_in_the_schema(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    operations = {op["operationId"] for item in schema["paths"].values() for op in item.values()}
    assert {"orders_upsert", "orders_read", "orders_batch"} <= operations


def test_an_order_with_cases_cannot_move_to_another_customer(api, agent):
    put(api, "TB10", body())
    order = Order.objects.get(number="TB10")
    services.case_open(actor=agent, order_id=order.pk, lines=[(order.lines.first().pk, 1)], request_type="refund_only")
    moved = body(version=2, customer={"id": "U2002", "name": "王五", "phone": "13900002222"})
    refused = put(api, "TB10", moved)
    assert refused.status_code == 409 and refused.json()["field"] == "customer"
    assert Order.objects.get(number="TB10").customer.external_id == "U1001"
    assert CaseState.PENDING_REVIEW in order.cases.values_list("state", flat=True)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_channels_threads_sending_the_same_new_order_at_once_make_one_order(users, categories):
    from aftersales.services.orders import order_upsert
    from tests.aftersales.test_concurrency import race

    serializer_data = []
    for version in (1, 2):
        from aftersales.workflow.serializers import OrderUpsertSerializer, categories_by_code

        serializer = OrderUpsertSerializer(data=body(version=version), context={"categories": categories_by_code()})
        assert serializer.is_valid(), serializer.errors
        serializer_data.append(serializer.validated_data)
    actor = users["channel"]
    results = race(
        *(
            lambda data=data: order_upsert(channel="app", number="RACE1", data=data, actor=actor).result
            for data in serializer_data
        )
    )
    assert all(isinstance(r, str) for r in results), results
    assert sorted(results) in (["created", "unchanged"], ["created", "stale"])  # same content, versions 1 and 2
    assert (
        Order.objects.filter(number="RACE1").count() == 1
        and OrderLine.objects.filter(order__number="RACE1").count() == 2
    )
    assert Order.objects.get(number="RACE1").source_version == 2
    assert Customer.objects.filter(external_id="U1001").count() == 1


def test_a_batch_updates_orders_together_and_refuses_only_the_one_a_case_holds(api, agent):
    for number in ("G1", "G2", "G3"):
        put(api, number, body())
    held = Order.objects.get(number="G2")
    services.case_open(
        actor=agent, order_id=held.pk, lines=[(held.lines.get(sku="JK-002").pk, 1)], request_type="return_refund"
    )
    shipped = {"shipped_at": "2026-11-22T09:00:00+08:00", "version": 2}
    without_jacket = copy.deepcopy(body(**shipped))
    without_jacket["lines"] = without_jacket["lines"][:1]
    renamed = body(**shipped, customer={"id": "U1001", "name": "张三丰", "phone": "13800001111"})
    orders = [
        {"number": "G1", **body(**shipped)},
        {"number": "G2", **without_jacket},
        {"number": "G3", **renamed},
        {"number": "G4", **body(version=1, customer={"id": "U4", "name": "赵四", "phone": "13700004444"})},
        {
            "number": "G4",
            **body(version=2, payment_method="alipay", customer={"id": "U4", "name": "赵四", "phone": "13700004444"}),
        },
    ]
    answer = api.post(BATCH, {"orders": orders}, format="json").json()
    assert [row["result"] for row in answer["results"]] == ["updated", "error", "updated", "created", "updated"]
    assert "JK-002" in answer["results"][1]["errors"]["lines"][0]
    assert Order.objects.get(number="G1").shipped_at.isoformat() == "2026-11-22T01:00:00+00:00"
    g2 = Order.objects.get(number="G2")
    assert g2.shipped_at.isoformat() == "2026-11-21T01:00:00+00:00"  # untouched: still the first shipping time
    assert g2.source_version == 1 and g2.lines.count() == 2
    assert Customer.objects.get(channel="app", external_id="U1001").name == "张三丰"
    g4 = Order.objects.get(number="G4")
    assert (g4.payment_method, g4.source_version) == ("alipay", 2)


def test_an_order_moved_to_another_day_notes_the_day_it_left_for_the_reports(api):
    from datetime import date

    from customers.models import OrderDayChange

    for number in ("M1", "M2"):
        put(api, number, body())
    moved = {"placed_at": "2026-11-19T23:30:00+08:00", "version": 2}
    answer = api.post(BATCH, {"orders": [{"number": "M1", **body(**moved)}]}, format="json").json()
    assert answer["results"][0]["result"] == "updated"
    put(api, "M2", body(**moved))
    # both left the 20th (local): the batch's update and the single upsert each note it
    assert list(OrderDayChange.objects.values_list("day", flat=True)) == [date(2026, 11, 20)] * 2


def test_an_order_moved_to_another_customer_notes_the_customer_it_left(api):
    from customers.models import Customer, OrderDayChange

    put(api, "M3", body())
    put(api, "M4", body())
    first = Customer.objects.get(external_id="U1001").pk
    other = {"id": "U2002", "name": "李四", "phone": "13900002222", "region": "北京"}
    answer = api.post(BATCH, {"orders": [{"number": "M3", **body(version=2, customer=other)}]}, format="json").json()
    assert answer["results"][0]["result"] == "updated"
    put(api, "M4", body(version=2, customer=other))
    # the batch's update and the single upsert each note the customer the order left (for the repurchase rate)
    assert list(OrderDayChange.objects.values_list("customer_id", flat=True)) == [first, first]
