"""The input of each staff action as a DRF serializer, for the REST API.

Field for field these are the keyword arguments of the action's service, like the page forms in
``aftersales.workflow.forms`` (``tests/aftersales/test_registry.py`` checks both against the service). The
response shapes live with the API (``aftersales.api.serializers``).
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aftersales.models import (
    CUSTOMER_COUNTER_KINDS,
    ESCALATION_RESOLUTIONS,
    Attribution,
    Carrier,
    CaseState,
    Compensation,
    Inspection,
)
from customers.models import ContactChannel, PaymentMethod, ProductCategory


class VersionedSerializer(serializers.Serializer):
    expected_version = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**31,
        help_text=_("The case version you read; if someone changed the case since, the action is refused (409)."),
    )


class ClaimSerializer(VersionedSerializer):
    pass


class ApproveSerializer(VersionedSerializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)
    override_window = serializers.BooleanField(required=False, default=False)


class StaffReasonSerializer(VersionedSerializer):
    reason = serializers.CharField(max_length=1000)


class StaffOptionalReasonSerializer(VersionedSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class StaffNoteSerializer(VersionedSerializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class CounterOfferSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)
    counter_amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        allow_null=True,
        default=None,
        help_text=_("What the customer asks for instead (CNY)."),
    )
    counter_kind = serializers.ChoiceField(
        choices=[(k, label) for k, label in Compensation.Kind.choices if k in CUSTOMER_COUNTER_KINDS],
        required=False,
        allow_blank=True,
        default="",
        help_text=_(
            "The kind of compensation the customer asks for; without it, the kind of the declined offer's main item."
        ),
    )


class StaffDeclineSerializer(VersionedSerializer, CounterOfferSerializer):
    # Staff record what the customer asked for on the phone: any kind (a replacement, a gift) may be noted.
    counter_kind = serializers.ChoiceField(
        choices=Compensation.Kind.choices, required=False, allow_blank=True, default=""
    )


class FollowUpSerializer(serializers.Serializer):
    reached = serializers.BooleanField(help_text=_("Was the customer reached on this call?"))
    satisfied = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text=_("Is the customer satisfied (when reached)?")
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    new_complaint = serializers.BooleanField(
        required=False, default=False, help_text=_("Open a new complaint case on the same order (notes describe it).")
    )
    expected_attempts = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        help_text=_(
            "The calls recorded when you read the follow-up; if another was recorded since, this one is refused."
        ),
    )


class CauseAnalysisSerializer(serializers.Serializer):
    root_cause = serializers.CharField(max_length=2000)
    attribution = serializers.ChoiceField(choices=Attribution.choices)
    corrective_action = serializers.CharField(max_length=2000)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True),
        help_text=_("The user (an agent or a supervisor) who carries out the action."),
    )
    due_on = serializers.DateField(required=False, allow_null=True, default=None)


class ResultSerializer(serializers.Serializer):
    result = serializers.CharField(max_length=2000)


class StaffRequiredNoteSerializer(VersionedSerializer):
    note = serializers.CharField(max_length=1000)


class ShipmentSerializer(serializers.Serializer):
    """A parcel the customer sent: the carrier by its code and the tracking number (checked per carrier)."""

    carrier = serializers.ChoiceField(choices=Carrier.choices, help_text=_("The carrier's code."))
    tracking_number = serializers.CharField(
        max_length=40, help_text=_("Checked against the carrier's format; spaces and dashes are ignored.")
    )
    pickup = serializers.BooleanField(
        required=False, default=False, help_text=_("Door-to-door pickup (where the policy offers it).")
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class ReturnShipmentSerializer(VersionedSerializer, ShipmentSerializer):
    pass


class DispatchSerializer(VersionedSerializer):
    carrier = serializers.ChoiceField(choices=Carrier.choices)
    tracking_number = serializers.CharField(max_length=40)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class ReceiveSerializer(VersionedSerializer):
    tracking_number = serializers.CharField(max_length=40)
    carrier = serializers.ChoiceField(choices=Carrier.choices, required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class InspectSerializer(VersionedSerializer):
    grade = serializers.ChoiceField(choices=Inspection.Grade.choices)
    responsible_party = serializers.ChoiceField(choices=Inspection.Party.choices)
    disposition = serializers.ChoiceField(choices=Inspection.Disposition.choices)
    findings = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ResolveSerializer(VersionedSerializer):
    decision = serializers.ChoiceField(choices=[(s, CaseState(s).label) for s in ESCALATION_RESOLUTIONS])
    note = serializers.CharField(
        max_length=1000, help_text=_("The reason for the decision: the customer and the channel are told it.")
    )


class CompensationAddSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Compensation.Kind.choices)
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0.01"), max_value=Decimal("9999999999.99")
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class CompensationNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class CompensationRequiredNoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=200)


class PayoutSerializer(serializers.Serializer):
    payout_reference = serializers.CharField(max_length=64)


# --------------------------------------------------------------------------
# The shop's orders (the channel API's order feed and the admin's order import)
# --------------------------------------------------------------------------
ORDER_NUMBER = r"[A-Za-z0-9_-]{1,32}"


def categories_by_code() -> dict[str, ProductCategory]:
    """The product categories by code, for ``CategoryField`` (``context["categories"]``): one query per request."""
    return {category.code: category for category in ProductCategory.objects.all()}


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know (a typo is an error naming the field, not silently ignored)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.STR)
class CategoryField(serializers.Field):
    """A product category by its code (the codes are loaded once per request, in the context)."""

    default_error_messages = {"invalid": _("Give the product category's code as text.")}

    def to_internal_value(self, data):
        if not isinstance(data, str) or not data.strip():
            self.fail("invalid")
        code, categories = data.strip(), self.context["categories"]
        if code not in categories:
            raise serializers.ValidationError(
                _("Unknown product category “%(code)s”; known: %(codes)s.")
                % {"code": code, "codes": ", ".join(sorted(categories)) or "—"}
            )
        return categories[code]

    def to_representation(self, value):
        return value.code


class OrderCustomerSerializer(StrictSerializer):
    id = serializers.CharField(max_length=64, help_text=_("The customer's id in the channel's system."))
    name = serializers.CharField(max_length=100)
    phone = serializers.RegexField(r"^\+?[0-9][0-9-]{4,19}$", max_length=20)
    email = serializers.EmailField(required=False, allow_blank=True, default="", max_length=254)
    region = serializers.CharField(required=False, allow_blank=True, default="", max_length=60)
    # Kept as they are when not sent (the customer may have told the merchant's service team instead).
    notify_by = serializers.ChoiceField(
        choices=ContactChannel.choices,
        required=False,
        allow_blank=True,
        help_text=_("How the customer prefers to hear about their cases; empty: the first way we have."),
    )
    miniprogram_openid = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text=_("The customer's openid in the shop's WeChat mini-program (for subscription messages)."),
    )


class OrderLineInSerializer(StrictSerializer):
    sku = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=120)
    category = CategoryField(help_text=_("Product category code."))
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)


class OrderUpsertSerializer(StrictSerializer):
    version = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=2**62,
        help_text=_("The order's version in your system; an older one never overwrites a newer one."),
    )
    updated_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text=_("When your system last changed the order.")
    )
    customer = OrderCustomerSerializer()
    placed_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    shipped_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    delivered_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    payment_method = serializers.ChoiceField(
        choices=PaymentMethod.choices, required=False, allow_blank=True, default=""
    )
    payment_transaction_id = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    shipping_address = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    lines = OrderLineInSerializer(many=True, min_length=1, max_length=200)


class OrderBatchItemSerializer(OrderUpsertSerializer):
    number = serializers.RegexField(rf"^{ORDER_NUMBER}$", max_length=32)
