"""The daily rollups the KPI dashboard, the cost funnel and the cost ratio read, and the waits stored on
transitions for the heatmap: written once, kept current, equal to a recount from the source rows."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.utils import timezone

from aftersales import services
from aftersales.automation.jobs import JOBS
from aftersales.demo import generator as demo
from aftersales.models import Case, CaseEvent
from reports import selectors
from reports.models import DailyCompensation, DailyFigures, DailyWaits, RollupState
from reports.rollups import fill_waits, ranges, refresh
from tests.factories import OrderFactory
from tests.reports.conftest import local
from tests.reports.test_figures import NOV

WAIT_FIELDS = ("wait_seconds", "wait_weekday", "wait_hour")


def _figures() -> list[tuple]:
    fields = [f.attname for f in DailyFigures._meta.concrete_fields if f.name != "id"]
    return sorted(DailyFigures.objects.values_list(*fields), key=repr)


def _compensation() -> list[tuple]:
    fields = [f.attname for f in DailyCompensation._meta.concrete_fields if f.name != "id"]
    return sorted(DailyCompensation.objects.values_list(*fields), key=repr)


def _daily_waits() -> list[tuple]:
    return sorted(DailyWaits.objects.values_list("day", "from_state", "weekday", "hour", "waits"), key=repr)


def _waits() -> dict[int, tuple]:
    return {
        pk: (round(wait, 3) if wait is not None else None, weekday, hour)
        for pk, wait, weekday, hour in CaseEvent.objects.filter(kind="transition").values_list("pk", *WAIT_FIELDS)
    }


@pytest.fixture
def demo_data(db, users):
    demo.seed(cases=120, seed=11, batch=50, log=lambda _: None)
    return Case.objects.all()


def test_the_services_store_each_transitions_wait_with_its_local_weekday_and_hour(november):
    c2 = november["cases"][1]
    approve = CaseEvent.objects.get(case=c2, name="approve")
    # C2 opened Thu 11-05 22:00 local and was approved at 06:00: eight hours, begun on a Thursday at 22
    assert (approve.wait_seconds, approve.wait_weekday, approve.wait_hour) == (8 * 3600.0, 4, 22)
    propose = CaseEvent.objects.get(case=c2, name="propose")
    assert (propose.wait_seconds, propose.wait_weekday, propose.wait_hour) == (3 * 3600.0, 5, 6)
    assert not CaseEvent.objects.filter(kind="transition", wait_seconds__isnull=True).exists()
    assert not CaseEvent.objects.exclude(kind="transition").filter(wait_seconds__isnull=False).exists()


@pytest.mark.parametrize("written_by", ["seed", "services"])
def test_stored_waits_equal_the_recount_from_the_timeline(request, written_by):
    request.getfixturevalue("demo_data" if written_by == "seed" else "november")
    stored = _waits()
    assert len(stored) >= (200 if written_by == "seed" else 9)
    assert all(wait is not None for wait, _d, _h in stored.values())
    CaseEvent.objects.update(wait_seconds=None, wait_weekday=None, wait_hour=None)
    assert fill_waits() == len(stored)
    assert _waits() == stored  # what was stored is what the timeline says


def test_the_first_read_counts_every_day_and_later_reads_only_the_changed_ones(
    november, users, django_assert_max_num_queries
):
    assert not RollupState.objects.exists()
    assert selectors.kpis(NOV)["overall"]["resolution_rate"] == D("66.7")  # 2 of 3: C3 is open
    first = RollupState.objects.get()
    assert first.days_refreshed >= 10 and DailyFigures.objects.exists()

    # nothing changed: the next read recounts nothing
    with django_assert_max_num_queries(13):  # the lock, four empty index scans, the state; four reads
        selectors.kpis(NOV)
    assert RollupState.objects.get().days_refreshed == 0

    # C3 (opened 11-10) is offered a coupon and the customer accepts: the next read sees it, recounting few days
    c3 = november["cases"][2]
    services.compensation_add(case_id=c3.pk, actor=users["supervisor"], kind="coupon", amount="10", at=local(11, 16, 9))
    services.case_propose(case_id=c3.pk, actor=users["supervisor"], at=local(11, 16, 10))
    services.case_confirm(case_id=c3.pk, actor=users["channel"], at=local(11, 17, 10))
    overall = selectors.kpis(NOV)["overall"]
    assert overall["resolution_rate"] == D("100.0")
    state = RollupState.objects.get()
    assert 1 <= state.days_refreshed <= 8  # 11-10 (the opening) to 11-16 (the coupon's proposal), one range
    funnel = {row["kind"]: row["stages"] for row in selectors.cost_funnel(NOV)}
    assert funnel["coupon"][1]["amount"] == D("10")  # approved: the coupon proposed on the 16th


def test_an_incremental_refresh_equals_a_full_recount(demo_data, users):
    assert refresh() > 30  # no job runner seen yet: the page counts every day itself
    case = Case.objects.filter(state="pending_review").order_by("pk").first()
    services.case_approve(case_id=case.pk, actor=users["agent"])
    closed = Case.objects.filter(state="closed", rated_at__isnull=True).order_by("pk").first()
    services.case_rate(case_id=closed.pk, actor=users["channel"], csat=2, nps=3)
    assert refresh() >= 1
    incremental = (_figures(), _compensation(), _daily_waits())
    assert incremental[2]
    assert refresh(full=True) > 30
    assert (_figures(), _compensation(), _daily_waits()) == incremental


def test_a_row_committed_after_a_refresh_is_counted_by_the_job(november):
    refresh()
    state = RollupState.objects.get()
    c3 = november["cases"][2]
    # As if a transaction stamped C3 before the refresh and committed after it: a reader's refresh cannot see it
    Case.objects.filter(pk=c3.pk).update(
        csat=1, nps=0, rated_at=local(11, 12, 9), updated_at=state.watermark - timedelta(seconds=30)
    )
    refresh()
    assert selectors.kpis(NOV)["overall"]["csat"] == D("4.00")  # still C1's 5 and C2's 3
    assert "rollups" in JOBS
    JOBS["rollups"].run(timezone.now())  # the job looks back further than its last run
    assert selectors.kpis(NOV)["overall"]["csat"] == D("3.00")  # (5 + 3 + 1) / 3


def test_a_transition_after_a_read_is_in_the_next_heatmap_even_on_a_past_day(november, users):
    from config.periods import Period

    c3 = november["cases"][2]  # a complaint opened Tue 11-10 23:30 local, in compensation
    period = Period(NOV.start, NOV.end)
    before = selectors.waiting_heatmap(period, "compensation")["grid"]
    services.compensation_add(case_id=c3.pk, actor=users["supervisor"], kind="coupon", amount="10", at=local(11, 16, 9))
    services.case_propose(case_id=c3.pk, actor=users["supervisor"], at=local(11, 16, 10))
    propose = CaseEvent.objects.get(case=c3, name="propose")
    cell = (propose.wait_weekday, propose.wait_hour)
    after = selectors.waiting_heatmap(period, "compensation")["grid"]
    assert after[cell]["count"] == before.get(cell, {"count": 0})["count"] + 1
    assert RollupState.objects.get().last_event >= propose.pk


def test_a_transition_committed_after_a_refresh_is_in_the_heatmap_once_the_job_ran(november, users):
    from config.periods import Period

    c3 = november["cases"][2]
    services.compensation_add(case_id=c3.pk, actor=users["supervisor"], kind="coupon", amount="10")
    services.case_propose(case_id=c3.pk, actor=users["supervisor"])  # now: its wait ends today
    propose = CaseEvent.objects.get(case=c3, name="propose")
    today = timezone.localdate()
    refresh()
    DailyWaits.objects.filter(day=today).delete()
    # As if the transition's transaction had committed after a refresh that counted newer events
    RollupState.objects.update(last_event=propose.pk + 100)
    refresh()
    assert not DailyWaits.objects.filter(day=today).exists()  # a reader's refresh cannot see it
    JOBS["rollups"].run(timezone.now())  # the job also looks at the transitions of the last minutes
    grid = selectors.waiting_heatmap(Period(today, today), "compensation")["grid"]
    assert grid[(propose.wait_weekday, propose.wait_hour)]["count"] == 1


def test_a_full_count_stores_missing_waits_first_and_counts_their_days(november):
    """A transition imported without its wait, alone on its day: the full count fills the wait, then counts the day."""
    from datetime import date

    from config.periods import Period

    propose = CaseEvent.objects.get(case=november["cases"][1], name="propose")
    CaseEvent.objects.filter(pk=propose.pk).update(
        created_at=local(12, 20, 9), wait_seconds=None, wait_weekday=None, wait_hour=None
    )
    refresh(full=True)
    assert DailyWaits.objects.filter(day=date(2026, 12, 20), from_state="compensation").exists()
    assert selectors.waiting_heatmap(Period(date(2026, 12, 20), date(2026, 12, 20)), "compensation")["grid"]


def test_the_backfill_command_and_the_seed_count_every_day(db, capsys):
    call_command("seed_demo", "--cases", "40", "--seed", "3")
    out = capsys.readouterr().out
    assert "Rollups:" in out and "days counted" in out
    seeded = (_figures(), _compensation(), _daily_waits())
    assert seeded[0] and seeded[1] and seeded[2]
    DailyFigures.objects.all().delete()
    DailyWaits.objects.all().delete()
    call_command("backfill_rollups")
    assert (_figures(), _compensation(), _daily_waits()) == seeded


def test_dirty_days_are_merged_into_few_ranges():
    from datetime import date

    days = [date(2026, 11, d) for d in (1, 2, 5, 20, 21)] + [date(2026, 12, 30)]
    assert ranges(days) == [
        (date(2026, 11, 1), date(2026, 11, 5)),
        (date(2026, 11, 20), date(2026, 11, 21)),
        (date(2026, 12, 30), date(2026, 12, 30)),
    ]
    assert ranges([]) == []


def test_a_page_leaves_many_changed_days_to_the_job(demo_data):
    from django.db.models import Sum

    from reports.rollups import READER_DAYS

    refresh(full=True)
    chosen, days = [], set()
    for case in Case.objects.exclude(request_type="complaint").order_by("opened_at"):
        day = timezone.localtime(case.opened_at).date()
        if day not in days:
            days.add(day)
            chosen.append(case.pk)
    assert len(chosen) > READER_DAYS
    before = DailyFigures.objects.aggregate(n=Sum("complaints"))["n"]
    # A change across many days at once (as a sweep or an import makes): the page does not recount them itself
    Case.objects.filter(pk__in=chosen).update(request_type="complaint", updated_at=timezone.now())
    assert refresh() == 0  # the job ran a moment ago (the full count): it is left to it
    assert DailyFigures.objects.aggregate(n=Sum("complaints"))["n"] == before
    JOBS["rollups"].run(timezone.now())  # the job does, within a minute
    assert DailyFigures.objects.aggregate(n=Sum("complaints"))["n"] == before + len(chosen)
    # Without a job runner (none seen for a while), a page recounts whatever changed
    RollupState.objects.update(settled=timezone.now() - timedelta(hours=1))
    Case.objects.filter(pk__in=chosen).update(request_type="return_refund", updated_at=timezone.now())
    assert refresh() >= len(chosen)
    assert DailyFigures.objects.aggregate(n=Sum("complaints"))["n"] == before


def test_an_order_moved_to_another_day_or_deleted_is_taken_off_its_old_day(november):
    from datetime import date

    from customers.models import Order, OrderDayChange

    refresh()
    o3 = Order.objects.get(number="DD20261120001")
    assert DailyFigures.objects.filter(day=date(2026, 11, 20), orders=1).exists()
    o3.placed_at = local(11, 21, 9)  # the channel corrected it
    o3.save()
    assert list(OrderDayChange.objects.values_list("day", flat=True)) == [date(2026, 11, 20)]
    refresh()
    assert not DailyFigures.objects.filter(day=date(2026, 11, 20)).exists()
    assert DailyFigures.objects.filter(day=date(2026, 11, 21), orders=1).exists()
    assert not OrderDayChange.objects.exists()  # read, recounted, gone
    o3.delete()  # no case on it
    refresh()
    assert not DailyFigures.objects.filter(day=date(2026, 11, 21)).exists()


def _came_back() -> dict[str, bool]:
    return dict(Case.objects.filter(state="closed").values_list("number", "came_back"))


def test_came_back_follows_the_customers_orders_after_their_closed_cases(november):
    """The repurchase rate reads ``Case.came_back``; the refresh keeps it for the customers whose cases or orders
    changed: an order placed after the case closed, one moved to another customer, one deleted."""
    from customers.models import Order

    c1, c2 = november["cases"][0], november["cases"][1]
    a, b = november["customers"]
    assert selectors.kpis(NOV)["overall"]["repurchase_rate"] == D("50.0")
    assert _came_back() == {c1.number: False, c2.number: True}  # B ordered on the 20th, after C2 closed
    o3 = Order.objects.get(number="DD20261120001")
    o3.customer = a  # the channel corrected whose order it was: now A came back and B did not
    o3.save()
    assert selectors.kpis(NOV)["overall"]["repurchase_rate"] == D("50.0")
    assert _came_back() == {c1.number: True, c2.number: False}
    o3.delete()
    assert selectors.kpis(NOV)["overall"]["repurchase_rate"] == D("0.0")
    assert _came_back() == {c1.number: False, c2.number: False}
    OrderFactory(number="DD20261125001", customer=b, placed_at=local(11, 25, 9))
    assert selectors.kpis(NOV)["overall"]["repurchase_rate"] == D("50.0")
    assert _came_back() == {c1.number: False, c2.number: True}
    # an order placed before the case closed is not coming back
    OrderFactory(number="DD20261105001", customer=a, placed_at=local(11, 5, 9))
    refresh()
    assert _came_back()[c1.number] is False


def test_a_full_recount_sets_came_back_as_the_refreshes_kept_it(november):
    refresh()
    kept = _came_back()
    Case.objects.update(came_back=False)  # as after an upgrade, before the first full count
    refresh(full=True)
    assert _came_back() == kept and any(kept.values())


def test_a_reopened_case_is_not_counted_as_came_back_until_it_closes_again(november, users):
    c2 = november["cases"][1]
    refresh()
    assert Case.objects.get(pk=c2.pk).came_back  # B ordered after it closed
    Case.objects.filter(pk=c2.pk).update(state="compensation", updated_at=timezone.now())  # as a reopening leaves it
    refresh()
    assert not Case.objects.get(pk=c2.pk).came_back


def test_a_full_recount_clears_days_that_have_no_rows_left(november):
    from datetime import date

    refresh()
    DailyFigures.objects.create(day=date(2020, 1, 1), channel="app", opened=99)  # a day nothing is on any more
    refresh(full=True)
    assert not DailyFigures.objects.filter(day=date(2020, 1, 1)).exists()
