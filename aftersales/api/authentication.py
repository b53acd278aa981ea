"""API keys of the channel systems (``Authorization: Api-Key ask_<prefix>_<secret>``) and their throttle."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle

from aftersales.models import ApiKey
from aftersales.permissions import STAFF_ROLES, roles_of

KEYWORD = b"api-key"


class ApiKeyAuthentication(BaseAuthentication):
    """The channel system's key; the request acts as the key's service account."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Send the key as “Authorization: Api-Key <key>”."))
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Unknown or revoked API key.")) from None
        split = ApiKey.split(raw)
        key = None
        if split is not None:
            key = ApiKey.objects.active().select_related("user").filter(prefix=split[0]).first()
        if key is None or not key.matches(split[1]) or not key.user.is_active:
            raise exceptions.AuthenticationFailed(_("Unknown or revoked API key."))
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return key.user, key

    def authenticate_header(self, request):
        return 'Api-Key realm="api"'


class StaffSessionAuthentication(SessionAuthentication):
    """Staff use the API from the workspace with their session (CSRF enforced)."""


class IsChannelSystem(BasePermission):
    message = _("This endpoint is for channel systems: authenticate with an API key.")

    def has_permission(self, request, view):
        return isinstance(request.auth, ApiKey)


class IsStaff(BasePermission):
    message = _("This endpoint is for after-sales staff.")

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated or isinstance(request.auth, ApiKey):
            return False
        return user.is_superuser or bool(roles_of(user) & set(STAFF_ROLES))


class ApiKeyThrottle(SimpleRateThrottle):
    """Each key has its own rate (``ApiKey.rate``)."""

    scope = "api_key"

    def __init__(self):  # the rate comes from the key, per request
        pass

    def allow_request(self, request, view):
        key = request.auth if isinstance(request.auth, ApiKey) else None
        if key is None:
            return True
        try:
            self.rate = key.rate
            self.num_requests, self.duration = self.parse_rate(self.rate)
        except (
            ValueError,
            KeyError,
            TypeError,
            IndexError,
        ):  # the model validates the rate; never fail a request on it
            self.rate, self.num_requests, self.duration = "120/min", 120, 60
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        return f"throttle_api_key_{request.auth.pk}"


class StaffThrottle(UserRateThrottle):
    scope = "staff"
