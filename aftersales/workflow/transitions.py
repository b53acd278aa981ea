"""The transition registry: every transition and action of a case or a compensation, wired in one place.

Each entry names the django-fsm transition (or the plain action), its label, the service that performs it (by
its name in ``aftersales.services``), the page form (``workflow.forms``) and the API serializer
(``workflow.serializers``) whose fields are the service's keyword arguments, the message the customer receives,
whether its button asks for confirmation, and which roles may run it. Below the entries, the stage clock of
each open state: whom it waits on, for how long (a policy field), and what happens when it runs out — a system
transition of the registry, run by the sweep named there, or an overdue alert.

Generated from here: the case page's panels and the admin's action pages (``aftersales.web``,
``aftersales.admin``), the staff API's actions (``aftersales.api``), the timeline labels, the customer messages
(``aftersales.notifications.outbox``) and the sweeps (``aftersales.automation.jobs``).
``tests/aftersales/test_registry.py`` fails when the registry and the django-fsm machines disagree, an entry
lacks a label or a message, or a form or serializer does not fit its service.

Pure data: no queries, no I/O. The service is named rather than imported because the services read this module
(labels, messages, clocks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed, has_transition_perm

from aftersales.models import FINAL_STATES, CaseState, EventName, WaitingOn
from aftersales.permissions import AGENT, CHANNEL, FINANCE, QC, SUPERVISOR, may_close_corrective_action
from aftersales.workflow import forms as f
from aftersales.workflow import serializers as s
from aftersales.workflow.shipping import return_address_line

S = CaseState
SYSTEM = "system"
CASE, COMPENSATION = "case", "compensation"
#: The message of a transition the customer is not told about on its own (they hear of the offer it belongs to).
INTERNAL = "internal"
#: The timeout action of a clock without a system transition: alert the people it waits on, once.
ALERT = "alert"

#: A customer message: a text, or a function of the case giving the text (placeholders: number, order, reason,
#: deadline, reply, and note: the note the transition was recorded with).
Message = Promise | str | Callable[[object], str]


@dataclass(frozen=True)
class Action:
    """Something a person (or the system) does to a case or a compensation."""

    name: str
    label: Promise
    #: The service's name in ``aftersales.services`` (``None``: nothing to run, e.g. the reply message).
    service: str | None
    roles: tuple[str, ...]
    form: type[f.ActionForm] | None = None
    serializer: type | None = None
    message: Message | None = None
    dangerous: bool = False
    on: str = CASE
    #: When the button shows, given the object and the user: the condition of a plain action, or a guard a
    #: transition adds to django-fsm's state and permission check (the service checks it again).
    available: Callable[[object, object], bool] | None = None
    #: Shown as a panel of the case page and an admin action page (``add_compensation`` has its own block).
    panel: bool = True
    #: The button's label for this object, when it depends on it (a coupon is issued, not paid).
    label_for: Callable[[object], Promise] | None = None

    @property
    def is_transition(self) -> bool:
        return False

    def label_on(self, obj) -> Promise:
        """The button's label on ``obj``."""
        return self.label_for(obj) if self.label_for is not None else self.label

    @property
    def target(self) -> str:
        """The keyword argument of the service naming the object acted on."""
        return f"{self.on}_id"


@dataclass(frozen=True)
class Transition(Action):
    """A django-fsm transition of the same name on ``Case`` or ``Compensation``."""

    #: No door of its own: the named action takes this path (``submit_offer`` is how ``propose`` goes above
    #: the sender's authority).
    through: str = ""

    @property
    def is_transition(self) -> bool:
        return True

    @property
    def system(self) -> bool:
        return SYSTEM in self.roles


# --------------------------------------------------------------------------
# Customer messages that depend on the case
# --------------------------------------------------------------------------
def _escape(text: str) -> str:
    """Text from the data inside a message (the message is %-formatted with the placeholders afterwards)."""
    return str(text).replace("%", "%%")


def return_address_text(version) -> str:
    """Where and how to send the goods back, from a policy (version): recipient, phone, address, instructions."""
    parts = []
    if version.return_address:
        parts.append(gettext("Send them to: %(address)s") % {"address": return_address_line(version)})
    if version.return_instructions:
        parts.append(version.return_instructions.strip())
    if version.pickup_offered:
        parts.append(gettext("Door-to-door pickup is available: choose it when you give the tracking number."))
    return " ".join(parts)


def _approved(case) -> str:
    if not case.goods_come_back:
        return gettext("Your request %(number)s is approved.") + " " + gettext("We are preparing your compensation.")
    text = (
        gettext("Your request %(number)s is approved.")
        + " "
        + gettext("Please send the goods back by %(deadline)s and give us the carrier and tracking number.")
    )
    address = return_address_text(case.policy_version)
    return f"{text} {_escape(address)}" if address else text


def _return_shipped(case) -> str:
    text = gettext(
        "We have your return shipment for %(number)s (%(parcel)s); we check the goods as soon as they arrive."
    )
    return text.replace("%(parcel)s", _escape(f"{case.return_carrier_label} {case.return_tracking_number}"))


def _accepted(case) -> str:
    if case.state == S.AWAITING_DISPATCH:
        return gettext("Thank you: we are sending the goods for %(number)s and will tell you the tracking number.")
    return gettext("Thank you: %(number)s is complete. We would be glad to hear how we did.")


def _accepted_by_default(case) -> str:
    if case.state == S.AWAITING_DISPATCH:
        return gettext(
            "The offer for %(number)s was accepted automatically after the deadline; we are sending the goods."
        )
    return gettext("%(number)s is complete: the offer was accepted automatically after the deadline.")


def _dispatched(case) -> str:
    text = gettext("Your goods for %(number)s are on their way (%(parcel)s).")
    return text.replace("%(parcel)s", _escape(getattr(case, "outbound_parcel", "")))


def _inspected(case) -> str:
    if case.state == S.REJECTED:
        return gettext("The goods for %(number)s have been checked: %(reason)s")
    return gettext("The goods for %(number)s have been checked; we are preparing your compensation.")


def _escalation_decided(case) -> str:
    """The supervisor's decision on an appeal, in words, and its reason (the decision note)."""
    decisions = {
        S.COMPENSATION: gettext("we will make you a new offer"),
        S.CLOSED: gettext("the case is closed with the compensation already agreed"),
        S.REJECTED: gettext("your request is not accepted"),
    }
    decision = decisions.get(case.state) or str(S(case.state).label)
    text = gettext("A supervisor has decided on your request %(number)s: %(decision)s. Reason: %(note)s")
    return text.replace("%(decision)s", _escape(decision))


_OFFER_READY = _("Our offer for %(number)s is ready: please accept or decline it in the app before %(deadline)s.")


def _counter_label(case) -> str:
    """“accept: refund ¥150.00” — the counter-offer the button accepts."""
    if case.counter_amount is None:
        return gettext("accept the customer's counter-offer")
    return gettext("accept the counter-offer: %(kind)s ¥%(amount)s") % {
        "kind": case.get_counter_kind_display(),
        "amount": case.counter_amount,
    }


def _open_follow_up(case) -> bool:
    """Follow-ups exist only for finished cases (the state is checked first: lists of open cases ask nothing)."""
    if case.state not in FINAL_STATES:
        return False
    follow_up = case.follow_up_or_none
    return follow_up is not None and follow_up.state == "open"


def _analysable(case) -> bool:
    """Complaints and escalated cases keep a cause analysis, changed while its corrective action is open."""
    if not case.keeps_cause_analysis:
        return False
    analysis = case.cause_analysis_or_none
    return analysis is None or analysis.state == "open"


def _action_open_for(case, user) -> bool:
    if not case.keeps_cause_analysis:
        return False
    analysis = case.cause_analysis_or_none
    return analysis is not None and analysis.state == "open" and may_close_corrective_action(user, analysis)


def _unfinished(case, user) -> bool:
    return case.state not in FINAL_STATES


def _may_receive(case, user) -> bool:
    """Receive-and-inspect is offered wherever the user may receive the goods."""
    return (
        can_proceed(case.receive)
        and has_transition_perm(case.receive, user)
        and user.has_perm("aftersales.inspect_case")
    )


def _may_send_offer(case, user) -> bool:
    return can_proceed(case.propose) and has_transition_perm(case.propose, user)


def _offer_open_to(comp, user) -> bool:
    """While an offer waits for a supervisor, only supervisors decide its items."""
    return comp.case.state != S.AWAITING_APPROVAL or user.has_perm("aftersales.approve_any_compensation")


def _payable(comp, user) -> bool:
    """Finance pays what is payable — not a refund the channel is settling (the channel reports that one)."""
    return comp.payable and not comp.awaits_channel


def _may_fail(comp, user) -> bool:
    """A payout fails when it does; a refund waiting on the channel only once it is past its target."""
    return comp.payable and (not comp.awaits_channel or comp.channel_overdue())


class Registry:
    """The entries by object and name, in the order the pages show them."""

    def __init__(self, *entries: Action):
        self.entries = entries
        self._index: dict[tuple[str, str], Action] = {}
        for entry in entries:
            key = (entry.on, entry.name)
            if key in self._index:
                raise ValueError(f"Two registry entries for {entry.on} {entry.name!r}.")
            self._index[key] = entry

    def get(self, name: str, on: str = CASE) -> Action | None:
        return self._index.get((on, name))

    def __getitem__(self, name: str) -> Action:
        return self._index[(CASE, name)]

    def of(self, on: str) -> list[Action]:
        return [entry for entry in self.entries if entry.on == on]

    def transitions(self, on: str = CASE) -> list[Transition]:
        return [entry for entry in self.of(on) if entry.is_transition]

    def panels(self, on: str = CASE) -> list[Action]:
        """Entries with a page form and a door of their own (what the case page and the admin offer)."""
        return [e for e in self.of(on) if e.form is not None and e.panel and not getattr(e, "through", "")]

    def api_actions(self, on: str = CASE) -> list[Action]:
        """Entries the staff API offers: a serializer, staff roles, a door of their own."""
        return [
            e
            for e in self.of(on)
            if e.serializer is not None and not getattr(e, "through", "") and set(e.roles) - {CHANNEL, SYSTEM}
        ]

    def label(self, name: str, on: str = CASE) -> str:
        entry = self.get(name, on) or self.get(name, COMPENSATION if on == CASE else CASE)
        if entry is not None:
            return str(entry.label)
        return str(EventName(name).label) if name in EventName.values else name

    def message(self, name: str) -> Message | None:
        """What the customer is told after ``name`` (``None`` when they are not told)."""
        entry = self.get(name)
        if entry is None or entry.message in (None, INTERNAL):
            return None
        return entry.message


TRANSITIONS = Registry(
    # ---- opening and review ------------------------------------------------
    Action(
        "open",
        label=_("open"),
        service="case_open",
        roles=(AGENT, SUPERVISOR, CHANNEL),
        message=_(
            "We have received your after-sales request %(number)s for order %(order)s and will review it shortly."
        ),
    ),
    Action(
        "claim",
        label=_("claim"),
        service="case_claim",
        roles=(AGENT, SUPERVISOR),
        form=f.VersionedForm,
        serializer=s.ClaimSerializer,
        available=lambda case, user: (
            case.state not in FINAL_STATES and case.assignee_id is None and user.has_perm("aftersales.claim_case")
        ),
    ),
    Transition(
        "approve",
        label=_("approve"),
        service="case_approve",
        roles=(AGENT, SUPERVISOR),
        form=f.ApproveForm,
        serializer=s.ApproveSerializer,
        message=_approved,
    ),
    Transition(
        "auto_approve",
        label=_("approve automatically"),
        service="case_auto_approve",
        roles=(SYSTEM,),
        message=_approved,
    ),
    Transition(
        "reject",
        label=_("reject"),
        service="case_reject",
        roles=(AGENT, SUPERVISOR),
        form=f.ReasonForm,
        serializer=s.StaffReasonSerializer,
        message=_("Your request %(number)s was not accepted: %(reason)s"),
        dangerous=True,
    ),
    # ---- goods back and QC ---------------------------------------------------
    Transition(
        "ship_return",
        label=_("record the return shipment"),
        service="case_ship_return",
        roles=(CHANNEL, AGENT, SUPERVISOR),
        form=f.ReturnShipmentForm,
        serializer=s.ReturnShipmentSerializer,
        message=_return_shipped,
    ),
    Transition(
        "receive",
        label=_("receive the return"),
        service="case_receive",
        roles=(QC, SUPERVISOR),
        form=f.ReceiveForm,
        serializer=s.ReceiveSerializer,
        message=_("We have received the goods you sent back for %(number)s and are checking them."),
    ),
    Transition(
        "inspect",
        label=_("record the inspection"),
        service="case_inspect",
        roles=(QC, SUPERVISOR),
        form=f.InspectForm,
        serializer=s.InspectSerializer,
        message=_inspected,
    ),
    Action(
        "receive_inspect",
        label=_("receive and inspect"),
        service="case_receive_and_inspect",
        roles=(QC, SUPERVISOR),
        form=f.ReceiveInspectForm,
        available=_may_receive,
    ),
    # ---- the offer -------------------------------------------------------------
    Action(
        "add_compensation",
        label=_("propose compensation"),
        service="compensation_add",
        roles=(AGENT, SUPERVISOR),
        form=f.CompensationAddForm,
        serializer=s.CompensationAddSerializer,
        panel=False,
    ),
    Transition(
        "propose",
        label=_("send the offer"),
        service="case_submit_offer",  # within the sender's authority; above it the case takes submit_offer
        roles=(AGENT, SUPERVISOR),
        form=f.NoteForm,
        serializer=s.StaffNoteSerializer,
        message=_OFFER_READY,
    ),
    Action(
        "send_offer",
        label=_("send the offer"),
        service="case_send_offer",  # one compensation added and the offer sent, in one step
        roles=(AGENT, SUPERVISOR),
        form=f.SendOfferForm,
        available=_may_send_offer,
    ),
    Transition(
        "submit_offer",
        label=_("send the offer for a supervisor's approval"),
        service="case_submit_offer",
        roles=(AGENT, SUPERVISOR),
        form=f.NoteForm,
        serializer=s.StaffNoteSerializer,
        message=_("Our offer for %(number)s is being checked by a supervisor; you will have it shortly."),
        through="propose",
    ),
    Transition(
        "approve_offer",
        label=_("approve and send the offer"),
        service="case_approve_offer",
        roles=(SUPERVISOR,),
        form=f.OfferDecisionForm,
        serializer=s.StaffNoteSerializer,
        message=_OFFER_READY,
    ),
    Transition(
        "return_offer",
        label=_("return the offer to the agent"),
        service="case_return_offer",
        roles=(SUPERVISOR,),
        form=f.OfferReturnForm,
        serializer=s.StaffRequiredNoteSerializer,
        message=_("We are revising our offer for %(number)s and will send it to you shortly."),
        dangerous=True,
    ),
    # ---- the customer's answer -------------------------------------------------
    Transition(
        "confirm",
        label=_("confirm"),
        service="case_confirm",
        roles=(CHANNEL, AGENT, SUPERVISOR),
        form=f.NoteForm,
        serializer=s.StaffNoteSerializer,
        message=_accepted,
    ),
    Transition(
        "decline",
        label=_("decline the offer"),
        service="case_decline",
        roles=(CHANNEL, AGENT, SUPERVISOR),
        form=f.DeclineForm,
        serializer=s.StaffDeclineSerializer,
        message=_("You declined the offer for %(number)s; we will come back to you with a new one."),
    ),
    Action(
        "accept_counter",
        label=_("accept the customer's counter-offer"),
        label_for=lambda case: _counter_label(case),
        service="case_accept_counter",  # the counter-offer becomes the offer, sent within authority or to approval
        roles=(AGENT, SUPERVISOR),
        form=f.NoteForm,
        serializer=s.StaffNoteSerializer,
        available=lambda case, user: case.counter_amount is not None and _may_send_offer(case, user),
    ),
    Transition(
        "auto_confirm",
        label=_("confirm automatically"),
        service="case_auto_confirm",
        roles=(SYSTEM,),
        message=_accepted_by_default,
    ),
    # ---- goods out to the customer (a replacement, a gift, a resend) --------------------------
    Transition(
        "send_goods",
        label=_("dispatch the goods"),
        service="case_send_goods",
        roles=(QC, SUPERVISOR),
        form=f.DispatchForm,
        serializer=s.DispatchSerializer,
        message=_dispatched,
    ),
    Transition(
        "deliver",
        label=_("delivered to the customer"),
        service="case_deliver",
        roles=(SYSTEM,),
        message=_("Your goods for %(number)s were delivered: please confirm you received them before %(deadline)s."),
    ),
    Transition(
        "confirm_receipt",
        label=_("confirm receipt"),
        service="case_confirm_receipt",
        roles=(CHANNEL, AGENT, SUPERVISOR),
        form=f.NoteForm,
        serializer=s.StaffNoteSerializer,
        message=_("Thank you: %(number)s is complete. We would be glad to hear how we did."),
    ),
    Transition(
        "auto_confirm_receipt",
        label=_("confirm receipt automatically"),
        service="case_auto_confirm_receipt",
        roles=(SYSTEM,),
        message=_("%(number)s is complete: the delivery was taken as received after the deadline."),
    ),
    # ---- cancel and escalation -------------------------------------------------
    Transition(
        "cancel",
        label=_("cancel"),
        service="case_cancel",
        roles=(CHANNEL, AGENT, SUPERVISOR),
        form=f.OptionalReasonForm,
        serializer=s.StaffOptionalReasonSerializer,
        message=_("Your request %(number)s is cancelled."),
        dangerous=True,
    ),
    Transition(
        "expire",
        label=_("cancel: goods never sent back"),
        service="case_expire",
        roles=(SYSTEM,),
        message=_("Your request %(number)s is cancelled: the goods were not sent back in time."),
    ),
    Transition(
        "escalate",
        label=_("escalate"),
        service="case_escalate",
        roles=(CHANNEL, SUPERVISOR, SYSTEM),
        form=f.ReasonForm,
        serializer=s.StaffReasonSerializer,
        message=_("Your request %(number)s has been passed to a supervisor."),
        dangerous=True,
    ),
    Transition(
        "resolve_escalation",
        label=_("resolve the escalation"),
        service="case_resolve_escalation",
        roles=(SUPERVISOR,),
        form=f.ResolveEscalationForm,
        serializer=s.ResolveSerializer,
        message=_escalation_decided,
    ),
    # ---- on the side -----------------------------------------------------------
    Action(
        "triage",
        label=_("triage"),
        service="case_update",
        roles=(SUPERVISOR,),
        form=f.TriageForm,
        available=lambda case, user: _unfinished(case, user) and user.has_perm("aftersales.change_case"),
    ),
    Action(
        "note",
        label=_("add a note or reply"),
        service="case_add_note",
        roles=(AGENT, QC, SUPERVISOR, FINANCE),
        form=f.CaseNoteForm,
        available=lambda case, user: True,
    ),
    # ---- the care after the case ------------------------------------------------
    Action(
        "follow_up",
        label=_("record the follow-up visit"),
        service="follow_up_record",
        roles=(AGENT, SUPERVISOR),
        form=f.FollowUpForm,
        serializer=s.FollowUpSerializer,
        available=lambda case, user: _open_follow_up(case) and user.has_perm("aftersales.change_followup"),
    ),
    Action(
        "analyse_cause",
        label=_("record the cause analysis"),
        service="cause_analysis_record",
        roles=(AGENT, SUPERVISOR),
        form=f.CauseAnalysisForm,
        serializer=s.CauseAnalysisSerializer,
        available=lambda case, user: _analysable(case) and user.has_perm("aftersales.add_causeanalysis"),
    ),
    Action(
        "close_corrective_action",
        label=_("close the corrective action"),
        service="corrective_action_close",
        roles=(AGENT, SUPERVISOR),
        form=f.ResultForm,
        serializer=s.ResultSerializer,
        available=lambda case, user: _action_open_for(case, user),
    ),
    Action("reply", label=_("reply to the customer"), service=None, roles=(AGENT, SUPERVISOR), message="%(reply)s"),
    # ---- compensations ---------------------------------------------------------
    Transition(
        "approve",
        on=COMPENSATION,
        label=_("approve"),
        service="compensation_approve",
        roles=(AGENT, SUPERVISOR),
        form=f.CompensationNoteForm,
        serializer=s.CompensationNoteSerializer,
        message=INTERNAL,
        available=_offer_open_to,
    ),
    Transition(
        "reject",
        on=COMPENSATION,
        label=_("reject"),
        service="compensation_reject",
        roles=(AGENT, SUPERVISOR),
        form=f.CompensationRequiredNoteForm,
        serializer=s.CompensationRequiredNoteSerializer,
        message=INTERNAL,
        available=_offer_open_to,
    ),
    Transition(
        "void",
        on=COMPENSATION,
        label=_("void"),
        service="compensation_void",
        roles=(AGENT, SUPERVISOR),
        form=f.CompensationRequiredNoteForm,
        serializer=s.CompensationRequiredNoteSerializer,
        message=INTERNAL,
        available=_offer_open_to,
    ),
    Transition(
        "mark_paid",
        on=COMPENSATION,
        label=_("mark paid"),
        label_for=lambda comp: _("mark paid") if comp.is_cash else _("mark issued"),
        service="compensation_mark_paid",
        roles=(FINANCE, CHANNEL),  # a channel through its settlement report
        form=f.PayoutForm,
        serializer=s.PayoutSerializer,
        message=INTERNAL,
        available=_payable,
    ),
    Transition(
        "mark_failed",
        on=COMPENSATION,
        label=_("mark the payout failed"),
        label_for=lambda comp: _("mark the payout failed") if comp.is_cash else _("mark the issue failed"),
        service="compensation_mark_failed",
        roles=(FINANCE, CHANNEL),  # a channel through its settlement report
        form=f.CompensationRequiredNoteForm,
        serializer=s.CompensationRequiredNoteSerializer,
        message=INTERNAL,
        available=_may_fail,
    ),
)


#: Each open state's primary action on the case page: the first of these the user may take is shown first,
#: open and filled in; the others stay folded.
PRIMARY_ACTIONS: dict[str, tuple[str, ...]] = {
    S.PENDING_REVIEW: ("approve",),
    S.AWAITING_RETURN: ("receive_inspect", "ship_return"),
    S.RETURN_SHIPPED: ("receive_inspect",),
    S.IN_QC: ("inspect",),
    S.COMPENSATION: ("accept_counter", "send_offer", "propose"),
    S.AWAITING_APPROVAL: ("approve_offer",),
    S.AWAITING_CONFIRMATION: ("confirm",),
    S.AWAITING_DISPATCH: ("send_goods",),
    S.AWAITING_RECEIPT: ("confirm_receipt",),
    S.ESCALATED: ("resolve_escalation",),
}


def primary_action(state: str, names) -> str | None:
    """The primary action of ``state`` among the action ``names`` the user may take (``None``: nothing to lead)."""
    names = set(names)
    return next((name for name in PRIMARY_ACTIONS.get(state, ()) if name in names), None)


def action_label(name: str, on: str = CASE) -> str:
    return TRANSITIONS.label(name, on)


def event_label(name: str) -> str:
    """What a timeline row says happened: the event's own label (``EventName``), else its transition's."""
    if name in EventName.values:
        return str(EventName(name).label)
    return TRANSITIONS.label(name)


# --------------------------------------------------------------------------
# Stage clocks: whom each open state waits on, for how long, and what happens then
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class StageClock:
    waiting_on: str
    policy_field: str
    unit: str  # "hours" or "days"
    #: When the deadline passes: a system transition of the registry, or ``ALERT``.
    on_timeout: str
    #: The job that sweeps for it (one job, ``stage_alerts``, for every ``ALERT`` clock), and how often (seconds).
    sweep: str = "stage_alerts"
    every: int = 60


STAGE_CLOCKS: dict[str, StageClock] = {
    S.PENDING_REVIEW: StageClock(
        WaitingOn.MERCHANT, "review_timeout_hours", "hours", "auto_approve", "review_timeouts"
    ),
    S.AWAITING_RETURN: StageClock(WaitingOn.CUSTOMER, "return_ship_days", "days", "expire", "return_expiry", 300),
    S.RETURN_SHIPPED: StageClock(WaitingOn.CARRIER, "return_transit_days", "days", ALERT),
    S.IN_QC: StageClock(WaitingOn.WAREHOUSE, "qc_timeout_hours", "hours", ALERT),
    S.COMPENSATION: StageClock(WaitingOn.MERCHANT, "proposal_timeout_hours", "hours", ALERT),
    S.AWAITING_APPROVAL: StageClock(WaitingOn.SUPERVISOR, "approval_timeout_hours", "hours", ALERT),
    S.AWAITING_CONFIRMATION: StageClock(
        WaitingOn.CUSTOMER, "confirm_timeout_hours", "hours", "auto_confirm", "confirmation_timeouts"
    ),
    S.AWAITING_DISPATCH: StageClock(WaitingOn.WAREHOUSE, "dispatch_timeout_hours", "hours", ALERT),
    S.AWAITING_DELIVERY: StageClock(WaitingOn.CARRIER, "delivery_days", "days", ALERT),
    S.AWAITING_RECEIPT: StageClock(
        WaitingOn.CUSTOMER, "confirm_timeout_hours", "hours", "auto_confirm_receipt", "receipt_timeouts"
    ),
    S.ESCALATED: StageClock(WaitingOn.MERCHANT, "escalation_timeout_hours", "hours", ALERT),
}


def stage_clock(state: str, policy, since: datetime) -> tuple[str, datetime | None]:
    """``(waiting_on, due_at)`` for a case entering ``state`` at ``since``."""
    clock = STAGE_CLOCKS.get(state)
    if clock is None:
        return WaitingOn.NOBODY, None
    amount = getattr(policy, clock.policy_field)
    return clock.waiting_on, since + timedelta(**{clock.unit: amount})
