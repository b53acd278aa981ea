"""``config.forms.FastRenderer`` writes exactly what Django's widget templates write, for every widget it builds
itself, and leaves the others to the templates."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.urls import reverse
from django.utils.safestring import mark_safe

from config.forms import BUILT_IN, FastRenderer


class Everything(forms.Form):
    text = forms.CharField(label="名称 <b>", help_text="帮助", max_length=20, initial='a "quoted" <value> & more')
    number = forms.DecimalField(label="金额", min_value=0, decimal_places=2, initial="12.50")
    email = forms.EmailField(required=False)
    when = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), initial="2026-11-05")
    secret = forms.CharField(widget=forms.PasswordInput(render_value=True), initial="x<y")
    hidden = forms.IntegerField(widget=forms.HiddenInput, initial=7)
    agree = forms.BooleanField(required=False, initial=True)
    off = forms.BooleanField(required=False, initial=False, disabled=True)
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "写 <备注>"}), initial="第一行\n<第二行>"
    )
    empty_note = forms.CharField(widget=forms.Textarea, required=False)
    kind = forms.ChoiceField(choices=[("", "—"), ("refund", "退款 & 补偿"), ("coupon", "优惠券")], initial="coupon")
    grouped = forms.ChoiceField(
        choices=[("", "请选择"), ("快递", [("SF", "顺丰"), ("JD", "京东")]), ("其他", [("X", "<其他>")])],
        initial="JD",
    )
    many = forms.MultipleChoiceField(choices=[("a", "甲"), ("b", "乙"), ("c", "丙")], initial=["a", "c"])
    safe = forms.CharField(initial=mark_safe("<i>已转义</i>"))
    radio = forms.ChoiceField(widget=forms.RadioSelect, choices=[("1", "一"), ("2", "二")], initial="2")
    boxes = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, choices=[("x", "X")])


def _render(form_class, renderer, **kwargs) -> str:
    form = form_class(renderer=renderer, auto_id="id_t_%s", **kwargs)
    return "".join(f"{field.label_tag()}{field}" for field in form)


@pytest.mark.parametrize(
    "data",
    [None, {"text": "", "number": "-1", "email": "bad", "kind": "nope", "note": "<script>", "many": ["b"]}],
    ids=["unbound", "bound with errors"],
)
def test_the_fast_renderer_writes_what_the_templates_write(data):
    templates, fast = DjangoTemplates(), FastRenderer()
    expected, got = _render(Everything, templates, data=data), _render(Everything, fast, data=data)
    assert got == expected
    if data is not None:
        assert 'value="-1"' in got and "&lt;script&gt;" in got
        return
    assert 'value="a &quot;quoted&quot; &lt;value&gt; &amp; more"' in got  # escaped, as the templates do
    assert "<i>已转义</i>" in got  # safe text stays as it is


def test_each_built_in_widget_is_really_built_in_and_the_rest_go_to_the_templates(monkeypatch):
    used = []
    original = DjangoTemplates.render

    def spy(self, template_name, context, request=None):
        used.append(template_name)
        return original(self, template_name, context, request)

    monkeypatch.setattr(DjangoTemplates, "render", spy)
    _render(Everything, FastRenderer())
    assert used and not set(used) & set(BUILT_IN)  # the templates saw none of the built-in widgets
    assert "django/forms/widgets/radio.html" in used and "django/forms/widgets/checkbox_select.html" in used


def _without_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_the_case_page_is_the_same_with_either_renderer(login, users, case_in, settings):
    case = case_in("compensation")
    client = login(users["supervisor"])
    url = reverse("desk:case", args=[case.pk])
    fast = client.get(url).content.decode()
    settings.FORM_RENDERER = "django.forms.renderers.DjangoTemplates"
    from django.forms import renderers

    renderers.get_default_renderer.cache_clear()
    try:
        templates = client.get(url).content.decode()
    finally:
        renderers.get_default_renderer.cache_clear()
    assert fast.count("<input") > 10 and fast.count("<select") >= 2
    assert _without_tokens(fast) == _without_tokens(templates)
