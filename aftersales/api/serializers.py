"""Request and response shapes of the API. Requests are checked here (400 naming the field); the services
check the rest. The public view of a case never carries internal notes or staff names."""

from __future__ import annotations

from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aftersales.models import (
    ESCALATION_RESOLUTIONS,
    Carrier,
    CaseState,
    Compensation,
    Priority,
    RequestType,
    Shipment,
    WaitingOn,
)
from aftersales.permissions import display_name
from aftersales.selectors.public import (
    RETURN_PENDING_STATES,
    active_outbound,
    active_return,
    public_offer,
    public_timeline,
)
from aftersales.workflow.links import progress_url
from aftersales.workflow.shipping import return_details
from aftersales.workflow.transitions import CASE, TRANSITIONS
from customers.models import Channel


# --------------------------------------------------------------------------
# Errors (for the schema)
# --------------------------------------------------------------------------
class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False)


# --------------------------------------------------------------------------
# Channel systems
# --------------------------------------------------------------------------
class OpenLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(
        required=False, min_value=1, max_value=2**62, help_text=_("Order line id, or give the SKU.")
    )
    sku = serializers.CharField(required=False, max_length=40)
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)

    def validate(self, data):
        if ("line" in data) == ("sku" in data):
            raise serializers.ValidationError(_("Name the order line by its id or by its SKU (one of them)."))
        return data


class OpenCaseSerializer(serializers.Serializer):
    order_number = serializers.CharField(max_length=32)
    request_type = serializers.ChoiceField(choices=RequestType.choices)
    lines = OpenLineSerializer(many=True, required=False, default=list, max_length=50)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    evidence = serializers.ListField(
        child=serializers.CharField(max_length=500),
        required=False,
        default=list,
        max_length=20,
        help_text=_("Links to the customer's photos or videos."),
    )
    category = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**62)
    urgency = serializers.IntegerField(required=False, default=3, min_value=1, max_value=5)


class OfferItemSerializer(serializers.Serializer):
    compensation = serializers.IntegerField(help_text=_("Its id: the one to report on when the channel settles it."))
    kind = serializers.ChoiceField(choices=Compensation.Kind.choices)
    kind_label = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    state = serializers.CharField()


class ReturnAddressSerializer(serializers.Serializer):
    """Where the goods go back to (the case's policy version), by when, and how."""

    recipient = serializers.CharField(allow_blank=True)
    phone = serializers.CharField(allow_blank=True)
    address = serializers.CharField(allow_blank=True)
    instructions = serializers.CharField(allow_blank=True)
    pickup_offered = serializers.BooleanField(help_text=_("Door-to-door pickup (上门取件) may be asked for."))
    send_by = serializers.DateTimeField(
        allow_null=True, help_text=_("The return deadline (empty once the parcel is on its way).")
    )
    carriers = serializers.ListField(
        child=serializers.ChoiceField(choices=Carrier.choices), help_text=_("The carrier codes accepted.")
    )


class ScanSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=Shipment.Status.choices)
    status_label = serializers.CharField(source="get_status_display")
    place = serializers.CharField(allow_blank=True)
    description = serializers.CharField()


class ReturnShipmentSerializer(serializers.Serializer):
    """The parcel the customer sent back (the latest report), with the carrier's scans, newest first."""

    carrier = serializers.ChoiceField(choices=Carrier.choices)
    carrier_label = serializers.CharField(source="get_carrier_display")
    tracking_number = serializers.CharField()
    pickup = serializers.BooleanField()
    status = serializers.ChoiceField(choices=Shipment.Status.choices)
    status_label = serializers.CharField(source="get_status_display")
    reported_at = serializers.DateTimeField(source="created_at")
    delivered_at = serializers.DateTimeField(allow_null=True)
    scans = ScanSerializer(many=True, source="scans.all")


class EvidenceFileSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="original_name")
    content_type = serializers.CharField()
    size = serializers.IntegerField(help_text=_("Bytes, as stored (metadata removed)."))
    uploaded_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField(help_text=_("Where this key downloads it."))

    def get_url(self, evidence) -> str:
        return f"/api/v1/cases/{evidence.case.number}/evidence/{evidence.pk}/"


class EvidenceUploadSerializer(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(),
        max_length=20,
        help_text=_("JPEG, PNG or WebP photos and MP4 videos (checked by their content); metadata is removed."),
    )


class TimelineEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    event = serializers.CharField()
    label = serializers.CharField()
    state = serializers.CharField(allow_blank=True)
    message = serializers.CharField(allow_blank=True)


class PublicCaseSerializer(serializers.Serializer):
    """What a customer may know about their case."""

    number = serializers.CharField()
    order_number = serializers.CharField(source="order.number")
    request_type = serializers.ChoiceField(choices=RequestType.choices)
    state = serializers.ChoiceField(choices=CaseState.choices)
    state_label = serializers.CharField(source="get_state_display")
    waiting_on = serializers.ChoiceField(choices=WaitingOn.choices, allow_blank=True)
    deadline = serializers.DateTimeField(source="stage_due_at", allow_null=True)
    opened_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    offer = serializers.SerializerMethodField()
    return_address = serializers.SerializerMethodField()
    return_shipment = serializers.SerializerMethodField()
    outbound_shipment = serializers.SerializerMethodField()
    evidence_files = EvidenceFileSerializer(many=True, source="uploads.all")
    progress_url = serializers.SerializerMethodField(
        help_text=_("The customer's progress page (no login; works until 30 days after the case finished).")
    )

    def get_progress_url(self, case) -> str:
        return progress_url(case)

    timeline = serializers.SerializerMethodField()
    csat = serializers.IntegerField(allow_null=True)
    nps = serializers.IntegerField(allow_null=True)

    @extend_schema_field(ReturnAddressSerializer(allow_null=True))
    def get_return_address(self, case) -> dict | None:
        """While the goods are to come back: where to, by when, and how."""
        if not case.goods_come_back or case.state not in RETURN_PENDING_STATES:
            return None
        return ReturnAddressSerializer(return_details(case)).data

    @extend_schema_field(ReturnShipmentSerializer(allow_null=True))
    def get_outbound_shipment(self, case) -> dict | None:
        """The parcel sent to the customer (a replacement, a gift), with its scans."""
        shipment = active_outbound(case)
        return ReturnShipmentSerializer(shipment).data if shipment is not None else None

    @extend_schema_field(ReturnShipmentSerializer(allow_null=True))
    def get_return_shipment(self, case) -> dict | None:
        shipment = active_return(case)
        return ReturnShipmentSerializer(shipment).data if shipment is not None else None

    @extend_schema_field(OfferItemSerializer(many=True))
    def get_offer(self, case) -> list[dict]:
        items = public_offer(case)
        return OfferItemSerializer(
            [
                {
                    "compensation": c.pk,
                    "kind": c.kind,
                    "kind_label": c.get_kind_display(),
                    "amount": c.amount,
                    "state": c.state,
                }
                for c in items
            ],
            many=True,
        ).data

    @extend_schema_field(TimelineEntrySerializer(many=True))
    def get_timeline(self, case) -> list[dict]:
        return TimelineEntrySerializer(public_timeline(case), many=True).data


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


class OptionalReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class RatingSerializer(serializers.Serializer):
    csat = serializers.IntegerField(min_value=1, max_value=5)
    nps = serializers.IntegerField(min_value=0, max_value=10, required=False, allow_null=True, default=None)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class WebhookSerializer(serializers.Serializer):
    url = serializers.CharField(
        max_length=500,
        allow_blank=True,
        help_text="An http(s) URL that receives each progress event as a JSON POST; empty when none (PUT empty to clear).",
    )
    signing_secret = serializers.CharField(
        read_only=True,
        help_text=(
            "Each POST carries X-Aftersales-Timestamp and X-Aftersales-Signature: sha256=<hex HMAC-SHA256 with this secret "
            "over '<timestamp>.<raw body>'>. A new secret comes with a rotated key."
        ),
    )

    def validate_url(self, value: str) -> str:
        if value:
            URLValidator(schemes=["http", "https"], message=_("Use an http or https URL."))(value)
            from aftersales.notifications.delivery import refuse_private_url

            refuse_private_url(value)
        return value


# --------------------------------------------------------------------------
# Staff
# --------------------------------------------------------------------------
class StaffCaseListSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    order_number = serializers.CharField(source="order.number")
    customer = serializers.CharField(source="customer.name")
    request_type = serializers.ChoiceField(choices=RequestType.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    state = serializers.ChoiceField(choices=CaseState.choices)
    priority = serializers.ChoiceField(choices=Priority.choices)
    urgency = serializers.IntegerField()
    crisis = serializers.BooleanField()
    deadline = serializers.DateTimeField(source="stage_due_at", allow_null=True)
    waiting_on = serializers.ChoiceField(choices=WaitingOn.choices, allow_blank=True)
    queue = serializers.CharField(source="queue.code", allow_null=True, default=None)
    assignee = serializers.SerializerMethodField()
    opened_at = serializers.DateTimeField()
    version = serializers.IntegerField()

    def get_assignee(self, case) -> str:
        return display_name(case.assignee)


class StaffLineSerializer(serializers.Serializer):
    sku = serializers.CharField(source="order_line.sku")
    product = serializers.CharField(source="order_line.product_name")
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(source="order_line.unit_price", max_digits=12, decimal_places=2)


class StaffCompensationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Compensation.Kind.choices)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    state = serializers.CharField()
    payable = serializers.BooleanField()
    quick_refund = serializers.BooleanField()
    payout_reference = serializers.CharField(allow_null=True)


class StaffEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField(source="created_at")
    kind = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    from_state = serializers.CharField(allow_blank=True)
    to_state = serializers.CharField(allow_blank=True)
    actor = serializers.SerializerMethodField()
    note = serializers.CharField(allow_blank=True)

    def get_actor(self, event) -> str:
        return display_name(event.actor) if event.actor_id else str(_("System"))


class StandingCounterOfferSerializer(serializers.Serializer):
    """What the customer asked for instead when they declined the offer."""

    kind = serializers.ChoiceField(choices=Compensation.Kind.choices)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)
    at = serializers.DateTimeField()


def counter_offer(case) -> dict | None:
    if case.counter_amount is None:
        return None
    return {"kind": case.counter_kind, "amount": str(case.counter_amount), "at": case.counter_at}


class StaffCaseDetailSerializer(StaffCaseListSerializer):
    reason = serializers.CharField(allow_blank=True)
    counter_offer = serializers.SerializerMethodField(
        help_text=_("The customer's counter-offer, while it stands (accept it with the accept_counter action).")
    )

    @extend_schema_field(StandingCounterOfferSerializer(allow_null=True))
    def get_counter_offer(self, case) -> dict | None:
        data = counter_offer(case)
        return StandingCounterOfferSerializer(data).data if data else None

    customer_phone = serializers.SerializerMethodField()
    lines = StaffLineSerializer(many=True)
    compensations = StaffCompensationSerializer(many=True)
    events = StaffEventSerializer(many=True)

    def get_customer_phone(self, case) -> str:
        from customers.masking import can_see_pii

        request = self.context.get("request")
        user = request.user if request else None
        if not can_see_pii(user):
            return case.customer.masked_phone
        from audit.recording import record_unmasked

        record_unmasked(case.number, request=request, case=case.number, customer=case.customer_id, via="api")
        return case.customer.phone


# --------------------------------------------------------------------------
# What the channel's webhook receives (documented as callbacks of ``PUT /api/v1/webhook/``)
# --------------------------------------------------------------------------
def _progress_events() -> list[str]:
    return [entry.name for entry in TRANSITIONS.of(CASE) if TRANSITIONS.message(entry.name) is not None]


class ChannelOfferItemSerializer(serializers.Serializer):
    compensation = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Compensation.Kind.choices)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)
    state = serializers.CharField()


class ChannelReturnSerializer(ReturnAddressSerializer):
    shipment_url = serializers.CharField(help_text=_("Where to report the parcel (POST carrier and tracking number)."))


class ChannelShipmentSerializer(serializers.Serializer):
    carrier = serializers.ChoiceField(choices=Carrier.choices)
    tracking_number = serializers.CharField()


class ChannelEventSerializer(serializers.Serializer):
    """A case's progress: one POST per step the customer hears of (the transition's name in ``event``)."""

    event = serializers.ChoiceField(choices=[(name, name) for name in _progress_events()])
    case = serializers.CharField()
    order = serializers.CharField()
    state = serializers.ChoiceField(choices=CaseState.choices)
    waiting_on = serializers.ChoiceField(choices=WaitingOn.choices, allow_blank=True)
    deadline = serializers.DateTimeField(allow_null=True)
    at = serializers.DateTimeField()
    message = serializers.CharField(required=False, help_text=_("The merchant's reply to the customer (reply)."))
    offer = ChannelOfferItemSerializer(
        many=True, required=False, help_text=_("The offer to accept or decline (propose, approve_offer).")
    )
    offer_total = serializers.DecimalField(max_digits=12, decimal_places=2, required=False)
    decision = serializers.ChoiceField(
        choices=[(state, CaseState(state).label) for state in ESCALATION_RESOLUTIONS],
        required=False,
        help_text=_("Where the supervisor's decision took the case (resolve_escalation)."),
    )
    reason = serializers.CharField(
        required=False,
        help_text=_(
            "Why the request was not accepted (reject, inspect), or the supervisor's reason (resolve_escalation)."
        ),
    )
    counter_offer = StandingCounterOfferSerializer(
        required=False, help_text=_("What the customer asked for instead (decline with a counter-offer).")
    )
    progress_url = serializers.CharField(required=False, help_text=_("The customer's progress page."))
    # The name is a Python keyword: declared below.
    return_shipment = ChannelShipmentSerializer(
        required=False, help_text=_("The parcel the customer reported (ship_return).")
    )
    outbound_shipment = ChannelShipmentSerializer(
        required=False, help_text=_("The parcel sent to the customer (send_goods).")
    )


ChannelEventSerializer._declared_fields["return"] = ChannelReturnSerializer(
    required=False,
    help_text=_("Where and by when to send the goods back (approve, auto_approve of a case whose goods come back)."),
)


class RefundRequestedSerializer(serializers.Serializer):
    """A refund the channel settles through the original payment, then reports on (see the settlement endpoint)."""

    event = serializers.ChoiceField(choices=[("refund.requested", "refund.requested")])
    case = serializers.CharField()
    order = serializers.CharField()
    compensation = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.ChoiceField(choices=[("CNY", "CNY")])
    payment_method = serializers.CharField(allow_blank=True)
    payment_transaction_id = serializers.CharField(allow_blank=True)
    quick_refund = serializers.BooleanField()
    settle_by = serializers.DateTimeField(allow_null=True)
    settlement_url = serializers.CharField()
    at = serializers.DateTimeField()
