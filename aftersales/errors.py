"""Workflow errors. Pages show their message; the API maps them to 409.

``django.core.exceptions.ValidationError`` (400, names the field) and
``PermissionDenied`` (403) are used as they are.
"""

from __future__ import annotations

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
