"""Admin for the response-template library: versions with a change reason and a diff, effect data per
version (exportable), the uses, and the monthly health reports."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from aftersales.admin.versions import VersionedAdmin
from aftersales.models import HealthReport, ResponseTemplate, TemplateUse
from aftersales.replies.library import effects_table, template_effects
from aftersales.replies.rendering import PLACEHOLDERS
from config.exports import csv_response


@admin.register(ResponseTemplate)
class ResponseTemplateAdmin(VersionedAdmin):
    list_display = (
        "code",
        "title",
        "scenario",
        "product_category",
        "segment",
        "tone",
        "channel",
        "active",
        "use_count",
    )
    list_filter = ("scenario", "segment", "tone", "channel", "active", "product_category")
    list_select_related = ("product_category",)
    search_fields = ("code", "title", "body")
    actions = ("export_effects",)
    history_list_display = ("title", "active")
    fieldsets = (
        (None, {"fields": ("code", "title", "active")}),
        (
            _("When it fits"),
            {"fields": ("scenario", "request_type", "product_category", "segment", "channel", "granted_kind", "tone")},
        ),
        (_("Text"), {"fields": ("body",)}),
    )
    change_form_template = "admin/aftersales/responsetemplate/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_uses=Count("uses"))

    @admin.display(description=_("uses"), ordering="n_uses")
    def use_count(self, obj):
        return obj.n_uses

    def change_view(self, request, object_id, form_url="", extra_context=None):
        effects = template_effects(template_id=int(object_id)) if str(object_id).isdigit() else []
        extra_context = {
            **(extra_context or {}),
            "effects": effects,
            "placeholders": [("{" + key + "}", label) for key, label in PLACEHOLDERS.items()],
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "placeholders": [("{" + key + "}", label) for key, label in PLACEHOLDERS.items()],
        }
        return super().add_view(request, form_url, extra_context)

    @admin.action(description=_("Export the effect data of the selected templates (CSV)"))
    def export_effects(self, request, queryset):
        effects = [e for pk in queryset.values_list("pk", flat=True) for e in template_effects(template_id=pk)]
        header, rows = effects_table(effects)
        return csv_response(filename="template_effects", header=header, rows=rows)

    def has_delete_permission(self, request, obj=None):
        return False  # uses point at its versions; retire it (inactive) instead


@admin.register(TemplateUse)
class TemplateUseAdmin(admin.ModelAdmin):
    list_display = ("used_at", "template", "version_date", "case_link", "actor", "edited")
    list_filter = ("edited", "template__scenario")
    list_select_related = ("template", "version", "case", "actor")
    search_fields = ("template__code", "case__number")
    readonly_fields = [f.name for f in TemplateUse._meta.fields]
    show_full_result_count = False

    @admin.display(description=_("version"))
    def version_date(self, obj):
        return obj.version.history_date

    @admin.display(description=_("case"))
    def case_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("desk:case", args=[obj.case_id]), obj.case.number)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(HealthReport)
class HealthReportAdmin(admin.ModelAdmin):
    list_display = ("month", "generated_at", "flagged", "page")
    readonly_fields = ("month", "generated_at", "threshold", "templates", "optional_fields")

    @admin.display(description=_("flagged"))
    def flagged(self, obj):
        return f"{len(obj.flagged_templates)} / {len(obj.flagged_fields)}"

    @admin.display(description=_("report"))
    def page(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("reports:health", args=[obj.month.strftime("%Y-%m")]), _("open")
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
