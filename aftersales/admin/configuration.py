"""The admin of what supervisors configure: queues, problem categories, policies (versioned) and agents' authority."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from aftersales.admin.versions import VersionedAdmin
from aftersales.models import AgentProfile, Policy, ProblemCategory, Queue
from aftersales.replies.library import policy_version_effects


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "purpose", "is_default", "active")
    list_filter = ("purpose", "active")
    search_fields = ("name", "code")
    filter_horizontal = ("members",)


@admin.register(ProblemCategory)
class ProblemCategoryAdmin(admin.ModelAdmin):
    list_display = ("full_name", "level", "attribution", "sort_order", "active")
    list_filter = ("level", "attribution", "active")
    list_select_related = ("parent__parent",)
    search_fields = ("name", "parent__name", "parent__parent__name")
    autocomplete_fields = ("parent",)
    ordering = ("parent__parent__sort_order", "parent__sort_order", "sort_order", "name")

    def get_search_results(self, request, queryset, search_term):
        queryset, distinct = super().get_search_results(request, queryset, search_term)
        return queryset.select_related("parent__parent"), distinct


@admin.register(Policy)
class PolicyAdmin(VersionedAdmin):
    list_display = (
        "name",
        "channel",
        "active",
        "no_reason_return_days",
        "quality_return_days",
        "review_timeout_hours",
        "confirm_timeout_hours",
        "quick_refund_enabled",
        "default_agent_authority",
        "updated_at",
    )
    list_filter = ("active", "channel")
    search_fields = ("name",)
    history_list_display = ("review_timeout_hours", "confirm_timeout_hours", "default_agent_authority")
    fieldsets = (
        (None, {"fields": ("name", "channel", "active")}),
        (_("Return windows"), {"fields": ("no_reason_return_days", "quality_return_days")}),
        (
            _("Where goods come back"),
            {
                "fields": (
                    "return_recipient",
                    "return_phone",
                    "return_address",
                    "return_instructions",
                    "pickup_offered",
                )
            },
        ),
        (
            _("Stage clocks"),
            {
                "fields": (
                    "review_timeout_hours",
                    "return_ship_days",
                    "return_transit_days",
                    "parcel_stuck_days",
                    "qc_timeout_hours",
                    "dispatch_timeout_hours",
                    "delivery_days",
                    "proposal_timeout_hours",
                    "approval_timeout_hours",
                    "confirm_timeout_hours",
                    "escalation_timeout_hours",
                )
            },
        ),
        (
            _("Money"),
            {
                "fields": (
                    "quick_refund_enabled",
                    "quick_refund_min_credit",
                    "quick_refund_max_amount",
                    "shipping_insurance",
                    "return_shipping_allowance",
                    "default_agent_authority",
                    "refund_settlement",
                    "settlement_timeout_hours",
                )
            },
        ),
    )

    def has_delete_permission(self, request, obj=None):
        return False  # cases pin policy versions; deactivate instead

    change_form_template = "admin/aftersales/policy/change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "version_effects": policy_version_effects(int(object_id)) if str(object_id).isdigit() else [],
        }
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "authority_limit")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__first_name", "user__last_name")
    autocomplete_fields = ("user",)
    filter_horizontal = ("skills",)
