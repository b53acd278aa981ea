"""Workflow errors. Pages show their message; the API maps them to 409.

``django.core.exceptions.ValidationError`` (400, names the field) and
``PermissionDenied`` (403) are used as they are.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django_fsm import TransitionNotAllowed


class NotAllowed(TransitionNotAllowed):
    """The action is not allowed now; the message says why (HTTP 409)."""

    def __init__(self, message) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


class NeedsApproval(NotAllowed):
    """The compensation exceeds the actor's authority: a supervisor must approve it first."""


class StaleCase(NotAllowed):
    """The case changed since the page was loaded (another user acted)."""


class Conflict(NotAllowed):
    """The request contradicts what is stored (a line a case holds, another channel's order); ``field`` names
    the part of the request it is about (HTTP 409)."""

    def __init__(self, message, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def error_text(exc: Exception) -> str:
    """A refused action's message for a page: the validation messages, or the reason, or "no permission"."""
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or _("You do not have permission to do that.")
