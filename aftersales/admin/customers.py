"""Customers in the admin, with their personal-data duties (PIPL): export everything we hold about one customer
(JSON) and erase it on their request, both for those with the permission, both in the audit log."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.errors import NotAllowed
from aftersales.services import privacy
from audit.recording import record_unmasked
from customers import admin as customers_admin
from customers.masking import can_see_pii
from customers.models import Customer

PERMISSION = "customers.erase_customer_pii"


class EraseForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("reason"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=gettext_lazy("E.g. the customer's request by phone on 2026-11-30, ticket number."),
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand the name, phone, email, addresses and evidence files cannot be restored."),
    )


admin.site.unregister(Customer)


@admin.register(Customer)
class CustomerAdmin(customers_admin.CustomerAdmin):
    change_form_template = "admin/customers/customer/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "erased_at")

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return [*fields, "erased_at"] if obj is not None and obj.erased_at else fields

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/personal-data/", wrap(self.personal_data_view), name="customers_customer_personal_data"),
            path("<int:pk>/erase/", wrap(self.erase_view), name="customers_customer_erase"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "may_handle_personal_data": request.user.has_perm(PERMISSION)}
        if request.method == "GET" and can_see_pii(request.user):
            record_unmasked(
                f"customer #{object_id}",
                request=request,
                customer=int(object_id) if str(object_id).isdigit() else object_id,
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        if can_see_pii(request.user):  # the list shows full phone numbers to those allowed
            # The filters' names only: a search's value (a phone, an email) must not stay in the log.
            record_unmasked(str(Customer._meta.verbose_name_plural), request=request, filters=sorted(request.GET))
        return super().changelist_view(request, extra_context)

    def _allowed(self, request) -> None:
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied

    def personal_data_view(self, request, pk: int):
        """Everything we hold about the customer, as a JSON file to hand to them."""
        self._allowed(request)
        customer = get_object_or_404(Customer, pk=pk)
        data = privacy.export_personal_data(customer_id=customer.pk, actor=request.user, request=request)
        response = HttpResponse(
            json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}-personal-data.json"'
        return response

    def erase_view(self, request, pk: int):
        self._allowed(request)
        customer = get_object_or_404(Customer, pk=pk)
        change_url = reverse("admin:customers_customer_change", args=[customer.pk])
        form = EraseForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                counts = privacy.erase_customer(
                    customer_id=customer.pk, actor=request.user, reason=form.cleaned_data["reason"], request=request
                )
            except NotAllowed as exc:
                form.add_error(None, str(exc))
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                self.message_user(
                    request,
                    _(
                        "The customer's personal data is erased: %(orders)s addresses, %(files)s evidence files and "
                        "the texts that named them. Cases and amounts are kept."
                    )
                    % {"orders": counts["orders"], "files": counts["evidence_files"]},
                    messages.SUCCESS,
                )
                return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": customer,
            "title": _("Erase this customer's personal data"),
            "form": form,
            "change_url": change_url,
            "open_cases": customer.cases.exclude(state__in=privacy.FINAL_STATES).count(),
        }
        return TemplateResponse(request, "admin/customers/customer/erase.html", context)
