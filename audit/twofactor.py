"""Two-factor sign-in (TOTP through django-otp): after the password, a person with a confirmed device enters
the six-digit code from their authenticator app; a person whose role must use it (``TWO_FACTOR_REQUIRED_ROLES``)
and has no device yet sets one up first. Until then every page (workspace, admin, staff API) sends them here.

The state lives in the session (set when the password was right), so a request costs no extra query."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import user_logged_in
from django.contrib.auth.decorators import login_required
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.recording import Action, record

SESSION_KEY = "two_factor"
VERIFY, SETUP = "verify", "setup"
#: Paths a person may reach before the code: the two-factor pages themselves, signing out, the language switch,
#: static files and the customer's progress links.
OPEN_PREFIXES = ("/accounts/two-factor/", "/accounts/logout/", "/i18n/", "/static/", "/t/")


def requires_setup(user) -> bool:
    roles = settings.TWO_FACTOR_REQUIRED_ROLES
    return bool(roles) and user.groups.filter(name__in=roles).exists()


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


@receiver(user_logged_in, dispatch_uid="two_factor_after_password")
def _after_password(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    if confirmed_device(user) is not None:
        request.session[SESSION_KEY] = VERIFY
    elif requires_setup(user):
        request.session[SESSION_KEY] = SETUP


class TwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        step = session.get(SESSION_KEY) if session is not None else None
        if step and not request.path.startswith(OPEN_PREFIXES) and request.user.is_authenticated:
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"detail": _("Enter your two-factor code first (sign in on the web page)."), "code": "two_factor"},
                    status=403,
                    json_dumps_params={"ensure_ascii": False},
                )
            target = reverse("two_factor_verify" if step == VERIFY else "two_factor_setup")
            return redirect(
                f"{target}?{urlencode({'next': request.get_full_path()})}" if request.method == "GET" else target
            )
        return self.get_response(request)


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=gettext_lazy("six-digit code"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": gettext_lazy("Enter the six digits your authenticator app shows.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return settings.LOGIN_REDIRECT_URL


def _done(request, device: TOTPDevice):
    request.session.pop(SESSION_KEY, None)
    otp_login(request, device)
    return redirect(_next(request))


@login_required
def verify(request):
    device = confirmed_device(request.user)
    if device is None:
        return redirect("two_factor_setup")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _why = device.verify_is_allowed()
        if allowed and device.verify_token(form.cleaned_data["code"].strip()):
            return _done(request, device)
        record(
            Action.TWO_FACTOR_FAILED,
            request=request,
            target=request.user.get_username(),
            target_user=request.user,
        )
        form.add_error(
            "code",
            _("That code is not right (or too many tries: wait a little).")
            if allowed
            else _("Too many wrong codes: wait a little and try again."),
        )
    return render(request, "registration/two_factor.html", {"form": form, "next": _next(request), "setup": False})


def _qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")


@login_required
def setup(request):
    """A new authenticator: the QR code (and the key, to type in) and one code from the app to confirm it."""
    if confirmed_device(request.user) is not None:
        if request.session.get(SESSION_KEY) in (VERIFY, SETUP):
            # Set up meanwhile (in another browser): this session now enters a code like any other.
            request.session[SESSION_KEY] = VERIFY
            return redirect("two_factor_verify")
        messages.info(
            request,
            _(
                "Two-factor sign-in is on for you. If you lose your phone, a supervisor removes the device in the admin."
            ),
        )
        return redirect(_next(request))
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name=_("authenticator app"), confirmed=False)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _why = device.verify_is_allowed()
        if allowed and device.verify_token(form.cleaned_data["code"].strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            return _done(request, device)
        form.add_error(
            "code",
            _("That code is not right: check the time on your phone and try the next one.")
            if allowed
            else _("Too many wrong codes: wait a little and try again."),
        )
    context = {
        "form": form,
        "next": _next(request),
        "setup": True,
        "required": request.session.get(SESSION_KEY) == SETUP,
        "qr": mark_safe(_qr_svg(device.config_url)),
        "secret": base64.b32encode(device.bin_key).decode("ascii"),
    }
    return render(request, "registration/two_factor.html", context)


@receiver(post_save, sender=TOTPDevice, dispatch_uid="audit_two_factor_added")
def _device_saved(sender, instance, created, update_fields=None, raw=False, **kwargs):
    if raw or not instance.confirmed or (update_fields is not None and "confirmed" not in update_fields):
        return
    if created or update_fields is not None:
        record(Action.TWO_FACTOR_ADDED, target=instance.user.get_username(), target_user=instance.user)


@receiver(post_delete, sender=TOTPDevice, dispatch_uid="audit_two_factor_removed")
def _device_removed(sender, instance, **kwargs):
    if instance.confirmed:
        record(Action.TWO_FACTOR_REMOVED, target=instance.user.get_username(), target_user=instance.user)
