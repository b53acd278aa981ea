"""The workspace navigation and the report tabs, by role (evaluated only by pages that show them)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

from aftersales.selectors import may_use

NAV = [
    ("board", "desk:board", _("Status board")),
    ("queue", "desk:queue", _("Queue")),
    ("qc", "desk:qc", _("QC")),
    ("approvals", "desk:approvals", _("Approvals")),
    ("queue", "desk:follow_ups", _("Follow-ups")),
    ("finance", "desk:finance", _("Payouts")),
    ("risk", "desk:claimants", _("Risk customers")),
    ("queue", "desk:corrective_actions", _("Corrective actions")),
    ("money_reports", "reports:compensation", _("Compensation report")),
    ("analytics", "reports:dashboard", _("Dashboard")),
]

REPORT_TABS = [
    ("money_reports", "reports:compensation", _("Compensation report")),
    ("money_reports", "reports:costs", _("Cost funnel and ratio")),
    ("analytics", "reports:dashboard", _("KPIs")),
    ("analytics", "reports:heatmap", _("Waiting heatmap")),
    ("analytics", "reports:words", _("Defect words")),
    ("analytics", "reports:team", _("Team")),
    ("analytics", "reports:template_effects", _("Templates")),
    ("analytics", "reports:health_list", _("Template health")),
]


def _links(request, entries) -> list[dict]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    links = []
    for area, url_name, label in entries:
        if may_use(user, area):
            url = reverse(url_name)
            links.append({"area": area, "url": url, "label": label, "active": request.path == url})
    return links


def workspace(request):
    return {
        "desk_nav": SimpleLazyObject(lambda: _links(request, NAV)),
        "report_tabs": SimpleLazyObject(lambda: _links(request, REPORT_TABS)),
    }
