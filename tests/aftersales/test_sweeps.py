"""Stage clocks and SLA targets, swept with a frozen clock: each deadline is acted on once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from aftersales import services
from aftersales.automation import jobs
from aftersales.models import Case, CaseEvent, CaseState, Compensation, Notification, Priority, SlaPolicy

S = CaseState


@pytest.fixture
def staff_emails(users):
    for role, user in users.items():
        user.email = f"{role}@shop.example.com"
        user.save(update_fields=["email"])
    return users


def events(case, name) -> int:
    return CaseEvent.objects.filter(case=case, name=name).count()


# -- review timeout → auto_approve -------------------------------------------------------
def test_a_request_past_its_review_timeout_is_approved_once(open_case):
    opened = timezone.now()
    case = open_case(at=opened)  # default policy: 48 hours to review
    with time_machine.travel(opened + timedelta(hours=47), tick=False):
        assert jobs.run_job("review_timeouts") == 0
    with time_machine.travel(opened + timedelta(hours=48, minutes=1), tick=False):
        assert jobs.run_job("review_timeouts") == 1
        assert jobs.run_job("review_timeouts") == 0
    case.refresh_from_db()
    assert case.state == S.AWAITING_RETURN and events(case, "auto_approve") == 1
    event = CaseEvent.objects.get(case=case, name="auto_approve")
    assert event.actor is None and "48" in event.note


def test_the_sweep_leaves_cases_someone_already_handled(open_case, agent):
    opened = timezone.now() - timedelta(hours=60)
    case = open_case(at=opened)
    services.case_reject(case_id=case.pk, actor=agent, reason="超出退货期")
    assert jobs.run_job("review_timeouts") == 0
    assert Case.objects.get(pk=case.pk).state == S.REJECTED


# -- confirmation timeout → auto_confirm -------------------------------------------------
def test_an_unanswered_offer_is_accepted_when_the_confirmation_deadline_passes(case_in):
    case = case_in(S.AWAITING_CONFIRMATION)
    with time_machine.travel(case.stage_due_at + timedelta(minutes=1), tick=False):
        assert jobs.run_job("confirmation_timeouts") == 1
    case.refresh_from_db()
    assert case.state == S.CLOSED and events(case, "auto_confirm") == 1
    assert Compensation.objects.get(case=case).payable


# -- goods never sent back → expire -----------------------------------------------------------
def test_goods_never_sent_back_cancel_the_case(case_in):
    case = case_in(S.AWAITING_RETURN)  # 7 days to send the goods back
    with time_machine.travel(case.stage_due_at - timedelta(hours=1), tick=False):
        assert jobs.run_job("return_expiry") == 0
    with time_machine.travel(case.stage_due_at + timedelta(hours=1), tick=False):
        assert jobs.run_job("return_expiry") == 1
    case.refresh_from_db()
    assert case.state == S.CANCELLED and events(case, "expire") == 1


def test_after_a_quick_refund_unreturned_goods_escalate_instead(case_in, order):
    order.customer.credit_score = 800
    order.customer.save()
    case = case_in(S.AWAITING_RETURN)
    assert case.quick_refund
    with time_machine.travel(case.stage_due_at + timedelta(hours=1), tick=False):
        jobs.run_job("return_expiry")
    case.refresh_from_db()
    assert case.state == S.ESCALATED and "极速退款" in CaseEvent.objects.get(case=case, name="escalate").note


# -- overdue stages without a transition → one alert ---------------------------------------------
def test_an_overdue_qc_stage_alerts_qc_and_supervisors_once(case_in, staff_emails):
    case = case_in(S.IN_QC)
    with time_machine.travel(case.stage_due_at + timedelta(minutes=5), tick=False):
        assert jobs.sweep_stage_alerts() == 1
        assert jobs.sweep_stage_alerts() == 0
    case.refresh_from_db()
    assert case.stage_alerted_at is not None and events(case, "stage_overdue") == 1
    recipients = set(Notification.objects.filter(case=case, kind="staff_alert").values_list("recipient", flat=True))
    assert recipients == {"qc@shop.example.com", "supervisor@shop.example.com"}


def test_a_new_stage_gets_its_own_alert(case_in, staff_emails, users):
    case = case_in(S.IN_QC)
    with time_machine.travel(case.stage_due_at + timedelta(minutes=5), tick=False):
        jobs.sweep_stage_alerts()
    case = services.case_inspect(
        case_id=case.pk,
        actor=users["qc"],
        grade="C",
        responsible_party="merchant",
        disposition="refurbish",
        findings="起球",
    )
    assert case.stage_alerted_at is None  # the clock restarted
    with time_machine.travel(case.stage_due_at + timedelta(minutes=5), tick=False):
        assert jobs.sweep_stage_alerts() == 1
    assert events(case, "stage_overdue") == 2


# -- SLA -----------------------------------------------------------------------------------------------
def test_first_response_target_missed_alerts_the_supervisors(open_case, staff_emails):
    case = open_case(urgency=5)  # red: 15 minutes to answer
    assert case.priority == Priority.RED
    assert case.first_response_due_at == case.opened_at + timedelta(minutes=15)
    with time_machine.travel(case.opened_at + timedelta(minutes=16), tick=False):
        assert jobs.sweep_sla() == 1
        assert jobs.sweep_sla() == 0
    case.refresh_from_db()
    assert case.first_response_breached_at is not None and events(case, "first_response_missed") == 1
    assert Notification.objects.filter(case=case, recipient="supervisor@shop.example.com").count() == 1


def test_a_first_response_in_time_is_no_breach(open_case, agent):
    case = open_case(urgency=5)
    services.case_add_note(case_id=case.pk, actor=agent, text="已收到，正在处理", to_customer=True)
    with time_machine.travel(case.opened_at + timedelta(minutes=16), tick=False):
        jobs.sweep_sla()
    assert Case.objects.get(pk=case.pk).first_response_breached_at is None


def test_resolution_breach_raises_to_red_escalates_when_configured_and_notifies(open_case, staff_emails, users):
    SlaPolicy.objects.filter(priority="green").update(resolution_minutes=60, breach_action="escalate")
    case = open_case(urgency=1)
    assert case.priority == Priority.GREEN
    services.case_add_note(case_id=case.pk, actor=users["agent"], text="处理中")  # answered in time
    with time_machine.travel(case.opened_at + timedelta(minutes=61), tick=False):
        assert jobs.sweep_sla() == 1
    case.refresh_from_db()
    assert case.sla_breached_at is not None and case.priority == Priority.RED
    assert case.state == S.ESCALATED and events(case, "sla_breach") == 1
    subjects = list(Notification.objects.filter(case=case, kind="staff_alert").values_list("subject", flat=True))
    assert any(case.number in s and "SLA" in s for s in subjects)


def test_no_resolution_breach_while_the_case_waits_on_the_customer(case_in):
    SlaPolicy.objects.filter(priority="green").update(resolution_minutes=60)
    case = case_in(S.AWAITING_RETURN, urgency=1)
    assert case.waiting_on == "customer"
    with time_machine.travel(case.opened_at + timedelta(hours=5), tick=False):
        jobs.sweep_sla()
    assert Case.objects.get(pk=case.pk).sla_breached_at is None


def test_triage_to_another_colour_brings_its_sla(open_case, supervisor):
    case = open_case(urgency=1)
    green_due = case.resolution_due_at
    case = services.case_update(case_id=case.pk, actor=supervisor, changes={"priority": "red"})
    assert case.resolution_due_at == case.opened_at + timedelta(minutes=120) < green_due


# -- several sweeps at once (PostgreSQL row locks) ---------------------------------------------------
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_the_same_time_approve_a_timed_out_case_once(open_case):
    from tests.aftersales.test_concurrency import race

    case = open_case(at=timezone.now() - timedelta(hours=49))
    sweep = jobs.JOBS["review_timeouts"].run
    results = race(sweep, sweep, sweep)
    assert all(isinstance(r, int) for r in results) and sum(results) == 1, results
    case.refresh_from_db()
    assert case.state == S.AWAITING_RETURN
    assert CaseEvent.objects.filter(case=case, name="auto_approve").count() == 1


# -- the runner ---------------------------------------------------------------------------------------------
def test_run_jobs_once_runs_every_job(open_case, capsys):
    from django.core.management import call_command

    open_case(at=timezone.now() - timedelta(hours=49))
    call_command("run_jobs", "--once")
    out = capsys.readouterr().out
    for name in jobs.JOBS:
        assert f"{name}:" in out
    assert "review_timeouts: 1" in out


def test_run_jobs_refuses_unknown_jobs():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="nightly"):
        call_command("run_jobs", "--once", "--only", "nightly")


def test_celery_beat_schedules_every_job():
    from config.celery import _beat_schedule

    schedule = _beat_schedule()
    assert {entry["args"][0] for entry in schedule.values()} == set(jobs.JOBS)
    assert all(entry["task"] == "aftersales.tasks.run_job" for entry in schedule.values())


# -- draining: a full batch runs again at once ----------------------------------------------
@pytest.fixture
def five_timed_out(order, policy, users, monkeypatch):
    """Five requests past their review deadline, with sweeps of two cases at a time."""
    from tests.factories import OrderFactory, OrderLineFactory

    monkeypatch.setattr(jobs, "BATCH", 2)
    opened = timezone.now() - timedelta(hours=49)
    cases = []
    for _ in range(5):
        line = OrderLineFactory(order=OrderFactory(customer=order.customer))
        cases.append(
            services.case_open(
                actor=users["channel"],
                order_id=line.order_id,
                lines=[(line.pk, 1)],
                request_type="refund_only",
                at=opened,
            )
        )
    return cases


def test_a_full_batch_says_so_and_the_runner_drains_the_backlog(five_timed_out):
    from io import StringIO

    from django.core.management import call_command

    first = jobs.run_job("review_timeouts")
    assert first == 2 and first.full
    out = StringIO()
    call_command("run_jobs", "--once", "--only", "review_timeouts", stdout=out)
    assert "review_timeouts: 3" in out.getvalue() and "2 batches" in out.getvalue()
    assert not Case.objects.filter(pk__in=[c.pk for c in five_timed_out], state=S.PENDING_REVIEW).exists()
    last = jobs.run_job("review_timeouts")
    assert last == 0 and not last.full


def test_the_celery_task_queues_the_next_batch_while_one_comes_back_full(five_timed_out, monkeypatch):
    from aftersales import tasks

    queued = []
    monkeypatch.setattr(tasks.run_job, "delay", lambda name: queued.append(name))
    assert tasks.run_job.run("review_timeouts") == 2
    assert queued == ["review_timeouts"]
    tasks.run_job.run("review_timeouts")
    assert tasks.run_job.run("review_timeouts") == 1  # the last one: not a full batch
    assert queued == ["review_timeouts", "review_timeouts"]


# -- a batch of cases in one transaction ------------------------------------------------------------------
@pytest.fixture
def five_timed_out_together(five_timed_out, monkeypatch):
    monkeypatch.setattr(jobs, "BATCH", 200)
    return five_timed_out


def test_one_case_failing_in_a_batch_undoes_that_case_alone(five_timed_out_together, monkeypatch):
    failing = five_timed_out_together[2]
    original = services.case_auto_approve

    def approve(*, case_id, at=None):
        case = original(case_id=case_id, at=at)  # its writes are made, then the service fails
        if case_id == failing.pk:
            raise RuntimeError("the mail server is down")
        return case

    monkeypatch.setattr(services, "case_auto_approve", approve)
    monkeypatch.setattr(jobs, "TIMEOUT_SWEEPS", {})  # (the registry's sweep holds the service it was built with)
    sweep = jobs.timeout_sweep(S.PENDING_REVIEW, jobs.STAGE_CLOCKS[S.PENDING_REVIEW])
    assert sweep() == 4
    states = dict(Case.objects.filter(pk__in=[c.pk for c in five_timed_out_together]).values_list("pk", "state"))
    assert states.pop(failing.pk) == S.PENDING_REVIEW
    assert set(states.values()) == {S.COMPENSATION}  # refunds only: approved straight to the offer
    assert events(failing, "auto_approve") == 0  # its event went with it


def test_a_batch_reads_the_rules_and_the_alerts_recipients_once(five_timed_out_together, staff_emails):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    Case.objects.filter(pk__in=[c.pk for c in five_timed_out_together]).update(
        state=S.IN_QC, stage_due_at=timezone.now() - timedelta(hours=1), stage_alerted_at=None, waiting_on="warehouse"
    )
    with CaptureQueriesContext(connection) as ctx:
        assert jobs.sweep_stage_alerts() == 5
    sqls = [q["sql"] for q in ctx.captured_queries]
    assert sum('FROM "aftersales_automationrule"' in sql for sql in sqls) == 1
    assert sum('FROM "aftersales_webhookendpoint"' in sql for sql in sqls) == 1
    # the five cases locked (and read with what the rules need) in one statement
    assert sum(sql.startswith('SELECT "aftersales_case"."id"') and '"customers_order"' in sql for sql in sqls) == 1
    assert Notification.objects.filter(kind="staff_alert").count() == 5 * 2  # QC and supervisor, each case


def test_a_batch_failing_as_a_whole_is_done_again_one_case_at_a_time(five_timed_out_together, monkeypatch):
    together = jobs._sweep_locked

    def failing_when_together(due, service, ids, **kwargs):
        if len(ids) > 1:
            raise RuntimeError("deferred check failed at commit")
        return together(due, service, ids, **kwargs)

    monkeypatch.setattr(jobs, "_sweep_locked", failing_when_together)
    assert jobs.run_job("review_timeouts") == 5
    assert not Case.objects.filter(pk__in=[c.pk for c in five_timed_out_together], state=S.PENDING_REVIEW).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_batch_skips_a_case_a_request_holds_and_does_the_others(five_timed_out_together):
    import threading

    from django.db import connection, transaction

    held = five_timed_out_together[0]
    locked, release = threading.Event(), threading.Event()

    def request_holding_the_case():
        try:
            with transaction.atomic():
                list(Case.objects.select_for_update().filter(pk=held.pk).values("pk"))
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=request_holding_the_case)
    thread.start()
    try:
        assert locked.wait(10)
        assert jobs.run_job("review_timeouts") == 4  # without waiting for the held one
    finally:
        release.set()
        thread.join(30)
    assert Case.objects.get(pk=held.pk).state == S.PENDING_REVIEW
    assert jobs.run_job("review_timeouts") == 1  # the next run takes it
