"""``QuickDisplay``: the same labels as Django's ``get_<field>_display``, in the active language."""

from __future__ import annotations

from django.db import models
from django.utils import translation

from aftersales.models import Case, CaseEvent, Compensation


def _choice_fields(model):
    return [field for field in model._meta.concrete_fields if field.choices]


def test_quick_labels_equal_djangos_for_every_choice_in_both_languages(case_in):
    case = case_in("compensation")
    comp = Compensation.objects.filter(case=case).first() or Compensation(case=case, kind="coupon", amount=1)
    event = CaseEvent.objects.filter(case=case).last()
    checked = 0
    for obj in (case, comp, event):
        for field in _choice_fields(type(obj)):
            for value, _label in [*field.flatchoices, ("no-such-value", None)]:
                obj.__dict__[field.attname] = value  # (a protected FSM field refuses setattr)
                for language in ("zh-hans", "en"):
                    with translation.override(language):
                        quick = getattr(obj, f"get_{field.name}_display")()
                        django = models.Model._get_FIELD_display(obj, field)
                    assert quick == django, (type(obj).__name__, field.name, value, language)
                    checked += 1
    assert checked > 100
    with translation.override("zh-hans"):
        case.__dict__["state"] = "closed"
        assert case.get_state_display() == "已完成"
    assert isinstance(case.get_state_display(), str)
    assert Case._meta.get_field("state") in Case._display_labels  # built once, then reused
