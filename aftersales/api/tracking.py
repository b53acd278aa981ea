"""The tracking provider's push: each parcel's scans, signed by the provider (no API key: the signature is the
credential). Whatever comes, the provider gets the answer its protocol asks for, so a push we ignore (bad
signature, a number we do not know) is logged and not sent again; nothing is written for it."""

from __future__ import annotations

import logging

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from aftersales import services
from aftersales.errors import NotAllowed
from aftersales.models import Shipment
from aftersales.tracking.providers import BadPush, provider

log = logging.getLogger(__name__)


class TrackingPushThrottle(AnonRateThrottle):
    rate = "600/min"


class TrackingPushView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser, MultiPartParser]
    throttle_classes = [TrackingPushThrottle]

    @extend_schema(
        summary="A tracking provider pushes a parcel's scans (Kuaidi100: form fields param and sign)",
        operation_id="tracking_push",
        request={"application/x-www-form-urlencoded": OpenApiTypes.OBJECT},
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="The provider's acknowledgement, always."),
            404: OpenApiResponse(OpenApiTypes.OBJECT, description="That provider is not the one set up here."),
        },
        auth=[],
    )
    def post(self, request, name: str):
        tracker = provider()
        if tracker is None or tracker.name != name:
            raise Http404
        try:
            tracking = tracker.parse_push(request.data)
        except BadPush as exc:
            log.warning("tracking push from %s ignored: %s", request.META.get("REMOTE_ADDR"), exc)
            return Response(tracker.answer(ok=False, message=f"ignored: {exc}"))
        shipments = list(
            Shipment.objects.filter(tracking_number=tracking.number, carrier=tracking.carrier, active=True).values_list(
                "pk", flat=True
            )
        )
        if not shipments:
            log.info("tracking push for an unknown parcel %s %s ignored", tracking.carrier, tracking.number)
            return Response(tracker.answer(ok=False, message="ignored: unknown parcel"))
        recorded = 0
        for pk in shipments:  # one parcel may carry the goods of two cases
            try:
                recorded += services.shipment_track(shipment_id=pk, tracking=tracking)
            except NotAllowed:
                continue
        return Response(tracker.answer(ok=True, message=f"ok: {recorded} new scans"))
