"""Charts drawn on the server as SVG: no script, nothing fetched, fine under the page's Content-Security-Policy.

Each function returns markup for a template to place with ``| safe``; every text in it is escaped here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

BAR = "#2f5d9e"
BAR_LIGHT = "#c9d6ea"
GRID = "#d9dde3"
TEXT = "#33373d"
OK = "#2e7d4f"
REST = "#e4e7eb"


def _axis(top: int) -> tuple[int, int]:
    """A round step for a count axis (1, 2, 5 × 10^n, never a fraction) and the axis top, at most 5 steps."""
    top = max(top, 1)
    power = 1
    while True:
        for base in (1, 2, 5):
            step = base * power
            if math.ceil(top / step) <= 5:
                return step, math.ceil(top / step) * step
        power *= 10


def columns(data: Sequence[tuple[str, int]], *, title: str, width: int = 640, height: int = 220) -> Markup:
    """Vertical bars, one a label (a day), the count above each bar."""
    left, bottom, top_pad = 36, 34, 18
    inner_w, inner_h = width - left - 8, height - bottom - top_pad
    step, top = _axis(max((value for _, value in data), default=0))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for tick in range(top // step + 1):
        value = tick * step
        y = top_pad + inner_h - inner_h * value / top
        parts.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}" stroke-width="1"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="{TEXT}">{value:g}</text>'
        )
    if data:
        slot = inner_w / len(data)
        bar = max(2.0, min(28.0, slot * 0.7))
        every = max(1, math.ceil(len(data) / 12))
        for index, (label, value) in enumerate(data):
            x = left + slot * index + (slot - bar) / 2
            h = inner_h * value / top if top else 0
            y = top_pad + inner_h - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{BAR}">'
                f"<title>{escape(label)}：{value} 件</title></rect>"
            )
            if value and len(data) <= 31:
                parts.append(
                    f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" font-size="11" text-anchor="middle" '
                    f'fill="{TEXT}">{value}</text>'
                )
            if index % every == 0:
                parts.append(
                    f'<text x="{x + bar / 2:.1f}" y="{height - 12}" font-size="11" text-anchor="middle" '
                    f'fill="{TEXT}">{escape(label)}</text>'
                )
    else:
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" font-size="14" text-anchor="middle" fill="{TEXT}">暂无数据</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def bars(data: Sequence[tuple[str, int]], *, title: str, width: int = 560) -> Markup:
    """Horizontal bars with their labels on the left (the most common findings)."""
    row, label_w = 26, 190
    height = max(row * len(data) + 10, 40)
    top = max((value for _, value in data), default=0) or 1
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    if not data:
        parts.append(f'<text x="{width / 2}" y="25" font-size="14" text-anchor="middle" fill="{TEXT}">暂无问题</text>')
    for index, (label, value) in enumerate(data):
        y = 5 + index * row
        length = (width - label_w - 50) * value / top
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" font-size="12.5" text-anchor="end" fill="{TEXT}">'
            f"{escape(label)}</text>"
        )
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{length:.1f}" height="16" fill="{BAR}" rx="2"/>')
        parts.append(f'<text x="{label_w + length + 6:.1f}" y="{y + 16}" font-size="12" fill="{TEXT}">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def ring(share: float | None, *, title: str, size: int = 150) -> Markup:
    """A ring filled to ``share`` (0–1) with the percentage in its middle."""
    radius, stroke = size / 2 - 12, 18
    circumference = 2 * math.pi * radius
    filled = circumference * (share or 0)
    center = size / 2
    text = "—" if share is None else f"{share * 100:.0f}%"
    return Markup(
        f'<svg class="chart ring" viewBox="0 0 {size} {size}" width="{size}" height="{size}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<circle cx="{center}" cy="{center}" r="{radius:.1f}" fill="none" stroke="{REST}" stroke-width="{stroke}"/>'
        f'<circle cx="{center}" cy="{center}" r="{radius:.1f}" fill="none" stroke="{OK}" stroke-width="{stroke}" '
        f'stroke-dasharray="{filled:.1f} {circumference:.1f}" transform="rotate(-90 {center} {center})"/>'
        f'<text x="{center}" y="{center + 9}" font-size="26" font-weight="bold" text-anchor="middle" '
        f'fill="{TEXT}">{escape(text)}</text></svg>'
    )
