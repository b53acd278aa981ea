"""Triage and notes: changes name themselves on the timeline; bad input names the field."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from aftersales import services
from aftersales.errors import NotAllowed
from aftersales.models import Case, CaseEvent, CaseState
from tests.factories import QueueFactory

S = CaseState


def test_supervisor_triage_records_each_change(case_in, supervisor):
    case = case_in(S.PENDING_REVIEW)
    queue = QueueFactory(name="危机处理")
    services.case_update(case_id=case.pk, actor=supervisor, changes={"priority": "red", "queue": queue, "urgency": 3})
    case.refresh_from_db()
    assert (case.priority, case.queue) == ("red", queue)
    event = CaseEvent.objects.get(case=case, name="update")
    assert set(event.data["changes"]) == {"priority", "queue"}  # urgency did not change


def test_nothing_changed_writes_nothing(case_in, supervisor):
    case = case_in(S.PENDING_REVIEW)
    services.case_update(case_id=case.pk, actor=supervisor, changes={"urgency": case.urgency})
    assert not CaseEvent.objects.filter(case=case, name="update").exists()
    assert Case.objects.get(pk=case.pk).version == case.version


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"urgency": 9}, "urgency"), ({"priority": "purple"}, "priority"), ({"state": "closed"}, "state")],
)
def test_bad_triage_names_the_field_and_writes_nothing(case_in, supervisor, changes, field):
    case = case_in(S.PENDING_REVIEW)
    with pytest.raises(ValidationError) as excinfo:
        services.case_update(case_id=case.pk, actor=supervisor, changes=changes)
    assert field in excinfo.value.message_dict
    fresh = Case.objects.get(pk=case.pk)
    assert (fresh.urgency, fresh.priority, fresh.state, fresh.version) == (
        case.urgency,
        case.priority,
        case.state,
        case.version,
    )


def test_agents_cannot_triage_and_finished_cases_cannot_change(case_in, agent, supervisor):
    case = case_in(S.PENDING_REVIEW)
    with pytest.raises(PermissionDenied):
        services.case_update(case_id=case.pk, actor=agent, changes={"urgency": 5})
    done = case_in(S.REJECTED, lines=[(case.order.lines.order_by("id")[1].pk, 1)])
    with pytest.raises(NotAllowed):
        services.case_update(case_id=done.pk, actor=supervisor, changes={"urgency": 5})


def test_notes_and_replies_go_on_the_timeline(case_in, agent):
    case = case_in(S.PENDING_REVIEW)
    services.case_add_note(case_id=case.pk, actor=agent, text="内部：顾客多次来电")
    services.case_add_note(case_id=case.pk, actor=agent, text="您好，已为您加急处理", to_customer=True)
    kinds = list(CaseEvent.objects.filter(case=case).exclude(kind="opened").values_list("kind", "note"))
    assert kinds == [("note", "内部：顾客多次来电"), ("reply", "您好，已为您加急处理")]
    with pytest.raises(ValidationError) as excinfo:
        services.case_add_note(case_id=case.pk, actor=agent, text=" ")
    assert "text" in excinfo.value.message_dict
