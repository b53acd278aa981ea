"""The agent's everyday path: the next action open and filled in, two steps in one, and the next case.

The browser counts are in ``test_click_count``; here the same behaviour through the test client and the services.
"""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from aftersales import services
from aftersales.models import Case, CaseEvent, CaseState, Compensation
from aftersales.workflow.transitions import PRIMARY_ACTIONS, TRANSITIONS

pytestmark = pytest.mark.django_db
S = CaseState


def page(case) -> str:
    return reverse("desk:case", args=[case.pk])


def act(case, name) -> str:
    return reverse("desk:case_action", args=[case.pk, name])


def panels_of(response):
    return response.context["panels"]


# ---- the primary action ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "state", "lead"),
    [
        ("agent", S.PENDING_REVIEW, "approve"),
        ("agent", S.AWAITING_RETURN, "ship_return"),
        ("qc", S.AWAITING_RETURN, "receive_inspect"),
        ("qc", S.RETURN_SHIPPED, "receive_inspect"),
        ("qc", S.IN_QC, "inspect"),
        ("agent", S.COMPENSATION, "send_offer"),
        ("agent", S.AWAITING_CONFIRMATION, "confirm"),
        ("supervisor", S.ESCALATED, "resolve_escalation"),
    ],
)
def test_each_states_primary_action_comes_first_and_open(login, users, case_in, role, state, lead):
    case = case_in(state)
    panels = panels_of(login(users[role]).get(page(case)))
    first = panels[0]
    assert first.name == lead and first.primary and first.open
    assert [p.name for p in panels if p.primary] == [lead]
    assert not any(p.open for p in panels[1:])  # the rest stay folded


def test_every_primary_action_is_an_action_of_the_registry():
    names = {entry.name for entry in TRANSITIONS.panels()}
    for state, leads in PRIMARY_ACTIONS.items():
        assert set(leads) <= names, state


def test_a_finished_case_has_no_primary_action(login, agent, case_in):
    panels = panels_of(login(agent).get(page(case_in(S.CLOSED))))
    assert "note" in {p.name for p in panels} and not any(p.primary or p.open for p in panels)


def test_the_offer_form_starts_from_the_suggestion_and_hides_the_plain_send(login, agent, case_in):
    case = case_in(S.COMPENSATION)  # one T-shirt at ¥99, inspected C / merchant
    panels = panels_of(login(agent).get(page(case)))
    offer = panels[0]
    assert offer.name == "send_offer"
    assert offer.form.initial["kind"] == "refund" and offer.form.initial["amount"] == Decimal("99.00")
    assert "propose" not in {p.name for p in panels}


def test_with_compensation_already_in_the_offer_the_plain_send_leads(login, agent, case_in):
    case = case_in(S.COMPENSATION)
    services.compensation_add(case_id=case.pk, actor=agent, kind="coupon", amount="10")
    panels = panels_of(login(agent).get(page(case)))
    assert panels[0].name == "propose" and "send_offer" not in {p.name for p in panels}


def test_the_inspection_starts_from_what_the_problem_most_likely_is(login, qc, case_in, supervisor):
    from tests.factories import ProblemCategoryFactory

    case = case_in(S.IN_QC)
    quality = ProblemCategoryFactory(name="质量问题", attribution="product_quality")
    services.case_update(case_id=case.pk, actor=supervisor, changes={"category": quality})
    form = panels_of(login(qc).get(page(case)))[0].form
    assert (form.initial["grade"], form.initial["responsible_party"], form.initial["disposition"]) == (
        "C",
        "merchant",
        "refurbish",
    )


def test_element_ids_on_the_case_page_are_unique(login, supervisor, case_in):
    case = case_in(S.COMPENSATION)
    html = login(supervisor).get(page(case)).content.decode()
    ids = Counter(re.findall(r'\sid="([^"]+)"', html))
    assert [name for name, n in ids.items() if n > 1] == []
    labels = re.findall(r'<label for="([^"]+)"', html)
    assert labels and all(ids[target] == 1 for target in labels)  # each label points at its own field


# ---- two steps in one ----------------------------------------------------------------------------------------


def test_receive_and_inspect_in_one_step_writes_both_events(login, qc, case_in):
    case = case_in(S.RETURN_SHIPPED)
    response = login(qc).post(
        act(case, "receive_inspect") + "?next=/qc/%3Ftab%3Dreturn_shipped%26q%3DSF1234567890123",
        {
            "expected_version": case.version,
            "carrier": "SF",
            "tracking_number": "SF1234567890123",
            "grade": "B",
            "responsible_party": "merchant",
            "disposition": "restock",
        },
    )
    assert response.status_code == 302 and response.url == "/qc/?tab=return_shipped&q=SF1234567890123"
    case.refresh_from_db()
    assert case.state == S.COMPENSATION
    names = list(case.events.filter(kind="transition").values_list("name", flat=True))
    assert names[-2:] == ["receive", "inspect"]


def test_a_refused_inspection_leaves_the_parcel_unreceived(qc, case_in):
    case = case_in(S.RETURN_SHIPPED)
    events = CaseEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        services.case_receive_and_inspect(
            case_id=case.pk,
            actor=qc,
            carrier="SF",
            tracking_number="SF1234567890123",
            grade="C",
            responsible_party="customer",  # the customer at fault needs findings
            disposition="scrap",
        )
    assert "findings" in refused.value.message_dict
    case.refresh_from_db()
    assert case.state == S.RETURN_SHIPPED and case.received_at is None and CaseEvent.objects.count() == events


def test_a_refused_receive_and_inspect_shows_the_error_beside_its_field(login, qc, case_in):
    case = case_in(S.RETURN_SHIPPED)
    response = login(qc).post(
        act(case, "receive_inspect"),
        {"expected_version": case.version, "carrier": "SF", "tracking_number": "SF1", "grade": "A"},
    )
    assert response.status_code == 400
    panel = next(p for p in panels_of(response) if p.name == "receive_inspect")
    assert panel.open and {"responsible_party", "disposition"} <= set(panel.form.errors)
    assert Case.objects.get(pk=case.pk).state == S.RETURN_SHIPPED


def test_send_offer_adds_the_compensation_and_sends_it_within_authority(login, agent, case_in):
    case = case_in(S.COMPENSATION)
    response = login(agent).post(
        act(case, "send_offer"),
        {"expected_version": case.version, "kind": "refund", "amount": "99.00", "compensation_note": "全额退款"},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == S.AWAITING_CONFIRMATION
    comp = Compensation.objects.get(case=case)
    assert comp.state == "approved" and comp.amount == Decimal("99.00") and comp.note == "全额退款"
    names = list(case.events.values_list("name", flat=True))
    assert names[-3:] == ["compensation_propose", "compensation_approve", "propose"]


def test_send_offer_above_authority_goes_to_a_supervisor(agent, case_in, order):
    jacket = order.lines.get(sku="JK-002")
    case = case_in(S.COMPENSATION, lines=[(jacket.pk, 1)])
    case = services.case_send_offer(case_id=case.pk, actor=agent, kind="refund", amount="1299.00")
    assert case.state == S.AWAITING_APPROVAL


def test_a_refund_above_the_goods_value_is_refused_and_nothing_is_added(login, agent, case_in):
    case = case_in(S.COMPENSATION)
    response = login(agent).post(
        act(case, "send_offer"), {"expected_version": case.version, "kind": "refund", "amount": "500.00"}
    )
    assert response.status_code == 400
    panel = next(p for p in panels_of(response) if p.name == "send_offer")
    assert "amount" in panel.form.errors
    assert not Compensation.objects.filter(case=case).exists()
    assert Case.objects.get(pk=case.pk).state == S.COMPENSATION


def test_send_offer_on_a_stale_page_changes_nothing(login, agent, supervisor, case_in):
    case = case_in(S.COMPENSATION)
    stale = case.version
    services.case_add_note(case_id=case.pk, actor=supervisor, text="先等顾客回电")
    response = login(agent).post(
        act(case, "send_offer"), {"expected_version": stale, "kind": "refund", "amount": "99.00"}, follow=True
    )
    assert any("已被他人修改" in str(m) for m in response.context["messages"])
    assert not Compensation.objects.filter(case=case).exists()


# ---- the queue remembers; the next case ------------------------------------------------------------------------


def test_the_queue_remembers_the_last_view_and_reset_forgets_it(login, agent):
    client = login(agent)
    assert client.get(reverse("desk:queue"), {"view": "unassigned", "state": "pending_review"}).status_code == 200
    again = client.get(reverse("desk:queue"))
    assert again.status_code == 302 and again.url == reverse("desk:queue") + "?view=unassigned&state=pending_review"
    assert client.get(reverse("desk:queue"), {"reset": 1}).status_code == 200
    assert client.get(reverse("desk:queue")).status_code == 200  # nothing remembered now


def test_the_case_page_leads_back_to_the_queue_as_it_was_left(login, agent, open_case):
    case = open_case()
    client = login(agent)
    client.get(reverse("desk:queue"), {"view": "unassigned"})
    response = client.get(page(case))
    assert response.context["queue_url"] == reverse("desk:queue") + "?view=unassigned"
    assert 'id="next-case"' in response.content.decode()


def test_next_case_follows_the_queue_order_and_skips_cases_that_left_the_view(login, agent, open_case, order):
    shirt = order.lines.get(sku="TS-001")
    jacket = order.lines.get(sku="JK-002")
    first = open_case(lines=[(shirt.pk, 1)])
    second = open_case(lines=[(jacket.pk, 1)])
    third = open_case(request_type="complaint", lines=[])
    client = login(agent)
    shown = [row["pk"] for row in client.get(reverse("desk:queue"), {"state": "pending_review"}).context["rows"]]
    assert set(shown) == {first.pk, second.pk, third.pk}
    services.case_approve(case_id=shown[1], actor=agent)  # the next one leaves the view
    response = client.get(reverse("desk:next_case", args=[shown[0]]))
    assert response.url == page(Case.objects.get(pk=shown[2]))
    last = client.get(reverse("desk:next_case", args=[shown[2]]), follow=True)
    assert last.redirect_chain[-1][0] == reverse("desk:queue") + "?state=pending_review"
    assert any("没有更多" in str(m) for m in last.context["messages"])


# ---- the bench ---------------------------------------------------------------------------------------------------


def test_the_bench_opens_on_the_parcels_on_their_way(login, qc, case_in, order):
    case_in(S.AWAITING_RETURN, lines=[(order.lines.get(sku="JK-002").pk, 1)])
    shipped = case_in(S.RETURN_SHIPPED)
    response = login(qc).get(reverse("desk:qc"))
    assert response.context["tab"] == S.RETURN_SHIPPED
    (row,) = response.context["rows"]
    assert row["case"] == shipped and row["inspect_form"] is not None and row["inspect_open"]
    assert f'id="receive-inspect-{shipped.pk}"' in response.content.decode()


def test_a_scan_finds_the_tab_of_its_case(login, qc, case_in):
    case = case_in(S.IN_QC)
    response = login(qc).get(reverse("desk:qc"), {"q": "SF1234567890"})
    assert response.context["tab"] == S.IN_QC and [r["case"] for r in response.context["rows"]] == [case]


def test_a_longer_bench_links_each_row_to_its_receive_and_inspect_form(login, qc, case_in, order):
    first = case_in(S.RETURN_SHIPPED)
    second = case_in(S.RETURN_SHIPPED, lines=[(order.lines.get(sku="JK-002").pk, 1)])
    response = login(qc).get(reverse("desk:qc"), {"tab": "return_shipped"})
    rows = response.context["rows"]
    assert {row["case"].pk for row in rows} == {first.pk, second.pk}
    assert all(row["inspect_form"] is None and row["inspect_link"] for row in rows)  # no fifty forms on one page
    html = response.content.decode()
    assert f"/cases/{first.pk}/#action-receive_inspect" in html
    case_page = login(qc).get(page(first))
    assert case_page.context["panels"][0].name == "receive_inspect" and case_page.context["panels"][0].open
