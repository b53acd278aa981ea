"""What supervisors configure: queues, three-level problem categories, policies (versioned; a case pins the
version in force when it opened), agents' authority, and the counter behind case numbers."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from aftersales.models.choices import MONEY, Attribution, Settlement
from customers.models import Channel, ProductCategory


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
    return_transit_days = models.PositiveSmallIntegerField(
        _("days for a returned parcel to arrive"),
        default=7,
        help_text=_("A return the customer has sent that has not arrived in this time alerts the queue."),
    )
    parcel_stuck_days = models.PositiveSmallIntegerField(
        _("days without a scan before a parcel counts as stuck"),
        default=3,
        validators=[MinValueValidator(1)],
        help_text=_("A parcel on its way with no news from the carrier for this long alerts the warehouse."),
    )
    return_recipient = models.CharField(_("return recipient"), max_length=60, blank=True)
    return_phone = models.CharField(_("return recipient's phone"), max_length=30, blank=True)
    return_address = models.CharField(
        _("return address"),
        max_length=200,
        blank=True,
        help_text=_("Where customers send goods back; told to them when a return is approved."),
    )
    return_instructions = models.TextField(
        _("return instructions"),
        blank=True,
        help_text=_("E.g. “Write the case number on the parcel; we do not accept cash on delivery.”"),
    )
    pickup_offered = models.BooleanField(
        _("door-to-door pickup offered"),
        default=False,
        help_text=_("Customers may have the carrier collect the parcel at their door (上门取件)."),
    )
    qc_timeout_hours = models.PositiveSmallIntegerField(_("QC target (hours)"), default=48)
    dispatch_timeout_hours = models.PositiveSmallIntegerField(
        _("dispatch target (hours)"),
        default=48,
        help_text=_(
            "Goods to send the customer (a replacement, a gift) not dispatched in this time alert the warehouse."
        ),
    )
    delivery_days = models.PositiveSmallIntegerField(
        _("days for goods to reach the customer"),
        default=7,
        help_text=_("Goods sent to the customer not delivered in this time alert the warehouse."),
    )
    proposal_timeout_hours = models.PositiveSmallIntegerField(_("compensation proposal target (hours)"), default=24)
    approval_timeout_hours = models.PositiveSmallIntegerField(
        _("supervisor approval target (hours)"),
        default=8,
        help_text=_("An offer above an agent's authority waits this long for a supervisor before the overdue alert."),
    )
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
    refund_settlement = models.CharField(
        _("refunds settled by"),
        max_length=20,
        choices=Settlement.choices,
        default=Settlement.FINANCE,
        help_text=_(
            "The channel: a payable refund is requested from the channel's system (a signed refund.requested "
            "webhook) and settled when it reports back. Finance: finance pays it and marks it paid."
        ),
    )
    settlement_timeout_hours = models.PositiveSmallIntegerField(
        _("channel settlement target (hours)"),
        default=48,
        help_text=_("A refund the channel has not settled in this time alerts finance."),
    )
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


__all__ = [
    "AgentProfile",
    "CaseNumberSequence",
    "Policy",
    "ProblemCategory",
    "Queue",
]
