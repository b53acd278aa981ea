"""The audit log in the admin: read-only, filterable, exportable (CSV/XLSX through django-import-export; every
export is itself an entry). Failed sign-ins with their counts, where a supervisor unlocks a locked account."""

from __future__ import annotations

import json

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from import_export import fields, resources
from import_export.admin import ExportMixin
from import_export.formats import base_formats

from audit.display import describe
from audit.models import AuditEntry
from audit.recording import Action, record
from config.pagination import CappedCountAdminMixin


def _person(user) -> str:
    return user.get_full_name() or user.get_username()


class AuditEntryResource(resources.ModelResource):
    at = fields.Field(attribute="at", column_name=_("at"))
    action = fields.Field(column_name=_("action"))
    actor_name = fields.Field(attribute="actor_name", column_name=_("username"))
    ip = fields.Field(attribute="ip", column_name=_("IP address"))
    target = fields.Field(attribute="target", column_name=_("concerning"))
    detail = fields.Field(attribute="detail", column_name=_("details"))
    reason = fields.Field(attribute="reason", column_name=_("reason"))

    class Meta:
        model = AuditEntry
        fields = ("at", "action", "actor_name", "ip", "target", "detail", "reason")
        export_order = fields

    def dehydrate_at(self, entry) -> str:
        return timezone.localtime(entry.at).strftime("%Y-%m-%d %H:%M:%S")

    def dehydrate_action(self, entry) -> str:
        return entry.get_action_display()

    def dehydrate_detail(self, entry) -> str:
        return json.dumps(entry.detail, ensure_ascii=False, sort_keys=True) if entry.detail else ""


@admin.register(AuditEntry)
class AuditEntryAdmin(CappedCountAdminMixin, ExportMixin, admin.ModelAdmin):
    resource_classes = [AuditEntryResource]
    export_formats = [base_formats.CSV, base_formats.XLSX]
    list_display = ("at", "action", "who", "ip", "concerning", "reason")
    list_select_related = ("actor", "target_user")
    fields = ("at", "action", "who", "actor_name", "ip", "concerning", "detail_text", "reason")
    readonly_fields = fields
    list_filter = ("action", ("at", admin.DateFieldListFilter))
    search_fields = ("=actor_name", "target", "=ip")
    search_help_text = _("Exact username or address, or part of what it concerns (a case number, a customer).")
    list_per_page = 100
    show_full_result_count = False

    @admin.display(description=_("by"), ordering="actor_name")
    def who(self, entry) -> str:
        """People by the name colleagues know them by; a failed sign-in by the username that was typed."""
        return _person(entry.actor) if entry.actor else entry.actor_name

    @admin.display(description=_("concerning"), ordering="target")
    def concerning(self, entry) -> str:
        return _person(entry.target_user) if entry.target_user else entry.target

    @admin.display(description=_("details"))
    def detail_text(self, entry) -> str:
        return describe(entry.detail)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_export_data(self, file_format, request, queryset, **kwargs):
        data = super().get_export_data(file_format, request, queryset, **kwargs)
        record(
            Action.EXPORT,
            request=request,
            target=str(AuditEntry._meta.verbose_name_plural),
            detail={"format": file_format.get_title(), "rows": queryset.count(), "filters": sorted(request.GET)},
        )
        return data


for model in (AccessAttempt, AccessLog, AccessFailureLog):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(AccessAttempt)
class LockoutAdmin(admin.ModelAdmin):
    """Recent failed sign-ins per username and address; deleting a row (the action "unlock") clears it."""

    list_display = ("attempt_time", "username", "ip_address", "path_info", "failures_since_start", "locked")
    list_filter = ("path_info",)
    search_fields = ("=username", "=ip_address")
    readonly_fields = ("username", "ip_address", "user_agent", "path_info", "attempt_time", "failures_since_start")
    fields = readonly_fields
    actions = ("unlock",)

    @admin.display(description=_("locked"), boolean=True)
    def locked(self, attempt) -> bool:
        return attempt.failures_since_start >= settings.AXES_FAILURE_LIMIT

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # "unlock" says what it does, and records who did it
        return actions

    @admin.action(description=_("Unlock: clear the selected failed sign-ins"), permissions=["delete"])
    def unlock(self, request, queryset):
        count = 0
        for attempt in queryset:
            record(
                Action.UNLOCKED,
                request=request,
                target=f"{attempt.username} @ {attempt.ip_address}",
                detail={
                    "username": attempt.username,
                    "ip": attempt.ip_address,
                    "failures": attempt.failures_since_start,
                },
            )
            attempt.delete()
            count += 1
        self.message_user(request, _("%(count)s sign-in lock(s) cleared.") % {"count": count}, messages.SUCCESS)

    def delete_model(self, request, obj):
        self.unlock(request, AccessAttempt.objects.filter(pk=obj.pk))


if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class AuthenticatorAdmin(admin.ModelAdmin):
    """Who has two-factor sign-in on. A lost phone: delete the device, and the person sets up a new one at their
    next sign-in (the secret itself is never shown here)."""

    list_display = ("person", "device_name", "is_confirmed", "added", "last_used")
    search_fields = ("=user__username",)
    list_select_related = ("user",)
    fields = ("person", "device_name", "is_confirmed", "added", "last_used")
    readonly_fields = fields

    @admin.display(description=_("user"), ordering="user__username")
    def person(self, device) -> str:
        return device.user.get_full_name() or device.user.get_username()

    @admin.display(description=_("name"))
    def device_name(self, device) -> str:
        return device.name

    @admin.display(description=_("set up"), boolean=True)
    def is_confirmed(self, device) -> bool:
        return device.confirmed

    @admin.display(description=_("added at"), ordering="created_at")
    def added(self, device):
        return device.created_at or "—"

    @admin.display(description=_("last used"), ordering="last_used_at")
    def last_used(self, device):
        return device.last_used_at or "—"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
