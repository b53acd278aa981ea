"""What every workspace view shares: area checks, and one mapping of service errors to pages.

Service errors map once: a ``ValidationError`` goes back beside the field it
names; ``StaleCase`` (someone else acted first) and ``NotAllowed`` become a
message above the fresh page; ``PermissionDenied`` is a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme

from aftersales.errors import NotAllowed, error_text
from aftersales.selectors import may_use
from aftersales.workflow.forms import apply_service_errors


def area_required(area: str):
    """Signed in, and the user's role works in ``area`` (else 403)."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not may_use(request.user, area):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def safe_next(request, default: str) -> str:
    """The ``next`` parameter when it points into this site, else ``default``."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def run_service(
    request, *, form, call: Callable[[dict], object], success: Callable[[object], str] | str, redirect_to: str
):
    """Call a service with the form's data.

    Returns a redirect when the service ran or refused (with a message), or
    ``None`` when the form now carries the service's field errors and the page
    should be shown again.
    """
    try:
        result = call(form.cleaned_data)
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return None
    except NotAllowed as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(redirect_to)
    messages.success(request, success(result) if callable(success) else success)
    return HttpResponseRedirect(redirect_to)


__all__ = ["PermissionDenied", "area_required", "error_text", "run_service", "safe_next"]
