"""Compensation services: the ledger of what a case pays out.

A compensation is proposed by an agent, approved within the approver's
authority (the case's total, so splitting an amount does not get round it),
becomes payable when the customer accepts the offer (at approval for quick
refunds), and is marked paid once by finance with a unique payout reference.
Every change is an event on the case's timeline. Services lock the case row
first, then the compensation row, so concurrent services cannot deadlock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from aftersales.errors import Conflict, NeedsApproval, NotAllowed
from aftersales.models import (
    FINAL_STATES,
    Case,
    CaseState,
    Compensation,
    CompensationState,
    Settlement,
)
from aftersales.notifications.outbox import alert_staff, request_refund
from aftersales.permissions import FINANCE, authority_of
from aftersales.services._base import (
    case_claim_value,
    ensure_may,
    live_compensation_total,
    local_time,
    lock_case,
    now,
    save_case,
)
from aftersales.services.events import compensation_event
from aftersales.workflow.money import CENT, yuan
from aftersales.workflow.policy import quick_refund_eligible

if TYPE_CHECKING:
    from django.contrib.auth.models import User

CS = CompensationState
#: Case states in which an offer is being put together.
OFFER_STATES = (CaseState.COMPENSATION, CaseState.ESCALATED)
#: ... and in which its items may be decided (a supervisor reviewing an offer above an agent's authority).
DECISION_STATES = (*OFFER_STATES, CaseState.AWAITING_APPROVAL)


def record_compensation(
    case: Case, comp: Compensation, *, action: str, actor: User | None, at: datetime, note: str = ""
) -> None:
    compensation_event(case, comp, action=action, actor=actor, note=note, at=at)


def ensure_within_authority(case: Case, actor: User | None, total: Decimal) -> None:
    limit = authority_of(actor, case.policy_version)
    if limit is not None and total > limit:
        raise NeedsApproval(
            _(
                "The case's compensation totals %(total)s, above your authority of %(limit)s: a supervisor must approve it first."
            )
            % {"total": yuan(total), "limit": yuan(limit)}
        )


def ensure_offer_open(case: Case, actor: User | None = None) -> None:
    """An offer under a supervisor's review is not changed under their feet (supervisors excepted)."""
    if actor is not None and actor.has_perm("aftersales.approve_any_compensation"):
        return
    if case.state == CaseState.AWAITING_APPROVAL:
        raise NotAllowed(
            _("The offer on case %(number)s waits for a supervisor's approval; it can be changed once they decide.")
            % {"number": case.number}
        )


def parse_amount(value, field: str = "amount") -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({field: _("“%(value)s” is not an amount.") % {"value": value}}) from None
    if not amount.is_finite() or amount <= 0:
        raise ValidationError({field: _("The amount must be more than zero.")})
    if amount != amount.quantize(CENT):
        raise ValidationError({field: _("Amounts have at most two decimal places (fen).")})
    if amount >= Decimal("10000000000"):
        raise ValidationError({field: _("The amount is too large.")})
    return amount.quantize(CENT)


def _lock_compensation(compensation_id: int) -> tuple[Case, Compensation]:
    try:
        case_id = Compensation.objects.values_list("case_id", flat=True).get(pk=compensation_id)
    except Compensation.DoesNotExist:
        raise ValidationError({"compensation": _("Unknown compensation %(id)s.") % {"id": compensation_id}}) from None
    case = lock_case(case_id)
    comp = Compensation.objects.select_for_update().get(pk=compensation_id)
    return case, comp


# --------------------------------------------------------------------------
# Steps used inside case transitions (the case row is already locked)
# --------------------------------------------------------------------------
def grant_quick_refund(case: Case, *, actor: User | None, at: datetime) -> Compensation | None:
    """At approval: a refund payable at once for customers whose credit and amount qualify."""
    customer = case.customer
    amount = case_claim_value(case)
    if not quick_refund_eligible(
        policy=case.policy_version,
        request_type=case.request_type,
        credit_score=customer.credit_score,
        amount=amount,
        flagged=bool(customer.risk_flags),
    ):
        return None
    comp = Compensation.objects.create(
        case=case,
        kind=Compensation.Kind.REFUND,
        amount=amount,
        state=CS.APPROVED,
        quick_refund=True,
        payable=True,
        payable_at=at,
        proposed_by=actor,
        proposed_at=at,
        approved_by=actor,
        approved_at=at,
        note=_("Quick refund"),
    )
    record_compensation(case, comp, action="quick_refund", actor=actor, at=at)
    request_settlements(case, [comp], actor=actor, at=at)
    return comp


def request_settlements(case: Case, comps: list[Compensation], *, actor: User | None, at: datetime) -> list[int]:
    """Refunds that just became payable, on a channel whose policy has the channel settle them: requested from the
    channel's system (a signed ``refund.requested`` through the outbox), due within the policy's target."""
    policy = case.policy_version
    if policy.refund_settlement != Settlement.CHANNEL:
        return []
    refunds = [comp for comp in comps if comp.kind == Compensation.Kind.REFUND]
    for comp in refunds:
        comp.settlement = Settlement.CHANNEL
        comp.settlement_requested_at = at
        comp.settlement_due_at = at + timedelta(hours=policy.settlement_timeout_hours)
        comp.save(update_fields=["settlement", "settlement_requested_at", "settlement_due_at"])
        request_refund(case, comp)
        record_compensation(case, comp, action="settlement_requested", actor=actor, at=at)
    return [comp.pk for comp in refunds]


def offer_total(live) -> Decimal:
    """What an approver answers for: the live compensations other than quick refunds (granted by policy)."""
    return sum((c.amount for c in live if not c.quick_refund), Decimal("0.00"))


def approve_pending_within_authority(
    case: Case, live: list[Compensation], *, actor: User | None, at: datetime
) -> list[int]:
    """Approve the case's proposed compensations if the whole total is within the actor's authority."""
    pending = [comp for comp in live if comp.state == CS.PROPOSED]
    if not pending:
        return []
    ensure_within_authority(case, actor, offer_total(live))
    for comp in pending:
        ensure_may(comp, "approve", actor)
        comp.approve(by=actor, at=at)
        comp.save(update_fields=["state", "approved_by", "approved_at"])
        record_compensation(case, comp, action="approve", actor=actor, at=at)
    return [comp.pk for comp in pending]


def make_approved_payable(case: Case, *, actor: User | None, at: datetime) -> list[int]:
    """On acceptance: approved compensations become payable; unapproved proposals lapse."""
    void_unpaid(case, actor=actor, at=at, note=_("Not approved before the case closed."), states=(CS.PROPOSED,))
    comps = list(case.compensations.select_for_update().filter(state=CS.APPROVED, payable=False))
    for comp in comps:
        comp.payable = True
        comp.payable_at = at
        comp.save(update_fields=["payable", "payable_at"])
        record_compensation(case, comp, action="payable", actor=actor, at=at)
    request_settlements(case, comps, actor=actor, at=at)
    return [comp.pk for comp in comps]


def void_unpaid(
    case: Case, *, actor: User | None, at: datetime, note: str, states=(CS.PROPOSED, CS.APPROVED, CS.FAILED)
) -> list[int]:
    """Withdraw the offer: void compensations not yet payable (quick refunds stay)."""
    comps = list(case.compensations.select_for_update().filter(state__in=states, payable=False, quick_refund=False))
    for comp in comps:
        comp.void(note=note)
        comp.save(update_fields=["state", "decision_note", "payable"])
        record_compensation(case, comp, action="void", actor=actor, at=at, note=note)
    return [comp.pk for comp in comps]


# --------------------------------------------------------------------------
# Services
# --------------------------------------------------------------------------
@transaction.atomic
def compensation_add(
    *, case_id: int, actor: User | None, kind: str, amount: Decimal | str, note: str = "", at: datetime | None = None
) -> Compensation:
    """Propose one compensation item on a case that is working out its offer."""
    at = now(at)
    if kind not in Compensation.Kind.values:
        raise ValidationError({"kind": _("Unknown compensation kind “%(value)s”.") % {"value": kind}})
    amount = parse_amount(amount)
    if actor is None or not actor.has_perm("aftersales.propose_compensation"):
        raise PermissionDenied(_("You do not have permission to propose compensation."))
    case = lock_case(case_id)
    ensure_offer_open(case)
    if case.state not in OFFER_STATES:
        raise NotAllowed(
            _("Compensation can be added only while the case is in “%(states)s”; %(number)s is “%(state)s”.")
            % {
                "states": "”, “".join(str(CaseState(s).label) for s in OFFER_STATES),
                "number": case.number,
                "state": case.get_state_display(),
            }
        )
    if kind == Compensation.Kind.REFUND:
        claim = case_claim_value(case)
        refunds = live_compensation_total(case, kind=Compensation.Kind.REFUND)
        if refunds + amount > claim:
            raise ValidationError(
                {
                    "amount": _(
                        "Refunds would total %(total)s, more than the %(claim)s the goods in this case are worth (%(already)s already refunded or offered)."
                    )
                    % {"total": yuan(refunds + amount), "claim": yuan(claim), "already": yuan(refunds)}
                }
            )
    comp = Compensation.objects.create(
        case=case, kind=kind, amount=amount, note=(note or "").strip()[:200], proposed_by=actor, proposed_at=at
    )
    save_case(case, actor=actor, at=at)
    record_compensation(case, comp, action="propose", actor=actor, at=at, note=comp.note)
    return comp


@transaction.atomic
def compensation_approve(
    *, compensation_id: int, actor: User | None, note: str = "", at: datetime | None = None
) -> Compensation:
    """Approve a proposal; the case's whole total must be within the approver's authority."""
    at = now(at)
    case, comp = _lock_compensation(compensation_id)
    ensure_may(comp, "approve", actor)
    ensure_offer_open(case, actor)
    if case.state not in DECISION_STATES:
        raise NotAllowed(
            _("Case %(number)s is “%(state)s”; its compensation can no longer be approved.")
            % {"number": case.number, "state": case.get_state_display()}
        )
    ensure_within_authority(case, actor, live_compensation_total(case, exclude_quick_refund=True))
    comp.approve(by=actor, at=at)
    comp.save(update_fields=["state", "approved_by", "approved_at"])
    save_case(case, actor=actor, at=at)
    record_compensation(case, comp, action="approve", actor=actor, at=at, note=note)
    return comp


@transaction.atomic
def compensation_reject(
    *, compensation_id: int, actor: User | None, note: str, at: datetime | None = None
) -> Compensation:
    """Refuse a proposal (e.g. a supervisor refusing an over-authority offer)."""
    at = now(at)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("Say why the compensation is refused.")})
    case, comp = _lock_compensation(compensation_id)
    ensure_may(comp, "reject", actor)
    ensure_offer_open(case, actor)
    comp.reject(note=note[:200])
    comp.save(update_fields=["state", "decision_note"])
    save_case(case, actor=actor, at=at)
    record_compensation(case, comp, action="reject", actor=actor, at=at, note=note)
    return comp


@transaction.atomic
def compensation_void(
    *, compensation_id: int, actor: User | None, note: str, at: datetime | None = None
) -> Compensation:
    """Withdraw an unpaid compensation while the offer is worked out.

    Payable ones (e.g. a mistaken quick refund), or on a finished case: supervisors only.
    An offer that is with the customer is not changed under their feet.
    """
    at = now(at)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("Say why the compensation is voided.")})
    case, comp = _lock_compensation(compensation_id)
    ensure_may(comp, "void", actor)
    ensure_offer_open(case, actor)
    if comp.payable or case.state in FINAL_STATES:
        if not actor.has_perm("aftersales.approve_any_compensation"):
            raise PermissionDenied(
                _("Only a supervisor may void a compensation that is payable or on a finished case.")
            )
    elif case.state not in DECISION_STATES:
        raise NotAllowed(
            _("Case %(number)s is “%(state)s”: the offer can be changed only while it is being worked out.")
            % {"number": case.number, "state": case.get_state_display()}
        )
    comp.void(note=note[:200])
    comp.save(update_fields=["state", "decision_note", "payable"])
    save_case(case, actor=actor, at=at)
    record_compensation(case, comp, action="void", actor=actor, at=at, note=note)
    return comp


@transaction.atomic
def compensation_mark_paid(
    *,
    compensation_id: int,
    actor: User | None,
    payout_reference: str,
    at: datetime | None = None,
    channel_report: bool = False,
) -> Compensation:
    """Finance records the payout (or the channel, ``channel_report``, the refund it settled). A compensation is
    never paid twice, and finance does not pay a refund the channel is settling."""
    at = now(at)
    reference = (payout_reference or "").strip()
    if not reference:
        raise ValidationError(
            {"payout_reference": _("Enter the payout reference (bank or wallet transaction number).")}
        )
    if len(reference) > 64:
        raise ValidationError({"payout_reference": _("The payout reference has at most 64 characters.")})
    case, comp = _lock_compensation(compensation_id)
    if comp.state == CS.PAID:
        raise NotAllowed(
            _("Compensation #%(id)s was already paid on %(date)s with reference %(ref)s; it cannot be paid twice.")
            % {"id": comp.pk, "date": comp.paid_at.date().isoformat(), "ref": comp.payout_reference}
        )
    ensure_may(comp, "mark_paid", actor)
    if comp.awaits_channel and not channel_report:
        raise NotAllowed(
            _(
                "Refund #%(id)s was requested from the channel on %(date)s and the channel settles it: paying it "
                "here too would refund the customer twice. If the channel reports it failed, or it is overdue and "
                "you mark it failed, pay it here."
            )
            % {"id": comp.pk, "date": local_time(comp.settlement_requested_at)}
        )
    if not comp.payable:
        raise NotAllowed(
            _("Compensation #%(id)s is not payable yet: it becomes payable when the customer accepts the offer.")
            % {"id": comp.pk}
        )
    clash = Compensation.objects.filter(payout_reference=reference).values_list("pk", "case__number").first()
    if clash:
        raise ValidationError(
            {
                "payout_reference": _("Reference %(ref)s is already used by compensation #%(id)s of case %(number)s.")
                % {"ref": reference, "id": clash[0], "number": clash[1]}
            }
        )
    comp.mark_paid(by=actor, at=at, reference=reference)
    try:
        with transaction.atomic():
            comp.save(update_fields=["state", "paid_by", "paid_at", "payout_reference"])
    except IntegrityError:
        raise ValidationError(
            {"payout_reference": _("Reference %(ref)s is already used by another payout.") % {"ref": reference}}
        ) from None
    record_compensation(case, comp, action="mark_paid", actor=actor, at=at, note=reference)
    return comp


@transaction.atomic
def compensation_mark_failed(
    *, compensation_id: int, actor: User | None, note: str, at: datetime | None = None, channel_report: bool = False
) -> Compensation:
    """Finance records a failed payout (or the channel, ``channel_report``, a refund it could not settle); it can be
    paid again later with a new reference. Finance takes a refund back from the channel only once it is overdue."""
    at = now(at)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("Say why the payout failed.")})
    case, comp = _lock_compensation(compensation_id)
    ensure_may(comp, "mark_failed", actor)
    if comp.awaits_channel and not channel_report and not comp.channel_overdue(at):
        raise NotAllowed(
            _("Refund #%(id)s is with the channel until %(due)s; wait for its report until then.")
            % {"id": comp.pk, "due": local_time(comp.settlement_due_at)}
        )
    comp.mark_failed(note=note[:200])
    comp.save(update_fields=["state", "decision_note"])
    record_compensation(case, comp, action="mark_failed", actor=actor, at=at, note=note)
    return comp


#: What a channel reports about a refund it was asked to settle.
SUCCEEDED, FAILED = "succeeded", "failed"


@transaction.atomic
def compensation_settle(
    *,
    compensation_id: int,
    actor: User | None,
    outcome: str,
    reference: str = "",
    reason: str = "",
    settled_at: datetime | None = None,
    at: datetime | None = None,
) -> tuple[Compensation, bool]:
    """The channel's report on a refund it was asked to settle: paid (with the gateway's refund reference and
    time) or failed (with the reason). Returns the compensation and whether anything changed.

    The same payout services as finance's: the rows are locked, a compensation is never paid twice. The same
    report again changes nothing; a different reference for a paid refund is a ``Conflict``.
    """
    at = now(at)
    _case, comp = _lock_compensation(compensation_id)
    if comp.kind != Compensation.Kind.REFUND or comp.settlement != Settlement.CHANNEL:
        raise Conflict(
            _("Compensation #%(id)s is not a refund the channel settles.") % {"id": comp.pk}, field="compensation"
        )
    if outcome == SUCCEEDED:
        reference = (reference or "").strip()
        if comp.state == CS.PAID:
            if comp.payout_reference == reference:
                return comp, False
            raise Conflict(
                _("Compensation #%(id)s was already settled with reference %(ref)s.")
                % {"id": comp.pk, "ref": comp.payout_reference},
                field="reference",
            )
        settled_at = settled_at or at
        if settled_at > at + timedelta(minutes=5):
            raise ValidationError({"settled_at": _("The settlement time is in the future.")})
        if comp.payable_at and settled_at < comp.payable_at:
            raise ValidationError({"settled_at": _("The settlement time is before the refund was requested.")})
        return compensation_mark_paid(
            compensation_id=comp.pk, actor=actor, payout_reference=reference, at=settled_at, channel_report=True
        ), True
    if outcome == FAILED:
        reason = (reason or "").strip()
        if comp.state == CS.FAILED and comp.decision_note == reason[:200]:
            return comp, False
        if comp.state == CS.PAID:
            raise Conflict(
                _("Compensation #%(id)s was already settled with reference %(ref)s; it cannot fail now.")
                % {"id": comp.pk, "ref": comp.payout_reference},
                field="status",
            )
        return compensation_mark_failed(
            compensation_id=comp.pk, actor=actor, note=reason, at=at, channel_report=True
        ), True
    raise ValidationError({"status": _("Report succeeded or failed.")})


@transaction.atomic
def compensation_settlement_overdue(*, compensation_id: int, at: datetime | None = None) -> Compensation:
    """System: the channel has not settled a refund within the policy's target: finance is alerted, once."""
    at = now(at)
    case, comp = _lock_compensation(compensation_id)
    if (
        comp.settlement != Settlement.CHANNEL
        or comp.state != CS.APPROVED
        or comp.settlement_alerted_at is not None
        or comp.settlement_due_at is None
        or comp.settlement_due_at > at
    ):
        raise NotAllowed(_("Compensation #%(id)s has no overdue settlement to report.") % {"id": comp.pk})
    comp.settlement_alerted_at = at
    comp.save(update_fields=["settlement_alerted_at"])
    note = _("The channel has not settled refund #%(id)s of %(amount)s on case %(number)s (due %(due)s).") % {
        "id": comp.pk,
        "amount": yuan(comp.amount),
        "number": case.number,
        "due": local_time(comp.settlement_due_at),
    }
    record_compensation(case, comp, action="settlement_overdue", actor=None, at=at, note=note)
    alert_staff(
        [FINANCE],
        subject=_("Refund not settled by the channel: %(number)s") % {"number": case.number},
        body=note,
        case=case,
        key=f"settlement:{comp.pk}",
    )
    return comp
