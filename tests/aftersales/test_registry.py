"""The transition registry and the django-fsm machines agree, and every door it generates fits its service."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest
from django.utils import translation
from django_fsm import RETURN_VALUE

from aftersales import services
from aftersales.automation import jobs
from aftersales.models import OPEN_STATES, Case, CaseState, Compensation
from aftersales.permissions import ROLE_PERMISSIONS
from aftersales.workflow.forms import ActionForm
from aftersales.workflow.transitions import (
    ALERT,
    CASE,
    COMPENSATION,
    INTERNAL,
    STAGE_CLOCKS,
    SYSTEM,
    TRANSITIONS,
)

MODELS = {CASE: Case, COMPENSATION: Compensation}
S = CaseState


def fsm_transitions(model) -> dict[str, list]:
    """name → django-fsm transitions (one per source state) of ``model``."""
    found = {}
    for name in dir(model):
        meta = getattr(getattr(model, name, None), "_django_fsm", None)
        if meta is not None:
            found[name] = list(meta.transitions.values())
    return found


def roles_of_permission(permission) -> set[str]:
    if callable(permission):
        return set()
    return {role for role, perms in ROLE_PERMISSIONS.items() if permission in perms}


@pytest.mark.parametrize("on", [CASE, COMPENSATION])
def test_every_fsm_transition_has_an_entry_and_every_transition_entry_names_one(on):
    in_code = set(fsm_transitions(MODELS[on]))
    entries = {entry.name for entry in TRANSITIONS.transitions(on)}
    assert in_code - entries == set(), "django-fsm transitions without a registry entry"
    assert entries - in_code == set(), "registry transitions that name no django-fsm transition"
    actions = {entry.name for entry in TRANSITIONS.of(on) if not entry.is_transition}
    assert actions & in_code == set(), "plain actions named like a transition must be Transition entries"


def test_every_entry_has_a_label_and_every_case_transition_a_customer_message():
    for entry in TRANSITIONS.entries:
        with translation.override("zh-hans"):
            assert str(entry.label).strip(), entry.name
        if entry.is_transition:
            assert entry.message is not None, f"{entry.on} {entry.name}: no message (use INTERNAL to say so)"
            if entry.on == CASE:
                assert entry.message != INTERNAL, f"{entry.name}: the customer hears of every case transition"


@pytest.mark.parametrize("on", [CASE, COMPENSATION])
def test_roles_are_those_holding_the_fsm_permission_and_system_where_the_machine_allows_it(on):
    code = fsm_transitions(MODELS[on])
    for entry in TRANSITIONS.transitions(on):
        expected = set()
        for tr in code[entry.name]:
            expected |= roles_of_permission(tr.permission)
            if tr.custom.get("system"):
                expected.add(SYSTEM)
        assert set(entry.roles) == expected, f"{on} {entry.name}"


def test_every_customer_message_fills_in_with_the_case_placeholders():
    values = {
        "number": "AS20261201-000001",
        "order": "DD1",
        "reason": "r",
        "deadline": "2026-12-02 10:00",
        "reply": "x",
        "note": "n",
    }
    # What the case brings into its messages may hold a "%" (an address): it must come out as it is.
    version = SimpleNamespace(
        return_recipient="王仓管",
        return_phone="021-59886000",
        return_address="上海市嘉定区100%正品仓",
        return_instructions="附上售后单号",
        pickup_offered=True,
    )
    for state in S.values:
        case = SimpleNamespace(
            state=state,
            goods_come_back=True,
            policy_version=version,
            return_carrier_label="顺丰速运",
            return_tracking_number="SF1234567890123",
        )
        for entry in TRANSITIONS.entries:
            message = TRANSITIONS.message(entry.name) if entry.on == CASE else None
            if message is None:
                continue
            with translation.override("zh-hans"):
                text = str(message(case) if callable(message) else message) % values
            assert "%(" not in text and text.strip(), entry.name
            if entry.name in ("approve", "ship_return"):
                assert ("100%正品仓" in text) if entry.name == "approve" else ("SF1234567890123" in text), text


def _service(entry):
    assert entry.service is not None and hasattr(services, entry.service), f"{entry.name}: no service {entry.service}"
    return inspect.signature(getattr(services, entry.service))


def _required_inputs(signature, entry) -> set[str]:
    fixed = {entry.target, "actor", "at"}
    return {
        name
        for name, param in signature.parameters.items()
        if param.default is inspect.Parameter.empty and name not in fixed
    }


def test_each_form_and_serializer_carries_its_services_keyword_arguments(supervisor, case_in):
    case = case_in(S.PENDING_REVIEW)
    for entry in TRANSITIONS.entries:
        if entry.service is None:
            assert entry.form is None and entry.serializer is None, entry.name
            continue
        signature = _service(entry)
        if entry.form is None and entry.serializer is None:
            continue  # no generated door (opening has its own pages and endpoint)
        assert entry.target in signature.parameters and "actor" in signature.parameters, entry.name
        required = _required_inputs(signature, entry)
        if entry.form is not None:
            form = entry.form(case=case if entry.on == CASE else None, user=supervisor)
            fields = set(form.fields)
            if type(form).service_kwargs is not ActionForm.service_kwargs:
                # The form hands its data over in its own shape (triage gathers the changes): ask it.
                bound = entry.form(form.initial, case=case, user=supervisor)
                assert bound.is_valid(), (entry.name, bound.errors)
                fields = set(bound.service_kwargs())
            assert fields <= set(signature.parameters), f"{entry.name}: form fields the service does not take"
            assert required <= fields, f"{entry.name}: the form misses {required - fields}"
        if entry.serializer is not None:
            fields = {name for name, field in entry.serializer().fields.items() if not field.read_only}
            assert fields <= set(signature.parameters), f"{entry.name}: serializer fields the service does not take"
            assert required <= fields, f"{entry.name}: the serializer misses {required - fields}"


def test_a_path_through_another_action_shares_its_service_and_source():
    code = fsm_transitions(Case)
    for entry in TRANSITIONS.transitions(CASE):
        if not entry.through:
            continue
        door = TRANSITIONS[entry.through]
        assert door.service == entry.service
        assert {tr.source for tr in code[entry.name]} == {tr.source for tr in code[door.name]}
        assert entry not in TRANSITIONS.panels() and entry not in TRANSITIONS.api_actions()


def test_every_open_state_has_a_clock_whose_timeout_the_machine_allows_from_that_state():
    assert set(STAGE_CLOCKS) == set(OPEN_STATES)
    code = fsm_transitions(Case)
    for state, clock in STAGE_CLOCKS.items():
        if clock.on_timeout == ALERT:
            continue
        entry = TRANSITIONS[clock.on_timeout]
        assert entry.is_transition and entry.system, f"{state}: {clock.on_timeout} is not a system transition"
        assert state in {tr.source for tr in code[entry.name]}, f"{clock.on_timeout} cannot leave {state}"


def test_no_entry_is_named_like_a_method_of_the_views_it_becomes_an_action_of():
    from rest_framework import viewsets

    shadowed = [entry.name for entry in TRANSITIONS.entries if hasattr(viewsets.GenericViewSet, entry.name)]
    assert shadowed == []  # an action called "dispatch" would replace the view's own dispatch()


def test_the_sweeps_are_generated_from_the_clocks():
    timeouts = {clock.sweep: clock for clock in STAGE_CLOCKS.values() if clock.on_timeout != ALERT}
    assert set(timeouts) == {"review_timeouts", "return_expiry", "confirmation_timeouts", "receipt_timeouts"}
    for name, clock in timeouts.items():
        assert jobs.JOBS[name].every == clock.every
        assert jobs.JOBS[name].run.__name__ == f"sweep_{name}"
    assert "stage_alerts" in jobs.JOBS


def test_every_state_is_reached_by_some_transition():
    reached = {S.PENDING_REVIEW}  # opening
    for transitions in fsm_transitions(Case).values():
        for tr in transitions:
            reached |= set(tr.target.allowed_states) if isinstance(tr.target, RETURN_VALUE) else {tr.target}
    assert reached == set(S.values)


def test_the_api_has_an_endpoint_for_every_staff_action(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    operations = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    for on in (CASE, COMPENSATION):
        for entry in TRANSITIONS.api_actions(on):
            assert f"staff_{on}s_{entry.name}" in operations
    staff_transitions = [
        e for e in TRANSITIONS.transitions(CASE) if set(e.roles) - {SYSTEM, "channel"} and not e.through
    ]
    assert all(e in TRANSITIONS.api_actions(CASE) for e in staff_transitions)
    assert {"approve_offer", "return_offer"} <= {e.name for e in TRANSITIONS.api_actions(CASE)}
    assert {e.name for e in TRANSITIONS.api_actions(COMPENSATION)} == set(fsm_transitions(Compensation))


def test_events_are_typed_transitions_by_the_registry_the_rest_by_event_name(case_in, agent, supervisor):
    from aftersales.models import CaseEvent, EventName
    from aftersales.services.events import transition_event
    from aftersales.workflow.transitions import event_label

    case = case_in(S.CLOSED)
    services.case_rate(case_id=case.pk, actor=agent, csat=5)
    services.case_add_note(case_id=case.pk, actor=supervisor, text="回访完成")
    for kind, name in CaseEvent.objects.filter(case=case).values_list("kind", "name"):
        if kind == CaseEvent.Kind.TRANSITION:
            assert TRANSITIONS.get(name).is_transition, name
        else:
            assert name in EventName.values, (kind, name)
        with translation.override("zh-hans"):
            assert event_label(name) != name, name  # every event reads as words, never its code
    with pytest.raises(ValueError, match="not a transition"):
        transition_event(case, name="approve_everything", before=S.CLOSED, actor=agent, at=case.closed_at)
    with pytest.raises(ValueError):
        EventName("compensation_refunded_twice")
