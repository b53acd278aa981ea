"""Customer facts and the transparent risk rules built on them.

- ``customer_facts``: annual spend, claims in 30/90/365 days, orders, compensation in 30 days (four grouped
  queries; ``customers_facts`` for many customers at once);
- ``is_high_value``: spend above the threshold with few claims → the VIP channel;
- ``crisis_reasons``: abusive words together with repeated cases in the window → crisis protocol;
- ``claimant_reasons``: the professional-claimant thresholds, each reason naming its figure and its limit.

The thresholds are one versioned row (``RiskThresholds``) that supervisors edit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from aftersales.models import GRANTED_COMPENSATION_STATES, Case, Compensation, RiskThresholds
from customers.models import Order
from customers.selectors import annual_spend_by_customer

#: Compensation that counts as granted to the customer.
GRANTED = GRANTED_COMPENSATION_STATES


@dataclass(frozen=True)
class CustomerFacts:
    annual_spend: Decimal
    claims_30d: int
    claims_90d: int
    claims_365d: int
    orders_365d: int
    compensation_30d: Decimal

    @property
    def claim_order_ratio(self) -> Decimal:
        if not self.orders_365d:
            return Decimal("0.00")
        return (Decimal(self.claims_365d) / Decimal(self.orders_365d)).quantize(Decimal("0.01"))

    def as_dict(self) -> dict:
        data = {key: str(value) if isinstance(value, Decimal) else value for key, value in asdict(self).items()}
        data["claim_order_ratio"] = str(self.claim_order_ratio)
        return data


def customer_facts(customer_id: int, *, at: datetime, exclude_case_id: int | None = None) -> CustomerFacts:
    """Facts as of ``at``; cases opened up to ``at`` count (``exclude_case_id`` leaves one out)."""
    return customers_facts([customer_id], at=at, exclude_case_id=exclude_case_id)[customer_id]


def customers_facts(customer_ids, *, at: datetime, exclude_case_id: int | None = None) -> dict[int, CustomerFacts]:
    """``customer_facts`` of many customers at once: four grouped queries whatever their number."""
    ids = list(customer_ids)
    cases = Case.objects.filter(customer_id__in=ids, opened_at__lte=at, opened_at__gt=at - timedelta(days=365))
    if exclude_case_id is not None:
        cases = cases.exclude(pk=exclude_case_id)
    counts = {
        row["customer_id"]: row
        for row in cases.order_by()
        .values("customer_id")
        .annotate(
            d30=Count("id", filter=Q(opened_at__gt=at - timedelta(days=30))),
            d90=Count("id", filter=Q(opened_at__gt=at - timedelta(days=90))),
            d365=Count("id"),
        )
    }
    orders = dict(
        Order.objects.filter(customer_id__in=ids, placed_at__lte=at, placed_at__gt=at - timedelta(days=365))
        .order_by()
        .values("customer_id")
        .annotate(n=Count("id"))
        .values_list("customer_id", "n")
    )
    granted = dict(
        Compensation.objects.filter(
            case__customer_id__in=ids, state__in=GRANTED, approved_at__gt=at - timedelta(days=30), approved_at__lte=at
        )
        .order_by()
        .values("case__customer_id")
        .annotate(total=Sum("amount"))
        .values_list("case__customer_id", "total")
    )
    spend = annual_spend_by_customer(ids, as_of=at)
    zero, facts = Decimal("0.00"), {}
    for pk in ids:
        claims = counts.get(pk, {})
        facts[pk] = CustomerFacts(
            annual_spend=spend.get(pk, zero),
            claims_30d=claims.get("d30", 0),
            claims_90d=claims.get("d90", 0),
            claims_365d=claims.get("d365", 0),
            orders_365d=orders.get(pk, 0),
            compensation_30d=granted.get(pk) or zero,
        )
    return facts


def is_high_value(facts: CustomerFacts, thresholds: RiskThresholds) -> bool:
    return facts.annual_spend >= thresholds.high_value_spend and facts.claims_365d <= thresholds.high_value_max_claims


def crisis_reasons(*, abusive_words: list[str], recent_cases: int, thresholds: RiskThresholds) -> list[str]:
    """Why a case is a crisis: abusive words and ``recent_cases`` (this one included) at or above the threshold."""
    if not abusive_words or recent_cases < thresholds.crisis_min_cases:
        return []
    return [
        _("Abusive words: %(words)s.") % {"words": "、".join(abusive_words)},
        _("%(count)s cases in %(days)s days (threshold %(min)s).")
        % {"count": recent_cases, "days": thresholds.crisis_window_days, "min": thresholds.crisis_min_cases},
    ]


def claimant_reasons(facts: CustomerFacts, thresholds: RiskThresholds) -> list[str]:
    """Each threshold the customer reaches, with the figure and the limit (empty: not a claimant)."""
    reasons = []
    if facts.claims_90d >= thresholds.claims_90d:
        reasons.append(
            _("%(count)s claims in 90 days (threshold %(limit)s).")
            % {"count": facts.claims_90d, "limit": thresholds.claims_90d}
        )
    if (
        facts.orders_365d >= thresholds.min_orders_for_ratio
        and facts.claims_365d >= thresholds.claim_order_ratio * facts.orders_365d  # exact, not the rounded ratio
    ):
        reasons.append(
            _("%(claims)s claims on %(orders)s orders in 365 days: %(ratio)s per order (threshold %(limit)s).")
            % {
                "claims": facts.claims_365d,
                "orders": facts.orders_365d,
                "ratio": facts.claim_order_ratio,
                "limit": thresholds.claim_order_ratio,
            }
        )
    if facts.compensation_30d >= thresholds.compensation_30d:
        reasons.append(
            _("¥%(amount)s compensation granted in 30 days (threshold ¥%(limit)s).")
            % {"amount": facts.compensation_30d, "limit": thresholds.compensation_30d}
        )
    return reasons
