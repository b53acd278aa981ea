"""The compensation report's filters (django-filter). The page, the CSV and the XLSX export share them,
so the exported rows are exactly the rows counted on screen."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from aftersales.models import CaseLine, Compensation, CompensationState, ProblemCategory
from aftersales.permissions import working_staff
from aftersales.selectors.filters import CategoryFilter, StaffFilter, category_subtree
from config.periods import Period, parse_period
from customers.models import Channel, ProductCategory

#: Which date of a compensation puts it in the period.
BASIS = {
    "paid": ("paid_at", _("paid on")),
    "approved": ("approved_at", _("approved on")),
    "proposed": ("proposed_at", _("proposed on")),
}


class CompensationReportFilter(django_filters.FilterSet):
    date_from = django_filters.DateFilter(
        label=_("from"), method="keep", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = django_filters.DateFilter(label=_("to"), method="keep", widget=forms.DateInput(attrs={"type": "date"}))
    basis = django_filters.ChoiceFilter(
        label=_("date"),
        choices=[(key, label) for key, (_field, label) in BASIS.items()],
        empty_label=None,
        method="keep",
    )
    kind = django_filters.MultipleChoiceFilter(
        label=_("kind"), choices=Compensation.Kind.choices, widget=forms.CheckboxSelectMultiple
    )
    state = django_filters.MultipleChoiceFilter(
        label=_("state"), choices=CompensationState.choices, widget=forms.CheckboxSelectMultiple
    )
    channel = django_filters.ChoiceFilter(
        label=_("channel"), field_name="case__channel", choices=Channel.choices, empty_label=_("any")
    )
    problem = CategoryFilter(
        label=_("problem category"),
        queryset=ProblemCategory.objects.filter(active=True).select_related("parent__parent"),
        method="filter_problem",
        empty_label=_("any"),
    )
    product = django_filters.ModelChoiceFilter(
        label=_("product category"),
        queryset=ProductCategory.objects.all(),
        method="filter_product",
        empty_label=_("any"),
    )
    agent = StaffFilter(
        label=_("proposed by"), field_name="proposed_by", queryset=working_staff(), empty_label=_("any")
    )

    def __init__(self, data=None, *args, **kwargs):
        data = data.copy() if data is not None else None
        if data is not None and not data.get("basis"):
            data["basis"] = "paid"
        super().__init__(data, *args, **kwargs)
        self.filters["agent"].queryset = working_staff()

    def keep(self, queryset, name, value):
        return queryset  # applied together in filter_queryset

    def filter_problem(self, queryset, name, value):
        return queryset.filter(case__category_id__in=category_subtree(value))

    def filter_product(self, queryset, name, value):
        return queryset.filter(
            Exists(CaseLine.objects.filter(case_id=OuterRef("case_id"), order_line__category_id=value.pk))
        )

    # -- the period ---------------------------------------------------------------
    @property
    def period(self) -> Period:
        data = self.form.cleaned_data if self.form.is_valid() else {}
        return parse_period(data.get("date_from"), data.get("date_to"))

    @property
    def basis_field(self) -> str:
        data = self.form.cleaned_data if self.form.is_valid() else {}
        return BASIS[data.get("basis") or "paid"][0]

    def filter_queryset(self, queryset):
        period, field = self.period, self.basis_field
        queryset = queryset.filter(**{f"{field}__gte": period.since, f"{field}__lt": period.until})
        return super().filter_queryset(queryset).order_by(field, "id")
