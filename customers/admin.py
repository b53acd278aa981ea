from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from config.pagination import CappedCountAdminMixin
from customers.masking import can_see_pii
from customers.models import Customer, Order, OrderLine, ProductCategory
from customers.selectors import customer_annual_spend, order_totals


@admin.register(ProductCategory)
class ProductCategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code")


@admin.register(Customer)
class CustomerAdmin(CappedCountAdminMixin, admin.ModelAdmin):
    list_display = ("name", "phone", "tier", "credit_score", "region", "dedicated_advisor")
    list_filter = ("tier",)
    list_select_related = ("dedicated_advisor",)
    search_fields = ("=phone", "name", "=email", "=external_id")
    search_help_text = _("Exact phone, email or channel customer id, or part of the name.")
    autocomplete_fields = ("dedicated_advisor",)
    ordering = ("-id",)
    readonly_fields = ("annual_spend", "masked_phone", "masked_email", "risk_flags_display")

    @admin.display(description=_("risk flags"))
    def risk_flags_display(self, obj: Customer) -> str:
        # Raised and cleared on the claimant review (with reasons), never typed in here.
        return "、".join(obj.risk_flag_labels) or "—"

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: Customer) -> str:
        return obj.masked_phone

    @admin.display(description=_("email"))
    def masked_email(self, obj: Customer) -> str:
        return obj.masked_email

    @admin.display(description=_("annual spend (CNY)"))
    def annual_spend(self, obj: Customer):
        return customer_annual_spend(obj) if obj.pk else "—"

    def get_list_display(self, request):
        if can_see_pii(request.user):
            return self.list_display
        return tuple("masked_phone" if name == "phone" else name for name in self.list_display)

    def get_fields(self, request, obj=None):
        contact = ["phone", "email"] if can_see_pii(request.user) else ["masked_phone", "masked_email"]
        return [
            "name",
            *contact,
            "tier",
            "credit_score",
            "annual_spend",
            "region",
            "dedicated_advisor",
            "risk_flags_display",
            "channel",
            "external_id",
            "notify_by",
            *(["miniprogram_openid"] if can_see_pii(request.user) else []),
        ]


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    fields = ("sku", "product_name", "category", "unit_price", "unit_cost", "quantity")
    extra = 0
    autocomplete_fields = ("category",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("category")


@admin.register(Order)
class OrderAdmin(CappedCountAdminMixin, admin.ModelAdmin):
    list_display = ("number", "customer_display", "channel", "placed_at", "delivered_at")
    list_filter = ("channel",)
    list_select_related = ("customer",)
    search_fields = ("=number",)
    search_help_text = _("Exact order number.")
    autocomplete_fields = ("customer",)
    inlines = (OrderLineInline,)
    ordering = ("-id",)
    readonly_fields = ("order_amount", "order_margin", "address_display")

    def get_fields(self, request, obj=None):
        address = ["shipping_address"] if can_see_pii(request.user) else ["address_display"]
        return [
            "number",
            "customer",
            "channel",
            "placed_at",
            "paid_at",
            "shipped_at",
            "delivered_at",
            "payment_method",
            "payment_transaction_id",
            *address,
            "order_amount",
            "order_margin",
            "source_version",
            "source_updated_at",
        ]

    @admin.display(description=_("customer"))
    def customer_display(self, obj: Order) -> str:
        return obj.customer.name

    @admin.display(description=_("shipping address"))
    def address_display(self, obj: Order) -> str:
        return obj.masked_address

    @admin.display(description=_("order value (CNY)"))
    def order_amount(self, obj: Order):
        return order_totals(obj.pk)["amount"] if obj.pk else "—"

    @admin.display(description=_("gross margin (CNY)"))
    def order_margin(self, obj: Order):
        return order_totals(obj.pk)["margin"] if obj.pk else "—"
