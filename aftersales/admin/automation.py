"""Admin for what runs without anyone clicking: SLA targets, automation rules (versioned, with a
dry run), the emotion lexicon, risk thresholds, webhook endpoints, the outbox and risk flags."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from aftersales.admin.versions import VersionedAdmin
from aftersales.automation.rules import (
    ACTIONS,
    CHOICE_LABELS,
    DRY_RUN_MAX,
    FIELDS,
    OPS,
    OPS_BY_TYPE,
    describe_action,
    describe_condition,
    dry_run,
)
from aftersales.models import (
    AutomationRule,
    LexiconWord,
    MessageTemplate,
    Notification,
    RiskThresholds,
    SlaPolicy,
    WebhookEndpoint,
)
from aftersales.notifications.delivery import refuse_private_url, retry_now
from config.pagination import CappedCountAdminMixin
from customers.models import CustomerRiskFlag


@admin.register(SlaPolicy)
class SlaPolicyAdmin(VersionedAdmin):
    list_display = ("priority", "first_response_minutes", "resolution_minutes", "breach_action", "active")
    history_list_display = ("first_response_minutes", "resolution_minutes", "breach_action")

    def has_delete_permission(self, request, obj=None):
        return False


class RuleForm(forms.ModelForm):
    """Conditions and actions as JSON, checked field by field with messages that name the entry."""

    class Meta:
        model = AutomationRule
        fields = "__all__"
        widgets = {
            "conditions": forms.Textarea(attrs={"rows": 6, "cols": 90, "style": "font-family: monospace"}),
            "actions": forms.Textarea(attrs={"rows": 4, "cols": 90, "style": "font-family: monospace"}),
        }


@admin.register(AutomationRule)
class AutomationRuleAdmin(VersionedAdmin):
    form = RuleForm
    list_display = ("name", "trigger", "position", "active", "summary", "stop_processing", "updated_at")
    list_display_links = ("name",)
    list_filter = ("trigger", "active")
    search_fields = ("name", "description")
    actions = ("dry_run_selected",)
    history_list_display = ("active", "position", "trigger")
    fieldsets = (
        (None, {"fields": ("name", "description", ("trigger", "position", "active", "stop_processing"))}),
        (_("When"), {"fields": ("match", "conditions")}),
        (_("Then"), {"fields": ("actions",)}),
    )
    change_form_template = "admin/aftersales/automationrule/change_form.html"

    @admin.display(description=_("what it does"))
    def summary(self, obj):
        conditions = "; ".join(describe_condition(c) for c in obj.conditions if isinstance(c, dict)) or "—"
        actions = "; ".join(describe_action(a) for a in obj.actions if isinstance(a, dict) and "type" in a)
        return f"{conditions} → {actions}"

    def render_change_form(self, request, context, *args, **kwargs):
        context["rule_fields"] = [
            {
                "name": name,
                "label": spec.label,
                "ops": ", ".join(f"{op} ({OPS[op][0]})" for op in OPS_BY_TYPE[spec.kind]),
                "choices": ", ".join(
                    f"{code} ({CHOICE_LABELS[name][code]})" if code in CHOICE_LABELS.get(name, {}) else code
                    for code in spec.choices
                ),
            }
            for name, spec in FIELDS.items()
        ]
        context["rule_actions"] = list(ACTIONS.items())
        return super().render_change_form(request, context, *args, **kwargs)

    def get_urls(self):
        return [
            path("dry-run/", self.admin_site.admin_view(self.dry_run_view), name="aftersales_automationrule_dry_run"),
            *super().get_urls(),
        ]

    @admin.action(description=_("Dry run the selected rules over recent cases"))
    def dry_run_selected(self, request, queryset):
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        from django.http import HttpResponseRedirect

        return HttpResponseRedirect(f"{reverse('admin:aftersales_automationrule_dry_run')}?ids={ids}")

    def dry_run_view(self, request):
        """For the last N cases, which of the chosen rules would fire and why. Changes nothing."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            ids = [int(v) for v in request.GET.get("ids", "").split(",") if v.strip()]
            last = max(1, min(int(request.GET.get("last", 200)), DRY_RUN_MAX))
        except ValueError:
            ids, last = [], 200
        rules = list(AutomationRule.objects.filter(pk__in=ids).order_by("trigger", "position", "id")) if ids else []
        results, errors = [], []
        for rule in rules:
            try:
                rows = dry_run(rule, last=last)
            except ValidationError as exc:
                errors.append(f"{rule}: {' '.join(exc.messages)}")
                continue
            fired = [row for row in rows if row.fired]
            results.append({"rule": rule, "checked": len(rows), "fired": fired})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Dry run of automation rules"),
            "results": results,
            "errors": errors,
            "last": last,
            "max_last": DRY_RUN_MAX,
            "ids": ",".join(map(str, ids)),
        }
        return TemplateResponse(request, "admin/aftersales/automationrule/dry_run.html", context)


@admin.register(LexiconWord)
class LexiconWordAdmin(admin.ModelAdmin):
    list_display = ("word", "kind", "weight", "active")
    list_editable = ("kind", "weight", "active")
    list_filter = ("kind", "active")
    search_fields = ("word",)


@admin.register(RiskThresholds)
class RiskThresholdsAdmin(VersionedAdmin):
    list_display = (
        "__str__",
        "claims_90d",
        "claim_order_ratio",
        "compensation_30d",
        "high_value_spend",
        "crisis_min_cases",
        "updated_at",
    )

    def has_add_permission(self, request):
        return not RiskThresholds.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


class EndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    audience = forms.MultipleChoiceField(
        label=_("roles"),
        choices=[("agent", _("agent")), ("qc", _("QC")), ("supervisor", _("supervisor")), ("finance", _("finance"))],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WebhookEndpoint
        fields = "__all__"

    def clean_url(self):
        url = self.cleaned_data["url"]
        refuse_private_url(url)  # staff alerts get the same check as the channels' webhooks
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ("name", "style", "url", "audience", "active")
    list_filter = ("style", "active")


def _customer_message_events() -> list[tuple[str, str]]:
    """The steps a customer hears of: the registry's entries with a customer message."""
    from aftersales.workflow.transitions import CASE, TRANSITIONS

    return [
        (entry.name, f"{entry.label} ({entry.name})")
        for entry in TRANSITIONS.of(CASE)
        if TRANSITIONS.message(entry.name) is not None
    ]


class MessageTemplateForm(forms.ModelForm):
    event = forms.ChoiceField(label=_("step of the case"), choices=_customer_message_events)

    class Meta:
        model = MessageTemplate
        fields = ("event", "channel", "template_code", "variables", "page", "active")


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    form = MessageTemplateForm
    list_display = ("event_label", "channel", "template_code", "active")
    list_filter = ("channel", "active")
    search_fields = ("event", "template_code")

    @admin.display(description=_("step of the case"), ordering="event")
    def event_label(self, obj):
        return dict(_customer_message_events()).get(obj.event, obj.event)


@admin.register(Notification)
class NotificationAdmin(CappedCountAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "kind",
        "channel",
        "destination",
        "subject",
        "case_link",
        "state",
        "attempts",
        "next_attempt_at",
        "sent_at",
    )
    list_filter = ("state", "kind", "channel")
    list_select_related = ("case", "endpoint")
    search_fields = ("recipient", "subject")
    ordering = ("-id",)
    sortable_by = ()
    actions = ("retry_selected",)
    readonly_fields = [f.name for f in Notification._meta.fields]

    @admin.display(description=_("recipient"))
    def destination(self, obj):
        return obj.recipient or obj.endpoint

    @admin.display(description=_("case"))
    def case_link(self, obj):
        if obj.case_id is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:aftersales_case_change", args=[obj.case_id]), obj.case.number
        )

    @admin.action(description=_("Retry the selected notifications now"), permissions=["change"])
    def retry_selected(self, request, queryset):
        count = retry_now(queryset)
        self.message_user(request, _("%(count)s notification(s) queued again.") % {"count": count}, messages.SUCCESS)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and request.user.has_perm("aftersales.change_notification")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CustomerRiskFlag)
class CustomerRiskFlagAdmin(admin.ModelAdmin):
    list_display = ("customer", "kind", "active", "flagged_at", "reasons_text", "cleared_by", "cleared_at")
    list_filter = ("kind", "active")
    list_select_related = ("customer", "cleared_by")
    search_fields = ("customer__name", "customer__phone")
    readonly_fields = [f.name for f in CustomerRiskFlag._meta.fields]

    @admin.display(description=_("reasons"))
    def reasons_text(self, obj):
        return " ".join(obj.reasons)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
