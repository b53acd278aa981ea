"""Two-factor sign-in: set up with a code from the app, asked after the password, required for some roles."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEntry

PASSWORD = "pw-for-tests-1"


def _code(device: TOTPDevice, steps: int = 0) -> str:
    """The app's code now (or ``steps`` periods of 30 s later: a code is accepted once, within one period)."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=steps):06d}"


def _sign_in(username: str) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD, "next": "/cases/"})
    assert response.status_code == 302
    return client


def test_required_role_sets_up_before_anything_else_then_is_asked_each_time(users, settings):
    settings.TWO_FACTOR_REQUIRED_ROLES = ["supervisor", "finance"]
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # a right code straight after a wrong one (the throttle: below)
    client = _sign_in("finance")
    for path in ("/finance/", "/admin/", "/reports/dashboard/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/two-factor/setup/"), path
    api = client.get("/api/v1/staff/cases/")
    assert api.status_code == 403 and api.json()["code"] == "two_factor"

    page = client.get("/accounts/two-factor/setup/?next=/finance/")
    body = page.content.decode()
    assert "<svg" in body  # the QR code, drawn here (no outside service)
    secret = re.search(r'data-testid="secret">([A-Z2-7]+)<', body).group(1)
    device = TOTPDevice.objects.get(user=users["finance"], confirmed=False)
    assert secret.rstrip("=") in __import__("base64").b32encode(device.bin_key).decode()

    wrong = client.post("/accounts/two-factor/setup/", {"code": "000000", "next": "/finance/"})
    assert wrong.status_code == 200 and "验证码不正确" in wrong.content.decode()
    done = client.post("/accounts/two-factor/setup/", {"code": _code(device), "next": "/finance/"})
    assert done.status_code == 302 and done["Location"] == "/finance/"
    assert client.get("/finance/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEntry.objects.filter(action="two_factor_added", target="finance").exists()

    # Next sign-in: the password alone is not enough.
    client = _sign_in("finance")
    assert client.get("/finance/")["Location"].startswith("/accounts/two-factor/?next=")
    bad = client.post("/accounts/two-factor/", {"code": "123456"})
    assert bad.status_code == 200
    assert AuditEntry.objects.filter(action="two_factor_failed", actor=users["finance"]).exists()
    assert client.get("/finance/").status_code == 302
    ok = client.post("/accounts/two-factor/", {"code": _code(device, 1), "next": "/finance/"})
    assert ok.status_code == 302 and ok["Location"] == "/finance/"
    assert client.get("/finance/").status_code == 200


def test_roles_not_required_sign_in_with_the_password_alone(users, settings):
    settings.TWO_FACTOR_REQUIRED_ROLES = ["supervisor"]
    client = _sign_in("agent")
    assert client.get("/cases/").status_code == 200


def test_anyone_may_turn_it_on_and_is_then_asked(users, settings):
    settings.TWO_FACTOR_REQUIRED_ROLES = []
    client = _sign_in("agent")
    client.get("/accounts/two-factor/setup/")
    device = TOTPDevice.objects.get(user=users["agent"])
    assert client.post("/accounts/two-factor/setup/", {"code": _code(device)}).status_code == 302
    client = _sign_in("agent")
    assert client.get("/cases/").status_code == 302


def test_a_next_address_elsewhere_is_not_followed(users, settings):
    settings.TWO_FACTOR_REQUIRED_ROLES = ["qc"]
    client = _sign_in("qc")
    client.get("/accounts/two-factor/setup/")
    device = TOTPDevice.objects.get(user=users["qc"])
    response = client.post("/accounts/two-factor/setup/", {"code": _code(device), "next": "https://evil.example/"})
    assert response["Location"] == "/"  # LOGIN_REDIRECT_URL (desk:home)


@pytest.mark.parametrize("code", ["12345", "abcdef", ""])
def test_a_malformed_code_names_the_field(users, settings, code):
    settings.TWO_FACTOR_REQUIRED_ROLES = ["qc"]
    client = _sign_in("qc")
    response = client.post("/accounts/two-factor/setup/", {"code": code})
    assert response.status_code == 200
    assert 'id="id_code_errors"' in response.content.decode()


def test_wrong_codes_slow_down_the_next_tries(users, settings):
    settings.TWO_FACTOR_REQUIRED_ROLES = []
    settings.OTP_TOTP_THROTTLE_FACTOR = 10
    client = _sign_in("agent")
    client.get("/accounts/two-factor/setup/")
    device = TOTPDevice.objects.get(user=users["agent"])
    assert client.post("/accounts/two-factor/setup/", {"code": _code(device)}).status_code == 302
    client = _sign_in("agent")
    client.post("/accounts/two-factor/", {"code": "000000"})
    right_but_too_soon = client.post("/accounts/two-factor/", {"code": _code(device, 1)})
    assert right_but_too_soon.status_code == 200
    assert "次数过多" in right_but_too_soon.content.decode()


def test_a_second_browser_still_on_the_setup_step_is_asked_for_a_code_once_the_first_set_it_up(users, settings):
    settings.TWO_FACTOR_REQUIRED_ROLES = ["supervisor"]
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    first, second = _sign_in("supervisor"), _sign_in("supervisor")
    first.get("/accounts/two-factor/setup/")
    second.get("/accounts/two-factor/setup/")
    device = TOTPDevice.objects.get(user=users["supervisor"])
    assert first.post("/accounts/two-factor/setup/", {"code": _code(device)}).status_code == 302
    response = second.get("/accounts/two-factor/setup/")
    assert response["Location"] == "/accounts/two-factor/"  # no loop between setup and the page
    assert second.get("/cases/board/")["Location"].startswith("/accounts/two-factor/?next=")
    assert second.post("/accounts/two-factor/", {"code": _code(device, 1)}).status_code == 302
    assert second.get("/cases/board/").status_code == 200
