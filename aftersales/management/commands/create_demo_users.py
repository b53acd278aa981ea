"""``manage.py create_demo_users``: one demo login per role, plus a superuser.

Idempotent: running it again resets the passwords (and role, staff flags).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from aftersales.demo.reference import ensure_channel_account, ensure_queues
from aftersales.models import AgentProfile, ApiKey
from aftersales.permissions import AGENT, FINANCE, QC, SUPERVISOR
from customers.models import Channel, Order

ADMIN_URL = "http://127.0.0.1:8000/admin/"
AGENT_AUTHORITY = Decimal("200.00")

#: username, role group (None: superuser), Chinese label, staff (Django admin)?
LOGINS = [
    (AGENT, AGENT, "售后客服", False),
    (QC, QC, "质检/仓库", False),
    (SUPERVISOR, SUPERVISOR, "售后主管", True),
    (FINANCE, FINANCE, "财务", False),
    ("admin", None, "系统管理员", True),
]


#: The demo app's API key (fixed, like the demo passwords, so docs/api.md's curl example works as printed).
DEMO_KEY_PREFIX, DEMO_KEY_SECRET = "demoapp", "demo-app-key-2026"
DEMO_CHANNEL_ACCOUNT = "channel_app"


def demo_password(username: str) -> str:
    return f"demo-{username}-2026"


def demo_secrets_in_use() -> list[str]:
    """The demo logins that still sign in with their published password, and the demo API key if active."""
    User = get_user_model()
    found = [
        user.get_username()
        for user in User.objects.filter(username__in=[name for name, *_rest in LOGINS], is_active=True)
        if user.has_usable_password() and user.check_password(demo_password(user.get_username()))
    ]
    key = ApiKey.objects.active().filter(prefix=DEMO_KEY_PREFIX).first()
    if key is not None and key.matches(DEMO_KEY_SECRET):
        found.append(f"API key {DEMO_KEY_PREFIX}")
    return found


def ensure_demo_api_key() -> tuple[ApiKey, str]:
    """The demo app's active API key, acting as the app's service account (the one the demo cases have)."""
    account = ensure_channel_account(Channel.APP)
    if not account.is_active:
        account.is_active = True
        account.save(update_fields=["is_active"])
    key = ApiKey.objects.filter(prefix=DEMO_KEY_PREFIX).first() or ApiKey(name="演示 App")
    raw = key.set_key(DEMO_KEY_PREFIX, DEMO_KEY_SECRET)
    key.channel, key.user, key.revoked_at = Channel.APP, account, None
    key.save()
    return key, raw


class Command(BaseCommand):
    help = "Create (or reset) demo logins: agent, qc, supervisor, finance and the superuser admin."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off (a demo server only: the passwords and the API key are published).",
        )

    @transaction.atomic
    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "DEBUG is off, so this looks like production: the demo logins' passwords and the demo API key are "
                "published in the README, so they are refused here. For a demo server, run with --force."
            )
        User = get_user_model()
        missing = {role for _, role, _, _ in LOGINS if role} - set(Group.objects.values_list("name", flat=True))
        if missing:
            raise CommandError(f"Role groups missing ({', '.join(sorted(missing))}): run `manage.py migrate` first.")
        rows = []
        for username, role, label, staff in LOGINS:
            user, created = User.objects.get_or_create(username=username)
            user.first_name = f"演示{label}" if role else label
            user.email = user.email or f"{username}@demo.example.com"
            user.is_active = True
            user.is_staff = staff
            user.is_superuser = role is None
            user.set_password(demo_password(username))
            user.save()
            if role:
                user.groups.add(Group.objects.get(name=role))
            if role == AGENT:
                AgentProfile.objects.update_or_create(user=user, defaults={"authority_limit": AGENT_AUTHORITY})
                ensure_queues()["general"].members.add(user)
            if role == SUPERVISOR:  # escalations and crises wait for them
                queues = ensure_queues()
                queues["escalation"].members.add(user)
                queues["crisis"].members.add(user)
            where = ADMIN_URL if staff else "— (not staff: no Django admin access)"
            rows.append((f"{label} {role or 'superuser'}", username, demo_password(username), where, created))

        headers = ("role", "username", "password", "sign in at")
        widths = [max(_width(str(r[i])) for r in [headers, *rows]) for i in range(4)]
        line = "  ".join("-" * w for w in widths)
        self.stdout.write("Demo logins (for local demos only; change or delete them anywhere else):")
        self.stdout.write(line)
        self.stdout.write(_row(headers, widths))
        self.stdout.write(line)
        for row in rows:
            self.stdout.write(_row(row[:4], widths))
        self.stdout.write(line)
        created = sum(1 for row in rows if row[4])
        self.stdout.write(self.style.SUCCESS(f"{created} created, {len(rows) - created} reset."))
        key, raw = ensure_demo_api_key()
        self.stdout.write(f"Demo API key (channel {key.channel}; see docs/api.md): {raw}")
        order = (
            Order.objects.filter(channel=key.channel, delivered_at__isnull=False, cases__isnull=True)
            .order_by("-delivered_at")
            .first()
        )
        line = order.lines.order_by("id").first() if order else None
        if line:
            self.stdout.write(
                f"An order of channel {key.channel} with no case yet, to try the API: {order.number} (sku {line.sku}, quantity {line.quantity})"
            )


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _row(cells, widths) -> str:
    return "  ".join(str(cell) + " " * (width - _width(str(cell))) for cell, width in zip(cells, widths, strict=True))
