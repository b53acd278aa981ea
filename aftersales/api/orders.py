"""The shop's orders and customers in, for a channel key: upsert one order, or a batch of up to 500.

Each order is written by ``aftersales.services.orders.order_upsert`` in its own transaction; a channel only ever
sees its own orders (another channel's order number answers 404 on reading and 409 on writing).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from aftersales.api.serializers import ErrorSerializer
from aftersales.api.views import ChannelView, errors
from aftersales.errors import Conflict, NotAllowed
from aftersales.services.orders import CREATED, order_upsert, order_upsert_many
from customers.models import Order, PaymentMethod, ProductCategory

ORDER_NUMBER = r"[A-Za-z0-9_-]{1,32}"
BATCH_LIMIT = 500


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

    default_error_messages = {"invalid": gettext_lazy("Give the product category's code as text.")}

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
    id = serializers.CharField(max_length=64, help_text=gettext_lazy("The customer's id in the channel's system."))
    name = serializers.CharField(max_length=100)
    phone = serializers.RegexField(r"^\+?[0-9][0-9-]{4,19}$", max_length=20)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    region = serializers.CharField(required=False, allow_blank=True, default="", max_length=60)


class OrderLineInSerializer(StrictSerializer):
    sku = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=120)
    category = CategoryField(help_text=gettext_lazy("Product category code."))
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)


class OrderUpsertSerializer(StrictSerializer):
    version = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=2**62,
        help_text=gettext_lazy("The order's version in your system; an older one never overwrites a newer one."),
    )
    updated_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text=gettext_lazy("When your system last changed the order.")
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


class OrderBatchSerializer(serializers.Serializer):
    orders = serializers.ListField(
        child=serializers.DictField(), min_length=1, max_length=BATCH_LIMIT, help_text=gettext_lazy("Up to 500 orders.")
    )


class OrderLineOutSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField(source="product_name")
    category = serializers.CharField(source="category.code")
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=2)
    quantity = serializers.IntegerField()


class OrderCustomerOutSerializer(serializers.Serializer):
    id = serializers.CharField(source="external_id")
    name = serializers.CharField()
    phone = serializers.CharField(source="masked_phone", help_text=gettext_lazy("Masked."))


class OrderSerializer(serializers.Serializer):
    number = serializers.CharField()
    version = serializers.IntegerField(source="source_version", allow_null=True)
    updated_at = serializers.DateTimeField(source="source_updated_at", allow_null=True)
    customer = OrderCustomerOutSerializer()
    placed_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    shipped_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    payment_method = serializers.CharField(allow_blank=True)
    payment_transaction_id = serializers.CharField(allow_blank=True)
    shipping_address = serializers.CharField(
        source="masked_address", allow_blank=True, help_text=gettext_lazy("Masked.")
    )
    lines = OrderLineOutSerializer(many=True)


class OrderUpsertResultSerializer(serializers.Serializer):
    number = serializers.CharField()
    result = serializers.ChoiceField(choices=["created", "updated", "unchanged", "stale"])
    warnings = serializers.ListField(child=serializers.CharField())
    order = OrderSerializer()


class OrderBatchRowSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    number = serializers.CharField(allow_blank=True)
    result = serializers.ChoiceField(choices=["created", "updated", "unchanged", "stale", "error"])
    warnings = serializers.ListField(child=serializers.CharField())
    errors = serializers.DictField(
        child=serializers.JSONField(), required=False, help_text=gettext_lazy("Each bad field with its messages.")
    )


class OrderBatchResultSerializer(serializers.Serializer):
    results = OrderBatchRowSerializer(many=True)
    counts = serializers.DictField(child=serializers.IntegerField())


def _categories() -> dict[str, ProductCategory]:
    return {category.code: category for category in ProductCategory.objects.all()}


def _orders_of(channel: str):
    return Order.objects.filter(channel=channel).select_related("customer").prefetch_related("lines__category")


class OrderView(ChannelView):
    serializer_class = OrderUpsertSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "categories": _categories()}

    def _order(self, number: str) -> Order:
        order = _orders_of(self.api_key.channel).filter(number=number).first()
        if order is None:
            raise Http404
        return order

    @extend_schema(
        summary="One of your orders",
        operation_id="orders_read",
        responses={200: OrderSerializer, **errors(401, 403, 404, 429)},
    )
    def get(self, request, number: str):
        return Response(OrderSerializer(self._order(number)).data)

    @extend_schema(
        summary="Create or update one order (with its lines and customer)",
        operation_id="orders_upsert",
        responses={
            200: OrderUpsertResultSerializer,
            201: OrderUpsertResultSerializer,
            **errors(400, 401, 403, 409, 429),
            404: OpenApiResponse(ErrorSerializer, description="Not an order number (1–32 letters, digits, - or _)."),
        },
    )
    def put(self, request, number: str):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcome = order_upsert(
            channel=self.api_key.channel, number=number, data=serializer.validated_data, actor=request.user
        )
        body = {
            "number": number,
            "result": outcome.result,
            "warnings": outcome.warnings,
            "order": OrderSerializer(self._order(number)).data,
        }
        return Response(body, status=status.HTTP_201_CREATED if outcome.result == CREATED else status.HTTP_200_OK)


class OrderBatchView(ChannelView):
    serializer_class = OrderBatchSerializer

    @extend_schema(
        summary="Create or update up to 500 orders: each is written on its own and answered on its own",
        operation_id="orders_batch",
        responses={
            200: OrderBatchResultSerializer,
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="The envelope is invalid (not a list, over 500)."),
            **errors(401, 403, 429),
        },
    )
    def post(self, request):
        envelope = self.get_serializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        validator = OrderBatchItemSerializer(context={**self.get_serializer_context(), "categories": _categories()})
        rows, valid = [], []
        for index, raw in enumerate(envelope.validated_data["orders"]):
            row = {"index": index, "number": str(raw.get("number", ""))[:32], "warnings": []}
            rows.append(row)
            try:
                data = dict(validator.run_validation(raw))
            except serializers.ValidationError as exc:
                row.update(result="error", errors=exc.detail)
                continue
            valid.append((row, (data.pop("number"), data)))
        outcomes = order_upsert_many(
            channel=self.api_key.channel, orders=[order for _row, order in valid], actor=request.user
        )
        for (row, _order), outcome in zip(valid, outcomes, strict=True):
            if isinstance(outcome, Conflict):
                row.update(result="error", errors={outcome.field: [str(outcome)]})
            elif isinstance(outcome, NotAllowed):
                row.update(result="error", errors={"detail": [str(outcome)]})
            elif isinstance(outcome, DjangoValidationError):
                errors = outcome.message_dict if hasattr(outcome, "error_dict") else {"detail": outcome.messages}
                row.update(result="error", errors=errors)
            else:
                row.update(result=outcome.result, warnings=outcome.warnings)
        counts = dict.fromkeys(["created", "updated", "unchanged", "stale", "error"], 0)
        for row in rows:
            counts[row["result"]] += 1
        return Response({"results": rows, "counts": counts})
