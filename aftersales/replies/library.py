"""Replies from response templates: matching a case, sending (which records the exact version), effect data."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, Min, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.models import (
    FINAL_STATES,
    LIVE_COMPENSATION_STATES,
    Case,
    CaseEvent,
    CaseLine,
    CaseState,
    ResponseTemplate,
    TemplateUse,
)
from aftersales.replies.rendering import render, values_for
from aftersales.services._base import now

if TYPE_CHECKING:
    from django.contrib.auth.models import User

S = CaseState
T = ResponseTemplate.Scenario
#: The scenarios that fit each state, most fitting first.
SCENARIOS_BY_STATE = {
    S.PENDING_REVIEW: [T.ACKNOWLEDGE, T.REQUEST_EVIDENCE, T.APOLOGISE, T.REJECTION],
    S.AWAITING_RETURN: [T.ACKNOWLEDGE, T.APOLOGISE],
    S.IN_QC: [T.QC_RESULT, T.APOLOGISE],
    S.COMPENSATION: [T.COMPENSATION_OFFER, T.QC_RESULT, T.APOLOGISE],
    S.AWAITING_CONFIRMATION: [T.COMPENSATION_OFFER, T.FOLLOW_UP],
    S.ESCALATED: [T.CRISIS, T.APOLOGISE, T.COMPENSATION_OFFER],
    S.CLOSED: [T.FOLLOW_UP],
    S.REJECTED: [T.REJECTION, T.FOLLOW_UP],
    S.CANCELLED: [T.FOLLOW_UP],
}
#: A customer created this recently before the case is "new".
NEW_CUSTOMER_DAYS = 30


def segment_of(case: Case) -> str:
    customer = case.customer
    if customer.risk_flags:
        return ResponseTemplate.Segment.FLAGGED
    if customer.is_vip:
        return ResponseTemplate.Segment.VIP
    if customer.created_at and customer.created_at >= case.opened_at - timedelta(days=NEW_CUSTOMER_DAYS):
        return ResponseTemplate.Segment.NEW
    return ResponseTemplate.Segment.REGULAR


def scenarios_for(case: Case) -> list[str]:
    """The scenarios that fit the case now: by its state, and by what happened (a QC result only once the goods
    were inspected)."""
    scenarios = list(SCENARIOS_BY_STATE.get(case.state, []))
    if case.inspected_at is None and T.QC_RESULT in scenarios:
        scenarios.remove(T.QC_RESULT)
    if case.crisis and T.CRISIS not in scenarios:
        scenarios.insert(0, T.CRISIS)
    return scenarios


@dataclass
class Suggestion:
    template: ResponseTemplate
    version_id: int
    score: int
    text: str
    why: list[str]


def templates_for(case: Case, *, agent=None, limit: int = 5, granted_kinds=None) -> list[Suggestion]:
    """The best templates for the case, ranked, rendered with its values (four queries; five without
    ``granted_kinds``, the kinds of compensation the case's offer holds, which the page already knows).

    A template fits by scenario, request type, product category, segment and channel, and — when it speaks of a
    compensation — only if the offer holds one of that kind (no "your new one" after a refund)."""
    scenarios = scenarios_for(case)
    if not scenarios:
        return []
    if granted_kinds is None:
        granted_kinds = set(
            case.compensations.filter(state__in=LIVE_COMPENSATION_STATES).values_list("kind", flat=True)
        )
    categories = set(CaseLine.objects.filter(case=case).values_list("order_line__category_id", flat=True))
    segment = segment_of(case)
    candidates = list(
        ResponseTemplate.objects.filter(active=True, scenario__in=scenarios)
        .filter(Q(request_type="") | Q(request_type=case.request_type))
        .filter(Q(granted_kind="") | Q(granted_kind__in=granted_kinds))
        .filter(Q(product_category__isnull=True) | Q(product_category__in=categories))
        .filter(Q(segment="") | Q(segment=segment))
        .filter(Q(channel="") | Q(channel=case.channel))
        .select_related("product_category")
    )
    if not candidates:
        return []
    ranked = []
    for template in candidates:
        score = 10 * (len(scenarios) - scenarios.index(template.scenario))
        why = [str(template.get_scenario_display())]
        if template.product_category_id:
            score += 3
            why.append(str(template.product_category))
        if template.segment:
            score += 2
            why.append(str(template.get_segment_display()))
        if template.request_type:
            score += 1
            why.append(str(template.get_request_type_display()))
        if template.channel:
            score += 1
            why.append(str(template.get_channel_display()))
        if template.granted_kind:
            score += 2
            why.append(str(template.get_granted_kind_display()))
        ranked.append((score, template, why))
    ranked.sort(key=lambda item: (-item[0], item[1].code))
    top = ranked[:limit]
    versions = latest_versions([template.pk for _score, template, _why in top])
    values = values_for(case, agent=agent)
    return [
        Suggestion(template, versions[template.pk], score, render(template.body, values), why)
        for score, template, why in top
    ]


def latest_versions(template_ids: list[int]) -> dict[int, int]:
    versions: dict[int, int] = {}
    rows = ResponseTemplate.history.filter(id__in=template_ids).order_by("id", "-history_date", "-history_id")
    for template_id, history_id in rows.values_list("id", "history_id"):
        versions.setdefault(template_id, history_id)
    return versions


@transaction.atomic
def case_send_template(
    *, case_id: int, actor: User | None, template_id: int, version_id: int, text: str, at: datetime | None = None
) -> TemplateUse:
    """Send a reply built from a template version (edited or not); the use records that exact version."""
    from aftersales.services.updates import case_add_note

    at = now(at)
    template = ResponseTemplate.objects.filter(pk=template_id, active=True).first()
    if template is None:
        raise ValidationError({"template": _("Unknown or retired template %(id)s.") % {"id": template_id}})
    version = ResponseTemplate.history.filter(history_id=version_id, id=template.pk).first()
    if version is None:
        raise ValidationError(
            {"template": _("That version does not belong to template %(code)s.") % {"code": template.code}}
        )
    event = case_add_note(
        case_id=case_id,
        actor=actor,
        text=text,
        to_customer=True,
        data={"template": template.code, "version": version.history_id},
        at=at,
    )
    case = event.case
    rendered = render(version.body, values_for(case, agent=actor))
    return TemplateUse.objects.create(
        template=template,
        version=version,
        case=case,
        event=event,
        actor=actor,
        edited=" ".join(text.split()) != " ".join(rendered.split()),
        used_at=at,
    )


# --------------------------------------------------------------------------
# Effect data per version
# --------------------------------------------------------------------------
@dataclass
class VersionEffect:
    template_id: int
    version_id: int
    code: str
    title: str
    version_date: datetime
    version_user: str
    uses: int = 0
    cases: int = 0
    csat: Decimal | None = None
    resolution_hours: Decimal | None = None
    trouble_rate: Decimal | None = None  # escalated or offer declined after the use


def template_effects(
    *, template_id: int | None = None, since: datetime | None = None, until: datetime | None = None
) -> list[VersionEffect]:
    """For each template version: uses, cases served, their average CSAT and resolution time, and the share
    of served cases escalated or whose offer was declined after the template was used (three queries)."""
    uses = TemplateUse.objects.all()
    if template_id is not None:
        uses = uses.filter(template_id=template_id)
    if since is not None:
        uses = uses.filter(used_at__gte=since)
    if until is not None:
        uses = uses.filter(used_at__lt=until)
    counts = {row["version"]: row["n"] for row in uses.order_by().values("version").annotate(n=Count("id"))}
    pairs = list(
        uses.order_by()
        .values("version", "case")
        .annotate(first=Min("used_at"))
        .values_list(
            "version",
            "case",
            "first",
            "case__csat",
            "case__opened_at",
            "case__closed_at",
            "case__state",
            "case__escalated_at",
        )
    )
    declines = defaultdict(list)
    for case_id, created in CaseEvent.objects.filter(case_id__in={p[1] for p in pairs}, name="decline").values_list(
        "case_id", "created_at"
    ):
        declines[case_id].append(created)
    per_version: dict[int, list] = defaultdict(list)
    for pair in pairs:
        per_version[pair[0]].append(pair)
    versions = {
        v.history_id: v for v in ResponseTemplate.history.filter(history_id__in=counts).select_related("history_user")
    }
    out = []
    for version_id, rows in per_version.items():
        version = versions[version_id]
        rated = [r[3] for r in rows if r[3] is not None]
        closed = [(r[5] - r[4]).total_seconds() for r in rows if r[6] == S.CLOSED and r[5]]
        trouble = [
            r for r in rows if (r[7] and r[7] > r[2]) or any(created > r[2] for created in declines.get(r[1], ()))
        ]
        out.append(
            VersionEffect(
                template_id=version.id,
                version_id=version_id,
                code=version.code,
                title=version.title,
                version_date=version.history_date,
                version_user=str(version.history_user or "—"),
                uses=counts[version_id],
                cases=len(rows),
                csat=(Decimal(sum(rated)) / len(rated)).quantize(Decimal("0.01")) if rated else None,
                resolution_hours=(Decimal(sum(closed)) / len(closed) / 3600).quantize(Decimal("0.1"))
                if closed
                else None,
                trouble_rate=(Decimal(len(trouble)) * 100 / len(rows)).quantize(Decimal("0.1")),
            )
        )
    return sorted(out, key=lambda e: (e.code, e.version_date))


def effects_table(effects: Iterable[VersionEffect]) -> tuple[list[str], list[list]]:
    """The effect data as a table for an export: ``(header, rows)``, one row per version, version times local."""
    header = [
        _("template"),
        _("title"),
        _("version"),
        _("changed by"),
        _("uses"),
        _("cases served"),
        "CSAT",
        _("resolution (h)"),
        _("escalated or declined (%)"),
    ]
    rows = [
        [
            e.code,
            e.title,
            timezone.localtime(e.version_date).strftime("%Y-%m-%d %H:%M"),
            e.version_user,
            e.uses,
            e.cases,
            e.csat or "",
            e.resolution_hours or "",
            e.trouble_rate,
        ]
        for e in effects
    ]
    return header, rows


# --------------------------------------------------------------------------
# Policy versions: the cases decided under each
# --------------------------------------------------------------------------
def policy_version_effects(policy_id: int) -> list[dict]:
    """For each version of a policy: cases that pinned it, and how they ended (one query)."""
    from django.db.models import Avg, DurationField, ExpressionWrapper, F

    from aftersales.models import Policy

    resolution = ExpressionWrapper(F("closed_at") - F("opened_at"), output_field=DurationField())
    grouped = {
        row["policy_version"]: row
        for row in Case.objects.filter(policy_id=policy_id)
        .order_by()
        .annotate(defaulted=Exists(CaseEvent.objects.filter(case_id=OuterRef("pk"), name="auto_approve")))
        .values("policy_version")
        .annotate(
            cases=Count("id"),
            closed=Count("id", filter=Q(state=S.CLOSED)),
            rejected=Count("id", filter=Q(state=S.REJECTED)),
            cancelled=Count("id", filter=Q(state=S.CANCELLED)),
            open=Count("id", filter=~Q(state__in=FINAL_STATES)),
            escalated=Count("id", filter=Q(escalated_at__isnull=False)),
            auto_approved=Count("id", filter=Q(defaulted=True)),
            resolution=Avg(resolution, filter=Q(state=S.CLOSED)),
        )
    }
    rows = []
    for version in Policy.history.filter(id=policy_id).select_related("history_user").order_by("-history_date"):
        data = grouped.get(version.history_id, {})
        resolution_td = data.get("resolution")
        rows.append(
            {
                "version": version,
                "cases": data.get("cases", 0),
                "closed": data.get("closed", 0),
                "rejected": data.get("rejected", 0),
                "cancelled": data.get("cancelled", 0),
                "open": data.get("open", 0),
                "escalated": data.get("escalated", 0),
                "auto_approved": data.get("auto_approved", 0),
                "resolution_hours": (Decimal(resolution_td.total_seconds()) / 3600).quantize(Decimal("0.1"))
                if resolution_td
                else None,
            }
        )
    return rows
