"""Parcels on their way: the carrier's scans as the tracking provider reports them, and the parcels that stop
moving. (The customer's report of a return parcel is a case transition: ``cases.case_ship_return``.)

A scan never changes the case's state — QC still receives the goods — but what it says shows on the case, the QC
bench and the timeline: delivered to the warehouse ("arrived, not yet received"), a delivery problem (alerted at
once), or no news for the policy's ``parcel_stuck_days`` (alerted once, until the next scan).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales.errors import NotAllowed
from aftersales.models import Case, CaseState, EventName, Shipment, ShipmentEvent
from aftersales.notifications.outbox import alert_staff
from aftersales.permissions import QC, SUPERVISOR
from aftersales.services._base import local_time, now
from aftersales.services.cases import deliver_locked
from aftersales.services.events import system_event
from aftersales.tracking.providers import Tracking
from aftersales.workflow.shipping import carrier_label

ST = Shipment.Status
#: Cases that still wait for a parcel (a cancelled case's parcel is no one's concern).
PARCEL_STATES = (CaseState.AWAITING_RETURN, CaseState.RETURN_SHIPPED, CaseState.AWAITING_DELIVERY)
#: Who hears of a returned parcel's trouble: the warehouse looks for it, a supervisor chases the carrier.
PARCEL_ALERTED = [QC, SUPERVISOR]


def _locked(shipment_id: int) -> tuple[Case, Shipment]:
    """The shipment with its case, the case row locked first (as every service of the case locks it)."""
    case_id = Shipment.objects.filter(pk=shipment_id).values_list("case_id", flat=True).get()
    case = Case.objects.select_for_update(of=("self",)).select_related("policy_version").get(pk=case_id)
    return case, Shipment.objects.select_for_update().get(pk=shipment_id)


def _parcel(shipment: Shipment) -> str:
    return f"{carrier_label(shipment.carrier)} {shipment.tracking_number}"


@transaction.atomic
def shipment_track(*, shipment_id: int, tracking: Tracking, at: datetime | None = None) -> int:
    """Record the scans not seen before; the parcel takes the status of its latest scan. Returns how many were new.

    A provider sends the whole history each time, so the same push twice records nothing twice.
    """
    at = now(at)
    case, shipment = _locked(shipment_id)
    if not shipment.active:
        raise NotAllowed(_("%(parcel)s was replaced by another parcel.") % {"parcel": _parcel(shipment)})
    if tracking.ended and shipment.delivered_at is None and shipment.subscribed_at is not None:
        # The provider stopped following a parcel still on its way: subscribe it again in the next window.
        shipment.subscribed_at, shipment.polled_at = None, at
        shipment.save(update_fields=["subscribed_at", "polled_at"])
    seen = set(shipment.scans.values_list("at", "description"))
    fresh = [scan for scan in tracking.scans if (scan.at, scan.description) not in seen]
    ShipmentEvent.objects.bulk_create(
        [
            ShipmentEvent(
                shipment=shipment,
                at=scan.at,
                status=scan.status,
                place=scan.place,
                description=scan.description,
                code=scan.code,
                recorded_at=at,
            )
            for scan in fresh
        ],
        ignore_conflicts=True,  # a push and a query racing for the same scan
    )
    if not fresh:
        return 0
    latest = max(tracking.scans, key=lambda scan: scan.at)
    before = shipment.status
    shipment.status = latest.status if shipment.delivered_at is None else ST.DELIVERED
    if shipment.last_scan_at is None or latest.at > shipment.last_scan_at:
        shipment.last_scan_at = shipment.quiet_since = latest.at
        shipment.stuck_alerted_at = None  # news again: a later silence alerts again
    fields = ["status", "last_scan_at", "quiet_since", "stuck_alerted_at"]
    if shipment.status == ST.DELIVERED and shipment.delivered_at is None:
        shipment.delivered_at = latest.at
        fields.append("delivered_at")
    shipment.save(update_fields=fields)
    if shipment.status != before and shipment.status in (ST.DELIVERED, ST.EXCEPTION):
        _tell(case, shipment, latest, at=at)
        if (
            shipment.status == ST.DELIVERED
            and shipment.direction == Shipment.Direction.OUTBOUND
            and case.state == CaseState.AWAITING_DELIVERY
        ):
            deliver_locked(case, at=at, note=_("Delivered: %(scan)s") % {"scan": latest.description})
    return len(fresh)


def _tell(case: Case, shipment: Shipment, scan, *, at: datetime) -> None:
    parcel = _parcel(shipment)
    if shipment.status == ST.DELIVERED:
        note = _("%(parcel)s was delivered on %(when)s: %(scan)s") % {
            "parcel": parcel,
            "when": local_time(scan.at),
            "scan": scan.description,
        }
        if shipment.direction == Shipment.Direction.RETURN:
            note += " " + _("Receive it at the warehouse.")
        system_event(case, name=EventName.PARCEL_DELIVERED, note=note, data={"shipment": shipment.pk}, at=at)
        return
    note = _("%(parcel)s has a delivery problem: %(scan)s") % {"parcel": parcel, "scan": scan.description}
    system_event(case, name=EventName.PARCEL_EXCEPTION, note=note, data={"shipment": shipment.pk}, at=at)
    alert_staff(
        PARCEL_ALERTED,
        subject=_("Parcel problem: %(number)s") % {"number": case.number},
        body=note,
        case=case,
        key=f"parcel:{shipment.pk}:exception:{scan.at:%Y%m%d%H%M}",
    )


@transaction.atomic
def shipment_stuck(*, shipment_id: int, at: datetime | None = None) -> Shipment:
    """A parcel on its way without news for the policy's ``parcel_stuck_days``: alert once (until the next scan)."""
    at = now(at)
    case, shipment = _locked(shipment_id)
    days = case.policy_version.parcel_stuck_days
    if (
        case.state not in PARCEL_STATES
        or not shipment.on_its_way
        or shipment.stuck_alerted_at is not None
        or shipment.quiet_since > at - timedelta(days=days)
    ):
        raise NotAllowed(_("%(parcel)s is not stuck.") % {"parcel": _parcel(shipment)})
    shipment.stuck_alerted_at = at
    shipment.save(update_fields=["stuck_alerted_at"])
    note = _("%(parcel)s: no news from the carrier since %(since)s (%(days)s days).") % {
        "parcel": _parcel(shipment),
        "since": local_time(shipment.quiet_since),
        "days": days,
    }
    system_event(case, name=EventName.PARCEL_STUCK, note=note, data={"shipment": shipment.pk}, at=at)
    alert_staff(
        PARCEL_ALERTED,
        subject=_("Parcel stuck: %(number)s") % {"number": case.number},
        body=note,
        case=case,
        key=f"parcel:{shipment.pk}:stuck:{shipment.quiet_since:%Y%m%d%H%M}",
    )
    return shipment
