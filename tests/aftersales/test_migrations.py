"""Data migrations move what exists into the new shape, and back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

#: aftersales before the migration; the other apps stay at their latest (what the data below is made with).
BEFORE = [("aftersales", "0015_apikey_rate_format")] + [
    node for node in MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes() if node[0] == "customers"
]
AFTER = [("aftersales", "0016_awaiting_approval")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _case(apps, *, number, state, requested_at=None, requested_by=None, policy, version):
    Customer = apps.get_model("customers", "Customer")
    Order = apps.get_model("customers", "Order")
    Case = apps.get_model("aftersales", "Case")
    customer = Customer.objects.create(name="顾客", phone=f"1380000{number[-4:]}", region="上海")
    order = Order.objects.create(
        number=f"DD{number[-6:]}", customer=customer, channel="app", placed_at=timezone.now(), shipping_address="上海"
    )
    return Case.objects.create(
        number=number,
        order=order,
        customer=customer,
        request_type="refund_only",
        channel="app",
        state=state,
        policy=policy,
        policy_version=version,
        offer_approval_requested_at=requested_at,
        offer_approval_requested_by=requested_by,
        waiting_on="merchant",
        stage_due_at=timezone.now() + timedelta(hours=24),
    )


@pytest.mark.django_db(transaction=True)
def test_offers_waiting_for_a_supervisor_move_into_awaiting_approval_and_back():
    old = _migrate(BEFORE)
    try:
        User = old.get_model("auth", "User")
        Policy = old.get_model("aftersales", "Policy")
        HistoricalPolicy = old.get_model("aftersales", "HistoricalPolicy")
        CaseEvent = old.get_model("aftersales", "CaseEvent")
        agent = User.objects.create(username="agent-m")
        policy = Policy.objects.create(name="默认")
        version = HistoricalPolicy.objects.create(
            id=policy.pk,
            name="默认",
            history_date=timezone.now(),
            history_type="+",
            active=True,
            updated_at=timezone.now(),
        )
        asked = timezone.now() - timedelta(hours=3)
        waiting = _case(
            old,
            number="AS20261201-000001",
            state="compensation",
            requested_at=asked,
            requested_by=agent,
            policy=policy,
            version=version,
        )
        CaseEvent.objects.create(
            case=waiting,
            kind="compensation",
            name="offer_approval_requested",
            actor=agent,
            created_at=asked,
            data={"total": "1299.00"},
        )
        working = _case(old, number="AS20261201-000002", state="compensation", policy=policy, version=version)

        new = _migrate(AFTER)
        Case = new.get_model("aftersales", "Case")
        moved = Case.objects.get(pk=waiting.pk)
        assert (moved.state, moved.waiting_on) == ("awaiting_approval", "supervisor")
        assert moved.stage_due_at == asked + timedelta(hours=8)  # the new policy field's default
        event = new.get_model("aftersales", "CaseEvent").objects.get(case_id=waiting.pk)
        assert (event.kind, event.name, event.from_state, event.to_state) == (
            "transition",
            "submit_offer",
            "compensation",
            "awaiting_approval",
        )
        assert event.actor_id == agent.pk and event.created_at == asked and event.data == {"total": "1299.00"}
        assert Case.objects.get(pk=working.pk).state == "compensation"

        back = _migrate(BEFORE)
        restored = back.get_model("aftersales", "Case").objects.get(pk=waiting.pk)
        assert restored.state == "compensation"
        assert (restored.offer_approval_requested_at, restored.offer_approval_requested_by_id) == (asked, agent.pk)
        assert (
            back.get_model("aftersales", "CaseEvent").objects.get(case_id=waiting.pk).name == "offer_approval_requested"
        )
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
