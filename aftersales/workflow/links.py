"""The customer's progress link: a signed token naming one case, valid while the case is open and for
``PROGRESS_LINK_DAYS`` after it finished. Pure: no queries (the page looks the case up and checks its dates)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.utils import timezone

SALT = "aftersales.progress-link"
#: The page's path; the pages' URLconf routes it (``customer:progress``).
PATH = "/t/{token}/"


def progress_token(case) -> str:
    """A token naming the case (its id and number, so a token of a deleted and reused id fails)."""
    return signing.Signer(salt=SALT).sign_object([case.pk, case.number], compress=True)


def read_progress_token(token: str) -> tuple[int, str]:
    """``(case id, case number)``; ``signing.BadSignature`` when the token was not made here or was changed."""
    value = signing.Signer(salt=SALT).unsign_object(token)
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], int) and isinstance(value[1], str)):
        raise signing.BadSignature("not a progress token")
    return value[0], value[1]


def progress_url(case) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + PATH.format(token=progress_token(case))


def link_expires_at(case) -> datetime | None:
    """When the link stops working: ``None`` while the case is open."""
    if case.closed_at is None:
        return None
    return case.closed_at + timedelta(days=settings.PROGRESS_LINK_DAYS)


def link_expired(case, at: datetime | None = None) -> bool:
    expires = link_expires_at(case)
    return expires is not None and (at or timezone.now()) > expires
