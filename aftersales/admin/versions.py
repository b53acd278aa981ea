"""Version tracing in the admin: a change reason asked on every save, and a readable diff between any two
versions of a policy, rule, SLA target, threshold set or response template (simple-history)."""

from __future__ import annotations

import difflib

from django import forms
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

#: Bookkeeping columns of the historical tables, never shown in a diff.
SKIP = {"id", "history_id", "history_date", "history_change_reason", "history_type", "history_user", "updated_at"}


def inline_diff(old: str, new: str) -> str:
    """Character-level diff of two texts as safe HTML: removed in <del>, added in <ins>."""
    out = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            out.append(escape(old[a1:a2]))
            continue
        if op in ("delete", "replace"):
            out.append(f"<del>{escape(old[a1:a2])}</del>")
        if op in ("insert", "replace"):
            out.append(f"<ins>{escape(new[b1:b2])}</ins>")
    return mark_safe("".join(out).replace("\n", "<br>"))


def _shown(field, version) -> str:
    value = getattr(version, field.attname, None)
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if field.is_relation:
        target = getattr(version, field.name, None)
        return str(target) if target is not None else "—"
    if value is None or value == "":
        return "—"
    return str(value)


def version_diff(model, older, newer) -> list[dict]:
    """Field by field: label, old and new text, whether it changed, and an inline diff for long texts."""
    rows = []
    for field in model._meta.concrete_fields:
        if field.name in SKIP or field.attname in SKIP:
            continue
        old, new = _shown(field, older), _shown(field, newer)
        row = {"label": field.verbose_name, "old": old, "new": new, "changed": old != new}
        if row["changed"] and isinstance(field, models.TextField | models.JSONField):
            row["diff"] = inline_diff(old, new)
        rows.append(row)
    return rows


class VersionedAdmin(SimpleHistoryAdmin):
    """Asks why on every save (kept as the version's change reason) and compares any two versions."""

    change_form_template = "admin/versioned/change_form.html"

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The model form gets the model's fields; the reason is a form field added below.
        fields = kwargs.get("fields", "unset")
        if fields == "unset":
            kwargs["fields"] = [f for f in flatten_fieldsets(self.get_fieldsets(request, obj)) if f != "change_reason"]
        elif fields is not None:
            kwargs["fields"] = [f for f in fields if f != "change_reason"]
        base = super().get_form(request, obj, change=change, **kwargs)

        class WithReason(base):
            change_reason = forms.CharField(
                label=_("Reason for this change"),
                max_length=100,
                help_text=_("Kept with the new version, e.g. “longer review window for Singles' Day”."),
            )

        return WithReason

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        names = {name for _title, options in fieldsets for name in _flatten(options.get("fields", ()))}
        if "change_reason" not in names:
            fieldsets.append((_("Version"), {"fields": ("change_reason",)}))
        return fieldsets

    def save_model(self, request, obj, form, change):
        obj._change_reason = form.cleaned_data.get("change_reason", "")
        super().save_model(request, obj, form, change)

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        return [
            path(
                "<path:object_id>/history/compare/",
                self.admin_site.admin_view(self.compare_view),
                name="{}_{}_compare".format(*info),
            ),
            *super().get_urls(),
        ]

    def compare_view(self, request, object_id):
        """The differences between two versions (by default the latest two)."""
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        versions = list(
            self.model.history.filter(id=obj.pk).select_related("history_user").order_by("-history_date", "-history_id")
        )
        by_id = {str(v.history_id): v for v in versions}
        newer = by_id.get(request.GET.get("b")) or (versions[0] if versions else None)
        before = versions[versions.index(newer) + 1] if newer in versions[:-1] else newer  # the version before it
        older = by_id.get(request.GET.get("a")) or before
        if older is not None and newer is not None and older.history_date > newer.history_date:
            older, newer = newer, older
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": obj,
            "title": _("Compare versions of %(object)s") % {"object": obj},
            "versions": versions,
            "older": older,
            "newer": newer,
            "rows": version_diff(self.model, older, newer) if older and newer else [],
            "history_url": reverse(
                f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_history", args=[obj.pk]
            ),
        }
        return TemplateResponse(request, "admin/versioned/compare.html", context)


def _flatten(fields):
    for item in fields:
        if isinstance(item, list | tuple):
            yield from item
        else:
            yield item


__all__ = ["VersionedAdmin", "inline_diff", "version_diff"]
