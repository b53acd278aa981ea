"""API keys in the supervisor's admin: created with the key shown once, revoked, rotated; only hashes kept."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from rest_framework.test import APIClient

from aftersales.models import ApiKey

CHANGELIST = reverse("admin:aftersales_apikey_changelist")
PROBE = reverse("api:case", args=["AS00000000-000001"])  # a valid key gets 404 (no such case), an invalid one 401


@pytest.fixture
def sup(client, users):
    supervisor = users["supervisor"]
    supervisor.is_staff = True
    supervisor.save(update_fields=["is_staff"])
    client.force_login(supervisor)
    return client


def status_with(raw: str) -> int:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return api.get(PROBE).status_code


def shown_keys(response) -> list[str]:
    return [m for text in map(str, get_messages(response.wsgi_request)) for m in re.findall(r"ask_\w+_[\w-]+", text)]


def add_key(sup, users, name="直播店") -> tuple[ApiKey, str]:
    response = sup.post(
        reverse("admin:aftersales_apikey_add"),
        {
            "name": name,
            "channel": "live_stream",
            "user": users["channel"].pk,
            "rate": "60/min",
            "webhook_url": "",
            "_change_reason": "新渠道接入",
        },
        follow=True,
    )
    assert response.status_code == 200
    [raw] = shown_keys(response)
    return ApiKey.objects.get(name=name), raw


def test_a_supervisor_creates_a_key_seen_once_and_stored_as_a_hash(sup, users):
    key, raw = add_key(sup, users)
    assert key.channel == "live_stream" and key.prefix in raw and raw.split("_", 2)[2] not in key.secret_hash
    assert status_with(raw) == 404  # accepted (the case just does not exist)
    listing = sup.get(CHANGELIST).content.decode()
    assert key.prefix in listing and raw not in listing
    assert raw not in sup.get(reverse("admin:aftersales_apikey_change", args=[key.pk])).content.decode()


def test_only_channel_service_accounts_may_own_a_key(sup, users):
    response = sup.post(
        reverse("admin:aftersales_apikey_add"),
        {"name": "x", "channel": "app", "user": users["agent"].pk, "rate": "60/min", "webhook_url": ""},
    )
    assert response.status_code == 200 and "user" in response.context["adminform"].form.errors
    assert not ApiKey.objects.exists()


def test_revoke_and_rotate(sup, users):
    key, raw = add_key(sup, users)
    _other, other_raw = add_key(sup, users, name="小程序")
    old_signing = key.webhook_secret
    rotated = sup.post(CHANGELIST, {"action": "rotate", "_selected_action": [key.pk]}, follow=True)
    [new_raw] = shown_keys(rotated)
    key.refresh_from_db()
    assert new_raw != raw and status_with(raw) == 401 and status_with(new_raw) == 404
    assert key.webhook_secret != old_signing  # the webhook signing secret changes with the key
    sup.post(CHANGELIST, {"action": "revoke", "_selected_action": [key.pk]}, follow=True)
    assert status_with(new_raw) == 401 and status_with(other_raw) == 404  # the other channel keeps working
    again = sup.post(CHANGELIST, {"action": "rotate", "_selected_action": [key.pk]}, follow=True)
    assert shown_keys(again) == []  # a revoked key is not brought back by rotating it


def test_keys_are_never_deleted_and_other_roles_cannot_see_them(sup, users, login):
    key, _ = add_key(sup, users)
    assert sup.get(reverse("admin:aftersales_apikey_delete", args=[key.pk])).status_code == 403
    agent = users["agent"]
    agent.is_staff = True
    agent.save(update_fields=["is_staff"])
    assert login(agent).get(CHANGELIST).status_code == 403
