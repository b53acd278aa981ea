"""Charts: Apache ECharts (vendored under static/, never a CDN), drawn from options built here.

Each function returns a ``<div class="chart echart">`` whose ``data-option`` holds the ECharts option as JSON
(every label escaped by the attribute); ``reports/static/…/charts.js`` draws it. Axes carry their units, labels
are kept inside the chart (``containLabel``), value axes fit the data, and every mark has a tooltip in words.
Every page that shows a chart shows the same numbers in a table too, so the figures read without JavaScript.
The word cloud stays server-drawn SVG (each word is a link to its cases).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

FONT = "'WenQuanYi Micro Hei','PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif"
PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"]
#: The heatmap's colours, pale to dark (yellow → orange → dark red).
HEAT = ["#fff7bc", "#fec44f", "#ec7014", "#993404"]


def _svg(width: int, height: int, title: str, body: list[str], *, css_class: str = "chart") -> SafeString:
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" style="max-width:{width}px;font-family:{FONT}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _num(value) -> float:
    return float(value or 0)


def _fmt(value) -> str:
    if isinstance(value, Decimal | float):
        return f"{value:,.2f}"
    return f"{value:,}"


def _chart(kind: str, title: str, option: dict, *, height: int) -> SafeString:
    """The element ``charts.js`` draws ``option`` into (the title is also its accessible name)."""
    option = {
        "animation": False,
        "color": PALETTE,
        "textStyle": {"fontFamily": FONT},
        "title": {"text": title, "left": 0, "textStyle": {"fontSize": 14, "fontWeight": 600}},
        **option,
    }
    return format_html(
        '<div class="chart echart" data-chart="{}" data-option="{}" role="img" aria-label="{}" style="height:{}px"></div>',
        kind,
        json.dumps(option, ensure_ascii=False, cls=DjangoJSONEncoder),
        title,
        height,
    )


def _tip(*parts) -> str:
    return " · ".join(str(part) for part in parts if part not in (None, ""))


def _money_text(value) -> str:
    return f"¥{_fmt(Decimal(str(value or 0)))}"


def stacked_bars(
    title: str, categories: Sequence[str], series: Sequence[tuple[str, Sequence]], *, unit: str = "¥"
) -> SafeString:
    """Vertical bars per category (e.g. days), stacked by series (e.g. kinds), with a legend."""
    return _chart(
        "stacked_bars",
        title,
        {
            "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
            "legend": {"bottom": 0, "type": "scroll"},
            "grid": {"left": 8, "right": 16, "top": 48, "bottom": 36, "containLabel": True},
            "xAxis": {"type": "category", "data": list(categories), "axisLabel": {"hideOverlap": True}},
            "yAxis": {
                "type": "value",
                "name": _("amount (CNY)") if unit == "¥" else unit,
                "axisLabel": {"formatter": f"{unit}{{value}}" if unit == "¥" else "{value}"},
            },
            "series": [
                {
                    "name": name,
                    "type": "bar",
                    "stack": "total",
                    "data": [
                        {"value": _num(v), "tip": _tip(categories[i], name, _money_text(v) if unit == "¥" else v)}
                        for i, v in enumerate(values)
                    ],
                }
                for name, values in series
            ],
        },
        height=320,
    )


def hbars(
    title: str,
    rows: Sequence[tuple[str, float, str]],
    *,
    color: str = PALETTE[0],
    width: int = 520,
    axis: str = "",
    percent: bool = False,
) -> SafeString:
    """Horizontal bars: ``(label, value, shown text)``, first row on top; ``percent`` for shares (0–100)."""
    return _chart(
        "hbars",
        title,
        {
            "tooltip": {"trigger": "item"},
            "grid": {"left": 8, "right": 80, "top": 40, "bottom": 8, "containLabel": True},
            "xAxis": {
                "type": "value",
                "name": axis,
                "nameLocation": "middle",
                "nameGap": 24,
                "axisLabel": {"formatter": "{value}%" if percent else "{value}"},
            },
            "yAxis": {"type": "category", "inverse": True, "data": [label for label, _v, _t in rows]},
            "series": [
                {
                    "type": "bar",
                    "itemStyle": {"color": color},
                    "label": {"show": True, "position": "right"},
                    "data": [
                        {"value": _num(value), "label": {"formatter": text}, "tip": _tip(label, text)}
                        for label, value, text in rows
                    ],
                }
            ],
        },
        height=max(120, 60 + 28 * len(rows)),
    )


def funnel(title: str, rows: Sequence[dict]) -> SafeString:
    """The cost funnel: per kind (ladder order), three bars — proposed, approved, paid."""
    stages = [stage["label"] for stage in rows[0]["stages"]] if rows else []
    return _chart(
        "funnel",
        title,
        {
            "tooltip": {"trigger": "item"},
            "legend": {"bottom": 0},
            "grid": {"left": 8, "right": 90, "top": 40, "bottom": 36, "containLabel": True},
            "xAxis": {"type": "value", "name": _("amount (CNY)"), "axisLabel": {"formatter": "¥{value}"}},
            "yAxis": {"type": "category", "inverse": True, "data": [row["label"] for row in rows]},
            "series": [
                {
                    "name": stage,
                    "type": "bar",
                    "label": {"show": True, "position": "right"},
                    "data": [
                        {
                            "value": _num(row["stages"][s]["amount"]),
                            "label": {"formatter": _money_text(row["stages"][s]["amount"])},
                            "tip": _tip(
                                row["label"],
                                stage,
                                _money_text(row["stages"][s]["amount"]),
                                _("%(count)s item(s)") % {"count": row["stages"][s]["count"]},
                            ),
                        }
                        for row in rows
                    ],
                }
                for s, stage in enumerate(stages)
            ],
        },
        height=max(140, 70 + 64 * len(rows)),
    )


def trend(
    title: str, labels: Sequence[str], values: Sequence, *, target=None, unit: str = "", better: str = "high"
) -> SafeString:
    """Weekly values as a line, the target as a dashed line; missing weeks are gaps; the scale fits the data."""
    present = [_num(v) for v in values if v is not None] + ([_num(target)] if target is not None else [])
    low, high = (min(present), max(present)) if present else (0.0, 1.0)
    pad = (high - low) * 0.15 or max(abs(high) * 0.1, 1.0)
    suffix = unit if unit in ("%", "h", "/5") else ""
    series = {
        "type": "line",
        "connectNulls": False,
        "symbolSize": 6,
        "data": [
            None if v is None else {"value": _num(v), "tip": _tip(labels[i], f"{_fmt(v)}{suffix}")}
            for i, v in enumerate(values)
        ],
    }
    if target is not None:
        series["markLine"] = {
            "symbol": "none",
            "silent": True,
            "lineStyle": {"type": "dashed", "color": "#d93025"},
            "label": {
                "formatter": _("target %(value)s") % {"value": f"{_num(target):g}{suffix}"},
                "position": "insideEndTop",
            },
            "data": [{"yAxis": _num(target)}],
        }
    return _chart(
        "trend",
        title,
        {
            "title": {"show": False},
            "tooltip": {"trigger": "axis"},
            "grid": {"left": 4, "right": 12, "top": 18, "bottom": 4, "containLabel": True},
            "xAxis": {"type": "category", "data": list(labels), "axisLabel": {"hideOverlap": True, "fontSize": 10}},
            "yAxis": {
                "type": "value",
                "min": math.floor(low - pad) if low < 0 else max(0, math.floor(low - pad)),
                "max": min(100, math.ceil(high + pad)) if suffix == "%" and high <= 100 else math.ceil(high + pad),
                "splitNumber": 3,
                "axisLabel": {"formatter": f"{{value}}{suffix}", "fontSize": 10},
            },
            "series": [series],
        },
        height=150,
    )


def heatmap(title: str, grid: dict, *, rows: Sequence[str], peak: float, fmt) -> SafeString:
    """Weekday (rows 1–7) × hour (0–23) cells, coloured from pale to dark by value; empty cells stay blank."""
    data = [
        {
            "value": [hour, d - 1, round(entry["median"], 1)],
            "tip": _tip(
                f"{rows[d - 1]} {hour}:00", fmt(entry["median"]), _("%(count)s wait(s)") % {"count": entry["count"]}
            ),
        }
        for (d, hour), entry in sorted(grid.items())
    ]
    return _chart(
        "heatmap",
        title,
        {
            "tooltip": {"position": "top"},
            "grid": {"left": 8, "right": 16, "top": 48, "bottom": 64, "containLabel": True},
            "xAxis": {
                "type": "category",
                "name": _("hour"),
                "nameLocation": "middle",
                "nameGap": 26,
                "data": [str(h) for h in range(24)],
                "splitArea": {"show": True},
            },
            "yAxis": {"type": "category", "inverse": True, "data": list(rows), "splitArea": {"show": True}},
            "visualMap": {
                "min": 0,
                "max": round(peak or 1, 1),
                "calculable": False,
                "orient": "horizontal",
                "left": "center",
                "bottom": 0,
                "text": [fmt(peak or 0), "0"],
                "inRange": {"color": HEAT},
            },
            "series": [{"type": "heatmap", "data": data, "label": {"show": False}}],
        },
        height=340,
    )


def word_cloud(title: str, words: Sequence[dict], *, url) -> SafeString:
    """Words sized by frequency, laid out in centred rows (largest first); each links to its cases."""
    width = 1000
    if not words:
        return _svg(
            width, 60, title, [f'<text x="{width / 2}" y="34" font-size="14" text-anchor="middle" fill="#888">—</text>']
        )
    top, low = words[0]["count"], words[-1]["count"]
    span = max(1, top - low)
    sized = [(w, 14 + 30 * math.sqrt((w["count"] - low) / span)) for w in words]
    rows, row, row_w = [], [], 0.0
    for word, size in sized:
        w = size * len(word["word"]) + 14
        if row and row_w + w > width - 20:
            rows.append((row, row_w))
            row, row_w = [], 0.0
        row.append((word, size, w))
        row_w += w
    if row:
        rows.append((row, row_w))
    body, y = [], 8.0
    for i, (items, row_w) in enumerate(rows):
        line_h = max(size for _w, size, _ww in items) * 1.25
        y += line_h
        x = (width - row_w) / 2
        for j, (word, size, w) in enumerate(items):
            colour = PALETTE[(i + j) % len(PALETTE)]
            body.append(
                f'<a href="{escape(url(word["word"]))}"><text x="{x + 7:.1f}" y="{y:.1f}" font-size="{size:.0f}" fill="{colour}" '
                f'data-word="{escape(word["word"])}">{escape(word["word"])}<title>{escape(word["word"])}: {word["count"]}</title></text></a>'
            )
            x += w
    return _svg(width, int(y + 16), title, body, css_class="chart cloud")
