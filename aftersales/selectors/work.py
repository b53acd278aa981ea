"""Work lists per role: offers waiting for a supervisor (with who sent them), the QC bench, finance's payables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count, DecimalField, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.models import (
    LIVE_COMPENSATION_STATES,
    Case,
    CaseEvent,
    CaseState,
    Compensation,
    CompensationState,
    Settlement,
    Shipment,
)
from aftersales.selectors.scope import case_list_for
from aftersales.workflow.money import money

S = CaseState
CS = CompensationState


# --------------------------------------------------------------------------
# Supervisor approvals, QC work list, finance payables
# --------------------------------------------------------------------------
def offers_awaiting_approval() -> QuerySet[Case]:
    """Offers above an agent's authority that wait for a supervisor, the nearest deadline first.

    Each case carries ``requested_at`` and ``requested_by_id``: the time and sender of its latest
    ``submit_offer`` (kept on the event, not on the case).
    """
    submitted = CaseEvent.objects.filter(case_id=OuterRef("pk"), name="submit_offer").order_by("-created_at", "-id")
    return (
        Case.objects.filter(state=S.AWAITING_APPROVAL)
        .annotate(
            requested_at=Subquery(submitted.values("created_at")[:1]),
            requested_by_id=Subquery(submitted.values("actor_id")[:1]),
        )
        .select_related("order", "customer", "policy_version")
        .prefetch_related(
            Prefetch(
                "compensations",
                queryset=Compensation.objects.filter(state__in=LIVE_COMPENSATION_STATES).order_by("id"),
                to_attr="live_compensations",
            )
        )
        .order_by(F("stage_due_at").asc(nulls_last=True), "id")
    )


def with_offer_total(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Each case with ``offer_sum``: its live compensations' total, quick refunds excluded (what the authority
    limit is compared with), as one subquery, so a list can be filtered by it."""
    live = (
        Compensation.objects.filter(case_id=OuterRef("pk"), state__in=LIVE_COMPENSATION_STATES, quick_refund=False)
        .order_by()
        .values("case_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    money = DecimalField(max_digits=12, decimal_places=2)
    return cases.annotate(
        offer_sum=Coalesce(Subquery(live, output_field=money), Value(Decimal("0.00")), output_field=money)
    )


@dataclass(frozen=True)
class AgeBand:
    key: str
    label: str
    low_days: int
    high_days: int | None

    def q(self, field: str, at: datetime) -> Q:
        q = Q(**{f"{field}__lte": at - timedelta(days=self.low_days)})
        if self.high_days is not None:
            q &= Q(**{f"{field}__gt": at - timedelta(days=self.high_days)})
        return q


#: How long work has waited for a person, on the status board.
AGE_BANDS = (
    AgeBand("fresh", _("under 1 day"), 0, 1),
    AgeBand("days", _("1 to 3 days"), 1, 3),
    AgeBand("old", _("over 3 days"), 3, None),
)
#: A payout waiting longer than this many days is flagged on the payouts page.
PAYOUT_AGEING_DAYS = 3


#: Offers waiting for approval, against their approval deadline (the policy's ``approval_timeout_hours``).
APPROVAL_BANDS = (
    AgeBand("fresh", _("within the approval time"), 0, 0),
    AgeBand("days", _("overdue, under a day"), 0, 1),
    AgeBand("old", _("overdue a day or more"), 1, None),
)


def approvals_by_age(at: datetime | None = None) -> list[dict]:
    """Offers waiting for a supervisor: within their approval deadline, overdue under a day, overdue longer
    (one index-only count over the waiting cases' stage deadlines)."""
    at = at or timezone.now()
    day = timedelta(days=1)
    counts = (
        Case.objects.filter(state=S.AWAITING_APPROVAL)
        .order_by()
        .aggregate(
            fresh=Count("stage_due_at", filter=Q(stage_due_at__gt=at)),
            days=Count("stage_due_at", filter=Q(stage_due_at__lte=at, stage_due_at__gt=at - day)),
            old=Count("stage_due_at", filter=Q(stage_due_at__lte=at - day)),
        )
    )
    return [{"band": band, "count": counts[band.key]} for band in APPROVAL_BANDS]


#: The board's payout ages are recounted at most this often (they move by days, not seconds).
PAYOUT_AGES_CACHE_SECONDS = 60


def payouts_by_age(at: datetime | None = None) -> list[dict]:
    """Money finance still has to pay (payable, not paid), by how long it has been payable: one query, its
    result kept for a minute for the status board (``at`` given: counted now, not cached)."""
    if at is None:
        return cache.get_or_set(
            "board:payouts_by_age", lambda: _payouts_by_age(timezone.now()), PAYOUT_AGES_CACHE_SECONDS
        )
    return _payouts_by_age(at)


def _payouts_by_age(at: datetime) -> list[dict]:
    due = Compensation.objects.filter(payable=True, state__in=(CS.APPROVED, CS.FAILED)).filter(PAYOUT_TABS["cash"])
    totals = due.order_by().aggregate(
        **{f"{b.key}_n": Count("id", filter=b.q("payable_at", at)) for b in AGE_BANDS},
        **{f"{b.key}_sum": Sum("amount", filter=b.q("payable_at", at)) for b in AGE_BANDS},
    )
    return [{"band": b, "count": totals[f"{b.key}_n"], "amount": money(totals[f"{b.key}_sum"] or 0)} for b in AGE_BANDS]


def requesters_of(cases) -> dict[int, object]:
    """The senders of the offers in ``cases`` (from ``offers_awaiting_approval``) with their authority, by id."""
    ids = {case.requested_by_id for case in cases if case.requested_by_id}
    return get_user_model().objects.select_related("agent_profile").in_bulk(ids) if ids else {}


def qc_worklist_for(user, state: str) -> QuerySet[Case]:
    """Goods coming back (``awaiting_return``) or on the bench (``in_qc``): QC-priority cases first, then by deadline."""
    return case_list_for(user, state=state).order_by("-qc_priority", F("stage_due_at").asc(nulls_last=True), "id")


def active_returns_of(cases) -> dict[int, Shipment]:
    """The return parcel each case's customer reported (one query for a page of cases)."""
    ids = [case.pk for case in cases]
    if not ids:
        return {}
    shipments = Shipment.objects.filter(case_id__in=ids, direction=Shipment.Direction.RETURN, active=True)
    return {shipment.case_id: shipment for shipment in shipments}


#: The tabs of finance's payouts page: cash finance pays, refunds the channel settles, what is issued, not paid.
PAYOUT_TABS = {
    # a refund the channel could not settle (or finance took back, overdue) is finance's to pay
    "cash": Q(kind__in=Compensation.CASH_KINDS) & (Q(settlement=Settlement.FINANCE) | Q(state=CS.FAILED)),
    "channel": Q(settlement=Settlement.CHANNEL, state=CS.APPROVED),
    "issue": ~Q(kind__in=Compensation.CASH_KINDS),
}


def payables(tab: str = "cash") -> QuerySet[Compensation]:
    """Payable compensations not yet paid (approved, or failed and to be retried), on one tab of the payouts page.

    ``cash``: money finance pays out (refunds, return postage, cash) — coupons, gifts and replacements never;
    ``channel``: refunds waiting on the channel to settle them through the payment (nearest due first; one that
    fails moves to ``cash``); ``issue``: coupons, gifts and replacements to hand out.
    """
    queryset = (
        Compensation.objects.filter(payable=True, state__in=(CS.APPROVED, CS.FAILED))
        .filter(PAYOUT_TABS[tab])
        .select_related("case__order", "case__customer", "approved_by")
    )
    if tab == "channel":
        return queryset.order_by(F("settlement_due_at").asc(nulls_last=True), "id")
    return queryset.order_by("payable_at", "id")


def payables_total(tab: str = "cash") -> Decimal:
    return payables(tab).order_by().aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
