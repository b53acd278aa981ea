"""One mapping of errors for the API: not allowed → 409 with the reason, no permission → 403,
invalid → 400 naming each field; the services' own exceptions included."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from django_fsm import ConcurrentTransition, TransitionNotAllowed
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
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


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, but a body nested too deeply for Python's parser is bad input (400), not a crash."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("The JSON body is nested too deeply.")) from None


def server_error(request, *args, **kwargs):
    """``handler500``: the API answers in JSON even when something unforeseen breaks; pages keep the HTML page."""
    if request.path.startswith("/api/"):
        detail = _("Something went wrong on our side; please retry later.")
        return JsonResponse(
            {"detail": detail, "code": "server_error"}, status=500, json_dumps_params={"ensure_ascii": False}
        )
    return defaults.server_error(request)
