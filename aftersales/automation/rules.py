"""Automation rules: conditions over case, order and customer fields → actions.

A rule is data (``AutomationRule``): conditions are ``{"field", "op", "value"}``
over the fields below, matched all or any; actions are ``{"type", "value"}``.
Evaluation explains itself: every condition that held becomes a reason such
as "order value ¥1,299.00 ≥ 1000", and every firing is a case event naming the
rule, its version, the reasons and what it changed. A dry run evaluates a rule
over recent cases and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.batch import remembered
from aftersales.models import (
    Attribution,
    AutomationRule,
    Case,
    CaseState,
    EventName,
    Priority,
    Queue,
    RequestType,
    WaitingOn,
)
from aftersales.permissions import ROLE_LABELS, STAFF_ROLES
from customers.models import Channel, Customer

# --------------------------------------------------------------------------
# Fields and operators
# --------------------------------------------------------------------------
CHOICE, INT, MONEY, BOOL, TEXT = "choice", "int", "money", "bool", "text"
OPS = {
    "eq": ("=", lambda a, b: a == b),
    "ne": ("≠", lambda a, b: a != b),
    "gt": (">", lambda a, b: a is not None and a > b),
    "gte": ("≥", lambda a, b: a is not None and a >= b),
    "lt": ("<", lambda a, b: a is not None and a < b),
    "lte": ("≤", lambda a, b: a is not None and a <= b),
    "in": ("∈", lambda a, b: a in b),
    "contains": ("⊇", lambda a, b: b in (a or "")),
}
OPS_BY_TYPE = {
    CHOICE: ("eq", "ne", "in"),
    INT: ("eq", "ne", "gt", "gte", "lt", "lte"),
    MONEY: ("eq", "ne", "gt", "gte", "lt", "lte"),
    BOOL: ("eq",),
    TEXT: ("eq", "ne", "contains"),
}


@dataclass(frozen=True)
class Field:
    label: object
    kind: str
    choices: tuple = ()


FIELDS: dict[str, Field] = {
    "case.request_type": Field(gettext_lazy("request type"), CHOICE, tuple(RequestType.values)),
    "case.channel": Field(gettext_lazy("channel"), CHOICE, tuple(Channel.values)),
    "case.state": Field(gettext_lazy("state"), CHOICE, tuple(CaseState.values)),
    "case.priority": Field(gettext_lazy("priority"), CHOICE, tuple(Priority.values)),
    "case.waiting_on": Field(gettext_lazy("waiting on"), CHOICE, tuple(WaitingOn.values)),
    "case.attribution": Field(gettext_lazy("problem attribution"), CHOICE, tuple(Attribution.values)),
    "case.category": Field(gettext_lazy("problem category (full path)"), TEXT),
    "case.urgency": Field(gettext_lazy("urgency"), INT),
    "case.emotion_score": Field(gettext_lazy("emotion score"), INT),
    "case.claim_value": Field(gettext_lazy("value of the goods in the case"), MONEY),
    "case.reason": Field(gettext_lazy("customer's reason"), TEXT),
    "case.crisis": Field(gettext_lazy("crisis"), BOOL),
    "case.quick_refund": Field(gettext_lazy("quick refund"), BOOL),
    "order.value": Field(gettext_lazy("order value"), MONEY),
    "order.channel": Field(gettext_lazy("order channel"), CHOICE, tuple(Channel.values)),
    "customer.tier": Field(gettext_lazy("customer tier"), CHOICE, tuple(Customer.Tier.values)),
    "customer.annual_spend": Field(gettext_lazy("annual spend"), MONEY),
    "customer.credit_score": Field(gettext_lazy("credit score"), INT),
    "customer.claims_90d": Field(gettext_lazy("claims in 90 days"), INT),
    "customer.flagged": Field(gettext_lazy("customer has a risk flag"), BOOL),
    "customer.region": Field(gettext_lazy("region"), TEXT),
}

ACTIONS: dict[str, object] = {
    "set_priority": gettext_lazy("set priority"),
    "route_to_queue": gettext_lazy("route to queue"),
    "assign": gettext_lazy("assign"),
    "qc_priority": gettext_lazy("give QC priority"),
    "notify_group": gettext_lazy("notify a group"),
    "flag_crisis": gettext_lazy("flag as crisis"),
    "vip_upgrade": gettext_lazy("offer the VIP compensation upgrade"),
}
ASSIGN_SPECIAL = ("advisor", "least_loaded")


def _coerce(kind: str, value, choices: tuple = ()):
    if kind == CHOICE:
        if value not in choices:
            raise ValueError(_("choose one of %(choices)s") % {"choices": ", ".join(choices)})
        return value
    if kind == INT:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(_("a whole number"))
        return int(value)
    if kind == MONEY:
        try:
            amount = Decimal(str(value))
        except (InvalidOperation, ValueError):
            raise ValueError(_("an amount")) from None
        if not amount.is_finite():
            raise ValueError(_("an amount"))
        return amount
    if kind == BOOL:
        if not isinstance(value, bool):
            raise ValueError(_("true or false"))
        return value
    if not isinstance(value, str):
        raise ValueError(_("a text"))
    return value


def _coerced_value(spec: Field, op: str, value):
    if op == "in":
        if not isinstance(value, list) or not value:
            raise ValueError(_("a non-empty list"))
        return [_coerce(spec.kind, item, spec.choices) for item in value]
    return _coerce(spec.kind, value, spec.choices)


def validate_conditions(conditions) -> None:
    """Raise a ``ValidationError`` naming each bad condition (its number, field and problem)."""
    if not isinstance(conditions, list):
        raise ValidationError(_("Conditions must be a list."))
    problems = []
    for number, cond in enumerate(conditions, start=1):
        if not isinstance(cond, dict) or set(cond) != {"field", "op", "value"}:
            problems.append(_("Condition %(n)s: needs exactly “field”, “op” and “value”.") % {"n": number})
            continue
        spec = FIELDS.get(cond["field"])
        if spec is None:
            problems.append(
                _("Condition %(n)s: unknown field “%(field)s”; known: %(fields)s.")
                % {"n": number, "field": cond["field"], "fields": ", ".join(FIELDS)}
            )
            continue
        if cond["op"] not in OPS_BY_TYPE[spec.kind]:
            problems.append(
                _("Condition %(n)s: “%(op)s” does not apply to %(field)s; use %(ops)s.")
                % {"n": number, "op": cond["op"], "field": cond["field"], "ops": ", ".join(OPS_BY_TYPE[spec.kind])}
            )
            continue
        try:
            _coerced_value(spec, cond["op"], cond["value"])
        except ValueError as exc:
            problems.append(
                _("Condition %(n)s: the value of %(field)s must be %(what)s.")
                % {"n": number, "field": cond["field"], "what": exc}
            )
    if problems:
        raise ValidationError(problems)


def validate_actions(actions) -> None:
    """Raise a ``ValidationError`` naming each bad action."""
    if not isinstance(actions, list):
        raise ValidationError(_("Actions must be a list."))
    problems = []
    queues = set(Queue.objects.filter(active=True).values_list("code", flat=True))
    for number, action in enumerate(actions, start=1):
        if not isinstance(action, dict) or set(action) - {"type", "value"} or "type" not in action:
            problems.append(_("Action %(n)s: needs “type” (and “value” where it takes one).") % {"n": number})
            continue
        kind, value = action["type"], action.get("value")
        if kind not in ACTIONS:
            problems.append(
                _("Action %(n)s: unknown type “%(type)s”; known: %(types)s.")
                % {"n": number, "type": kind, "types": ", ".join(ACTIONS)}
            )
        elif kind == "set_priority" and value not in Priority.values:
            problems.append(
                _("Action %(n)s: priority must be one of %(choices)s.")
                % {"n": number, "choices": ", ".join(f"{code} ({label})" for code, label in Priority.choices)}
            )
        elif kind == "route_to_queue" and value not in queues:
            problems.append(_("Action %(n)s: no active queue has the code “%(code)s”.") % {"n": number, "code": value})
        elif kind == "notify_group" and value not in STAFF_ROLES:
            problems.append(
                _("Action %(n)s: group must be one of %(roles)s.") % {"n": number, "roles": ", ".join(STAFF_ROLES)}
            )
        elif kind == "assign" and value not in ASSIGN_SPECIAL:
            from django.contrib.auth import get_user_model

            if (
                not isinstance(value, str)
                or not get_user_model().objects.filter(username=value, is_active=True).exists()
            ):
                problems.append(
                    _("Action %(n)s: assign to “advisor”, “least_loaded” or an active username, not “%(value)s”.")
                    % {"n": number, "value": value}
                )
    if problems:
        raise ValidationError(problems)


# --------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------
class CaseContext:
    """Field values of one case, computed on first use (customer facts cost three queries)."""

    def __init__(
        self,
        case: Case,
        *,
        at: datetime | None = None,
        facts=None,
        claim_value: Decimal | None = None,
        exclude_self: bool = False,
    ):
        self.case, self.at = case, at or timezone.now()
        self._facts, self._claim_value = facts, claim_value
        #: Customer figures without this case (as case_open saw them before the case existed).
        self.exclude_self = exclude_self
        self._cache: dict[str, object] = {}

    def facts(self):
        if self._facts is None:
            from aftersales.automation.risk import customer_facts

            self._facts = customer_facts(
                self.case.customer_id, at=self.at, exclude_case_id=self.case.pk if self.exclude_self else None
            )
        return self._facts

    def __getitem__(self, name: str):
        if name not in self._cache:
            self._cache[name] = self._LOADERS[name](self)
        return self._cache[name]

    def _claim(self) -> Decimal:
        if self._claim_value is None:
            from aftersales.services._base import case_claim_value

            self._claim_value = case_claim_value(self.case)
        return self._claim_value

    def _order_value(self) -> Decimal:
        from customers.selectors import order_totals

        return order_totals(self.case.order_id)["amount"]

    _LOADERS: dict[str, Callable] = {
        "case.request_type": lambda c: c.case.request_type,
        "case.channel": lambda c: c.case.channel,
        "case.state": lambda c: c.case.state,
        "case.priority": lambda c: c.case.priority,
        "case.waiting_on": lambda c: c.case.waiting_on,
        "case.attribution": lambda c: c.case.category.attribution if c.case.category_id else Attribution.OTHER,
        "case.category": lambda c: c.case.category.full_name if c.case.category_id else "",
        "case.urgency": lambda c: c.case.urgency,
        "case.emotion_score": lambda c: c.case.emotion_score,
        "case.claim_value": lambda c: c._claim(),
        "case.reason": lambda c: c.case.reason,
        "case.crisis": lambda c: c.case.crisis,
        "case.quick_refund": lambda c: c.case.quick_refund,
        "order.value": lambda c: c._order_value(),
        "order.channel": lambda c: c.case.order.channel,
        "customer.tier": lambda c: c.case.customer.tier,
        "customer.annual_spend": lambda c: c.facts().annual_spend,
        "customer.credit_score": lambda c: c.case.customer.credit_score,
        "customer.claims_90d": lambda c: c.facts().claims_90d,
        "customer.flagged": lambda c: bool(c.case.customer.risk_flags),
        "customer.region": lambda c: c.case.customer.region,
    }


#: The words for the codes of the choice fields (a reason says "售后类型 退货退款", not "return_refund").
CHOICE_LABELS: dict[str, dict] = {
    "case.request_type": dict(RequestType.choices),
    "case.channel": dict(Channel.choices),
    "case.state": dict(CaseState.choices),
    "case.priority": dict(Priority.choices),
    "case.waiting_on": dict(WaitingOn.choices),
    "case.attribution": dict(Attribution.choices),
    "order.channel": dict(Channel.choices),
    "customer.tier": dict(Customer.Tier.choices),
}


def _shown(value, labels: dict | None = None) -> str:
    """A value as a reason says it: money in yuan, yes/no, a choice by its label, a list of them."""
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, Decimal):
        return f"¥{value:,.2f}"
    if isinstance(value, list | tuple | set):
        return "[" + ", ".join(_shown(v, labels) for v in value) + "]"
    if labels and value in labels:
        return str(labels[value])
    return str(value)


@dataclass
class Verdict:
    fired: bool
    reasons: list[str] = field(default_factory=list)


def evaluate(rule: AutomationRule, ctx: CaseContext) -> Verdict:
    """Whether ``rule`` fires on the case, and the conditions that held (as reasons)."""
    held, failed = [], 0
    for cond in rule.conditions:
        spec = FIELDS[cond["field"]]
        wanted = _coerced_value(spec, cond["op"], cond["value"])
        actual = ctx[cond["field"]]
        symbol, test = OPS[cond["op"]]
        if test(actual, wanted):
            labels = CHOICE_LABELS.get(cond["field"])
            held.append(f"{spec.label} {_shown(actual, labels)} {symbol} {_shown(wanted, labels)}")
        else:
            failed += 1
    if not rule.conditions:
        return Verdict(True, [_("no conditions: always")])
    fired = failed == 0 if rule.match == AutomationRule.Match.ALL else bool(held)
    return Verdict(fired, held if fired else [])


def describe_condition(cond: dict) -> str:
    """A condition in words: "状态 = 升级处理" (a field no longer known keeps its code)."""
    spec = FIELDS.get(cond.get("field"))
    if spec is None:
        return f"{cond.get('field')} {cond.get('op')} {cond.get('value')}"
    symbol = OPS.get(cond.get("op"), (cond.get("op"),))[0]
    return f"{spec.label} {symbol} {_shown(cond.get('value'), CHOICE_LABELS.get(cond['field']))}"


def describe_action(action: dict) -> str:
    label = ACTIONS.get(action["type"], action["type"])
    value = action.get("value")
    if action["type"] == "notify_group" and value in ROLE_LABELS:
        value = ROLE_LABELS[value]
    elif action["type"] == "set_priority" and value in Priority.values:
        value = Priority(value).label
    return f"{label}: {value}" if value not in (None, True, "") else str(label)


def active_rules(trigger: str) -> list[AutomationRule]:
    """The trigger's active rules, in order (read once for a sweep's batch: ``aftersales.batch``)."""
    return remembered(
        ("rules", trigger),
        lambda: list(AutomationRule.objects.filter(active=True, trigger=trigger).order_by("position", "id")),
    )


def latest_versions(rules: list[AutomationRule]) -> dict[int, int]:
    """``{rule id: history id of its current version}`` (one query)."""
    ids = tuple(r.pk for r in rules)
    return remembered(("rule versions", ids), lambda: _latest_versions(ids))  # read once with the rules


def _latest_versions(ids: tuple[int, ...]) -> dict[int, int]:
    versions: dict[int, int] = {}
    rows = AutomationRule.history.filter(id__in=ids).order_by("id", "-history_date", "-history_id")
    for rule_id, history_id in rows.values_list("id", "history_id"):
        versions.setdefault(rule_id, history_id)
    return versions


@dataclass
class Firing:
    rule: AutomationRule
    version: int | None
    reasons: list[str]
    changes: list[str]


def run_rules(case: Case, trigger: str, *, at: datetime, ctx: CaseContext | None = None) -> list[Firing]:
    """Fire the active rules of ``trigger`` on a locked case, in order; each firing is a case event.

    Called inside the service's transaction, so the rules' changes commit or roll back with it.
    """
    from aftersales.automation.routing import apply_actions

    rules = active_rules(trigger)
    if not rules:
        return []
    ctx = ctx or CaseContext(case, at=at)
    versions = latest_versions(rules)
    firings = []
    for rule in rules:
        verdict = evaluate(rule, ctx)
        if not verdict.fired:
            continue
        changes = apply_actions(case, rule.actions, at=at, rule=rule)
        firings.append(Firing(rule, versions.get(rule.pk), verdict.reasons, changes))
        # The services run the rules (after each transition): load their package late.
        from aftersales.services.events import system_event

        system_event(
            case,
            name=EventName.RULE,
            note=_("Rule “%(rule)s” fired: %(reasons)s.") % {"rule": rule.name, "reasons": "; ".join(verdict.reasons)},
            data={
                "rule": rule.pk,
                "rule_name": rule.name,
                "version": versions.get(rule.pk),
                "trigger": trigger,
                "reasons": verdict.reasons,
                "actions": [describe_action(a) for a in rule.actions],
                "changes": changes,
            },
            at=at,
        )
        ctx._cache.clear()  # the actions may have changed what later rules see
        if rule.stop_processing:
            break
    return firings


@dataclass
class DryRunRow:
    case: Case
    fired: bool
    reasons: list[str]


#: The most recent cases a dry run looks at (each may cost a few queries for customer figures).
DRY_RUN_MAX = 500


def dry_run(rule: AutomationRule, *, last: int = 200, at: datetime | None = None) -> list[DryRunRow]:
    """Evaluate ``rule`` (saved or not, active or not) on the last ``last`` cases. Writes nothing.

    Customer figures are taken as of each case's opening, without the case itself
    (as ``case_open`` saw them); the case's own fields are as they are now.
    """
    validate_conditions(rule.conditions)
    cases = Case.objects.select_related("order", "customer", "category__parent__parent").order_by("-id")[
        : max(1, min(last, DRY_RUN_MAX))
    ]
    rows = []
    for case in cases:
        verdict = evaluate(rule, CaseContext(case, at=at or case.opened_at, exclude_self=True))
        rows.append(DryRunRow(case, verdict.fired, verdict.reasons))
    return rows
