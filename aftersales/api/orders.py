"""The shop's orders and customers in, for a channel key: upsert one order, or a batch of up to 500.

Each order is written by ``aftersales.services.orders.order_upsert`` in its own transaction; a channel only ever
sees its own orders (another channel's order number answers 404 on reading and 409 on writing).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from aftersales.api.serializers import ErrorSerializer
from aftersales.api.views import ChannelView, errors
from aftersales.errors import Conflict, NotAllowed
from aftersales.services.orders import CREATED, order_upsert, order_upsert_many
from aftersales.workflow.serializers import (
    OrderBatchItemSerializer,
    OrderUpsertSerializer,
    categories_by_code,
)
from customers.models import Order

BATCH_LIMIT = 500


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


def _orders_of(channel: str):
    return Order.objects.filter(channel=channel).select_related("customer").prefetch_related("lines__category")


class OrderView(ChannelView):
    serializer_class = OrderUpsertSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "categories": categories_by_code()}

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
        validator = OrderBatchItemSerializer(
            context={**self.get_serializer_context(), "categories": categories_by_code()}
        )
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
