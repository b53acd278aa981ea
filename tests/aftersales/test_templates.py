"""Response templates: placeholders, matching, versions of every use, effect data, the monthly health report."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from aftersales import services
from aftersales.models import Case, CaseEvent, HealthReport, Notification, Policy, ResponseTemplate, TemplateUse
from aftersales.replies.health import health_report_generate
from aftersales.replies.library import case_send_template, policy_version_effects, template_effects, templates_for
from aftersales.replies.rendering import render, validate_body, values_for
from customers.models import Customer
from reports import jobs as reports_jobs
from tests.factories import OrderFactory, OrderLineFactory, ProductCategoryFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")


def make(
    code, *, scenario="acknowledge", body="{customer_name}您好，{case_number}已收到。", **fields
) -> ResponseTemplate:
    template = ResponseTemplate(code=code, title=code, scenario=scenario, body=body, **fields)
    template.full_clean()
    template._change_reason = "新建"
    template.save()
    return template


# -- placeholders -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("您好{customer_nmae}", "{customer_nmae}"),
        ("退款{refund_amount}元，{__class__}", "{__class__}"),
        ("您好 {customer_name", "{"),
        ("金额} 多少", "}"),
    ],
)
def test_unknown_placeholders_and_lone_braces_are_refused_naming_them(body, fragment):
    with pytest.raises(ValidationError) as excinfo:
        validate_body(body)
    assert any(fragment in message for message in excinfo.value.messages)


def test_a_bad_template_is_not_saved(db):
    template = ResponseTemplate(code="bad", title="坏模板", scenario="acknowledge", body="您好{customer}")
    with pytest.raises(ValidationError) as excinfo:
        template.full_clean()
    assert "{customer}" in " ".join(excinfo.value.message_dict["body"])


def test_rendering_substitutes_chinese_text_and_marks_missing_values():
    body = "{customer_name}您好，{{活动}}退款{refund_amount}将在{deadline}前到账。"
    text = render(body, {"customer_name": "张伟", "refund_amount": "¥99.00", "deadline": None})
    assert text == "张伟您好，{活动}退款¥99.00将在【当前时限】前到账。"


def test_values_come_from_the_case(case_in, agent):
    case = case_in("awaiting_confirmation")
    values = values_for(case, agent=agent)
    assert values["case_number"] == case.number and values["order_number"] == case.order.number
    assert values["refund_amount"] == "¥99.00" and values["product_name"] == "纯棉T恤"
    assert values["deadline"] and values["findings"] == "面料起球"


# -- matching ---------------------------------------------------------------------------------------
def test_a_category_specific_template_ranks_above_a_generic_one(open_case, order, agent):
    apparel = order.lines.first().category
    generic = make("ack-generic")
    specific = make("ack-apparel", product_category=apparel)
    make("ack-digital", product_category=ProductCategoryFactory(code="digital", name="数码"))
    make("offer", scenario="compensation_offer")  # not for a case under review
    suggestions = templates_for(open_case(), agent=agent)
    assert [s.template for s in suggestions] == [specific, generic]
    assert "纯棉T恤" not in suggestions[0].text and "您好" in suggestions[0].text


def test_segment_and_channel_narrow_the_choice(open_case, order, agent):
    make("ack-vip", segment="vip")
    make("ack-live", channel="live_stream")
    make("ack-any")
    assert [s.template.code for s in templates_for(open_case(), agent=agent)] == ["ack-any"]
    Customer.objects.filter(pk=order.customer_id).update(tier="vip")
    case = Case.objects.select_related("customer").get(pk=open_case(lines=[(order.lines.order_by("id")[1].pk, 1)]).pk)
    assert [s.template.code for s in templates_for(case, agent=agent)] == ["ack-vip", "ack-any"]


def test_a_qc_result_is_suggested_only_once_the_goods_were_inspected(case_in, agent, order):
    make("qc-any", scenario="qc_result", body="{case_number}质检完成。")
    make("offer-any", scenario="compensation_offer", body="{case_number}的补偿方案。")
    never_inspected = case_in("compensation", request_type="refund_only")
    assert [s.template.code for s in templates_for(never_inspected, agent=agent)] == ["offer-any"]
    inspected = case_in("compensation", lines=[(order.lines.get(sku="JK-002").pk, 1)])
    assert inspected.inspected_at is not None
    assert [s.template.code for s in templates_for(inspected, agent=agent)] == ["offer-any", "qc-any"]


def test_a_template_that_speaks_of_a_replacement_is_not_suggested_after_a_refund(case_in, agent, users):
    """A "how is your new one" follow-up fits a case that sent goods, not one that refunded."""
    make("follow-any", scenario="follow_up", body="{case_number}已完成，满意吗？")
    make("follow-new-one", scenario="follow_up", body="新换的{product_name}还习惯吗？", granted_kind="replacement")
    refunded = case_in("closed")  # its offer is a refund
    assert [s.template.code for s in templates_for(refunded, agent=agent)] == ["follow-any"]
    exchanged = case_in("compensation", request_type="exchange", lines=[(refunded.order.lines.order_by("id")[1].pk, 1)])
    services.compensation_add(case_id=exchanged.pk, actor=agent, kind="replacement", amount="1299.00")
    suggestions = templates_for(Case.objects.get(pk=exchanged.pk), agent=agent, granted_kinds={"replacement"})
    assert "follow-new-one" not in {s.template.code for s in suggestions}  # not a follow-up state yet
    services.case_propose(case_id=exchanged.pk, actor=users["supervisor"])
    confirmed = services.case_confirm(case_id=exchanged.pk, actor=users["channel"])
    services.case_send_goods(case_id=confirmed.pk, actor=users["qc"], carrier="SF", tracking_number="SF1234567890123")
    closed = services.case_confirm_receipt(case_id=confirmed.pk, actor=users["channel"])
    assert [s.template.code for s in templates_for(closed, agent=agent)] == ["follow-new-one", "follow-any"]


def test_the_case_page_offers_the_rendered_replies(login, agent, open_case):
    make("ack-any")
    case = open_case()
    replies = login(agent).get(reverse("desk:case", args=[case.pk])).context["replies"]
    assert replies[0].text == f"{case.customer.name}您好，{case.number}已收到。"


# -- sending and versions -----------------------------------------------------------------------------
def test_a_send_records_the_exact_version_and_old_uses_keep_it(login, agent, open_case, order):
    template = make("ack-any")
    first_version = template.history.latest()
    case = open_case()
    client = login(agent)
    client.post(
        reverse("desk:case_template_reply", args=[case.pk]),
        {
            "template": template.pk,
            "version": first_version.history_id,
            "text": f"{case.customer.name}您好，{case.number}已收到。",
        },
    )
    use = TemplateUse.objects.get()
    assert use.version == first_version and not use.edited
    assert CaseEvent.objects.get(pk=use.event_id).kind == "reply"

    template.body = "{customer_name}您好，您的申请{case_number}已受理，请耐心等待。"
    template._change_reason = "更礼貌"
    template.save()
    assert template.history.count() == 2
    second_version = template.history.latest()
    other = open_case(lines=[(order.lines.order_by("id")[1].pk, 1)])
    client.post(
        reverse("desk:case_template_reply", args=[other.pk]),
        {"template": template.pk, "version": second_version.history_id, "text": "我改过的回复"},
    )
    uses = {u.case_id: u for u in TemplateUse.objects.all()}
    assert uses[case.pk].version == first_version  # the old use still points at the old version
    assert uses[other.pk].version == second_version and uses[other.pk].edited
    assert first_version.body != second_version.body


def test_a_version_of_another_template_or_a_retired_template_is_refused(open_case, agent):
    one, two = make("one"), make("two")
    case = open_case()
    with pytest.raises(ValidationError):
        case_send_template(
            case_id=case.pk, actor=agent, template_id=one.pk, version_id=two.history.latest().history_id, text="x"
        )
    ResponseTemplate.objects.filter(pk=one.pk).update(active=False)
    with pytest.raises(ValidationError):
        case_send_template(
            case_id=case.pk, actor=agent, template_id=one.pk, version_id=one.history.latest().history_id, text="x"
        )
    assert not TemplateUse.objects.exists() and not CaseEvent.objects.filter(kind="reply").exists()


# -- effect data --------------------------------------------------------------------------------------------
def test_effect_data_per_version(case_in, order, users, agent, supervisor):
    template = make("offer", scenario="compensation_offer", body="您好，方案已发出。")
    v1 = template.history.latest().history_id
    lines = list(order.lines.order_by("id"))
    good = case_in("awaiting_confirmation")  # served by v1, then confirmed: CSAT 5
    case_send_template(case_id=good.pk, actor=agent, template_id=template.pk, version_id=v1, text="您好")
    services.case_confirm(case_id=good.pk, actor=users["channel"])
    Case.objects.filter(pk=good.pk).update(csat=5, opened_at=good.opened_at - timedelta(hours=10))
    bad = case_in("awaiting_confirmation", lines=[(lines[1].pk, 1)])  # served by v1, then the customer declines
    case_send_template(case_id=bad.pk, actor=agent, template_id=template.pk, version_id=v1, text="您好")
    case_send_template(case_id=bad.pk, actor=agent, template_id=template.pk, version_id=v1, text="再次提醒")
    services.case_decline(case_id=bad.pk, actor=users["channel"])
    template.body = "您好，新方案已发出。"
    template._change_reason = "v2"
    template.save()
    effects = {e.version_id: e for e in template_effects(template_id=template.pk)}
    first = effects[v1]
    assert (first.uses, first.cases) == (3, 2)
    assert first.csat == Decimal("5.00") and first.trouble_rate == Decimal("50.0")
    assert first.resolution_hours is not None and first.resolution_hours >= Decimal("10.0")
    assert template.history.latest().history_id not in effects  # the new version has no uses yet


def test_policy_versions_count_the_cases_decided_under_them(open_case, order, agent, policy):
    first = open_case()
    services.case_reject(case_id=first.pk, actor=agent, reason="超期")
    policy.review_timeout_hours = 24
    policy.save()
    second = open_case(lines=[(order.lines.order_by("id")[1].pk, 1)])
    rows = policy_version_effects(policy.pk)
    assert [(row["version"].history_id, row["cases"], row["rejected"], row["open"]) for row in rows] == [
        (second.policy_version_id, 1, 0, 1),
        (first.policy_version_id, 1, 1, 0),
    ]


# -- the monthly health report ----------------------------------------------------------------------------------
def october(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=SHANGHAI)


def open_cases_in_october(actor, count: int, category) -> list[Case]:
    cases = []
    for n in range(count):
        line = OrderLineFactory(
            order=OrderFactory(placed_at=october(1, 8), delivered_at=october(1, 9)), category=category, quantity=1
        )
        at = october(2 + n % 25)
        cases.append(
            services.case_open(
                actor=actor, order_id=line.order_id, lines=[(line.pk, 1)], request_type="refund_only", at=at
            )
        )
    return cases


@pytest.mark.parametrize(("eligible", "flagged"), [(20, False), (21, True)])
def test_the_five_percent_boundary(policy, users, eligible, flagged):
    shoes = ProductCategoryFactory(code="shoes", name="鞋")
    template = make("ack-shoes", product_category=shoes)
    make("ack-any")  # fits every case, never used
    cases = open_cases_in_october(users["channel"], eligible, shoes)
    case_send_template(
        case_id=cases[0].pk,
        actor=users["agent"],
        template_id=template.pk,
        version_id=template.history.latest().history_id,
        text="您好",
        at=october(20),
    )
    report = health_report_generate(month=october(1).date(), notify=False)
    rows = {row["code"]: row for row in report.templates}
    assert (rows["ack-shoes"]["eligible"], rows["ack-shoes"]["used"]) == (eligible, 1)
    assert rows["ack-shoes"]["flagged"] is flagged
    assert rows["ack-shoes"]["rate"] == ("0.0500" if eligible == 20 else "0.0476")
    assert rows["ack-any"]["flagged"] and rows["ack-any"]["suggestion"] == "retire"
    if flagged:
        assert rows["ack-shoes"]["suggestion"] == "revise"


def test_optional_fields_rarely_filled_are_flagged(policy, users):
    shoes = ProductCategoryFactory(code="shoes", name="鞋")
    cases = open_cases_in_october(users["channel"], 20, shoes)
    Case.objects.filter(pk=cases[0].pk).update(evidence=["photo.jpg"])  # 1 of 20: exactly 5%, not flagged
    report = health_report_generate(month=october(1).date(), notify=False)
    fields = {row["field"]: row for row in report.optional_fields}
    assert fields["evidence"]["rate"] == "0.0500" and not fields["evidence"]["flagged"]
    assert fields["category"]["rate"] == "0.0000" and fields["category"]["flagged"]
    assert fields["category"]["suggestion"] == "simplify"
    assert fields["csat"]["applicable"] == 0 and not fields["csat"]["flagged"]  # nothing closed: no rate


def test_the_job_makes_last_months_report_once_and_tells_the_supervisors(policy, users):
    import time_machine

    users["supervisor"].email = "boss@shop.example.com"
    users["supervisor"].save()
    with time_machine.travel(datetime(2026, 11, 1, 2, tzinfo=SHANGHAI), tick=False):
        assert reports_jobs.template_health() == 1
        assert reports_jobs.template_health() == 0
    assert list(HealthReport.objects.values_list("month", flat=True)) == [october(1).date()]
    assert Notification.objects.filter(recipient="boss@shop.example.com", subject__contains="2026-10").count() == 1


def test_the_report_page_and_its_export(login, policy, users):
    shoes = ProductCategoryFactory(code="shoes", name="鞋")
    make("ack-shoes", product_category=shoes)
    open_cases_in_october(users["channel"], 3, shoes)
    health_report_generate(month=october(1).date(), notify=False)
    client = login(users["supervisor"])
    page = client.get(reverse("reports:health", args=["2026-10"]))
    assert page.status_code == 200 and 'data-code="ack-shoes" data-flagged="1"' in page.content.decode()
    export = client.get(reverse("reports:health_export", args=["2026-10"]))
    assert export["Content-Disposition"] == 'attachment; filename="template_health_2026-10.csv"'
    assert "ack-shoes" in b"".join(export.streaming_content).decode("utf-8-sig")
    assert client.get(reverse("reports:health", args=["2026-13"])).status_code == 404
    assert login(users["agent"]).get(reverse("reports:health", args=["2026-10"])).status_code == 403


# -- version tracing in the admin ----------------------------------------------------------------------------
def test_saving_in_the_admin_asks_why_and_the_diff_shows_the_change(login, supervisor):
    supervisor.is_staff = True
    supervisor.save()
    template = make("ack-any")
    client = login(supervisor)
    url = reverse("admin:aftersales_responsetemplate_change", args=[template.pk])
    data = {
        "code": "ack-any",
        "title": "受理",
        "active": "on",
        "scenario": "acknowledge",
        "tone": "warm",
        "body": "{customer_name}您好，已收到！",
    }
    refused = client.post(url, data)
    assert refused.status_code == 200 and "change_reason" in refused.context["adminform"].form.errors
    assert template.history.count() == 1
    assert client.post(url, {**data, "change_reason": "语气更热情"}).status_code == 302
    latest = template.history.latest()
    assert latest.history_change_reason == "语气更热情" and latest.history_user == supervisor
    diff = client.get(reverse("admin:aftersales_responsetemplate_compare", args=[template.pk]))
    html = diff.content.decode()
    assert "<del>{case_number}</del>" in html and "<ins>！</ins>" in html
    changed = [row for row in diff.context["rows"] if row["changed"]]
    assert {str(row["label"]) for row in changed} >= {"正文", "语气"}


def test_policies_and_rules_ask_why_too(login, supervisor, policy):
    supervisor.is_staff = True
    supervisor.save()
    client = login(supervisor)
    page = client.get(reverse("admin:aftersales_policy_change", args=[policy.pk]))
    assert "change_reason" in page.context["adminform"].form.fields
    compare = client.get(reverse("admin:aftersales_policy_compare", args=[policy.pk]))
    assert compare.status_code == 200
    assert Policy.history.filter(id=policy.pk).count() >= 1


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_diff_view_and_the_health_report_in_a_browser(live_server, browser_page, artifacts, users, policy):
    page, base = browser_page, live_server.url
    supervisor = users["supervisor"]
    supervisor.is_staff = True
    supervisor.save()
    template = make("ack-shoes", body="{customer_name}您好，您的鞋子售后{case_number}已收到。")
    shoes = ProductCategoryFactory(code="shoes", name="鞋")
    open_cases_in_october(users["channel"], 3, shoes)
    health_report_generate(month=october(1).date(), notify=False)

    page.goto(base + reverse("admin:login"))
    page.fill("input[name=username]", "supervisor")
    page.fill("input[name=password]", "pw-for-tests-1")
    page.click("input[type=submit]")
    page.goto(base + reverse("admin:aftersales_responsetemplate_change", args=[template.pk]))
    page.fill("textarea[name=body]", "{customer_name}您好！您的鞋子售后{case_number}已加急受理。")
    page.fill("input[name=change_reason]", "加急话术")
    page.click("input[name=_continue]")
    page.wait_for_load_state()
    page.click("text=版本对比")
    page.wait_for_load_state()
    assert page.locator("#version-diff tr[data-changed='1'] ins").count() >= 1
    assert "加急话术" in page.content()
    page.screenshot(path=str(artifacts / "template-version-diff.png"), full_page=True)

    page.goto(base + reverse("reports:health", args=["2026-10"]))
    assert page.locator("#health-fields tr[data-field='category'][data-flagged='1']").count() == 1
    page.screenshot(path=str(artifacts / "template-health-report.png"), full_page=True)
