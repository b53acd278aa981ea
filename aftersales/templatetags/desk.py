"""Small helpers for the workspace pages: money, durations, deadline badges, query strings."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from functools import lru_cache

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from aftersales.models import Attribution, EventName
from aftersales.permissions import display_name
from aftersales.selectors import deadline_of
from aftersales.workflow.money import money
from aftersales.workflow.shipping import carrier_label
from aftersales.workflow.transitions import TRANSITIONS
from aftersales.workflow.transitions import event_label as label_of_event

register = template.Library()


@register.filter
def carrier(code: str) -> str:
    """A carrier's name from its code."""
    return carrier_label(code)


@register.filter
def person(user) -> str:
    """A person's full name (username without one), or a dash."""
    return display_name(user, "—")


@register.filter
def yuan(value) -> str:
    """``Decimal('1299.5')`` → ``¥1,299.50``."""
    if value is None or value == "":
        return "—"
    return f"¥{money(Decimal(value)):,}"


@register.filter
def duration(value: timedelta | None) -> str:
    """A compact, translated duration: ``2d 3h``, ``3h 5m``, ``12m``."""
    if value is None:
        return "—"
    seconds = int(abs(value.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return _("%(days)sd %(hours)sh") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)sh %(minutes)sm") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)sm") % {"minutes": minutes}


def _countdown_text(remaining: timedelta) -> str:
    if remaining < timedelta(0):
        return _("%(time)s overdue") % {"time": duration(remaining)}
    return _("%(time)s left") % {"time": duration(remaining)}


@lru_cache(maxsize=16)
def _countdown_formats(language: str) -> tuple[str, ...]:
    """The countdown's text patterns for countdown.js, once per language (not once per row of a list)."""
    return (
        _("%(time)s left") % {"time": "{t}"},
        _("%(time)s overdue") % {"time": "{t}"},
        _("%(days)sd %(hours)sh") % {"days": "{d}", "hours": "{h}"},
        _("%(hours)sh %(minutes)sm") % {"hours": "{h}", "minutes": "{m}"},
        _("%(minutes)sm") % {"minutes": "{m}"},
    )


_DEADLINE = (
    '<span class="due {}" title="{}" data-due="{}" data-left="{}" data-over="{}" data-fmt-days="{}" '
    'data-fmt-hours="{}" data-fmt-minutes="{}"><span class="due-text">{}</span></span>'
)


@register.simple_tag
def deadline(case, now=None) -> SafeString:
    """The stage deadline as a coloured countdown: time left, or time overdue (kept ticking by countdown.js).

    Built in Python (a list shows one per row: no template per row)."""
    info = deadline_of(case, now)
    if info.due_at is None or info.remaining is None:
        return mark_safe('<span class="quiet">—</span>')
    due = timezone.localtime(info.due_at)
    left, over, days, hours, minutes = _countdown_formats(get_language() or "")
    return format_html(
        _DEADLINE,
        info.status,
        due.strftime("%Y-%m-%d %H:%M"),
        due.isoformat(),
        left,
        over,
        days,
        hours,
        minutes,
        _countdown_text(info.remaining),
    )


@register.simple_tag
def priority(case) -> SafeString:
    """The colour badge of a case, and the crisis badge."""
    badge = format_html('<span class="badge {}">{}</span>', case.priority, case.get_priority_display())
    if case.crisis:
        badge += format_html(' <span class="badge crisis">{}</span>', _("crisis"))
    return badge


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (``None`` removes one)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def event_label(event) -> str:
    """What a timeline row says happened (transitions are shown as from → to instead)."""
    if event.name in EventName.values or TRANSITIONS.get(event.name) is not None:
        return label_of_event(event.name)
    return event.get_kind_display()


@register.filter
def percent(value, places: int = 1) -> str:
    """``0.0476`` (a share, number or text) → ``4.8%``; empty → ``—``."""
    if value in (None, ""):
        return "—"
    return f"{Decimal(str(value)) * 100:.{int(places)}f}%"


@register.filter
def field_label(opts, name: str) -> str:
    """A model field's verbose name from its ``_meta`` (the name itself when it is not a field)."""
    try:
        return str(opts.get_field(name).verbose_name)
    except Exception:
        return name


@register.filter
def attribution_label(code: str) -> str:
    """An attribution's label (``product_quality`` → 产品质量)."""
    return str(Attribution(code).label) if code in Attribution.values else code or "—"
