"""Two people click at once: row locks make exactly one win (PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from aftersales import services
from aftersales.errors import NotAllowed
from aftersales.models import Case, CaseEvent, CaseState, Compensation

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

S = CaseState


def race(*calls: Callable[[], object]) -> list[object]:
    """Run the calls in threads released together; return each result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_concurrent_approvals_exactly_one_wins(case_in, users):
    case = case_in(S.PENDING_REVIEW)
    results = race(
        lambda: services.case_approve(case_id=case.pk, actor=users["agent"]),
        lambda: services.case_approve(case_id=case.pk, actor=users["supervisor"]),
    )
    wins = [r for r in results if isinstance(r, Case)]
    losses = [r for r in results if isinstance(r, NotAllowed)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert CaseEvent.objects.filter(case=case, name="approve").count() == 1
    assert Case.objects.get(pk=case.pk).version == case.version + 1


def test_approve_racing_reject_leaves_one_consistent_outcome(case_in, users):
    case = case_in(S.PENDING_REVIEW)
    results = race(
        lambda: services.case_approve(case_id=case.pk, actor=users["agent"]),
        lambda: services.case_reject(case_id=case.pk, actor=users["supervisor"], reason="不符合"),
    )
    assert sum(isinstance(r, Case) for r in results) == 1, results
    final = Case.objects.get(pk=case.pk)
    assert final.state in (S.AWAITING_RETURN, S.REJECTED)
    assert CaseEvent.objects.filter(case=case, kind="transition").count() == 1


def test_two_concurrent_payouts_exactly_one_is_paid(case_in, users):
    comp = case_in(S.CLOSED).compensations.get()
    results = race(
        lambda: services.compensation_mark_paid(
            compensation_id=comp.pk, actor=users["finance"], payout_reference="WX-A"
        ),
        lambda: services.compensation_mark_paid(
            compensation_id=comp.pk, actor=users["finance"], payout_reference="WX-B"
        ),
    )
    paid = [r for r in results if isinstance(r, Compensation)]
    refused = [r for r in results if isinstance(r, NotAllowed)]
    assert len(paid) == 1 and len(refused) == 1, results
    comp.refresh_from_db()
    assert comp.state == "paid" and comp.payout_reference == paid[0].payout_reference
    assert CaseEvent.objects.filter(case=comp.case, name="compensation_mark_paid").count() == 1


def test_two_concurrent_opens_on_the_same_line_give_one_case(policy, order, users):
    line = order.lines.order_by("id").first()

    def open_one():
        return services.case_open(
            actor=users["agent"], order_id=order.pk, lines=[(line.pk, 1)], request_type="return_refund"
        )

    results = race(open_one, open_one)
    assert sum(isinstance(r, Case) for r in results) == 1, results
    assert sum(isinstance(r, ValidationError) for r in results) == 1, results
    assert Case.objects.count() == 1


def test_concurrent_opens_get_distinct_consecutive_numbers(policy, users):
    from tests.factories import OrderLineFactory

    lines = [OrderLineFactory() for _ in range(6)]
    results = race(
        *[
            (
                lambda line=line: services.case_open(
                    actor=users["agent"], order_id=line.order_id, lines=[(line.pk, 1)], request_type="refund_only"
                )
            )
            for line in lines
        ]
    )
    numbers = sorted(r.number for r in results if isinstance(r, Case))
    assert len(numbers) == 6, results
    assert [int(n[-6:]) for n in numbers] == list(range(1, 7))


def test_propose_racing_a_void_never_sends_a_voided_offer(case_in, users):
    case = case_in(S.COMPENSATION)
    comp = services.compensation_add(case_id=case.pk, actor=users["agent"], kind="cash", amount="50")
    results = race(
        lambda: services.case_propose(case_id=case.pk, actor=users["agent"]),
        lambda: services.compensation_void(compensation_id=comp.pk, actor=users["supervisor"], note="撤回"),
    )
    assert not any(isinstance(r, Exception) and not isinstance(r, NotAllowed | ValidationError) for r in results), (
        results
    )
    comp.refresh_from_db()
    final = Case.objects.get(pk=case.pk)
    # Either the offer went out with the compensation approved (and the void was
    # refused), or the void came first and the empty offer was refused.
    if final.state == S.AWAITING_CONFIRMATION:
        assert comp.state == "approved"
    else:
        assert final.state == S.COMPENSATION and comp.state == "voided"
    assert sum(isinstance(r, Exception) for r in results) == 1, results


def test_two_rollup_refreshes_at_once_count_each_day_once(case_in, users):
    from reports.models import DailyFigures
    from reports.rollups import refresh

    case_in(S.CLOSED)
    results = race(lambda: refresh(full=True), lambda: refresh(full=True), refresh)
    assert not [r for r in results if isinstance(r, Exception)], results
    rows = list(DailyFigures.objects.values_list("day", "channel", "category_id"))
    assert rows and len(rows) == len(set(rows))  # no day counted twice
    assert sum(DailyFigures.objects.values_list("opened", flat=True)) == 1
