"""Compensations (退款单/补偿): the ledger of what a case pays out, each with its own small state machine."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from aftersales.models.cases import Case, QuickDisplay, TouchedOnSave
from aftersales.models.choices import CS, LIVE_COMPENSATION_STATES, MONEY, CompensationKind, Settlement


class Compensation(QuickDisplay, TouchedOnSave, ConcurrentTransitionMixin, models.Model):
    Kind = CompensationKind

    #: Kinds paid out in money (finance's payout list); coupons, gifts and replacements are issued, not paid.
    CASH_KINDS = (Kind.REFUND, Kind.RETURN_SHIPPING, Kind.CASH)

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
    settlement = models.CharField(
        _("settled by"), max_length=20, choices=Settlement.choices, default=Settlement.FINANCE
    )
    settlement_requested_at = models.DateTimeField(_("refund requested from the channel at"), null=True, blank=True)
    settlement_due_at = models.DateTimeField(_("channel settlement due"), null=True, blank=True)
    settlement_alerted_at = models.DateTimeField(_("late settlement alert sent at"), null=True, blank=True)
    payout_reference = models.CharField(_("payout reference"), max_length=64, null=True, blank=True, unique=True)
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

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
                # the tabs' counts and the total to pay from the index alone (PostgreSQL)
                include=["kind", "settlement", "state", "amount"],
            ),
            # The late-settlement sweep: refunds the channel has not settled yet, by their due time.
            models.Index(
                fields=["settlement_due_at"],
                name="compensation_settlement_due",
                condition=Q(settlement="channel", state="approved", settlement_alerted_at__isnull=True),
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
    def is_cash(self) -> bool:
        """Paid out in money (a refund, return shipping, cash), not issued (a coupon, gift, replacement)."""
        return self.kind in self.CASH_KINDS

    @property
    def awaits_channel(self) -> bool:
        """A refund requested from the channel and not yet reported: finance may not pay it meanwhile."""
        return self.settlement == Settlement.CHANNEL and self.state == CS.APPROVED

    def channel_overdue(self, at=None) -> bool:
        """Waiting on the channel past its settlement target: finance may take it back (mark it failed)."""
        return (
            self.awaits_channel
            and self.settlement_due_at is not None
            and self.settlement_due_at <= (at or timezone.now())
        )

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
    "Compensation",
]
