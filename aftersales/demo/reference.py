"""The demo's reference data, created idempotently with ordinary ORM saves: product and problem categories,
queues, policies, the staff pool (one user per role and more), the channels' service accounts, the reply
templates and the automation rules."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from aftersales.demo import catalog as cat
from aftersales.demo.common import Weighted
from aftersales.models import (
    AgentProfile,
    AutomationRule,
    Policy,
    ProblemCategory,
    Queue,
    ResponseTemplate,
)
from aftersales.permissions import AGENT, CHANNEL, FINANCE, QC, SUPERVISOR
from aftersales.services.order_files import import_order_rows
from customers.models import Channel, Order, ProductCategory

QUEUES = [
    # code, name, purpose, default?
    ("general", "普通售后", Queue.Purpose.GENERAL, True),
    ("vip", "VIP专席", Queue.Purpose.VIP, False),
    ("crisis", "危机处理", Queue.Purpose.CRISIS, False),
    ("escalation", "升级处理", Queue.Purpose.ESCALATION, False),
]
#: The returns warehouse every demo policy sends goods back to.
RETURN_TO = {
    "return_recipient": "售后仓 王建国",
    "return_phone": "021-59886000",
    "return_address": "上海市嘉定区马陆镇博学路1288号 3号库 售后组 201801",
    "return_instructions": "请在包裹内放入写有售后单号的纸条；不接受到付，运费按政策补贴。",
}
POLICIES = [
    ("", {"name": "默认售后政策", **RETURN_TO}),
    # The shop's own app takes WeChat Pay: its refunds go back through the payment, settled by the app's system.
    (
        Channel.APP,
        {
            "name": "App 渠道售后政策",
            "refund_settlement": "channel",
            "settlement_timeout_hours": 48,
            "pickup_offered": True,
            **RETURN_TO,
        },
    ),
    (
        Channel.LIVE_STREAM,
        {
            **RETURN_TO,
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
            granted_kind=cat.TEMPLATE_GRANTED_KIND.get(code, ""),
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


#: A small file of the shop's orders (no cases yet), read by the admin's import when the demo is seeded — and a
#: sample to try the import with.
SHOP_ORDERS = Path(__file__).with_name("shop_orders.csv")
TIME_COLUMNS = ("下单时间", "付款时间", "发货时间", "签收时间", "更新时间")


def import_shop_orders(ref: Reference, *, now: datetime | None = None) -> int:
    """Bring in ``shop_orders.csv`` through the same path as the admin's import (as a supervisor), its times moved
    so the last one is a day before ``now``. Returns the number of orders created (0 when they are there)."""
    with SHOP_ORDERS.open(encoding="utf-8") as handle:
        reader = csv.reader(handle)
        headers = next(reader)
        rows = list(reader)
    if Order.objects.filter(number__in={row[0] for row in rows}).exists():
        return 0  # imported by an earlier run
    columns = [headers.index(name) for name in TIME_COLUMNS if name in headers]
    times = [datetime.fromisoformat(row[i]) for row in rows for i in columns if row[i]]
    shift = timezone.localtime(now or timezone.now()).replace(tzinfo=None) - timedelta(days=1) - max(times)
    for row in rows:
        for i in columns:
            if row[i]:
                row[i] = (datetime.fromisoformat(row[i]) + shift).isoformat(sep=" ", timespec="seconds")
    supervisor = get_user_model().objects.get(pk=ref.supervisors[0].id)
    outcomes = import_order_rows(headers, rows, actor=supervisor)
    wrong = [outcome.errors for outcome in outcomes if outcome.result == "error"]
    if wrong:
        raise RuntimeError(f"{SHOP_ORDERS.name} does not import: {wrong[:3]}")
    return len({outcome.order.pk for outcome in outcomes if outcome.result == "created"})
