"""A small hand-built month (November 2026, Asia/Shanghai) whose report figures are worked out by hand.

Orders (placed) and gross margins:
  O1 (customer A, VIP) 11-02: L1 服饰 2 × ¥100 (cost 40) → margin 120; L2 数码 1 × ¥1,000 (cost 700) → 300
  O2 (customer B)      11-03: L3 服饰 1 × ¥200 (cost 120) → margin 80
  O3 (customer B)      11-20: L4 服饰 1 × ¥50 (cost 30)  → margin 20   (B buys again after their case)
Cases (all by services, with explicit local times):
  C1 A/O1/L2 return+refund, opened Wed 11-04 09:00, approved 10:00 (first response 1 h), received, inspected,
     supervisor offers refund ¥1,000 + return shipping ¥12 (approved 11-05 10:00), accepted 11-06 10:00;
     paid: refund 11-10 23:30, shipping 11-11 00:30 (UTC 11-10 16:30). CSAT 5, NPS 10.
  C2 B/O2/L3 refund only, opened Thu 11-05 22:00, approved 11-06 06:00 (8 h), agent offers refund ¥40, coupon ¥20
     (refused by the supervisor), cash ¥30; sent 11-06 09:00, accepted 11-07 10:00; cash paid 11-12 10:00,
     the refund stays approved and unpaid. CSAT 3, NPS 5.
  C3 A/O1 complaint (no goods), opened Tue 11-10 23:30 (UTC 15:30), approved 11-11 01:30, still open.
All three are assigned to the agent.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from aftersales import services
from aftersales.models import Case, Compensation
from tests.factories import CustomerFactory, OrderFactory, OrderLineFactory, ProductCategoryFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def november(db, users, policy):
    agent, qc, supervisor, finance, channel = (users[r] for r in ("agent", "qc", "supervisor", "finance", "channel"))
    apparel = ProductCategoryFactory(code="apparel", name="服饰")
    digital = ProductCategoryFactory(code="digital", name="数码")
    a = CustomerFactory(name="顾客甲", tier="vip", phone="13800000001")
    b = CustomerFactory(name="顾客乙", phone="13900000002")

    o1 = OrderFactory(number="DD20261102001", customer=a, placed_at=local(11, 2, 10), delivered_at=local(11, 3, 10))
    OrderLineFactory(
        order=o1, sku="TS-1", category=apparel, unit_price=Decimal("100"), unit_cost=Decimal("40"), quantity=2
    )
    l2 = OrderLineFactory(
        order=o1, sku="EP-1", category=digital, unit_price=Decimal("1000"), unit_cost=Decimal("700"), quantity=1
    )
    o2 = OrderFactory(number="DD20261103001", customer=b, placed_at=local(11, 3, 12), delivered_at=local(11, 4, 12))
    l3 = OrderLineFactory(
        order=o2, sku="HD-1", category=apparel, unit_price=Decimal("200"), unit_cost=Decimal("120"), quantity=1
    )
    o3 = OrderFactory(number="DD20261120001", customer=b, placed_at=local(11, 20, 9), delivered_at=local(11, 21, 9))
    OrderLineFactory(
        order=o3, sku="SK-1", category=apparel, unit_price=Decimal("50"), unit_cost=Decimal("30"), quantity=1
    )

    # C1
    c1 = services.case_open(
        actor=channel,
        order_id=o1.pk,
        lines=[(l2.pk, 1)],
        request_type="return_refund",
        reason="蓝牙耳机电池鼓包，充电发烫",
        at=local(11, 4, 9),
    )
    services.case_approve(case_id=c1.pk, actor=agent, at=local(11, 4, 10))
    services.case_receive(case_id=c1.pk, actor=qc, tracking_number="SF1", at=local(11, 4, 15))
    services.case_inspect(
        case_id=c1.pk,
        actor=qc,
        grade="C",
        responsible_party="merchant",
        disposition="refurbish",
        findings="电池鼓包",
        at=local(11, 5, 9),
    )
    k1 = services.compensation_add(
        case_id=c1.pk, actor=supervisor, kind="refund", amount="1000", at=local(11, 5, 9, 30)
    )
    k2 = services.compensation_add(
        case_id=c1.pk, actor=supervisor, kind="return_shipping", amount="12", at=local(11, 5, 9, 30)
    )
    services.case_propose(case_id=c1.pk, actor=supervisor, at=local(11, 5, 10))
    services.case_confirm(case_id=c1.pk, actor=channel, at=local(11, 6, 10))
    services.compensation_mark_paid(
        compensation_id=k1.pk, actor=finance, payout_reference="P-K1", at=local(11, 10, 23, 30)
    )
    services.compensation_mark_paid(
        compensation_id=k2.pk, actor=finance, payout_reference="P-K2", at=local(11, 11, 0, 30)
    )
    Case.objects.filter(pk=c1.pk).update(csat=5, nps=10, rated_at=local(11, 6, 12), assignee=agent)

    # C2
    c2 = services.case_open(
        actor=channel,
        order_id=o2.pk,
        lines=[(l3.pk, 1)],
        request_type="refund_only",
        reason="卫衣起球严重",
        at=local(11, 5, 22),
    )
    services.case_approve(case_id=c2.pk, actor=agent, at=local(11, 6, 6))
    k3 = services.compensation_add(case_id=c2.pk, actor=agent, kind="refund", amount="40", at=local(11, 6, 7))
    k4 = services.compensation_add(case_id=c2.pk, actor=agent, kind="coupon", amount="20", at=local(11, 6, 7))
    k5 = services.compensation_add(case_id=c2.pk, actor=agent, kind="cash", amount="30", at=local(11, 6, 7))
    services.compensation_reject(compensation_id=k4.pk, actor=supervisor, note="不发券", at=local(11, 6, 8))
    services.case_propose(case_id=c2.pk, actor=agent, at=local(11, 6, 9))
    services.case_confirm(case_id=c2.pk, actor=channel, at=local(11, 7, 10))
    services.compensation_mark_paid(compensation_id=k5.pk, actor=finance, payout_reference="P-K5", at=local(11, 12, 10))
    Case.objects.filter(pk=c2.pk).update(csat=3, nps=5, rated_at=local(11, 7, 12), assignee=agent)

    # C3
    c3 = services.case_open(
        actor=channel,
        order_id=o1.pk,
        lines=[],
        request_type="complaint",
        reason="耳机电池鼓包，客服一直不回复",
        at=local(11, 10, 23, 30),
    )
    services.case_approve(case_id=c3.pk, actor=supervisor, override_window=True, at=local(11, 11, 1, 30))
    Case.objects.filter(pk=c3.pk).update(assignee=agent)

    assert set(Compensation.objects.values_list("state", flat=True)) == {"paid", "approved", "rejected"}
    return {
        "cases": (c1, c2, c3),
        "comps": {k.pk: k for k in (k1, k2, k3, k4, k5)},
        "k": (k1, k2, k3, k4, k5),
        "categories": {"apparel": apparel, "digital": digital},
        "customers": (a, b),
    }
