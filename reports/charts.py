"""Server-rendered SVG charts: no CDN, no browser-side library, readable in Chinese.

Each function returns safe SVG markup (every label is escaped). Colours are a
fixed, colour-blind-friendly palette; every chart carries a <title> for
screen readers and tooltips on its marks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

FONT = "'WenQuanYi Micro Hei','PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif"
PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"]


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


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def stacked_bars(
    title: str, categories: Sequence[str], series: Sequence[tuple[str, Sequence]], *, unit: str = "¥"
) -> SafeString:
    """Vertical bars per category (e.g. days), stacked by series (e.g. kinds), with a legend."""
    width, height, left, bottom, top = 760, 300, 64, 48, 30
    n = max(1, len(categories))
    plot_w, plot_h = width - left - 16, height - top - bottom
    totals = [sum(_num(values[i]) for _name, values in series) for i in range(len(categories))]
    peak = _nice_max(max(totals, default=0))
    band = plot_w / n
    bar = max(2.0, band * 0.7)
    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#ccc"/>']
    for tick in range(5):
        value = peak * tick / 4
        y = top + plot_h - plot_h * tick / 4
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#eee"/>')
        body.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="#555">{unit}{value:,.0f}</text>'
        )
    label_every = max(1, math.ceil(n / 15))
    for i, category in enumerate(categories):
        x = left + i * band + (band - bar) / 2
        y = top + plot_h
        for s, (name, values) in enumerate(series):
            value = _num(values[i])
            if value <= 0:
                continue
            h = plot_h * value / peak
            y -= h
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{PALETTE[s % len(PALETTE)]}">'
                f"<title>{escape(category)} · {escape(name)}: {unit}{_fmt(values[i])}</title></rect>"
            )
        if i % label_every == 0:
            body.append(
                f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 16}" font-size="11" text-anchor="middle" fill="#555">{escape(category)}</text>'
            )
    lx = left
    for s, (name, _values) in enumerate(series):
        body.append(f'<rect x="{lx}" y="{height - 18}" width="12" height="12" fill="{PALETTE[s % len(PALETTE)]}"/>')
        body.append(f'<text x="{lx + 16}" y="{height - 8}" font-size="12" fill="#333">{escape(name)}</text>')
        lx += 24 + 13 * len(name) + 10
    return _svg(width, height, title, body)


def hbars(
    title: str, rows: Sequence[tuple[str, float, str]], *, color: str = PALETTE[0], width: int = 520
) -> SafeString:
    """Horizontal bars: ``(label, value, shown text)``."""
    left, row_h = 120, 26
    height = max(40, row_h * len(rows) + 10)
    peak = max((_num(v) for _l, v, _t in rows), default=0) or 1
    body = []
    for i, (label, value, text) in enumerate(rows):
        y = 5 + i * row_h
        w = (width - left - 110) * _num(value) / peak
        body.append(
            f'<text x="{left - 8}" y="{y + 16}" font-size="12" text-anchor="end" fill="#333">{escape(label)}</text>'
        )
        body.append(
            f'<rect x="{left}" y="{y + 4}" width="{max(w, 1):.1f}" height="16" rx="2" fill="{color}"><title>{escape(label)}: {escape(text)}</title></rect>'
        )
        body.append(f'<text x="{left + w + 6:.1f}" y="{y + 16}" font-size="12" fill="#333">{escape(text)}</text>')
    return _svg(width, height, title, body)


def funnel(title: str, rows: Sequence[dict]) -> SafeString:
    """The cost funnel: per kind (ladder order), three bars — proposed, approved, paid."""
    width, left, group_h = 720, 110, 64
    height = max(60, group_h * len(rows) + 36)
    peak = max((_num(stage["amount"]) for row in rows for stage in row["stages"]), default=0) or 1
    body = []
    for i, row in enumerate(rows):
        y0 = 8 + i * group_h
        body.append(
            f'<text x="{left - 10}" y="{y0 + 30}" font-size="13" text-anchor="end" fill="#222">{escape(row["label"])}</text>'
        )
        for s, stage in enumerate(row["stages"]):
            y = y0 + s * 19
            w = (width - left - 170) * _num(stage["amount"]) / peak
            body.append(
                f'<rect x="{left}" y="{y}" width="{max(w, 1):.1f}" height="15" rx="2" fill="{PALETTE[s]}">'
                f"<title>{escape(row['label'])} · {escape(stage['label'])}: ¥{_fmt(stage['amount'])} ({stage['count']})</title></rect>"
            )
            body.append(
                f'<text x="{left + w + 6:.1f}" y="{y + 12}" font-size="11" fill="#333">{escape(stage["label"])} ¥{_fmt(stage["amount"])} · {stage["count"]}</text>'
            )
    return _svg(width, height, title, body)


def trend(
    title: str, labels: Sequence[str], values: Sequence, *, target=None, unit: str = "", better: str = "high"
) -> SafeString:
    """A small line chart of weekly values, with the target as a dashed line; missing weeks are gaps."""
    width, height, left, bottom, top = 300, 130, 36, 22, 10
    plot_w, plot_h = width - left - 10, height - top - bottom
    present = [_num(v) for v in values if v is not None] + ([_num(target)] if target is not None else [])
    peak = _nice_max(max(present, default=0))
    floor = -_nice_max(-min(present)) if present and min(present) < 0 else 0.0  # NPS can be negative
    n = max(1, len(labels) - 1)

    def xy(i, v):
        return left + plot_w * i / n, top + plot_h - plot_h * (_num(v) - floor) / (peak - floor)

    _x0, zero = xy(0, 0)
    body = [f'<line x1="{left}" y1="{zero:.1f}" x2="{left + plot_w}" y2="{zero:.1f}" stroke="#ccc"/>']
    body.append(f'<text x="{left - 4}" y="{top + 8}" font-size="10" text-anchor="end" fill="#666">{peak:g}</text>')
    body.append(f'<text x="{left - 4}" y="{zero + 3:.1f}" font-size="10" text-anchor="end" fill="#666">0</text>')
    if floor < 0:
        body.append(
            f'<text x="{left - 4}" y="{top + plot_h}" font-size="10" text-anchor="end" fill="#666">{floor:g}</text>'
        )
    if target is not None:
        _x, ty = xy(0, target)
        body.append(
            f'<line x1="{left}" y1="{ty:.1f}" x2="{left + plot_w}" y2="{ty:.1f}" stroke="#d93025" stroke-dasharray="4 3"/>'
        )
    path, points = [], []
    for i, value in enumerate(values):
        if value is None:
            path.append(None)
            continue
        x, y = xy(i, value)
        path.append((x, y))
        points.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{PALETTE[0]}"><title>{escape(labels[i])}: {_fmt(value)}{escape(unit)}</title></circle>'
        )
    segment = []
    for point in [*path, None]:
        if point is None:
            if len(segment) > 1:
                body.append(
                    '<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
                        PALETTE[0], " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
                    )
                )
            segment = []
        else:
            segment.append(point)
    body += points
    for i in (0, len(labels) - 1):
        if labels:
            x, _y = xy(i, 0)
            body.append(
                f'<text x="{x:.1f}" y="{height - 6}" font-size="10" text-anchor="middle" fill="#666">{escape(labels[i])}</text>'
            )
    return _svg(width, height, title, body, css_class="chart trend")


def heatmap(title: str, grid: dict, *, rows: Sequence[str], peak: float, fmt) -> SafeString:
    """Weekday (rows 1–7) × hour (0–23) cells, coloured from pale to dark by value; empty cells grey."""
    cell, left, top = 26, 44, 24
    width, height = left + 24 * cell + 10, top + 7 * cell + 44
    body = []
    for hour in range(24):
        body.append(
            f'<text x="{left + hour * cell + cell / 2}" y="{top - 8}" font-size="10" text-anchor="middle" fill="#555">{hour}</text>'
        )
    for d, label in enumerate(rows, start=1):
        y = top + (d - 1) * cell
        body.append(
            f'<text x="{left - 6}" y="{y + cell / 2 + 4}" font-size="12" text-anchor="end" fill="#333">{escape(label)}</text>'
        )
        for hour in range(24):
            x = left + hour * cell
            entry = grid.get((d, hour))
            if entry is None:
                body.append(
                    f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="#f1f3f4"><title>{escape(label)} {hour}:00 —</title></rect>'
                )
                continue
            share = entry["median"] / peak if peak else 0
            body.append(
                f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{_heat(share)}" data-dow="{d}" data-hour="{hour}">'
                f"<title>{escape(label)} {hour}:00 · {escape(fmt(entry['median']))} ({entry['count']})</title></rect>"
            )
    # legend
    ly = top + 7 * cell + 14
    for i in range(10):
        body.append(f'<rect x="{left + i * 22}" y="{ly}" width="22" height="10" fill="{_heat(i / 9)}"/>')
    body.append(f'<text x="{left}" y="{ly + 24}" font-size="11" fill="#555">0</text>')
    body.append(
        f'<text x="{left + 220}" y="{ly + 24}" font-size="11" text-anchor="end" fill="#555">{escape(fmt(peak))}</text>'
    )
    return _svg(width, height, title, body, css_class="chart heatmap")


def _heat(share: float) -> str:
    """Pale yellow → orange → dark red."""
    share = max(0.0, min(1.0, share))
    stops = [(255, 247, 188), (254, 196, 79), (236, 112, 20), (153, 52, 4)]
    position = share * (len(stops) - 1)
    i = min(int(position), len(stops) - 2)
    t = position - i
    r, g, b = (round(stops[i][c] + (stops[i + 1][c] - stops[i][c]) * t) for c in range(3))
    return f"#{r:02x}{g:02x}{b:02x}"


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
