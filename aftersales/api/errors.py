"""One mapping of errors for the API: not allowed → 409 with the reason, no permission → 403,
invalid → 400 naming each field; the services' own exceptions included."""

from __future__ import annotations

from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from django_fsm import ConcurrentTransition, TransitionNotAllowed
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from aftersales.errors import Conflict


def api_exception_handler(exc, context):
    if isinstance(exc, Conflict):
        return Response({"detail": str(exc), "code": "conflict", "field": exc.field}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, TransitionNotAllowed | ConcurrentTransition):
        return Response({"detail": str(exc), "code": "not_allowed"}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        data = exc.message_dict if hasattr(exc, "error_dict") else {"detail": " ".join(exc.messages)}
        return Response(data, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoPermissionDenied) and str(exc):
        return Response({"detail": str(exc), "code": "permission_denied"}, status=status.HTTP_403_FORBIDDEN)
    return drf_exception_handler(exc, context)


def server_error(request, *args, **kwargs):
    """``handler500``: the API answers in JSON even when something unforeseen breaks; pages keep the HTML page."""
    if request.path.startswith("/api/"):
        detail = _("Something went wrong on our side; please retry later.")
        return JsonResponse(
            {"detail": detail, "code": "server_error"}, status=500, json_dumps_params={"ensure_ascii": False}
        )
    return defaults.server_error(request)


def _json_error(detail: str, code: str, status_code: int) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status_code, json_dumps_params={"ensure_ascii": False})


def bad_request(request, exception, *args, **kwargs):
    """``handler400``: under /api/ a refused request (a host we do not serve, a body too large for Django's own
    limits, a malformed request) answers in JSON; pages keep Django's page."""
    if request.path.startswith("/api/"):
        if isinstance(exception, RequestDataTooBig):
            return _json_error(_("The request body is too large."), "too_large", 413)
        if isinstance(exception, DisallowedHost):
            return _json_error(_("This server does not serve that host name."), "bad_host", 400)
        return _json_error(_("The request could not be understood."), "bad_request", 400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception, *args, **kwargs):
    """``handler403``: JSON under /api/."""
    if request.path.startswith("/api/"):
        return _json_error(str(exception) or _("You do not have permission to do this."), "permission_denied", 403)
    return defaults.permission_denied(request, exception)


def csrf_failure(request, reason="", template_name=None):
    """``CSRF_FAILURE_VIEW``: a staff session's write without the CSRF token, in JSON under /api/."""
    if request.path.startswith("/api/"):
        return _json_error(_("CSRF check failed: send the X-CSRFToken header with a session."), "csrf_failed", 403)
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason=reason)
