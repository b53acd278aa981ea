"""A customer's personal data (PIPL): everything we hold about one customer, exported for them; erased on their
request or when the retention period has passed.

Erasing replaces what identifies the person — name, phone, email, region, the channel's customer id, shipping
addresses, evidence files, and those values wherever staff or carriers wrote them into notes, messages and scans
— by placeholders. Cases, lines, amounts, states, times, ratings and keywords stay, so every figure and report
is unchanged.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.errors import NotAllowed
from aftersales.models import (
    FINAL_STATES,
    Case,
    CaseEvent,
    CaseKeyword,
    CauseAnalysis,
    Compensation,
    Evidence,
    FollowUp,
    Inspection,
    InspectionPhoto,
    Notification,
    ShipmentEvent,
)
from audit.recording import Action, record
from customers.models import Customer, CustomerRiskFlag, Order

if TYPE_CHECKING:
    from django.contrib.auth.models import User

#: What an erased value reads as.
ERASED = "（已删除）"
#: An address that can never receive mail (RFC 2606), for messages sent to an erased customer.
ERASED_ADDRESS = "erased@example.invalid"
#: Shorter values (a one-character name) are not searched for inside free text: they would hit ordinary words.
MIN_SCRUB_LENGTH = 2
#: The channel's customer id is searched for in free text only from this length.
MIN_ID_LENGTH = 6
RETENTION_BATCH = 200


def _local(value: datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value else None


def personal_data(customer: Customer) -> dict:
    """Everything we hold about ``customer`` that is about them, as plain JSON-ready data."""
    orders = customer.orders.prefetch_related("lines").order_by("placed_at", "id")
    cases = (
        Case.objects.filter(customer=customer)
        .select_related("order", "category", "follow_up")
        .prefetch_related("lines__order_line", "compensations", "uploads", "events", "shipments__scans")
        .order_by("opened_at", "id")
    )
    return {
        "customer": {
            "id": customer.pk,
            "name": customer.name,
            "phone": customer.phone,
            "email": customer.email,
            "miniprogram_openid": customer.miniprogram_openid,
            "notify_by": customer.notify_by,
            "region": customer.region,
            "tier": customer.tier,
            "channel": customer.channel,
            "channel_customer_id": customer.external_id,
            "credit_score": customer.credit_score,
            "risk_flags": customer.risk_flags,
            "created_at": _local(customer.created_at),
            "erased_at": _local(customer.erased_at),
        },
        "orders": [
            {
                "number": order.number,
                "channel": order.channel,
                "placed_at": _local(order.placed_at),
                "paid_at": _local(order.paid_at),
                "delivered_at": _local(order.delivered_at),
                "payment_method": order.payment_method,
                "shipping_address": order.shipping_address,
                "lines": [
                    {
                        "sku": line.sku,
                        "product": line.product_name,
                        "quantity": line.quantity,
                        "amount": str(line.amount),
                    }
                    for line in order.lines.all()
                ],
            }
            for order in orders
        ],
        "cases": [
            {
                "number": case.number,
                "order": case.order.number,
                "request_type": case.request_type,
                "state": case.state,
                "reason": case.reason,
                "opened_at": _local(case.opened_at),
                "closed_at": _local(case.closed_at),
                "rating": case.csat,
                "lines": [{"sku": line.order_line.sku, "quantity": line.quantity} for line in case.lines.all()],
                "compensations": [
                    {"kind": c.kind, "amount": str(c.amount), "state": c.state, "paid_at": _local(c.paid_at)}
                    for c in case.compensations.all()
                ],
                "evidence_files": [
                    {"name": e.original_name, "type": e.content_type, "uploaded_at": _local(e.uploaded_at)}
                    for e in case.uploads.all()
                ],
                "follow_up": _follow_up_data(case.follow_up_or_none),
                "messages": [
                    {"at": _local(event.created_at), "step": event.name, "note": event.note}
                    for event in case.events.all()
                    if event.note
                ],
                "parcels": [
                    {
                        "carrier": parcel.carrier,
                        "tracking_number": parcel.tracking_number,
                        "scans": [
                            {"at": _local(scan.at), "place": scan.place, "description": scan.description}
                            for scan in parcel.scans.all()
                        ],
                    }
                    for parcel in case.shipments.all()
                ],
            }
            for case in cases
        ],
        "messages_sent": [
            {"at": _local(n.created_at), "channel": n.channel, "to": n.recipient, "subject": n.subject}
            for n in Notification.objects.filter(case__customer=customer, kind=Notification.Kind.CUSTOMER_PROGRESS)
            .only("created_at", "channel", "recipient", "subject")
            .order_by("id")
        ],
    }


def export_personal_data(*, customer_id: int, actor: User, request=None) -> dict:
    """The export a supervisor hands to the customer; recorded in the audit log."""
    customer = Customer.objects.get(pk=customer_id)
    data = personal_data(customer)
    record(
        Action.PERSONAL_DATA_EXPORTED,
        request=request,
        actor=actor,
        target=f"customer #{customer.pk}",
        detail={"customer": customer.pk, "cases": len(data["cases"]), "orders": len(data["orders"])},
    )
    return data


def _follow_up_data(follow_up) -> dict | None:
    """What we noted when we called the customer back (回访)."""
    if follow_up is None:
        return None
    return {
        "reasons": follow_up.reasons,
        "state": follow_up.state,
        "calls": follow_up.attempts,
        "reached": follow_up.reached,
        "satisfied": follow_up.satisfied,
        "notes": follow_up.notes,
        "done_at": _local(follow_up.done_at),
    }


def _identifiers(customer: Customer, orders: list[Order]) -> list[str]:
    values = {customer.name, customer.phone, customer.email, customer.miniprogram_openid}
    values |= {order.shipping_address for order in orders}
    if len(customer.external_id) >= MIN_ID_LENGTH:  # a short id ("12") would hit ordinary numbers in the text
        values.add(customer.external_id)
    # Longest first, so an address is replaced whole before the name inside it.
    return sorted((v for v in values if v and len(v) >= MIN_SCRUB_LENGTH), key=len, reverse=True)


def _scrub(text: str, identifiers: list[str]) -> str:
    for value in identifiers:
        if value in text:
            text = text.replace(value, ERASED)
    return text


def _scrub_json(data, identifiers: list[str]):
    """The same structure with the identifiers replaced inside its strings (keys, numbers and the shape kept)."""
    if isinstance(data, str):
        return _scrub(data, identifiers)
    if isinstance(data, list):
        return [_scrub_json(item, identifiers) for item in data]
    if isinstance(data, dict):
        return {key: _scrub_json(value, identifiers) for key, value in data.items()}
    return data


def _scrub_rows(queryset, fields: tuple[str, ...], identifiers: list[str], *, json_fields: tuple[str, ...] = ()) -> int:
    """Rewrite the text (and JSON) fields of the rows that contain an identifier; returns how many changed."""
    changed = 0
    for row in queryset.only("pk", *fields, *json_fields):
        updates = {}
        for name in fields:
            value = getattr(row, name) or ""
            new = _scrub(value, identifiers)
            if new != value:
                updates[name] = new
        for name in json_fields:
            value = getattr(row, name)
            new = _scrub_json(value, identifiers)
            if new != value:
                updates[name] = new
        if updates:
            type(row).objects.filter(pk=row.pk).update(**updates)
            changed += 1
    return changed


def _erase(customer: Customer, *, at: datetime) -> dict:
    """Replace the customer's personal data by placeholders (inside the caller's transaction)."""
    orders = list(customer.orders.only("pk", "shipping_address"))
    identifiers = _identifiers(customer, orders)
    cases = Case.objects.filter(customer=customer)
    counts = {
        "cases": _scrub_rows(cases, ("reason", "reject_reason"), identifiers, json_fields=("evidence",)),
        "events": _scrub_rows(
            CaseEvent.objects.filter(case__customer=customer), ("note",), identifiers, json_fields=("data",)
        ),
        "compensations": _scrub_rows(
            Compensation.objects.filter(case__customer=customer), ("note", "decision_note"), identifiers
        ),
        "inspections": _scrub_rows(Inspection.objects.filter(case__customer=customer), ("findings",), identifiers),
        # What the agent noted on the call back, and the complaint's analysis, may name the customer.
        "follow_ups": _scrub_rows(FollowUp.objects.filter(case__customer=customer), ("notes",), identifiers),
        "cause_analyses": _scrub_rows(
            CauseAnalysis.objects.filter(case__customer=customer),
            ("root_cause", "corrective_action", "result"),
            identifiers,
        ),
        "scans": _scrub_rows(
            ShipmentEvent.objects.filter(shipment__case__customer=customer), ("place", "description"), identifiers
        ),
        "notifications": _scrub_rows(
            Notification.objects.filter(case__customer=customer),
            ("subject", "body", "last_error"),  # a mail server's refusal names the address
            identifiers,
            json_fields=("payload",),
        ),
        "risk_flags": _scrub_rows(CustomerRiskFlag.objects.filter(customer=customer), ("justification",), identifiers),
    }
    addresses = [value for value in (customer.email, customer.phone, customer.miniprogram_openid) if value]
    if addresses:
        # The address, number or openid goes; a message not sent yet is not sent (kept as failed, with the reason).
        to_customer = Notification.objects.filter(case__customer=customer, recipient__in=addresses)
        to_customer.exclude(state=Notification.State.SENT).update(
            state=Notification.State.FAILED, locked_until=None, last_error="personal data erased"
        )
        to_customer.update(recipient=ERASED_ADDRESS)
    CaseKeyword.objects.filter(case__customer=customer, word__in=identifiers).delete()
    # The customer's photos and videos, and QC's photos of the parcel (its label shows name, phone and address):
    # the rows lose their file at once, the stored files go once the erasure has committed.
    stored = []
    evidence = Evidence.objects.filter(case__customer=customer).exclude(file="")
    stored += [(row.file.storage, row.file.name) for row in evidence.only("pk", "file")]
    counts["evidence_files"] = evidence.update(file="", original_name=ERASED)
    photos = InspectionPhoto.objects.filter(inspection__case__customer=customer).exclude(image="")
    stored += [(row.image.storage, row.image.name) for row in photos.only("pk", "image")]
    counts["inspection_photos"] = photos.update(image="", original_name=ERASED)

    def delete_files():
        for storage, name in stored:
            storage.delete(name)

    transaction.on_commit(delete_files)
    counts["orders"] = Order.objects.filter(customer=customer).exclude(shipping_address="").update(shipping_address="")
    customer.name = f"{ERASED} #{customer.pk}"
    customer.phone = ""
    customer.email = ""
    customer.region = ""
    customer.external_id = ""
    customer.miniprogram_openid = ""
    customer.erased_at = at
    customer.save(
        update_fields=[
            "name",
            "phone",
            "email",
            "region",
            "external_id",
            "miniprogram_openid",
            "erased_at",
            "updated_at",
        ]
    )
    return counts


def erase_customer(
    *, customer_id: int, actor: User | None, reason: str, request=None, at: datetime | None = None
) -> dict:
    """Erase one customer's personal data on their request; refused while one of their cases is still open (its
    return and payout need the address and phone). Returns how many rows of each kind changed."""
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the data is erased (the customer's request, its date).")})
    at = at or timezone.now()
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        if customer.erased_at is not None:
            raise NotAllowed(_("This customer's personal data was already erased."))
        open_cases = list(
            Case.objects.filter(customer=customer).exclude(state__in=FINAL_STATES).values_list("number", flat=True)[:5]
        )
        if open_cases:
            raise NotAllowed(
                _("Cases %(numbers)s are still open: finish them before erasing the customer's data.")
                % {"numbers": "、".join(open_cases)}
            )
        counts = _erase(customer, at=at)
        record(
            Action.PERSONAL_DATA_ERASED,
            request=request,
            actor=actor,
            target=f"customer #{customer.pk}",
            detail={"customer": customer.pk, **counts},
            reason=reason.strip(),
        )
    return counts


def months_before(at: datetime, months: int) -> datetime:
    """The same local day and time ``months`` calendar months earlier (the month's last day if shorter)."""
    import calendar

    local = timezone.localtime(at)
    index = local.year * 12 + local.month - 1 - months
    year, month = divmod(index, 12)
    day = min(local.day, calendar.monthrange(year, month + 1)[1])
    return local.replace(year=year, month=month + 1, day=day)


def expired_customers(at: datetime, months: int):
    """Customers not erased yet with no open case, no case closed and no order placed in the last ``months``."""
    cutoff = months_before(at, months)
    recent_case = Case.objects.filter(customer=OuterRef("pk")).filter(
        Q(closed_at__isnull=True) | Q(closed_at__gte=cutoff)
    )
    recent_order = Order.objects.filter(customer=OuterRef("pk"), placed_at__gte=cutoff)
    return Customer.objects.filter(erased_at__isnull=True, created_at__lt=cutoff).exclude(
        Exists(recent_case) | Exists(recent_order)
    )


def anonymise_expired_customers(*, at: datetime | None = None, limit: int = RETENTION_BATCH) -> tuple[int, bool]:
    """The retention job: anonymise up to ``limit`` customers past ``PERSONAL_DATA_RETENTION_MONTHS`` (off at 0),
    each in its own transaction; one audit entry per run. Returns (how many, whether the batch was full)."""
    months = settings.PERSONAL_DATA_RETENTION_MONTHS
    if months <= 0:
        return 0, False
    at = at or timezone.now()
    ids = list(expired_customers(at, months).order_by("id").values_list("pk", flat=True)[:limit])
    done = []
    for pk in ids:
        with transaction.atomic():
            customer = expired_customers(at, months).select_for_update(skip_locked=True).filter(pk=pk).first()
            if customer is None:
                continue  # a new order or case arrived meanwhile, or another run took it
            _erase(customer, at=at)
            done.append(pk)
    if done:
        record(
            Action.RETENTION_ANONYMISED,
            target=_("%(count)s customers") % {"count": len(done)},
            detail={"customers": done, "months": months, "count": len(done)},
            reason=_("Retention period of %(months)s months passed") % {"months": months},
        )
    return len(done), len(ids) == limit and bool(done)
