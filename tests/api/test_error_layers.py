"""Errors stay JSON at every layer of /api/: a body too large, a host we do not serve, a CSRF refusal."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from aftersales.models import ApiKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(users):
    api_key = ApiKey(name="App", channel="app", user=users["channel"])
    raw = api_key.issue()
    api_key.save()
    return raw


def test_an_oversized_json_body_gets_a_json_413_with_the_limit_before_it_is_read(key, settings):
    settings.API_MAX_JSON_BYTES = 10_000
    body = json.dumps({"order_number": "O1", "reason": "x" * 20_000})
    response = Client().post(
        "/api/v1/cases/", data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Api-Key {key}"
    )
    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
    data = response.json()
    assert data["code"] == "too_large" and data["limit"] == 10_000
    assert "10000" in data["detail"]


def test_a_body_under_the_limit_reaches_the_api(key, settings):
    settings.API_MAX_JSON_BYTES = 10_000
    response = Client().post(
        "/api/v1/cases/",
        data={"order_number": "nope"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {key}",
    )
    assert response.status_code == 400 and "request_type" in response.json()  # the API's own field errors


def test_an_upload_has_its_own_larger_limit(key, settings):
    settings.API_MAX_JSON_BYTES = 1_000
    settings.API_MAX_UPLOAD_BYTES = 50_000
    big = (
        b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.jpg"\r\n\r\n'
        + b"x" * 60_000
        + b"\r\n--b--\r\n"
    )
    response = Client().generic(
        "POST",
        "/api/v1/cases/AS1/evidence/",
        big,
        content_type="multipart/form-data; boundary=b",
        HTTP_AUTHORIZATION=f"Api-Key {key}",
    )
    assert response.status_code == 413 and response.json()["limit"] == 50_000
    small = big.replace(b"x" * 60_000, b"x" * 5_000)
    response = Client().generic(
        "POST",
        "/api/v1/cases/AS1/evidence/",
        small,
        content_type="multipart/form-data; boundary=b",
        HTTP_AUTHORIZATION=f"Api-Key {key}",
    )
    assert response.status_code == 404  # past the limit check: no such case


def test_a_host_we_do_not_serve_is_refused_in_json_under_api_and_as_a_page_elsewhere(db):
    response = Client().get("/api/v1/cases/AS1/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_host"
    page = Client().get("/cases/", HTTP_HOST="evil.example")
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")


def test_a_staff_session_write_without_the_csrf_token_is_refused_in_json(users):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["supervisor"])
    response = client.post("/api/v1/staff/cases/1/claim/", data={}, content_type="application/json")
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/json")
    assert "CSRF" in response.json()["detail"]
