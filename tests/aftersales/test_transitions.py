"""Every case transition: the allowed actor succeeds and leaves an event; the
wrong state and a missing permission are refused and nothing is written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied

from aftersales import services
from aftersales.errors import NotAllowed
from aftersales.models import Case, CaseEvent, CaseState
from aftersales.selectors import actions_for

S = CaseState

SERVICES = {
    "approve": (services.case_approve, {}),
    "reject": (services.case_reject, {"reason": "超出七天无理由期限"}),
    "ship_return": (services.case_ship_return, {"carrier": "YTO", "tracking_number": "YT1234567890123"}),
    "receive": (services.case_receive, {"tracking_number": "SF1234567890123", "carrier": "SF"}),
    "inspect": (
        services.case_inspect,
        {"grade": "B", "responsible_party": "merchant", "disposition": "restock", "findings": "包装破损"},
    ),
    "propose": (services.case_propose, {"note": "全额退款"}),
    "confirm": (services.case_confirm, {}),
    "decline": (services.case_decline, {"note": "金额太少"}),
    "cancel": (services.case_cancel, {"reason": "不想退了"}),
    "escalate": (services.case_escalate, {"reason": "顾客申请平台介入"}),
    "resolve_escalation": (services.case_resolve_escalation, {"decision": "closed", "note": "按原方案结案"}),
}

# transition, from state, allowed role, expected state after, a role without the permission
ROWS = [
    ("approve", S.PENDING_REVIEW, "agent", S.AWAITING_RETURN, "qc"),
    ("approve", S.PENDING_REVIEW, "supervisor", S.AWAITING_RETURN, "finance"),
    ("reject", S.PENDING_REVIEW, "agent", S.REJECTED, "qc"),
    ("ship_return", S.AWAITING_RETURN, "channel", S.RETURN_SHIPPED, "qc"),
    ("ship_return", S.AWAITING_RETURN, "agent", S.RETURN_SHIPPED, "finance"),
    ("ship_return", S.RETURN_SHIPPED, "channel", S.RETURN_SHIPPED, "qc"),
    ("receive", S.AWAITING_RETURN, "qc", S.IN_QC, "agent"),
    ("receive", S.RETURN_SHIPPED, "qc", S.IN_QC, "agent"),
    ("inspect", S.IN_QC, "qc", S.COMPENSATION, "agent"),
    ("propose", S.COMPENSATION, "agent", S.AWAITING_CONFIRMATION, "qc"),
    ("confirm", S.AWAITING_CONFIRMATION, "channel", S.CLOSED, "qc"),
    ("confirm", S.AWAITING_CONFIRMATION, "agent", S.CLOSED, "finance"),
    ("decline", S.AWAITING_CONFIRMATION, "channel", S.COMPENSATION, "finance"),
    ("cancel", S.PENDING_REVIEW, "channel", S.CANCELLED, "qc"),
    ("cancel", S.AWAITING_RETURN, "agent", S.CANCELLED, "finance"),
    ("cancel", S.RETURN_SHIPPED, "channel", S.CANCELLED, "qc"),
    ("escalate", S.COMPENSATION, "supervisor", S.ESCALATED, "agent"),
    ("escalate", S.AWAITING_CONFIRMATION, "channel", S.ESCALATED, "qc"),
    ("resolve_escalation", S.ESCALATED, "supervisor", S.CLOSED, "agent"),
]


def _call(name, case, actor, **extra):
    service, kwargs = SERVICES[name]
    return service(case_id=case.pk, actor=actor, **{**kwargs, **extra})


def _snapshot(case):
    fresh = Case.objects.get(pk=case.pk)
    return fresh.state, fresh.version, CaseEvent.objects.filter(case=case).count()


@pytest.mark.parametrize(("name", "source", "role", "target", "_other"), ROWS)
def test_allowed_actor_moves_the_case_and_leaves_an_event(case_in, users, name, source, role, target, _other):
    case = case_in(source)
    version = case.version
    result = _call(name, case, users[role])

    fresh = Case.objects.get(pk=case.pk)
    assert result.state == fresh.state == target
    assert fresh.version == version + 1
    # The transition's event is the last one of its kind (a follow-up may be scheduled after it, as a system event).
    event = CaseEvent.objects.filter(case=case).exclude(kind=CaseEvent.Kind.SYSTEM).latest("id")
    assert (event.kind, event.name, event.from_state, event.to_state, event.actor) == (
        CaseEvent.Kind.TRANSITION,
        name,
        source,
        target,
        users[role],
    )


@pytest.mark.parametrize(("name", "source", "role", "target", "other"), ROWS)
def test_role_without_the_permission_is_refused_and_nothing_is_written(
    case_in, users, name, source, role, target, other
):
    case = case_in(source)
    before = _snapshot(case)
    with pytest.raises(PermissionDenied):
        _call(name, case, users[other])
    assert _snapshot(case) == before


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_transition_from_a_finished_case_is_refused_with_the_state_named(case_in, supervisor, name):
    case = case_in(S.CLOSED)
    before = _snapshot(case)
    with pytest.raises(NotAllowed) as excinfo:
        _call(name, case, supervisor)
    assert "已完成" in str(excinfo.value) or "Closed" in str(excinfo.value)
    assert _snapshot(case) == before


@pytest.mark.parametrize(
    ("name", "wrong_state"),
    [
        ("approve", S.AWAITING_RETURN),
        ("reject", S.IN_QC),
        ("ship_return", S.IN_QC),
        ("receive", S.PENDING_REVIEW),
        ("inspect", S.AWAITING_RETURN),
        ("propose", S.IN_QC),
        ("confirm", S.COMPENSATION),
        ("decline", S.PENDING_REVIEW),
        ("cancel", S.IN_QC),
        ("escalate", S.ESCALATED),
        ("resolve_escalation", S.COMPENSATION),
    ],
)
def test_transition_from_an_open_but_wrong_state_is_refused(case_in, supervisor, name, wrong_state):
    case = case_in(wrong_state)
    before = _snapshot(case)
    with pytest.raises(NotAllowed):
        _call(name, case, supervisor)
    assert _snapshot(case) == before


def test_each_transition_restarts_the_stage_clock_from_the_pinned_policy(case_in, qc):
    case = case_in(S.AWAITING_RETURN)
    assert case.waiting_on == "customer"
    assert case.stage_due_at - case.approved_at == timedelta(days=case.policy_version.return_ship_days)
    case = services.case_receive(case_id=case.pk, actor=qc, tracking_number="YT0001")
    assert case.waiting_on == "warehouse"
    assert (case.stage_due_at - case.received_at).total_seconds() == case.policy_version.qc_timeout_hours * 3600


def test_finished_case_has_no_clock(case_in):
    case = case_in(S.REJECTED)
    assert case.stage_due_at is None
    assert case.waiting_on == ""
    assert case.closed_at is not None


def test_first_staff_action_stamps_first_response_but_a_channel_action_does_not(
    case_in, open_case, channel_user, agent
):
    case = open_case(actor=channel_user)
    assert case.first_response_at is None
    services.case_escalate(case_id=case.pk, actor=channel_user, reason="催促")
    assert Case.objects.get(pk=case.pk).first_response_at is None
    services.case_add_note(case_id=case.pk, actor=agent, text="已联系顾客", to_customer=True)
    assert Case.objects.get(pk=case.pk).first_response_at is not None


def test_stale_version_is_refused_when_another_user_acted_first(case_in, agent):
    case = case_in(S.PENDING_REVIEW)
    loaded_version = case.version
    services.case_add_note(case_id=case.pk, actor=agent, text="先备注")
    with pytest.raises(NotAllowed, match=case.number):
        services.case_approve(case_id=case.pk, actor=agent, expected_version=loaded_version)
    assert Case.objects.get(pk=case.pk).state == S.PENDING_REVIEW


def _transitions(case, user) -> set[str]:
    return {action.name for action in actions_for(case, user) if action.is_transition}


def test_available_transitions_follow_state_and_role(case_in, users):
    case = case_in(S.PENDING_REVIEW)
    assert _transitions(case, users["agent"]) == {"approve", "reject", "cancel"}
    assert _transitions(case, users["supervisor"]) == {"approve", "reject", "cancel", "escalate"}
    assert _transitions(case, users["qc"]) == set()
    assert _transitions(case, users["finance"]) == set()
