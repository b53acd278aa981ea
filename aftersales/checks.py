"""Startup checks (``manage.py check``, and every management command): settings that would send customers or the
tracking provider somewhere they cannot reach."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Warning, register

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
