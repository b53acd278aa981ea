"""Scale-out: a real Celery worker, on the local Redis, runs a sweep against the test database (PostgreSQL)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from aftersales.models import CaseEvent, CaseState

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REDIS = os.environ.get("CELERY_TEST_REDIS", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parents[2]


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def _database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker():
    if not _redis_up():
        if os.environ.get("REQUIRE_REDIS"):  # CI: Redis must be there
            pytest.fail("Redis is not reachable at 127.0.0.1:6379")
        pytest.skip("needs Redis at 127.0.0.1:6379")
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": REDIS,
        "CELERY_RESULT_BACKEND": REDIS,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "-l",
            "warning",
            "-n",
            f"test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def test_a_worker_runs_the_review_sweep_and_the_case_is_approved(worker, open_case):
    from config.celery import app

    case = open_case(at=timezone.now() - timedelta(hours=49))
    app.conf.broker_url = REDIS
    app.conf.result_backend = REDIS
    result = app.send_task("aftersales.tasks.run_job", args=["review_timeouts"])
    try:
        assert result.get(timeout=90) == 1
    except Exception:
        worker.terminate()
        print(worker.stdout.read().decode(errors="replace")[-4000:])
        raise
    case.refresh_from_db()
    assert case.state == CaseState.AWAITING_RETURN
    assert CaseEvent.objects.filter(case=case, name="auto_approve").count() == 1
