"""An entry's details in words: the keys the recorders write, and values the layers above name (roles)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

KEYS = {
    "groups": _("roles"),
    "user_permissions": _("permissions"),
    "permissions": _("permissions"),
    "is_staff": _("admin access"),
    "is_superuser": _("superuser"),
    "is_active": _("active"),
    "created": _("created with"),
    "added": _("added"),
    "removed": _("removed"),
    "format": _("format"),
    "rows": _("rows"),
    "filters": _("filters"),
    "unmasked_phones": _("unmasked phone numbers"),
    "background": _("written in the background"),
    "downloaded": _("export number"),
    "username": _("username"),
    "ip": _("IP address"),
    "failures": _("failed sign-ins"),
    "locked": _("locked"),
    "channel": _("channel"),
    "was": _("before"),
    "case": _("case"),
    "customer": _("customer"),
    "fields": _("fields"),
    "count": _("count"),
    "customers": _("customers"),
    "months": _("months"),
}

#: Values shown by their label (role codes → the roles' names): filled by the apps that define them.
VALUES: dict[str, object] = {}


def _value(value) -> str:
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, list):
        return "、".join(_value(item) for item in value) or "—"
    if isinstance(value, dict):
        return "；".join(f"{KEYS.get(k, k)}：{_value(v)}" for k, v in value.items())
    if value is None or value == "":
        return "—"
    return str(VALUES.get(value, value)) if isinstance(value, str) else str(value)


def describe(detail: dict) -> str:
    """``{"groups": {"added": ["agent"]}}`` → "角色：增加：售后客服"."""
    return _value(detail) if detail else "—"
