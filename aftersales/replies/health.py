"""The monthly template health report: templates used in fewer than 5% of the cases they were eligible
for, and optional case fields filled in fewer than 5% of cases, each with a suggestion."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.models import Case, CaseLine, CaseState, HealthReport, ResponseTemplate, TemplateUse
from aftersales.notifications.outbox import alert_staff
from aftersales.permissions import SUPERVISOR
from aftersales.replies.library import NEW_CUSTOMER_DAYS
from config.periods import month_of
from customers.models import Customer

THRESHOLD = Decimal("0.05")
S = CaseState
Seg = ResponseTemplate.Segment

#: Optional case fields: (name, label, filled, applies to) — the rate is filled / applicable cases opened in the month.
OPTIONAL_FIELDS = [
    ("category", gettext_lazy("problem category"), Q(category__isnull=False), Q()),
    ("reason", gettext_lazy("customer's reason"), ~Q(reason=""), Q()),
    ("evidence", gettext_lazy("evidence"), ~Q(evidence=[]), Q()),
    ("return_carrier", gettext_lazy("return carrier"), ~Q(return_carrier=""), Q(received_at__isnull=False)),
    ("csat", gettext_lazy("CSAT"), Q(csat__isnull=False), Q(state=S.CLOSED)),
    ("nps", gettext_lazy("NPS"), Q(nps__isnull=False), Q(state=S.CLOSED)),
]


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """Local midnight of the month's first day, and of the next month's."""
    period = month_of(month)
    return period.since, period.until


def _segment_q(segment: str) -> Q:
    flagged = ~Q(customer__risk_flags=[])
    vip = Q(customer__tier=Customer.Tier.VIP)
    new = Q(customer__created_at__gte=F("opened_at") - timedelta(days=NEW_CUSTOMER_DAYS))
    if segment == Seg.FLAGGED:
        return flagged
    if segment == Seg.VIP:
        return vip & ~flagged
    if segment == Seg.NEW:
        return new & ~vip & ~flagged
    return ~new & ~vip & ~flagged  # regular


def eligible_cases(template: ResponseTemplate, cases):
    """The cases a template could have served: its request type, product category, segment and channel."""
    if template.request_type:
        cases = cases.filter(request_type=template.request_type)
    if template.channel:
        cases = cases.filter(channel=template.channel)
    if template.product_category_id:
        cases = cases.filter(
            Exists(
                CaseLine.objects.filter(case_id=OuterRef("pk"), order_line__category_id=template.product_category_id)
            )
        )
    if template.segment:
        cases = cases.filter(_segment_q(template.segment))
    return cases


def _rate(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else None


def template_rows(month: date, threshold: Decimal = THRESHOLD) -> list[dict]:
    since, until = month_bounds(month)
    opened = Case.objects.filter(opened_at__gte=since, opened_at__lt=until)
    templates = list(ResponseTemplate.objects.filter(active=True).order_by("scenario", "code"))
    rows = []
    for template in templates:
        eligible = eligible_cases(template, opened)
        total = eligible.count()
        used = (
            eligible.filter(
                Exists(
                    TemplateUse.objects.filter(
                        case_id=OuterRef("pk"), template_id=template.pk, used_at__gte=since, used_at__lt=until
                    )
                )
            ).count()
            if total
            else 0
        )
        rate = _rate(used, total)
        rows.append(
            {
                "template": template.pk,
                "code": template.code,
                "title": template.title,
                "scenario": template.scenario,
                "eligible": total,
                "used": used,
                "rate": str(rate) if rate is not None else None,
                "flagged": rate is not None and rate < threshold,
            }
        )
    for row in rows:
        if not row["flagged"]:
            continue
        if row["used"] == 0:
            row["suggestion"], row["with"] = "retire", None
            continue
        rivals = [
            other
            for other in rows
            if other is not row
            and other["scenario"] == row["scenario"]
            and other["rate"] is not None
            and Decimal(other["rate"]) >= 4 * Decimal(row["rate"])
        ]
        if rivals:
            best = max(rivals, key=lambda other: Decimal(other["rate"]))
            row["suggestion"], row["with"] = "merge", best["code"]
        else:
            row["suggestion"], row["with"] = "revise", None
    return rows


def field_rows(month: date, threshold: Decimal = THRESHOLD) -> list[dict]:
    since, until = month_bounds(month)
    opened = Case.objects.filter(opened_at__gte=since, opened_at__lt=until)
    rows = []
    for name, label, filled, applies in OPTIONAL_FIELDS:
        base = opened.filter(applies)
        counts = base.aggregate(total=Count("id"), filled=Count("id", filter=filled))
        rate = _rate(counts["filled"], counts["total"])
        flagged = rate is not None and rate < threshold
        rows.append(
            {
                "field": name,
                "label": str(label),
                "applicable": counts["total"],
                "filled": counts["filled"],
                "rate": str(rate) if rate is not None else None,
                "flagged": flagged,
                "suggestion": "simplify" if flagged else None,
            }
        )
    return rows


SUGGESTIONS = {
    "retire": gettext_lazy("retire it: nobody used it"),
    "merge": gettext_lazy("merge it into %(other)s, which serves the same scenario far more often"),
    "revise": gettext_lazy("revise it: it fits the cases but is rarely chosen"),
    "simplify": gettext_lazy("make it easier to fill in, or drop it"),
}


def suggestion_text(row: dict) -> str:
    key = row.get("suggestion")
    if not key:
        return ""
    text = str(SUGGESTIONS[key])
    return text % {"other": row.get("with")} if "%(other)s" in text else text


@transaction.atomic
def health_report_generate(*, month: date, at: datetime | None = None, notify: bool = True) -> HealthReport:
    """Generate (once) the report for ``month``; supervisors are told when something is flagged."""
    month = month.replace(day=1)
    existing = HealthReport.objects.filter(month=month).first()
    if existing is not None:
        return existing
    report = HealthReport(
        month=month,
        generated_at=at or timezone.now(),
        threshold=THRESHOLD,
        templates=template_rows(month),
        optional_fields=field_rows(month),
    )
    try:
        with transaction.atomic():
            report.save()
    except IntegrityError:  # another worker made it first
        return HealthReport.objects.get(month=month)
    if notify:
        flagged_t, flagged_f = len(report.flagged_templates), len(report.flagged_fields)
        alert_staff(
            [SUPERVISOR],
            subject=_("Template health report for %(month)s") % {"month": f"{month:%Y-%m}"},
            body=_("%(templates)s template(s) and %(fields)s optional field(s) are used in fewer than 5%% of cases.")
            % {"templates": flagged_t, "fields": flagged_f},
            key=f"health:{month:%Y-%m}",
        )
    return report


def previous_month(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)
