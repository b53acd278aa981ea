"""The after-sales domain: cases (return orders), their lines, events,
inspections and compensations, and the configuration supervisors edit
(queues, problem categories, policies, agent authority).

Models hold data and invariants. A django-fsm ``@transition`` only changes the
state and stamps the case's own fields: no queries, no I/O. Everything else a
transition needs (locking, permission, conditions, events, side effects) lives
in ``aftersales.services``.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition
from simple_history.models import HistoricalRecords

from customers.models import Channel, Customer, Order, OrderLine, ProductCategory

MONEY = {"max_digits": 12, "decimal_places": 2}
ZERO = Decimal("0.00")


# --------------------------------------------------------------------------
# Choices
# --------------------------------------------------------------------------
class CaseState(models.TextChoices):
    PENDING_REVIEW = "pending_review", _("Pending review")
    AWAITING_RETURN = "awaiting_return", _("Awaiting return")
    IN_QC = "in_qc", _("In QC")
    COMPENSATION = "compensation", _("Compensation")
    AWAITING_CONFIRMATION = "awaiting_confirmation", _("Awaiting confirmation")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")
    ESCALATED = "escalated", _("Escalated")


S = CaseState
OPEN_STATES = (
    S.PENDING_REVIEW,
    S.AWAITING_RETURN,
    S.IN_QC,
    S.COMPENSATION,
    S.AWAITING_CONFIRMATION,
    S.ESCALATED,
)
FINAL_STATES = (S.CLOSED, S.REJECTED, S.CANCELLED)
ESCALATABLE_STATES = tuple(state for state in OPEN_STATES if state != S.ESCALATED)
#: What a supervisor may decide for an escalated case.
ESCALATION_RESOLUTIONS = (S.COMPENSATION, S.CLOSED, S.REJECTED)


class RequestType(models.TextChoices):
    REFUND_ONLY = "refund_only", _("Refund only")
    RETURN_REFUND = "return_refund", _("Return and refund")
    EXCHANGE = "exchange", _("Exchange")
    REPAIR = "repair", _("Repair")
    COMPLAINT = "complaint", _("Complaint")
    PRICE_ADJUSTMENT = "price_adjustment", _("Price adjustment / partial refund")


#: Request types whose goods come back to the warehouse (and through QC).
GOODS_RETURN_TYPES = (RequestType.RETURN_REFUND, RequestType.EXCHANGE, RequestType.REPAIR)
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
    FINANCE = "finance", _("Finance")
    NOBODY = "", _("Nobody")


class Attribution(models.TextChoices):
    PRODUCT_QUALITY = "product_quality", _("Product quality")
    LOGISTICS = "logistics", _("Logistics")
    SERVICE = "service", _("Service")
    CUSTOMER = "customer", _("Customer's own reasons")
    OTHER = "other", _("Other")


# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------
class Queue(models.Model):
    class Purpose(models.TextChoices):
        GENERAL = "general", _("General")
        VIP = "vip", _("VIP")
        CRISIS = "crisis", _("Crisis")
        ESCALATION = "escalation", _("Escalation")
        QC = "qc", _("QC / warehouse")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60)
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices, default=Purpose.GENERAL)
    is_default = models.BooleanField(
        _("default queue"), default=False, help_text=_("New cases land here when no other queue applies.")
    )
    description = models.TextField(_("description"), blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), blank=True, related_name="case_queues"
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="queue_single_default",
                violation_error_message=_("Only one queue can be the default queue."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ProblemCategory(models.Model):
    """Three-level problem category, e.g. 质量问题 › 面料 › 起球."""

    MAX_LEVEL = 3

    name = models.CharField(_("name"), max_length=60)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    level = models.PositiveSmallIntegerField(_("level"), default=1, editable=False)
    attribution = models.CharField(
        _("attribution"),
        max_length=20,
        choices=Attribution.choices,
        default=Attribution.OTHER,
        help_text=_("Set on the top level; lower levels inherit it."),
    )
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("problem category")
        verbose_name_plural = _("problem categories")
        ordering = ["level", "sort_order", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(level__gte=1) & Q(level__lte=3), name="problemcategory_level_1_to_3"),
            models.UniqueConstraint(fields=["parent", "name"], name="problemcategory_unique_name_in_parent"),
        ]

    def __str__(self) -> str:
        return self.full_name

    def save(self, *args, **kwargs) -> None:
        if self.parent_id is not None:
            self.level = self.parent.level + 1
            self.attribution = self.parent.attribution
        else:
            self.level = 1
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        names = []
        node: ProblemCategory | None = self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return " › ".join(reversed(names))

    def clean(self) -> None:
        if self.parent_id is not None:
            if self.parent.level >= self.MAX_LEVEL:
                raise ValidationError({"parent": _("Problem categories have at most three levels.")})
            if self.pk is not None and self.parent_id == self.pk:
                raise ValidationError({"parent": _("A category cannot be its own parent.")})


class Policy(models.Model):
    """After-sales policy. Versioned: a case pins the version in force when it opened."""

    name = models.CharField(_("name"), max_length=80)
    channel = models.CharField(
        _("channel"),
        max_length=20,
        choices=Channel.choices,
        blank=True,
        help_text=_("Leave empty for the policy that applies to every channel without its own."),
    )
    active = models.BooleanField(_("active"), default=True)
    no_reason_return_days = models.PositiveSmallIntegerField(_("no-reason return window (days)"), default=7)
    quality_return_days = models.PositiveSmallIntegerField(_("quality-problem window (days)"), default=30)
    review_timeout_hours = models.PositiveSmallIntegerField(
        _("review timeout (hours)"), default=48, help_text=_("A request not reviewed in time is approved by default.")
    )
    return_ship_days = models.PositiveSmallIntegerField(_("days for the customer to send goods back"), default=7)
    qc_timeout_hours = models.PositiveSmallIntegerField(_("QC target (hours)"), default=48)
    proposal_timeout_hours = models.PositiveSmallIntegerField(_("compensation proposal target (hours)"), default=24)
    confirm_timeout_hours = models.PositiveSmallIntegerField(
        _("confirmation timeout (hours)"), default=72, help_text=_("An offer not answered in time is accepted.")
    )
    escalation_timeout_hours = models.PositiveSmallIntegerField(_("escalation target (hours)"), default=24)
    quick_refund_enabled = models.BooleanField(_("quick refund enabled"), default=True)
    quick_refund_min_credit = models.PositiveSmallIntegerField(_("quick refund: minimum credit score"), default=700)
    quick_refund_max_amount = models.DecimalField(_("quick refund: maximum amount"), default=Decimal("500.00"), **MONEY)
    shipping_insurance = models.BooleanField(_("shipping insurance (return postage covered)"), default=True)
    return_shipping_allowance = models.DecimalField(
        _("return postage allowance"),
        default=Decimal("12.00"),
        help_text=_("Suggested return-shipping compensation when the merchant is at fault and no insurance covers it."),
        **MONEY,
    )
    default_agent_authority = models.DecimalField(_("default agent authority"), default=Decimal("200.00"), **MONEY)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords(verbose_name=_("policy version"), verbose_name_plural=_("policy versions"))

    class Meta:
        verbose_name = _("policy")
        verbose_name_plural = _("policies")
        ordering = ["channel", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel"],
                condition=Q(active=True),
                name="policy_one_active_per_channel",
                violation_error_message=_("Only one active policy per channel (and one default)."),
            ),
            models.CheckConstraint(
                condition=Q(quick_refund_max_amount__gte=0)
                & Q(default_agent_authority__gte=0)
                & Q(return_shipping_allowance__gte=0),
                name="policy_amounts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    """Per-agent settings: compensation authority and product skills."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="agent_profile"
    )
    authority_limit = models.DecimalField(
        _("authority limit"),
        null=True,
        blank=True,
        help_text=_("Largest total compensation per case this agent may approve; empty = the policy's default."),
        **MONEY,
    )
    skills = models.ManyToManyField(ProductCategory, verbose_name=_("skills"), blank=True, related_name="agents")

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")
        constraints = [
            models.CheckConstraint(
                condition=Q(authority_limit__isnull=True) | Q(authority_limit__gte=0),
                name="agentprofile_authority_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return str(self.user)


class CaseNumberSequence(models.Model):
    """Per-day counter behind human-readable case numbers (AS20261123-000042)."""

    day = models.DateField(primary_key=True)
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("case number sequence")
        verbose_name_plural = _("case number sequences")

    def __str__(self) -> str:
        return f"{self.day:%Y%m%d}: {self.last_value}"


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------
def _system_only(instance, user) -> bool:
    """Permission of transitions only the system (sweeps, rules) performs."""
    return False


class CaseQuerySet(models.QuerySet):
    def open(self) -> CaseQuerySet:
        return self.filter(state__in=OPEN_STATES)

    def search(self, term: str) -> CaseQuerySet:
        """Cases whose case number, order number, customer phone or return tracking number is exactly ``term``.

        The order and customer are looked up first (two indexed queries), so
        the case query is an OR of indexed columns of one table and stays fast
        at a million cases.
        """
        term = (term or "").strip()
        if not term:
            return self
        condition = Q(number=term.upper()) | Q(return_tracking_number=term)
        order_ids = list(Order.objects.filter(number=term).values_list("id", flat=True)[:20])
        if order_ids:
            condition |= Q(order_id__in=order_ids)
        if term.isdigit():
            customer_ids = list(Customer.objects.filter(phone=term).values_list("id", flat=True)[:20])
            if customer_ids:
                condition |= Q(customer_id__in=customer_ids)
        return self.filter(condition)


class Case(ConcurrentTransitionMixin, models.Model):
    number = models.CharField(_("case number"), max_length=20, unique=True)
    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="cases")
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="cases")
    request_type = models.CharField(_("request type"), max_length=20, choices=RequestType.choices, db_index=True)
    category = models.ForeignKey(
        ProblemCategory,
        verbose_name=_("problem category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
    )
    reason = models.TextField(_("customer's reason"), blank=True)
    evidence = models.JSONField(_("evidence"), default=list, blank=True)
    main_category = models.ForeignKey(
        ProductCategory,
        verbose_name=_("main product category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Of the case's most valuable line (reports attribute its cost here)."),
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, db_index=True)
    urgency = models.PositiveSmallIntegerField(
        _("urgency"), default=3, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.GREEN)
    queue = models.ForeignKey(
        Queue, verbose_name=_("queue"), on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_cases",
    )
    state = FSMField(_("state"), default=S.PENDING_REVIEW, choices=S.choices, protected=True)
    escalated_from = models.CharField(_("escalated from"), max_length=30, choices=S.choices, blank=True)
    policy = models.ForeignKey(Policy, verbose_name=_("policy"), on_delete=models.PROTECT, related_name="cases")
    policy_version = models.ForeignKey(
        "aftersales.HistoricalPolicy",
        verbose_name=_("policy version"),
        on_delete=models.PROTECT,
        related_name="cases",
    )
    quick_refund = models.BooleanField(_("quick refund"), default=False)
    crisis = models.BooleanField(
        _("crisis"), default=False, help_text=_("Abusive words with repeated complaints, or flagged by a supervisor.")
    )
    offer_approval_requested_at = models.DateTimeField(
        _("offer sent for approval at"),
        null=True,
        blank=True,
        help_text=_("The offer is above the agent's authority and waits for a supervisor."),
    )
    offer_approval_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("offer sent for approval by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    return_carrier = models.CharField(_("return carrier"), max_length=40, blank=True)
    return_tracking_number = models.CharField(_("return tracking number"), max_length=40, blank=True, db_index=True)
    reject_reason = models.TextField(_("rejection reason"), blank=True)
    csat = models.PositiveSmallIntegerField(
        _("CSAT"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    nps = models.PositiveSmallIntegerField(
        _("NPS"), null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)

    opened_at = models.DateTimeField(_("opened at"), default=timezone.now, db_index=True)
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    inspected_at = models.DateTimeField(_("inspected at"), null=True, blank=True)
    proposed_at = models.DateTimeField(_("proposed at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    closed_at = models.DateTimeField(
        _("closed at"), null=True, blank=True, help_text=_("When the case reached a final state.")
    )
    stage_due_at = models.DateTimeField(_("stage deadline"), null=True, blank=True)
    waiting_on = models.CharField(_("waiting on"), max_length=20, choices=WaitingOn.choices, blank=True)
    stage_alerted_at = models.DateTimeField(
        _("stage overdue alert sent at"), null=True, blank=True, help_text=_("Reset whenever the stage clock restarts.")
    )
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    first_response_breached_at = models.DateTimeField(_("first response target missed at"), null=True, blank=True)
    sla_breached_at = models.DateTimeField(_("resolution target missed at"), null=True, blank=True)
    qc_priority = models.BooleanField(_("QC priority"), default=False, help_text=_("Inspect before the others."))
    vip_upgrade = models.BooleanField(
        _("VIP compensation upgrade"),
        default=False,
        help_text=_("Offer the VIP upgrade on top of the usual compensation."),
    )
    emotion_score = models.PositiveSmallIntegerField(_("emotion score"), default=0)
    emotion_words = models.JSONField(_("emotion words"), default=list, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    version = models.PositiveIntegerField(
        _("version"), default=1, help_text=_("Bumped on every change; pages send it back to detect conflicts.")
    )

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-id"]
        permissions = [
            ("open_case", _("Can open a case")),
            ("claim_case", _("Can claim an unassigned case in their queues")),
            ("approve_case", _("Can approve a case")),
            ("reject_case", _("Can reject a case")),
            ("receive_return", _("Can record receipt of returned goods")),
            ("inspect_case", _("Can record a QC inspection")),
            ("propose_compensation", _("Can propose a compensation offer")),
            ("confirm_case", _("Can confirm an offer on the customer's behalf")),
            ("decline_offer", _("Can decline an offer on the customer's behalf")),
            ("cancel_case", _("Can cancel a case")),
            ("escalate_case", _("Can escalate a case")),
            ("resolve_escalation", _("Can resolve an escalated case")),
            ("override_policy_window", _("Can approve outside the policy window")),
        ]
        indexes = [
            models.Index(fields=["state", "stage_due_at"], name="case_state_due"),
            models.Index(fields=["assignee", "state"], name="case_assignee_state"),
            models.Index(fields=["queue", "state"], name="case_queue_state"),
            models.Index(fields=["customer", "opened_at"], name="case_customer_opened"),
            # The queue page's default order (deadline first) over a million cases.
            models.Index(fields=["stage_due_at", "id"], name="case_due_id"),
            # The QC bench: QC-priority cases first, then by deadline.
            models.Index(fields=["state", "-qc_priority", "stage_due_at", "id"], name="case_qc_worklist"),
            # SLA sweeps: open cases whose targets may have passed.
            models.Index(
                fields=["first_response_due_at"],
                name="case_first_response_due",
                condition=Q(first_response_at__isnull=True, first_response_breached_at__isnull=True),
            ),
            models.Index(
                fields=["resolution_due_at"],
                name="case_resolution_due",
                condition=Q(sla_breached_at__isnull=True, closed_at__isnull=True),
            ),
            models.Index(
                fields=["offer_approval_requested_at"],
                name="case_offer_approval",
                condition=Q(offer_approval_requested_at__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(urgency__gte=1) & Q(urgency__lte=5), name="case_urgency_1_to_5"),
            models.CheckConstraint(
                condition=Q(csat__isnull=True) | (Q(csat__gte=1) & Q(csat__lte=5)), name="case_csat_1_to_5"
            ),
            models.CheckConstraint(
                condition=Q(nps__isnull=True) | (Q(nps__gte=0) & Q(nps__lte=10)), name="case_nps_0_to_10"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    # -- derived -----------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def goods_come_back(self) -> bool:
        return self.request_type in GOODS_RETURN_TYPES

    # -- transitions (state and own timestamps only) ------------------------
    @transition(
        field=state,
        source=S.PENDING_REVIEW,
        target=RETURN_VALUE(S.AWAITING_RETURN, S.COMPENSATION),
        permission="aftersales.approve_case",
    )
    def approve(self, *, at):
        self.approved_at = at
        return S.AWAITING_RETURN if self.goods_come_back else S.COMPENSATION

    @transition(
        field=state,
        source=S.PENDING_REVIEW,
        target=RETURN_VALUE(S.AWAITING_RETURN, S.COMPENSATION),
        permission=_system_only,
        custom={"system": True},
    )
    def auto_approve(self, *, at):
        self.approved_at = at
        return S.AWAITING_RETURN if self.goods_come_back else S.COMPENSATION

    @transition(field=state, source=S.PENDING_REVIEW, target=S.REJECTED, permission="aftersales.reject_case")
    def reject(self, *, at, reason):
        self.reject_reason = reason
        self.closed_at = at

    @transition(field=state, source=S.AWAITING_RETURN, target=S.IN_QC, permission="aftersales.receive_return")
    def receive(self, *, at, carrier, tracking_number):
        self.received_at = at
        self.return_carrier = carrier
        self.return_tracking_number = tracking_number

    @transition(
        field=state,
        source=S.IN_QC,
        target=RETURN_VALUE(S.COMPENSATION, S.REJECTED),
        permission="aftersales.inspect_case",
    )
    def inspect(self, *, at, customer_at_fault):
        self.inspected_at = at
        if customer_at_fault:
            self.closed_at = at
            return S.REJECTED
        return S.COMPENSATION

    @transition(
        field=state,
        source=S.COMPENSATION,
        target=S.AWAITING_CONFIRMATION,
        permission="aftersales.propose_compensation",
    )
    def propose(self, *, at):
        self.proposed_at = at

    @transition(field=state, source=S.AWAITING_CONFIRMATION, target=S.CLOSED, permission="aftersales.confirm_case")
    def confirm(self, *, at):
        self.closed_at = at

    @transition(
        field=state, source=S.AWAITING_CONFIRMATION, target=S.COMPENSATION, permission="aftersales.decline_offer"
    )
    def decline(self, *, at):
        self.proposed_at = None

    @transition(
        field=state,
        source=S.AWAITING_CONFIRMATION,
        target=S.CLOSED,
        permission=_system_only,
        custom={"system": True},
    )
    def auto_confirm(self, *, at):
        self.closed_at = at

    @transition(
        field=state,
        source=[S.PENDING_REVIEW, S.AWAITING_RETURN],
        target=S.CANCELLED,
        permission="aftersales.cancel_case",
    )
    def cancel(self, *, at):
        self.closed_at = at

    @transition(
        field=state,
        source=S.AWAITING_RETURN,
        target=S.CANCELLED,
        permission=_system_only,
        custom={"system": True},
    )
    def expire(self, *, at):
        self.closed_at = at

    @transition(
        field=state,
        source=list(ESCALATABLE_STATES),
        target=S.ESCALATED,
        permission="aftersales.escalate_case",
        custom={"system": True},
    )
    def escalate(self, *, at):
        self.escalated_from = self.state
        self.escalated_at = at

    @transition(
        field=state,
        source=S.ESCALATED,
        target=RETURN_VALUE(*ESCALATION_RESOLUTIONS),
        permission="aftersales.resolve_escalation",
    )
    def resolve_escalation(self, *, at, decision):
        if decision in FINAL_STATES:
            self.closed_at = at
        if decision == S.REJECTED:
            self.reject_reason = ""
        return decision


class CaseLine(models.Model):
    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        OrderLine, verbose_name=_("order line"), on_delete=models.PROTECT, related_name="case_lines"
    )
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("case line")
        verbose_name_plural = _("case lines")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "order_line"], name="caseline_unique_line_per_case"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="caseline_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.order_line.sku} ×{self.quantity}"

    @property
    def amount(self) -> Decimal:
        return self.order_line.unit_price * self.quantity


class CaseEvent(models.Model):
    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        TRANSITION = "transition", _("Transition")
        NOTE = "note", _("Internal note")
        REPLY = "reply", _("Reply to customer")
        ASSIGNMENT = "assignment", _("Assignment")
        UPDATE = "update", _("Update")
        COMPENSATION = "compensation", _("Compensation")
        INSPECTION = "inspection", _("Inspection")
        SYSTEM = "system", _("System")

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("action"), max_length=40, blank=True)
    from_state = models.CharField(_("from state"), max_length=30, choices=S.choices, blank=True)
    to_state = models.CharField(_("to state"), max_length=30, choices=S.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="case_events",
    )
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["case", "created_at"], name="caseevent_case_time"),
            # Reports over a period (the waiting-time heatmap).
            models.Index(fields=["created_at"], name="caseevent_time"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.name or self.kind} @ {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def actor_label(self) -> str:
        return str(self.actor) if self.actor_id else str(_("System"))


class CaseKeyword(models.Model):
    """A keyword of the customer's reason (jieba), kept per case for the defect word cloud.

    The opening time and the case's main product category and SKU (its most valuable line) are
    copied here so the word cloud is one indexed GROUP BY, whatever the number of cases.
    """

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="keywords")
    word = models.CharField(_("word"), max_length=30)
    opened_at = models.DateTimeField(_("opened at"))
    product_category = models.ForeignKey(
        ProductCategory,
        verbose_name=_("product category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    sku = models.CharField(_("SKU"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("case keyword")
        verbose_name_plural = _("case keywords")
        constraints = [models.UniqueConstraint(fields=["case", "word"], name="casekeyword_unique_word_per_case")]
        indexes = [
            models.Index(fields=["opened_at", "word"], name="casekeyword_opened_word"),
            models.Index(fields=["product_category", "opened_at"], name="casekeyword_category_opened"),
            models.Index(fields=["sku", "opened_at"], name="casekeyword_sku_opened"),
            models.Index(fields=["word", "opened_at"], name="casekeyword_word_opened"),
        ]

    def __str__(self) -> str:
        return self.word


class Inspection(models.Model):
    class Grade(models.TextChoices):
        A = "A", _("A – as new")
        B = "B", _("B – opened, resaleable")
        C = "C", _("C – damaged")
        D = "D", _("D – unusable")
        WRONG_ITEM = "wrong_item", _("Wrong item returned")
        MISSING = "missing", _("Parts missing")

    class Party(models.TextChoices):
        MERCHANT = "merchant", _("Merchant")
        LOGISTICS = "logistics", _("Logistics")
        CUSTOMER = "customer", _("Customer")

    class Disposition(models.TextChoices):
        RESTOCK = "restock", _("Restock")
        REFURBISH = "refurbish", _("Refurbish")
        SCRAP = "scrap", _("Scrap")
        RETURN_TO_CUSTOMER = "return_to_customer", _("Return to customer")

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="inspections")
    grade = models.CharField(_("grade"), max_length=20, choices=Grade.choices)
    findings = models.TextField(_("findings"), blank=True)
    responsible_party = models.CharField(_("responsible party"), max_length=20, choices=Party.choices)
    disposition = models.CharField(_("disposition"), max_length=20, choices=Disposition.choices)
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("inspector"),
        on_delete=models.PROTECT,
        related_name="inspections",
    )
    inspected_at = models.DateTimeField(_("inspected at"), default=timezone.now)

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-inspected_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_grade_display()} / {self.get_responsible_party_display()}"


def _photo_path(instance, filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"inspections/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{ext}"


class InspectionPhoto(models.Model):
    """A photo taken at QC; served only through the case page's permission check."""

    inspection = models.ForeignKey(
        Inspection, verbose_name=_("inspection"), on_delete=models.CASCADE, related_name="photos"
    )
    image = models.FileField(_("photo"), upload_to=_photo_path)
    original_name = models.CharField(_("file name"), max_length=200, blank=True)
    content_type = models.CharField(_("content type"), max_length=40)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("inspection photo")
        verbose_name_plural = _("inspection photos")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.original_name or self.image.name


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


class Compensation(ConcurrentTransitionMixin, models.Model):
    class Kind(models.TextChoices):
        REFUND = "refund", _("Refund")
        RETURN_SHIPPING = "return_shipping", _("Return shipping")
        COUPON = "coupon", _("Coupon")
        CASH = "cash", _("Cash")
        REPLACEMENT = "replacement", _("Replacement")
        GIFT = "gift", _("Gift")

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="compensations")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, db_index=True)
    amount = models.DecimalField(_("amount"), **MONEY)
    state = FSMField(_("state"), default=CS.PROPOSED, choices=CS.choices, protected=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    quick_refund = models.BooleanField(
        _("quick refund"), default=False, help_text=_("Approved by the policy at case approval, before QC.")
    )
    payable = models.BooleanField(_("payable"), default=False)
    payable_at = models.DateTimeField(_("payable since"), null=True, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    proposed_at = models.DateTimeField(_("proposed at"), default=timezone.now, db_index=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True, db_index=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("paid by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True, db_index=True)
    payout_reference = models.CharField(_("payout reference"), max_length=64, null=True, blank=True, unique=True)
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("compensation")
        verbose_name_plural = _("compensations")
        ordering = ["id"]
        permissions = [
            ("approve_compensation", _("Can approve compensation (within authority)")),
            ("approve_any_compensation", _("Can approve compensation of any amount")),
            ("pay_compensation", _("Can mark compensation paid")),
        ]
        indexes = [
            models.Index(fields=["state", "payable"], name="compensation_state_payable"),
            # Finance's payouts list: payable and not yet paid, oldest first.
            models.Index(
                fields=["payable_at", "id"],
                name="compensation_to_pay",
                condition=Q(payable=True, state__in=["approved", "failed"]),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="compensation_amount_positive"),
            models.CheckConstraint(
                condition=~Q(state=CS.PAID) | (Q(payout_reference__isnull=False) & Q(paid_at__isnull=False)),
                name="compensation_paid_has_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ¥{self.amount}"

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_COMPENSATION_STATES

    @transition(field=state, source=CS.PROPOSED, target=CS.APPROVED, permission="aftersales.approve_compensation")
    def approve(self, *, by, at):
        self.approved_by = by
        self.approved_at = at

    @transition(field=state, source=CS.PROPOSED, target=CS.REJECTED, permission="aftersales.approve_compensation")
    def reject(self, *, note):
        self.decision_note = note

    @transition(field=state, source=[CS.APPROVED, CS.FAILED], target=CS.PAID, permission="aftersales.pay_compensation")
    def mark_paid(self, *, by, at, reference):
        self.paid_by = by
        self.paid_at = at
        self.payout_reference = reference

    @transition(field=state, source=CS.APPROVED, target=CS.FAILED, permission="aftersales.pay_compensation")
    def mark_failed(self, *, note):
        self.decision_note = note

    @transition(
        field=state,
        source=[CS.PROPOSED, CS.APPROVED, CS.FAILED],
        target=CS.VOIDED,
        permission="aftersales.propose_compensation",
    )
    def void(self, *, note):
        self.decision_note = note
        self.payable = False


__all__ = [
    "ESCALATABLE_STATES",
    "ESCALATION_RESOLUTIONS",
    "FINAL_STATES",
    "GOODS_RETURN_TYPES",
    "GRANTED_COMPENSATION_STATES",
    "LINELESS_TYPES",
    "LIVE_COMPENSATION_STATES",
    "MONEY",
    "OPEN_STATES",
    "QUICK_REFUND_TYPES",
    "ZERO",
    "AgentProfile",
    "Attribution",
    "Case",
    "CaseEvent",
    "CaseKeyword",
    "CaseLine",
    "CaseNumberSequence",
    "CaseQuerySet",
    "CaseState",
    "Compensation",
    "CompensationState",
    "Inspection",
    "InspectionPhoto",
    "Policy",
    "Priority",
    "ProblemCategory",
    "Queue",
    "RequestType",
    "WaitingOn",
]
