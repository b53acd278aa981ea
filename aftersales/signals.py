"""Signals sent *after commit* by the services, for side effects
(notifications, webhooks, metrics). A rolled-back service sends nothing."""

from django.dispatch import Signal

#: Sent after a case-changing service commits.
#: kwargs: case_id, action (transition or action name), actor_id (None = system),
#: from_state, to_state.
case_changed = Signal()

#: Sent after a compensation-changing service commits.
#: kwargs: compensation_id, case_id, action, actor_id.
compensation_changed = Signal()
