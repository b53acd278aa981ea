"""Deployment settings: with the production environment of .env.production.example, `check --deploy` is clean;
with DEBUG off and the defaults, the security settings are on."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _production_env(**changes) -> dict:
    # Only what a server's environment would hold (nothing of the test run's own, e.g. DJANGO_ALLOW_ASYNC_UNSAFE).
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "SYSTEMROOT") if key in os.environ}
    for line in (ROOT / ".env.production.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    env.update(changes)
    return env


def _manage(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_prints_nothing_with_the_production_environment():
    done = _manage("check", "--deploy", "--fail-level", "WARNING", env=_production_env())
    assert done.returncode == 0, done.stderr + done.stdout
    assert "no issues" in done.stdout
    assert "WARNINGS" not in done.stderr + done.stdout


def test_check_deploy_complains_when_https_is_switched_off():
    done = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env=_production_env(SECURE_SSL_REDIRECT="false", SECURE_HSTS_SECONDS="0"),
    )
    assert done.returncode != 0
    assert "security.W008" in done.stderr + done.stdout and "security.W004" in done.stderr + done.stdout


def test_production_settings_turn_on_https_cookies_and_the_policy():
    code = (
        "from django.conf import settings as s;"
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.SECURE_PROXY_SSL_HEADER, s.CSRF_TRUSTED_ORIGINS, 'csp.middleware.CSPMiddleware' in s.MIDDLEWARE)"
    )
    done = _manage("shell", "--no-imports", "-c", code, env=_production_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "True",
        "31536000",
        "True",
        "True",
        "('HTTP_X_FORWARDED_PROTO',",
        "'https')",
        "['https://aftersales.example.com']",
        "True",
    ]


def test_the_error_views_import_first_in_a_fresh_process():
    # The CSRF-view check may be the first to import aftersales.api.errors; it must not need DRF's views loaded.
    code = "import django; django.setup(); import aftersales.api.errors; print('imported')"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**_production_env(), "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported"
