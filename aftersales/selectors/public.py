"""What a customer may know about their case — for the channel's API and the customer's progress page alike:
the state, whom it waits on and until when, the offer, the return address and parcel, the public timeline.
Never internal notes or staff names."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from aftersales.models import GRANTED_COMPENSATION_STATES, Case, CaseEvent, CaseState, Compensation, Evidence, Shipment
from aftersales.workflow.transitions import action_label

#: Events a customer may see on their case's timeline.
PUBLIC_EVENT_KINDS = (CaseEvent.Kind.OPENED, CaseEvent.Kind.TRANSITION, CaseEvent.Kind.REPLY)
#: States in which the customer still needs the return address.
RETURN_PENDING_STATES = (CaseState.AWAITING_RETURN, CaseState.RETURN_SHIPPED)


def public_cases() -> QuerySet[Case]:
    """Cases with what their public view shows, in a fixed number of queries."""
    return Case.objects.select_related("order", "policy_version").prefetch_related(
        Prefetch("events", queryset=CaseEvent.objects.filter(kind__in=PUBLIC_EVENT_KINDS).order_by("created_at", "id")),
        Prefetch("compensations", queryset=Compensation.objects.order_by("id")),
        Prefetch("shipments", queryset=Shipment.objects.filter(active=True).prefetch_related("scans")),
        Prefetch("uploads", queryset=Evidence.objects.select_related("case")),
    )


def public_label(event: CaseEvent) -> str:
    if event.kind == CaseEvent.Kind.REPLY:
        return str(_("Message from customer service"))
    if event.kind == CaseEvent.Kind.OPENED:
        return str(_("Request received"))
    return str(CaseState(event.to_state).label) if event.to_state else action_label(event.name)


def public_timeline(case: Case) -> list[dict]:
    """The steps the customer hears of, oldest first (a reply's or a rejection's words with it)."""
    rows = []
    for event in case.events.all():
        if event.kind not in PUBLIC_EVENT_KINDS:
            continue
        message = event.note if event.kind == CaseEvent.Kind.REPLY or event.name == "reject" else ""
        rows.append(
            {
                "at": event.created_at,
                "event": event.name or event.kind,
                "label": public_label(event),
                "state": event.to_state,
                "message": message,
            }
        )
    return rows


def public_offer(case: Case) -> list[Compensation]:
    """What an authorised person approved (or already paid); drafts awaiting approval are not an offer yet."""
    return [c for c in case.compensations.all() if c.state in GRANTED_COMPENSATION_STATES]


def active_return(case: Case) -> Shipment | None:
    return next((s for s in case.shipments.all() if s.active and s.direction == Shipment.Direction.RETURN), None)


def active_outbound(case: Case) -> Shipment | None:
    """The parcel the warehouse sent the customer (a replacement, a gift, a resend)."""
    return next((s for s in case.shipments.all() if s.active and s.direction == Shipment.Direction.OUTBOUND), None)
