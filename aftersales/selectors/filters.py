"""Filters of the case queue (django-filter). The queue page and the staff API share them."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from aftersales.models import (
    OPEN_STATES,
    Case,
    CaseKeyword,
    CaseLine,
    CaseState,
    Compensation,
    Priority,
    ProblemCategory,
    Queue,
    RequestType,
)
from aftersales.permissions import StaffChoiceField, working_staff
from aftersales.selectors.scope import DUE_SOON, my_queue_ids
from config.forms import ListedModelChoiceField
from config.periods import clamp
from customers.models import Channel, ProductCategory

OPEN, ANY = "open", "any"


class CategoryChoiceField(ListedModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.full_name


@extend_schema_field(OpenApiTypes.INT)
class CategoryFilter(django_filters.ModelChoiceFilter):
    field_class = CategoryChoiceField


@extend_schema_field(OpenApiTypes.INT)
class StaffFilter(django_filters.ModelChoiceFilter):
    """Chooses one of the staff, listed by name."""

    field_class = StaffChoiceField


class ListedFilter(django_filters.ModelChoiceFilter):
    """Chooses one of a short list of rows (read in one plain query)."""

    field_class = ListedModelChoiceField


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(ListedFilter):
    """Chooses a row by its id (documented as an integer in the API)."""


class CaseQueueFilter(django_filters.FilterSet):
    """Narrow a scoped case list. With no state chosen, only open cases are shown."""

    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_search",
        widget=forms.TextInput(attrs={"placeholder": _("Case no., order no. or phone")}),
    )
    view = django_filters.ChoiceFilter(
        label=_("Show"),
        empty_label=_("everything I can see"),
        choices=[("mine", _("my cases")), ("queues", _("my queues")), ("unassigned", _("unassigned"))],
        method="filter_view",
    )
    state = django_filters.ChoiceFilter(
        label=_("state"),
        empty_label=_("all open"),
        choices=[(ANY, _("any state")), *CaseState.choices],
        method="filter_state",
    )
    priority = django_filters.ChoiceFilter(label=_("priority"), choices=Priority.choices, empty_label=_("any"))
    request_type = django_filters.ChoiceFilter(
        label=_("request type"), choices=RequestType.choices, empty_label=_("any")
    )
    channel = django_filters.ChoiceFilter(label=_("channel"), choices=Channel.choices, empty_label=_("any"))
    category = CategoryFilter(
        label=_("problem category"),
        queryset=ProblemCategory.objects.filter(active=True).select_related("parent__parent"),
        method="filter_category",
        empty_label=_("any"),
    )
    sla = django_filters.ChoiceFilter(
        label=_("deadline"),
        empty_label=_("any"),
        choices=[
            ("breached", _("breached")),
            ("soon", _("due within the hour")),
            ("ok", _("on track")),
            ("sla_missed", _("SLA target missed")),
        ],
        method="filter_sla",
    )
    queue = ListedFilter(label=_("queue"), queryset=Queue.objects.filter(active=True), empty_label=_("any"))
    assignee = StaffFilter(label=_("assignee"), queryset=working_staff(), empty_label=_("any"))
    vip = django_filters.BooleanFilter(label=_("VIP only"), method="filter_vip", widget=forms.CheckboxInput)
    crisis = django_filters.BooleanFilter(label=_("crisis only"), method="filter_crisis", widget=forms.CheckboxInput)
    keyword = django_filters.CharFilter(label=_("keyword"), method="filter_keyword")
    keyword_category = IdFilter(queryset=ProductCategory.objects.all(), method="keep", widget=forms.HiddenInput)
    keyword_sku = django_filters.CharFilter(method="keep", widget=forms.HiddenInput)
    opened_from = django_filters.DateFilter(
        label=_("opened from"), method="filter_opened_from", widget=forms.DateInput(attrs={"type": "date"})
    )
    opened_to = django_filters.DateFilter(
        label=_("opened to"), method="filter_opened_to", widget=forms.DateInput(attrs={"type": "date"})
    )
    product = IdFilter(
        label=_("product category"),
        queryset=ProductCategory.objects.all(),
        method="filter_product",
        empty_label=_("any"),
    )
    sku = django_filters.CharFilter(label=_("SKU"), method="filter_sku")
    sort = django_filters.ChoiceFilter(
        label=_("order by"),
        empty_label=_("deadline, most urgent first"),
        choices=[
            ("newest", _("newest first")),
            ("oldest", _("oldest first")),
            ("urgency", _("urgency, highest first")),
        ],
        method="filter_sort",
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user or getattr(self.request, "user", None)
        # Fresh querysets per request (the class attributes are evaluated once).
        self.filters["assignee"].queryset = working_staff()
        self.now = timezone.now()

    # -- methods -------------------------------------------------------------------
    def filter_search(self, queryset, name, value):
        return queryset.search(value)

    def filter_view(self, queryset, name, value):
        if value == "mine":
            return queryset.filter(assignee_id=self.user.pk)
        if value == "queues":
            return queryset.filter(queue_id__in=my_queue_ids(self.user))
        if value == "unassigned":
            return queryset.filter(assignee__isnull=True)
        return queryset

    def filter_state(self, queryset, name, value):
        if value == ANY:
            return queryset
        return queryset.filter(state=value)

    def filter_category(self, queryset, name, value):
        return queryset.filter(category_id__in=category_subtree(value))

    def filter_sla(self, queryset, name, value):
        if value == "breached":
            return queryset.filter(stage_due_at__lt=self.now)
        if value == "soon":
            return queryset.filter(stage_due_at__gte=self.now, stage_due_at__lte=self.now + DUE_SOON)
        if value == "ok":
            return queryset.filter(stage_due_at__gt=self.now + DUE_SOON)
        if value == "sla_missed":
            return queryset.filter(Q(sla_breached_at__isnull=False) | Q(first_response_breached_at__isnull=False))
        return queryset

    def filter_vip(self, queryset, name, value):
        return queryset.filter(vip=True) if value else queryset

    def filter_crisis(self, queryset, name, value):
        return queryset.filter(Q(crisis=True) | Q(queue__purpose=Queue.Purpose.CRISIS)) if value else queryset

    def filter_keyword(self, queryset, name, value):
        words = CaseKeyword.objects.filter(word=value.strip())
        data = self.form.cleaned_data
        if data.get("keyword_category"):
            words = words.filter(product_category=data["keyword_category"])
        if data.get("keyword_sku"):
            words = words.filter(sku=data["keyword_sku"].strip())
        return queryset.filter(pk__in=words.values("case_id"))

    def keep(self, queryset, name, value):
        return queryset  # read by filter_keyword

    def filter_opened_from(self, queryset, name, value):
        return queryset.filter(opened_at__gte=_local_midnight(value))

    def filter_opened_to(self, queryset, name, value):
        return queryset.filter(opened_at__lt=_local_midnight(value) + timedelta(days=1))

    def filter_product(self, queryset, name, value):
        return queryset.filter(
            Exists(CaseLine.objects.filter(case_id=OuterRef("pk"), order_line__category_id=value.pk))
        )

    def filter_sku(self, queryset, name, value):
        return queryset.filter(Exists(CaseLine.objects.filter(case_id=OuterRef("pk"), order_line__sku=value.strip())))

    def filter_sort(self, queryset, name, value):
        orderings = {
            "newest": ("-opened_at", "-id"),
            "oldest": ("opened_at", "id"),
            "urgency": ("-urgency", F("stage_due_at").asc(nulls_last=True), "id"),
        }
        return queryset.order_by(*orderings.get(value, ()))

    def filter_queryset(self, queryset):
        if not self.form.cleaned_data.get("state"):
            queryset = queryset.filter(state__in=OPEN_STATES)
        return super().filter_queryset(queryset)


def category_subtree(category: ProblemCategory):
    """The ids of a problem category and everything below it (three levels at most)."""
    pk = category.pk
    return ProblemCategory.objects.filter(Q(pk=pk) | Q(parent=pk) | Q(parent__parent=pk)).values("pk")


def _local_midnight(day) -> datetime:
    return timezone.make_aware(datetime.combine(clamp(day), time.min))


class PayoutFilter(django_filters.FilterSet):
    """Narrow a tab of the payouts page: a case or order number (or phone), the kind, the channel, how long it
    has been payable."""

    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_search",
        widget=forms.TextInput(attrs={"placeholder": _("Case no., order no. or phone")}),
    )
    kind = django_filters.ChoiceFilter(label=_("kind"), choices=Compensation.Kind.choices, empty_label=_("any"))
    channel = django_filters.ChoiceFilter(
        label=_("channel"), field_name="case__channel", choices=Channel.choices, empty_label=_("any")
    )
    age = django_filters.ChoiceFilter(
        label=_("payable for"),
        choices=[("1", _("over 1 day")), ("3", _("over 3 days")), ("7", _("over 7 days"))],
        method="filter_age",
        empty_label=_("any"),
    )

    class Meta:
        model = Compensation
        fields = ()

    def __init__(self, *args, kinds=None, **kwargs):
        super().__init__(*args, **kwargs)
        if kinds is not None:  # a tab offers only its own kinds
            self.filters["kind"].extra["choices"] = [c for c in Compensation.Kind.choices if c[0] in kinds]

    def filter_search(self, queryset, name, value):
        return queryset.filter(case__in=Case.objects.search(value).values("pk"))

    def filter_age(self, queryset, name, value):
        return queryset.filter(payable_at__lte=timezone.now() - timedelta(days=int(value)))
