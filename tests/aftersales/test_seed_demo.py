"""``seed_demo`` and ``create_demo_users``: the demo data is what the workflow could have produced."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Sum
from django.utils import timezone

from aftersales import services
from aftersales.demo import generator as demo
from aftersales.demo.reference import ensure_reference_data
from aftersales.demo.writers import CopyWriter
from aftersales.models import (
    FINAL_STATES,
    GOODS_RETURN_TYPES,
    LIVE_COMPENSATION_STATES,
    OPEN_STATES,
    OUTBOUND_STATES,
    AgentProfile,
    Case,
    CaseEvent,
    CaseLine,
    CaseNumberSequence,
    CaseState,
    Compensation,
    CompensationState,
    Inspection,
    Policy,
    ProblemCategory,
    Queue,
    SlaPolicy,
)
from aftersales.permissions import AGENT, FINANCE, QC, ROLES, SUPERVISOR, sync_role_groups
from aftersales.services.numbers import format_case_number
from aftersales.workflow.policy import initial_priority
from aftersales.workflow.transitions import stage_clock
from customers.models import Customer, Order, OrderLine, ProductCategory
from tests.conftest import ON_POSTGRES
from tests.factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db

S = CaseState
CS = CompensationState
N = 120
NUMBER = re.compile(r"AS(\d{8})-(\d{6})")
#: Legal transitions of docs/workflow.md: name → (sources, targets)
LEGAL = {
    "approve": ({S.PENDING_REVIEW}, {S.AWAITING_RETURN, S.COMPENSATION}),
    "auto_approve": ({S.PENDING_REVIEW}, {S.AWAITING_RETURN, S.COMPENSATION}),
    "reject": ({S.PENDING_REVIEW}, {S.REJECTED}),
    "ship_return": ({S.AWAITING_RETURN, S.RETURN_SHIPPED}, {S.RETURN_SHIPPED}),
    "receive": ({S.AWAITING_RETURN, S.RETURN_SHIPPED}, {S.IN_QC}),
    "inspect": ({S.IN_QC}, {S.COMPENSATION, S.REJECTED}),
    "propose": ({S.COMPENSATION}, {S.AWAITING_CONFIRMATION}),
    "submit_offer": ({S.COMPENSATION}, {S.AWAITING_APPROVAL}),
    "approve_offer": ({S.AWAITING_APPROVAL}, {S.AWAITING_CONFIRMATION}),
    "return_offer": ({S.AWAITING_APPROVAL}, {S.COMPENSATION}),
    "confirm": ({S.AWAITING_CONFIRMATION}, {S.CLOSED, S.AWAITING_DISPATCH}),
    "auto_confirm": ({S.AWAITING_CONFIRMATION}, {S.CLOSED, S.AWAITING_DISPATCH}),
    "send_goods": ({S.AWAITING_DISPATCH}, {S.AWAITING_DELIVERY}),
    "deliver": ({S.AWAITING_DELIVERY}, {S.AWAITING_RECEIPT}),
    "confirm_receipt": ({S.AWAITING_DELIVERY, S.AWAITING_RECEIPT}, {S.CLOSED}),
    "cancel": ({S.PENDING_REVIEW, S.AWAITING_RETURN, S.RETURN_SHIPPED}, {S.CANCELLED}),
    "escalate": (set(OPEN_STATES) - {S.ESCALATED}, {S.ESCALATED}),
    "resolve_escalation": ({S.ESCALATED}, {S.COMPENSATION, S.CLOSED, S.REJECTED}),
}
#: Case timestamp fields and the transitions that set them (the latest one counts).
STAMPS = {
    "approved_at": {"approve", "auto_approve"},
    "received_at": {"receive"},
    "inspected_at": {"inspect"},
    "escalated_at": {"escalate"},
}


def seed_demo(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


#: How the rows are written: bulk_create on SQLite; on PostgreSQL COPY (default), and the alternatives.
WRITER_OPTIONS = [pytest.param([], id="default")]
if ON_POSTGRES:
    WRITER_OPTIONS += [
        pytest.param(["--no-copy"], id="bulk_create"),
        pytest.param(["--row-fk-checks"], id="copy-row-fk-checks"),
    ]


@pytest.fixture(params=WRITER_OPTIONS)
def seeded(request, db):
    seed_demo("--cases", str(N), *request.param)
    return Case.objects.all()


def _events_by_case() -> dict[int, list[CaseEvent]]:
    events = defaultdict(list)
    for event in CaseEvent.objects.order_by("case_id", "created_at", "id"):
        events[event.case_id].append(event)
    return events


def _role_ids(role: str) -> set[int]:
    return set(get_user_model().objects.filter(groups__name=role).values_list("pk", flat=True))


# --------------------------------------------------------------------------
# One run
# --------------------------------------------------------------------------
def test_seed_creates_the_reference_data_and_scaled_bulk_data(seeded):
    assert seeded.count() == N
    assert set(ProductCategory.objects.values_list("code", flat=True)) >= {
        "apparel",
        "digital",
        "mother_baby",
        "beauty",
        "home",
        "food",
    }
    leaves = ProblemCategory.objects.filter(level=3)
    assert leaves.count() == 19
    assert ProblemCategory.objects.get(name="起球").full_name == "质量问题 › 面料 › 起球"
    assert ProblemCategory.objects.get(name="偏小").attribution == "customer"
    assert set(Queue.objects.values_list("code", "purpose")) >= {
        ("general", "general"),
        ("vip", "vip"),
        ("crisis", "crisis"),
        ("escalation", "escalation"),
    }
    assert Queue.objects.get(is_default=True).code == "general"
    assert Policy.objects.get(channel="live_stream", active=True).review_timeout_hours == 24
    for policy in Policy.objects.all():
        assert policy.history.exists()
    for role, count in {AGENT: 10, QC: 3, SUPERVISOR: 2, FINANCE: 2}.items():
        staff = get_user_model().objects.filter(groups__name=role)
        assert staff.count() == count
        assert not any(user.has_usable_password() for user in staff)
    assert AgentProfile.objects.count() == 10
    assert AgentProfile.objects.filter(authority_limit__isnull=False).exists()
    assert Queue.objects.get(code="general").members.filter(groups__name=AGENT).count() == 10

    # The shop's orders of shop_orders.csv came in through the import path: customers found by their channel id.
    imported = Order.objects.filter(customer__external_id__gt="")
    assert imported.count() == 8 and not imported.filter(cases__isnull=False).exists()
    assert imported.filter(channel="app", payment_transaction_id__startswith="4200").exists()
    assert max(imported.values_list("placed_at", flat=True)) < timezone.now() - timezone.timedelta(days=1)
    generated = Customer.objects.filter(external_id="")
    assert generated.count() == 80  # N/1.5: about one case a year per customer who claims at all
    # each case on its own order, and 1.5 orders nobody complained about
    assert Order.objects.exclude(pk__in=imported).count() == N * 5 // 2
    assert Customer.objects.filter(tier="vip").exists()
    assert not Customer.objects.exclude(phone__regex=r"^1[3-9]\d{9}$").exists()
    assert not Customer.objects.exclude(credit_score__range=(350, 950)).exists()
    assert set(Order.objects.values_list("channel", flat=True)) == {"app", "mini_program", "live_stream", "web"}
    assert not Order.objects.exclude(pk__in=imported).exclude(number__regex=r"^DD\d{14}$").exists()
    lines_per_order = Order.objects.annotate(n=Count("lines")).values_list("n", flat=True)
    assert set(lines_per_order) <= {1, 2, 3}
    # customers were there before their first order
    assert not generated.filter(orders__placed_at__lt=F("created_at")).exists()


def test_every_state_appears_and_cases_are_consistent_with_their_order(seeded):
    states = Counter(seeded.values_list("state", flat=True))
    assert set(states) == set(S.values)
    assert states[S.CLOSED] > N / 3
    assert len(set(seeded.values_list("request_type", flat=True))) == 6
    # each case on its own order, of its customer and channel, with a level-3 category
    assert seeded.values("order").distinct().count() == N
    assert not seeded.exclude(customer=F("order__customer")).exists()
    assert not seeded.exclude(channel=F("order__channel")).exists()
    assert not seeded.exclude(category__level=3).exists()
    assert not seeded.filter(reason="").exists()
    now = timezone.now()
    sla = dict(SlaPolicy.objects.values_list("priority", "first_response_minutes"))
    assert seeded.filter(first_response_due_at__isnull=False).count() == N
    for case in seeded.select_related("customer", "order", "policy_version", "queue"):
        assert case.policy_version.id == case.policy_id
        assert case.policy_version == case.policy.history.latest()
        expected_policy = case.channel if case.channel in ("live_stream", "app") else ""
        assert case.policy.channel == expected_policy
        assert case.order.placed_at < case.opened_at <= now
        if case.order.delivered_at is not None:
            assert case.order.placed_at <= case.order.delivered_at < case.opened_at
        claim = services._base.case_claim_value(case)
        assert case.priority == initial_priority(
            urgency=case.urgency, is_vip=case.customer.is_vip, claim_value=claim, request_type=case.request_type
        )
        if case.first_response_due_at is not None:  # SLA deadlines as case_open sets them
            assert case.first_response_due_at - case.opened_at == timedelta(minutes=sla[case.priority])
        if case.customer.is_vip and case.escalated_at is None:
            assert case.queue.code == "vip"
        if case.state in FINAL_STATES:
            assert case.closed_at is not None and case.closed_at <= now
            assert case.opened_at >= now - timezone.timedelta(days=366)
        else:
            assert case.closed_at is None
            # opened recently: within 16 days, or 30 when goods went back and out again (exchange, a replacement)
            days = 30 if case.state in OUTBOUND_STATES else 16
            assert case.opened_at >= now - timezone.timedelta(days=days)
        if case.state == S.REJECTED:
            assert case.reject_reason
        if case.csat is not None:
            assert case.state == S.CLOSED and 1 <= case.csat <= 5 and 0 <= case.nps <= 10
            assert case.closed_at < case.rated_at <= now
    assert seeded.filter(csat__isnull=False).exists()
    open_cases = seeded.filter(state__in=OPEN_STATES).exclude(state=S.PENDING_REVIEW)
    assert open_cases.filter(assignee__isnull=False).count() > open_cases.count() / 2


def assert_legal_histories(seeded):
    """Each case's events are a legal path of docs/workflow.md to its state, matching its own fields."""
    events = _events_by_case()
    channel_ids = _role_ids("channel")
    working_ids = _role_ids(AGENT) | _role_ids(QC) | _role_ids(SUPERVISOR)
    names = Counter()
    for case in seeded.select_related("policy_version"):
        history = events[case.pk]
        opened = history[0]
        assert (opened.kind, opened.name, opened.from_state, opened.to_state) == (
            "opened",
            "open",
            "",
            S.PENDING_REVIEW,
        )
        assert opened.created_at == case.opened_at
        assert Decimal(opened.data["claim_value"]) == services._base.case_claim_value(case)
        assert sorted(map(tuple, opened.data["lines"])) == sorted(case.lines.values_list("order_line_id", "quantity"))
        assert opened.actor_id in working_ids | channel_ids
        times = [event.created_at for event in history]
        assert times == sorted(times)
        transitions = [event for event in history if event.kind == "transition"]
        state, last_at = S.PENDING_REVIEW, opened.created_at
        for event in transitions:
            names[event.name] += 1
            sources, targets = LEGAL[event.name]
            assert event.from_state == state, (case.number, event.name)
            assert event.from_state in sources and event.to_state in targets, (case.number, event.name)
            assert event.created_at > last_at
            if event.name in ("auto_approve", "auto_confirm", "deliver", "auto_confirm_receipt"):
                assert event.actor_id is None
            elif event.name not in ("escalate",):
                assert event.actor_id is not None
            state, last_at = event.to_state, event.created_at
        assert state == case.state, case.number
        # the case's own timestamps match its history
        for field, stamped_by in STAMPS.items():
            stamped = [e.created_at for e in transitions if e.name in stamped_by]
            assert getattr(case, field) == (stamped[-1] if stamped else None), (case.number, field)
        proposals = [e.created_at for e in transitions if e.name in ("propose", "approve_offer")]
        assert case.proposed_at == (proposals[-1] if proposals else None), case.number
        final_at = transitions[-1].created_at if transitions else None
        if case.state in FINAL_STATES:
            assert case.closed_at == final_at
            assert (case.waiting_on, case.stage_due_at) == ("", None)
        else:
            assert (case.waiting_on, case.stage_due_at) == stage_clock(case.state, case.policy_version, last_at)
        if case.state == S.ESCALATED or case.escalated_at:
            escalate = [e for e in transitions if e.name == "escalate"][-1]
            assert case.escalated_from == escalate.from_state
        first_working = [e.created_at for e in history[1:] if e.actor_id in working_ids]
        if case.first_response_at is not None:
            assert case.opened_at < case.first_response_at
            if case.closed_at:
                assert case.first_response_at <= case.closed_at
            if first_working:
                assert case.first_response_at <= first_working[0]
        elif first_working:
            pytest.fail(f"{case.number}: no first response despite staff actions")
        if case.state == S.CANCELLED:
            assert transitions[-1].from_state in (S.PENDING_REVIEW, S.AWAITING_RETURN)
        if case.request_type not in GOODS_RETURN_TYPES:
            assert not {"receive", "inspect"} & {e.name for e in transitions}
    return names


def test_each_case_history_is_a_legal_path_to_its_state(seeded):
    names = assert_legal_histories(seeded)
    from aftersales.models import EventName
    from aftersales.workflow.transitions import TRANSITIONS

    for kind, name in CaseEvent.objects.values_list("kind", "name").distinct():
        if kind == CaseEvent.Kind.TRANSITION:
            assert TRANSITIONS.get(name) is not None and TRANSITIONS.get(name).is_transition, name
        else:
            assert name in EventName.values, (kind, name)
    assert names["approve"] and names["auto_approve"] and names["confirm"] and names["auto_confirm"]
    assert names["escalate"] and names["reject"] and names["cancel"] and names["inspect"]
    now = timezone.now()
    assert not CaseEvent.objects.filter(created_at__gt=now).exists()
    assert not Compensation.objects.filter(paid_at__gt=now).exists()


def test_case_numbers_are_unique_readable_and_continue_the_daily_counters(seeded):
    tz = ZoneInfo("Asia/Shanghai")
    numbers = list(seeded.values_list("number", "opened_at"))
    assert len({number for number, _ in numbers}) == N
    per_day = defaultdict(list)
    for number, opened_at in numbers:
        match = NUMBER.fullmatch(number)
        assert match, number
        day = opened_at.astimezone(tz).date()
        assert number == format_case_number(day, int(match.group(2)))
        per_day[day].append(int(match.group(2)))
    sequences = dict(CaseNumberSequence.objects.values_list("day", "last_value"))
    for day, values in per_day.items():
        assert sorted(values) == list(range(1, len(values) + 1))  # a fresh database: 1, 2, 3 …
        assert sequences[day] == max(values)


def test_case_lines_stay_within_the_bought_quantities(seeded):
    assert not CaseLine.objects.filter(quantity__gt=F("order_line__quantity")).exists()
    claimed = OrderLine.objects.annotate(claimed=Sum("case_lines__quantity")).filter(claimed__gt=F("quantity"))
    assert not claimed.exists()
    assert not CaseLine.objects.exclude(order_line__order=F("case__order")).exists()
    per_case = Counter(CaseLine.objects.values_list("case_id", flat=True))
    assert set(per_case.values()) <= {1, 2} and len(per_case) == N


def test_compensations_match_the_case_state_and_never_refund_more_than_the_goods(seeded):
    finance_ids, channel_ids = _role_ids(FINANCE), _role_ids("channel")
    by_case = defaultdict(list)
    for comp in Compensation.objects.all():
        by_case[comp.case_id].append(comp)
    accepted_at = dict(
        CaseEvent.objects.filter(name__in=["confirm", "auto_confirm"])
        .order_by("id")
        .values_list("case_id", "created_at")
    )
    assert Compensation.objects.filter(quick_refund=True).exists()
    for case in seeded:
        comps = by_case[case.pk]
        refunds = services._base.live_compensation_total(case, kind="refund")
        assert refunds <= services._base.case_claim_value(case), case.number
        assert case.quick_refund == any(c.quick_refund for c in comps)
        for comp in comps:
            assert comp.amount > 0
            assert comp.proposed_at >= case.opened_at
            if comp.quick_refund:
                assert comp.kind == "refund" and comp.payable_at == case.approved_at
                continue
            if case.state == S.CLOSED or case.state in OUTBOUND_STATES:
                # payable when the customer accepted (goods sent out close the case only on receipt)
                accepted = accepted_at.get(case.pk, case.closed_at)
                assert comp.state in (CS.APPROVED, CS.PAID) and comp.payable
                assert comp.payable_at == accepted
            elif case.state == S.AWAITING_CONFIRMATION:
                assert comp.state == CS.APPROVED and not comp.payable
                assert comp.approved_at <= case.proposed_at
            elif case.state == S.COMPENSATION:
                assert comp.state == CS.PROPOSED
            elif case.state in (S.REJECTED, S.CANCELLED):
                assert comp.state == CS.VOIDED
            if comp.state == CS.PAID:
                payers = channel_ids if comp.settlement == "channel" else finance_ids
                assert comp.paid_by_id in payers and comp.paid_at > comp.payable_at
            # The app's policy has the channel settle refunds: requested when they became payable.
            channel_settled = (
                comp.payable and comp.kind == "refund" and case.policy_version.refund_settlement == "channel"
            )
            assert comp.settlement == ("channel" if channel_settled else "finance"), (case.number, comp.pk)
            if channel_settled:
                assert comp.settlement_requested_at == comp.payable_at
                assert comp.settlement_due_at == comp.payable_at + timedelta(
                    hours=case.policy_version.settlement_timeout_hours
                )
        if case.state in (S.REJECTED, S.CANCELLED):
            assert all(c.state == CS.VOIDED for c in comps), case.number
        if case.state in (S.PENDING_REVIEW, S.AWAITING_RETURN, S.IN_QC):
            assert all(c.quick_refund for c in comps)
    assert Compensation.objects.filter(state=CS.PAID).exists()
    assert Compensation.objects.filter(state=CS.APPROVED, payable=True).exists()  # payable, not paid yet
    kinds = set(Compensation.objects.values_list("kind", flat=True))
    assert {"refund", "coupon"} <= kinds


def test_paid_compensations_have_unique_references_and_a_payout_event(seeded):
    paid = Compensation.objects.filter(state=CS.PAID)
    references = list(paid.values_list("payout_reference", flat=True))
    assert all(references) and len(set(references)) == len(references)
    events = CaseEvent.objects.filter(kind="compensation", name="compensation_mark_paid")
    assert events.count() == paid.count()
    for event in events:
        comp = paid.get(pk=event.data["compensation"])
        assert comp.case_id == event.case_id
        assert event.note == comp.payout_reference
        assert event.created_at == comp.paid_at and event.actor_id == comp.paid_by_id
    closed_live = Compensation.objects.filter(
        case__state=S.CLOSED, quick_refund=False, state__in=LIVE_COMPENSATION_STATES
    )
    share = closed_live.filter(state=CS.PAID).count() / closed_live.count()
    assert 0.5 < share < 0.9  # ~70 % paid


def test_inspections_for_cases_that_went_through_qc(seeded):
    inspected = seeded.filter(inspected_at__isnull=False)
    assert inspected.exists()
    assert Inspection.objects.count() == inspected.count()
    qc_ids = _role_ids(QC)
    for inspection in Inspection.objects.select_related("case"):
        case = inspection.case
        assert inspection.inspected_at == case.inspected_at
        assert inspection.inspector_id in qc_ids
        event = case.events.get(name="inspect")
        assert event.data["inspection"] == inspection.pk
        at_fault = inspection.responsible_party == Inspection.Party.CUSTOMER
        assert event.to_state == (S.REJECTED if at_fault else S.COMPENSATION)
        if at_fault:
            assert inspection.findings and case.reject_reason == inspection.findings


# --------------------------------------------------------------------------
# Running again
# --------------------------------------------------------------------------
def test_if_empty_adds_nothing_when_cases_exist(seeded):
    before = (Case.objects.count(), Order.objects.count(), Customer.objects.count(), CaseEvent.objects.count())
    out = seed_demo("--cases", str(N), "--if-empty")
    assert "nothing to seed" in out
    assert (Case.objects.count(), Order.objects.count(), Customer.objects.count(), CaseEvent.objects.count()) == before


def test_if_empty_seeds_an_empty_database(db):
    seed_demo("--cases", "30", "--if-empty")
    assert Case.objects.count() == 30


def test_a_second_run_adds_cases_without_collisions_and_case_open_still_works(seeded, users):
    reference_counts = (
        ProductCategory.objects.count(),
        ProblemCategory.objects.count(),
        Queue.objects.count(),
        Policy.objects.count(),
        get_user_model().objects.count(),
    )
    generated_orders = Order.objects.filter(customer__external_id="")
    orders_before = generated_orders.count()
    imported_before = Order.objects.count() - orders_before
    seed_demo("--cases", str(N))  # the same seed again
    assert Case.objects.count() == 2 * N
    assert generated_orders.count() == 2 * orders_before
    assert Order.objects.count() - generated_orders.count() == imported_before  # the shop's file only once
    assert (
        ProductCategory.objects.count(),
        ProblemCategory.objects.count(),
        Queue.objects.count(),
        Policy.objects.count(),
        get_user_model().objects.count(),
    ) == reference_counts
    assert Case.objects.values("number").distinct().count() == 2 * N
    assert Order.objects.values("number").distinct().count() == Order.objects.count()
    for day, last_value in CaseNumberSequence.objects.values_list("day", "last_value"):
        numbers = Case.objects.filter(number__startswith=f"AS{day:%Y%m%d}-").values_list("number", flat=True)
        values = sorted(int(number[-6:]) for number in numbers)
        assert values == list(range(1, last_value + 1))

    order = OrderFactory(number="DD-NEW-1")
    line = OrderLineFactory(order=order, category=ProductCategory.objects.get(code="apparel"))
    today = timezone.localdate()
    taken_today = Case.objects.filter(number__startswith=f"AS{today:%Y%m%d}-").aggregate(m=Max("number"))["m"]
    case = services.case_open(
        actor=users["agent"], order_id=order.pk, lines=[(line.pk, 1)], request_type="return_refund", reason="起球"
    )
    assert NUMBER.fullmatch(case.number)
    assert Case.objects.filter(number=case.number).count() == 1
    if taken_today:
        assert case.number > taken_today
    assert case.policy_version == Policy.objects.get(channel="app", active=True).history.latest()
    assert case.queue.code == "general"


def test_the_same_seed_gives_the_same_data(db):
    now = datetime(2026, 3, 1, 12, tzinfo=ZoneInfo("UTC"))

    def fingerprint():
        return [
            (
                c.request_type,
                c.state,
                c.reason,
                c.urgency,
                c.opened_at,
                c.category.name,
                c.customer.name,
                c.customer.phone,
                c.order.number,
                c.lines.count(),
                tuple(c.events.values_list("name", "created_at")),
            )
            for c in Case.objects.select_related("category", "customer", "order").order_by("opened_at", "reason", "id")
        ]

    def wipe():
        CaseEvent.objects.all().delete()
        Compensation.objects.all().delete()
        Case.objects.all().delete()
        Order.objects.all().delete()
        Customer.objects.all().delete()

    demo.seed(cases=40, seed=7, batch=15, log=lambda _: None, now=now)
    first = fingerprint()
    wipe()
    demo.seed(cases=40, seed=7, batch=15, log=lambda _: None, now=now)
    assert fingerprint() == first
    wipe()
    demo.seed(cases=40, seed=8, batch=15, log=lambda _: None, now=now)
    assert fingerprint() != first


def test_chunks_are_written_and_progress_is_reported(db):
    out = StringIO()
    call_command("seed_demo", "--cases", "25", "--batch", "10", stdout=out)
    assert Case.objects.count() == 25
    assert "cases/s" in out.getvalue()
    assert out.getvalue().count("/25 cases") == 3


def test_bad_arguments_are_refused(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        call_command("seed_demo", "--cases", "0")
    with pytest.raises(CommandError):
        call_command("seed_demo", "--batch", "-5")
    assert not Case.objects.exists()


# --------------------------------------------------------------------------
# Demo logins
# --------------------------------------------------------------------------
@pytest.fixture
def dev_machine(settings):
    settings.DEBUG = True  # as under `make run`; production (DEBUG off) is tested below


def test_demo_logins_are_refused_in_production_unless_forced(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("create_demo_users", stdout=StringIO())
    assert not get_user_model().objects.filter(username="agent").exists()
    call_command("create_demo_users", "--force", stdout=StringIO())
    assert get_user_model().objects.filter(username="agent").exists()


def test_production_warns_while_a_demo_password_or_the_demo_key_works(db, dev_machine, settings):
    from django.core import checks

    from aftersales.models import ApiKey

    call_command("create_demo_users", stdout=StringIO())
    settings.DEBUG = False
    found = [
        m for m in checks.run_checks(tags=[checks.Tags.security], databases=["default"]) if m.id == "aftersales.W003"
    ]
    assert len(found) == 1
    assert "agent" in found[0].msg and "admin" in found[0].msg and "API key demoapp" in found[0].msg
    for user in get_user_model().objects.filter(username__in=["agent", "qc", "supervisor", "finance", "admin"]):
        user.set_password(f"a-real-password-for-{user.username}-9f3k")
        user.save()
    ApiKey.objects.update(revoked_at=timezone.now())
    assert not [
        m for m in checks.run_checks(tags=[checks.Tags.security], databases=["default"]) if m.id == "aftersales.W003"
    ]
    settings.DEBUG = True
    call_command("create_demo_users", stdout=StringIO())
    assert not [m for m in checks.run_checks(databases=["default"]) if m.id == "aftersales.W003"]  # a dev machine


def test_create_demo_users_twice_gives_one_login_per_role(db, dev_machine):
    first, second = StringIO(), StringIO()
    call_command("create_demo_users", stdout=first)
    call_command("create_demo_users", stdout=second)
    assert "5 created" in first.getvalue() and "5 reset" in second.getvalue()
    assert "demo-supervisor-2026" in second.getvalue() and "http://127.0.0.1:8000/admin/" in second.getvalue()
    User = get_user_model()
    for role in (AGENT, QC, SUPERVISOR, FINANCE):
        user = User.objects.get(username=role)
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert user.check_password(f"demo-{role}-2026")
        assert user.is_staff == (role == SUPERVISOR)
        assert not user.is_superuser
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.check_password("demo-admin-2026")
    agent = User.objects.get(username="agent")
    assert agent.agent_profile.authority_limit == Decimal("200.00")
    assert Queue.objects.get(code="general").members.filter(pk=agent.pk).exists()
    assert User.objects.filter(username__in=["agent", "qc", "supervisor", "finance", "admin"]).count() == 5
    assert AgentProfile.objects.filter(user=agent).count() == 1


def test_create_demo_users_prints_a_working_demo_api_key_and_keeps_it_active(db, dev_machine):
    from aftersales.management.commands.create_demo_users import DEMO_CHANNEL_ACCOUNT
    from aftersales.models import ApiKey

    call_command("create_demo_users", stdout=StringIO())
    ApiKey.objects.update(revoked_at=timezone.now())  # revoked in the admin meanwhile
    out = StringIO()
    call_command("create_demo_users", stdout=out)
    raw = out.getvalue().split("docs/api.md): ")[1].split()[0]
    key = ApiKey.objects.get()
    assert key.active and key.channel == "app" and key.user.username == DEMO_CHANNEL_ACCOUNT
    assert raw == "ask_demoapp_demo-app-key-2026" and key.matches(ApiKey.split(raw)[1])
    assert list(key.user.groups.values_list("name", flat=True)) == ["channel"] and not key.user.has_usable_password()
    assert not key.user.is_staff


def test_create_demo_users_resets_a_changed_password(db, dev_machine):
    call_command("create_demo_users", stdout=StringIO())
    user = get_user_model().objects.get(username="qc")
    user.set_password("something-else")
    user.is_active = False
    user.save()
    call_command("create_demo_users", stdout=StringIO())
    user.refresh_from_db()
    assert user.is_active and user.check_password("demo-qc-2026")


# --------------------------------------------------------------------------
# PostgreSQL: writer threads, and the per-chunk foreign-key check
# --------------------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_pipelined_run_writes_complete_chunks_from_writer_threads():
    if Group.objects.filter(name__in=ROLES).count() < len(ROLES):
        sync_role_groups(django_apps)  # transactional tests flush what the migration created
    import threading

    threads_before = threading.active_count()
    lines = []
    demo.seed(cases=45, batch=10, pipeline=True, log=lines.append)
    assert threading.active_count() == threads_before
    assert "pipelined" in lines[-1]
    assert sum("/45 cases" in line for line in lines) == 5
    cases = Case.objects.all()
    assert cases.count() == 45 and set(cases.values_list("state", flat=True)) == set(S.values)
    assert Case.objects.values("number").distinct().count() == 45
    assert_legal_histories(cases)


@pytest.mark.postgres
def test_copy_writer_refuses_a_dangling_foreign_key(db):
    ref = ensure_reference_data()
    writer = CopyWriter(10)
    if not writer.set_based_fk_checks:
        pytest.skip("the test database role may not set session_replication_role")
    missing_user = get_user_model().objects.order_by("-pk").first().pk + 1000
    with pytest.raises(IntegrityError, match="dedicated_advisor"), transaction.atomic():
        log = writer.begin_chunk(ref.referenced_rows())
        row = {"name": "测试顾客", "phone": "13800000000", "dedicated_advisor_id": missing_user}
        writer.insert(Customer, [row], log=log)
        writer.end_chunk(log)
    assert not Customer.objects.filter(name="测试顾客").exists()

    gone = ref.referenced_rows()
    gone[get_user_model()] = [missing_user]
    with pytest.raises(IntegrityError, match="no longer exist"), transaction.atomic():
        writer.begin_chunk(gone)


def test_open_offers_above_authority_wait_for_a_supervisor_as_the_service_leaves_them(db):
    from aftersales.permissions import authority_of

    seed_demo("--cases", "600", "--no-copy")
    waiting = Case.objects.filter(state=S.AWAITING_APPROVAL).select_related("policy_version")
    assert waiting.exists()
    for case in waiting:
        live = case.compensations.filter(state__in=[CS.PROPOSED, CS.APPROVED], quick_refund=False)
        assert live.filter(state=CS.PROPOSED).exists(), case.number
        total = sum(c.amount for c in live)
        event = case.events.filter(name="submit_offer").select_related("actor").latest("created_at", "id")
        assert (event.kind, event.from_state, event.to_state) == ("transition", S.COMPENSATION, S.AWAITING_APPROVAL)
        assert total > authority_of(event.actor, case.policy_version), case.number
        assert Decimal(event.data["total"]) == total
        assert sorted(event.data["compensations"]) == sorted(
            live.filter(state=CS.PROPOSED).values_list("pk", flat=True)
        )
        assert case.waiting_on == "supervisor"


def test_demo_replies_from_templates_record_their_version(db):
    from aftersales.models import HealthReport, ResponseTemplate, TemplateUse

    seed_demo("--cases", "300", "--no-copy")
    assert ResponseTemplate.objects.count() >= 30
    assert set(ResponseTemplate.objects.values_list("scenario", flat=True)) == set(ResponseTemplate.Scenario.values)
    uses = list(TemplateUse.objects.select_related("event", "version", "template"))
    assert uses
    for use in uses:
        assert use.event.case_id == use.case_id and use.event.kind == "reply" and use.event.created_at == use.used_at
        assert use.version.id == use.template_id and use.template.scenario == "acknowledge"
        assert use.event.data["version"] == use.version.history_id
    assert HealthReport.objects.count() == 1


def test_recently_finished_complaints_escalations_and_low_ratings_have_their_follow_up_visits(seeded):
    from datetime import timedelta

    from django.utils import timezone

    from aftersales.demo.generator import FOLLOW_UP_DAYS, FOLLOW_UP_OPEN_DAYS
    from aftersales.models import FollowUp

    now = timezone.now()
    visits = FollowUp.objects.select_related("case")
    assert visits.exists()
    for visit in visits:
        case = visit.case
        assert case.closed_at >= now - timedelta(days=FOLLOW_UP_DAYS + 1) and case.state != "cancelled"
        assert visit.reasons and (
            case.request_type == "complaint" or case.escalated_at or case.crisis or (case.csat or 5) <= 2
        )
        recent = case.closed_at >= now - timedelta(days=FOLLOW_UP_OPEN_DAYS)
        assert (visit.state == "open") == recent
        if visit.state == "done":
            assert visit.reached is not None and (visit.satisfied is None) == (not visit.reached)
