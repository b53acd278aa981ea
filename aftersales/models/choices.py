"""The vocabulary of the domain: case states and their groups, request types, priorities, whom a stage
waits on, attribution, compensation states; and the money field's shape."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

MONEY = {"max_digits": 12, "decimal_places": 2}
ZERO = Decimal("0.00")


class CaseState(models.TextChoices):
    PENDING_REVIEW = "pending_review", _("Pending review")
    AWAITING_RETURN = "awaiting_return", _("Awaiting return")
    RETURN_SHIPPED = "return_shipped", _("Return on its way")
    IN_QC = "in_qc", _("In QC")
    COMPENSATION = "compensation", _("Compensation")
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting a supervisor's approval")
    AWAITING_CONFIRMATION = "awaiting_confirmation", _("Awaiting confirmation")
    AWAITING_DISPATCH = "awaiting_dispatch", _("Awaiting dispatch")
    AWAITING_DELIVERY = "awaiting_delivery", _("Goods on their way to the customer")
    AWAITING_RECEIPT = "awaiting_receipt", _("Awaiting the customer's receipt")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")
    ESCALATED = "escalated", _("Escalated")


S = CaseState
OPEN_STATES = (
    S.PENDING_REVIEW,
    S.AWAITING_RETURN,
    S.RETURN_SHIPPED,
    S.IN_QC,
    S.COMPENSATION,
    S.AWAITING_APPROVAL,
    S.AWAITING_CONFIRMATION,
    S.AWAITING_DISPATCH,
    S.AWAITING_DELIVERY,
    S.AWAITING_RECEIPT,
    S.ESCALATED,
)
FINAL_STATES = (S.CLOSED, S.REJECTED, S.CANCELLED)
ESCALATABLE_STATES = tuple(state for state in OPEN_STATES if state != S.ESCALATED)
#: What a supervisor may decide for an escalated case.
ESCALATION_RESOLUTIONS = (S.COMPENSATION, S.CLOSED, S.REJECTED)


class CompensationKind(models.TextChoices):
    REFUND = "refund", _("Refund")
    RETURN_SHIPPING = "return_shipping", _("Return shipping")
    COUPON = "coupon", _("Coupon")
    CASH = "cash", _("Cash")
    REPLACEMENT = "replacement", _("Replacement")
    GIFT = "gift", _("Gift")


#: What a customer may ask for when declining an offer (a replacement or a gift is the merchant's to offer).
CUSTOMER_COUNTER_KINDS = (
    CompensationKind.REFUND,
    CompensationKind.CASH,
    CompensationKind.COUPON,
    CompensationKind.RETURN_SHIPPING,
)


class RequestType(models.TextChoices):
    REFUND_ONLY = "refund_only", _("Refund only")
    RETURN_REFUND = "return_refund", _("Return and refund")
    EXCHANGE = "exchange", _("Exchange")
    REPAIR = "repair", _("Repair")
    COMPLAINT = "complaint", _("Complaint")
    PRICE_ADJUSTMENT = "price_adjustment", _("Price adjustment / partial refund")


#: Request types whose goods come back to the warehouse (and through QC).
GOODS_RETURN_TYPES = (RequestType.RETURN_REFUND, RequestType.EXCHANGE, RequestType.REPAIR)
#: States after the customer accepted an offer whose goods go out to them (a replacement, a gift, a resend).
OUTBOUND_STATES = (S.AWAITING_DISPATCH, S.AWAITING_DELIVERY, S.AWAITING_RECEIPT)
#: Request types that may be opened without naming order lines.
LINELESS_TYPES = (RequestType.COMPLAINT,)
#: Request types whose refund may be paid before the goods are back.
QUICK_REFUND_TYPES = (RequestType.REFUND_ONLY, RequestType.RETURN_REFUND)


class Priority(models.TextChoices):
    RED = "red", _("Red")
    YELLOW = "yellow", _("Yellow")
    GREEN = "green", _("Green")


class WaitingOn(models.TextChoices):
    MERCHANT = "merchant", _("Merchant")
    CUSTOMER = "customer", _("Customer")
    WAREHOUSE = "warehouse", _("Warehouse")
    CARRIER = "carrier", _("Carrier")
    SUPERVISOR = "supervisor", _("Supervisor")
    FINANCE = "finance", _("Finance")
    NOBODY = "", _("Nobody")


class Carrier(models.TextChoices):
    """The express carriers a parcel travels with, by the codes the tracking aggregators use."""

    SF = "SF", _("SF Express")
    ZTO = "ZTO", _("ZTO Express")
    YTO = "YTO", _("YTO Express")
    YUNDA = "YUNDA", _("Yunda Express")
    STO = "STO", _("STO Express")
    JD = "JD", _("JD Logistics")
    EMS = "EMS", _("China Post EMS")
    JTEXPRESS = "JTEXPRESS", _("J&T Express")
    OTHER = "OTHER", _("Other carrier")


class Attribution(models.TextChoices):
    PRODUCT_QUALITY = "product_quality", _("Product quality")
    LOGISTICS = "logistics", _("Logistics")
    SERVICE = "service", _("Service")
    CUSTOMER = "customer", _("Customer's own reasons")
    OTHER = "other", _("Other")


class CompensationState(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", pgettext_lazy("compensation state", "Rejected")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Payout failed")
    VOIDED = "voided", _("Voided")


CS = CompensationState
#: Compensation states that count towards a case's total (neither refused nor withdrawn).
LIVE_COMPENSATION_STATES = (CS.PROPOSED, CS.APPROVED, CS.PAID, CS.FAILED)
#: Granted: approved by someone with the authority (and maybe paid, or its payout failed).
GRANTED_COMPENSATION_STATES = (CS.APPROVED, CS.PAID, CS.FAILED)


__all__ = [
    "CUSTOMER_COUNTER_KINDS",
    "ESCALATABLE_STATES",
    "ESCALATION_RESOLUTIONS",
    "FINAL_STATES",
    "GOODS_RETURN_TYPES",
    "GRANTED_COMPENSATION_STATES",
    "LINELESS_TYPES",
    "LIVE_COMPENSATION_STATES",
    "MONEY",
    "OPEN_STATES",
    "OUTBOUND_STATES",
    "QUICK_REFUND_TYPES",
    "ZERO",
    "Attribution",
    "Carrier",
    "CaseState",
    "CompensationKind",
    "CompensationState",
    "EventName",
    "Priority",
    "RequestType",
    "Settlement",
    "WaitingOn",
]


class Settlement(models.TextChoices):
    """Who pays a refund out: finance by hand, or the shop platform that took the payment (refunded through it)."""

    FINANCE = "finance", _("Finance")
    CHANNEL = "channel", _("The channel")


class EventName(models.TextChoices):
    """What happened, for the events of a case that are not transitions.

    A transition's event carries its name in the transition registry (``approve``, ``submit_offer`` …);
    ``aftersales.services.events`` has one constructor per kind of event, so names never drift.
    """

    OPEN = "open", _("Request received")
    CLAIM = "claim", _("Claimed")
    UPDATE = "update", _("Triage changed")
    RATED = "rated", _("Rated by the customer")
    NOTE = "note", _("Internal note")
    REPLY = "reply", _("Reply to customer")
    COMPENSATION_QUICK_REFUND = "compensation_quick_refund", _("Quick refund granted")
    COMPENSATION_PROPOSE = "compensation_propose", _("Compensation proposed")
    COMPENSATION_APPROVE = "compensation_approve", _("Compensation approved")
    COMPENSATION_REJECT = "compensation_reject", _("Compensation refused")
    COMPENSATION_VOID = "compensation_void", _("Compensation voided")
    COMPENSATION_PAYABLE = "compensation_payable", _("Compensation payable")
    COMPENSATION_SETTLEMENT_REQUESTED = "compensation_settlement_requested", _("Refund requested from the channel")
    COMPENSATION_SETTLEMENT_OVERDUE = (
        "compensation_settlement_overdue",
        _("The channel has not settled the refund in time"),
    )
    COMPENSATION_MARK_PAID = "compensation_mark_paid", _("Paid out")
    COMPENSATION_MARK_FAILED = "compensation_mark_failed", _("Payout failed")
    EVIDENCE = "evidence", _("Evidence added")
    PARCEL_DELIVERED = "parcel_delivered", _("Parcel delivered")
    PARCEL_EXCEPTION = "parcel_exception", _("Parcel delivery problem")
    PARCEL_STUCK = "parcel_stuck", _("Parcel without news from the carrier")
    STAGE_OVERDUE = "stage_overdue", _("Stage deadline passed")
    FIRST_RESPONSE_MISSED = "first_response_missed", _("First-response target missed")
    SLA_BREACH = "sla_breach", _("Resolution target missed")
    CRISIS = "crisis", _("Crisis protocol")
    RULE = "rule", _("Automation rule fired")
    FOLLOW_UP_DUE = "follow_up_due", _("Follow-up visit scheduled")
    FOLLOW_UP = "follow_up", _("Follow-up visit")
    CAUSE_ANALYSIS = "cause_analysis", _("Cause analysed")
    CORRECTIVE_ACTION_DONE = "corrective_action_done", _("Corrective action done")
    # Events of offers decided before ``awaiting_approval`` was a state (migration 0016).
    OFFER_APPROVAL_REQUESTED = "offer_approval_requested", _("Offer sent for a supervisor's approval")
    OFFER_RETURNED = "offer_returned", _("Offer returned to the agent")
