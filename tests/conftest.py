from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth.models import Group

from aftersales import services
from aftersales.models import CaseState, Inspection
from aftersales.permissions import ROLES, sync_role_groups
from tests.factories import (
    OrderFactory,
    OrderLineFactory,
    PolicyFactory,
    ProductCategoryFactory,
    UserFactory,
)

#: Local stand-ins for the SMS and mini-program clouds (fixtures ``aliyun``, ``tencent``, ``wechat``, ``moved``).
pytest_plugins = ["tests.cloud_receivers"]

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
#: CI sets REQUIRE_BROWSER=1: a missing Chromium then fails the browser tests instead of skipping them.
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER", "") not in ("", "0")
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts"))


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://… (CI does)")
    skip_browser = pytest.mark.skip(reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium; CI does)")
    for item in items:
        if "postgres" in item.keywords and not ON_POSTGRES:
            item.add_marker(skip_pg)
        if "browser" in item.keywords and not CHROMIUM.exists() and not REQUIRE_BROWSER:
            item.add_marker(skip_browser)


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright (``playwright install`` cannot work offline)."""
    # Playwright's sync API runs an event loop in this thread; Django's ORM must still be usable.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def artifacts() -> Path:
    """Where browser tests save screenshots (``test-artifacts/``; CI keeps them)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CELERY_BROKER_URL = ""


@pytest.fixture(autouse=True)
def _automation_defaults(request):
    """The SLA targets, thresholds and lexicon the data migration creates (transactional tests flush them)."""
    marker = request.node.get_closest_marker("django_db")
    names = request.fixturenames
    if "transactional_db" in names or "live_server" in names or (marker and marker.kwargs.get("transaction")):
        request.getfixturevalue("transactional_db")
    elif "db" in names or marker:
        request.getfixturevalue("db")
    else:
        return
    from importlib import import_module

    from aftersales.models import SlaPolicy

    if not SlaPolicy.objects.exists():
        import_module("aftersales.migrations.0005_automation_defaults").forwards(django_apps, None)


@pytest.fixture
def users(db):
    """One user per role, named after it."""
    if Group.objects.filter(name__in=ROLES).count() < len(ROLES):
        # Transactional tests flush the tables the data migration filled.
        sync_role_groups(django_apps)
    return {role: UserFactory(username=role, roles=[role]) for role in ROLES}


@pytest.fixture
def login(db):
    """``login(user)`` → a test client signed in as ``user`` (one client per user)."""
    from django.test import Client

    def _login(user):
        client = Client()
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def agent(users):
    return users["agent"]


@pytest.fixture
def qc(users):
    return users["qc"]


@pytest.fixture
def supervisor(users):
    return users["supervisor"]


@pytest.fixture
def finance(users):
    return users["finance"]


@pytest.fixture
def channel_user(users):
    return users["channel"]


@pytest.fixture
def policy(db):
    return PolicyFactory(name="默认售后政策")


@pytest.fixture
def order(db):
    """An app order delivered two days ago: 2 × T-shirt at ¥99 and 1 × jacket at ¥1,299."""
    apparel = ProductCategoryFactory(code="apparel", name="服饰")
    order = OrderFactory()
    OrderLineFactory(
        order=order, sku="TS-001", product_name="纯棉T恤", category=apparel, unit_price=Decimal("99.00"), quantity=2
    )
    OrderLineFactory(
        order=order,
        sku="JK-002",
        product_name="羽绒服",
        category=apparel,
        unit_price=Decimal("1299.00"),
        unit_cost=Decimal("600.00"),
        quantity=1,
    )
    return order


@pytest.fixture
def open_case(policy, order, agent):
    """Open a case through the service (defaults: return + refund of one T-shirt)."""

    def _open(*, request_type="return_refund", lines=None, actor=None, target_order=None, **kwargs):
        target = target_order or order
        if lines is None:
            first = target.lines.order_by("id").first()
            lines = [(first.pk, 1)]
        return services.case_open(
            actor=actor or agent,
            order_id=target.pk,
            lines=lines,
            request_type=request_type,
            reason="衣服起球",
            **kwargs,
        )

    return _open


@pytest.fixture
def case_in(open_case, users):
    """A fresh case driven through the services to ``state``."""
    S = CaseState

    def _drive(state: str, **open_kwargs):
        case = open_case(**open_kwargs)
        if state == S.PENDING_REVIEW:
            return case
        if state == S.REJECTED:
            return services.case_reject(case_id=case.pk, actor=users["agent"], reason="超出退货期")
        if state == S.CANCELLED:
            return services.case_cancel(case_id=case.pk, actor=users["agent"])
        if state == S.ESCALATED:
            return services.case_escalate(case_id=case.pk, actor=users["supervisor"], reason="顾客投诉升级")
        case = services.case_approve(case_id=case.pk, actor=users["agent"])
        if state == S.AWAITING_RETURN or case.state == state:
            return case
        if state == S.RETURN_SHIPPED:
            return services.case_ship_return(
                case_id=case.pk, actor=users["channel"], carrier="SF", tracking_number="SF1234567890123"
            )
        case = services.case_receive(case_id=case.pk, actor=users["qc"], tracking_number="SF1234567890")
        if state == S.IN_QC:
            return case
        case = services.case_inspect(
            case_id=case.pk,
            actor=users["qc"],
            grade=Inspection.Grade.C,
            responsible_party=Inspection.Party.MERCHANT,
            disposition=Inspection.Disposition.REFURBISH,
            findings="面料起球",
        )
        if state == S.COMPENSATION:
            return case
        if not case.compensations.exists():
            services.compensation_add(case_id=case.pk, actor=users["agent"], kind="refund", amount="99.00")
        case = services.case_propose(case_id=case.pk, actor=users["agent"])
        if state == S.AWAITING_CONFIRMATION:
            return case
        case = services.case_confirm(case_id=case.pk, actor=users["channel"])
        assert case.state == state, f"could not drive a case to {state}"
        return case

    return _drive
