"""Sign-in protection (django-axes): a username is locked after ``SIGNIN_FAILURE_LIMIT`` failures within
``SIGNIN_LOCKOUT_MINUTES``, an address after ``SIGNIN_IP_FAILURE_LIMIT`` (higher: a whole office signs in from
one address). Both logins (the workspace's and the admin's) go through ``authenticate``, so both are covered.
A locked person sees, in words, how long to wait; a supervisor can unlock them in the admin sooner."""

from __future__ import annotations

import math

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import user_logged_in
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import Sum
from django.dispatch import receiver
from django.forms.utils import ErrorDict
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import ngettext

from audit.recording import client_ip


class SignInHandler(AxesDatabaseHandler):
    """axes' database handler with two limits: the failures of a username and, scaled to the same limit, those
    of an address (``AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]``, in this order)."""

    def get_failures(self, request, credentials=None) -> int:
        counts = [
            qs.aggregate(n=Sum("failures_since_start"))["n"] or 0 for qs in self.get_user_attempts(request, credentials)
        ]
        by_user = counts[0] if counts else 0
        by_address = counts[1] if len(counts) > 1 else 0
        limit, address_limit = settings.AXES_FAILURE_LIMIT, settings.SIGNIN_IP_FAILURE_LIMIT
        # by_address reaches the address limit exactly when the scaled count reaches the username limit
        return max(by_user, by_address * limit // address_limit)


def wait_message() -> str:
    minutes = max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return ngettext(
        "Too many failed sign-ins: this account is locked for %(minutes)d minute. Try again later, or ask a "
        "supervisor to unlock it.",
        "Too many failed sign-ins: this account is locked for %(minutes)d minutes. Try again later, or ask a "
        "supervisor to unlock it.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(request, original_response=None, credentials=None):
    """What a locked-out sign-in sees (HTTP 429): the sign-in page with the wait in words; JSON under /api/."""
    message = wait_message()
    status = settings.AXES_HTTP_RESPONSE_CODE
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": message, "code": "locked_out"}, status=status, json_dumps_params={"ensure_ascii": False}
        )
    # Unbound (a bound form would authenticate again and count one more failure), with the message as its error.
    form = AuthenticationForm(request, initial={"username": request.POST.get("username", "")})
    form._errors = ErrorDict({NON_FIELD_ERRORS: form.error_class([message], error_class="nonfield")})
    template = "admin/login.html" if request.path.startswith("/admin/") else "registration/login.html"
    context = {"form": form, "next": request.POST.get("next", request.GET.get("next", ""))}
    if template.startswith("admin/"):
        from django.contrib import admin

        context |= admin.site.each_context(request) | {"site_header": admin.site.site_header}
    return render(request, template, context, status=status)


@receiver(user_logged_in, dispatch_uid="signin_reset_username")
def _reset_username(sender, request, user, **kwargs):
    """A correct password clears that username's failures from this address only: neither an attacker's
    failures against it from elsewhere nor the address's failures against other usernames."""
    AxesProxyHandler.reset_attempts(username=user.get_username(), ip_address=client_ip(request))
