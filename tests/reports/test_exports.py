"""The one export writer (config.exports): every CSV/XLSX cell is inert and clean, whichever export wrote it."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from aftersales.models import Compensation, ResponseTemplate, TemplateUse
from aftersales.replies.health import health_report_generate
from aftersales.replies.library import case_send_template
from config.exports import csv_response, safe_cell, xlsx_response
from customers.models import Customer

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONTH = {"date_from": "2026-11-01", "date_to": "2026-11-30"}
FORMULA = '=HYPERLINK("http://evil.example","x")'
#: What a user may type into a text field that ends up in an export: a formula, the same behind a tab or a
#: space (spreadsheets drop leading blanks), and behind a control character (dropped by the writer).
PAYLOADS = [FORMULA, "\t" + FORMULA, " " + FORMULA, "\x07" + FORMULA]
EFFECTS_HEADER = [
    "话术",
    "标题",
    "版本号",
    "修改人",
    "使用次数",
    "服务的售后单",
    "CSAT",
    "处理时长（小时）",
    "升级或被拒比例（%）",
]
HEALTH_HEADER = ["类型", "编码", "名称", "售后单", "使用或填写数", "比例", "已标记", "建议"]


def inert(payload: str) -> str:
    """What the export must hand out for ``payload``: no control character, quoted so it is plain text."""
    return "'" + ILLEGAL_CHARACTERS_RE.sub("", payload)


def assert_inert(cell, payload: str) -> None:
    assert isinstance(cell, str) and cell == inert(payload), (cell, payload)
    assert cell.startswith("'") and not ILLEGAL_CHARACTERS_RE.search(cell)


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def read_xlsx(response) -> list[tuple]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    return list(book.worksheets[0].iter_rows(values_only=True))


# -- safe_cell ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("|calc", "'|calc"),
        ("%0A=1", "'%0A=1"),
        ("\t=1+1", "'\t=1+1"),
        ("\tplain", "'\tplain"),
        ("\r=1+1", "'\r'=1+1"),  # the cell and its second line
        ("\rplain", "'\rplain"),
        ("   =1+1", "'   =1+1"),
        (" \t =1+1", "' \t =1+1"),
        ("\xa0=1+1", "'\xa0=1+1"),  # NBSP
        ("\u3000@SUM(A1)", "'\u3000@SUM(A1)"),  # ideographic space
    ],
)
def test_safe_cell_quotes_whatever_a_spreadsheet_would_run(value, expected):
    assert safe_cell(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("第一行\n=1+1", "第一行\n'=1+1"),
        ("=1\n  @SUM(A1)\r\n-2+3\rok", "'=1\n'  @SUM(A1)\r\n'-2+3\rok"),
        ("好\n\n坏", "好\n\n坏"),
    ],
)
def test_safe_cell_quotes_each_line_of_a_multi_line_cell(value, expected):
    assert safe_cell(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a\x07b\x00c\x1fd\x0be", "abcde"),
        ("\x07=1+1", "'=1+1"),  # the control character hides nothing once it is gone
        ("\x00\x0b -1+1", "' -1+1"),
        ("a\tb\nc\rd", "a\tb\nc\rd"),  # tab and line breaks are text, not control characters to XLSX
    ],
)
def test_safe_cell_strips_the_control_characters_xlsx_refuses(value, expected):
    assert safe_cell(value) == expected
    assert not ILLEGAL_CHARACTERS_RE.search(safe_cell(value))


@pytest.mark.parametrize(
    "value",
    [
        Decimal("-12.50"),
        -3,
        0,
        1.5,
        True,
        None,
        datetime(2026, 11, 10, 23, 30, tzinfo=SHANGHAI),
        date(2026, 11, 10),
    ],
)
def test_safe_cell_passes_numbers_and_dates_through(value):
    assert safe_cell(value) is value


@pytest.mark.parametrize("value", ["", "顾客甲", "a=b", "DD20261102001", "-12.50", "+86", "1,000.5", "138****0001"])
def test_safe_cell_leaves_harmless_text_and_plain_numbers_alone(value):
    assert safe_cell(value) == value


def test_safe_cell_turns_a_lazy_translation_into_text():
    value = safe_cell(gettext_lazy("note"))
    assert type(value) is str and value == "备注"


# -- the writer itself ----------------------------------------------------------------------------------
def test_csv_response_streams_a_bom_local_times_and_inert_cells():
    aware = datetime(2026, 11, 10, 15, 30, tzinfo=ZoneInfo("UTC"))  # 23:30 in Shanghai
    response = csv_response(
        filename="sample",
        header=["名称", gettext_lazy("note")],
        rows=iter([["=1+1", aware], [Decimal("-1.50"), date(2026, 11, 1)], [None, datetime(2026, 1, 2, 3, 4, 5)]]),
    )
    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="sample.csv"'
    assert read_csv(response) == [
        ["名称", "备注"],
        ["'=1+1", "2026-11-10 23:30:00"],
        ["-1.50", "2026-11-01"],
        ["", "2026-01-02 03:04:05"],
    ]


def test_xlsx_response_bold_header_money_format_naive_local_times_and_inert_cells():
    from openpyxl import load_workbook

    aware = datetime(2026, 11, 10, 15, 30, tzinfo=ZoneInfo("UTC"))
    response = xlsx_response(
        filename="sample",
        header=["名称", "金额", "时间"],
        rows=iter([["=1+1\x07", Decimal("1234.5"), aware], ["好", None, None]]),
        sheet_title="一个很长很长很长很长很长很长很长很长很长很长很长很长很长很长的标题",
        money_columns=(1,),
    )
    assert 'filename="sample.xlsx"' in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    sheet = book.worksheets[0]
    assert len(sheet.title) <= 31
    header, first, second = list(sheet.iter_rows())
    assert [c.value for c in header] == ["名称", "金额", "时间"] and all(c.font.b for c in header)
    assert first[0].value == "'=1+1" and first[0].data_type == "s"
    assert first[1].value == 1234.5 and first[1].number_format == "#,##0.00"
    assert first[2].value == datetime(2026, 11, 10, 23, 30)  # naive, local
    assert second[0].value == "好" and second[1].value is None


# -- the compensation report ----------------------------------------------------------------------------
def _plant_in_compensations(november) -> dict[int, str]:
    """Each paid compensation of November gets a payload as its note; customer 乙 gets one as their name."""
    k1, k2, _k3, _k4, k5 = november["k"]
    planted = {k1.pk: PAYLOADS[0], k2.pk: PAYLOADS[1], k5.pk: PAYLOADS[3]}
    for pk, payload in planted.items():
        Compensation.objects.filter(pk=pk).update(note=payload, decision_note="")
    Customer.objects.filter(name="顾客乙").update(name=PAYLOADS[2])
    return planted


def test_the_compensation_csv_hands_out_inert_notes_and_names(login, users, november):
    planted = _plant_in_compensations(november)
    rows = read_csv(login(users["finance"]).get(reverse("reports:compensation_export", args=["csv"]), MONTH))
    header, data = rows[0], rows[1:]
    note, customer = header.index("备注"), header.index("顾客")
    by_id = {int(row[0]): row for row in data}
    assert set(planted) <= set(by_id)
    for pk, payload in planted.items():
        assert_inert(by_id[pk][note], payload)
    assert_inert(by_id[november["k"][4].pk][customer], PAYLOADS[2])  # k5 is customer 乙's


def test_the_compensation_xlsx_hands_out_inert_notes_and_names(login, users, november):
    planted = _plant_in_compensations(november)
    rows = read_xlsx(login(users["finance"]).get(reverse("reports:compensation_export", args=["xlsx"]), MONTH))
    header, data = rows[0], rows[1:]
    note, customer = header.index("备注"), header.index("顾客")
    by_id = {int(row[0]): row for row in data}
    assert set(planted) <= set(by_id)
    for pk, payload in planted.items():
        assert_inert(by_id[pk][note], payload)
    assert_inert(by_id[november["k"][4].pk][customer], PAYLOADS[2])


# -- the template effect data (admin action and report page) ---------------------------------------------
def _templates_used_once(open_case, agent) -> dict[str, str]:
    """One template per payload, its title the payload, each used once: ``{code: payload}``."""
    case = open_case()
    planted = {}
    for n, payload in enumerate(PAYLOADS):
        template = ResponseTemplate(code=f"evil-{n}", title=payload, scenario="acknowledge", body="您好，已收到。")
        template._change_reason = "新建"
        template.save()
        case_send_template(
            case_id=case.pk,
            actor=agent,
            template_id=template.pk,
            version_id=template.history.latest().history_id,
            text="您好，已收到。",
        )
        planted[template.code] = payload
    return planted


def _check_effects_csv(rows, planted: dict[str, str]) -> None:
    header, data = rows[0], rows[1:]
    assert header == EFFECTS_HEADER
    by_code = {row[0]: row for row in data}
    assert set(by_code) == set(planted)
    for code, payload in planted.items():
        assert_inert(by_code[code][1], payload)
    use = TemplateUse.objects.select_related("version").filter(template__code="evil-0").get()
    assert by_code["evil-0"][2] == timezone.localtime(use.version.history_date).strftime("%Y-%m-%d %H:%M")


def test_the_effects_csv_of_the_admin_action_hands_out_inert_titles(login, open_case, agent, supervisor):
    planted = _templates_used_once(open_case, agent)
    supervisor.is_staff = True
    supervisor.save()
    response = login(supervisor).post(
        reverse("admin:aftersales_responsetemplate_changelist"),
        {"action": "export_effects", "_selected_action": list(ResponseTemplate.objects.values_list("pk", flat=True))},
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="template_effects.csv"'
    _check_effects_csv(read_csv(response), planted)


def test_the_effects_csv_of_the_report_page_hands_out_inert_titles(login, open_case, agent, supervisor):
    planted = _templates_used_once(open_case, agent)
    response = login(supervisor).get(reverse("reports:template_effects"), {"format": "csv"})
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="template_effects_') and disposition.endswith('.csv"')
    _check_effects_csv(read_csv(response), planted)


# -- the monthly template health report ------------------------------------------------------------------
def test_the_health_csv_hands_out_inert_titles(login, users, policy):
    planted = {}
    for n, payload in enumerate(PAYLOADS):
        template = ResponseTemplate(code=f"evil-{n}", title=payload, scenario="acknowledge", body="您好，已收到。")
        template._change_reason = "新建"
        template.save()
        planted[template.code] = payload
    health_report_generate(month=date(2026, 10, 1), notify=False)
    response = login(users["supervisor"]).get(reverse("reports:health_export", args=["2026-10"]))
    assert response["Content-Disposition"] == 'attachment; filename="template_health_2026-10.csv"'
    rows = read_csv(response)
    assert rows[0] == HEALTH_HEADER
    by_code = {row[1]: row for row in rows[1:] if row[0] == "话术"}
    assert set(planted) <= set(by_code)
    for code, payload in planted.items():
        assert_inert(by_code[code][2], payload)
    assert any(row[0] == "字段" for row in rows[1:])  # the optional fields follow the templates
