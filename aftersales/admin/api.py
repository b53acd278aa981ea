"""API keys of the channel systems: created and revoked here; the key is shown once, only a hash is kept."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.models import ApiKey
from aftersales.notifications.delivery import refuse_private_url
from aftersales.permissions import CHANNEL
from audit.recording import Action, record


def _key_label(key: ApiKey) -> str:
    return f"API key {key.prefix} ({key.name})"


def _https_by_default(field, **kwargs):
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return field.formfield(**kwargs)


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = "__all__"
        formfield_callback = _https_by_default

    def clean_webhook_url(self):
        url = self.cleaned_data.get("webhook_url", "")
        if url:
            refuse_private_url(url)
        return url


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = (
        "name",
        "channel",
        "prefix",
        "user",
        "rate",
        "webhook_url",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("channel",)
    list_select_related = ("user",)
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    fields = ("name", "channel", "user", "rate", "webhook_url", "prefix", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke", "rotate")
    formfield_overrides = {models.URLField: {"form_class": forms.URLField, "assume_scheme": "https"}}

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = (
                get_user_model().objects.filter(groups__name=CHANNEL, is_active=True).order_by("username")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change:
            raw = obj.issue()
            super().save_model(request, obj, form, change)
            record(Action.API_KEY_CREATED, request=request, target=_key_label(obj), detail={"channel": obj.channel})
            self._show_once(request, obj, raw)
            return
        super().save_model(request, obj, form, change)

    def _show_once(self, request, obj, raw: str) -> None:
        self.message_user(
            request,
            _("The key of %(name)s is %(key)s — copy it now: it is stored only as a hash and will not be shown again.")
            % {"name": obj.name, "key": raw},
            messages.WARNING,
        )

    @admin.action(description=_("Revoke the selected keys"), permissions=["change"])
    def revoke(self, request, queryset):
        count = 0
        for key in queryset.filter(revoked_at__isnull=True):
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            record(Action.API_KEY_REVOKED, request=request, target=_key_label(key), detail={"channel": key.channel})
            count += 1
        self.message_user(request, _("%(count)s key(s) revoked.") % {"count": count}, messages.SUCCESS)

    @admin.action(
        description=_("Issue a new secret for the selected keys (the old one stops working)"), permissions=["change"]
    )
    def rotate(self, request, queryset):
        for key in queryset.filter(revoked_at__isnull=True):
            old = _key_label(key)
            raw = key.issue()
            key.save(update_fields=["prefix", "secret_hash", "webhook_secret"])
            record(Action.API_KEY_ROTATED, request=request, target=_key_label(key), detail={"was": old})
            self._show_once(request, key, raw)

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: cases and events keep pointing at the key's service account
