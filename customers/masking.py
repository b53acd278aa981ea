"""Masking of personal data for roles without ``customers.view_customer_pii``."""

from __future__ import annotations


def mask_phone(phone: str) -> str:
    """``13812345678`` → ``138****5678``; short values keep only their last two digits."""
    digits = phone or ""
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) > 2:
        return "*" * (len(digits) - 2) + digits[-2:]
    return "*" * len(digits)


def mask_email(email: str) -> str:
    """``zhangwei@example.com`` → ``z***@example.com``."""
    if not email or "@" not in email:
        return "*" * len(email or "")
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_address(address: str) -> str:
    """Keep the first six characters (province and city) and hide the rest."""
    if not address:
        return ""
    return address[:6] + "****"


def can_see_pii(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm("customers.view_customer_pii"))
