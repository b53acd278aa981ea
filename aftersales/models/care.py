"""The care after a case: follow-up visits (回访) and a complaint's cause analysis with its corrective action.

A follow-up is created when a case that needs one finishes (a complaint, an escalation, a crisis) or is rated
badly (CSAT ≤ 2): one per case, with the reasons, an owner and a due date counted in working time. The owner
records whether the customer was reached and satisfied; an unreached customer is called again, up to
``FollowUp.MAX_ATTEMPTS`` times. A complaint's cause analysis records the root cause, who is responsible and the
corrective action with its owner: the open actions are the "feedback closes the loop" list supervisors follow.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.models.cases import Case
from aftersales.models.choices import Attribution


class FollowUp(models.Model):
    class Reason(models.TextChoices):
        COMPLAINT = "complaint", _("Complaint")
        ESCALATED = "escalated", _("Escalated")
        LOW_RATING = "low_rating", _("Low rating (CSAT ≤ 2)")
        CRISIS = "crisis", _("Crisis")

    class State(models.TextChoices):
        OPEN = "open", _("To do")
        DONE = "done", _("Done")

    #: Calls before an unreached customer's follow-up is closed as unreached.
    MAX_ATTEMPTS = 3

    case = models.OneToOneField(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="follow_up")
    reasons = models.JSONField(_("reasons"), default=list)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_ups",
    )
    due_at = models.DateTimeField(_("due at"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    attempts = models.PositiveSmallIntegerField(_("calls made"), default=0)
    reached = models.BooleanField(_("customer reached"), null=True, blank=True)
    satisfied = models.BooleanField(_("customer satisfied"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    new_case = models.ForeignKey(
        Case,
        verbose_name=_("new case"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The case opened from this follow-up, when the customer still had a problem."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("follow-up visit")
        verbose_name_plural = _("follow-up visits")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["due_at", "id"], name="followup_open_due", condition=Q(state="open")),
            models.Index(fields=["owner", "due_at"], name="followup_open_owner", condition=Q(state="open")),
            models.Index(fields=["created_at"], name="followup_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="open") | Q(done_at__isnull=False), name="followup_done_has_a_time"
            ),
            models.CheckConstraint(
                condition=Q(satisfied__isnull=True) | Q(reached=True), name="followup_satisfied_only_if_reached"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case.number} · {self.get_state_display()}"

    @property
    def reason_labels(self) -> list[str]:
        labels = dict(self.Reason.choices)
        return [str(labels.get(reason, reason)) for reason in self.reasons]

    @property
    def outcome_label(self) -> str:
        if self.state == self.State.OPEN:
            return str(_("Not reached yet")) if self.attempts else str(self.get_state_display())
        if not self.reached:
            return str(_("Not reached"))
        return str(_("Satisfied")) if self.satisfied else str(_("Not satisfied"))


class CauseAnalysis(models.Model):
    """A complaint's cause analysis: why it happened, who is responsible, and what is done so it does not recur."""

    class State(models.TextChoices):
        OPEN = "open", _("Corrective action open")
        DONE = "done", _("Corrective action done")

    case = models.OneToOneField(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="cause_analysis")
    root_cause = models.TextField(_("root cause"))
    attribution = models.CharField(_("attribution"), max_length=20, choices=Attribution.choices)
    corrective_action = models.TextField(_("corrective action"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("action owner"),
        on_delete=models.PROTECT,
        related_name="corrective_actions",
    )
    due_on = models.DateField(_("action due on"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    result = models.TextField(_("result"), blank=True, help_text=_("What was done, when the action is closed."))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("cause analysis")
        verbose_name_plural = _("cause analyses")
        ordering = ["-recorded_at"]
        indexes = [
            models.Index(fields=["state", "due_on"], name="causeanalysis_state_due"),
            models.Index(fields=["recorded_at"], name="causeanalysis_recorded"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="open") | Q(done_at__isnull=False), name="causeanalysis_done_has_a_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case.number} · {self.get_attribution_display()}"


__all__ = ["CauseAnalysis", "FollowUp"]
