"""What supervisors configure for the machinery that runs without anyone clicking:
SLA targets per priority colour, automation rules, the emotion lexicon and the
risk thresholds. Rules, SLA targets and thresholds are versioned (simple-history).
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from aftersales.models.choices import MONEY, Priority


class SlaPolicy(models.Model):
    """First-response and resolution targets for one priority colour."""

    class BreachAction(models.TextChoices):
        NOTIFY = "notify", _("Raise to red and alert the supervisors")
        ESCALATE = "escalate", _("Also escalate the case")

    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, unique=True)
    first_response_minutes = models.PositiveIntegerField(_("first response target (minutes)"))
    resolution_minutes = models.PositiveIntegerField(
        _("resolution target (minutes)"),
        help_text=_("Counted from the opening; breached only while the case waits on the merchant."),
    )
    breach_action = models.CharField(
        _("on a resolution breach"), max_length=20, choices=BreachAction.choices, default=BreachAction.NOTIFY
    )
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords(verbose_name=_("SLA version"), verbose_name_plural=_("SLA versions"))

    class Meta:
        verbose_name = _("SLA target")
        verbose_name_plural = _("SLA targets")
        ordering = ["resolution_minutes"]
        constraints = [
            models.CheckConstraint(
                condition=Q(first_response_minutes__gte=1) & Q(resolution_minutes__gte=1), name="slapolicy_positive"
            ),
        ]

    def __str__(self) -> str:
        return _("%(priority)s: first response %(first)s min / resolution %(resolution)s min") % {
            "priority": self.get_priority_display(),
            "first": self.first_response_minutes,
            "resolution": self.resolution_minutes,
        }

    def clean(self) -> None:
        if (
            self.first_response_minutes
            and self.resolution_minutes
            and self.resolution_minutes < self.first_response_minutes
        ):
            raise ValidationError(
                {"resolution_minutes": _("The resolution target cannot be shorter than the first-response target.")}
            )


class AutomationRule(models.Model):
    """An ordered rule: when its conditions hold at its trigger, its actions run and the case records why."""

    class Trigger(models.TextChoices):
        OPENED = "opened", _("Case opened")
        STATE_CHANGED = "state_changed", _("State changed")
        DEADLINE_PASSED = "deadline_passed", _("Deadline passed")

    class Match(models.TextChoices):
        ALL = "all", _("all conditions")
        ANY = "any", _("any condition")

    name = models.CharField(_("name"), max_length=80)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveIntegerField(_("order"), default=100, help_text=_("Lower numbers run first."))
    active = models.BooleanField(
        _("active"), default=False, help_text=_("Try a rule with the dry run before activating it.")
    )
    trigger = models.CharField(_("trigger"), max_length=20, choices=Trigger.choices, default=Trigger.OPENED)
    match = models.CharField(_("match"), max_length=5, choices=Match.choices, default=Match.ALL)
    conditions = models.JSONField(
        _("conditions"),
        default=list,
        blank=True,
        help_text=_('A list such as [{"field": "order.value", "op": "gte", "value": 1000}]. No conditions: always.'),
    )
    actions = models.JSONField(
        _("actions"), default=list, help_text=_('A list such as [{"type": "route_to_queue", "value": "vip"}].')
    )
    stop_processing = models.BooleanField(
        _("stop after this rule"),
        default=False,
        help_text=_("When this rule fires, later rules of the trigger are skipped."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(verbose_name=_("rule version"), verbose_name_plural=_("rule versions"))

    class Meta:
        verbose_name = _("automation rule")
        verbose_name_plural = _("automation rules")
        ordering = ["trigger", "position", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from aftersales.automation.rules import validate_actions, validate_conditions

        errors = {}
        for name, validate in (("conditions", validate_conditions), ("actions", validate_actions)):
            try:
                validate(getattr(self, name))
            except ValidationError as exc:
                errors[name] = exc.messages
        if not errors.get("actions") and not self.actions:
            errors["actions"] = [_("A rule needs at least one action.")]
        if errors:
            raise ValidationError(errors)


class LexiconWord(models.Model):
    """A word the emotion radar listens for in customers' texts."""

    class Kind(models.TextChoices):
        ABUSIVE = "abusive", _("Abusive")
        ANGRY = "angry", _("Angry")
        THREAT = "threat", _("Threat to complain publicly or to the platform")

    word = models.CharField(_("word"), max_length=30, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    weight = models.PositiveSmallIntegerField(
        _("weight"), default=1, validators=[MinValueValidator(1), MaxValueValidator(3)]
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("lexicon word")
        verbose_name_plural = _("emotion lexicon")
        ordering = ["kind", "word"]
        constraints = [
            models.CheckConstraint(condition=Q(weight__gte=1) & Q(weight__lte=3), name="lexiconword_weight_1_to_3")
        ]

    def __str__(self) -> str:
        return self.word


class RiskThresholds(models.Model):
    """The transparent thresholds behind crisis and professional-claimant flags (one row, versioned)."""

    claims_90d = models.PositiveSmallIntegerField(_("claims in 90 days"), default=5)
    claim_order_ratio = models.DecimalField(
        _("claims per order (365 days)"), max_digits=4, decimal_places=2, default=Decimal("0.80")
    )
    min_orders_for_ratio = models.PositiveSmallIntegerField(_("orders needed before the ratio counts"), default=5)
    compensation_30d = models.DecimalField(_("compensation in 30 days"), default=Decimal("1000.00"), **MONEY)
    high_value_spend = models.DecimalField(
        _("high-value customer: annual spend from"), default=Decimal("10000.00"), **MONEY
    )
    high_value_max_claims = models.PositiveSmallIntegerField(
        _("high-value customer: at most this many claims in 365 days"), default=2
    )
    crisis_window_days = models.PositiveSmallIntegerField(_("crisis: window (days)"), default=30)
    crisis_min_cases = models.PositiveSmallIntegerField(_("crisis: cases in the window, this one included"), default=2)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(verbose_name=_("thresholds version"), verbose_name_plural=_("thresholds versions"))

    class Meta:
        verbose_name = _("risk thresholds")
        verbose_name_plural = _("risk thresholds")
        constraints = [
            models.CheckConstraint(
                condition=Q(claim_order_ratio__gt=0) & Q(compensation_30d__gt=0), name="riskthresholds_positive"
            ),
        ]

    def __str__(self) -> str:
        return str(self._meta.verbose_name)

    @classmethod
    def current(cls) -> RiskThresholds:
        """The one row (created with the defaults when missing)."""
        row = cls.objects.order_by("pk").first()
        return row if row is not None else cls.objects.create()


__all__ = ["AutomationRule", "LexiconWord", "RiskThresholds", "SlaPolicy"]
