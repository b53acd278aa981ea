"""Startup checks (``manage.py check``, and every management command; the WSGI server logs them at start):
settings that would send customers or the tracking provider somewhere they cannot reach, and demo secrets left
active in production."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.db import DatabaseError

LOCAL_HOSTS = {"127.0.0.1", "localhost", "0.0.0.0", "::1", ""}


@register()
def public_addresses(app_configs=None, **kwargs):
    if settings.DEBUG:
        return []
    problems = []
    if (urlsplit(settings.PUBLIC_BASE_URL).hostname or "") in LOCAL_HOSTS:
        problems.append(
            Warning(
                f"PUBLIC_BASE_URL is {settings.PUBLIC_BASE_URL!r}: customers' progress links would point at this "
                "machine.",
                hint="Set PUBLIC_BASE_URL to the address customers reach the server at, e.g. https://aftersales.example.com.",
                id="aftersales.W001",
            )
        )
    if settings.TRACKING_PROVIDER and settings.TRACKING_CALLBACK_URL:
        host = urlsplit(settings.TRACKING_CALLBACK_URL).hostname or ""
        if host in LOCAL_HOSTS:
            problems.append(
                Warning(
                    f"TRACKING_CALLBACK_URL is {settings.TRACKING_CALLBACK_URL!r}: the tracking provider cannot push "
                    "to it.",
                    hint="Set it to the public address of /api/v1/tracking/<provider>/.",
                    id="aftersales.W002",
                )
            )
    return problems


@register(Tags.security, Tags.database)
def demo_secrets(app_configs=None, databases=None, **kwargs):
    """With DEBUG off, a demo login that still has its published password, or the demo API key, is a way in."""
    if settings.DEBUG or not databases:
        return []
    return demo_secret_warnings()


def demo_secret_warnings() -> list[Warning]:
    from aftersales.management.commands.create_demo_users import demo_secrets_in_use

    try:
        found = demo_secrets_in_use()
    except DatabaseError:  # not migrated yet: nothing to find
        return []
    if not found:
        return []
    return [
        Warning(
            f"DEBUG is off and these still use the published demo secrets: {', '.join(found)}.",
            hint="Change those passwords (or deactivate the users) and revoke the demo API key in the admin.",
            id="aftersales.W003",
        )
    ]


@register()
def message_carriers(app_configs=None, **kwargs):
    """SMS and mini-program settings that would fail every message, said at start rather than at the first send."""
    from django.core.checks import Error
    from django.core.exceptions import ImproperlyConfigured

    from aftersales.notifications.delivery import quiet_until
    from aftersales.notifications.providers import mini_program, sms_provider

    problems = []
    for name, build in (("SMS_PROVIDER", sms_provider), ("MINIPROGRAM_APP_ID", mini_program)):
        try:
            build()
        except ImproperlyConfigured as exc:
            problems.append(Error(str(exc), hint=f"See {name} in docs/operations.md.", id="aftersales.E010"))
    try:
        from django.utils import timezone

        quiet_until(timezone.now())
    except ValueError:
        problems.append(
            Error(
                f"SMS_QUIET_HOURS is {settings.SMS_QUIET_HOURS!r}: write it as HH:MM-HH:MM, e.g. 21:00-08:00.",
                id="aftersales.E011",
            )
        )
    return problems
