"""Opening a case on an order: the lines and quantities checked against the order and earlier cases, the
policy version pinned, the emotion radar, priority and SLA, routing, the rules of the "case opened" trigger and
the claimant check — all in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from aftersales.automation.radar import analyse, catalogue_words, keywords
from aftersales.automation.risk import crisis_reasons, customer_facts, is_high_value
from aftersales.automation.routing import apply_sla, raise_crisis, route_new_case
from aftersales.automation.rules import CaseContext, run_rules
from aftersales.errors import NotAllowed
from aftersales.models import (
    LINELESS_TYPES,
    OPEN_STATES,
    AutomationRule,
    Case,
    CaseKeyword,
    CaseLine,
    CaseState,
    LexiconWord,
    Policy,
    ProblemCategory,
    RequestType,
    RiskThresholds,
)
from aftersales.notifications.outbox import notify_customer
from aftersales.services._base import (
    now,
)
from aftersales.services.events import opened_event
from aftersales.services.numbers import case_number_next
from aftersales.services.risk_flags import customer_flag_refresh
from aftersales.workflow.policy import initial_priority
from aftersales.workflow.transitions import stage_clock
from customers.models import Channel, Order, ProductCategory

if TYPE_CHECKING:
    from django.contrib.auth.models import User

S = CaseState


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
    actor: User | None,
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
        vip=customer.is_vip,
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
    route = route_new_case(
        case,
        categories=sorted({line.category_id for line, _quantity in validated}),
        high_value=high_value,
        crisis=bool(crisis_why),
    )
    case.queue, case.assignee = route.queue, route.assignee
    apply_sla(case)  # on the calendar of the queue routing chose
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
            for word in keywords(reason, exclude=_goods_words(validated))
        ]
    )
    opened_event(
        case,
        actor=actor,
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
    return case


def _goods_words(validated) -> frozenset[str]:
    """The catalogue's words for goods (the case's products and SKUs, every product category): not defects."""
    names = [line.product_name for line, _quantity in validated]
    names += list(ProductCategory.objects.values_list("name", flat=True))
    return catalogue_words(names, [line.sku for line, _quantity in validated])
