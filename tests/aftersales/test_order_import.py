"""Orders in by file, in the admin: a preview with per-row errors, then an atomic import (CSV UTF-8, CSV GBK, XLSX)."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from aftersales import services
from customers.models import Customer, Order
from tests.factories import CustomerFactory, ProductCategoryFactory

IMPORT = reverse("admin:customers_order_import")
PROCESS = reverse("admin:customers_order_process_import")
HEADER = "订单号,渠道,版本号,顾客编号,顾客姓名,手机号,下单时间,付款时间,签收时间,支付方式,SKU,商品名称,商品品类,单价,成本,数量"
ROWS = [
    "TB100,app,1,u-1,王小明,13912345678,2026-11-28 20:15:00,2026-11-28 20:16:00,2026-11-30 14:05:00,支付宝,TS-001,纯棉T恤,apparel,99.00,35.00,2",
    "TB100,app,1,u-1,王小明,13912345678,2026-11-28 20:15:00,2026-11-28 20:16:00,2026-11-30 14:05:00,支付宝,JK-002,羽绒服,apparel,1299.00,600.00,1",
    "TB200,小程序,3,u-2,李娜,13700001234,2026-11-29 10:00:00,,,wechat_pay,EP-9,蓝牙耳机,digital,199.00,80.00,1",
]


@pytest.fixture
def staff(client, supervisor, db):
    ProductCategoryFactory(code="apparel", name="服饰")
    ProductCategoryFactory(code="digital", name="数码")
    supervisor.is_staff = True
    supervisor.save(update_fields=["is_staff"])
    client.force_login(supervisor)
    return client


def csv_file(rows=ROWS, header=HEADER, encoding="utf-8-sig", name="orders.csv"):
    return SimpleUploadedFile(name, ("\n".join([header, *rows]) + "\n").encode(encoding), content_type="text/csv")


def xlsx_file(rows=ROWS, header=HEADER):
    book = Workbook()
    sheet = book.active
    sheet.append(header.split(","))
    for row in rows:
        values = row.split(",")
        # Excel keeps numbers and times as such: the import must read them.
        values[2], values[-1], values[-3] = int(values[2]), int(values[-1]), float(values[-3])
        sheet.append(values)
    handle = io.BytesIO()
    book.save(handle)
    return SimpleUploadedFile("orders.xlsx", handle.getvalue())


def preview(client, upload, fmt=0):
    return client.post(IMPORT, {"format": fmt, "import_file": upload})


def confirm(client, response):
    form = response.context["confirm_form"]
    return client.post(PROCESS, {name: form.initial.get(name, "") for name in form.fields})


@pytest.mark.parametrize(
    ("upload", "fmt"),
    [
        pytest.param(lambda: csv_file(), 0, id="csv-utf8"),
        pytest.param(lambda: csv_file(encoding="gbk"), 0, id="csv-gbk"),
        pytest.param(lambda: xlsx_file(), 1, id="xlsx"),
    ],
)
def test_a_file_is_previewed_then_imported_as_orders_lines_and_customers(staff, upload, fmt):
    shown = preview(staff, upload(), fmt)
    assert shown.status_code == 200
    result = shown.context["result"]
    assert not result.has_errors() and not result.has_validation_errors(), result.invalid_rows
    assert [row.import_type for row in result.rows] == ["new", "new", "new"]
    assert shown.context["confirm_form"] is not None
    assert not Order.objects.exists() and not Customer.objects.exists()  # a preview writes nothing
    done = confirm(staff, shown)
    assert done.status_code == 302
    tb100 = Order.objects.get(number="TB100")
    assert (tb100.channel, tb100.payment_method, tb100.source_version) == ("app", "alipay", 1)
    assert sorted(tb100.lines.values_list("sku", "quantity")) == [("JK-002", 1), ("TS-001", 2)]
    assert tb100.customer.name == "王小明" and tb100.customer.external_id == "u-1"
    tb200 = Order.objects.get(number="TB200")
    assert (tb200.channel, tb200.paid_at, tb200.lines.get().unit_price) == ("mini_program", None, 199)
    again = preview(staff, upload(), fmt)
    assert [row.import_type for row in again.context["result"].rows] == ["skip", "skip", "skip"]


def test_bad_rows_are_shown_with_their_fields_and_nothing_is_imported(staff):
    rows = [
        ROWS[0],
        ROWS[1].replace(",1299.00,", ",-5,"),
        ROWS[2].replace(",digital,", ",toys,").replace("2026-11-29 10:00:00", "not a time"),
    ]
    shown = preview(staff, csv_file(rows))
    result = shown.context["result"]
    assert result.has_validation_errors() and shown.context.get("confirm_form") is None
    by_row = {row.number: row.error_dict for row in result.invalid_rows}
    assert "unit_price" in by_row[2]
    assert {"category", "placed_at"} <= set(by_row[3])
    assert 1 in by_row  # the other line of a bad order is held back with it
    assert not Order.objects.exists()


def test_categories_may_be_given_by_name_and_the_page_lists_the_codes(staff):
    rows = [row.replace(",apparel,", ",服饰,") for row in ROWS]
    shown = preview(staff, csv_file(rows))
    assert not shown.context["result"].has_validation_errors(), shown.context["result"].invalid_rows
    confirm(staff, shown)
    assert set(Order.objects.get(number="TB100").lines.values_list("category__code", flat=True)) == {"apparel"}
    codes = staff.get(IMPORT).content.decode()
    assert "<code>apparel</code> 服饰" in codes and "<code>wechat_pay</code> 微信支付" in codes


def test_a_cost_above_the_price_is_imported_with_a_warning_on_its_row(staff):
    rows = [ROWS[0].replace(",99.00,35.00,", ",99.00,120.00,"), *ROWS[1:]]
    shown = preview(staff, csv_file(rows))
    assert shown.context["result"].warnings == [(1, "商品行 TS-001 的成本高于售价（120.00 > 99.00）。")]
    assert 'id="import-warnings"' in shown.content.decode()
    confirm(staff, shown)
    assert Order.objects.get(number="TB100").lines.get(sku="TS-001").unit_cost == 120


def test_a_row_that_contradicts_its_order_is_refused(staff):
    rows = [ROWS[0], ROWS[1].replace("王小明", "王大明")]
    result = preview(staff, csv_file(rows)).context["result"]
    assert {row.number: set(row.error_dict) for row in result.invalid_rows}[2] == {"customer_name"}


def test_wrong_headers_and_encodings_are_refused_with_the_reason(staff):
    shown = preview(staff, csv_file(header=HEADER.replace("订单号", "单号")))
    assert "单号" in str(shown.context["result"].base_errors[0].error)
    missing = preview(staff, csv_file(header=HEADER.replace(",SKU", ",备注")))
    assert "备注" in str(missing.context["result"].base_errors[0].error)
    without = preview(
        staff, csv_file(header=HEADER.replace(",SKU", ""), rows=[row.replace(",TS-001", "") for row in ROWS[:1]])
    )
    assert "SKU" in str(without.context["result"].base_errors[0].error)
    assert "Traceback" not in without.content.decode()
    garbled = preview(staff, SimpleUploadedFile("x.csv", b"\x80\x80\x80,\xff\xfe\n"))
    assert garbled.status_code == 200
    assert "UTF-8" in str(garbled.context["form"].errors["import_file"])
    assert not Order.objects.exists()


def test_the_template_file_lists_every_column_in_chinese(staff):
    page = staff.get(IMPORT)
    assert page.status_code == 200 and 'id="import-template"' in page.content.decode()
    template = staff.get(reverse("admin:customers_order_import_template"))
    text = b"".join(template.streaming_content).decode("utf-8-sig")
    header = text.splitlines()[0].split(",")
    assert header[:3] == ["订单号", "渠道", "版本号"] and "商品品类" in header


def test_an_order_line_a_case_holds_is_kept_when_corrected_in_the_admin(staff, agent, policy):
    preview_response = preview(staff, csv_file())
    confirm(staff, preview_response)
    order = Order.objects.get(number="TB100")
    jacket, tshirt = order.lines.get(sku="JK-002"), order.lines.get(sku="TS-001")
    case = services.case_open(
        actor=agent, order_id=order.pk, lines=[(jacket.pk, 1), (tshirt.pk, 2)], request_type="return_refund"
    )
    lines = list(order.lines.order_by("id"))
    form = {
        "number": order.number,
        "customer": order.customer_id,
        "channel": order.channel,
        "placed_at_0": "2026-11-28",
        "placed_at_1": "20:15:00",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "2",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for i, line in enumerate(lines):
        form.update(
            {
                f"lines-{i}-id": line.pk,
                f"lines-{i}-order": order.pk,
                f"lines-{i}-sku": line.sku,
                f"lines-{i}-product_name": line.product_name,
                f"lines-{i}-category": line.category_id,
                f"lines-{i}-unit_price": line.unit_price,
                f"lines-{i}-unit_cost": line.unit_cost,
                f"lines-{i}-quantity": line.quantity,
            }
        )
    jacket_index = [line.pk for line in lines].index(jacket.pk)
    url = reverse("admin:customers_order_change", args=[order.pk])
    refused = staff.post(url, {**form, f"lines-{jacket_index}-DELETE": "on"})
    assert refused.status_code == 200 and "JK-002" in refused.content.decode()  # the case's line protects it
    assert order.lines.filter(pk=jacket.pk).exists()
    reduced = staff.post(url, {**form, f"lines-{1 - jacket_index}-quantity": 1})
    assert reduced.status_code == 200 and case.number in reduced.content.decode()
    assert order.lines.get(sku="TS-001").quantity == 2
    other = CustomerFactory()
    staff.post(url, {**form, "customer": other.pk})  # the customer of an order with cases is read-only
    assert Order.objects.get(pk=order.pk).customer_id == case.customer_id
    services.case_cancel(case_id=case.pk, actor=agent)  # a cancelled case holds nothing
    fine = staff.post(url, {**form, f"lines-{1 - jacket_index}-quantity": 1})
    assert fine.status_code == 302 and order.lines.get(sku="TS-001").quantity == 1


def test_agents_may_not_import_orders(client, agent, db):
    agent.is_staff = True
    agent.save(update_fields=["is_staff"])
    client.force_login(agent)
    assert client.get(IMPORT).status_code == 403
