"""Realistic Chinese demo data (``manage.py seed_demo``, ``manage.py create_demo_users``).

Reference data (product and problem categories, queues, policies, a staff
pool) is created idempotently with ordinary ORM saves. The bulk data
(customers, orders, cases with their lines, events, inspections and
compensations) is generated in chunks of ``batch`` cases, each chunk written
in its own transaction with bulk inserts, so a million cases take minutes.

Every case gets a history that the workflow could have produced: an
``opened`` event, then one ``transition`` event per step of a legal path
through ``docs/workflow.md`` to the case's state, with increasing times,
actors from the pool and the case's own timestamps, stage clock, inspection
and compensations to match. Case numbers come from the same per-day counters
(``CaseNumberSequence``) that ``case_open`` uses, reserved under a row lock.

The generator works on plain dicts keyed by column attname; a row refers to
its parent by holding the parent's dict, resolved to the id once the parent
is inserted. ``aftersales.demo.writers`` writes them: ``bulk_create``, or
binary COPY on PostgreSQL, where the run is also pipelined (this thread
generates chunks while writer threads on their own connections write them):
1,000,000 cases in 6–7.5 minutes on 2 cores.
"""

from __future__ import annotations

import bisect
import gc
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import Max
from django.db.models.functions import Length, Substr
from django.utils import timezone

from aftersales.automation.radar import keywords
from aftersales.demo import catalog as cat
from aftersales.demo.writers import make_writer, pipelined
from aftersales.models import (
    FINAL_STATES,
    GOODS_RETURN_TYPES,
    AgentProfile,
    Attribution,
    AutomationRule,
    Case,
    CaseEvent,
    CaseKeyword,
    CaseLine,
    CaseNumberSequence,
    CaseState,
    Compensation,
    CompensationState,
    EventName,
    HealthReport,
    Inspection,
    Policy,
    ProblemCategory,
    Queue,
    RequestType,
    ResponseTemplate,
    SlaPolicy,
    TemplateUse,
    WaitingOn,
)
from aftersales.permissions import AGENT, CHANNEL, FINANCE, QC, SUPERVISOR
from aftersales.services.numbers import format_case_number
from aftersales.workflow.policy import initial_priority, quick_refund_eligible
from aftersales.workflow.transitions import stage_clock
from customers.models import Channel, Customer, Order, OrderLine, ProductCategory

S = CaseState
CS = CompensationState
RT = RequestType
K = Compensation.Kind
MINUTE, HOUR, DAY = 60, 3600, 86400
YEAR = 365 * DAY
DEFAULT_CASES = 400
DEFAULT_SEED = 2026
DEFAULT_BATCH = 5000
#: Writer threads (connections) of a pipelined run: while one waits for the server, another formats rows.
PIPELINE_WRITERS = 2

STATE_WEIGHTS = {
    S.PENDING_REVIEW: 8,
    S.AWAITING_RETURN: 8,
    S.IN_QC: 5,
    S.COMPENSATION: 5,
    S.AWAITING_APPROVAL: 1,
    S.AWAITING_CONFIRMATION: 5,
    S.ESCALATED: 2,
    S.CLOSED: 55,
    S.REJECTED: 6,
    S.CANCELLED: 5,
}
TYPE_WEIGHTS = {
    RT.RETURN_REFUND: 38,
    RT.REFUND_ONLY: 22,
    RT.EXCHANGE: 14,
    RT.COMPLAINT: 10,
    RT.PRICE_ADJUSTMENT: 9,
    RT.REPAIR: 7,
}
GOODS_TYPE_WEIGHTS = {t: w for t, w in TYPE_WEIGHTS.items() if t in GOODS_RETURN_TYPES}
CHANNEL_WEIGHTS = {Channel.APP: 45, Channel.MINI_PROGRAM: 25, Channel.LIVE_STREAM: 20, Channel.WEB: 10}
URGENCY_WEIGHTS = {1: 10, 2: 25, 3: 40, 4: 17, 5: 8}

QUEUES = [
    # code, name, purpose, default?
    ("general", "普通售后", Queue.Purpose.GENERAL, True),
    ("vip", "VIP专席", Queue.Purpose.VIP, False),
    ("crisis", "危机处理", Queue.Purpose.CRISIS, False),
    ("escalation", "升级处理", Queue.Purpose.ESCALATION, False),
]
POLICIES = [
    ("", {"name": "默认售后政策"}),
    (
        Channel.LIVE_STREAM,
        {
            "name": "直播渠道售后政策",
            "review_timeout_hours": 24,
            "confirm_timeout_hours": 48,
            "proposal_timeout_hours": 12,
            "quick_refund_max_amount": Decimal("300.00"),
        },
    ),
]
#: Payout reference prefixes (WeChat Pay-, Alipay-style transaction numbers; coupons and goods get codes).
PAYOUT_PREFIX = {"refund": "4200", "return_shipping": "4200", "cash": "2088", "replacement": "BF", "gift": "BF"}
#: Agents with a personal authority limit (the others use the policy default).
AGENT_AUTHORITY = {1: Decimal("500.00"), 2: Decimal("500.00"), 3: Decimal("1000.00"), 4: Decimal("300.00")}


class FastRandom(random.Random):
    """``random.Random`` with cheaper ``randint``/``randrange``/``choice`` (one ``random()`` call each).

    Still deterministic for a seed; the bias is below 2**-40 for the small ranges used here.
    """

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def randrange(self, start: int, stop: int | None = None) -> int:
        if stop is None:
            start, stop = 0, start
        return start + int(self.random() * (stop - start))

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]


class Weighted:
    """Fast weighted choice with a given ``random.Random``."""

    __slots__ = ("cumulative", "items", "total")

    def __init__(self, weights: dict | Sequence[tuple]):
        pairs = list(weights.items()) if isinstance(weights, dict) else list(weights)
        self.items = [item for item, _ in pairs]
        self.cumulative = []
        total = 0
        for _, weight in pairs:
            total += weight
            self.cumulative.append(total)
        self.total = total

    def __call__(self, rng: random.Random):
        return self.items[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


def cents(value: int) -> Decimal:
    """Integer fen → Decimal yuan with two places."""
    return Decimal(value).scaleb(-2)


def to_dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


# --------------------------------------------------------------------------
# Reference data (idempotent, ordinary saves)
# --------------------------------------------------------------------------
@dataclass
class Product:
    category_id: int
    category_code: str
    sku_prefix: str
    name: str
    low: int  # fen
    high: int  # fen
    variants: list[tuple[str, str]]


@dataclass
class Leaf:
    id: int
    name: str
    group: str  # level-2 name
    attribution: str
    products: Weighted  # → product category code
    types: dict[str, int]
    reasons: list[str]
    undelivered: bool
    urgent: bool


@dataclass
class Staff:
    id: int
    username: str
    authority: Decimal | None = None  # None = the policy's default
    skills: tuple[str, ...] = ()


@dataclass
class Reference:
    products: dict[str, list[Product]]
    leaves: list[Leaf]
    queues: dict[str, Queue]
    default_queue: Queue
    policies: dict[str, tuple[Policy, object]]  # channel ("" = default) → (policy, HistoricalPolicy)
    agents: list[Staff]
    qc: list[Staff]
    supervisors: list[Staff]
    finance: list[Staff]
    channel_accounts: dict[str, Staff]

    def policy_for(self, channel: str) -> tuple[Policy, object]:
        return self.policies.get(channel) or self.policies[""]

    def referenced_rows(self) -> dict:
        """model → ids of the existing rows the generated data refers to."""
        staff = [*self.agents, *self.qc, *self.supervisors, *self.finance, *self.channel_accounts.values()]
        versions = [version for _, version in self.policies.values()]
        return {
            get_user_model(): sorted({s.id for s in staff}),
            Queue: sorted({q.pk for q in self.queues.values()} | {self.default_queue.pk}),
            ProductCategory: sorted({p.category_id for products in self.products.values() for p in products}),
            ProblemCategory: sorted(leaf.id for leaf in self.leaves),
            Policy: sorted(policy.pk for policy, _ in self.policies.values()),
            type(versions[0]): sorted(version.pk for version in versions),
            ResponseTemplate: sorted(ResponseTemplate.objects.values_list("pk", flat=True)),
            ResponseTemplate.history.model: sorted(ResponseTemplate.history.values_list("history_id", flat=True)),
        }


def ensure_queues() -> dict[str, Queue]:
    """The four demo queues by code (``general`` is the default unless another queue already is)."""
    queues = {}
    has_default = Queue.objects.filter(is_default=True).exists()
    for code, name, purpose, is_default in QUEUES:
        queues[code], _ = Queue.objects.get_or_create(
            code=code, defaults={"name": name, "purpose": purpose, "is_default": is_default and not has_default}
        )
    return queues


def _ensure_product_categories() -> dict[str, list[Product]]:
    products = {}
    for code, (name, prefix, items) in cat.PRODUCT_CATEGORIES.items():
        category, _ = ProductCategory.objects.get_or_create(code=code, defaults={"name": name})
        products[code] = [
            Product(category.pk, code, f"{prefix}{index:03d}", product, low * 100, high * 100, variants)
            for index, (product, low, high, variants) in enumerate(items, start=1)
        ]
    return products


def _ensure_problem_categories() -> list[Leaf]:
    leaves = []
    for order1, (name1, attribution, groups) in enumerate(cat.PROBLEM_TREE, start=1):
        top, _ = ProblemCategory.objects.get_or_create(
            parent=None, name=name1, defaults={"attribution": attribution, "sort_order": order1 * 10}
        )
        for order2, (name2, names3) in enumerate(groups, start=1):
            mid, _ = ProblemCategory.objects.get_or_create(parent=top, name=name2, defaults={"sort_order": order2 * 10})
            for order3, name3 in enumerate(names3, start=1):
                leaf, _ = ProblemCategory.objects.get_or_create(
                    parent=mid, name=name3, defaults={"sort_order": order3 * 10}
                )
                spec = cat.LEAVES[name3]
                weights = {code: cat.PRODUCT_CATEGORY_WEIGHTS[code] for code in spec["products"]}
                leaves.append(
                    Leaf(
                        id=leaf.pk,
                        name=name3,
                        group=name2,
                        attribution=top.attribution,
                        products=Weighted(weights),
                        types=spec["types"],
                        reasons=spec["reasons"],
                        undelivered=spec.get("undelivered", False),
                        urgent=spec.get("urgent", False),
                    )
                )
    return leaves


def _ensure_policies() -> dict[str, tuple[Policy, object]]:
    policies = {}
    for channel, fields in POLICIES:
        policy = Policy.objects.filter(channel=channel, active=True).first()
        if policy is None:
            policy = Policy(channel=channel, active=True, **fields)
            policy.save()  # simple-history records the version cases pin
        version = policy.history.order_by("-history_date", "-history_id").first()
        if version is None:  # e.g. created by a bulk import: record one version
            policy.save()
            version = policy.history.order_by("-history_date", "-history_id").first()
        policies[channel] = (policy, version)
    return policies


def _ensure_user(username: str, name: str, role: str, *, is_staff: bool = False):
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"first_name": name, "email": f"{username}@demo.example.com", "is_staff": is_staff},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    user.groups.add(Group.objects.get(name=role))
    return user


def _ensure_staff(queues: dict[str, Queue]):
    """The staff pool: agents (with profiles, skills, queues), QC, supervisors, finance, channel accounts."""
    codes = list(cat.PRODUCT_CATEGORIES)
    categories = {c.code: c for c in ProductCategory.objects.filter(code__in=codes)}
    agents = []
    for index, name in enumerate(cat.AGENT_NAMES, start=1):
        user = _ensure_user(f"agent{index:02d}", name, AGENT)
        skills = (codes[(index - 1) % len(codes)], codes[index % len(codes)])
        profile, created = AgentProfile.objects.get_or_create(
            user=user, defaults={"authority_limit": AGENT_AUTHORITY.get(index)}
        )
        if created:
            profile.skills.set([categories[code] for code in skills])
        else:
            skills = tuple(profile.skills.values_list("code", flat=True)) or skills
        agents.append(Staff(user.pk, user.username, profile.authority_limit, skills))
    queues["general"].members.add(*[a.id for a in agents])
    queues["vip"].members.add(*[a.id for a in agents[:4]])
    qc = [Staff(_ensure_user(f"qc{i:02d}", n, QC).pk, f"qc{i:02d}") for i, n in enumerate(cat.QC_NAMES, start=1)]
    supervisors = [
        Staff(_ensure_user(f"supervisor{i:02d}", n, SUPERVISOR, is_staff=True).pk, f"supervisor{i:02d}")
        for i, n in enumerate(cat.SUPERVISOR_NAMES, start=1)
    ]
    for code in ("crisis", "escalation"):
        queues[code].members.add(*[s.id for s in supervisors])
    finance = [
        Staff(_ensure_user(f"finance{i:02d}", n, FINANCE).pk, f"finance{i:02d}")
        for i, n in enumerate(cat.FINANCE_NAMES, start=1)
    ]
    channel_accounts = {}
    for channel in cat.CHANNEL_ACCOUNTS:
        account = ensure_channel_account(channel)
        channel_accounts[channel] = Staff(account.pk, account.username)
    return agents, qc, supervisors, finance, channel_accounts


def ensure_channel_account(channel: str):
    """The channel system's service account (group ``channel``, no password): the actor on the cases it opens."""
    return _ensure_user(f"channel_{channel}", cat.CHANNEL_ACCOUNTS[channel], CHANNEL)


@transaction.atomic
def ensure_reference_data() -> Reference:
    """Create (or find) everything the bulk data refers to; safe to run again."""
    products = _ensure_product_categories()
    leaves = _ensure_problem_categories()
    queues = ensure_queues()
    default_queue = Queue.objects.filter(is_default=True).first() or queues["general"]
    policies = _ensure_policies()
    agents, qc, supervisors, finance, channel_accounts = _ensure_staff(queues)
    _ensure_rules()
    _ensure_templates()
    return Reference(
        products, leaves, queues, default_queue, policies, agents, qc, supervisors, finance, channel_accounts
    )


DEMO_RULES = [
    {
        "name": "高价值质量问题 → VIP专席并优先质检",
        "description": "订单金额不低于 1000 元且属于商品质量问题的售后，转 VIP 专席，退回商品优先质检。",
        "trigger": "opened",
        "position": 10,
        "active": True,
        "conditions": [
            {"field": "order.value", "op": "gte", "value": 1000},
            {"field": "case.attribution", "op": "eq", "value": "product_quality"},
        ],
        "actions": [{"type": "route_to_queue", "value": "vip"}, {"type": "qc_priority", "value": True}],
    },
    {
        "name": "VIP 普通退货 → 补偿升级",
        "description": "VIP 顾客的普通退货退款，提供 VIP 补偿升级选项。",
        "trigger": "opened",
        "position": 20,
        "active": True,
        "conditions": [
            {"field": "customer.tier", "op": "eq", "value": "vip"},
            {"field": "case.request_type", "op": "in", "value": ["return_refund", "refund_only"]},
        ],
        "actions": [{"type": "vip_upgrade", "value": True}],
    },
    {
        "name": "升级处理超时 → 通知主管（草稿）",
        "description": "试运行中的规则：升级处理的售后单超过时限时通知主管群。",
        "trigger": "deadline_passed",
        "position": 30,
        "active": False,
        "conditions": [{"field": "case.state", "op": "eq", "value": "escalated"}],
        "actions": [{"type": "notify_group", "value": "supervisor"}],
    },
]


def _ensure_templates() -> None:
    """The demo library of reply templates (saved one by one, so each has its first version)."""
    if ResponseTemplate.objects.exists():
        return
    categories = dict(ProductCategory.objects.values_list("code", "pk"))
    for code, title, scenario, rtype, pcat, segment, tone, channel, body in cat.RESPONSE_TEMPLATES:
        template = ResponseTemplate(
            code=code,
            title=title,
            scenario=scenario,
            request_type=rtype,
            product_category_id=categories.get(pcat) if pcat else None,
            segment=segment,
            tone=tone,
            channel=channel,
            body=body,
        )
        template.full_clean()
        template._change_reason = "示例话术库"
        template.save()


def _ensure_rules() -> None:
    """A few example automation rules (saved one by one, so each has its first version)."""
    if AutomationRule.objects.exists():
        return
    for data in DEMO_RULES:
        rule = AutomationRule(**data)
        rule.full_clean()
        rule.save()


# --------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------
class _Chunk:
    """Rows of one chunk, in insertion order."""

    def __init__(self):
        self.customers: list[dict] = []
        self.customer_since: list[int] = []
        self.orders: list[dict] = []
        self.order_lines: list[dict] = []
        self.cases: list[dict] = []
        self.case_ts: list[int] = []  # opened_at as epoch seconds, parallel to cases
        self.case_lines: list[dict] = []
        self.keywords: list[dict] = []
        self.template_uses: list[dict] = []
        self.inspections: list[dict] = []
        self.compensations: list[dict] = []
        self.events: list[dict] = []
        #: (dict, key, row or rows): set dict[key] to the id(s) once inserted
        self.patches: list[tuple[dict, str, object]] = []


class DemoGenerator:
    def __init__(self, ref: Reference, *, seed: int, now: datetime | None = None):
        self.ref = ref
        self.rng = FastRandom(seed)
        self.now = (now or timezone.now()).replace(microsecond=0)
        self.now_ts = int(self.now.timestamp())
        self.tz = timezone.get_current_timezone()
        self._days: dict = {}
        self.pick_state = Weighted(STATE_WEIGHTS)
        self.pick_type = Weighted(TYPE_WEIGHTS)
        self.pick_goods_type = Weighted(GOODS_TYPE_WEIGHTS)
        self.pick_channel = Weighted(CHANNEL_WEIGHTS)
        self.pick_urgency = Weighted(URGENCY_WEIGHTS)
        self.pick_pcat = Weighted(cat.PRODUCT_CATEGORY_WEIGHTS)
        self.pick_lines = Weighted({1: 60, 2: 30, 3: 10})
        self.pick_qty = Weighted({1: 70, 2: 22, 3: 8})
        self.pick_csat = Weighted({1: 3, 2: 5, 3: 12, 4: 35, 5: 45})
        self.leaves_for_type = {
            rtype: Weighted([(leaf, leaf.types[rtype] * 10) for leaf in ref.leaves if rtype in leaf.types])
            for rtype in RT.values
        }
        self.agents_by_skill = defaultdict(list)
        for agent in ref.agents:
            for code in agent.skills:
                self.agents_by_skill[code].append(agent)
        #: The first cases of a run take every state once, so even a small run shows them all.
        self.forced_states = list(reversed(STATE_WEIGHTS))
        self.agents_by_id = {agent.id: agent for agent in ref.agents}
        self.working_ids = {s.id for s in (*ref.agents, *ref.qc, *ref.supervisors)}
        self.order_counters = self._order_counters()
        self._keywords: dict[str, list[str]] = {}  # reasons repeat: segment each text once
        #: acknowledge templates an agent may answer a new case with: (id, version id, code, title, rtype, category, channel, segment)
        versions = {}
        for template_id, history_id in ResponseTemplate.history.order_by(
            "id", "-history_date", "-history_id"
        ).values_list("id", "history_id"):
            versions.setdefault(template_id, history_id)
        self.ack_templates = [
            (t.pk, versions[t.pk], t.code, t.title, t.request_type, t.product_category_id, t.channel, t.segment)
            for t in ResponseTemplate.objects.filter(active=True, scenario=ResponseTemplate.Scenario.ACKNOWLEDGE)
            if t.pk in versions
        ]
        #: priority → (first-response, resolution) minutes, as case_open sets the SLA deadlines.
        self.sla = {
            sla.priority: (sla.first_response_minutes, sla.resolution_minutes)
            for sla in SlaPolicy.objects.filter(active=True)
        }

    def ack_template_for(self, rng, *, rtype: str, category: int | None, channel: str, vip: bool):
        """A fitting acknowledge template (the most specific is likelier), or None."""
        fits = [
            t
            for t in self.ack_templates
            if t[4] in ("", rtype)
            and t[5] in (None, category)
            and t[6] in ("", channel)
            and t[7] in ("", "vip" if vip else "regular")
        ]
        if not fits:
            return None
        weights = [1 + 2 * bool(t[4]) + 2 * bool(t[5]) + bool(t[6]) + 2 * bool(t[7]) for t in fits]
        return rng.choices(fits, weights)[0]

    def keywords_of(self, reason: str) -> list[str]:
        words = self._keywords.get(reason)
        if words is None:
            words = self._keywords[reason] = keywords(reason)
        return words

    # -- numbers -----------------------------------------------------------
    def _order_counters(self) -> dict[str, int]:
        """Last counter per day of existing ``DD<yyyymmdd><nnnnnn>`` orders, so a rerun never collides."""
        rows = (
            Order.objects.filter(number__startswith="DD")
            .annotate(n=Length("number"))
            .filter(n=16)
            .annotate(day=Substr("number", 3, 8))
            .values("day")
            .annotate(last=Max("number"))
            .values_list("day", "last")
        )
        counters = {}
        for day, last in rows:
            if last[2:].isdigit():
                counters[day] = int(last[10:])
        return counters

    def _local_day(self, ts: int) -> tuple:
        """(local date, "YYYYMMDD") of an epoch second, cached per hour (zone offsets change on the hour)."""
        hour = ts // HOUR
        day = self._days.get(hour)
        if day is None:
            date = datetime.fromtimestamp(hour * HOUR, self.tz).date()
            day = self._days[hour] = (date, f"{date:%Y%m%d}")
        return day

    def _order_number(self, placed_ts: int) -> str:
        day = self._local_day(placed_ts)[1]
        value = self.order_counters.get(day, 0) + 1
        self.order_counters[day] = value
        return f"DD{day}{value:06d}"

    # -- people --------------------------------------------------------------
    def _customer(self, chunk: _Chunk) -> dict:
        rng = self.rng
        name = rng.choice(cat.SURNAMES) + "".join(rng.choice(cat.GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2))))
        province, city, districts = rng.choice(cat.PLACES)
        region = province if province == city else province + city
        vip = rng.random() < 0.08
        credit = int(rng.gauss(760, 80) if vip else rng.gauss(610, 110))
        address = (
            f"{region}{rng.choice(districts)}{rng.choice(cat.STREETS)}{rng.randint(1, 999)}号"
            f"{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元{rng.randint(1, 33)}{rng.randint(1, 4):02d}室"
        )
        row = {
            "name": name,
            "phone": f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
            "email": (
                f"{rng.choice(cat.EMAIL_NAMES)}{rng.randint(10, 99999)}@{rng.choice(cat.EMAIL_DOMAINS)}"
                if rng.random() < 0.35
                else ""
            ),
            "tier": Customer.Tier.VIP if vip else Customer.Tier.REGULAR,
            "credit_score": min(950, max(350, credit)),
            "region": region,
            "dedicated_advisor_id": rng.choice(self.ref.agents).id if vip else None,
            "risk_flags": list(rng.choice(cat.RISK_FLAGS)) if rng.random() < 0.03 else [],
            "created_at": None,  # before the first order: set when the chunk is complete
        }
        chunk.customers.append(row)
        chunk.customer_since.append(self.now_ts)
        row["_address"] = address
        row["_index"] = len(chunk.customers) - 1
        return row

    # -- orders --------------------------------------------------------------
    def _order(self, chunk: _Chunk, customer: dict, channel: str, first_pcat: str | None) -> tuple[dict, list[dict]]:
        """An order with 1–3 lines; dated later with ``_date_order``."""
        rng = self.rng
        order = {
            "number": None,
            "customer_id": customer,
            "channel": channel,
            "placed_at": None,
            "delivered_at": None,
            "shipping_address": customer["_address"],
        }
        chunk.orders.append(order)
        lines = []
        used = set()
        for position in range(self.pick_lines(rng)):
            pcat = first_pcat if position == 0 and first_pcat else self.pick_pcat(rng)
            product = rng.choice(self.ref.products[pcat])
            code, label = rng.choice(product.variants)
            sku = f"{product.sku_prefix}-{code}"
            if sku in used:
                continue
            used.add(sku)
            # ¥x9 prices within the product's range
            yuan = min(
                product.high // 100,
                max(product.low // 100, rng.randint(product.low // 1000, product.high // 1000) * 10 + 9),
            )
            price = yuan * 100
            lines.append(
                {
                    "order_id": order,
                    "sku": sku,
                    "product_name": f"{product.name} {label}",
                    "category_id": product.category_id,
                    "unit_price": cents(price),
                    "unit_cost": cents(int(price * rng.uniform(0.4, 0.7))),
                    "quantity": self.pick_qty(rng),
                    "_price": price,
                    "_product": product.name,
                }
            )
        chunk.order_lines.extend(lines)
        return order, lines

    def _date_order(self, chunk: _Chunk, order: dict, placed: int, delivered: int | None) -> None:
        order["placed_at"] = to_dt(placed)
        order["delivered_at"] = to_dt(delivered) if delivered is not None else None
        order["number"] = self._order_number(placed)
        index = order["customer_id"]["_index"]
        if placed < chunk.customer_since[index]:
            chunk.customer_since[index] = placed

    def _extra_order(self, chunk: _Chunk, customer: dict) -> None:
        """An order nobody complained about."""
        rng = self.rng
        order, _ = self._order(chunk, customer, self.pick_channel(rng), None)
        placed = self.now_ts - rng.randint(HOUR, YEAR)
        delivered = placed + rng.randint(DAY, 5 * DAY)
        self._date_order(chunk, order, placed, delivered if delivered < self.now_ts else None)

    def _case(self, chunk: _Chunk, customer: dict) -> None:
        _Story(self, chunk, customer).tell()

    # -- compensation helpers --------------------------------------------------
    def _offer(self, rtype: str, leaf: Leaf, value: int, quick: bool) -> list[tuple[str, int]]:
        """The compensations an agent would propose: (kind, fen)."""
        rng = self.rng
        offer: list[tuple[str, int]] = []
        customer_reason = leaf.attribution == Attribution.CUSTOMER
        if rtype in (RT.RETURN_REFUND, RT.REFUND_ONLY):
            if not quick:
                partial = rtype == RT.REFUND_ONLY and leaf.name == "配件缺失"
                offer.append((K.REFUND, max(100, int(value * rng.uniform(0.1, 0.3))) if partial else value))
            if rtype == RT.RETURN_REFUND and not customer_reason and rng.random() < 0.5:
                offer.append((K.RETURN_SHIPPING, rng.randint(8, 15) * 100))
        elif rtype == RT.PRICE_ADJUSTMENT:
            offer.append((K.REFUND, max(100, int(value * rng.uniform(0.05, 0.3)))))
        elif rtype == RT.EXCHANGE:
            offer.append((K.REPLACEMENT, value))
            if not customer_reason and rng.random() < 0.4:
                offer.append((K.RETURN_SHIPPING, rng.randint(8, 15) * 100))
        elif rtype == RT.REPAIR:
            if rng.random() < 0.5:
                offer.append((K.COUPON, rng.randint(2, 5) * 1000))
        elif rtype == RT.COMPLAINT:
            if rng.random() < 0.4:
                offer.append((K.CASH, rng.randint(1, 10) * 1000))
            else:
                offer.append((K.COUPON, rng.choice((5, 10, 20, 30, 50)) * 100))
        if rtype != RT.COMPLAINT and not customer_reason and rng.random() < 0.15:
            offer.append((K.COUPON, rng.choice((5, 10, 20, 30, 50)) * 100))
        return [(kind, min(amount, value) if kind == K.REFUND else amount) for kind, amount in offer]

    @staticmethod
    def clock_seconds(state: str, version) -> int:
        """Length of ``state``'s stage clock under the policy version."""
        start = datetime(2000, 1, 1, tzinfo=UTC)
        _, due = stage_clock(state, version, start)
        return int((due - start).total_seconds()) if due else DAY

    # -- a chunk ---------------------------------------------------------------
    def build_chunk(self, n_cases: int, n_customers: int, n_extra_orders: int) -> _Chunk:
        chunk = _Chunk()
        customers = [self._customer(chunk) for _ in range(max(1, n_customers))]
        rng = self.rng
        for _ in range(n_cases):
            self._case(chunk, rng.choice(customers))
        for _ in range(n_extra_orders):
            self._extra_order(chunk, rng.choice(customers))
        for row, since in zip(chunk.customers, chunk.customer_since, strict=True):
            row["created_at"] = to_dt(since - rng.randint(0, 400 * DAY))
        return chunk

    def write_chunk(self, chunk: _Chunk, writer, log=None) -> None:
        """Insert one numbered chunk (see ``number_chunk``); call inside the chunk's transaction."""
        for row in chunk.customers:
            del row["_address"], row["_index"]
        writer.insert(Customer, chunk.customers, log=log)
        writer.insert(Order, chunk.orders, ["customer_id"], log=log)
        for line in chunk.order_lines:
            del line["_price"], line["_product"]
        writer.insert(OrderLine, chunk.order_lines, ["order_id"], log=log)
        writer.insert(Case, chunk.cases, ["order_id", "customer_id"], log=log)
        writer.insert(CaseLine, chunk.case_lines, ["case_id", "order_line_id"], log=log)
        writer.insert(CaseKeyword, chunk.keywords, ["case_id"], log=log)
        writer.insert(Inspection, chunk.inspections, ["case_id"], log=log)
        for comp in chunk.compensations:
            del comp["_fen"], comp["_serial"]
        writer.insert(Compensation, chunk.compensations, ["case_id"], log=log)
        # Event data names the rows it is about (as the services record them).
        for target, key, value in chunk.patches:
            if value.__class__ is dict:
                target[key] = value["id"]
            elif key == "lines":
                target[key] = [[line["id"], quantity] for line, quantity in value]
            else:
                target[key] = [item["id"] for item in value]
        for event in chunk.events:
            if event["note"].__class__ is dict:  # a payout: note the reference
                event["note"] = event["note"]["payout_reference"]
        writer.insert(CaseEvent, chunk.events, ["case_id"], log=log)
        writer.insert(TemplateUse, chunk.template_uses, ["case_id", "event_id"], log=log)

    @transaction.atomic
    def number_chunk(self, chunk: _Chunk) -> None:
        """Reserve the chunk's case numbers per local day, as ``case_numbers_reserve`` does.

        In its own short transaction (the day rows stay locked only that long), before
        the chunk is written: numbers of a chunk that then fails are skipped, like a
        sequence's. Payout references, made from case numbers, are set here too.
        """
        order = sorted(range(len(chunk.cases)), key=chunk.case_ts.__getitem__)
        days = [self._local_day(chunk.case_ts[i])[0] for i in order]
        wanted = sorted(Counter(days).items())
        # One upsert: creates the missing days, bumps the others under their row lock
        # (concurrent case_open calls wait for this chunk's commit).
        meta, quote = CaseNumberSequence._meta, connection.ops.quote_name
        table, day_column = quote(meta.db_table), quote(meta.get_field("day").column)
        last_column = quote(meta.get_field("last_value").column)
        sql = (
            f"INSERT INTO {table} ({day_column}, {last_column}) VALUES {', '.join(['(%s, %s)'] * len(wanted))} "
            f"ON CONFLICT ({day_column}) DO UPDATE SET {last_column} = {table}.{last_column} + excluded.{last_column} "
            f"RETURNING {day_column}, {last_column}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for pair in wanted for value in pair])
            last = {str(day): value for day, value in cursor.fetchall()}
        next_value = {day: last[str(day)] - count + 1 for day, count in wanted}
        for i, day in zip(order, days, strict=True):
            value = next_value[day]
            next_value[day] = value + 1
            case = chunk.cases[i]
            case["number"] = format_case_number(day, value)
        # Payout references: unique because case numbers are (wallet-style digits).
        for comp in chunk.compensations:
            if comp["state"] == CS.PAID:
                number = comp["case_id"]["number"]
                digits = number[2:10] + number[11:]
                paid = comp["paid_at"].astimezone(self.tz)
                prefix = PAYOUT_PREFIX.get(comp["kind"], "CPN")
                comp["payout_reference"] = f"{prefix}{paid:%Y%m%d}{digits}{comp['_serial']:02d}"


class _Story:
    """One case and its history, told on a relative clock (seconds since it opened).

    ``plan`` picks the final state, the request, the order and the path of
    transitions; ``walk`` takes the path step by step as the services would
    (events, timestamps, inspection, compensations); ``place`` fixes the
    opening time (finished cases over the past year, open ones recently) and
    pays out; ``emit`` turns it all into rows of the chunk.
    """

    def __init__(self, gen: DemoGenerator, chunk: _Chunk, customer: dict):
        self.gen, self.chunk, self.customer = gen, chunk, customer
        self.rng, self.ref = gen.rng, gen.ref
        self.t = 0  # time of the latest step
        self.entered = 0  # when the current state was entered (the stage clock starts there)
        self.state = S.PENDING_REVIEW
        self.events: list[list] = []  # [t, kind, name, from, to, actor id, note, data]
        self.stamps: dict[str, int] = {}
        self.comps: list[dict] = []
        self.pay_later: list[tuple[dict, int]] = []  # (compensation, delay after it became payable)
        self.working: list[int] = []  # times of actions by agents, QC, supervisors
        self.versions = 1
        self.inspection: dict | None = None
        self.reject_reason = self.escalated_from = self.carrier = self.tracking = ""
        self.queue = self.assignee = None

    def tell(self) -> None:
        self.plan()
        self.walk()
        self.place()
        self.emit()

    # -- plan ------------------------------------------------------------------
    def plan(self) -> None:
        gen, rng, ref = self.gen, self.rng, self.ref
        target = gen.forced_states.pop() if gen.forced_states else gen.pick_state(rng)
        rtype = gen.pick_goods_type(rng) if target in (S.AWAITING_RETURN, S.IN_QC) else gen.pick_type(rng)
        self.target, self.rtype = target, rtype
        self.goods = goods = rtype in GOODS_RETURN_TYPES
        self.leaf = leaf = gen.leaves_for_type[rtype](rng)
        pcat = leaf.products(rng)
        self.channel = gen.pick_channel(rng)
        self.policy, self.version = ref.policy_for(self.channel)
        self.is_vip = self.customer["tier"] == Customer.Tier.VIP

        # The path: transition names (":" argument) from pending_review to ``target``.
        to_compensation = ["approve", "receive", "inspect"] if goods else ["approve"]
        reached_by = {
            S.PENDING_REVIEW: [],
            S.AWAITING_RETURN: ["approve"],
            S.IN_QC: ["approve", "receive"],
            S.COMPENSATION: to_compensation,
            S.AWAITING_APPROVAL: to_compensation,  # the offer is sent for approval in ``place``
            S.AWAITING_CONFIRMATION: [*to_compensation, "propose"],
        }
        late = False
        roll = rng.random()
        if target == S.CLOSED:
            if roll < 0.04:
                path = [*to_compensation, "escalate", "resolve:compensation", "propose", "confirm"]
            elif roll < 0.07:
                path = [*to_compensation, "propose", "escalate", "resolve:closed"]
            else:
                path = [*to_compensation, "propose", "confirm"]
        elif target == S.REJECTED:
            if goods and roll < 0.3:
                path = ["approve", "receive", "inspect:fault"]
            elif roll < 0.94:
                path = ["reject"]
                late = leaf.attribution == Attribution.CUSTOMER and rng.random() < 0.4
            else:
                path = [*to_compensation, "escalate", "resolve:rejected"]
        elif target == S.CANCELLED:
            path = ["approve", "cancel"] if goods and roll < 0.4 else ["cancel"]
        elif target == S.ESCALATED:
            sources = [S.PENDING_REVIEW, S.COMPENSATION, S.AWAITING_CONFIRMATION]
            if goods:
                sources += [S.AWAITING_RETURN, S.IN_QC]
            path = [*reached_by[rng.choice(sources)], "escalate"]
        else:
            path = reached_by[target]

        # The order (each case has its own) and the lines the case is about.
        self.order, lines = gen._order(self.chunk, self.customer, self.channel, pcat)
        claimed = [lines[0]]
        if len(lines) > 1 and rng.random() < 0.3:
            claimed.append(lines[1])
        self.case_lines = [(line, rng.randint(1, line["quantity"])) for line in claimed]
        self.value = sum(line["_price"] * qty for line, qty in self.case_lines)  # fen
        self.product = lines[0]["_product"]

        window = (
            self.policy.quality_return_days
            if leaf.attribution == Attribution.PRODUCT_QUALITY
            else self.policy.no_reason_return_days
        )
        if leaf.undelivered:
            self.delivered_before = None
            self.placed_before = rng.randint(4 * DAY, 12 * DAY)
        else:
            if late:  # opened after the policy window: rejected
                self.delivered_before = (window + rng.randint(1, 20)) * DAY
            else:
                self.delivered_before = int(HOUR + rng.random() ** 2 * (min(window, 10) * DAY - 2 * HOUR))
            self.placed_before = self.delivered_before + rng.randint(DAY, 4 * DAY)
        self.late = late

        self.urgency = gen.pick_urgency(rng)
        if leaf.urgent or target == S.ESCALATED:
            self.urgency = max(self.urgency, 4)
        # Granted at approval whenever eligible, as the services do.
        self.quick = quick_refund_eligible(
            policy=self.version,
            request_type=rtype,
            credit_score=self.customer["credit_score"],
            amount=cents(self.value),
            flagged=bool(self.customer["risk_flags"]),
        )
        if self.quick and target in (S.CANCELLED, S.REJECTED) and path[-1] in ("cancel", "resolve:rejected"):
            # A quick refund blocks cancelling; keep rejected/cancelled cases free of payouts.
            path = ["cancel"] if target == S.CANCELLED else ["reject"]
        self.path = path

        # Queue and assignee as case_open sets them; most cases get an agent.
        if self.is_vip:
            self.queue = ref.queues["vip"]
            self.assignee = gen.agents_by_id.get(self.customer["dedicated_advisor_id"])
        else:
            self.queue = ref.default_queue
            if rng.random() < (0.25 if target == S.PENDING_REVIEW else 0.9):
                skilled = gen.agents_by_skill.get(pcat)
                self.assignee = rng.choice(skilled) if skilled and rng.random() < 0.8 else rng.choice(ref.agents)
        self.supervisor = rng.choice(ref.supervisors)
        self.offer = gen._offer(rtype, leaf, self.value, self.quick)

    # -- helpers -----------------------------------------------------------------
    def agent(self) -> Staff:
        return self.assignee if self.assignee is not None else self.rng.choice(self.ref.agents)

    def customer_side(self, share: float = 0.7) -> Staff:
        """The channel's service account (the customer) or, otherwise, the agent on their behalf."""
        return self.ref.channel_accounts[self.channel] if self.rng.random() < share else self.agent()

    def go(
        self, name: str, target: str, delay: int, actor: Staff | None, note: str = "", data: dict | None = None
    ) -> list:
        self.t += max(MINUTE, delay)
        row = [
            self.t,
            CaseEvent.Kind.TRANSITION,
            name,
            self.state,
            target,
            actor.id if actor else None,
            note,
            data or {},
        ]
        self.events.append(row)
        if actor is not None and actor.id in self.gen.working_ids:
            self.working.append(self.t)
        self.state, self.entered = target, self.t
        self.versions += 1
        return row

    def comp_event(self, at: int, name: str, actor: Staff | None, comp: dict, note: str | None = "") -> None:
        """``note=None``: a payout, noted with its reference once numbered."""
        state = comp["state"]
        self.events.append(
            [at, CaseEvent.Kind.COMPENSATION, name, "", "", actor.id if actor else None, note, (comp, state)]
        )

    def propose_comps(self, until: int, probability: float = 1.0) -> None:
        """The agent proposes the offer between entering compensation and ``until`` (once)."""
        rng = self.rng
        if any(not c["quick_refund"] for c in self.comps) or not self.offer or rng.random() >= probability:
            return
        at = self.entered + int((until - self.entered) * rng.uniform(0.1, 0.7))
        actor = self.agent()
        for kind, fen in self.offer:
            self.comps.append(_comp(kind, fen, CS.PROPOSED, by=actor, at=at))
        self.working.append(at)
        self.versions += len(self.offer)

    def main_category_id(self) -> int | None:
        if not self.case_lines:
            return None
        return max(self.case_lines, key=lambda pair: pair[0]["_price"] * pair[1])[0]["category_id"]

    def sla_breach_stamp(self, opened: int, resolution_minutes: int | None, stamps: dict) -> datetime | None:
        return _sla_breach_stamp(self, opened, resolution_minutes, stamps)

    def submit_if_over_authority(self, until: int, *, always: bool = False) -> None:
        """An offer above its agent's authority goes to a supervisor (``case_submit_offer`` → ``submit_offer``).

        ``always``: the story ends waiting for a supervisor, so an offer within the authority gets a cash
        goodwill item that takes it above (as an agent asking for more than they may grant would).
        """
        pending = [c for c in self.comps if c["state"] == CS.PROPOSED]
        if not pending and not always:
            return
        proposer = next((a for a in self.ref.agents if pending and a.id == pending[0]["proposed_by_id"]), None)
        if proposer is None:
            if not always:
                return
            proposer = self.agent()
        limit = proposer.authority if proposer.authority is not None else self.version.default_agent_authority

        def total() -> Decimal:
            live = [c for c in self.comps if c["state"] in (CS.PROPOSED, CS.APPROVED) and not c["quick_refund"]]
            return cents(sum(c["_fen"] for c in live))

        if total() <= limit:
            if not always:
                return
            extra = int((limit - total()) * 100) + self.rng.randint(1, 30) * 1000
            proposed = pending[0]["proposed_at"] if pending else self.entered + (until - self.entered) // 3
            comp = _comp(K.CASH, extra, CS.PROPOSED, by=proposer, at=proposed)
            self.comps.append(comp)
            pending.append(comp)
            self.versions += 1
        at = min(until, max(c["proposed_at"] for c in pending) + self.rng.randint(MINUTE, 15 * MINUTE))
        note = cat.APPROVAL_REQUEST_NOTE.format(total=total(), limit=limit)
        data = {"total": str(total()), "authority": str(limit), "compensations": []}
        self.chunk.patches.append((data, "compensations", pending))
        self.go("submit_offer", S.AWAITING_APPROVAL, at - self.t, proposer, note, data)

    def make_payable(self, at: int) -> list[dict]:
        """On acceptance: approved compensations become payable; finance pays most later."""
        payable = [c for c in self.comps if c["state"] == CS.APPROVED and not c["payable"]]
        for comp in payable:
            comp["payable"], comp["payable_at"] = True, at
            self.pay_later.append((comp, self.rng.randint(30 * MINUTE, 72 * HOUR)))
        return payable

    # -- walk --------------------------------------------------------------------
    def walk(self) -> None:
        for step in self.path:
            name, _, arg = step.partition(":")
            getattr(self, f"step_{name}")(arg)
        # An offer waiting for a supervisor is sent when the case is placed in time (``submit_if_over_authority``).
        if self.state != (S.COMPENSATION if self.target == S.AWAITING_APPROVAL else self.target):
            raise RuntimeError(f"demo path {self.path} ended in {self.state}, not {self.target}")

    def step_approve(self, _arg) -> None:
        rng, version = self.rng, self.version
        timeout = version.review_timeout_hours * HOUR
        target = S.AWAITING_RETURN if self.goods else S.COMPENSATION
        if rng.random() < 0.15:
            name, actor, delay = "auto_approve", None, timeout + rng.randint(MINUTE, 30 * MINUTE)
            note = f"审核超时（{version.review_timeout_hours}小时）未处理，系统默认同意。"
        else:
            name, actor, note = "approve", self.agent(), ""
            delay = int(10 * MINUTE + rng.random() ** 2 * timeout * 0.8)
        data = {}
        if self.quick:
            at = self.t + delay
            comp = _comp(K.REFUND, self.value, CS.APPROVED, by=actor, at=at, approved=True, payable_at=at, quick=True)
            self.comps.append(comp)
            self.comp_event(at, EventName.COMPENSATION_QUICK_REFUND, actor, comp)
            data["quick_refund"] = str(comp["amount"])
            if "inspect:fault" not in self.path:
                self.pay_later.append((comp, rng.randint(10 * MINUTE, 24 * HOUR)))
        self.go(name, target, delay, actor, note, data)
        self.stamps["approved_at"] = self.t

    def step_reject(self, _arg) -> None:
        rng = self.rng
        actor = self.agent() if rng.random() < 0.8 else self.supervisor
        self.reject_reason = cat.REJECT_LATE if self.late else rng.choice(cat.REJECT_REASONS[self.leaf.attribution])
        delay = int(30 * MINUTE + rng.random() * self.version.review_timeout_hours * HOUR * 0.7)
        self.go("reject", S.REJECTED, delay, actor, self.reject_reason)
        self.stamps["closed_at"] = self.t

    def step_receive(self, _arg) -> None:
        rng = self.rng
        self.carrier, prefix, digits = rng.choice(cat.CARRIERS)
        self.tracking = f"{prefix}{rng.randrange(10 ** (digits - 1), 10**digits)}"
        delay = rng.randint(DAY // 2, self.version.return_ship_days * DAY - HOUR)
        data = {"tracking_number": self.tracking, "carrier": self.carrier}
        self.go("receive", S.IN_QC, delay, rng.choice(self.ref.qc), "", data)
        self.stamps["received_at"] = self.t

    def step_inspect(self, arg) -> None:
        rng = self.rng
        fault = arg == "fault"
        if fault:
            grade, disposition, findings = rng.choice(cat.QC_CUSTOMER_FAULT)
            party = Inspection.Party.CUSTOMER
        else:
            grade, party, disposition, findings = rng.choice(cat.QC_FINDINGS[self.leaf.group])
        inspector = rng.choice(self.ref.qc)
        delay = rng.randint(2 * HOUR, int(self.version.qc_timeout_hours * HOUR * 0.9))
        data = {"inspection": None, "grade": grade, "responsible_party": party}
        self.go("inspect", S.REJECTED if fault else S.COMPENSATION, delay, inspector, findings, data)
        self.inspection = {
            "grade": grade,
            "findings": findings,
            "responsible_party": party,
            "disposition": disposition,
            "inspector_id": inspector.id,
            "inspected_at": self.t,
        }
        self.chunk.patches.append((data, "inspection", self.inspection))
        self.stamps["inspected_at"] = self.t
        if fault:
            self.reject_reason = findings
            self.stamps["closed_at"] = self.t
            if self.quick:  # flagged for recovery; a supervisor voids the unpaid quick refund
                data["quick_refund_recovery"] = True
                at = self.t + rng.randint(HOUR, 8 * HOUR)
                for comp in self.comps:
                    comp["state"], comp["payable"], comp["decision_note"] = CS.VOIDED, False, cat.QUICK_REFUND_VOID_NOTE
                    self.comp_event(at, EventName.COMPENSATION_VOID, self.supervisor, comp, cat.QUICK_REFUND_VOID_NOTE)
                self.working.append(at)
                self.versions += 1

    def step_propose(self, _arg) -> None:
        rng, version = self.rng, self.version
        delay = rng.randint(30 * MINUTE, max(31 * MINUTE, int(version.proposal_timeout_hours * HOUR * 0.9)))
        at = self.t + delay
        self.propose_comps(at)
        actor = self.agent()
        live = [c for c in self.comps if c["state"] in (CS.PROPOSED, CS.APPROVED)]
        pending = [c for c in live if c["state"] == CS.PROPOSED]
        total = sum(c["_fen"] for c in live if not c["quick_refund"])
        limit = actor.authority if actor.authority is not None else version.default_agent_authority
        approved = pending
        if pending and actor in self.ref.agents and cents(total) > limit:
            # Over the agent's authority: a supervisor approves first (compensation_approve).
            approver, approved_at, approved = self.supervisor, at - rng.randint(MINUTE, 20 * MINUTE), []
            self.working.append(approved_at)
            self.versions += len(pending)
        else:
            approver, approved_at = actor, at
        for comp in pending:
            comp["state"], comp["approved_by_id"], comp["approved_at"] = CS.APPROVED, approver.id, approved_at
        note = "；".join(f"{cat.COMPENSATION_NOTES[c['kind']]}¥{c['amount']}" for c in live if not c["quick_refund"])
        if note:
            note += "。"
        elif self.rtype == RT.REPAIR:
            note = cat.REPAIR_OFFER
        elif live:
            note = cat.QUICK_REFUND_OFFER.format(amount=live[0]["amount"])
        else:
            note = cat.NO_COMPENSATION_OFFER
        if self.rtype == RT.REPAIR and note != cat.REPAIR_OFFER:
            note = cat.REPAIR_OFFER + note
        data = {"total": str(cents(sum(c["_fen"] for c in live))), "approved": []}
        self.chunk.patches.append((data, "approved", approved))
        self.go("propose", S.AWAITING_CONFIRMATION, delay, actor, note, data)
        self.stamps["proposed_at"] = self.t

    def step_confirm(self, _arg) -> None:
        rng, version = self.rng, self.version
        timeout = version.confirm_timeout_hours * HOUR
        if rng.random() < 0.2:
            name, actor, delay = "auto_confirm", None, timeout + rng.randint(MINUTE, 30 * MINUTE)
            note = f"顾客{version.confirm_timeout_hours}小时内未答复，系统默认接受方案。"
        else:
            name, actor = "confirm", self.customer_side()
            delay, note = rng.randint(10 * MINUTE, int(timeout * 0.9)), rng.choice(cat.CONFIRM_NOTES)
        data = {"payable": []}
        self.chunk.patches.append((data, "payable", self.make_payable(self.t + delay)))
        self.go(name, S.CLOSED, delay, actor, note, data)
        self.stamps["closed_at"] = self.t

    def step_cancel(self, _arg) -> None:
        version = self.version
        limit = (
            version.review_timeout_hours * HOUR if self.state == S.PENDING_REVIEW else version.return_ship_days * DAY
        )
        delay = self.rng.randint(20 * MINUTE, int(limit * 0.9))
        self.go("cancel", S.CANCELLED, delay, self.customer_side(), self.rng.choice(cat.CANCEL_NOTES))
        self.stamps["closed_at"] = self.t

    def step_escalate(self, _arg) -> None:
        rng, ref = self.rng, self.ref
        if self.state == S.COMPENSATION:
            self.propose_comps(self.t + HOUR, probability=0.7)
        roll = rng.random()
        if roll < 0.4:
            actor, note = self.supervisor, rng.choice(cat.ESCALATE_NOTES)
        elif roll < 0.7:
            actor, note = ref.channel_accounts[self.channel], rng.choice(cat.ESCALATE_NOTES)
        else:
            actor, note = None, cat.ESCALATE_SYSTEM_NOTE
        self.escalated_from = self.state
        clock = self.gen.clock_seconds(self.state, self.version)
        delay = rng.randint(HOUR, max(HOUR + 1, int(min(clock, 2 * DAY) * 0.9)))
        self.go("escalate", S.ESCALATED, delay, actor, note)
        self.stamps["escalated_at"] = self.t
        # A supervisor takes it over in the escalation (or crisis) queue: case_update.
        old_queue, old_assignee = self.queue, self.assignee
        crisis = self.urgency == 5 or bool(self.customer["risk_flags"])
        self.queue = ref.queues["crisis" if crisis else "escalation"]
        self.assignee = self.supervisor
        self.t += rng.randint(5 * MINUTE, 2 * HOUR)
        changes = {
            "queue": [old_queue.name, self.queue.name],
            "assignee": [old_assignee.username if old_assignee else "", self.supervisor.username],
        }
        self.events.append(
            [
                self.t,
                CaseEvent.Kind.ASSIGNMENT,
                EventName.UPDATE,
                "",
                "",
                self.supervisor.id,
                "转主管处理",
                {"changes": changes},
            ]
        )
        self.working.append(self.t)
        self.versions += 1

    def step_resolve(self, decision) -> None:
        rng = self.rng
        delay = rng.randint(2 * HOUR, int(self.version.escalation_timeout_hours * HOUR * 0.9))
        at = self.t + delay
        data = {"decision": decision}
        if decision == S.CLOSED:
            data["payable"] = []
            self.chunk.patches.append((data, "payable", self.make_payable(at)))
        elif decision == S.REJECTED:
            voided = [c for c in self.comps if c["state"] in (CS.PROPOSED, CS.APPROVED) and not c["payable"]]
            for comp in voided:
                comp["state"], comp["decision_note"] = CS.VOIDED, cat.RESOLVE_VOID_NOTE
                self.comp_event(at, EventName.COMPENSATION_VOID, self.supervisor, comp, cat.RESOLVE_VOID_NOTE)
            data["voided"] = []
            self.chunk.patches.append((data, "voided", voided))
        note = cat.RESOLVE_NOTES[decision]
        self.go("resolve_escalation", decision, delay, self.supervisor, note, data)
        if decision in (S.CLOSED, S.REJECTED):
            self.stamps["closed_at"] = self.t
        if decision == S.REJECTED:
            self.reject_reason = note

    # -- place in time -----------------------------------------------------------
    def place(self) -> None:
        """Finished cases opened over the past year; open ones recently, part-way through their stage clock."""
        rng, gen = self.rng, self.gen
        end = max(self.t, max(e[0] for e in self.events) if self.events else 0)
        if self.state in FINAL_STATES:
            horizon = end + 4 * DAY  # payouts and the rating come later
            self.opened_ts = gen.now_ts - rng.randint(horizon, max(horizon + DAY, YEAR))
            self.waiting_on, self.due = WaitingOn.NOBODY, None
        else:
            clock = gen.clock_seconds(self.state, self.version)
            # pending_review and awaiting_confirmation are swept when their clock runs out
            share = 0.95 if self.state in (S.PENDING_REVIEW, S.AWAITING_CONFIRMATION) else 1.4
            dwell = max(end - self.entered + MINUTE, rng.randint(5 * MINUTE, int(clock * share)))
            story_end = self.entered + dwell
            if self.state == S.COMPENSATION:
                waits = self.target == S.AWAITING_APPROVAL
                self.propose_comps(story_end, probability=1.0 if waits else 0.7)
                self.submit_if_over_authority(story_end, always=waits)
            self.opened_ts = gen.now_ts - story_end
            self.waiting_on, self.due = stage_clock(self.state, self.version, to_dt(self.opened_ts + self.entered))
        now = gen.now_ts - self.opened_ts
        serial = 0
        for comp, delay in self.pay_later:
            paid = comp["payable_at"] + delay
            if paid < now and rng.random() < (0.85 if comp["quick_refund"] else 0.7):
                serial += 1
                comp["state"], comp["paid_at"], comp["_serial"] = CS.PAID, paid, serial
                payer = rng.choice(self.ref.finance)
                comp["paid_by_id"] = payer.id
                self.comp_event(paid, EventName.COMPENSATION_MARK_PAID, payer, comp, None)

    # -- emit --------------------------------------------------------------------
    def emit(self) -> None:
        rng, gen, chunk = self.rng, self.gen, self.chunk
        opened = self.opened_ts
        gen._date_order(
            chunk,
            self.order,
            opened - self.placed_before,
            None if self.delivered_before is None else opened - self.delivered_before,
        )
        stamps = self.stamps
        csat = nps = rated = None
        if self.state == S.CLOSED and rng.random() < 0.6:
            csat = gen.pick_csat(rng)
            nps = min(10, max(0, csat * 2 + rng.randint(-2, 1)))
            rated = to_dt(opened + stamps["closed_at"] + rng.randint(HOUR, 3 * DAY))
        evidence = []
        if self.leaf.attribution in (Attribution.PRODUCT_QUALITY, Attribution.SERVICE) and rng.random() < 0.7:
            evidence = [f"evidence/{rng.getrandbits(40):010x}.jpg" for _ in range(rng.randint(1, 3))]

        def at(key: str) -> datetime | None:
            return to_dt(opened + stamps[key]) if key in stamps else None

        priority = initial_priority(
            urgency=self.urgency, is_vip=self.is_vip, claim_value=cents(self.value), request_type=self.rtype
        )
        first_minutes, resolution_minutes = gen.sla.get(priority, (None, None))

        case = {
            "number": None,  # reserved when the chunk is written
            "order_id": self.order,
            "customer_id": self.customer,
            "request_type": self.rtype,
            "category_id": self.leaf.id,
            "reason": rng.choice(self.leaf.reasons).format(product=self.product),
            "evidence": evidence,
            "main_category_id": self.main_category_id(),
            "channel": self.channel,
            "urgency": self.urgency,
            "priority": priority,
            "queue_id": self.queue.pk,
            "assignee_id": self.assignee.id if self.assignee else None,
            "state": self.state,
            "escalated_from": self.escalated_from,
            "policy_id": self.policy.pk,
            "policy_version_id": self.version.pk,
            "quick_refund": self.quick and "approve" in self.path,
            "return_carrier": self.carrier,
            "return_tracking_number": self.tracking,
            "reject_reason": self.reject_reason,
            "csat": csat,
            "nps": nps,
            "rated_at": rated,
            "opened_at": to_dt(opened),
            "first_response_at": to_dt(opened + min(self.working)) if self.working else None,
            "approved_at": at("approved_at"),
            "received_at": at("received_at"),
            "inspected_at": at("inspected_at"),
            "proposed_at": at("proposed_at"),
            "escalated_at": at("escalated_at"),
            "closed_at": at("closed_at"),
            "stage_due_at": self.due,
            "first_response_due_at": to_dt(opened + first_minutes * MINUTE) if first_minutes else None,
            "resolution_due_at": to_dt(opened + resolution_minutes * MINUTE) if resolution_minutes else None,
            # Deadlines already handled when the data was made: no sweep re-alerts the past.
            "first_response_breached_at": to_dt(opened + first_minutes * MINUTE)
            if first_minutes
            and (not self.working or min(self.working) > first_minutes * MINUTE)
            and opened + first_minutes * MINUTE < gen.now_ts
            else None,
            "sla_breached_at": self.sla_breach_stamp(opened, resolution_minutes, stamps),
            "waiting_on": self.waiting_on,
            "version": self.versions,
        }
        chunk.cases.append(case)
        chunk.case_ts.append(opened)
        for line, qty in self.case_lines:
            chunk.case_lines.append({"case_id": case, "order_line_id": line, "quantity": qty})
        main_line = max(self.case_lines, key=lambda pair: pair[0]["_price"] * pair[1])[0] if self.case_lines else None
        for word in gen.keywords_of(case["reason"]):
            chunk.keywords.append(
                {
                    "case_id": case,
                    "word": word,
                    "opened_at": case["opened_at"],
                    "product_category_id": main_line["category_id"] if main_line else None,
                    "sku": main_line["sku"] if main_line else "",
                }
            )
        if self.inspection is not None:
            self.inspection["case_id"] = case
            self.inspection["inspected_at"] = to_dt(opened + self.inspection["inspected_at"])
            chunk.inspections.append(self.inspection)
        for comp in self.comps:
            comp["case_id"] = case
            for key in ("proposed_at", "approved_at", "payable_at", "paid_at"):
                if comp[key] is not None:
                    comp[key] = to_dt(opened + comp[key])
            chunk.compensations.append(comp)

        opened_by = self.customer_side(0.75)
        claim = {"lines": [], "claim_value": str(cents(self.value))}
        chunk.patches.append((claim, "lines", self.case_lines))
        events = chunk.events
        events.append(
            {
                "case_id": case,
                "kind": CaseEvent.Kind.OPENED,
                "name": EventName.OPEN,
                "from_state": "",
                "to_state": S.PENDING_REVIEW,
                "actor_id": opened_by.id,
                "note": case["reason"],
                "data": claim,
                "created_at": case["opened_at"],
            }
        )
        if self.working and rng.random() < 0.5:
            # The agent's first answer came from the template library (a reply and its template use).
            template = gen.ack_template_for(
                rng, rtype=self.rtype, category=case["main_category_id"], channel=self.channel, vip=self.is_vip
            )
            if template is not None:
                note = cat.TEMPLATE_REPLY_NOTE.format(title=template[3])
                data = {"template": template[2], "version": template[1], "_use": template}
                self.events.append(
                    [min(self.working), CaseEvent.Kind.REPLY, EventName.REPLY, "", "", self.agent().id, note, data]
                )
        self.events.sort(key=_first)  # stable: same-time events keep the services' order
        for t, kind, name, before, after, actor_id, note, data in self.events:
            if kind == CaseEvent.Kind.REPLY and "_use" in data:
                template = data.pop("_use")
                event = {
                    "case_id": case,
                    "kind": kind,
                    "name": name,
                    "from_state": "",
                    "to_state": "",
                    "actor_id": actor_id,
                    "note": note,
                    "data": data,
                    "created_at": to_dt(opened + t),
                }
                events.append(event)
                chunk.template_uses.append(
                    {
                        "template_id": template[0],
                        "version_id": template[1],
                        "case_id": case,
                        "event_id": event,
                        "actor_id": actor_id,
                        "edited": rng.random() < 0.3,
                        "used_at": event["created_at"],
                    }
                )
                continue
            if kind == CaseEvent.Kind.COMPENSATION and isinstance(data, tuple):
                comp, state = data
                data = {"compensation": None, "kind": comp["kind"], "amount": str(comp["amount"]), "state": state}
                chunk.patches.append((data, "compensation", comp))
                if note is None:
                    note = comp  # replaced by its payout reference once numbered
            events.append(
                {
                    "case_id": case,
                    "kind": kind,
                    "name": name,
                    "from_state": before,
                    "to_state": after,
                    "actor_id": actor_id,
                    "note": note,
                    "data": data,
                    "created_at": to_dt(opened + t),
                }
            )


def _first(item):
    return item[0]


def _sla_breach_stamp(story, opened: int, resolution_minutes: int | None, stamps: dict) -> datetime | None:
    """When the resolution target was missed, if it was (the sweep's mark, so it does not fire again)."""
    if not resolution_minutes:
        return None
    due = opened + resolution_minutes * MINUTE
    finished = opened + stamps["closed_at"] if "closed_at" in stamps else None
    if due >= story.gen.now_ts or (finished is not None and finished <= due):
        return None
    return to_dt(due)


def _comp(
    kind: str,
    fen: int,
    state: str,
    *,
    by: Staff | None,
    at: int,
    approved: bool = False,
    payable_at: int | None = None,
    quick: bool = False,
) -> dict:
    """A compensation row (times relative to the opening until the case is placed)."""
    by_id = by.id if by else None
    return {
        "case_id": None,
        "kind": kind,
        "amount": cents(fen),
        "state": state,
        "note": cat.QUICK_REFUND_NOTE if quick else cat.COMPENSATION_NOTES[kind],
        "quick_refund": quick,
        "payable": payable_at is not None,
        "payable_at": payable_at,
        "proposed_by_id": by_id,
        "proposed_at": at,
        "approved_by_id": by_id if approved else None,
        "approved_at": at if approved else None,
        "paid_by_id": None,
        "paid_at": None,
        "payout_reference": None,
        "decision_note": "",
        "_fen": fen,
        "_serial": 0,
    }


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------
def seed(
    *,
    cases: int = DEFAULT_CASES,
    seed: int = DEFAULT_SEED,
    batch: int = DEFAULT_BATCH,
    if_empty: bool = False,
    log: Callable[[str], None] = print,
    now: datetime | None = None,
    copy: bool | None = None,
    row_fk_checks: bool = False,
    pipeline: bool | None = None,
) -> Counter:
    """Create ``cases`` demo cases (with customers, orders and history). Returns row counts per model.

    ``copy``: COPY instead of ``bulk_create`` (default: on PostgreSQL); ``row_fk_checks``:
    keep PostgreSQL's row-by-row foreign-key checks (see ``CopyWriter``).
    ``pipeline``: generate (and number) chunks in this thread while ``PIPELINE_WRITERS``
    threads, each on its own connection, write them (default: on PostgreSQL, unless
    already inside a transaction, whose uncommitted rows other connections could not see).
    ``now``: the moment the data leads up to (default: now); with ``seed`` it makes runs repeatable.
    """
    if if_empty and Case.objects.exists():
        log("Cases already exist: nothing to seed (--if-empty).")
        return Counter()
    if cases < 1 or batch < 1:
        raise ValueError("cases and batch must be positive")
    started = time.monotonic()
    ref = ensure_reference_data()
    log(
        f"Reference data ready: {len(ref.products)} product categories, {len(ref.leaves)} problem leaves, "
        f"{len(ref.queues)} queues, {len(ref.policies)} policies, "
        f"{len(ref.agents) + len(ref.qc) + len(ref.supervisors) + len(ref.finance)} staff."
    )
    generator = DemoGenerator(ref, seed=seed, now=now)
    writer = make_writer(batch, copy=copy, row_fk_checks=row_fk_checks)
    referenced = ref.referenced_rows()
    if pipeline is None:
        pipeline = connection.vendor == "postgresql" and not connection.in_atomic_block
    # About one after-sales case a year per customer who has any (most customers never claim).
    total_customers = max(50, round(cases / 1.5))
    total_extra = round(cases * 1.5)
    progress = _Progress(cases, batch, started, log)

    def chunks():
        done = 0
        while done < cases:
            end = min(cases, done + batch)
            n_customers = total_customers * end // cases - total_customers * done // cases
            n_extra = total_extra * end // cases - total_extra * done // cases
            chunk = generator.build_chunk(end - done, n_customers, n_extra)
            generator.number_chunk(chunk)
            yield chunk
            done = end

    def write(chunk: _Chunk) -> None:
        with transaction.atomic():
            chunk_log = writer.begin_chunk(referenced)
            generator.write_chunk(chunk, writer, chunk_log)
            writer.end_chunk(chunk_log)
        progress.add(len(chunk.cases))

    # The chunks hold no reference cycles: the cyclic GC would only rescan them.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        if pipeline:
            pipelined(chunks(), write, writers=PIPELINE_WRITERS)
        else:
            for chunk in chunks():
                write(chunk)
    finally:
        if gc_was_enabled:
            gc.enable()
    elapsed = time.monotonic() - started
    summary = ", ".join(f"{model._meta.verbose_name_plural}: {count:,}" for model, count in writer.counts.items())
    mode = writer.description + (", pipelined" if pipeline else "")
    # Last month's template health report, as the monthly job would have made it.
    from aftersales.replies.health import health_report_generate, previous_month

    month = previous_month(timezone.localdate())
    if not HealthReport.objects.filter(month=month).exists():
        health_report_generate(month=month, notify=False)
        log(f"Template health report for {month:%Y-%m} made.")
    log(
        f"Seeded {progress.done:,} cases in {elapsed:,.1f}s ({progress.done / elapsed:,.0f} cases/s, {mode}). {summary}."
    )

    return writer.counts


class _Progress:
    def __init__(self, total: int, batch: int, started: float, log: Callable[[str], None]):
        self.total, self.started, self.log = total, started, log
        self.verbose = total > batch
        self.done = 0
        self._lock = threading.Lock()

    def add(self, count: int) -> None:
        with self._lock:
            self._add(count)

    def _add(self, count: int) -> None:
        self.done += count
        if self.verbose:
            elapsed = time.monotonic() - self.started
            rate = self.done / elapsed
            self.log(
                f"  {self.done:>9,}/{self.total:,} cases  {rate:,.0f} cases/s  ETA {(self.total - self.done) / rate:,.0f}s"
            )
