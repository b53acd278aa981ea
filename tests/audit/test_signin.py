"""Sign-in protection: lockout per username and per address on both logins, the wait in words, unlocking in the
admin, and every step in the audit log."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry

PASSWORD = "pw-for-tests-1"
A = AuditEntry.Action


def _post_login(client, path, username, password, **extra):
    return client.post(path, {"username": username, "password": password, "next": "/"}, **extra)


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_five_wrong_passwords_lock_the_username_even_for_the_right_one(users, settings, path):
    settings.AXES_FAILURE_LIMIT = 5
    client = Client()
    for _ in range(4):
        response = _post_login(client, path, "supervisor", "wrong")
        assert response.status_code == 200  # the form again, with "wrong password"
    response = _post_login(client, path, "supervisor", "wrong")
    assert response.status_code == 429
    page = response.content.decode()
    assert "15" in page and "分钟" in page, page  # the wait, in words
    assert "_auth_user_id" not in client.session

    # The right password is refused while locked, from the same address …
    response = _post_login(client, path, "supervisor", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # … and from another one: the username itself is locked.
    other = Client(REMOTE_ADDR="10.9.9.9")
    assert _post_login(other, path, "supervisor", PASSWORD).status_code == 429

    # Another user from the first address still signs in (the address limit is higher).
    response = _post_login(client, "/accounts/login/", "agent", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(users["agent"].pk)

    actions = list(AuditEntry.objects.filter(actor_name="supervisor").values_list("action", flat=True))
    assert actions.count(A.SIGN_IN_FAILED) == 7
    assert A.LOCKED_OUT in actions
    assert AuditEntry.objects.filter(action=A.SIGN_IN, actor=users["agent"]).exists()


def test_an_address_is_locked_after_its_own_limit_across_usernames(users, settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.SIGNIN_IP_FAILURE_LIMIT = 8
    client = Client(REMOTE_ADDR="203.0.113.7")
    for n in range(7):  # seven usernames, one wrong password each: no username reaches five
        assert _post_login(client, "/accounts/login/", f"nobody{n}", "wrong").status_code == 200
    assert _post_login(client, "/accounts/login/", "nobody7", "wrong").status_code == 429
    # Now even a real user's right password from that address waits …
    assert _post_login(client, "/accounts/login/", "agent", PASSWORD).status_code == 429
    # … while the same user from elsewhere signs in.
    assert _post_login(Client(REMOTE_ADDR="198.51.100.2"), "/accounts/login/", "agent", PASSWORD).status_code == 302


def test_a_forged_forwarded_for_header_does_not_escape_the_address_lock(users, settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.SIGNIN_IP_FAILURE_LIMIT = 6
    for n in range(6):
        client = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"1.2.3.{n}")
        _post_login(client, "/accounts/login/", f"someone{n}", "wrong")
    client = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="9.9.9.9")
    assert _post_login(client, "/accounts/login/", "agent", PASSWORD).status_code == 429
    assert AuditEntry.objects.filter(action=A.SIGN_IN_FAILED, ip="203.0.113.9").count() >= 6


def test_a_right_password_clears_that_usernames_failures_only(users, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    _post_login(client, "/accounts/login/", "agent", "wrong")
    _post_login(client, "/accounts/login/", "agent", "wrong")
    _post_login(client, "/accounts/login/", "qc", "wrong")
    assert _post_login(client, "/accounts/login/", "agent", PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username="agent").exists()
    assert AccessAttempt.objects.filter(username="qc").exists()


def test_a_supervisor_unlocks_in_the_admin_and_it_is_audited(users, settings, login):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(3):
        _post_login(client, "/accounts/login/", "agent", "wrong")
    assert _post_login(client, "/accounts/login/", "agent", PASSWORD).status_code == 429

    supervisor = users["supervisor"]
    supervisor.is_staff = True
    supervisor.save()
    admin = login(supervisor)
    listing = admin.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200
    assert "agent" in listing.content.decode()
    ids = list(AccessAttempt.objects.filter(username="agent").values_list("pk", flat=True))
    response = admin.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "unlock", "_selected_action": ids},
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="agent").exists()
    entry = AuditEntry.objects.get(action=A.UNLOCKED)
    assert entry.actor == supervisor
    assert entry.detail["username"] == "agent"

    assert _post_login(client, "/accounts/login/", "agent", PASSWORD).status_code == 302


def test_an_agent_cannot_unlock(users, login):
    agent_client = login(users["agent"])
    assert agent_client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 302  # not staff


def test_the_lock_ends_after_the_wait(users, settings, time_machine):
    settings.AXES_FAILURE_LIMIT = 2
    client = Client()
    time_machine.move_to("2026-11-20 10:00:00+08:00", tick=False)
    _post_login(client, "/accounts/login/", "agent", "wrong")
    _post_login(client, "/accounts/login/", "agent", "wrong")
    assert _post_login(client, "/accounts/login/", "agent", PASSWORD).status_code == 429
    time_machine.move_to("2026-11-20 10:16:00+08:00", tick=False)
    assert _post_login(client, "/accounts/login/", "agent", PASSWORD).status_code == 302


def test_the_lockout_page_speaks_chinese_and_the_admin_one_is_the_admin_login(users, settings):
    settings.AXES_FAILURE_LIMIT = 1
    client = Client()
    response = _post_login(client, "/admin/login/", "finance", "wrong")
    page = response.content.decode()
    assert response.status_code == 429
    assert "登录失败次数过多" in page
    assert 'id="login-form"' in page  # Django admin's own sign-in form, with the message


def test_behind_one_proxy_each_client_is_counted_by_its_own_address(users, settings):
    """nginx sets X-Forwarded-For to the client's address (or appends it to what the client sent)."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    settings.AXES_FAILURE_LIMIT = 5
    settings.SIGNIN_IP_FAILURE_LIMIT = 6
    proxy = "10.0.0.2"
    for n in range(6):  # one attacker, forging a new left-most address each time
        client = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 203.0.113.66")
        _post_login(client, "/accounts/login/", f"someone{n}", "wrong")
    attacker = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.66")
    assert _post_login(attacker, "/accounts/login/", "agent", PASSWORD).status_code == 429
    # Everyone else behind the same proxy still signs in.
    colleague = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="198.51.100.23")
    assert _post_login(colleague, "/accounts/login/", "agent", PASSWORD).status_code == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.66"}


def test_the_owners_sign_in_does_not_wipe_an_attackers_failures_from_elsewhere(users, settings):
    settings.AXES_FAILURE_LIMIT = 3
    attacker = Client(REMOTE_ADDR="203.0.113.77")
    _post_login(attacker, "/accounts/login/", "supervisor", "wrong")
    _post_login(attacker, "/accounts/login/", "supervisor", "wrong")
    owner = Client(REMOTE_ADDR="198.51.100.5")
    assert _post_login(owner, "/accounts/login/", "supervisor", PASSWORD).status_code == 302
    assert _post_login(attacker, "/accounts/login/", "supervisor", "wrong").status_code == 429  # the third
