"""API views: parse, call the one service, answer. Channel systems see only their channel's cases
(anything else is 404); staff see what ``case_scope_for`` lets them see."""

from __future__ import annotations

import hashlib
import json

from django.db import IntegrityError, transaction
from django.db.models import F, Prefetch
from django.http import FileResponse, Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiCallback,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action as drf_action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from aftersales import services
from aftersales.api import serializers as s
from aftersales.api.authentication import (
    ApiKeyAuthentication,
    ApiKeyThrottle,
    IsChannelSystem,
    IsStaff,
    StaffSessionAuthentication,
    StaffThrottle,
)
from aftersales.errors import NotAllowed
from aftersales.models import ApiKey, Case, CaseEvent, Compensation, Evidence, IdempotencyRecord
from aftersales.selectors import LIST_RELATED, case_scope_for
from aftersales.selectors.filters import CaseQueueFilter
from aftersales.selectors.public import public_cases
from aftersales.workflow.serializers import CounterOfferSerializer, ShipmentSerializer
from aftersales.workflow.transitions import CASE, COMPENSATION, TRANSITIONS, Action
from config.pagination import CappedCountPaginator
from customers.models import Order

ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid input: each bad field with its messages."),
    401: OpenApiResponse(s.ErrorSerializer, description="No or unknown credentials."),
    403: OpenApiResponse(s.ErrorSerializer, description="Not permitted (for staff endpoints also: not signed in)."),
    404: OpenApiResponse(s.ErrorSerializer, description="No such case (or not one you may see)."),
    409: OpenApiResponse(s.ErrorSerializer, description="Not allowed now; the detail says why."),
    429: OpenApiResponse(s.ErrorSerializer, description="Too many requests for this key."),
}


def errors(*codes):
    return {code: ERRORS[code] for code in codes}


# --------------------------------------------------------------------------
# Channel systems
# --------------------------------------------------------------------------
class ChannelView(generics.GenericAPIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsChannelSystem]
    throttle_classes = [ApiKeyThrottle]

    @property
    def api_key(self) -> ApiKey:
        return self.request.auth

    def channel_case(self, number: str):
        return Case.objects.filter(channel=self.api_key.channel, number=number.upper())

    def case_pk(self, number: str) -> int:
        """The case's id, if it is one of this channel's (404 otherwise): enough to act on it."""
        pk = self.channel_case(number).values_list("pk", flat=True).first()
        if pk is None:
            raise Http404
        return pk

    def get_case(self, number: str) -> Case:
        """The case with what its public view shows."""
        case = public_cases().filter(channel=self.api_key.channel, number=number.upper()).first()
        if case is None:
            raise Http404
        return case

    def public(self, case: Case, code=status.HTTP_200_OK) -> Response:
        return Response(s.PublicCaseSerializer(self.get_case(case.number)).data, status=code)


def _fingerprint(data) -> str:
    """The request as validated, optional fields filled in: a retry that spells a default out is the same request."""
    data = {**data, "category": data.get("category")}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()


class CaseCreateView(ChannelView):
    serializer_class = s.OpenCaseSerializer

    @extend_schema(
        summary="Open a case",
        operation_id="cases_open",
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="Retry safely: the same key returns the case it created, not a second one.",
            )
        ],
        responses={201: s.PublicCaseSerializer, 200: s.PublicCaseSerializer, **errors(400, 401, 403, 409, 429)},
    )
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        idempotency = (request.headers.get("Idempotency-Key") or "").strip()
        if len(idempotency) > 100:
            raise ValidationError({"Idempotency-Key": [_("At most 100 characters.")]})
        if not idempotency:
            return self.public(self._open(data), status.HTTP_201_CREATED)
        fingerprint = _fingerprint(data)
        try:
            with transaction.atomic():
                # Concurrent requests with the same key wait here on the unique index; the loser sees the winner's case.
                record = IdempotencyRecord.objects.create(
                    api_key=self.api_key, key=idempotency, fingerprint=fingerprint
                )
                case = self._open(data)
                record.case = case
                record.save(update_fields=["case"])
        except IntegrityError:
            record = (
                IdempotencyRecord.objects.filter(api_key=self.api_key, key=idempotency).select_related("case").first()
            )
            if record is None or record.case is None:
                raise NotAllowed(
                    _("A request with this Idempotency-Key is still being processed; retry shortly.")
                ) from None
            if record.fingerprint != fingerprint:
                raise NotAllowed(_("This Idempotency-Key was used for a different request.")) from None
            return self.public(record.case, status.HTTP_200_OK)
        return self.public(case, status.HTTP_201_CREATED)

    def _open(self, data) -> Case:
        order = Order.objects.filter(number=data["order_number"].strip(), channel=self.api_key.channel).first()
        if order is None:
            raise ValidationError({"order_number": [_("Unknown order “%(order)s”.") % {"order": data["order_number"]}]})
        lines = []
        by_sku = None
        for index, line in enumerate(data["lines"]):
            if "line" in line:
                lines.append((line["line"], line["quantity"]))
                continue
            if by_sku is None:
                by_sku = {}
                for pk, sku in order.lines.values_list("pk", "sku"):
                    by_sku.setdefault(sku, pk)
            if line["sku"] not in by_sku:
                raise ValidationError(
                    {
                        "lines": {
                            index: {
                                "sku": [
                                    _("Order %(order)s has no SKU %(sku)s.")
                                    % {"order": order.number, "sku": line["sku"]}
                                ]
                            }
                        }
                    }
                )
            lines.append((by_sku[line["sku"]], line["quantity"]))
        return services.case_open(
            actor=self.request.user,
            order_id=order.pk,
            lines=lines,
            request_type=data["request_type"],
            reason=data["reason"],
            category_id=data.get("category"),
            urgency=data["urgency"],
            channel=self.api_key.channel,
            evidence=data["evidence"],
        )


class CaseProgressView(ChannelView):
    serializer_class = s.PublicCaseSerializer

    @extend_schema(
        summary="A case's progress",
        operation_id="cases_progress",
        responses={200: s.PublicCaseSerializer, **errors(401, 403, 404, 429)},
    )
    def get(self, request, number: str):
        return Response(s.PublicCaseSerializer(self.get_case(number)).data)


class CustomerActionView(ChannelView):
    """The customer's decisions, each one service call."""

    def run(self, case_id: int, data: dict):
        raise NotImplementedError

    def post(self, request, number: str):
        case_id = self.case_pk(number)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.run(case_id, serializer.validated_data)
        return Response(s.PublicCaseSerializer(self.get_case(number)).data)


def _customer_action(name, serializer_class, summary, run):
    class View(CustomerActionView):
        @extend_schema(
            summary=summary,
            operation_id=f"cases_{name}",
            responses={200: s.PublicCaseSerializer, **errors(400, 401, 403, 404, 409, 429)},
        )
        def post(self, request, number: str):
            return super().post(request, number)

    View.serializer_class = serializer_class
    View.run = run
    View.__name__ = View.__qualname__ = "".join(part.title() for part in name.split("_")) + "View"
    return View


AcceptView = _customer_action(
    "accept",
    s.NoteSerializer,
    "The customer accepts the offer",
    lambda self, pk, d: services.case_confirm(case_id=pk, actor=self.request.user, note=d["note"]),
)
DeclineView = _customer_action(
    "decline",
    CounterOfferSerializer,
    "The customer declines the offer (and may say what they ask for instead)",
    lambda self, pk, d: services.case_decline(
        case_id=pk,
        actor=self.request.user,
        note=d["note"],
        counter_amount=d["counter_amount"],
        counter_kind=d["counter_kind"],
    ),
)
CancelView = _customer_action(
    "cancel",
    s.OptionalReasonSerializer,
    "The customer cancels the request",
    lambda self, pk, d: services.case_cancel(case_id=pk, actor=self.request.user, reason=d["reason"]),
)
AppealView = _customer_action(
    "appeal",
    s.ReasonSerializer,
    "The customer appeals (the case is escalated)",
    lambda self, pk, d: services.case_escalate(case_id=pk, actor=self.request.user, reason=d["reason"]),
)
ConfirmReceiptView = _customer_action(
    "confirm_receipt",
    s.NoteSerializer,
    "The customer has the goods sent to them (a replacement, a gift): the case closes",
    lambda self, pk, d: services.case_confirm_receipt(case_id=pk, actor=self.request.user, note=d["note"]),
)
ReturnShipmentView = _customer_action(
    "return_shipment",
    ShipmentSerializer,
    "The customer reports the parcel they sent back (carrier and tracking number)",
    lambda self, pk, d: services.case_ship_return(case_id=pk, actor=self.request.user, **d),
)


class EvidenceView(ChannelView):
    """The customer's photos and videos for their case: one multipart POST, answered with the case."""

    serializer_class = s.EvidenceUploadSerializer
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="The customer's evidence: photos and short videos (multipart, field files)",
        operation_id="cases_evidence",
        request={"multipart/form-data": s.EvidenceUploadSerializer},
        responses={201: s.PublicCaseSerializer, **errors(400, 401, 403, 404, 409, 429)},
    )
    def post(self, request, number: str):
        case_id = self.case_pk(number)
        files = request.FILES.getlist("files")
        services.case_add_evidence(case_id=case_id, actor=request.user, files=files)
        return Response(s.PublicCaseSerializer(self.get_case(number)).data, status=status.HTTP_201_CREATED)


class EvidenceFileView(ChannelView):
    """One evidence file of this channel's case (never a public URL)."""

    @extend_schema(
        summary="Download one evidence file",
        operation_id="cases_evidence_file",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **errors(401, 403, 404, 429)},
    )
    def get(self, request, number: str, pk: int):
        evidence = Evidence.objects.filter(pk=pk, case__in=self.channel_case(number)).first()
        if evidence is None:
            raise Http404
        try:
            handle = evidence.file.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(handle, content_type=evidence.content_type)
        response["Cache-Control"] = "private, max-age=3600"
        return response


RatingView = _customer_action(
    "rate",
    s.RatingSerializer,
    "The customer rates the closed case (once)",
    lambda self, pk, d: services.case_rate(
        case_id=pk, actor=self.request.user, csat=d["csat"], nps=d["nps"], comment=d["comment"]
    ),
)


class WebhookView(ChannelView):
    serializer_class = s.WebhookSerializer

    @extend_schema(
        summary="The progress webhook of this key",
        operation_id="webhook_read",
        responses={200: s.WebhookSerializer, **errors(401, 403, 429)},
    )
    def get(self, request):
        return Response({"url": self.api_key.webhook_url, "signing_secret": self.api_key.webhook_secret})

    @extend_schema(
        summary="Register (or clear, with an empty URL) the progress webhook",
        operation_id="webhook_set",
        responses={200: s.WebhookSerializer, **errors(400, 401, 403, 429)},
        callbacks=[
            OpenApiCallback(
                "progress",
                "{$request.body#/url}",
                extend_schema(
                    summary="A case's progress (signed: X-Aftersales-Timestamp, X-Aftersales-Signature)",
                    request=s.ChannelEventSerializer,
                    responses={200: None},
                ),
            ),
            OpenApiCallback(
                "refund_requested",
                "{$request.body#/url}",
                extend_schema(
                    summary="A refund to settle through the original payment (signed the same way)",
                    request=s.RefundRequestedSerializer,
                    responses={200: None},
                ),
            ),
        ],
    )
    def put(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        url = serializer.validated_data["url"]
        ApiKey.objects.filter(pk=self.api_key.pk).update(webhook_url=url)
        return Response({"url": url, "signing_secret": self.api_key.webhook_secret})


# --------------------------------------------------------------------------
# Staff
# --------------------------------------------------------------------------
class CappedPagination(PageNumberPagination):
    """Pages of 50 (up to 100 with ``page_size``); the count stops at 10,001 rows, like the queue page."""

    django_paginator_class = CappedCountPaginator
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        """A page that is not a number or past the end is bad input naming ``page`` (400), not a missing case."""
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound as exc:
            raise ValidationError({self.page_query_param: [exc.detail]}) from exc


def _case_detail(request, case_id: int) -> Response:
    """The case as the action left it, even when the action (or a rule it triggered) moved it out of the actor's
    scope: the write succeeded, so the answer is 200 with the result, not a 404."""
    case = StaffCaseViewSet.with_detail(Case.objects.select_related(*LIST_RELATED)).get(pk=case_id)
    return Response(s.StaffCaseDetailSerializer(case, context={"request": request}).data)


def _staff_action(action: Action, on: str):
    """One POST endpoint per registry entry: the entry's serializer in, its service, the case detail out."""

    def handler(self, request, pk=None):
        target = self.get_object()  # in the actor's scope, or 404
        serializer = action.serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.perform(action, target_id=target.pk, actor=request.user, data=dict(serializer.validated_data))
        return _case_detail(request, target.pk if on == CASE else target.case_id)

    handler.__name__ = handler.__qualname__ = action.name  # before @action: the router maps POST to this name
    handler = drf_action(
        detail=True, methods=["post"], url_path=action.name.replace("_", "-"), serializer_class=action.serializer
    )(handler)
    return extend_schema(
        summary=str(action.name.replace("_", " ").capitalize()),
        operation_id=f"staff_{on}s_{action.name}",
        request=action.serializer,
        responses={200: s.StaffCaseDetailSerializer, **errors(400, 403, 404, 409, 429)},
    )(handler)


class StaffView(viewsets.GenericViewSet):
    authentication_classes = [StaffSessionAuthentication]
    permission_classes = [IsStaff]
    throttle_classes = [StaffThrottle]
    lookup_value_regex = r"[0-9]{1,18}"
    #: The registry's actions on this kind of object, by name.
    actions_on: dict[str, Action] = {}

    def get_serializer_class(self):
        if self.action in self.actions_on:
            return self.actions_on[self.action].serializer
        return super().get_serializer_class()


@extend_schema_view(
    list=extend_schema(
        summary="Cases you may see, with the queue's filters",
        operation_id="staff_cases_list",
        responses={200: s.StaffCaseListSerializer(many=True), **errors(400, 403, 429)},
    ),
    retrieve=extend_schema(
        summary="One case",
        operation_id="staff_cases_retrieve",
        responses={200: s.StaffCaseDetailSerializer, **errors(403, 404, 429)},
    ),
)
class StaffCaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffView):
    filterset_class = CaseQueueFilter
    pagination_class = CappedPagination
    actions_on = {action.name: action for action in TRANSITIONS.api_actions(CASE)}

    def get_queryset(self):
        if self.action in self.actions_on:
            return case_scope_for(self.request.user).only("pk")  # the service loads and locks the case itself
        queryset = case_scope_for(self.request.user).select_related(*LIST_RELATED)
        if self.action == "list":
            return queryset.order_by(F("stage_due_at").asc(nulls_last=True), "id")
        return self.with_detail(queryset)

    @staticmethod
    def with_detail(queryset):
        return queryset.prefetch_related(
            "lines__order_line",
            Prefetch("compensations", queryset=Compensation.objects.order_by("id")),
            Prefetch("events", queryset=CaseEvent.objects.select_related("actor").order_by("created_at", "id")),
        )

    def filter_queryset(self, queryset):
        # The queue's filters (open cases by default) are for the list; one case is found by its id in the scope.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_serializer_class(self):
        if self.action == "list":
            return s.StaffCaseListSerializer
        if self.action in self.actions_on:
            return super().get_serializer_class()
        return s.StaffCaseDetailSerializer


class StaffCompensationViewSet(StaffView):
    """The compensation transitions of the registry, on the compensations of cases the actor may see."""

    actions_on = {action.name: action for action in TRANSITIONS.api_actions(COMPENSATION)}
    serializer_class = s.StaffCompensationSerializer

    def get_queryset(self):
        return Compensation.objects.filter(case__in=case_scope_for(self.request.user)).only("pk", "case_id")


for _view in (StaffCaseViewSet, StaffCompensationViewSet):
    _on = CASE if _view is StaffCaseViewSet else COMPENSATION
    for _name, _entry in _view.actions_on.items():
        setattr(_view, _name, _staff_action(_entry, _on))


@csrf_exempt  # a POST to a wrong path is answered like a GET: JSON 404, not the CSRF page
def not_found(request, *args, **kwargs):
    """Any path under ``/api/v1/`` that names no endpoint: the API's JSON 404, never the site's HTML page."""
    return JsonResponse(
        {"detail": _("No such endpoint."), "code": "not_found"}, status=404, json_dumps_params={"ensure_ascii": False}
    )
