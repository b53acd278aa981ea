"""Delivering the outbox: email, SMS (Aliyun or Tencent Cloud), a mini-program subscription message, or a JSON
POST to a chat-group webhook (WeCom robot style).

``deliver_due`` claims due rows in a short transaction (``skip_locked``, so two
workers never take the same row), sends them outside any transaction, then
records the outcome: sent, or retried later with exponential back-off. After
``MAX_ATTEMPTS`` a row is marked failed — kept, visible in the admin, and
retryable — never dropped. A worker that dies mid-send leaves its rows
claimed only until ``CLAIM_SECONDS`` pass (each row's claim is renewed just
before it is sent); then another worker retries them. Delivery is at least
once: a receiver dedupes on the ``X-Aftersales-Event-Id`` header, the same for
every attempt of one message.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from datetime import time as dt_time
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.models import Notification, WebhookEndpoint
from aftersales.models.api import webhook_signature

log = logging.getLogger(__name__)

N = Notification.State
MAX_ATTEMPTS = 12
CLAIM_SECONDS = 60  # a killed worker's rows are taken over within a minute
BACKOFF_FIRST = 30  # seconds; doubles per attempt
BACKOFF_CAP = 3600


class DeliveryError(Exception):
    pass


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is a failed delivery, never followed (it could lead anywhere, as a GET)


_OPENER = urllib.request.build_opener(_NoRedirect)


def private_address(url: str, *, unresolved_ok: bool) -> str | None:
    """The non-public address (private, loopback, link-local, reserved…) ``url``'s host resolves to, if any.

    A host that does not resolve counts as public when ``unresolved_ok`` (saving: checked again at each send),
    and as a problem otherwise. Off with ``WEBHOOK_ALLOW_PRIVATE_HOSTS``."""
    if settings.WEBHOOK_ALLOW_PRIVATE_HOSTS:
        return None
    try:
        host = urlsplit(url).hostname or ""
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError):
        return None if unresolved_ok else (host or url)
    for *_ignored, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if not address.is_global:
            return str(address)
    return None


def refuse_private_url(url: str) -> None:
    """On saving a webhook (a channel's or a staff group's): refuse a host that is not a public address."""
    blocked = private_address(url, unresolved_ok=True)
    if blocked:
        raise ValidationError(
            _("The host resolves to %(address)s, which is not a public address."), params={"address": blocked}
        )


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min … capped at an hour."""
    return timedelta(seconds=min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** max(0, attempts - 1)))


def _post_json(url: str, payload: dict, *, signing_secret: str = "", event_id: int | None = None) -> None:
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if event_id is not None:  # the same on every attempt of one message: the receiver's key to drop a repeat
        headers["X-Aftersales-Event-Id"] = str(event_id)
    if signing_secret:  # channel systems check these before trusting the event
        timestamp = int(time.time())
        headers |= {
            "X-Aftersales-Timestamp": str(timestamp),
            "X-Aftersales-Signature": webhook_signature(signing_secret, timestamp, data),
        }
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            body = response.read(65536)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise DeliveryError(str(getattr(exc, "reason", exc))) from None
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        return
    if isinstance(answer, dict) and answer.get("errcode", 0) != 0:  # WeCom answers 200 with an error code
        raise DeliveryError(f"errcode {answer.get('errcode')}: {answer.get('errmsg', '')}")


def webhook_payload(notification: Notification, endpoint: WebhookEndpoint) -> dict:
    if endpoint.style == WebhookEndpoint.Style.WECOM:
        return {"msgtype": "text", "text": {"content": f"{notification.subject}\n{notification.body}"}}
    return {
        "subject": notification.subject,
        "text": notification.body,
        "kind": notification.kind,
        "data": notification.payload,
        "id": notification.pk,
    }


def quiet_until(at: datetime) -> datetime | None:
    """The end of the SMS quiet hours ``at`` falls in (``SMS_QUIET_HOURS``, e.g. ``21:00-08:00``, local time), or
    ``None`` outside them (or with no quiet hours set)."""
    spec = (getattr(settings, "SMS_QUIET_HOURS", "") or "").strip()
    if not spec:
        return None
    start_text, _sep, end_text = spec.partition("-")
    start, end = dt_time.fromisoformat(start_text.strip()), dt_time.fromisoformat(end_text.strip())
    local = timezone.localtime(at)
    now = local.time()
    if start <= end:
        quiet = start <= now < end
        day = local.date()
    else:  # over midnight
        quiet = now >= start or now < end
        day = local.date() + timedelta(days=1) if now >= start else local.date()
    if not quiet:
        return None
    return datetime.combine(day, end, tzinfo=local.tzinfo)


_MINI_PROGRAMS: dict[tuple, object] = {}


def _mini_program():
    """One client per configuration, so its access token is reused across messages."""
    from aftersales.notifications.providers import mini_program

    key = tuple(
        getattr(settings, name, "")
        for name in ("MINIPROGRAM_APP_ID", "MINIPROGRAM_APP_SECRET", "MINIPROGRAM_API_BASE", "MINIPROGRAM_STATE")
    )
    if key not in _MINI_PROGRAMS:
        _MINI_PROGRAMS[key] = mini_program()
    return _MINI_PROGRAMS[key]


def _send_text(notification: Notification) -> None:
    """An SMS or a mini-program message: the provider's template and its variables, from the payload."""
    from aftersales.notifications.providers import sms_provider

    payload = notification.payload or {}
    if notification.channel == Notification.Channel.SMS:
        provider = sms_provider()
        if provider is None:
            raise DeliveryError("SMS is not configured (SMS_PROVIDER)")
        provider.send(phone=notification.recipient, template=payload["template"], params=payload["variables"])
        return
    client = _mini_program()
    if client is None:
        raise DeliveryError("the mini-program is not configured (MINIPROGRAM_APP_ID)")
    client.send(
        openid=notification.recipient,
        template_id=payload["template"],
        data=payload["variables"],
        page=payload.get("page", ""),
    )


def send(notification: Notification) -> None:
    """Send one message; raises ``DeliveryError`` (or any error of the mail backend) on failure."""
    if notification.channel in (Notification.Channel.SMS, Notification.Channel.MINIPROGRAM):
        _send_text(notification)
        return
    if notification.channel == Notification.Channel.EMAIL:
        send_mail(
            notification.subject,
            notification.body,
            settings.DEFAULT_FROM_EMAIL,
            [notification.recipient],
            fail_silently=False,
        )
        return
    if notification.api_key_id is not None:
        key = notification.api_key
        if not key.active or not key.webhook_url:
            raise DeliveryError("the channel system's key is revoked or has no webhook")
        blocked = private_address(key.webhook_url, unresolved_ok=False)
        if blocked:  # the channel's own URL: checked at each send too, since DNS may change after it was saved
            raise DeliveryError(f"the webhook's host is not a public address ({blocked})")
        _post_json(key.webhook_url, notification.payload, signing_secret=key.webhook_secret, event_id=notification.pk)
        return
    endpoint = notification.endpoint
    if endpoint is None or not endpoint.active:
        raise DeliveryError("webhook endpoint missing or inactive")
    blocked = private_address(endpoint.url, unresolved_ok=False)
    if blocked:  # checked at each send as well as on save: DNS may change after it was saved
        raise DeliveryError(f"the webhook's host is not a public address ({blocked})")
    _post_json(endpoint.url, webhook_payload(notification, endpoint), event_id=notification.pk)


def _claim(limit: int, at: datetime, claim: datetime) -> list[Notification]:
    with transaction.atomic():
        rows = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(Q(state=N.PENDING) | Q(state=N.SENDING, locked_until__lt=at), next_attempt_at__lte=at)
            .select_related("endpoint", "api_key")
            .order_by("next_attempt_at", "id")[:limit]
        )
        if rows:
            Notification.objects.filter(pk__in=[r.pk for r in rows]).update(state=N.SENDING, locked_until=claim)
    return rows


def _renew(row: Notification, claim: datetime) -> datetime | None:
    """Extend this worker's claim on ``row`` just before sending; ``None`` when another worker took it over."""
    renewed = timezone.now() + timedelta(seconds=CLAIM_SECONDS)
    taken = Notification.objects.filter(pk=row.pk, state=N.SENDING, locked_until=claim).update(locked_until=renewed)
    return renewed if taken else None


def deliver_due(*, limit: int = 100, at: datetime | None = None) -> dict[str, int]:
    """Send what is due; returns ``{"sent": n, "retry": n, "failed": n}`` (``retry``: to be tried later, after a
    failure or because an SMS waits for the end of the quiet hours).

    Each row's claim is renewed right before it is sent and checked when the
    outcome is written, so a slow batch never overlaps another worker's.
    """
    at = at or timezone.now()
    outcome = {"sent": 0, "retry": 0, "failed": 0}
    claim = at + timedelta(seconds=CLAIM_SECONDS)
    for row in _claim(limit, at, claim):
        mine = _renew(row, claim)
        if mine is None:
            continue  # reclaimed by another worker after our claim ran out: theirs now
        ours = Notification.objects.filter(pk=row.pk, state=N.SENDING, locked_until=mine)
        wait = quiet_until(timezone.now()) if row.channel == Notification.Channel.SMS else None
        if wait is not None:  # no SMS at night: it goes when the quiet hours end, no attempt counted
            ours.update(state=N.PENDING, next_attempt_at=wait, locked_until=None)
            outcome["retry"] += 1
            continue
        try:
            send(row)
        except Exception as exc:
            attempts = row.attempts + 1
            failed = attempts >= MAX_ATTEMPTS or getattr(exc, "permanent", False)
            ours.update(
                state=N.FAILED if failed else N.PENDING,
                attempts=attempts,
                next_attempt_at=at + backoff(attempts),
                locked_until=None,
                last_error=str(exc)[:2000] or exc.__class__.__name__,
            )
            outcome["failed" if failed else "retry"] += 1
            log.warning("notification %s: attempt %s failed: %s", row.pk, attempts, exc)
            if getattr(exc, "permanent", False):
                _reroute(row)
        else:
            ours.update(
                state=N.SENT, attempts=row.attempts + 1, sent_at=timezone.now(), locked_until=None, last_error=""
            )
            outcome["sent"] += 1
    return outcome


def _reroute(row: Notification) -> None:
    """A message its carrier will never take (a customer without a mini-program subscription) goes another way."""
    from aftersales.notifications.outbox import reroute_customer_message  # the outbox imports this module

    try:
        reroute_customer_message(row)
    except Exception:
        log.exception("notification %s: could not send it another way", row.pk)


def retry_now(queryset) -> int:
    """Put failed (or waiting) rows back at the front of the queue (admin action); rows being sent are left alone."""
    now = timezone.now()
    return (
        queryset.exclude(state=N.SENT)
        .exclude(state=N.SENDING, locked_until__gt=now)
        .update(state=N.PENDING, next_attempt_at=now, locked_until=None)
    )
