"""Charts people read: units on the axes, shares as percentages, scales that fit the data, labels inside the chart;
and a defect word cloud of defects, not of product names."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from html import unescape

import pytest

from aftersales import services
from aftersales.automation.radar import catalogue_words, keywords
from aftersales.models import CaseKeyword
from reports import charts


def option_of(markup: str) -> dict:
    found = re.search(r'data-option="([^"]*)"', str(markup))
    assert found
    return json.loads(unescape(found.group(1)))


def test_money_bars_name_their_unit_and_keep_labels_inside():
    option = option_of(charts.stacked_bars("按日", ["11-10", "11-11"], [("退款", [Decimal("99.00"), 0])]))
    assert option["yAxis"]["name"] == "金额（元）" and option["yAxis"]["axisLabel"]["formatter"] == "¥{value}"
    assert option["grid"]["containLabel"] is True
    assert option["series"][0]["data"][0] == {"value": 99.0, "tip": "11-10 · 退款 · ¥99.00"}


def test_shares_are_percentages():
    option = option_of(charts.hbars("比例", [("2026-11", 33.4, "33.4%")], axis="售后成本占毛利的比例", percent=True))
    assert option["xAxis"]["axisLabel"]["formatter"] == "{value}%" and option["xAxis"]["name"] == "售后成本占毛利的比例"
    assert option["series"][0]["data"][0]["label"]["formatter"] == "33.4%"


@pytest.mark.parametrize(
    ("values", "target"),
    [
        ([4.2, 4.5, None, 4.8], 4.5),  # CSAT out of 5: the scale is about 4–5, not 0–5
        ([91.0, 93.5, 95.0], 90),  # a rate in percent near its target
        ([-20, 10, 35], 30),  # NPS can be negative
    ],
)
def test_trend_scales_fit_the_data(values, target):
    option = option_of(charts.trend("CSAT", ["11-02", "11-09", "11-16", "11-23"][: len(values)], values, target=target))
    shown = [v for v in values if v is not None] + [target]
    low, high, span = min(shown), max(shown), max(shown) - min(shown)
    axis_min, axis_max = option["yAxis"]["min"], option["yAxis"]["max"]
    assert axis_min <= low and axis_max >= high  # every point and the target inside
    assert axis_max - axis_min <= span + 2 * max(span * 0.15, 1) + 2  # no empty band from zero
    assert option["series"][0]["markLine"]["data"] == [{"yAxis": float(target)}]
    assert [p if p is None else p["value"] for p in option["series"][0]["data"]] == values  # gaps stay gaps


def test_the_heatmap_puts_each_wait_in_its_weekday_and_hour():
    grid = {(3, 9): {"median": 5400.0, "count": 2}}
    option = option_of(
        charts.heatmap("等待", grid, rows=["一", "二", "三", "四", "五", "六", "日"], peak=5400.0, fmt=str)
    )
    (cell,) = option["series"][0]["data"]
    assert cell["value"] == [9, 2, 5400.0] and "三 9:00" in cell["tip"] and "2 次等待" in cell["tip"]
    assert option["visualMap"]["max"] == 5400.0


def test_keywords_leave_out_the_goods_own_words():
    goods = catalogue_words(["羽绒服", "服饰"], ["JK-002"])
    assert {"羽绒服", "服饰", "jk"} <= goods
    found = keywords("羽绒服拉链坏了，羽绒服漏绒严重", exclude=goods)
    assert "羽绒服" not in found and "拉链" in found


@pytest.mark.django_db
def test_an_opened_case_keeps_no_product_name_among_its_keywords(users, policy, order):
    jacket = order.lines.get(sku="JK-002")
    case = services.case_open(
        actor=users["channel"],
        order_id=order.pk,
        lines=[(jacket.pk, 1)],
        request_type="return_refund",
        reason="羽绒服拉链坏了，羽绒服漏绒，服饰质量太差",
    )
    words = set(CaseKeyword.objects.filter(case=case).values_list("word", flat=True))
    assert "拉链" in words and not words & {"羽绒服", "服饰"}
