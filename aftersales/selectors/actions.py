"""Which actions of the registry a user may take now, on a case or a compensation.

A transition is offered when django-fsm allows it from the current state, the user holds its permission and
its registry guard (if any) agrees; a plain action when its registry guard agrees. The case page and the admin
build their buttons from this one list, in the registry's order. The services check everything again.
"""

from __future__ import annotations

from django_fsm import has_transition_perm

from aftersales.workflow.transitions import CASE, COMPENSATION, TRANSITIONS, Action


def actions_for(obj, user, on: str = CASE) -> list[Action]:
    """The registry entries with a door of their own that ``user`` may take on ``obj`` now (no query)."""
    allowed = {t.name for t in obj.get_available_state_transitions()}
    actions = []
    for entry in TRANSITIONS.panels(on):
        if entry.is_transition and (
            entry.name not in allowed or not has_transition_perm(getattr(obj, entry.name), user)
        ):
            continue
        if entry.available is not None and not entry.available(obj, user):
            continue
        actions.append(entry)
    return actions


def compensation_actions_for(comp, user) -> list[Action]:
    return actions_for(comp, user, COMPENSATION)
