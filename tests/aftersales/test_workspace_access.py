"""Each role lands on its own page, sees only its pages, and the list and the detail apply one scope rule."""

from __future__ import annotations

import pytest
from django.urls import reverse

from aftersales import services
from aftersales.models import Case, CaseState
from aftersales.selectors import case_scope_for
from tests.factories import QueueFactory, UserFactory

S = CaseState

PAGES = {
    "queue": reverse("desk:queue"),
    "board": reverse("desk:board"),
    "qc": reverse("desk:qc"),
    "approvals": reverse("desk:approvals"),
    "finance": reverse("desk:finance"),
}
ALLOWED = {
    "agent": {"queue", "board"},
    "qc": {"qc"},
    "supervisor": {"queue", "board", "qc", "approvals"},
    "finance": {"finance"},
}
LANDING = {"agent": "queue", "qc": "qc", "supervisor": "board", "finance": "finance"}


def test_signing_in_lands_each_role_on_its_start_page(client, users):
    for role, area in LANDING.items():
        client.logout()
        response = client.post(reverse("login"), {"username": role, "password": "pw-for-tests-1"})
        assert response.status_code == 302 and response["Location"] == reverse("desk:home")
        assert client.get(reverse("desk:home"))["Location"] == PAGES[area], role


def test_a_wrong_password_is_refused_on_the_form(client, users):
    response = client.post(reverse("login"), {"username": "agent", "password": "wrong"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("role", sorted(ALLOWED))
def test_each_role_reaches_exactly_its_pages(login, users, role):
    client = login(users[role])
    for area, url in PAGES.items():
        expected = 200 if area in ALLOWED[role] else 403
        assert client.get(url).status_code == expected, (role, area)


@pytest.mark.parametrize("role", sorted(ALLOWED))
def test_the_navigation_offers_only_the_roles_pages(login, users, role):
    html = login(users[role]).get(PAGES[LANDING[role]]).content.decode()
    for area, url in PAGES.items():
        assert (f'href="{url}"' in html) == (area in ALLOWED[role]), (role, area)


def test_anonymous_users_are_sent_to_sign_in(client):
    for url in [*PAGES.values(), reverse("desk:case", args=[1])]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_user_without_a_role_has_no_start_page(login, db):
    assert login(UserFactory(username="nobody")).get(reverse("desk:home")).status_code == 403


# -- one scope for list and detail ---------------------------------------------
@pytest.fixture
def vip_queue_case(open_case):
    """A case in the VIP queue, which the test agent does not belong to."""
    case = open_case()
    Case.objects.filter(pk=case.pk).update(queue=QueueFactory(code="vip", name="VIP专席"))
    return Case.objects.get(pk=case.pk)


def test_an_agent_cannot_list_or_open_a_case_outside_their_queues(login, agent, vip_queue_case):
    client = login(agent)
    listed = client.get(PAGES["queue"], {"state": "any"}).context["rows"]
    assert vip_queue_case.pk not in [row["case"].pk for row in listed]
    assert client.get(reverse("desk:case", args=[vip_queue_case.pk])).status_code == 404


def test_joining_the_queue_opens_both_the_list_and_the_page(login, agent, vip_queue_case):
    vip_queue_case.queue.members.add(agent)
    client = login(agent)
    listed = client.get(PAGES["queue"]).context["rows"]
    assert vip_queue_case.pk in [row["pk"] for row in listed]
    assert client.get(reverse("desk:case", args=[vip_queue_case.pk])).status_code == 200


def test_an_agent_always_sees_the_cases_assigned_to_them(login, agent, supervisor, vip_queue_case):
    services.case_update(case_id=vip_queue_case.pk, actor=supervisor, changes={"assignee": agent})
    assert login(agent).get(reverse("desk:case", args=[vip_queue_case.pk])).status_code == 200


def test_qc_sees_goods_coming_back_but_not_cases_under_review(login, qc, case_in):
    pending = case_in(S.PENDING_REVIEW)
    returning = case_in(S.AWAITING_RETURN, lines=[(pending.order.lines.order_by("id")[1].pk, 1)])
    client = login(qc)
    assert client.get(reverse("desk:case", args=[pending.pk])).status_code == 404
    assert client.get(reverse("desk:case", args=[returning.pk])).status_code == 200
    assert set(case_scope_for(qc)) == {returning}


def test_finance_sees_only_cases_with_money_to_pay(login, finance, case_in, order):
    closed = case_in(S.CLOSED)  # a ¥99 refund, payable
    pending = case_in(S.PENDING_REVIEW, lines=[(order.lines.order_by("id")[1].pk, 1)])
    client = login(finance)
    assert client.get(reverse("desk:case", args=[closed.pk])).status_code == 200
    assert client.get(reverse("desk:case", args=[pending.pk])).status_code == 404


def test_supervisors_see_every_case(login, supervisor, vip_queue_case):
    assert login(supervisor).get(reverse("desk:case", args=[vip_queue_case.pk])).status_code == 200


def test_actions_on_a_case_outside_the_scope_are_404_not_performed(login, qc, open_case):
    case = open_case()
    response = login(qc).post(reverse("desk:case_action", args=[case.pk, "reject"]), {"reason": "x"})
    assert response.status_code == 404
    assert Case.objects.get(pk=case.pk).state == S.PENDING_REVIEW


def test_an_action_the_user_may_not_take_is_403_and_changes_nothing(login, agent, case_in):
    case = case_in(S.AWAITING_RETURN)
    response = login(agent).post(
        reverse("desk:case_action", args=[case.pk, "receive"]),
        {"tracking_number": "SF1", "expected_version": case.version},
    )
    assert response.status_code == 403
    assert Case.objects.get(pk=case.pk).state == S.AWAITING_RETURN


# -- language ---------------------------------------------------------------------
def test_pages_are_chinese_whatever_the_browser_asks(login, agent):
    response = login(agent).get(PAGES["queue"], HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "zh-hans"
    assert "工作队列" in response.content.decode()


def test_the_switch_turns_the_workspace_english_and_back(login, agent):
    client = login(agent)
    client.post(reverse("set_language"), {"language": "en", "next": PAGES["queue"]})
    page = client.get(PAGES["queue"])
    assert page["Content-Language"] == "en" and "my queues" in page.content.decode()
    client.post(reverse("set_language"), {"language": "zh-hans", "next": PAGES["queue"]})
    assert "我的队列" in client.get(PAGES["queue"]).content.decode()
