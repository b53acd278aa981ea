"""Cases (售后单, the return order), their lines, events and reason keywords.

Models hold data and invariants. A django-fsm ``@transition`` only changes the
state and stamps the case's own fields: no queries, no I/O. Everything else a
transition needs (locking, permission, conditions, events, side effects) lives
in ``aftersales.services``.

Longer than 500 lines on purpose: ``Case`` is one model whose fields, indexes and transition methods belong
together (the django-fsm transitions are the workflow's source of truth beside the registry)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from aftersales.models.choices import (
    ESCALATABLE_STATES,
    ESCALATION_RESOLUTIONS,
    FINAL_STATES,
    GOODS_RETURN_TYPES,
    MONEY,
    OPEN_STATES,
    Carrier,
    CompensationKind,
    Priority,
    RequestType,
    S,
    WaitingOn,
)
from aftersales.models.configuration import Policy, ProblemCategory, Queue
from customers.models import Channel, Customer, Order, OrderLine, ProductCategory


class QuickDisplay:
    """``get_<field>_display`` from a dictionary built once per field (Django builds it, through
    ``make_hashable``, on every call: a list of fifty cases calls it hundreds of times). The labels stay lazy, so
    each call is in the active language."""

    _display_labels: dict = {}

    def _get_FIELD_display(self, field):
        labels = QuickDisplay._display_labels.get(field)
        if labels is None:
            labels = QuickDisplay._display_labels[field] = dict(field.flatchoices)
        value = getattr(self, field.attname)
        try:
            label = labels.get(value, value)
        except TypeError:  # an unhashable value: Django's own way
            return super()._get_FIELD_display(field)
        return force_str(label, strings_only=True)


class TouchedOnSave:
    """A partial save (``update_fields``) still moves ``updated_at``: the report rollups (``reports.rollups``) find
    the rows changed since their last run by it."""

    def save(self, *args, **kwargs):
        fields = kwargs.get("update_fields")
        if fields is not None:
            kwargs["update_fields"] = {*fields, "updated_at"}
        super().save(*args, **kwargs)


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
        condition = Q(number=term.upper()) | Q(return_tracking_number__in={term, term.upper()})
        order_ids = list(Order.objects.filter(number=term).values_list("id", flat=True)[:20])
        if order_ids:
            condition |= Q(order_id__in=order_ids)
        if term.isdigit():
            customer_ids = list(Customer.objects.filter(phone=term).values_list("id", flat=True)[:20])
            if customer_ids:
                condition |= Q(customer_id__in=customer_ids)
        return self.filter(condition)


class Case(QuickDisplay, TouchedOnSave, ConcurrentTransitionMixin, models.Model):
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
    #: The customer's counter-offer when they declined ours: what and how much they ask for (cleared by a new offer).
    counter_kind = models.CharField(
        _("counter-offer kind"), max_length=20, choices=CompensationKind.choices, blank=True
    )
    counter_amount = models.DecimalField(_("counter-offer amount"), **MONEY, null=True, blank=True)
    counter_at = models.DateTimeField(_("counter-offer at"), null=True, blank=True)
    closed_at = models.DateTimeField(
        _("closed at"), null=True, blank=True, help_text=_("When the case reached a final state.")
    )
    #: Kept by the reports' rollups (``reports.rollups.fill_came_back``): for the repurchase rate.
    came_back = models.BooleanField(
        _("ordered again"),
        default=False,
        editable=False,
        help_text=_("The case is closed and its customer placed an order after it closed."),
    )
    stage_due_at = models.DateTimeField(_("stage deadline"), null=True, blank=True)
    waiting_on = models.CharField(_("waiting on"), max_length=20, choices=WaitingOn.choices, blank=True)
    stage_alerted_at = models.DateTimeField(
        _("stage overdue alert sent at"), null=True, blank=True, help_text=_("Reset whenever the stage clock restarts.")
    )
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    sla_paused_at = models.DateTimeField(
        _("resolution clock paused at"),
        null=True,
        blank=True,
        help_text=_("While the case waits on the customer the resolution clock stands still; it resumes after."),
    )
    sla_paused_minutes = models.PositiveIntegerField(
        _("resolution clock paused (working minutes)"),
        default=0,
        help_text=_("Working time the case waited on the customer so far; the resolution deadline moves by it."),
    )
    first_response_breached_at = models.DateTimeField(_("first response target missed at"), null=True, blank=True)
    sla_breached_at = models.DateTimeField(_("resolution target missed at"), null=True, blank=True)
    qc_priority = models.BooleanField(_("QC priority"), default=False, help_text=_("Inspect before the others."))
    vip = models.BooleanField(
        _("VIP customer"),
        default=False,
        help_text=_("The customer's tier, kept on the case so the queue's VIP filter reads it from the index."),
    )
    vip_upgrade = models.BooleanField(
        _("VIP compensation upgrade"),
        default=False,
        help_text=_("Offer the VIP upgrade on top of the usual compensation."),
    )
    emotion_score = models.PositiveSmallIntegerField(_("emotion score"), default=0)
    emotion_words = models.JSONField(_("emotion words"), default=list, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)
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
            ("report_return_shipment", _("Can record the customer's return shipment")),
            ("receive_return", _("Can record receipt of returned goods")),
            ("inspect_case", _("Can record a QC inspection")),
            ("propose_compensation", _("Can propose a compensation offer")),
            ("confirm_case", _("Can confirm an offer on the customer's behalf")),
            ("dispatch_goods", _("Can dispatch goods to the customer")),
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
            # The status board: open cases by state × colour and how many are late, from the index alone.
            models.Index(
                fields=["state", "priority", "stage_due_at"],
                name="case_open_board",
                condition=Q(state__in=OPEN_STATES),
                # an agent's scope and the queue's VIP filter are read from the index too (PostgreSQL)
                include=["queue", "assignee", "vip"],
            ),
            # The queue's category and channel filters over the open cases (their count from the index alone).
            models.Index(fields=["category", "channel"], name="case_open_category", condition=Q(state__in=OPEN_STATES)),
            # The rollups' recount of the ratings given on a day.
            models.Index(fields=["rated_at"], name="case_rated", condition=Q(rated_at__isnull=False)),
            # Repurchase after after-sales: the customers of a period's closed cases.
            models.Index(
                fields=["closed_at"],
                name="case_closed_back",
                condition=Q(state="closed"),
                include=["customer", "came_back"],
            ),
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

    @cached_property
    def follow_up_or_none(self):
        """The case's follow-up visit (回访), or ``None``."""
        try:
            return self.follow_up
        except ObjectDoesNotExist:
            return None

    @property
    def keeps_cause_analysis(self) -> bool:
        """Complaints and escalated cases keep a cause analysis."""
        return self.request_type == RequestType.COMPLAINT or self.escalated_at is not None

    @cached_property
    def cause_analysis_or_none(self):
        """The complaint's cause analysis, or ``None``."""
        try:
            return self.cause_analysis
        except ObjectDoesNotExist:
            return None

    # -- derived -----------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def goods_come_back(self) -> bool:
        return self.request_type in GOODS_RETURN_TYPES

    @property
    def return_carrier_label(self) -> str:
        """The return carrier's name (``return_carrier`` holds its code)."""
        return str(Carrier(self.return_carrier).label) if self.return_carrier in Carrier.values else self.return_carrier

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

    @transition(
        field=state,
        source=[S.AWAITING_RETURN, S.RETURN_SHIPPED],
        target=S.RETURN_SHIPPED,
        permission="aftersales.report_return_shipment",
    )
    def ship_return(self, *, at, carrier, tracking_number):
        """The customer sent the goods (or corrected the tracking number): the return-expiry clock stops."""
        self.return_carrier = carrier
        self.return_tracking_number = tracking_number

    @transition(
        field=state,
        source=[S.AWAITING_RETURN, S.RETURN_SHIPPED],
        target=S.IN_QC,
        permission="aftersales.receive_return",
    )
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

    @transition(
        field=state, source=S.COMPENSATION, target=S.AWAITING_APPROVAL, permission="aftersales.propose_compensation"
    )
    def submit_offer(self, *, at):
        """The offer is above the sender's authority: it waits for a supervisor (the time is on the event)."""

    @transition(
        field=state,
        source=S.AWAITING_APPROVAL,
        target=S.AWAITING_CONFIRMATION,
        permission="aftersales.approve_any_compensation",
    )
    def approve_offer(self, *, at):
        self.proposed_at = at

    @transition(
        field=state, source=S.AWAITING_APPROVAL, target=S.COMPENSATION, permission="aftersales.approve_any_compensation"
    )
    def return_offer(self, *, at):
        """A supervisor sends the offer back to the agent to revise."""

    @transition(
        field=state,
        source=S.AWAITING_CONFIRMATION,
        target=RETURN_VALUE(S.CLOSED, S.AWAITING_DISPATCH),
        permission="aftersales.confirm_case",
    )
    def confirm(self, *, at, goods_out=False):
        """Accepted: closed — or, when the offer sends goods out (a replacement, a gift), on to the warehouse."""
        if goods_out:
            return S.AWAITING_DISPATCH
        self.closed_at = at
        return S.CLOSED

    @transition(
        field=state, source=S.AWAITING_CONFIRMATION, target=S.COMPENSATION, permission="aftersales.decline_offer"
    )
    def decline(self, *, at):
        self.proposed_at = None

    @transition(
        field=state,
        source=S.AWAITING_CONFIRMATION,
        target=RETURN_VALUE(S.CLOSED, S.AWAITING_DISPATCH),
        permission=_system_only,
        custom={"system": True},
    )
    def auto_confirm(self, *, at, goods_out=False):
        if goods_out:
            return S.AWAITING_DISPATCH
        self.closed_at = at
        return S.CLOSED

    @transition(
        field=state, source=S.AWAITING_DISPATCH, target=S.AWAITING_DELIVERY, permission="aftersales.dispatch_goods"
    )
    def send_goods(self, *, at):
        """The warehouse sent the goods (the parcel is the case's outbound shipment)."""

    @transition(
        field=state,
        source=S.AWAITING_DELIVERY,
        target=S.AWAITING_RECEIPT,
        permission=_system_only,
        custom={"system": True},
    )
    def deliver(self, *, at):
        """The carrier delivered the goods: the customer's confirmation clock starts."""

    @transition(
        field=state,
        source=[S.AWAITING_DELIVERY, S.AWAITING_RECEIPT],
        target=S.CLOSED,
        permission="aftersales.confirm_case",
    )
    def confirm_receipt(self, *, at):
        self.closed_at = at

    @transition(
        field=state, source=S.AWAITING_RECEIPT, target=S.CLOSED, permission=_system_only, custom={"system": True}
    )
    def auto_confirm_receipt(self, *, at):
        self.closed_at = at

    @transition(
        field=state,
        source=[S.PENDING_REVIEW, S.AWAITING_RETURN, S.RETURN_SHIPPED],
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


class CaseEvent(QuickDisplay, models.Model):
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
    # A transition's wait, written with it: how long the case was in ``from_state`` (since the opening or the
    # transition before), and the local weekday (1 = Monday) and hour that wait began (the waiting-time heatmap).
    wait_seconds = models.FloatField(_("wait (seconds)"), null=True, blank=True)
    wait_weekday = models.PositiveSmallIntegerField(_("wait began on weekday"), null=True, blank=True)
    wait_hour = models.PositiveSmallIntegerField(_("wait began at hour"), null=True, blank=True)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["case", "created_at"], name="caseevent_case_time"),
            # Reports over a period.
            models.Index(fields=["created_at"], name="caseevent_time"),
            # The waiting-time heatmap: a period's transitions and their waits, from the index alone (PostgreSQL).
            models.Index(
                fields=["from_state", "created_at"],
                name="caseevent_waits",
                condition=Q(kind="transition", wait_seconds__isnull=False),
                include=["wait_weekday", "wait_hour", "wait_seconds"],
            ),
            # First-contact resolution: was the case's offer ever declined?
            models.Index(fields=["case"], name="caseevent_declines", condition=Q(name="decline")),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} · {self.get_kind_display()} · {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"

    @property
    def actor_label(self) -> str:
        """Who did it, as people are named on pages: the full name (the username without one), or the system."""
        if not self.actor_id:
            return str(_("System"))
        return self.actor.get_full_name() or self.actor.get_username()


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


__all__ = [
    "Case",
    "CaseEvent",
    "CaseKeyword",
    "CaseLine",
    "CaseQuerySet",
]
