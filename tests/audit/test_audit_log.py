"""The audit log: permission changes, API keys, exports; supervisors read and export it in the admin."""

from __future__ import annotations

import csv
import io

from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from aftersales.models import ApiKey
from audit.models import AuditEntry
from tests.factories import UserFactory

A = AuditEntry.Action


def _staff_supervisor(users):
    supervisor = users["supervisor"]
    supervisor.is_staff = True
    supervisor.save()
    return supervisor


def test_group_and_flag_changes_are_recorded_with_who_did_them(users, login):
    admin_user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = login(admin_user)
    target = UserFactory(username="newbie")
    agent_group = Group.objects.get(name="agent")
    supervisor_group = Group.objects.get(name="supervisor")
    response = client.post(
        reverse("admin:auth_user_change", args=[target.pk]),
        {
            "username": "newbie",
            "is_active": "on",
            "is_staff": "on",
            "groups": [agent_group.pk, supervisor_group.pk],
            "date_joined_0": "2026-11-01",
            "date_joined_1": "10:00:00",
            "initial-date_joined_0": "2026-11-01",
            "initial-date_joined_1": "10:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    entries = AuditEntry.objects.filter(action=A.PERMISSIONS_CHANGED, target="newbie")
    details = [e.detail for e in entries]
    assert {"is_staff": [False, True]} in details
    assert {"groups": {"added": ["agent", "supervisor"]}} in details
    assert all(e.actor == admin_user for e in entries)

    target.groups.remove(supervisor_group)
    assert AuditEntry.objects.filter(target="newbie", detail={"groups": {"removed": ["supervisor"]}}).exists()
    supervisor_group.permissions.add(Permission.objects.get(codename="delete_case"))
    entry = AuditEntry.objects.filter(target="supervisor").latest("id")
    assert entry.detail == {"permissions": {"added": ["aftersales.delete_case"]}}
    assert entry.actor is None  # no request: done by a script


def test_a_last_login_update_writes_no_entry(users):
    before = AuditEntry.objects.count()
    users["agent"].save(update_fields=["last_login"])
    users["agent"].save()  # a save that changes no flag
    assert AuditEntry.objects.count() == before


def test_api_keys_created_rotated_and_revoked_are_recorded(users, login):
    supervisor = _staff_supervisor(users)
    client = login(supervisor)
    response = client.post(
        reverse("admin:aftersales_apikey_add"),
        {
            "name": "小程序",
            "channel": "mini_program",
            "user": users["channel"].pk,
            "rate": "120/min",
            "webhook_url": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    key = ApiKey.objects.get(name="小程序")
    changelist = reverse("admin:aftersales_apikey_changelist")
    client.post(changelist, {"action": "rotate", "_selected_action": [key.pk]})
    client.post(changelist, {"action": "revoke", "_selected_action": [key.pk]})
    actions = list(AuditEntry.objects.filter(actor=supervisor).order_by("id").values_list("action", flat=True))
    assert [a for a in actions if a.startswith("api_key")] == [A.API_KEY_CREATED, A.API_KEY_ROTATED, A.API_KEY_REVOKED]
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_supervisors_filter_and_export_the_log_and_the_export_is_recorded(users, login):
    supervisor = _staff_supervisor(users)
    AuditEntry.objects.create(action=A.SIGN_IN_FAILED, actor_name="mallory", ip="203.0.113.5", detail={"n": 1})
    AuditEntry.objects.create(action=A.SIGN_IN, actor_name="agent", target="=HYPERLINK(1)")
    client = login(supervisor)
    changelist = reverse("admin:audit_auditentry_changelist")
    page = client.get(changelist, {"action__exact": A.SIGN_IN_FAILED})
    assert page.status_code == 200
    text = page.content.decode()
    assert "mallory" in text and "登录失败" in text
    assert "HYPERLINK" not in text  # filtered out

    columns = ("at", "action", "actor_name", "ip", "target", "detail", "reason")
    response = client.post(
        reverse("admin:audit_auditentry_export"),
        {"format": "0", "resource": "0", **{f"auditentryresource_{name}": "on" for name in columns}},
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["时间", "操作", "用户名"]
    by_name = {row[2]: row for row in rows[1:]}
    assert by_name["mallory"][1] == "登录失败" and by_name["mallory"][3] == "203.0.113.5"
    assert not by_name["agent"][4].startswith("=")  # a formula is written as text
    assert AuditEntry.objects.filter(action=A.EXPORT, actor=supervisor).exists()

    # Read-only: nobody adds, edits or deletes entries.
    entry = AuditEntry.objects.first()
    assert client.get(reverse("admin:audit_auditentry_add")).status_code == 403
    assert client.post(reverse("admin:audit_auditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403


def test_agents_cannot_read_the_log(users, login):
    agent = users["agent"]
    agent.is_staff = True
    agent.save()
    assert login(agent).get(reverse("admin:audit_auditentry_changelist")).status_code == 403


def test_the_compensation_export_is_recorded(users, login):
    client = login(users["finance"])
    response = client.get("/reports/compensation/export/csv/")
    assert response.status_code == 200
    entry = AuditEntry.objects.get(action=A.EXPORT, actor=users["finance"])
    assert entry.detail["format"] == "csv" and entry.detail["unmasked_phones"] is False
