"""The supervisor's admin: search, fixed query counts, transitions through the services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from aftersales import services
from aftersales.models import Case, CaseEvent, CaseState, Compensation
from tests.factories import UserFactory
from tests.helpers import open_many, queries_of

S = CaseState


@pytest.fixture
def admin_client_for(client):
    def _login(user):
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def sup_client(admin_client_for, supervisor):
    return admin_client_for(supervisor)


# -- changelist ----------------------------------------------------------------
def test_case_is_found_by_its_number_or_its_order_number(sup_client, open_case, order, agent):
    case = open_case()
    open_many(agent, 3, channel="web")
    url = reverse("admin:aftersales_case_changelist")
    for term in (case.number, order.number):
        response = sup_client.get(url, {"q": term})
        assert response.status_code == 200
        assert list(response.context["cl"].result_list) == [case]


def test_changelist_costs_the_same_queries_for_3_or_30_cases(sup_client, policy, agent):
    url = reverse("admin:aftersales_case_changelist")
    open_many(agent, 3)
    sup_client.get(url)  # warm caches (content types)
    few = queries_of(sup_client, url)
    open_many(agent, 27)
    many = queries_of(sup_client, url)
    assert len(few) == len(many)


def test_changelist_never_counts_the_whole_table(sup_client, policy, agent):
    open_many(agent, 2)
    sql = queries_of(sup_client, reverse("admin:aftersales_case_changelist"))
    counts = [q for q in sql if "COUNT(" in q.upper()]
    assert counts, "the page should count (boundedly)"
    assert all("LIMIT" in q.upper() for q in counts), counts


def test_capped_count_says_more_than_the_cap(sup_client, policy, agent, monkeypatch):
    from config.pagination import CappedCountPaginator

    monkeypatch.setattr(CappedCountPaginator, "cap", 2)
    open_many(agent, 3)
    response = sup_client.get(reverse("admin:aftersales_case_changelist"))
    assert response.context["cl"].paginator.is_capped
    assert response.context["cl"].result_count == 2


# -- change page ------------------------------------------------------------------
def test_case_page_costs_the_same_queries_whatever_its_history(sup_client, case_in, users):
    short = case_in(S.PENDING_REVIEW)
    sup_client.get(reverse("admin:aftersales_case_change", args=[short.pk]))  # warm caches (content types)
    few = queries_of(sup_client, reverse("admin:aftersales_case_change", args=[short.pk]))
    long = case_in(S.CLOSED, lines=[(short.order.lines.order_by("id")[1].pk, 1)])
    for i in range(5):
        services.case_add_note(case_id=long.pk, actor=users["agent"], text=f"备注{i}")
    many = queries_of(sup_client, reverse("admin:aftersales_case_change", args=[long.pk]))
    assert long.events.count() > short.events.count() + 5
    assert len(few) == len(many)


def test_case_page_shows_the_buttons_this_user_may_use(sup_client, case_in):
    case = case_in(S.PENDING_REVIEW)
    response = sup_client.get(reverse("admin:aftersales_case_change", args=[case.pk]))
    names = {a.name for a in response.context["case_actions"]}
    assert {"approve", "reject", "cancel", "escalate", "triage", "note"} <= names
    assert "receive" not in names
    assert case.order.number in response.content.decode()


# -- actions go through the services ---------------------------------------------------
def test_approve_button_calls_the_service_and_leaves_an_event(sup_client, case_in, supervisor):
    case = case_in(S.PENDING_REVIEW)
    url = reverse("admin:aftersales_case_action", args=[case.pk, "approve"])
    assert sup_client.get(url).status_code == 200
    response = sup_client.post(url, {"expected_version": case.version, "note": "同意"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == S.AWAITING_RETURN
    assert CaseEvent.objects.get(case=case, name="approve").actor == supervisor


def test_missing_reason_is_shown_beside_the_field(sup_client, case_in):
    case = case_in(S.PENDING_REVIEW)
    response = sup_client.post(
        reverse("admin:aftersales_case_action", args=[case.pk, "reject"]),
        {"expected_version": case.version, "reason": ""},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    case.refresh_from_db()
    assert case.state == S.PENDING_REVIEW


def test_transition_not_allowed_now_gives_a_message_not_an_error_page(sup_client, case_in):
    case = case_in(S.CLOSED)
    response = sup_client.post(
        reverse("admin:aftersales_case_action", args=[case.pk, "approve"]),
        {"expected_version": case.version},
        follow=True,
    )
    assert response.status_code == 200
    assert any(m.level_tag == "error" for m in response.context["messages"])
    assert Case.objects.get(pk=case.pk).state == S.CLOSED


def test_page_loaded_before_another_users_change_is_refused(sup_client, case_in, agent):
    case = case_in(S.PENDING_REVIEW)
    stale = case.version
    services.case_add_note(case_id=case.pk, actor=agent, text="顾客来电")
    response = sup_client.post(
        reverse("admin:aftersales_case_action", args=[case.pk, "approve"]), {"expected_version": stale}, follow=True
    )
    errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    assert errors and case.number in errors[0]
    assert Case.objects.get(pk=case.pk).state == S.PENDING_REVIEW


def test_triage_changes_go_through_the_service_with_an_event(sup_client, case_in, supervisor):
    case = case_in(S.PENDING_REVIEW)
    response = sup_client.post(
        reverse("admin:aftersales_case_action", args=[case.pk, "triage"]),
        {
            "expected_version": case.version,
            "urgency": 5,
            "priority": "red",
            "assignee": supervisor.pk,
            "note": "VIP投诉",
        },
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.urgency, case.priority, case.assignee) == (5, "red", supervisor)
    event = CaseEvent.objects.filter(case=case, name="update").get()
    assert event.data["changes"]["urgency"] == ["3", "5"]


def test_compensation_propose_and_approve_from_the_case_page(sup_client, case_in):
    case = case_in(S.COMPENSATION)
    response = sup_client.post(
        reverse("admin:aftersales_case_compensation_add", args=[case.pk]),
        {"kind": "cash", "amount": "800", "note": "补偿"},
    )
    assert response.status_code == 302
    comp = Compensation.objects.get(case=case)
    page = sup_client.get(reverse("admin:aftersales_case_change", args=[case.pk]))
    row = next(r for r in page.context["compensations"] if r["comp"] == comp)
    assert {a["name"] for a in row["actions"]} == {"approve", "reject", "void"}
    sup_client.post(
        reverse("admin:aftersales_case_compensation_action", args=[case.pk, comp.pk, "approve"]), {"note": ""}
    )
    comp.refresh_from_db()
    assert comp.state == "approved"


def test_over_refund_is_shown_beside_the_amount(sup_client, case_in):
    case = case_in(S.COMPENSATION)
    response = sup_client.post(
        reverse("admin:aftersales_case_compensation_add", args=[case.pk]), {"kind": "refund", "amount": "5000"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["amount"]
    assert not Compensation.objects.filter(case=case).exists()


def test_bulk_approve_reports_each_refusal(sup_client, case_in, agent, order):
    fine = case_in(S.PENDING_REVIEW)
    done = case_in(S.CLOSED, lines=[(order.lines.order_by("id")[1].pk, 1)])
    response = sup_client.post(
        reverse("admin:aftersales_case_changelist"),
        {"action": "approve_selected", "_selected_action": [fine.pk, done.pk]},
        follow=True,
    )
    fine.refresh_from_db()
    assert fine.state == S.AWAITING_RETURN
    errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    assert len(errors) == 1 and done.number in errors[0]


def test_open_a_case_from_the_order_page(sup_client, policy, order):
    lines = list(order.lines.order_by("id"))
    url = reverse("admin:aftersales_case_open", args=[order.pk])
    assert url in sup_client.get(reverse("admin:customers_order_change", args=[order.pk])).content.decode()
    response = sup_client.post(
        url,
        {
            "request_type": "return_refund",
            "urgency": 3,
            "reason": "尺码偏小",
            f"qty_{lines[0].pk}": 1,
            f"qty_{lines[1].pk}": 0,
        },
    )
    case = Case.objects.get(order=order)
    assert response.status_code == 302 and response["Location"].endswith(f"/{case.pk}/change/")
    assert [(cl.order_line_id, cl.quantity) for cl in case.lines.all()] == [(lines[0].pk, 1)]


def test_open_form_refuses_an_empty_request_beside_the_form(sup_client, policy, order):
    response = sup_client.post(
        reverse("admin:aftersales_case_open", args=[order.pk]), {"request_type": "return_refund", "urgency": 3}
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not Case.objects.exists()


# -- who gets in ---------------------------------------------------------------------
def test_agents_and_finance_are_not_admin_users(client, agent, finance):
    for user in (agent, finance):
        client.force_login(user)
        response = client.get(reverse("admin:aftersales_case_changelist"))
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_staff_without_view_permission_cannot_open_a_case_page(client, case_in):
    case = case_in(S.PENDING_REVIEW)
    nobody = UserFactory(is_staff=True)
    client.force_login(nobody)
    assert client.get(reverse("admin:aftersales_case_change", args=[case.pk])).status_code == 403
    assert client.get(reverse("admin:aftersales_case_action", args=[case.pk, "approve"])).status_code == 403


def test_policy_history_page_lists_versions(sup_client, policy):
    from aftersales.models import Policy

    policy.review_timeout_hours = 24
    policy.save()
    response = sup_client.get(reverse("admin:aftersales_policy_history", args=[policy.pk]))
    assert response.status_code == 200
    assert len(response.context["page_obj"].object_list) == 2
    html = response.content.decode()
    label = str(Policy._meta.get_field("review_timeout_hours").verbose_name)
    assert f'<th scope="col">{label}</th>' in html  # the field's name, not its code
    assert "review_timeout_hours" not in html
    newest = response.context["page_obj"].object_list[0]
    compare = reverse("admin:aftersales_policy_compare", args=[policy.pk]) + f"?b={newest.history_id}"
    assert compare.replace("&", "&amp;") in html
    diff = sup_client.get(compare)
    changed = [row for row in diff.context["rows"] if row["changed"]]
    assert diff.status_code == 200 and diff.context["newer"] == newest and diff.context["older"] != newest
    assert [(str(row["label"]), row["new"]) for row in changed] == [(label, "24")]


# -- personal data ----------------------------------------------------------------------
def test_customer_phone_is_masked_without_the_pii_permission(admin_client_for, order, supervisor):
    from django.contrib.auth.models import Permission

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_customer"))
    url = reverse("admin:customers_customer_change", args=[order.customer.pk])
    masked = admin_client_for(viewer).get(url).content.decode()
    assert order.customer.phone not in masked and order.customer.masked_phone in masked
    full = admin_client_for(supervisor).get(url).content.decode()
    assert order.customer.phone in full


def test_the_admin_timeline_names_people_and_says_how_long_in_words(sup_client, case_in, users):
    users["agent"].first_name, users["agent"].last_name = "晓明", "李"
    users["agent"].save()
    case = case_in(S.AWAITING_RETURN)  # approved by the agent
    page = sup_client.get(reverse("admin:aftersales_case_change", args=[case.pk])).content.decode()
    timeline = page.split('class="tl-waited"', 1)[1]
    assert "晓明 李" in timeline and ">agent<" not in timeline
    assert "0:00:00" not in timeline and "分" in timeline  # 12 分, not a raw timedelta
