"""The audit log: who signed in (or failed to), who was locked out and unlocked, who changed whose permissions,
who saw unmasked personal data, who created or revoked an API key, who exported what, and every personal-data
export, erasure and retention run. Rows are only ever added (the admin shows them read-only)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        SIGN_IN = "sign_in", _("Signed in")
        SIGN_IN_FAILED = "sign_in_failed", _("Sign-in failed")
        LOCKED_OUT = "locked_out", _("Locked out")
        UNLOCKED = "unlocked", _("Unlocked")
        SIGN_OUT = "sign_out", _("Signed out")
        TWO_FACTOR_FAILED = "two_factor_failed", _("Wrong two-factor code")
        TWO_FACTOR_ADDED = "two_factor_added", _("Two-factor device added")
        TWO_FACTOR_REMOVED = "two_factor_removed", _("Two-factor device removed")
        PERMISSIONS_CHANGED = "permissions_changed", _("Permissions changed")
        UNMASKED_VIEW = "unmasked_view", _("Unmasked personal data viewed")
        API_KEY_CREATED = "api_key_created", _("API key created")
        API_KEY_ROTATED = "api_key_rotated", _("API key given a new secret")
        API_KEY_REVOKED = "api_key_revoked", _("API key revoked")
        EXPORT = "export", _("Data exported")
        PERSONAL_DATA_EXPORTED = "personal_data_exported", _("A customer's personal data exported")
        PERSONAL_DATA_ERASED = "personal_data_erased", _("A customer's personal data erased")
        RETENTION_ANONYMISED = "retention_anonymised", _("Customers anonymised by the retention period")

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    action = models.CharField(_("action"), max_length=30, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_name = models.CharField(
        _("username"), max_length=150, blank=True, help_text=_("As typed at a failed sign-in; kept if the user goes.")
    )
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    target = models.CharField(_("concerning"), max_length=200, blank=True)
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("concerning the user"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    detail = models.JSONField(_("details"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["action", "at"], name="audit_action_at"),
            models.Index(fields=["actor_name", "at"], name="audit_actor_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} #{self.pk}"
