"""The admin of cases, their events, inspections and compensations.

Cases and compensations are read-only here: every change goes through an
action page that calls the same service as the staff pages and the API (with
its permission and state checks). Big tables use a capped count, so a
changelist never counts a million rows.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from aftersales import services
from aftersales.errors import NotAllowed, error_text
from aftersales.models import (
    FINAL_STATES,
    Case,
    CaseEvent,
    Compensation,
    Evidence,
    Inspection,
    Priority,
    ProblemCategory,
    RequestType,
    Shipment,
    ShipmentEvent,
)
from aftersales.selectors import actions_for, compensation_actions_for
from aftersales.services.compensations import OFFER_STATES
from aftersales.workflow.forms import apply_service_errors
from aftersales.workflow.transitions import COMPENSATION, TRANSITIONS
from aftersales.workflow.transitions import event_label as label_of_event
from config.pagination import CappedCountAdminMixin
from customers.masking import can_see_pii
from customers.models import Order

PRIORITY_COLOURS = {Priority.RED: "#d93025", Priority.YELLOW: "#f2a600", Priority.GREEN: "#188038"}


# --------------------------------------------------------------------------
# Read-only logs
# --------------------------------------------------------------------------
class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CaseNumberSearchMixin:
    """Search by case number, order number or customer phone (all exact, indexed)."""

    search_fields = ("case__number",)  # shows the search box; the search itself is below
    search_help_text = _("Case number, order number, customer phone or return tracking number (exact).")

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(case__in=Case.objects.search(search_term).values("pk")), False


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnlyAdminMixin, CappedCountAdminMixin, CaseNumberSearchMixin, admin.ModelAdmin):
    list_display = ("created_at", "case", "kind", "action_display", "from_state", "to_state", "actor_display", "note")
    list_filter = ("kind",)
    list_select_related = ("case", "actor")
    ordering = ("-id",)
    sortable_by = ()

    @admin.display(description=_("actor"))
    def actor_display(self, obj):
        return obj.actor_label

    @admin.display(description=_("action"))
    def action_display(self, obj):
        return label_of_event(obj.name) if obj.name else "—"

    readonly_fields = ("action_display",)

    def get_fields(self, request, obj=None):
        # The action by its label in the stored name's place (the name is the registry's code).
        fields = [name for name in super().get_fields(request, obj) if name != "action_display"]
        return [("action_display" if name == "name" else name) for name in fields]


@admin.register(Inspection)
class InspectionAdmin(ReadOnlyAdminMixin, CappedCountAdminMixin, CaseNumberSearchMixin, admin.ModelAdmin):
    list_display = ("inspected_at", "case", "grade", "responsible_party", "disposition", "inspector")
    list_filter = ("grade", "responsible_party", "disposition")
    list_select_related = ("case", "inspector")
    ordering = ("-id",)
    sortable_by = ()


@admin.register(Compensation)
class CompensationAdmin(ReadOnlyAdminMixin, CappedCountAdminMixin, CaseNumberSearchMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "case",
        "kind",
        "amount",
        "state",
        "payable",
        "quick_refund",
        "approved_by",
        "paid_at",
        "payout_reference",
    )
    list_filter = ("state", "kind", "payable", "quick_refund")
    list_select_related = ("case", "approved_by")
    ordering = ("-id",)
    sortable_by = ()

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("case", "approved_by", "proposed_by", "paid_by")


class ScanInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ShipmentEvent
    fields = ("at", "status", "place", "description", "code")
    readonly_fields = fields
    extra = 0


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdminMixin, CappedCountAdminMixin, CaseNumberSearchMixin, admin.ModelAdmin):
    """Parcels: written by the customer's report, QC's receipt and the tracking provider — never here."""

    list_display = ("created_at", "case", "direction", "carrier", "tracking_number", "status", "active", "last_scan_at")
    list_filter = ("status", "direction", "carrier", "active")
    list_select_related = ("case",)
    ordering = ("-id",)
    sortable_by = ()
    inlines = (ScanInline,)


class ShipmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Shipment
    fields = ("direction", "carrier", "tracking_number", "status", "active", "created_at", "last_scan_at")
    readonly_fields = fields
    extra = 0
    show_change_link = True


class EvidenceInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The customer's photos and videos, as thumbnails served by the case page's permission-checked view."""

    model = Evidence
    fields = ("preview", "original_name", "content_type", "size", "uploaded_by", "uploaded_at")
    readonly_fields = fields
    extra = 0

    @admin.display(description=_("preview"))
    def preview(self, obj):
        url = reverse("desk:evidence", args=[obj.case_id, obj.pk])
        if obj.is_video:
            return format_html('<video src="{}" controls preload="metadata" width="160"></video>', url)
        return format_html(
            '<a href="{}" target="_blank"><img src="{}" style="max-width:96px;max-height:96px"></a>', url, url
        )


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------
class OpenCaseForm(forms.Form):
    request_type = forms.ChoiceField(label=_("request type"), choices=RequestType.choices)
    category = forms.ModelChoiceField(
        label=_("problem category"),
        queryset=ProblemCategory.objects.filter(active=True).select_related("parent__parent"),
        required=False,
    )
    urgency = forms.TypedChoiceField(
        label=_("urgency"), coerce=int, choices=[(n, str(n)) for n in range(1, 6)], initial=3
    )
    reason = forms.CharField(label=_("customer's reason"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, order: Order, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_lines = list(order.lines.select_related("category"))
        for line in self.order_lines:
            self.fields[f"qty_{line.pk}"] = forms.IntegerField(
                label=f"{line.sku} {line.product_name}", min_value=0, max_value=line.quantity, initial=0, required=False
            )

    def line_fields(self):
        return [(line, self[f"qty_{line.pk}"]) for line in self.order_lines]

    def requested_lines(self) -> list[tuple[int, int]]:
        return [
            (line.pk, self.cleaned_data[f"qty_{line.pk}"])
            for line in self.order_lines
            if self.cleaned_data.get(f"qty_{line.pk}")
        ]


@admin.register(Case)
class CaseAdmin(CappedCountAdminMixin, admin.ModelAdmin):
    list_display = (
        "number",
        "order_number",
        "customer_name",
        "request_type",
        "state",
        "priority_badge",
        "urgency",
        "queue",
        "assignee",
        "opened_at",
        "stage_due_at",
    )
    list_filter = ("state", "priority", "request_type", "channel", "waiting_on", "queue", "quick_refund")
    list_select_related = ("order", "customer", "queue", "assignee")
    search_fields = ("number",)  # shows the search box; see get_search_results
    search_help_text = _("Case number, order number, customer phone or return tracking number (exact).")
    sortable_by = ("number", "urgency", "opened_at", "stage_due_at")
    ordering = ("-id",)
    actions = ("approve_selected",)
    # The page is view-only (has_change_permission is False): every field is shown read-only.
    readonly_fields = ("customer_display", "return_carrier_name", "policy_version_display")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "number",
                    "order",
                    "customer_display",
                    "request_type",
                    "category",
                    "reason",
                    "evidence",
                    "channel",
                )
            },
        ),
        (
            _("Workflow"),
            {
                "fields": (
                    "state",
                    "escalated_from",
                    "waiting_on",
                    "stage_due_at",
                    "urgency",
                    "priority",
                    "queue",
                    "assignee",
                )
            },
        ),
        (
            _("Policy and goods"),
            {
                "fields": (
                    "policy",
                    "policy_version_display",
                    "quick_refund",
                    "return_carrier_name",
                    "return_tracking_number",
                    "reject_reason",
                )
            },
        ),
        (
            _("Timestamps"),
            {
                "fields": (
                    "opened_at",
                    "first_response_at",
                    "approved_at",
                    "received_at",
                    "inspected_at",
                    "proposed_at",
                    "escalated_at",
                    "closed_at",
                    "csat",
                    "nps",
                    "version",
                ),
                "classes": ("collapse",),
            },
        ),
    )
    change_form_template = "admin/aftersales/case/change_form.html"
    inlines = (EvidenceInline, ShipmentInline)

    @admin.display(description=_("policy version"))
    def policy_version_display(self, obj):
        version = obj.policy_version
        if version is None:
            return "—"
        return _("%(policy)s, version of %(when)s") % {
            "policy": version.name,
            "when": timezone.localtime(version.history_date).strftime("%Y-%m-%d %H:%M"),
        }

    @admin.display(description=_("return carrier"))
    def return_carrier_name(self, obj):
        return obj.return_carrier_label or "—"

    # -- list -------------------------------------------------------------------
    @admin.display(description=_("order number"), ordering="order__number")
    def order_number(self, obj):
        return obj.order.number

    @admin.display(description=_("customer"))
    def customer_name(self, obj):
        return obj.customer.name

    @admin.display(description=_("customer"))
    def customer_display(self, obj):
        # The masked phone; supervisors with the PII permission see it in full on the customer page.
        return f"{obj.customer.name} · {obj.customer.masked_phone} · {obj.customer.get_tier_display()}"

    @admin.display(description=_("priority"), ordering="priority")
    def priority_badge(self, obj):
        return format_html(
            '<span style="color:#fff;background:{};padding:1px 8px;border-radius:8px">{}</span>',
            PRIORITY_COLOURS.get(obj.priority, "#666"),
            obj.get_priority_display(),
        )

    def get_search_results(self, request, queryset, search_term):
        return queryset.search(search_term), False

    def has_add_permission(self, request):
        return False  # cases are opened from an order (see OrderAdmin) or by the channels' API

    def has_change_permission(self, request, obj=None):
        return False  # changes go through the action pages below

    def has_delete_permission(self, request, obj=None):
        return False

    def get_object(self, request, object_id, from_field=None):
        cached = getattr(request, "_aftersales_case", None)
        if cached is not None and str(cached.pk) == str(object_id):
            return cached
        queryset = self.get_queryset(request).select_related(
            "order",
            "customer",
            "queue",
            "assignee",
            "category__parent__parent",
            "policy",
            "policy_version",
            "follow_up",  # the care actions ask for them (one join instead of a query each)
            "cause_analysis",
        )
        try:
            request._aftersales_case = queryset.get(pk=object_id)
        except (Case.DoesNotExist, ValueError, ValidationError):
            return None
        return request._aftersales_case

    # -- actions ------------------------------------------------------------------
    @admin.action(description=_("Approve the selected cases"), permissions=["approve"])
    def approve_selected(self, request, queryset):
        done, failed = 0, []
        for case_id, number in queryset.values_list("pk", "number"):
            try:
                services.case_approve(case_id=case_id, actor=request.user)
                done += 1
            except (NotAllowed, PermissionDenied, ValidationError) as exc:
                failed.append(f"{number}: {error_text(exc)}")
        if done:
            self.message_user(request, _("%(count)s case(s) approved.") % {"count": done}, messages.SUCCESS)
        for message in failed:
            self.message_user(request, message, messages.ERROR)

    def has_approve_permission(self, request):
        return request.user.has_perm("aftersales.approve_case")

    # -- change page: panels and buttons -----------------------------------------------
    def change_view(self, request, object_id, form_url="", extra_context=None):
        case = self.get_object(request, object_id)
        if case is None:
            return super().change_view(request, object_id, form_url, extra_context)
        extra_context = {**(extra_context or {}), **self._panels(request, case)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _panels(self, request, case: Case) -> dict:
        user = request.user
        lines = list(case.lines.select_related("order_line__category"))
        comps = list(case.compensations.select_related("approved_by", "paid_by"))
        events = list(case.events.select_related("actor"))
        previous = case.opened_at
        timeline = []
        for event in events:
            timeline.append({"event": event, "waited": event.created_at - previous})
            previous = event.created_at
        if case.state not in FINAL_STATES:
            timeline.append({"event": None, "waited": timezone.now() - previous})
        actions = actions_for(case, user)
        return {
            "case": case,
            "case_lines": lines,
            "claim_value": sum((line.amount for line in lines), 0),
            "inspections": list(case.inspections.select_related("inspector")),
            "compensations": [
                {
                    "comp": comp,
                    "actions": [
                        {"name": action.name, "label": action.label_on(comp)}
                        for action in compensation_actions_for(comp, user)
                    ],
                }
                for comp in comps
            ],
            "can_add_compensation": case.state in OFFER_STATES and user.has_perm("aftersales.propose_compensation"),
            "timeline": timeline,
            "case_actions": actions,
            "show_pii": can_see_pii(user),
        }

    # -- action pages ---------------------------------------------------------------
    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("open/<int:order_id>/", wrap(self.open_view), name="aftersales_case_open"),
            path("<int:case_id>/do/<str:name>/", wrap(self.action_view), name="aftersales_case_action"),
            path(
                "<int:case_id>/compensation/add/",
                wrap(self.compensation_add_view),
                name="aftersales_case_compensation_add",
            ),
            path(
                "<int:case_id>/compensation/<int:comp_id>/<str:name>/",
                wrap(self.compensation_action_view),
                name="aftersales_case_compensation_action",
            ),
            *super().get_urls(),
        ]

    def _case_or_404(self, request, case_id) -> Case:
        if not self.has_view_permission(request):
            raise PermissionDenied
        case = self.get_object(request, case_id)
        if case is None:
            raise Http404
        return case

    def _change_url(self, case_id) -> str:
        return reverse("admin:aftersales_case_change", args=[case_id])

    def _render_form(self, request, *, case, form, title, extra=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "case": case,
            "form": form,
            "title": title,
            "cancel_url": self._change_url(case.pk) if case else None,
            **(extra or {}),
        }
        return TemplateResponse(request, "admin/aftersales/case/action_form.html", context)

    def _run(self, request, *, form, run, success_message, redirect_to):
        """Call the service; on refusal keep the user on the form with the reason."""
        try:
            run(form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return None
        except (NotAllowed, PermissionDenied) as exc:
            self.message_user(request, error_text(exc), messages.ERROR)
            return HttpResponseRedirect(redirect_to)
        self.message_user(request, success_message, messages.SUCCESS)
        return HttpResponseRedirect(redirect_to)

    def action_view(self, request, case_id, name):
        """Every action the case page offers, as an admin page calling the same service (from the registry)."""
        case = self._case_or_404(request, case_id)
        action = TRANSITIONS.get(name)
        if action is None or action not in TRANSITIONS.panels():
            raise Http404
        return self._action_page(request, case=case, action=action, target_id=case.pk, form_kwargs={"case": case})

    def compensation_add_view(self, request, case_id):
        case = self._case_or_404(request, case_id)
        return self._action_page(
            request,
            case=case,
            action=TRANSITIONS["add_compensation"],
            target_id=case.pk,
            success=_("Compensation proposed on case %(number)s.") % {"number": case.number},
            title=_("Propose compensation: case %(number)s") % {"number": case.number},
        )

    def compensation_action_view(self, request, case_id, comp_id, name):
        case = self._case_or_404(request, case_id)
        comp = get_object_or_404(Compensation, pk=comp_id, case=case)
        action = TRANSITIONS.get(name, COMPENSATION)
        if action is None or action not in TRANSITIONS.panels(COMPENSATION):
            raise Http404
        return self._action_page(
            request,
            case=case,
            action=action,
            target_id=comp.pk,
            success=_("Compensation #%(id)s: %(action)s done.") % {"id": comp.pk, "action": action.label},
            title=_("%(action)s: %(compensation)s on case %(number)s")
            % {"action": action.label, "compensation": comp, "number": case.number},
        )

    def _action_page(self, request, *, case, action, target_id, form_kwargs=None, success=None, title=None):
        form_kwargs = {"user": request.user, **(form_kwargs or {})}
        if request.method == "POST":
            form = action.form(request.POST, request.FILES, **form_kwargs)
            if form.is_valid():
                response = self._run(
                    request,
                    form=form,
                    run=lambda data: services.perform(
                        action, target_id=target_id, actor=request.user, data=form.service_kwargs()
                    ),
                    success_message=success
                    or _("Case %(number)s: %(action)s done.") % {"number": case.number, "action": action.label},
                    redirect_to=self._change_url(case.pk),
                )
                if response is not None:
                    return response
        else:
            form = action.form(**form_kwargs)
        title = title or _("%(action)s: case %(number)s") % {"action": action.label, "number": case.number}
        return self._render_form(request, case=case, form=form, title=title)

    def open_view(self, request, order_id):
        if not request.user.has_perm("aftersales.open_case"):
            raise PermissionDenied
        order = get_object_or_404(Order.objects.select_related("customer"), pk=order_id)
        form = OpenCaseForm(request.POST or None, order=order)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                case = services.case_open(
                    actor=request.user,
                    order_id=order.pk,
                    lines=form.requested_lines(),
                    request_type=data["request_type"],
                    category_id=data["category"].pk if data["category"] else None,
                    urgency=data["urgency"],
                    reason=data["reason"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except (NotAllowed, PermissionDenied) as exc:
                form.add_error(None, error_text(exc))
            else:
                self.message_user(request, _("Case %(number)s opened.") % {"number": case.number}, messages.SUCCESS)
                return HttpResponseRedirect(self._change_url(case.pk))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "order": order,
            "form": form,
            "title": _("Open an after-sales case on order %(number)s") % {"number": order.number},
            "cancel_url": reverse("admin:customers_order_change", args=[order.pk]),
        }
        return TemplateResponse(request, "admin/aftersales/case/open_form.html", context)
