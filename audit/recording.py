"""Writing audit entries. ``record`` takes the request when there is one (the actor and the address come from
it); code with no request in hand (signals) finds the current one through ``AuditContextMiddleware``."""

from __future__ import annotations

import ipaddress
from contextvars import ContextVar

from django.conf import settings

from audit.models import AuditEntry

Action = AuditEntry.Action

_current_request: ContextVar = ContextVar("audit_current_request", default=None)


class AuditContextMiddleware:
    """Remembers the request being served, so a receiver (a group changed, a user saved) knows who did it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


def current_request():
    return _current_request.get()


def client_ip(request) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or with ``NUM_PROXIES`` proxies in front the address the outermost
    one saw (the n-th from the right of ``X-Forwarded-For``); a forged header cannot pick another."""
    if request is None:
        return None
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if proxies and forwarded:
        address = forwarded[-min(proxies, len(forwarded))]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def record_unmasked(target: str, *, request=None, **detail) -> AuditEntry:
    """Someone was shown full phone numbers (a case's, a customer's, a list's): who, when, which."""
    return record(Action.UNMASKED_VIEW, request=request, target=target, detail={**detail, "field": "phone"})


def record(
    action: str,
    *,
    request=None,
    actor=None,
    actor_name: str = "",
    target: str = "",
    target_user=None,
    detail: dict | None = None,
    reason: str = "",
) -> AuditEntry:
    """Add one entry. The actor is ``actor``, else the request's signed-in user (``None`` for a job)."""
    request = request if request is not None else current_request()
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    if actor is not None and not actor_name:
        actor_name = actor.get_username()
    return AuditEntry.objects.create(
        action=action,
        actor=actor,
        actor_name=actor_name[:150],
        ip=client_ip(request),
        target=str(target)[:200],
        target_user=target_user,
        detail=detail or {},
        reason=reason,
    )
