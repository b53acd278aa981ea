"""Agents claim unassigned cases from their queues; two at once, one gets it."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from aftersales import services
from aftersales.errors import NotAllowed
from aftersales.models import Case, CaseEvent, CaseState
from tests.factories import QueueFactory, UserFactory

S = CaseState


def test_an_agent_claims_an_unassigned_case(open_case, agent):
    case = open_case()
    claimed = services.case_claim(case_id=case.pk, actor=agent)
    assert claimed.assignee == agent
    event = CaseEvent.objects.filter(case=case).latest("id")
    assert event.name == "claim" and event.actor == agent and event.kind == CaseEvent.Kind.ASSIGNMENT


def test_a_claimed_case_cannot_be_claimed_again(open_case, agent):
    other = UserFactory(username="agent2", roles=["agent"])
    case = open_case()
    services.case_claim(case_id=case.pk, actor=other)
    with pytest.raises(NotAllowed, match="agent2"):
        services.case_claim(case_id=case.pk, actor=agent)
    with pytest.raises(NotAllowed, match="已由您处理"):
        services.case_claim(case_id=case.pk, actor=other)
    assert Case.objects.get(pk=case.pk).assignee == other


def test_cases_outside_the_agents_queues_cannot_be_claimed(open_case, agent):
    case = open_case()
    Case.objects.filter(pk=case.pk).update(queue=QueueFactory(code="vip", name="VIP"))
    with pytest.raises(PermissionDenied):
        services.case_claim(case_id=case.pk, actor=agent)


def test_qc_and_finance_cannot_claim(open_case, qc, finance):
    case = open_case()
    for user in (qc, finance):
        with pytest.raises(PermissionDenied):
            services.case_claim(case_id=case.pk, actor=user)


def test_finished_cases_cannot_be_claimed(case_in, agent):
    case = case_in(S.CANCELLED)
    with pytest.raises(NotAllowed, match="已完结"):
        services.case_claim(case_id=case.pk, actor=agent)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_agents_claiming_at_once_one_gets_it(open_case, agent):
    from tests.aftersales.test_concurrency import race

    other = UserFactory(username="agent2", roles=["agent"])
    case = open_case()
    results = race(
        lambda: services.case_claim(case_id=case.pk, actor=agent),
        lambda: services.case_claim(case_id=case.pk, actor=other),
    )
    wins = [r for r in results if isinstance(r, Case)]
    assert len(wins) == 1 and sum(isinstance(r, NotAllowed) for r in results) == 1, results
    assert Case.objects.get(pk=case.pk).assignee == wins[0].assignee
    assert CaseEvent.objects.filter(case=case, name="claim").count() == 1
