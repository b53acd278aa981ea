"""Response templates (话术), every use of them, and the monthly health report.

Templates are versioned with simple-history; a use records the exact version
sent, so editing a template never changes what an old reply said or which
version's effect data it counts towards.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from aftersales.models.cases import Case, CaseEvent
from aftersales.models.choices import RequestType
from aftersales.models.compensations import Compensation
from customers.models import Channel, ProductCategory


class ResponseTemplate(models.Model):
    class Scenario(models.TextChoices):
        ACKNOWLEDGE = "acknowledge", _("Acknowledge")
        APOLOGISE = "apologise", _("Apologise")
        REQUEST_EVIDENCE = "request_evidence", _("Request evidence")
        QC_RESULT = "qc_result", _("QC result")
        COMPENSATION_OFFER = "compensation_offer", _("Compensation offer")
        REJECTION = "rejection", _("Rejection")
        FOLLOW_UP = "follow_up", _("Follow-up visit")
        CRISIS = "crisis", _("Crisis")

    class Segment(models.TextChoices):
        VIP = "vip", _("VIP")
        REGULAR = "regular", _("Regular")
        NEW = "new", _("New customer")
        FLAGGED = "flagged", _("Flagged (risk)")

    class Tone(models.TextChoices):
        EMPATHETIC = "empathetic", _("Empathetic")
        FAST = "fast", _("Fast and to the point")
        FORMAL = "formal", _("Formal")
        WARM = "warm", _("Warm")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=80)
    scenario = models.CharField(_("scenario"), max_length=30, choices=Scenario.choices, db_index=True)
    request_type = models.CharField(
        _("request type"), max_length=20, choices=RequestType.choices, blank=True, help_text=_("Empty: any.")
    )
    product_category = models.ForeignKey(
        ProductCategory,
        verbose_name=_("product category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: any."),
    )
    segment = models.CharField(
        _("customer segment"), max_length=20, choices=Segment.choices, blank=True, help_text=_("Empty: any.")
    )
    tone = models.CharField(_("tone"), max_length=20, choices=Tone.choices, default=Tone.EMPATHETIC)
    channel = models.CharField(
        _("channel"), max_length=20, choices=Channel.choices, blank=True, help_text=_("Empty: any.")
    )
    granted_kind = models.CharField(
        _("speaks of"),
        max_length=20,
        choices=Compensation.Kind.choices,
        blank=True,
        help_text=_(
            "The compensation the text speaks of (a replacement, a refund …): suggested only when the case's offer "
            "holds one. Empty: any."
        ),
    )
    active = models.BooleanField(_("active"), default=True)
    body = models.TextField(
        _("text"),
        help_text=_("Placeholders in braces, e.g. {customer_name}; write {{ and }} for literal braces."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(verbose_name=_("template version"), verbose_name_plural=_("template versions"))

    class Meta:
        verbose_name = _("response template")
        verbose_name_plural = _("response templates")
        ordering = ["scenario", "code"]

    def __str__(self) -> str:
        return f"{self.code} · {self.title}"

    def clean(self) -> None:
        from aftersales.replies.rendering import validate_body

        try:
            validate_body(self.body)
        except ValidationError as exc:
            raise ValidationError({"body": exc.messages}) from None


class TemplateUse(models.Model):
    """A reply sent from a template: which version, on which case, by whom, edited or not."""

    template = models.ForeignKey(
        ResponseTemplate, verbose_name=_("template"), on_delete=models.PROTECT, related_name="uses"
    )
    version = models.ForeignKey(
        "aftersales.HistoricalResponseTemplate",
        verbose_name=_("version"),
        on_delete=models.PROTECT,
        related_name="uses",
    )
    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="template_uses")
    event = models.OneToOneField(
        CaseEvent, verbose_name=_("reply"), on_delete=models.CASCADE, related_name="template_use"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("sent by"), on_delete=models.PROTECT, related_name="+"
    )
    edited = models.BooleanField(_("edited before sending"), default=False)
    used_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        verbose_name = _("template use")
        verbose_name_plural = _("template uses")
        ordering = ["-used_at", "-id"]
        indexes = [
            models.Index(fields=["template", "used_at"], name="templateuse_template_time"),
            models.Index(fields=["version", "used_at"], name="templateuse_version_time"),
            models.Index(fields=["used_at"], name="templateuse_time"),
        ]

    def __str__(self) -> str:
        return f"{self.template.code} → {self.case_id}"


class HealthReport(models.Model):
    """The monthly template health report: rarely used templates and rarely filled optional fields."""

    month = models.DateField(_("month"), unique=True, help_text=_("First day of the month reported on."))
    generated_at = models.DateTimeField(_("generated at"), default=timezone.now)
    threshold = models.DecimalField(_("threshold"), max_digits=4, decimal_places=3, default="0.050")
    templates = models.JSONField(_("templates"), default=list)
    optional_fields = models.JSONField(_("optional fields"), default=list)

    class Meta:
        verbose_name = _("template health report")
        verbose_name_plural = _("template health reports")
        ordering = ["-month"]
        constraints = [models.CheckConstraint(condition=Q(threshold__gt=0), name="healthreport_threshold_positive")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"

    @property
    def flagged_templates(self) -> list[dict]:
        return [row for row in self.templates if row.get("flagged")]

    @property
    def flagged_fields(self) -> list[dict]:
        return [row for row in self.optional_fields if row.get("flagged")]


__all__ = ["HealthReport", "ResponseTemplate", "TemplateUse"]
