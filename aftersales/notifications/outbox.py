"""Writing to the outbox, inside the caller's transaction.

Nothing is sent here: rows are written with the change they report and a job
delivers them after commit (``aftersales.notifications.delivery``). If the transaction rolls
back, the rows go with it and nobody hears of a change that did not happen.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from aftersales.batch import remembered
from aftersales.models import (
    GRANTED_COMPENSATION_STATES,
    ApiKey,
    Case,
    CaseState,
    MessageTemplate,
    Notification,
    WebhookEndpoint,
)
from aftersales.notifications.delivery import quiet_until
from aftersales.workflow.links import progress_url
from aftersales.workflow.shipping import return_details
from aftersales.workflow.transitions import TRANSITIONS
from customers.models import ContactChannel

log = logging.getLogger(__name__)


def _deliver_soon() -> None:
    """With Celery configured, deliver right after commit; otherwise ``run_jobs`` picks the rows up."""
    if not settings.CELERY_BROKER_URL:
        return

    def kick():
        try:
            from aftersales.tasks import deliver_notifications  # the Celery app imports the services: load late

            deliver_notifications.delay()
        except Exception:
            log.warning("could not queue notification delivery", exc_info=True)

    transaction.on_commit(kick)


def _channel_keys(case: Case) -> list[ApiKey]:
    return list(ApiKey.objects.active().filter(channel=case.channel).exclude(webhook_url=""))


def _channel_event(case: Case, keys: list[ApiKey], *, event: str, payload: dict, body: str) -> int:
    Notification.objects.bulk_create(
        [
            Notification(
                kind=Notification.Kind.CHANNEL_EVENT,
                channel=Notification.Channel.WEBHOOK,
                api_key=key,
                subject=f"{case.number} {event}"[:200],
                body=body,
                payload=payload,
                case=case,
            )
            for key in keys
        ]
    )
    _deliver_soon()
    return len(keys)


def request_refund(case: Case, comp) -> int:
    """``refund.requested`` to the channel systems of the case's channel: refund ``comp`` through the payment."""
    keys = _channel_keys(case)
    if not keys:
        return 0
    order = case.order
    payload = {
        "event": "refund.requested",
        "case": case.number,
        "order": order.number,
        "compensation": comp.pk,
        "amount": str(comp.amount),
        "currency": "CNY",
        "payment_method": order.payment_method,
        "payment_transaction_id": order.payment_transaction_id,
        "quick_refund": comp.quick_refund,
        "settle_by": timezone.localtime(comp.settlement_due_at).isoformat() if comp.settlement_due_at else None,
        "settlement_url": f"/api/v1/compensations/{comp.pk}/settlement/",
        "at": timezone.localtime().isoformat(),
    }
    return _channel_event(
        case, keys, event="refund.requested", payload=payload, body=f"{case.number}: refund #{comp.pk} ¥{comp.amount}"
    )


def notify_channel(case: Case, action: str, *, reply: str = "", note: str = "") -> int:
    """Progress event to the channel systems of the case's channel that registered a webhook (public data only)."""
    keys = _channel_keys(case)
    if not keys:
        return 0
    payload = {
        "event": action,
        "case": case.number,
        "order": case.order.number,
        "state": case.state,
        "waiting_on": case.waiting_on,
        "deadline": timezone.localtime(case.stage_due_at).isoformat() if case.stage_due_at else None,
        "at": timezone.localtime().isoformat(),  # Asia/Shanghai, like every time the API shows
        "progress_url": progress_url(case),
    }
    if reply:
        payload["message"] = reply
    payload.update(_event_details(case, action, note=note))
    return _channel_event(case, keys, event=action, payload=payload, body=f"{case.number}: {action} → {case.state}")


#: Transitions whose note the customer and the channel are told (the supervisor's reason for a decision).
NOTE_TOLD = ("resolve_escalation",)

#: Events that carry the offer the customer now has to answer.
OFFER_EVENTS = ("propose", "approve_offer")


def _event_details(case: Case, action: str, *, note: str = "") -> dict:
    """What a channel needs beyond the state: the offer's items, a rejection's reason, an escalation's decision."""
    if action in OFFER_EVENTS:
        offer = case.compensations.filter(state__in=GRANTED_COMPENSATION_STATES).order_by("id")
        return {
            "offer": [{"compensation": c.pk, "kind": c.kind, "amount": str(c.amount), "state": c.state} for c in offer],
            "offer_total": str(sum((c.amount for c in offer), Decimal("0.00"))),
        }
    if action == "resolve_escalation":
        return {"decision": case.state, "reason": note}
    if action in ("approve", "auto_approve") and case.state == CaseState.AWAITING_RETURN:
        details = return_details(case)
        send_by = details["send_by"]
        details["send_by"] = timezone.localtime(send_by).isoformat() if send_by else None
        details["shipment_url"] = f"/api/v1/cases/{case.number}/return-shipment/"
        return {"return": details}
    if action == "send_goods":
        parcel = case.shipments.filter(direction="outbound", active=True).values("carrier", "tracking_number").first()
        return {"outbound_shipment": parcel} if parcel else {}
    if action == "decline" and case.counter_amount is not None:
        return {
            "counter_offer": {
                "kind": case.counter_kind,
                "amount": str(case.counter_amount),
                "at": timezone.localtime(case.counter_at).isoformat(),
            }
        }
    if action == "ship_return":
        return {"return_shipment": {"carrier": case.return_carrier, "tracking_number": case.return_tracking_number}}
    if case.state == CaseState.REJECTED and action in ("reject", "inspect"):
        return {"reason": case.reject_reason}
    return {}


def notify_customer(case: Case, action: str, *, reply: str = "", note: str = "") -> Notification | None:
    """The customer hears about the step ``action`` of their case, the way they prefer (``Customer.notify_by``):
    a mini-program subscription message or an SMS where the step has a template for it and the carrier is
    configured, else email when we have their address. The channel systems of the case's channel get the progress
    event. ``note`` is the transition's note: only the messages that say so show it (an escalation's decision
    and its reason)."""
    message = TRANSITIONS.message(action)
    if message is None:
        return None
    note = note if action in NOTE_TOLD else ""
    notify_channel(case, action, reply=reply, note=note)
    route = customer_route(case, action)
    if route is None:
        return None
    with translation.override(settings.LANGUAGE_CODE):
        deadline = date_format(timezone.localtime(case.stage_due_at), "Y-m-d H:i") if case.stage_due_at else ""
        values = {
            "number": case.number,
            "order": case.order.number,
            "reason": case.reject_reason,
            "deadline": deadline,
            "reply": reply,
            "note": note,
        }
        body = str(message(case) if callable(message) else message) % values
        url = progress_url(case)
        body += "\n\n" + _("Follow your request here: %(url)s") % {"url": url}
        subject = _("After-sales %(number)s: %(state)s") % {"number": case.number, "state": case.get_state_display()}
        values = {**values, "state": str(case.get_state_display()), "url": url}
    payload = {"case": case.number, "order": case.order.number, "action": action, "state": case.state}
    return _write_customer_message(case, route, subject=subject, body=body, payload=payload, values=values)


def _write_customer_message(case: Case, route, *, subject: str, body: str, payload: dict, values: dict):
    channel, recipient, template = route
    payload = dict(payload)
    next_attempt = timezone.now()
    if template is not None:
        payload["values"] = values  # what a fallback to another carrier fills its own template with
        payload["template"] = template.template_code
        payload["variables"] = {
            name: _fit(channel, name, str(values.get(source, "")), source)
            for name, source in template.variables.items()
        }
        if template.page:
            payload["page"] = template.page
        if channel == Notification.Channel.SMS:
            next_attempt = quiet_until(next_attempt) or next_attempt  # no SMS at night
    row = Notification.objects.create(
        kind=Notification.Kind.CUSTOMER_PROGRESS,
        channel=channel,
        recipient=recipient,
        subject=subject[:200],
        body=body,
        payload=payload,
        case=case,
        next_attempt_at=next_attempt,
    )
    _deliver_soon()
    return row


def reroute_customer_message(row: Notification) -> Notification | None:
    """A mini-program message the customer cannot receive (no subscription left for it) goes the next way they
    have — SMS, else email — rather than being lost (the refused row stays, failed, with the reason)."""
    if row.kind != Notification.Kind.CUSTOMER_PROGRESS or row.case_id is None:
        return None
    payload = row.payload or {}
    route = customer_route(row.case, payload.get("action", ""), skip=(row.channel,))
    if route is None:
        return None
    base = {key: payload[key] for key in ("case", "order", "action", "state") if key in payload}
    values = payload.get("values") or {}
    return _write_customer_message(row.case, route, subject=row.subject, body=row.body, payload=base, values=values)


#: The ways a customer is reached when they named none, in this order.
DEFAULT_ROUTE = (ContactChannel.MINIPROGRAM, ContactChannel.SMS, ContactChannel.EMAIL)


def customer_route(
    case: Case, action: str, *, skip: tuple[str, ...] = ()
) -> tuple[str, str, MessageTemplate | None] | None:
    """``(channel, recipient, template)`` of the message about ``action``, or ``None`` (nobody to send to, or the
    customer wants no messages). SMS and mini-program messages need the step's template and the carrier's
    settings; without them the message goes by email."""
    customer = case.customer
    if customer.notify_by == ContactChannel.NONE:
        return None
    ways = tuple(way for way in ((customer.notify_by,) if customer.notify_by else DEFAULT_ROUTE) if way not in skip)
    reachable = {
        ContactChannel.MINIPROGRAM: bool(customer.miniprogram_openid and settings.MINIPROGRAM_APP_ID),
        ContactChannel.SMS: bool(customer.phone and settings.SMS_PROVIDER),
    }
    wanted = [way for way in ways if reachable.get(way)]
    templates = (
        {t.channel: t for t in MessageTemplate.objects.filter(event=action, channel__in=wanted, active=True)}
        if wanted
        else {}
    )
    for way in wanted:
        if way in templates:
            recipient = customer.miniprogram_openid if way == ContactChannel.MINIPROGRAM else customer.phone
            return way, recipient, templates[way]
    if customer.email and Notification.Channel.EMAIL not in skip:
        return Notification.Channel.EMAIL, customer.email, None
    return None


#: The longest value each kind of mini-program template field takes (WeChat's subscription-message rules), by the
#: field name's prefix; an SMS variable takes at most ``SMS_VARIABLE_MAX`` characters.
MINIPROGRAM_FIELD_MAX = {"thing": 20, "character_string": 32, "phrase": 5, "name": 10, "number": 32, "letter": 32}
SMS_VARIABLE_MAX = 35


#: Values never cut: a cut link leads nowhere (map it to a variable long enough for it).
UNCUT = ("url",)


def _fit(channel: str, name: str, value: str, source: str = "") -> str:
    """A variable's value cut to what the carrier accepts (a longer one refuses the whole message); an empty one
    as a dash (the carriers refuse empty values)."""
    if not value.strip():
        return "—"
    if source in UNCUT:
        return value
    if channel == Notification.Channel.SMS:
        limit = SMS_VARIABLE_MAX
    else:
        prefix = name.rstrip("0123456789")
        limit = MINIPROGRAM_FIELD_MAX.get(prefix)
    if limit is None or len(value) <= limit:
        return value
    return value[: limit - 1] + "…"


def _alert_recipients(roles: set[str], user_ids: tuple[int, ...] | None) -> tuple[list[str], list[WebhookEndpoint]]:
    """The emails of the active users of ``roles`` (of ``user_ids`` only, when given), and the webhooks listening."""
    users = get_user_model().objects.filter(is_active=True, groups__name__in=roles)
    if user_ids is not None:
        users = users.filter(pk__in=user_ids)
    emails = sorted(set(users.exclude(email="").values_list("email", flat=True)))
    endpoints = [e for e in WebhookEndpoint.objects.filter(active=True) if roles & set(e.audience or [])]
    return emails, endpoints


def alert_staff(
    roles: Iterable[str],
    *,
    subject: str,
    body: str,
    case: Case | None = None,
    key: str | None = None,
    user_ids: Iterable[int] | None = None,
) -> int:
    """An alert to every active user of ``roles`` with an email (only those of ``user_ids``, when given: e.g. the
    supervisors of one queue), and to the webhooks listening for them.

    ``key`` makes the alert idempotent: a sweep that sees the same cause again writes nothing more.
    Returns the number of rows written.
    """
    roles = set(roles)
    user_ids = None if user_ids is None else tuple(sorted(user_ids))
    emails, endpoints = remembered(
        ("alert recipients", frozenset(roles), user_ids), lambda: _alert_recipients(roles, user_ids)
    )
    payload = {"subject": subject, "case": case.number if case else None, "roles": sorted(roles)}
    rows = [
        Notification(
            kind=Notification.Kind.STAFF_ALERT,
            channel=Notification.Channel.EMAIL,
            recipient=email,
            subject=subject[:200],
            body=body,
            payload=payload,
            case=case,
            dedupe_key=_dedupe(key, f"m:{email}") if key else None,
        )
        for email in emails
    ]
    rows += [
        Notification(
            kind=Notification.Kind.STAFF_ALERT,
            channel=Notification.Channel.WEBHOOK,
            endpoint=endpoint,
            subject=subject[:200],
            body=body,
            payload=payload,
            case=case,
            dedupe_key=_dedupe(key, f"w:{endpoint.pk}") if key else None,
        )
        for endpoint in endpoints
    ]
    if key:
        existing = set(
            Notification.objects.filter(dedupe_key__in=[r.dedupe_key for r in rows]).values_list(
                "dedupe_key", flat=True
            )
        )
        rows = [r for r in rows if r.dedupe_key not in existing]
    if not rows:
        return 0
    # A concurrent sweep writing the same alert loses on the unique key, quietly.
    Notification.objects.bulk_create(rows, ignore_conflicts=bool(key))
    _deliver_soon()
    return len(rows)


def _dedupe(key: str, destination: str) -> str:
    """``key`` + destination, hashed when too long for the column (never truncated into a collision)."""
    full = f"{key}:{destination}"
    if len(full) <= 120:
        return full
    return f"{key[:50]}:{hashlib.sha256(full.encode()).hexdigest()}"
