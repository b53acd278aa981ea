"""Case services: open a case, and one service per workflow transition.

Each service: lock the row, check state and permission (``ensure_may``),
check the transition's conditions with a message that names the problem,
transition, save with ``update_fields``, record the ``CaseEvent`` and announce
the change after commit. Nothing is written when any check fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from aftersales.automation.radar import analyse, keywords
from aftersales.automation.risk import crisis_reasons, customer_facts, is_high_value
from aftersales.automation.routing import apply_sla, raise_crisis, route_new_case
from aftersales.automation.rules import CaseContext, run_rules
from aftersales.errors import NotAllowed
from aftersales.models import (
    ESCALATION_RESOLUTIONS,
    FINAL_STATES,
    GRANTED_COMPENSATION_STATES,
    LINELESS_TYPES,
    LIVE_COMPENSATION_STATES,
    OPEN_STATES,
    AutomationRule,
    Case,
    CaseEvent,
    CaseKeyword,
    CaseLine,
    CaseState,
    Compensation,
    Inspection,
    LexiconWord,
    Policy,
    ProblemCategory,
    RequestType,
    RiskThresholds,
)
from aftersales.notifications.outbox import notify_customer
from aftersales.permissions import ensure_may, may_reply_to_customers
from aftersales.services._base import (
    announce,
    escalate_locked,
    finish_transition,
    lock_case,
    now,
    save_case,
)
from aftersales.services.compensations import (
    approve_pending_within_authority,
    grant_quick_refund,
    make_approved_payable,
    void_unpaid,
)
from aftersales.services.events import case_event_record
from aftersales.services.numbers import case_number_next
from aftersales.services.photos import store_photos, validate_photos
from aftersales.services.risk_flags import customer_flag_refresh
from aftersales.workflow.policy import initial_priority, return_window_days, window_deadline
from aftersales.workflow.transitions import stage_clock
from customers.models import Channel, Order

S = CaseState


def _required(value: str, field: str, message) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: message})
    return value


def _local(dt: datetime) -> str:
    return date_format(timezone.localtime(dt), "Y-m-d H:i")


# --------------------------------------------------------------------------
# Open
# --------------------------------------------------------------------------
def policy_for_channel(channel: str) -> Policy:
    """The active policy of ``channel``, else the active default (channel left empty)."""
    policies = {p.channel: p for p in Policy.objects.filter(active=True, channel__in=[channel, ""])}
    policy = policies.get(channel) or policies.get("")
    if policy is None:
        raise NotAllowed(_("No active after-sales policy applies to channel “%(channel)s”.") % {"channel": channel})
    return policy


def _validate_open_arguments(*, request_type: str, urgency: int, channel: str | None, evidence) -> dict:
    errors: dict[str, str] = {}
    if request_type not in RequestType.values:
        errors["request_type"] = _("Unknown request type “%(value)s”.") % {"value": request_type}
    if not isinstance(urgency, int) or not 1 <= urgency <= 5:
        errors["urgency"] = _("Urgency must be a whole number from 1 to 5.")
    if channel is not None and channel not in Channel.values:
        errors["channel"] = _("Unknown channel “%(value)s”.") % {"value": channel}
    if not isinstance(evidence, list | tuple) or not all(isinstance(item, str) for item in evidence):
        errors["evidence"] = _("Evidence must be a list of links or file names.")
    return errors


def _validate_lines(order: Order, lines: Sequence[tuple[int, int]], request_type: str) -> list[tuple]:
    """Check each requested (order line id, quantity) against the order and earlier cases."""
    if not lines:
        if request_type in LINELESS_TYPES:
            return []
        raise ValidationError({"lines": _("Name at least one order line and its quantity.")})

    order_lines = {line.pk: line for line in order.lines.all()}
    requested: dict[int, int] = {}
    problems: list[str] = []
    for line_id, quantity in lines:
        if line_id not in order_lines:
            problems.append(
                _("Order line %(line)s is not part of order %(order)s.") % {"line": line_id, "order": order.number}
            )
        elif line_id in requested:
            problems.append(_("Order line %(sku)s is listed twice.") % {"sku": order_lines[line_id].sku})
        elif not isinstance(quantity, int) or quantity < 1:
            problems.append(
                _("Quantity for %(sku)s must be a whole number of at least 1.") % {"sku": order_lines[line_id].sku}
            )
        else:
            requested[line_id] = quantity
    if problems:
        raise ValidationError({"lines": problems})

    claimed: dict[int, int] = dict.fromkeys(requested, 0)
    earlier = (
        CaseLine.objects.filter(order_line_id__in=requested)
        .exclude(case__state__in=[S.REJECTED, S.CANCELLED])
        .values_list("order_line_id", "quantity", "case__number", "case__state")
    )
    for line_id, quantity, number, state in earlier:
        if state in OPEN_STATES:
            problems.append(
                _("%(sku)s already has an open case %(number)s; add to that case instead.")
                % {"sku": order_lines[line_id].sku, "number": number}
            )
        claimed[line_id] += quantity
    for line_id, quantity in requested.items():
        line = order_lines[line_id]
        left = line.quantity - claimed[line_id]
        if quantity > left:
            problems.append(
                _(
                    "%(sku)s: %(asked)s requested but only %(left)s left (%(bought)s bought, %(claimed)s already in earlier cases)."
                )
                % {
                    "sku": line.sku,
                    "asked": quantity,
                    "left": left,
                    "bought": line.quantity,
                    "claimed": claimed[line_id],
                }
            )
    if problems:
        raise ValidationError({"lines": problems})
    return [(order_lines[line_id], quantity) for line_id, quantity in requested.items()]


@transaction.atomic
def case_open(
    *,
    actor,
    order_number: str | None = None,
    order_id: int | None = None,
    lines: Sequence[tuple[int, int]] = (),
    request_type: str,
    reason: str = "",
    category_id: int | None = None,
    urgency: int = 3,
    channel: str | None = None,
    evidence: Sequence[str] = (),
    at: datetime | None = None,
) -> Case:
    """Open a case on an order. Lines are ``(order_line_id, quantity)`` pairs."""
    at = now(at)
    if actor is None or not actor.has_perm("aftersales.open_case"):
        raise PermissionDenied(_("You do not have permission to open cases."))
    errors = _validate_open_arguments(request_type=request_type, urgency=urgency, channel=channel, evidence=evidence)
    category = None
    if category_id is not None:
        category = ProblemCategory.objects.select_related("parent__parent").filter(pk=category_id, active=True).first()
        if category is None:
            errors["category"] = _("Unknown or inactive problem category %(id)s.") % {"id": category_id}
    if errors:
        raise ValidationError(errors)

    order_filter = {"number": (order_number or "").strip()} if order_id is None else {"pk": order_id}
    try:
        # Lock the order: concurrent openers for its lines wait here, so the
        # "no second open case on a line" check below cannot be raced.
        order = Order.objects.select_for_update().select_related("customer").get(**order_filter)
    except Order.DoesNotExist:
        raise ValidationError(
            {"order": _("Unknown order “%(order)s”.") % {"order": order_number or order_id}}
        ) from None
    validated = _validate_lines(order, list(lines), request_type)

    channel = channel or order.channel
    policy = policy_for_channel(channel)
    version = policy.history.order_by("-history_date", "-history_id").first()
    if version is None:
        raise NotAllowed(_("Policy “%(name)s” has no recorded version; save it once in the admin.") % {"name": policy})

    customer = order.customer
    claim_value = sum((line.unit_price * quantity for line, quantity in validated), Decimal("0.00"))
    reason = (reason or "").strip()

    # Emotion radar, customer facts, crisis and priority (urgency × impact).
    radar = analyse(reason)
    urgency = max(urgency, radar.urgency)
    thresholds = RiskThresholds.current()
    facts = customer_facts(customer.pk, at=at)
    high_value = is_high_value(facts, thresholds)
    window_cases = Case.objects.filter(
        customer=customer, opened_at__gt=at - timedelta(days=thresholds.crisis_window_days)
    ).count()
    crisis_why = crisis_reasons(
        abusive_words=[hit["word"] for hit in radar.words if hit["kind"] == LexiconWord.Kind.ABUSIVE],
        recent_cases=window_cases + 1,
        thresholds=thresholds,
    )
    case = Case(
        number=case_number_next(at=at),
        order=order,
        customer=customer,
        request_type=request_type,
        category=category,
        reason=reason,
        evidence=list(evidence),
        channel=channel,
        urgency=urgency,
        priority=initial_priority(
            urgency=urgency, is_vip=customer.is_vip or high_value, claim_value=claim_value, request_type=request_type
        ),
        emotion_score=radar.score,
        emotion_words=radar.words,
        policy=policy,
        policy_version=version,
        opened_at=at,
    )
    case.waiting_on, case.stage_due_at = stage_clock(case.state, version, at)
    apply_sla(case)
    route = route_new_case(
        case,
        categories=sorted({line.category_id for line, _quantity in validated}),
        high_value=high_value,
        crisis=bool(crisis_why),
    )
    case.queue, case.assignee = route.queue, route.assignee
    main_line = max(validated, key=lambda pair: pair[0].unit_price * pair[1])[0] if validated else None
    case.main_category_id = main_line.category_id if main_line else None
    case.save()
    CaseLine.objects.bulk_create(
        [CaseLine(case=case, order_line=line, quantity=quantity) for line, quantity in validated]
    )
    CaseKeyword.objects.bulk_create(
        [
            CaseKeyword(
                case=case,
                word=word,
                opened_at=at,
                product_category_id=main_line.category_id if main_line else None,
                sku=main_line.sku if main_line else "",
            )
            for word in keywords(reason)
        ]
    )
    case_event_record(
        case=case,
        kind=CaseEvent.Kind.OPENED,
        actor=actor,
        name="open",
        after=case.state,
        note=case.reason,
        data={
            "lines": [[line.pk, quantity] for line, quantity in validated],
            "claim_value": str(claim_value),
            "route": route.reasons,
            "radar": radar.words,
            "high_value": high_value,
        },
        at=at,
    )
    if crisis_why:
        changed = raise_crisis(case, reasons=crisis_why, at=at)
        if changed:
            case.save(update_fields=sorted(changed))
    run_rules(
        case, AutomationRule.Trigger.OPENED, at=at, ctx=CaseContext(case, at=at, facts=facts, claim_value=claim_value)
    )
    customer_flag_refresh(customer_id=customer.pk, at=at, thresholds=thresholds)
    notify_customer(case, "open")
    announce(case, action="open", actor=actor)
    return case


# --------------------------------------------------------------------------
# Review
# --------------------------------------------------------------------------
def _check_window(case: Case, *, actor, override: bool) -> dict:
    """Refuse approval outside the policy window unless an authorised override."""
    attribution = case.category.attribution if case.category_id else None
    days = return_window_days(case.policy_version, attribution)
    deadline = window_deadline(case.order.delivered_at, days)
    if deadline is None or case.opened_at <= deadline:
        return {}
    if override:
        if not actor.has_perm("aftersales.override_policy_window"):
            raise PermissionDenied(_("Only a supervisor may approve outside the policy window."))
        return {"window_override": True, "window_days": days}
    raise NotAllowed(
        _(
            "The request came on %(opened)s, after the %(days)s-day window that ended on %(deadline)s (delivered %(delivered)s). A supervisor may override."
        )
        % {
            "opened": _local(case.opened_at),
            "days": days,
            "deadline": _local(deadline),
            "delivered": _local(case.order.delivered_at),
        }
    )


def _approve(case: Case, *, name: str, actor, at: datetime, note: str, data: dict) -> Case:
    before = case.state
    getattr(case, name)(at=at)
    refund = grant_quick_refund(case, actor=actor, at=at)
    if refund is not None:
        case.quick_refund = True
        data = {**data, "quick_refund": str(refund.amount)}
    finish_transition(
        case, name=name, before=before, actor=actor, at=at, note=note, fields={"approved_at", "quick_refund"}, data=data
    )
    return case


@transaction.atomic
def case_approve(
    *,
    case_id: int,
    actor,
    note: str = "",
    override_window: bool = False,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    at = now(at)
    case = lock_case(case_id, expected_version=expected_version)
    ensure_may(case, "approve", actor)
    data = _check_window(case, actor=actor, override=override_window)
    return _approve(case, name="approve", actor=actor, at=at, note=note, data=data)


@transaction.atomic
def case_auto_approve(*, case_id: int, at: datetime | None = None) -> Case:
    """System: the review timeout of the case's policy passed without action."""
    at = now(at)
    case = lock_case(case_id)
    ensure_may(case, "auto_approve", None)
    if case.stage_due_at is None or case.stage_due_at > at:
        raise NotAllowed(_("The review deadline of %(number)s has not passed yet.") % {"number": case.number})
    note = _("Approved by default: not reviewed within %(hours)s hours.") % {
        "hours": case.policy_version.review_timeout_hours
    }
    return _approve(case, name="auto_approve", actor=None, at=at, note=note, data={})


@transaction.atomic
def case_reject(
    *, case_id: int, actor, reason: str, expected_version: int | None = None, at: datetime | None = None
) -> Case:
    at = now(at)
    reason = _required(reason, "reason", _("Give the customer a reason for the rejection."))
    case = lock_case(case_id, expected_version=expected_version)
    ensure_may(case, "reject", actor)
    before = case.state
    case.reject(at=at, reason=reason)
    finish_transition(
        case, name="reject", before=before, actor=actor, at=at, note=reason, fields={"reject_reason", "closed_at"}
    )
    return case


# --------------------------------------------------------------------------
# Goods back and QC
# --------------------------------------------------------------------------
@transaction.atomic
def case_receive(
    *,
    case_id: int,
    actor,
    tracking_number: str,
    carrier: str = "",
    note: str = "",
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    at = now(at)
    tracking_number = _required(tracking_number, "tracking_number", _("Record the return tracking number."))
    case = lock_case(case_id, expected_version=expected_version)
    ensure_may(case, "receive", actor)
    before = case.state
    case.receive(at=at, carrier=(carrier or "").strip(), tracking_number=tracking_number)
    finish_transition(
        case,
        name="receive",
        before=before,
        actor=actor,
        at=at,
        note=note,
        fields={"received_at", "return_carrier", "return_tracking_number"},
        data={"tracking_number": tracking_number, "carrier": case.return_carrier},
    )
    return case


def _choice(value: str, choices, field: str) -> str:
    if value not in choices.values:
        raise ValidationError({field: _("Choose one of: %(choices)s.") % {"choices": ", ".join(choices.values)}})
    return value


@transaction.atomic
def case_inspect(
    *,
    case_id: int,
    actor,
    grade: str,
    responsible_party: str,
    disposition: str,
    findings: str = "",
    photos: Sequence = (),
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    """Record the QC inspection (with photos); the customer at fault → rejected, otherwise → compensation."""
    at = now(at)
    accepted_photos = validate_photos(photos)
    grade = _choice(grade, Inspection.Grade, "grade")
    responsible_party = _choice(responsible_party, Inspection.Party, "responsible_party")
    disposition = _choice(disposition, Inspection.Disposition, "disposition")
    findings = (findings or "").strip()
    customer_at_fault = responsible_party == Inspection.Party.CUSTOMER
    if customer_at_fault and not findings:
        raise ValidationError({"findings": _("Describe what the customer is responsible for.")})
    case = lock_case(case_id, expected_version=expected_version)
    ensure_may(case, "inspect", actor)
    inspection = Inspection.objects.create(
        case=case,
        grade=grade,
        responsible_party=responsible_party,
        disposition=disposition,
        findings=findings,
        inspector=actor,
        inspected_at=at,
    )
    before = case.state
    case.inspect(at=at, customer_at_fault=customer_at_fault)
    data = {
        "inspection": inspection.pk,
        "grade": grade,
        "responsible_party": responsible_party,
        "photos": len(accepted_photos),
    }
    fields = {"inspected_at"}
    if customer_at_fault:
        case.reject_reason = findings
        fields |= {"reject_reason", "closed_at"}
        if case.quick_refund:
            data["quick_refund_recovery"] = True
    finish_transition(case, name="inspect", before=before, actor=actor, at=at, note=findings, fields=fields, data=data)
    # Files last: nothing after them can fail but the commit itself.
    store_photos(inspection, accepted_photos)
    return case


# --------------------------------------------------------------------------
# Offer and confirmation
# --------------------------------------------------------------------------
@transaction.atomic
def case_propose(
    *, case_id: int, actor, note: str = "", expected_version: int | None = None, at: datetime | None = None
) -> Case:
    """Send the compensation offer to the customer.

    Proposed compensations are approved by the actor when the case total is
    within their authority; above it a supervisor must approve them first.
    """
    at = now(at)
    case = lock_case(case_id, expected_version=expected_version)
    ensure_may(case, "propose", actor)
    live = live_offer(case, note=note)
    return propose_locked(case, live, actor=actor, at=at, note=note)


def live_offer(case: Case, *, note: str) -> list[Compensation]:
    """The case's live compensations, locked; an offer needs at least one, or a description."""
    live = list(case.compensations.select_for_update().filter(state__in=LIVE_COMPENSATION_STATES))
    if not live and not (note or "").strip():
        raise ValidationError({"note": _("Add a compensation or describe the offer (e.g. a free repair).")})
    return live


def propose_locked(
    case: Case, live: list[Compensation], *, actor, at: datetime, note: str, data: dict | None = None
) -> Case:
    """Approve what the actor may, send the offer (the case row is locked, ``propose`` allowed)."""
    approved = approve_pending_within_authority(case, live, actor=actor, at=at)
    before = case.state
    case.propose(at=at)
    total = sum((c.amount for c in live), Decimal("0.00"))
    finish_transition(
        case,
        name="propose",
        before=before,
        actor=actor,
        at=at,
        note=(note or "").strip(),
        fields={"proposed_at"},
        data={"total": str(total), "approved": approved, **(data or {})},
    )
    return case


def _close_with_payables(case: Case, *, name: str, actor, at: datetime, note: str) -> Case:
    before = case.state
    getattr(case, name)(at=at)
    payable = make_approved_payable(case, actor=actor, at=at)
    finish_transition(
        case, name=name, before=before, actor=actor, at=at, note=note, fields={"closed_at"}, data={"payable": payable}
    )
    return case


@transaction.atomic
def case_confirm(
    *, case_id: int, actor, note: str = "", expected_version: int | None = None, at: datetime | None = None
) -> Case:
    """The customer accepts the offer (through a channel, or an agent on their behalf)."""
    at = now(at)
    case = lock_case(case_id, expected_version=expected_version)
    ensure_may(case, "confirm", actor)
    return _close_with_payables(case, name="confirm", actor=actor, at=at, note=note)


@transaction.atomic
def case_auto_confirm(*, case_id: int, at: datetime | None = None) -> Case:
    """System: the confirmation timeout passed; the offer is taken as accepted."""
    at = now(at)
    case = lock_case(case_id)
    ensure_may(case, "auto_confirm", None)
    if case.stage_due_at is None or case.stage_due_at > at:
        raise NotAllowed(_("The confirmation deadline of %(number)s has not passed yet.") % {"number": case.number})
    note = _("Accepted by default: no answer within %(hours)s hours.") % {
        "hours": case.policy_version.confirm_timeout_hours
    }
    return _close_with_payables(case, name="auto_confirm", actor=None, at=at, note=note)


@transaction.atomic
def case_decline(
    *, case_id: int, actor, note: str = "", expected_version: int | None = None, at: datetime | None = None
) -> Case:
    """The customer declines the offer: it is withdrawn and the case goes back to compensation."""
    at = now(at)
    case = lock_case(case_id, expected_version=expected_version)
    ensure_may(case, "decline", actor)
    voided = void_unpaid(case, actor=actor, at=at, note=_("Offer declined by the customer."))
    before = case.state
    case.decline(at=at)
    finish_transition(
        case,
        name="decline",
        before=before,
        actor=actor,
        at=at,
        note=note,
        fields={"proposed_at"},
        data={"voided": voided},
    )
    return case


@transaction.atomic
def case_expire(*, case_id: int, at: datetime | None = None) -> Case:
    """System: the goods were never sent back in time. Cancelled — or, after a quick refund, escalated."""
    at = now(at)
    case = lock_case(case_id)
    ensure_may(case, "expire", None)
    if case.stage_due_at is None or case.stage_due_at > at:
        raise NotAllowed(_("The return deadline of %(number)s has not passed yet.") % {"number": case.number})
    days = case.policy_version.return_ship_days
    if _quick_refund_granted(case):
        note = _("Goods not sent back within %(days)s days after a quick refund: escalated for recovery.") % {
            "days": days
        }
        return escalate_locked(case, actor=None, at=at, note=note)
    void_unpaid(case, actor=None, at=at, note=_("Goods not sent back in time."))
    before = case.state
    case.expire(at=at)
    note = _("Goods not sent back within %(days)s days: cancelled.") % {"days": days}
    finish_transition(case, name="expire", before=before, actor=None, at=at, note=note, fields={"closed_at"})
    return case


def _quick_refund_granted(case: Case) -> bool:
    return (
        case.quick_refund
        and case.compensations.filter(quick_refund=True, state__in=GRANTED_COMPENSATION_STATES).exists()
    )


# --------------------------------------------------------------------------
# Cancel and escalation
# --------------------------------------------------------------------------
@transaction.atomic
def case_cancel(
    *, case_id: int, actor, reason: str = "", expected_version: int | None = None, at: datetime | None = None
) -> Case:
    at = now(at)
    case = lock_case(case_id, expected_version=expected_version)
    ensure_may(case, "cancel", actor)
    if _quick_refund_granted(case):
        raise NotAllowed(
            _(
                "A quick refund was already granted on %(number)s: the goods must come back, the case cannot be cancelled."
            )
            % {"number": case.number}
        )
    void_unpaid(case, actor=actor, at=at, note=_("Case cancelled."))
    before = case.state
    case.cancel(at=at)
    finish_transition(
        case, name="cancel", before=before, actor=actor, at=at, note=(reason or "").strip(), fields={"closed_at"}
    )
    return case


@transaction.atomic
def case_escalate(
    *, case_id: int, actor, reason: str, expected_version: int | None = None, at: datetime | None = None
) -> Case:
    """Escalate a dispute (customer appeal, supervisor, or automation rules as ``actor=None``)."""
    at = now(at)
    reason = _required(reason, "reason", _("Say why the case is escalated."))
    case = lock_case(case_id, expected_version=expected_version)
    ensure_may(case, "escalate", actor)
    return escalate_locked(case, actor=actor, at=at, note=reason)


@transaction.atomic
def case_resolve_escalation(
    *,
    case_id: int,
    actor,
    decision: str,
    note: str,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    """Supervisor's decision on an escalated case: back to compensation, closed, or rejected."""
    at = now(at)
    if decision not in ESCALATION_RESOLUTIONS:
        labels = ", ".join(str(S(value).label) for value in ESCALATION_RESOLUTIONS)
        raise ValidationError({"decision": _("Choose one of: %(choices)s.") % {"choices": labels}})
    note = _required(note, "note", _("Record the decision and its reason."))
    case = lock_case(case_id, expected_version=expected_version)
    ensure_may(case, "resolve_escalation", actor)
    data: dict = {"decision": decision}
    if decision == S.CLOSED:
        data["payable"] = make_approved_payable(case, actor=actor, at=at)
    elif decision == S.REJECTED:
        data["voided"] = void_unpaid(case, actor=actor, at=at, note=_("Escalation resolved: rejected."))
    before = case.state
    case.resolve_escalation(at=at, decision=decision)
    fields = {"closed_at", "reject_reason"}
    if decision == S.REJECTED:
        case.reject_reason = note
    finish_transition(
        case, name="resolve_escalation", before=before, actor=actor, at=at, note=note, fields=fields, data=data
    )
    return case


# --------------------------------------------------------------------------
# Rating
# --------------------------------------------------------------------------
@transaction.atomic
def case_rate(*, case_id: int, actor, csat, nps=None, comment: str = "", at: datetime | None = None) -> Case:
    """The customer's rating after the case closed: CSAT 1–5 and NPS 0–10, once."""
    at = now(at)
    errors = {}
    if isinstance(csat, bool) or not isinstance(csat, int) or not 1 <= csat <= 5:
        errors["csat"] = _("CSAT is a whole number from 1 to 5.")
    if nps is not None and (isinstance(nps, bool) or not isinstance(nps, int) or not 0 <= nps <= 10):
        errors["nps"] = _("NPS is a whole number from 0 to 10.")
    if errors:
        raise ValidationError(errors)
    if actor is None or not actor.has_perm("aftersales.confirm_case"):
        raise PermissionDenied(_("You do not have permission to rate cases."))
    case = lock_case(case_id)
    if case.state != S.CLOSED:
        raise NotAllowed(
            _("Case %(number)s can be rated once it is closed; it is “%(state)s”.")
            % {"number": case.number, "state": case.get_state_display()}
        )
    if case.rated_at is not None:
        raise NotAllowed(
            _("Case %(number)s was already rated on %(date)s.") % {"number": case.number, "date": _local(case.rated_at)}
        )
    case.csat, case.nps, case.rated_at = csat, nps, at
    save_case(case, actor=actor, at=at, fields={"csat", "nps", "rated_at"})
    case_event_record(
        case=case,
        kind=CaseEvent.Kind.UPDATE,
        actor=actor,
        name="rated",
        note=(comment or "").strip()[:1000],
        data={"csat": csat, "nps": nps},
        at=at,
    )
    announce(case, action="rated", actor=actor, before=case.state)
    return case


# --------------------------------------------------------------------------
# Non-transition actions
# --------------------------------------------------------------------------
TRIAGE_FIELDS = ("urgency", "priority", "crisis", "category", "queue", "assignee")


@transaction.atomic
def case_update(
    *,
    case_id: int,
    actor,
    changes: dict,
    note: str = "",
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    """Change triage fields (urgency, priority, crisis flag, category, queue, assignee) with an event naming each change."""
    at = now(at)
    if actor is None or not actor.has_perm("aftersales.change_case"):
        raise PermissionDenied(_("You do not have permission to change cases."))
    unknown = set(changes) - set(TRIAGE_FIELDS)
    if unknown:
        raise ValidationError({name: _("This field cannot be changed here.") for name in sorted(unknown)})
    case = lock_case(case_id, expected_version=expected_version)
    if case.state in FINAL_STATES:
        raise NotAllowed(_("Case %(number)s is finished and can no longer be changed.") % {"number": case.number})
    diff = {}
    for name, value in changes.items():
        old = getattr(case, name)
        if old != value:
            setattr(case, name, value)
            diff[name] = [str(old) if old is not None else "", str(value) if value is not None else ""]
    if not diff:
        return case
    try:
        case.full_clean(
            exclude=[f.name for f in Case._meta.fields if f.name not in diff] + ["state"], validate_unique=False
        )
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from None
    fields = {Case._meta.get_field(name).attname for name in diff}
    if "priority" in diff:
        fields |= apply_sla(case)  # a new colour brings its own SLA targets, counted from the opening
    save_case(case, actor=actor, at=at, fields=fields)
    kind = CaseEvent.Kind.ASSIGNMENT if set(diff) <= {"queue", "assignee"} else CaseEvent.Kind.UPDATE
    case_event_record(case=case, kind=kind, actor=actor, name="update", note=note, data={"changes": diff}, at=at)
    announce(case, action="update", actor=actor, before=case.state)
    return case


@transaction.atomic
def case_add_note(
    *, case_id: int, actor, text: str, to_customer: bool = False, data: dict | None = None, at: datetime | None = None
) -> CaseEvent:
    """An internal note, or a reply to the customer; both go on the timeline (``data``: e.g. the template used)."""
    at = now(at)
    text = _required(text, "text", _("Write the note first."))
    if actor is None or not actor.has_perm("aftersales.view_case"):
        raise PermissionDenied(_("You do not have permission to write on cases."))
    if to_customer and not may_reply_to_customers(actor):
        raise PermissionDenied(_("Only agents and supervisors reply to customers; write an internal note instead."))
    case = lock_case(case_id)
    save_case(case, actor=actor, at=at)
    kind = CaseEvent.Kind.REPLY if to_customer else CaseEvent.Kind.NOTE
    event = case_event_record(case=case, kind=kind, actor=actor, name=kind, note=text, data=data, at=at)
    if to_customer:
        notify_customer(case, "reply", reply=text)
    announce(case, action=kind, actor=actor, before=case.state)
    return event


def case_available_transitions(case: Case, user) -> list[str]:
    """Names of the transitions ``user`` may take on ``case`` now (system ones excluded)."""
    from django_fsm import has_transition_perm

    names: Iterable = (t.name for t in case.get_available_state_transitions())
    return [name for name in dict.fromkeys(names) if has_transition_perm(getattr(case, name), user)]
