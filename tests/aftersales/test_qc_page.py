"""The QC page: goods coming back and goods on the bench; receipt recorded in place."""

from __future__ import annotations

from django.urls import reverse

from aftersales.models import Case, CaseState
from tests.factories import OrderLineFactory
from tests.helpers import queries_of

S = CaseState
QC_PAGE = reverse("desk:qc")


def listed(response) -> list[int]:
    return [row["case"].pk for row in response.context["rows"]]


def test_qc_lists_returns_and_records_receipt_in_place(login, qc, case_in, order):
    returning = case_in(S.AWAITING_RETURN)
    on_bench = case_in(S.IN_QC, lines=[(order.lines.order_by("id")[1].pk, 1)])
    client = login(qc)
    assert listed(client.get(QC_PAGE)) == [returning.pk]
    assert listed(client.get(QC_PAGE, {"tab": "in_qc"})) == [on_bench.pk]
    url = reverse("desk:case_action", args=[returning.pk, "receive"]) + "?next=" + QC_PAGE
    response = client.post(
        url, {"expected_version": returning.version, "carrier": "SF", "tracking_number": "SF1002003004005"}
    )
    assert response.status_code == 302 and response["Location"] == QC_PAGE
    returning.refresh_from_db()
    assert returning.state == S.IN_QC and returning.return_tracking_number == "SF1002003004005"
    assert listed(client.get(QC_PAGE, {"tab": "in_qc", "q": "SF1002003004005"})) == [returning.pk]


def test_a_receipt_without_tracking_number_is_refused_beside_the_field(login, qc, case_in):
    case = case_in(S.AWAITING_RETURN)
    response = login(qc).post(
        reverse("desk:case_action", args=[case.pk, "receive"]), {"expected_version": case.version}
    )
    assert response.status_code == 400
    panel = next(p for p in response.context["panels"] if p.name == "receive")
    assert "tracking_number" in panel.form.errors
    assert Case.objects.get(pk=case.pk).state == S.AWAITING_RETURN


def test_qc_page_costs_the_same_queries_for_1_or_10_returns(login, qc, agent, case_in):
    from aftersales import services

    case_in(S.AWAITING_RETURN)
    client = login(qc)
    client.get(QC_PAGE)
    few = queries_of(client, QC_PAGE)
    for _ in range(9):
        line = OrderLineFactory()
        case = services.case_open(actor=agent, order_id=line.order_id, lines=[(line.pk, 1)], request_type="exchange")
        services.case_approve(case_id=case.pk, actor=agent)
    response_rows = client.get(QC_PAGE).context["rows"]
    assert len(response_rows) == 10
    assert len(queries_of(client, QC_PAGE)) == len(few)


def test_approvals_and_payouts_cost_fixed_queries(login, supervisor, finance, case_in, order, agent):
    from aftersales import services

    def over_authority_case():
        line = OrderLineFactory(unit_price="900.00", quantity=1)
        case = services.case_open(actor=agent, order_id=line.order_id, lines=[(line.pk, 1)], request_type="refund_only")
        services.case_approve(case_id=case.pk, actor=agent)
        services.compensation_add(case_id=case.pk, actor=agent, kind="refund", amount="900")
        return services.case_submit_offer(case_id=case.pk, actor=agent)

    over_authority_case()
    sup = login(supervisor)
    sup.get(reverse("desk:approvals"))
    few = queries_of(sup, reverse("desk:approvals"))
    for _ in range(4):
        over_authority_case()
    assert len(sup.get(reverse("desk:approvals")).context["rows"]) == 5
    assert len(queries_of(sup, reverse("desk:approvals"))) == len(few)

    fin = login(finance)
    case_in(S.CLOSED)
    fin.get(reverse("desk:finance"))
    few = queries_of(fin, reverse("desk:finance"))
    for case in list(Case.objects.filter(state=S.AWAITING_APPROVAL)):
        services.case_approve_offer(case_id=case.pk, actor=supervisor)
        services.case_confirm(case_id=case.pk, actor=agent)
    assert len(fin.get(reverse("desk:finance")).context["rows"]) == 6
    assert len(queries_of(fin, reverse("desk:finance"))) == len(few)
