"""Personal-data duties (PIPL): export one customer's data, erase it (gone from every table and from exports,
cases and amounts kept), the retention job, and unmasked phone numbers in the audit log."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.urls import reverse
from django.utils import timezone

from aftersales import services
from aftersales.errors import NotAllowed
from aftersales.models import (
    Case,
    CaseState,
    CauseAnalysis,
    Compensation,
    Evidence,
    FollowUp,
    InspectionPhoto,
    Notification,
)
from aftersales.services import privacy
from audit.models import AuditEntry
from customers.models import Customer
from tests.aftersales.test_evidence import jpeg_with_exif

S = CaseState
A = AuditEntry.Action


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def sup(login, supervisor):
    supervisor.is_staff = True
    supervisor.save()
    return login(supervisor)


@pytest.fixture
def story(case_in, agent, order):
    """A customer with a closed case that names them: a note with the phone, evidence, an email sent."""
    customer = order.customer
    customer.name, customer.phone, customer.email = "王小丽", "13912345678", "xiaoli@example.com"
    customer.external_id = "12"  # short and numeric: must not garble amounts or ids in JSON and text
    customer.save()
    case = case_in(S.COMPENSATION)
    inspection = case.inspections.get()
    InspectionPhoto.objects.create(
        inspection=inspection,
        image=SimpleUploadedFile("面单.jpg", jpeg_with_exif()),
        original_name="王小丽面单.jpg",
        content_type="image/jpeg",
        size=100,
    )
    Notification.objects.create(
        kind=Notification.Kind.CUSTOMER_PROGRESS,
        channel=Notification.Channel.EMAIL,
        recipient="xiaoli@example.com",
        subject="进度",
        body="…",
        case=case,
        state=Notification.State.FAILED,
        last_error="550 mailbox xiaoli@example.com unavailable",
        payload={"amount": 12, "note": "订单 12 号"},
    )
    services.case_add_evidence(
        case_id=case.pk, actor=agent, files=[SimpleUploadedFile("王小丽的快递.jpg", jpeg_with_exif())]
    )
    services.case_add_note(
        case_id=case.pk, actor=agent, text="顾客王小丽来电 13912345678，地址上海市浦东新区世纪大道100号"
    )
    # The call back and the complaint's analysis name her too.
    FollowUp.objects.create(
        case=case, reasons=["complaint"], due_at=timezone.now(), notes="王小丽说 13912345678 可联系"
    )
    CauseAnalysis.objects.create(
        case=case,
        root_cause="王小丽收到的包裹破损",
        attribution="logistics",
        corrective_action="联系王小丽确认包装",
        owner=agent,
        recorded_by=agent,
    )
    return customer, case


def _finish(case, case_in):
    Case.objects.filter(pk=case.pk).update(state=S.CLOSED, closed_at=timezone.now())


def _everywhere(value: str) -> list[str]:
    """Every text or JSON column of every table that still contains ``value``."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.CharField | models.TextField):
                hits = model._default_manager.filter(**{f"{field.name}__contains": value})
            elif isinstance(field, models.JSONField):
                hits = [
                    r
                    for r in model._default_manager.only("pk", field.name)
                    if value in json.dumps(getattr(r, field.name), ensure_ascii=False)
                ]
            else:
                continue
            if hits:
                found.append(f"{model._meta.label}.{field.name}")
    return found


def test_a_supervisor_exports_everything_held_about_one_customer(sup, story):
    customer, case = story
    response = sup.get(reverse("admin:customers_customer_personal_data", args=[customer.pk]))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["customer"]["phone"] == "13912345678" and data["customer"]["name"] == "王小丽"
    assert data["orders"][0]["shipping_address"] == "上海市浦东新区世纪大道100号"
    [exported_case] = data["cases"]
    assert exported_case["number"] == case.number
    assert [f["name"] for f in exported_case["evidence_files"]] == ["王小丽的快递.jpg"]
    assert any("13912345678" in m["note"] for m in exported_case["messages"])
    assert exported_case["follow_up"]["notes"] == "王小丽说 13912345678 可联系"
    entry = AuditEntry.objects.get(action=A.PERSONAL_DATA_EXPORTED)
    assert entry.target == f"customer #{customer.pk}" and entry.detail["cases"] == 1


def test_erasing_is_refused_while_a_case_is_open_and_without_a_reason(sup, story, supervisor):
    customer, case = story
    url = reverse("admin:customers_customer_erase", args=[customer.pk])
    page = sup.post(url, {"reason": "客户电话申请", "confirm": "on"})
    assert page.status_code == 200
    assert case.number in page.content.decode() and "仍未完结" in page.content.decode()
    with pytest.raises(Exception) as caught:
        privacy.erase_customer(customer_id=customer.pk, actor=supervisor, reason="  ")
    assert "reason" in caught.value.message_dict
    customer.refresh_from_db()
    assert customer.erased_at is None and customer.phone == "13912345678"


def test_erasure_leaves_no_trace_of_the_person_but_keeps_cases_and_amounts(
    sup, story, supervisor, case_in, _media, django_capture_on_commit_callbacks
):
    customer, case = story
    comp = services.compensation_add(case_id=case.pk, actor=supervisor, kind="refund", amount="99.00")
    Compensation.objects.filter(pk=comp.pk).update(note="退款给王小丽")
    _finish(case, case_in)
    stored = [e.file.path for e in Evidence.objects.filter(case=case)]
    assert stored and all(__import__("os").path.exists(p) for p in stored)
    values = ["13912345678", "王小丽", "xiaoli@example.com", "上海市浦东新区世纪大道100号"]
    assert all(_everywhere(v) for v in values)  # the scan finds them before

    stored += [p.image.path for p in InspectionPhoto.objects.filter(inspection__case=case)]
    with django_capture_on_commit_callbacks(execute=True):  # the files go once the erasure committed
        response = sup.post(
            reverse("admin:customers_customer_erase", args=[customer.pk]),
            {"reason": "客户 2026-11-30 来电要求删除", "confirm": "on"},
        )
    assert response.status_code == 302
    failed = Notification.objects.get(subject="进度")
    assert failed.payload == {"amount": 12, "note": "订单 12 号"}  # the short id was not searched for
    assert InspectionPhoto.objects.get(inspection__case=case).original_name == "（已删除）"

    for value in values:
        assert _everywhere(value) == [], value
    assert not any(__import__("os").path.exists(p) for p in stored)
    customer.refresh_from_db()
    assert customer.erased_at is not None and customer.phone == "" and customer.name.startswith("（已删除）")
    case.refresh_from_db()
    assert case.state == S.CLOSED and case.lines.count() == 1
    assert Compensation.objects.get(case=case).amount == __import__("decimal").Decimal("99.00")
    assert Compensation.objects.get(case=case).note == "退款给（已删除）"
    assert "（已删除）" in case.events.filter(kind="note").get().note

    export = sup.get("/reports/compensation/export/csv/?basis=proposed&start=2000-01-01&end=2099-12-31")
    body = b"".join(export.streaming_content).decode("utf-8-sig")
    assert case.number in body and "13912345678" not in body and "王小丽" not in body

    entry = AuditEntry.objects.get(action=A.PERSONAL_DATA_ERASED)
    assert entry.actor == supervisor and entry.reason == "客户 2026-11-30 来电要求删除"
    assert entry.detail["evidence_files"] == 1 and entry.detail["orders"] == 1
    with pytest.raises(NotAllowed):
        privacy.erase_customer(customer_id=customer.pk, actor=supervisor, reason="again")


def test_agents_cannot_export_or_erase(login, agent, story):
    agent.is_staff = True
    agent.save()
    client = login(agent)
    customer, _case = story
    assert client.get(reverse("admin:customers_customer_personal_data", args=[customer.pk])).status_code == 403
    assert (
        client.post(
            reverse("admin:customers_customer_erase", args=[customer.pk]), {"reason": "x", "confirm": "on"}
        ).status_code
        == 403
    )
    assert not AuditEntry.objects.filter(action__in=[A.PERSONAL_DATA_EXPORTED, A.PERSONAL_DATA_ERASED]).exists()


def test_the_retention_job_anonymises_only_customers_past_the_period(settings, case_in, order, time_machine):
    from aftersales.automation.jobs import run_job as run
    from tests.factories import OrderFactory

    settings.PERSONAL_DATA_RETENTION_MONTHS = 12
    now = timezone.now()
    old = case_in(S.PENDING_REVIEW)
    Case.objects.filter(pk=old.pk).update(state=S.CLOSED, closed_at=now - timedelta(days=400))
    Customer.objects.filter(pk=old.customer_id).update(created_at=now - timedelta(days=800))
    order.__class__.objects.filter(pk=order.pk).update(placed_at=now - timedelta(days=410), delivered_at=None)

    recent_customer = OrderFactory(placed_at=now - timedelta(days=500), delivered_at=None).customer
    Customer.objects.filter(pk=recent_customer.pk).update(created_at=now - timedelta(days=800))
    OrderFactory(customer=recent_customer, placed_at=now - timedelta(days=30), delivered_at=None)  # bought again

    settings.PERSONAL_DATA_RETENTION_MONTHS = 0
    assert run("retention") == 0  # off
    settings.PERSONAL_DATA_RETENTION_MONTHS = 12
    assert run("retention") == 1
    anonymised = Customer.objects.get(pk=old.customer_id)
    assert anonymised.erased_at is not None and anonymised.phone == ""
    assert Customer.objects.get(pk=recent_customer.pk).erased_at is None
    entry = AuditEntry.objects.get(action=A.RETENTION_ANONYMISED)
    assert entry.detail["customers"] == [old.customer_id] and entry.actor is None
    assert run("retention") == 0  # idempotent


def test_a_customer_with_an_open_case_is_never_anonymised(settings, case_in):
    from aftersales.automation.jobs import run_job as run

    settings.PERSONAL_DATA_RETENTION_MONTHS = 1
    case = case_in(S.PENDING_REVIEW)
    Customer.objects.filter(pk=case.customer_id).update(created_at=timezone.now() - timedelta(days=800))
    Case.objects.filter(pk=case.pk).update(opened_at=timezone.now() - timedelta(days=400))
    case.order.__class__.objects.filter(pk=case.order_id).update(
        placed_at=timezone.now() - timedelta(days=410), delivered_at=None
    )
    assert run("retention") == 0
    assert Customer.objects.get(pk=case.customer_id).erased_at is None


def test_the_full_phone_number_is_shown_on_request_and_each_view_is_logged(login, supervisor, agent, case_in):
    case = case_in(S.PENDING_REVIEW)
    phone = case.customer.phone
    client = login(supervisor)
    page = client.get(reverse("desk:case", args=[case.pk])).content.decode()
    assert phone not in page and case.customer.masked_phone in page and "查看完整号码" in page
    assert not AuditEntry.objects.filter(action=A.UNMASKED_VIEW).exists()
    page = client.get(reverse("desk:case", args=[case.pk]) + "?show=phone").content.decode()
    assert phone in page
    entry = AuditEntry.objects.get(action=A.UNMASKED_VIEW)
    assert entry.actor == supervisor and entry.target == case.number and entry.detail["field"] == "phone"

    # Without the permission, asking changes nothing and logs nothing.
    page = login(agent).get(reverse("desk:case", args=[case.pk]) + "?show=phone").content.decode()
    assert phone not in page and "查看完整号码" not in page
    assert AuditEntry.objects.filter(action=A.UNMASKED_VIEW).count() == 1


def test_the_staff_api_logs_each_unmasked_phone(login, supervisor, case_in):
    case = case_in(S.PENDING_REVIEW)
    body = login(supervisor).get(f"/api/v1/staff/cases/{case.pk}/").json()
    assert body["customer_phone"] == case.customer.phone
    entry = AuditEntry.objects.get(action=A.UNMASKED_VIEW)
    assert entry.detail["via"] == "api" and entry.target == case.number


@pytest.mark.parametrize(
    ("at", "months", "expected"),
    [
        ((2026, 3, 31, 10, 0), 1, (2026, 2, 28, 10, 0)),
        ((2026, 1, 15, 0, 30), 1, (2025, 12, 15, 0, 30)),
        ((2028, 2, 29, 12, 0), 12, (2027, 2, 28, 12, 0)),
        ((2026, 12, 1, 9, 0), 36, (2023, 12, 1, 9, 0)),
    ],
)
def test_months_before_keeps_the_local_day_or_the_months_last(at, months, expected):
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Shanghai")
    result = privacy.months_before(__import__("datetime").datetime(*at, tzinfo=zone), months)
    assert result == __import__("datetime").datetime(*expected, tzinfo=zone)
