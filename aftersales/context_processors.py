"""The workspace navigation, by role (evaluated only by pages that show it)."""

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
    ("finance", "desk:finance", _("Payouts")),
    ("risk", "desk:claimants", _("Risk customers")),
]


def workspace(request):
    def build():
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return []
        path = request.path
        items = []
        for area, url_name, label in NAV:
            if may_use(user, area):
                url = reverse(url_name)
                items.append({"area": area, "url": url, "label": label, "active": path == url})
        return items

    return {"desk_nav": SimpleLazyObject(build)}
