"""The staff API: the queue's filters, case detail, every transition as a POST, the same errors as the pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from aftersales.models import Case, Compensation
from tests.helpers import open_many, queries_of

LIST = reverse("api:staff-case-list")


def detail(case):
    return reverse("api:staff-case-detail", args=[case.pk])


def act(case, name):
    return reverse(f"api:staff-case-{name.replace('_', '-')}", args=[case.pk])


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


pytestmark = pytest.mark.usefixtures("policy")


def test_list_uses_the_queue_filters_and_the_scope(login, agent, supervisor):
    red, plain = open_many(agent, 2)
    from aftersales import services

    services.case_update(case_id=red.pk, actor=supervisor, changes={"priority": "red"})
    client = login(agent)
    body = client.get(LIST).json()
    assert body["count"] == 2 and {row["number"] for row in body["results"]} == {red.number, plain.number}
    assert [row["number"] for row in client.get(LIST, {"priority": "red"}).json()["results"]] == [red.number]
    assert [row["number"] for row in client.get(LIST, {"q": plain.order.number}).json()["results"]] == [plain.number]
    assert client.get(LIST, {"priority": "purple"}).status_code == 400
    for page in ("0", "x", "9"):  # bad or past the end: a 400 naming the field, not a missing case
        bad_page = client.get(LIST, {"page": page})
        assert bad_page.status_code == 400 and "page" in bad_page.json()


def test_bad_bodies_are_400_and_surprises_are_json_500(login, agent, open_case):
    from unittest import mock

    from django.test import Client

    case = open_case()
    staff = login(agent)
    nested = staff.post(act(case, "reject"), "[" * 5000 + "]" * 5000, content_type="application/json")
    assert nested.status_code == 400 and "detail" in nested.json()
    channel = Client(raise_request_exception=False)
    unknown_post = channel.post("/api/v1/cases", {}, content_type="application/json")  # no slash, no CSRF token
    assert unknown_post.status_code == 404 and unknown_post.json()["code"] == "not_found"
    broken = Client(raise_request_exception=False)
    broken.force_login(agent)
    with mock.patch("aftersales.api.views.StaffCaseViewSet.get_queryset", side_effect=RuntimeError("boom")):
        crashed = broken.get(LIST)
    assert crashed.status_code == 500 and crashed.json()["code"] == "server_error"
    assert Case.objects.get(pk=case.pk).state == "pending_review"


def test_unknown_api_paths_and_options_answer_in_json(login, agent):
    client = login(agent)
    unknown = client.get("/api/v1/cases/%C2%84/")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    assert client.get("/api/v1/nothing/here").json()["code"] == "not_found"
    options = client.options(reverse("api:webhook"))
    assert options.status_code in (401, 403) and "detail" in options.json()  # a staff session is no channel key
    described = client.options(LIST)
    assert described.status_code == 200 and described.json()["name"]


def test_list_costs_the_same_queries_for_2_or_20_cases(login, agent):
    open_many(agent, 2)
    client = login(agent)
    client.get(LIST)
    few = queries_of(client, LIST)
    open_many(agent, 18)
    assert len(queries_of(client, LIST)) == len(few)


def test_detail_and_scope(login, agent, qc, open_case):
    case = open_case()
    body = login(agent).get(detail(case)).json()
    assert body["number"] == case.number and body["lines"][0]["sku"] == "TS-001" and body["events"][0]["name"] == "open"
    assert body["customer_phone"] == case.customer.masked_phone
    assert login(qc).get(detail(case)).status_code == 404  # QC does not see cases under review
    assert login(agent).get("/api/v1/staff/cases/99999999999999999999/").status_code == 404


def test_channel_keys_and_anonymous_users_cannot_use_staff_endpoints(client, users):
    from rest_framework.test import APIClient

    from aftersales.models import ApiKey

    key = ApiKey(name="App", channel="app", user=users["channel"])
    raw = key.issue()
    key.save()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert api.get(LIST).status_code in (401, 403)
    assert client.get(LIST).status_code in (401, 403)


def test_the_whole_workflow_through_the_api(login, users, open_case):
    agent, qc, supervisor = login(users["agent"]), login(users["qc"]), login(users["supervisor"])
    case = open_case()
    body = post(agent, act(case, "approve"), {"note": "同意", "expected_version": case.version}).json()
    assert body["state"] == "awaiting_return"
    assert post(qc, act(case, "receive"), {"tracking_number": "SF123"}).json()["state"] == "in_qc"
    inspected = post(
        qc,
        act(case, "inspect"),
        {"grade": "C", "responsible_party": "merchant", "disposition": "refurbish", "findings": "起球"},
    )
    assert inspected.json()["state"] == "compensation"
    added = post(agent, act(case, "add_compensation"), {"kind": "refund", "amount": "99.00"})
    assert added.status_code == 200 and added.json()["compensations"][0]["amount"] == "99.00"
    assert post(agent, act(case, "propose")).json()["state"] == "awaiting_confirmation"
    assert post(agent, act(case, "confirm")).json()["state"] == "closed"
    assert Compensation.objects.get(case=case).payable
    assert post(supervisor, act(case, "escalate"), {"reason": "x"}).status_code == 409


def test_errors_map_once(login, users, open_case, order):
    agent = login(users["agent"])
    case = open_case()
    missing = post(agent, act(case, "reject"), {})
    assert missing.status_code == 400 and "reason" in missing.json()
    forbidden = post(agent, act(case, "escalate"), {"reason": "升级"})
    assert forbidden.status_code == 403
    wrong_state = post(login(users["qc"]), act(Case.objects.get(pk=case.pk), "receive"), {"tracking_number": "SF1"})
    assert wrong_state.status_code == 404  # not in QC's scope at all
    stale = post(agent, act(case, "approve"), {"expected_version": case.version + 5})
    assert stale.status_code == 409 and case.number in stale.json()["detail"]
    bad_amount = post(agent, act(case, "add_compensation"), {"kind": "refund", "amount": "-3"})
    assert bad_amount.status_code == 400 and "amount" in bad_amount.json()
    assert Case.objects.get(pk=case.pk).state == "pending_review"


def test_claim_and_resolve_escalation(login, users, open_case):
    case = open_case()
    assert post(login(users["agent"]), act(case, "claim")).json()["assignee"]
    supervisor = login(users["supervisor"])
    post(supervisor, act(case, "escalate"), {"reason": "顾客投诉"})
    resolved = post(supervisor, act(case, "resolve_escalation"), {"decision": "rejected", "note": "证据不足"})
    assert resolved.status_code == 200 and resolved.json()["state"] == "rejected"


def test_staff_writes_need_the_csrf_token(users, open_case):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(users["agent"])
    case = open_case()
    assert client.post(act(case, "approve"), {}, content_type="application/json").status_code == 403
    assert Case.objects.get(pk=case.pk).state == "pending_review"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_parallel_creates_with_the_same_idempotency_key_make_one_case(users, policy, order):
    from rest_framework.test import APIClient

    from aftersales.models import ApiKey
    from tests.aftersales.test_concurrency import race

    key = ApiKey(name="App", channel="app", user=users["channel"])
    raw = key.issue()
    key.save()
    body = {"order_number": order.number, "request_type": "return_refund", "lines": [{"sku": "TS-001", "quantity": 1}]}

    def create():
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
        response = api.post(reverse("api:cases"), body, format="json", HTTP_IDEMPOTENCY_KEY="retry-42")
        return response.status_code, response.json().get("number")

    results = race(create, create, create)
    assert sorted(code for code, _number in results) == [200, 200, 201], results
    assert len({number for _code, number in results}) == 1
    assert Case.objects.count() == 1


def test_a_finished_case_is_still_readable_by_id(login, users, case_in):
    case = case_in("closed")
    assert login(users["supervisor"]).get(detail(case)).json()["state"] == "closed"
    assert login(users["agent"]).get(LIST).json()["count"] == 0  # the list shows open cases by default
    assert login(users["agent"]).get(LIST, {"state": "any"}).json()["count"] == 1


# -- offers above an agent's authority and compensation actions ------------------------------------------
def _over_authority_offer(case_in, order, agent):
    from aftersales import services
    from aftersales.models import CaseState

    jacket = order.lines.get(sku="JK-002")
    case = case_in(CaseState.COMPENSATION, lines=[(jacket.pk, 1)])
    services.compensation_add(case_id=case.pk, actor=agent, kind="refund", amount="1299")
    return case


def test_an_offer_above_authority_waits_and_a_supervisor_decides_through_the_api(
    login, case_in, order, agent, supervisor
):
    case = _over_authority_offer(case_in, order, agent)
    staff = login(agent)
    sent = post(staff, act(case, "propose"), {"note": "全额退款"})
    assert sent.status_code == 200 and sent.json()["state"] == "awaiting_approval"
    assert post(staff, act(case, "approve_offer")).status_code == 403  # agents do not approve their own
    boss = login(supervisor)
    returned = post(boss, act(case, "return_offer"), {})
    assert returned.status_code == 400 and "note" in returned.json()
    version = Case.objects.get(pk=case.pk).version
    approved = post(boss, act(case, "approve_offer"), {"note": "同意", "expected_version": version})
    assert approved.status_code == 200
    body = approved.json()
    assert body["state"] == "awaiting_confirmation"
    assert [c["state"] for c in body["compensations"]] == ["approved"]
    assert [e["name"] for e in body["events"] if e["kind"] == "transition"][-2:] == ["submit_offer", "approve_offer"]
    again = post(boss, act(case, "approve_offer"))
    assert again.status_code == 409 and "detail" in again.json()


def test_compensation_actions_run_through_the_api_in_the_actors_scope(login, case_in, order, agent, finance):
    from aftersales import services
    from aftersales.models import CaseState

    case = case_in(CaseState.COMPENSATION)
    comp = services.compensation_add(case_id=case.pk, actor=agent, kind="coupon", amount="20")
    url = reverse("api:staff-compensation-approve", args=[comp.pk])
    staff = login(agent)
    assert post(staff, url, {"note": "小额补偿"}).status_code == 200
    assert Compensation.objects.get(pk=comp.pk).state == "approved"
    # finance sees the case now (an approved compensation) but it is not payable before the customer accepts
    money = login(finance)
    paid = reverse("api:staff-compensation-mark-paid", args=[comp.pk])
    refused = post(money, paid, {"payout_reference": "WX-1"})
    assert refused.status_code == 409 and "detail" in refused.json()
    services.case_submit_offer(case_id=case.pk, actor=agent)
    services.case_confirm(case_id=case.pk, actor=agent)
    assert post(money, paid, {}).status_code == 400
    assert post(staff, paid, {"payout_reference": "WX-1"}).status_code == 403  # agents do not pay out
    done = post(money, paid, {"payout_reference": "WX-1"})
    assert done.status_code == 200 and done.json()["compensations"][0]["payout_reference"] == "WX-1"
    assert post(money, paid, {"payout_reference": "WX-2"}).status_code == 409  # never twice
    # a compensation outside the actor's scope is a 404
    other = case_in(CaseState.COMPENSATION)
    hidden = services.compensation_add(case_id=other.pk, actor=agent, kind="coupon", amount="5")
    assert post(money, reverse("api:staff-compensation-approve", args=[hidden.pk]), {}).status_code == 404
