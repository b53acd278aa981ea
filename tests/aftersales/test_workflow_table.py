"""docs/workflow.md and the code must agree, row by row."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django_fsm import RETURN_VALUE

from aftersales.models import Case, Compensation
from aftersales.permissions import ROLE_PERMISSIONS
from aftersales.services._base import is_system_transition

DOC = Path(__file__).resolve().parents[2] / "docs" / "workflow.md"


def _table(heading: str) -> dict[str, dict[str, set[str]]]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]
    table = {}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        name, source, target, actor = cells[:4]
        table[name] = {
            "source": set(re.findall(r"`(\w+)`", source)),
            "target": set(re.findall(r"`(\w+)`", target)),
            "actor": {a.strip() for a in actor.split(",")},
        }
    return table


def _code(model) -> dict[str, dict[str, set[str]]]:
    code = {}
    for method_name in dir(model):
        meta = getattr(getattr(model, method_name, None), "_django_fsm", None)
        if meta is None:
            continue
        sources, targets, actors = set(), set(), set()
        for source, tr in meta.transitions.items():
            sources.add(source)
            if isinstance(tr.target, RETURN_VALUE):
                targets.update(tr.target.allowed_states)
            else:
                targets.add(tr.target)
            if isinstance(tr.permission, str):
                actors |= {role for role, perms in ROLE_PERMISSIONS.items() if tr.permission in perms}
        if is_system_transition(model, method_name):
            actors.add("system")
        code[method_name] = {"source": sources, "target": targets, "actor": actors}
    return code


@pytest.mark.parametrize(("heading", "model"), [("Case transitions", Case), ("Compensation transitions", Compensation)])
def test_every_transition_in_the_code_is_a_row_of_the_table_and_vice_versa(heading, model):
    table = _table(heading)
    table.pop("open", None)  # opening creates the case; checked below
    assert set(table) == set(_code(model))


@pytest.mark.parametrize(("heading", "model"), [("Case transitions", Case), ("Compensation transitions", Compensation)])
def test_each_row_matches_the_code_sources_targets_and_actors(heading, model):
    table = _table(heading)
    code = _code(model)
    for name, spec in code.items():
        assert table[name] == spec, f"{heading}: row '{name}' disagrees with the code"


def test_open_row_names_the_roles_that_may_open_cases():
    row = _table("Case transitions")["open"]
    assert row["target"] == {"pending_review"}
    holders = {role for role, perms in ROLE_PERMISSIONS.items() if "aftersales.open_case" in perms}
    assert row["actor"] == holders


def test_state_table_lists_every_state():
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## States\n", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(\w+)`", section, flags=re.M))
    assert documented == {value for value, _label in Case._meta.get_field("state").choices}
