"""Background jobs: idempotent sweeps over due rows, and outbox delivery.

Every job is a plain function that can run at any time, as often as wanted,
by several workers at once: it selects due rows through an indexed deadline,
locks each one with ``SKIP LOCKED`` (another worker's row is skipped, not
waited for), lets the service re-check under the lock, and acts. A case past
its review timeout is therefore approved exactly once however many sweeps
run. The database is the truth; the runner only triggers.

The deadline sweeps come from the registry's stage clocks
(``aftersales.workflow.transitions.STAGE_CLOCKS``): a clock whose timeout is a
system transition gets a sweep of its own that runs that transition's service;
the clocks that only alert share ``stage_alerts``.

Runners: ``manage.py run_jobs`` (a loop, no broker), or the same functions as
Celery tasks (``aftersales.tasks``) scheduled by beat.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from aftersales import services
from aftersales.automation.deadlines import case_first_response_missed, case_sla_breach, case_stage_overdue
from aftersales.automation.risk import claimant_reasons, customers_facts
from aftersales.batch import read_once
from aftersales.errors import NotAllowed
from aftersales.models import (
    OPEN_STATES,
    Case,
    CaseState,
    Compensation,
    CompensationState,
    IdempotencyRecord,
    Policy,
    RiskThresholds,
    Settlement,
    Shipment,
    WaitingOn,
)
from aftersales.notifications.delivery import deliver_due
from aftersales.services import privacy
from aftersales.services._base import cases_locked_together
from aftersales.services.risk_flags import customer_flag_refresh
from aftersales.services.shipments import PARCEL_STATES
from aftersales.tracking.providers import TrackingError
from aftersales.tracking.providers import provider as tracking_provider
from aftersales.workflow.transitions import ALERT, STAGE_CLOCKS, TRANSITIONS, StageClock
from customers.models import CustomerRiskFlag

log = logging.getLogger(__name__)
S = CaseState
BATCH = 200


class Done(int):
    """How many rows a job handled, and whether its batch came back full (more are due: run again at once)."""

    full: bool = False

    def __new__(cls, value: int = 0, *, full: bool = False):
        done = super().__new__(cls, value)
        done.full = full
        return done

    def __add__(self, other):
        return Done(int(self) + int(other), full=self.full or getattr(other, "full", False))


#: Cases of a sweep handled in one transaction (each in its own savepoint): locked together, committed once.
TOGETHER = 50


def _sweep(
    due: Q,
    service: Callable[..., object],
    *,
    at: datetime,
    limit: int | None = None,
    order: str = "stage_due_at",
    model=Case,
    key: str = "case_id",
) -> Done:
    """Run ``service(<key>=…, at=at)`` once for each row of ``model`` matching ``due``.

    Cases are taken ``TOGETHER`` at a time: one transaction locks those still due (skipping any a request or
    another sweep holds, without waiting) in one statement, runs the service on each in its own savepoint (a
    refusal or a failure undoes that case alone) with the rules and the alerts' recipients read once
    (``aftersales.batch``), and commits once. A compensation's or a parcel's sweep locks their cases the same way,
    first, as the services do (it never waits on a request that holds the case and wants the compensation).
    """
    limit = limit or BATCH
    ids = list(
        model.objects.filter(due)
        .order_by(order, "id")
        .values_list("pk", "case_id" if model is not Case else "pk")[:limit]
    )
    done = 0
    for start in range(0, len(ids), TOGETHER):
        done += _sweep_together(due, service, ids[start : start + TOGETHER], at=at, model=model, key=key)
    # A full batch with progress: more may be due. (Without progress — every row failing or taken — the runner
    # waits its interval instead of spinning on the same rows.)
    return Done(done, full=len(ids) == limit and done > 0)


def _sweep_together(due: Q, service: Callable[..., object], ids: list[tuple], *, at: datetime, model, key: str) -> int:
    """One transaction for ``ids``; should it fail as a whole (at its commit: a deferred check), each row again in
    a transaction of its own, so one bad row does not hold back the others."""
    try:
        return _sweep_locked(due, service, ids, at=at, model=model, key=key)
    except Exception:
        name = getattr(service, "__name__", service)
        if len(ids) == 1:
            log.exception("%s failed on %s %s", name, key, ids[0][0])
            return 0
        log.exception("%s: a batch of %s failed as a whole; one at a time", name, len(ids))
        return sum(_sweep_together(due, service, [one], at=at, model=model, key=key) for one in ids)


def _sweep_locked(due: Q, service: Callable[..., object], ids: list[tuple], *, at: datetime, model, key: str) -> int:
    done = 0
    case_due = due if model is Case else Q()
    with (
        transaction.atomic(),
        read_once(),
        cases_locked_together(case_due, [case_id for _pk, case_id in ids]) as locked,
    ):
        locked = set(locked)
        for pk, case_id in ids:
            if case_id not in locked:
                continue  # taken by a request or another sweep, or no longer due
            try:
                with transaction.atomic():
                    if model is not Case and not model.objects.filter(due, pk=pk).exists():
                        continue
                    service(**{key: pk}, at=at)
                done += 1
            except NotAllowed:
                continue  # the service's own re-check: already handled
            except Exception:
                log.exception("%s failed on %s %s", getattr(service, "__name__", service), key, pk)
    return done


def timeout_sweep(state: str, clock: StageClock) -> Callable[..., int]:
    """The sweep of a stage clock whose timeout is a system transition: its service, once per case past the deadline."""
    action = TRANSITIONS[clock.on_timeout]
    service = getattr(services, action.service)

    def sweep(at: datetime | None = None) -> int:
        at = at or timezone.now()
        return _sweep(Q(state=state, stage_due_at__lte=at), service, at=at)

    sweep.__name__ = sweep.__qualname__ = f"sweep_{clock.sweep}"
    sweep.__doc__ = f"“{S(state).label}” past its deadline: {action.name} ({action.service})."
    return sweep


#: One sweep per clock with a timeout transition (auto_approve, expire, auto_confirm …), read from the registry.
TIMEOUT_SWEEPS = {
    clock.sweep: (timeout_sweep(state, clock), clock.every)
    for state, clock in STAGE_CLOCKS.items()
    if clock.on_timeout != ALERT
}


def sweep_stage_alerts(at: datetime | None = None) -> int:
    """Overdue stages without a timeout transition (QC, the offer, escalations) alert once."""
    at = at or timezone.now()
    alerting = [state for state, clock in STAGE_CLOCKS.items() if clock.on_timeout == ALERT]
    due = Q(state__in=alerting, stage_due_at__lte=at, stage_alerted_at__isnull=True)
    return _sweep(due, case_stage_overdue, at=at)


def sweep_sla(at: datetime | None = None) -> int:
    """First-response and resolution targets missed: marked, raised, alerted (once each)."""
    at = at or timezone.now()
    first = Q(
        first_response_at__isnull=True,
        first_response_breached_at__isnull=True,
        first_response_due_at__lte=at,
        state__in=OPEN_STATES,
    )
    resolution = Q(sla_breached_at__isnull=True, closed_at__isnull=True, resolution_due_at__lte=at) & ~Q(
        waiting_on=WaitingOn.CUSTOMER
    )
    return _sweep(first, case_first_response_missed, at=at, order="first_response_due_at") + _sweep(
        resolution, case_sla_breach, at=at, order="resolution_due_at"
    )


def sweep_settlements(at: datetime | None = None) -> int:
    """Refunds the channel has not settled within the policy's target: finance is alerted (once each)."""
    at = at or timezone.now()
    due = Q(
        settlement=Settlement.CHANNEL,
        state=CompensationState.APPROVED,
        settlement_alerted_at__isnull=True,
        settlement_due_at__lte=at,
    )
    return _sweep(
        due,
        services.compensation_settlement_overdue,
        at=at,
        order="settlement_due_at",
        model=Compensation,
        key="compensation_id",
    )


def sweep_claimant_flags(at: datetime | None = None, *, since: timedelta = timedelta(days=1)) -> int:
    """Re-check the customers who opened a case recently against the claimant thresholds."""
    at = at or timezone.now()
    customer_ids = (
        Case.objects.filter(opened_at__gt=at - since, opened_at__lte=at)
        .order_by()
        .values_list("customer_id", flat=True)
        .distinct()
    )
    thresholds = RiskThresholds.current()
    ids = list(customer_ids[:5000])
    # Screened together first: a customer who reaches no threshold is left as they are by the refresh (it never
    # lowers a flag), so only the others are refreshed one by one, under their lock, with their facts read again.
    facts = customers_facts(ids, at=at)
    reasons = {pk: claimant_reasons(facts[pk], thresholds) for pk in ids}
    active = dict(
        CustomerRiskFlag.objects.filter(
            customer_id__in=ids, kind=CustomerRiskFlag.Kind.PROFESSIONAL_CLAIMANT, active=True
        ).values_list("customer_id", "reasons")
    )
    # Nothing to raise or update: no threshold reached, or flagged already for the same reasons.
    settled = [pk for pk in ids if not reasons[pk] or active.get(pk) == reasons[pk]]
    flagged = sum(1 for pk in settled if pk in active)
    for customer_id in sorted(set(ids) - set(settled)):
        try:
            if customer_flag_refresh(customer_id=customer_id, at=at, thresholds=thresholds) is not None:
                flagged += 1
        except Exception:
            log.exception("claimant check failed for customer %s", customer_id)
    return flagged


def _on_its_way() -> Q:
    """Parcels still travelling on cases that still wait for them (not received, not cancelled or finished)."""
    return Q(active=True, delivered_at__isnull=True, case__state__in=PARCEL_STATES)


def sweep_stuck_parcels(at: datetime | None = None) -> int:
    """Parcels on their way without news for their policy's ``parcel_stuck_days``: alerted once each."""
    at = at or timezone.now()
    fewest = Policy.history.aggregate(days=Min("parcel_stuck_days"))["days"] or 1  # over every pinned version
    due = _on_its_way() & Q(stuck_alerted_at__isnull=True, quiet_since__lte=at - timedelta(days=max(1, fewest)))
    return _sweep(due, services.shipment_stuck, at=at, order="quiet_since", model=Shipment, key="shipment_id")


#: Parcels asked about (or subscribed) in one run of ``track_parcels``.
TRACKING_BATCH = 50


def track_parcels(at: datetime | None = None) -> int:
    """With a tracking provider set up: subscribe new parcels for its pushes, and ask about the quiet ones.

    The provider is called outside any transaction; what it says is recorded by ``shipment_track`` (idempotent).
    A parcel the provider refused is tried again after ``TRACKING_PULL_HOURS``, so refusals never crowd out new
    parcels.
    """
    at = at or timezone.now()
    tracker = tracking_provider()
    if tracker is None:
        return 0
    trackable = _on_its_way() & Q(carrier__in=list(tracker.carriers))
    quiet = at - timedelta(hours=settings.TRACKING_PULL_HOURS)
    not_asked_lately = Q(polled_at__isnull=True) | Q(polled_at__lte=quiet)
    done = 0
    if settings.TRACKING_CALLBACK_URL and getattr(tracker, "salt", True):
        new = (
            Shipment.objects.filter(trackable, not_asked_lately, subscribed_at__isnull=True)
            .select_related("case__customer")
            .order_by("id")[:TRACKING_BATCH]
        )
        for shipment in list(new):
            try:
                tracker.subscribe(
                    carrier=shipment.carrier,
                    number=shipment.tracking_number,
                    callback_url=settings.TRACKING_CALLBACK_URL,
                    phone=shipment.case.customer.phone,
                )
            except TrackingError as exc:
                log.warning("tracking subscription of %s failed: %s", shipment, exc)
                Shipment.objects.filter(pk=shipment.pk).update(polled_at=at)  # not again before the next window
                continue
            Shipment.objects.filter(pk=shipment.pk).update(subscribed_at=at)
            done += 1
    asked = (
        Shipment.objects.filter(trackable, not_asked_lately, quiet_since__lte=quiet)
        .select_related("case__customer")
        .order_by("quiet_since", "id")[:TRACKING_BATCH]
    )
    for shipment in list(asked):
        Shipment.objects.filter(pk=shipment.pk).update(polled_at=at)
        try:
            tracking = tracker.query(
                carrier=shipment.carrier, number=shipment.tracking_number, phone=shipment.case.customer.phone
            )
            services.shipment_track(shipment_id=shipment.pk, tracking=tracking, at=at)
        except (TrackingError, NotAllowed) as exc:
            log.info("tracking query of %s: %s", shipment, exc)
            continue
        done += 1
    return done


#: How long a channel's Idempotency-Key keeps answering with the case it created.
IDEMPOTENCY_KEEP = timedelta(days=30)


def purge_idempotency_records(at: datetime | None = None) -> int:
    """Forget Idempotency-Keys older than 30 days (a retry comes within minutes; the table stays small)."""
    at = at or timezone.now()
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=at - IDEMPOTENCY_KEEP).delete()
    return deleted


def anonymise_expired_customers(at: datetime | None = None) -> Done:
    """Customers past the personal-data retention period (``PERSONAL_DATA_RETENTION_MONTHS``) are anonymised."""
    count, full = privacy.anonymise_expired_customers(at=at)
    return Done(count, full=full)


def deliver_notifications(at: datetime | None = None) -> int:
    outcome = deliver_due(at=at)
    return outcome["sent"]


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[..., int]
    every: int  # seconds


#: Every background job by name; other apps add theirs with ``register`` (reports does, from its ``ready``).
JOBS: dict[str, Job] = {
    job.name: job
    for job in [
        *(Job(name, sweep, every) for name, (sweep, every) in TIMEOUT_SWEEPS.items()),
        Job("stage_alerts", sweep_stage_alerts, 60),
        Job("sla", sweep_sla, 60),
        Job("settlements", sweep_settlements, 600),
        Job("stuck_parcels", sweep_stuck_parcels, 3600),
        Job("track_parcels", track_parcels, 600),
        Job("claimant_flags", sweep_claimant_flags, 3600),
        Job("idempotency_purge", purge_idempotency_records, 86400),
        Job("retention", anonymise_expired_customers, 3600),
        Job("deliver_notifications", deliver_notifications, 10),
    ]
}


def register(job: Job) -> Job:
    """Add a job of another app (run by ``run_jobs`` and scheduled by Celery beat like the others)."""
    if job.name in JOBS and JOBS[job.name] != job:
        raise ValueError(f"Two jobs are called {job.name!r}.")
    JOBS[job.name] = job
    return job


def run_job(name: str, at: datetime | None = None) -> int:
    return JOBS[name].run(at)
