"""The form renderer: Django's own templates, with the simplest widgets built in Python.

A case page holds a dozen action forms; rendering each field through Django's widget templates (an include per
widget, per attribute list, per select option) was most of the page's time. ``FastRenderer`` writes the same
HTML as Django's templates ``input.html`` (and the input types that only include it), ``textarea.html``,
``select.html`` with its options and ``label.html`` directly — ``tests/test_form_renderer.py`` compares the two
for every widget the project uses — and hands every other template (radio lists, file inputs, the admin's
widgets, a project override) to the templates as before.
"""

from __future__ import annotations

from collections.abc import Callable

from django.forms.models import ModelChoiceField, ModelChoiceIterator
from django.forms.renderers import DjangoTemplates
from django.utils.html import conditional_escape as escape
from django.utils.safestring import SafeString, mark_safe

W = "django/forms/widgets/"


def _attrs(attrs: dict) -> str:
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        out.append(f" {escape(name)}" if value is True else f' {escape(name)}="{escape(value)}"')
    return "".join(out)


def _input(context: dict) -> str:
    widget = context["widget"]
    value = widget["value"]
    shown = "" if value is None else f' value="{escape(value)}"'
    return f'<input type="{escape(widget["type"])}" name="{escape(widget["name"])}"{shown}{_attrs(widget["attrs"])}>'


def _textarea(context: dict) -> str:
    widget = context["widget"]
    value = widget["value"]
    body = escape(value) if value else ""
    return f'<textarea name="{escape(widget["name"])}"{_attrs(widget["attrs"])}>\n{body}</textarea>'


def _option(option: dict) -> str:
    return f'<option value="{escape(option["value"])}"{_attrs(option["attrs"])}>{escape(option["label"])}</option>'


def _select(context: dict) -> str | None:
    widget = context["widget"]
    parts = [f'<select name="{escape(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{escape(group_name)}">')
        for option in group_choices:
            if option["template_name"] != W + "select_option.html":
                return None  # a widget of its own: the templates render it
            parts.append("\n  " + _option(option) + "\n")  # (the option template's own newline)
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


def _label(context: dict) -> str:
    label = escape(context["label"])
    if not context["use_tag"]:
        return label.strip()  # (Django's renderer strips what its template writes)
    tag = context["tag"]
    return f"<{tag}{_attrs(context['attrs'] or {})}>{label}</{tag}>"


#: Template name → a function of the template's context giving the same HTML (``None``: use the template).
BUILT_IN: dict[str, Callable[[dict], str | None]] = {
    **{
        W + name: _input
        for name in (
            "input.html",
            "text.html",
            "number.html",
            "email.html",
            "url.html",
            "password.html",
            "hidden.html",
            "date.html",
            "datetime.html",
            "time.html",
            "search.html",
            "tel.html",
            "color.html",
            "checkbox.html",
        )
    },
    W + "textarea.html": _textarea,
    W + "select.html": _select,
    "django/forms/label.html": _label,
}


class FastRenderer(DjangoTemplates):
    """``FORM_RENDERER``: Django's template renderer, the simplest widgets written directly."""

    def render(self, template_name, context, request=None) -> SafeString:
        build = BUILT_IN.get(template_name)
        if build is not None:
            html = build(context)
            if html is not None:
                return mark_safe(html)  # every value above is escaped
        return super().render(template_name, context, request)


class ListedChoiceIterator(ModelChoiceIterator):
    """A short list of choices read with one plain query. (Django's reads it through ``iterator()``, which on
    PostgreSQL opens a server-side cursor outside a transaction: DECLARE … WITH HOLD, FETCH and CLOSE for a list
    of a dozen rows.)"""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset.all():
            yield self.choice(obj)


class ListedModelChoiceField(ModelChoiceField):
    """A ``ModelChoiceField`` over a short list (queues, categories, staff): see ``ListedChoiceIterator``."""

    iterator = ListedChoiceIterator
