"""The channel's webhook events carry what a channel needs, in the shape the OpenAPI document says."""

from __future__ import annotations

import copy

import pytest
from jsonschema import Draft202012Validator

from aftersales import services
from aftersales.models import ApiKey, CaseState, Notification

S = CaseState


@pytest.fixture
def hooked(users):
    key = ApiKey(name="App", channel="app", user=users["channel"], webhook_url="https://app.example.com/hooks")
    key.issue()
    key.save()
    return key


def _json_schema(node):
    """OpenAPI 3.0 → JSON Schema: ``nullable: true`` becomes a null type."""
    if isinstance(node, dict):
        node = {key: _json_schema(value) for key, value in node.items()}
        if node.pop("nullable", False):
            node = {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    return node


@pytest.fixture
def validate(client):
    components = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()["components"]

    def _validate(payload, component):
        schema = {"$ref": f"#/components/schemas/{component}", "components": _json_schema(copy.deepcopy(components))}
        errors = sorted(Draft202012Validator(schema).iter_errors(payload), key=str)
        assert not errors, [f"{list(error.path)}: {error.message}" for error in errors]

    return _validate


def events_of(case):
    return [
        n.payload for n in Notification.objects.filter(case=case, kind=Notification.Kind.CHANNEL_EVENT).order_by("id")
    ]


def test_the_offer_comes_with_its_items_and_every_event_fits_the_schema(hooked, case_in, validate):
    case = case_in(S.AWAITING_CONFIRMATION)
    offer = next(event for event in events_of(case) if event["event"] == "propose")
    assert offer["offer"] == [
        {"compensation": case.compensations.get().pk, "kind": "refund", "amount": "99.00", "state": "approved"}
    ]
    assert offer["offer_total"] == "99.00" and offer["deadline"]
    for event in events_of(case):
        validate(event, "ChannelEvent")


def test_a_rejection_says_why_and_a_decision_says_where_it_took_the_case(hooked, case_in, users, validate):
    rejected = case_in(S.REJECTED)
    reject = next(event for event in events_of(rejected) if event["event"] == "reject")
    assert reject["reason"] == "超出退货期"
    escalated = case_in(S.ESCALATED)
    services.case_resolve_escalation(
        case_id=escalated.pk, actor=users["supervisor"], decision=S.CLOSED, note="同意退款，结案"
    )
    decision = next(event for event in events_of(escalated) if event["event"] == "resolve_escalation")
    assert decision["decision"] == "closed" and "note" not in decision  # the internal note stays internal
    for event in events_of(rejected) + events_of(escalated):
        validate(event, "ChannelEvent")


def test_a_reply_carries_its_message(hooked, case_in, users, validate):
    case = case_in(S.PENDING_REVIEW)
    services.case_add_note(case_id=case.pk, actor=users["agent"], text="您好，已为您加急处理", to_customer=True)
    reply = events_of(case)[-1]
    assert (reply["event"], reply["message"]) == ("reply", "您好，已为您加急处理")
    validate(reply, "ChannelEvent")


def test_a_refund_request_fits_its_schema(hooked, case_in, policy, validate):
    policy.refund_settlement = "channel"
    policy.save()
    case = case_in(S.CLOSED)
    request = next(event for event in events_of(case) if event["event"] == "refund.requested")
    validate(request, "RefundRequested")
    with pytest.raises(AssertionError):
        validate({**request, "amount": None}, "RefundRequested")  # the check itself can fail


def test_the_event_catalogue_in_the_docs_has_one_example_per_event_and_each_fits_the_schema(client, validate):
    import json
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    section = text.split("## Event catalogue\n", 1)[1].split("\n## ", 1)[0]
    examples = [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", section, flags=re.S)]
    for example in examples:
        validate(example, "RefundRequested" if example["event"] == "refund.requested" else "ChannelEvent")
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()["components"]["schemas"]
    documented = sorted(example["event"] for example in examples)
    assert documented == sorted([*schema["ChannelEventEventEnum"]["enum"], "refund.requested"])
