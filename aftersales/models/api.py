"""API keys of the channel systems, and the idempotency records that make their retries safe."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.models.cases import Case
from customers.models import Channel

KEY_PREFIX = "ask"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_webhook_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``<timestamp>.<body>``: what a channel system recomputes to trust a POST."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """One channel system's key. Only a hash of the secret is stored; the key is shown once, when created."""

    name = models.CharField(_("name"), max_length=60)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acts as"),
        on_delete=models.PROTECT,
        related_name="api_keys",
        help_text=_("The channel's service account (group “channel”): the actor recorded on the cases."),
    )
    prefix = models.CharField(_("key prefix"), max_length=12, unique=True, editable=False)
    secret_hash = models.CharField(_("key hash"), max_length=64, editable=False)
    rate = models.CharField(
        _("rate limit"),
        max_length=20,
        default="120/min",
        validators=[
            RegexValidator(
                r"^[1-9][0-9]{0,6}/(s|sec|second|m|min|minute|h|hour|d|day)$",
                _("Write a number of requests per second, minute, hour or day, e.g. 120/min."),
            )
        ],
        help_text=_("Requests per second, minute, hour or day, e.g. 120/min."),
    )
    webhook_url = models.URLField(
        _("progress webhook"),
        max_length=500,
        blank=True,
        help_text=_("Progress events of this channel's cases are POSTed here (JSON)."),
    )
    webhook_secret = models.CharField(
        _("webhook signing secret"),
        max_length=64,
        editable=False,
        default=new_webhook_secret,
        help_text=_("Signs each webhook POST (HMAC-SHA256); the channel system reads it from GET /api/v1/webhook/."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["channel", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_channel_display()}, {self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def issue(self) -> str:
        """Give the key a new secret (and a new webhook signing secret); returns the full key
        (``ask_<prefix>_<secret>``), shown only this once."""
        self.webhook_secret = new_webhook_secret()
        return self.set_key(secrets.token_hex(5), secrets.token_urlsafe(32))

    def set_key(self, prefix: str, secret: str) -> str:
        """Use this prefix and secret (the demo key's are fixed); returns the full key."""
        self.prefix, self.secret_hash = prefix, _digest(secret)
        return f"{KEY_PREFIX}_{prefix}_{secret}"

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, _digest(secret))

    @staticmethod
    def split(raw: str) -> tuple[str, str] | None:
        parts = (raw or "").strip().split("_", 2)
        if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
            return None
        return parts[1], parts[2]


class IdempotencyRecord(models.Model):
    """The case a channel's ``Idempotency-Key`` created, so a retry gets the same case, not a second one."""

    api_key = models.ForeignKey(ApiKey, verbose_name=_("API key"), on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("idempotency key"), max_length=100)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE, null=True, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_unique_key_per_api_key"),
            models.CheckConstraint(condition=~Q(key=""), name="idempotency_key_not_empty"),
        ]

    def __str__(self) -> str:
        return self.key


__all__ = ["ApiKey", "IdempotencyRecord"]
