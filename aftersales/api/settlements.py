"""Refunds settled with the channel: the channel reports back on a ``refund.requested`` it received.

``POST /api/v1/compensations/{id}/settlement/`` with ``succeeded`` (the gateway's refund reference and time) or
``failed`` (the reason) calls ``compensation_settle``, the same payout services finance uses. A compensation of
another channel's case is a 404.
"""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from aftersales import services
from aftersales.api.views import ChannelView, errors
from aftersales.models import Compensation
from aftersales.services.compensations import FAILED, SUCCEEDED


class SettlementSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[(SUCCEEDED, SUCCEEDED), (FAILED, FAILED)])
    reference = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=64,
        help_text=_("The payment gateway's refund reference (required when succeeded)."),
    )
    settled_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text=_("When the gateway refunded (default: now).")
    )
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=200,
        help_text=_("Why it failed (required when failed)."),
    )

    def validate(self, data):
        if data["status"] == SUCCEEDED and not data["reference"].strip():
            raise serializers.ValidationError({"reference": [_("Give the gateway's refund reference.")]})
        if data["status"] == FAILED and not data["reason"].strip():
            raise serializers.ValidationError({"reason": [_("Say why the refund failed.")]})
        return data


class SettlementResultSerializer(serializers.Serializer):
    compensation = serializers.IntegerField(source="pk")
    case = serializers.CharField(source="case.number")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    state = serializers.CharField()
    reference = serializers.CharField(source="payout_reference", allow_null=True)
    settled_at = serializers.DateTimeField(source="paid_at", allow_null=True)
    changed = serializers.BooleanField(help_text=_("False when the same report was already received."))


class SettlementView(ChannelView):
    serializer_class = SettlementSerializer

    @extend_schema(
        summary="Report a refund the channel was asked to settle: succeeded (with its reference) or failed",
        operation_id="compensations_settle",
        responses={200: SettlementResultSerializer, **errors(400, 401, 403, 404, 409, 429)},
    )
    def post(self, request, pk: str):
        if not Compensation.objects.filter(pk=pk, case__channel=self.api_key.channel).exists():
            raise Http404
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        comp, changed = services.compensation_settle(
            compensation_id=int(pk),
            actor=request.user,
            outcome=data["status"],
            reference=data["reference"],
            reason=data["reason"],
            settled_at=data["settled_at"],
        )
        comp = Compensation.objects.select_related("case").get(pk=comp.pk)
        comp.changed = changed
        return Response(SettlementResultSerializer(comp).data, status=status.HTTP_200_OK)
