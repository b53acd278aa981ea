"""Placeholders of response templates: a fixed whitelist, substituted literally.

No template engine runs a supervisor's text: ``{name}`` is replaced by a
value from the whitelist below, ``{{`` and ``}}`` are literal braces, and
anything else in braces is refused when the template is saved, with the bad
name in the message. A value the case does not have yet (no refund offered,
no deadline running) renders as a visible marker such as 【退款金额】 for the
agent to fill in before sending.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.permissions import display_name
from aftersales.workflow.shipping import return_address_line

PLACEHOLDERS = {
    "customer_name": gettext_lazy("customer's name"),
    "case_number": gettext_lazy("case number"),
    "order_number": gettext_lazy("order number"),
    "product_name": gettext_lazy("product (the case's main line)"),
    "refund_amount": gettext_lazy("refund amount"),
    "compensation_total": gettext_lazy("offer total"),
    "deadline": gettext_lazy("current deadline"),
    "request_type": gettext_lazy("request type"),
    "state": gettext_lazy("state"),
    "agent_name": gettext_lazy("agent's name"),
    "tracking_number": gettext_lazy("return tracking number"),
    "return_days": gettext_lazy("days to send the goods back"),
    "return_address": gettext_lazy("return address"),
    "reject_reason": gettext_lazy("rejection reason"),
    "findings": gettext_lazy("QC findings"),
}


_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def placeholders_in(body: str) -> list[str]:
    return [m.group(1) for m in _TOKEN.finditer(body or "") if m.group(1) is not None]


def validate_body(body: str) -> None:
    """Refuse unknown placeholders (naming them) and unbalanced braces."""
    problems = []
    for match in _TOKEN.finditer(body or ""):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            problems.append(_("A lone “%(brace)s”: write {{ or }} for a literal brace.") % {"brace": token})
        elif name.strip() not in PLACEHOLDERS:
            problems.append(
                _("Unknown placeholder {%(name)s}; known: %(known)s.")
                % {"name": name, "known": ", ".join("{" + key + "}" for key in PLACEHOLDERS)}
            )
    if problems:
        raise ValidationError(problems)


def render(body: str, values: dict[str, str | None]) -> str:
    """Substitute the placeholders; a missing value becomes a visible 【marker】 to fill in."""

    def replace(match):
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = (match.group(1) or "").strip()
        value = values.get(name)
        if value in (None, ""):
            return f"【{PLACEHOLDERS.get(name, name)}】"
        return str(value)

    return _TOKEN.sub(replace, body or "")


_MARKER = re.compile(r"【([^【】]{1,30})】")


def unfilled_markers(text: str) -> list[str]:
    """The 【markers】 a rendered template left for the agent to fill in (in any of the site's languages), as
    written — not every 【…】: shops write 【温馨提示】 on purpose."""
    from django.conf import settings
    from django.utils import translation

    labels = set(PLACEHOLDERS)
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            labels |= {str(label) for label in PLACEHOLDERS.values()}
    found = []
    for match in _MARKER.finditer(text or ""):
        if match.group(1).strip() in labels and match.group(0) not in found:
            found.append(match.group(0))
    return found


def values_for(case, *, agent=None) -> dict[str, str | None]:
    """The whitelist's values for one case (two queries: lines, compensations)."""
    from aftersales.models import LIVE_COMPENSATION_STATES, Compensation
    from aftersales.workflow.money import yuan

    main = case.lines.select_related("order_line").order_by("-quantity", "id").first()
    live = Compensation.objects.filter(case=case, state__in=LIVE_COMPENSATION_STATES)
    sums = dict(live.order_by().values_list("kind").annotate(total=Sum("amount")))
    inspection = case.inspections.order_by("-inspected_at").values_list("findings", flat=True).first()
    deadline = case.stage_due_at
    refund, total = sums.get(Compensation.Kind.REFUND), sum(sums.values(), Decimal("0.00"))
    return {
        "customer_name": case.customer.name,
        "case_number": case.number,
        "order_number": case.order.number,
        "product_name": main.order_line.product_name if main else None,
        "refund_amount": yuan(refund) if refund else None,
        "compensation_total": yuan(total) if total else None,
        "deadline": date_format(timezone.localtime(deadline), "Y-m-d H:i") if deadline else None,
        "request_type": case.get_request_type_display(),
        "state": case.get_state_display(),
        "agent_name": display_name(agent, None),
        "tracking_number": case.return_tracking_number or None,
        "return_days": str(case.policy_version.return_ship_days),
        "return_address": return_address_line(case.policy_version) or None,
        "reject_reason": case.reject_reason or None,
        "findings": inspection or None,
    }
