"""Bar charts as inline SVG: no script, no external asset, readable without colour (values are written).

Every label goes through :func:`html.escape` (aliases are typed by people).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

WIDTH, ROW, LABEL, PAD = 680, 30, 190, 8
COLOURS = ("#2b6cb0", "#dd6b20", "#2f855a", "#9b2c2c", "#6b46c1", "#4a5568")


def _number(value: float) -> str:
    return f"{value:g}"


def bars(title: str, rows: Sequence[tuple[str, Sequence[float]]], series: Sequence[str] = ("",),
         fmt: Callable[[float], str] = _number) -> str:
    """A horizontal bar chart: one row per label, one bar per series value (e.g. median and p90)."""
    if not rows:
        return ""
    top = max((v for _label, values in rows for v in values), default=0) or 1
    bar_h = (ROW - PAD) / max(len(series), 1)
    legend = 22 if len(series) > 1 else 0
    height = 34 + legend + len(rows) * ROW + 4
    span = WIDTH - LABEL - 90
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}">',
             f'<title>{escape(title)}</title>',
             f'<text x="0" y="18" class="title">{escape(title)}</text>']
    if legend:
        for index, name in enumerate(series):
            x = LABEL + index * 120
            parts.append(f'<rect x="{x}" y="28" width="12" height="12" fill="{COLOURS[index % len(COLOURS)]}"/>'
                         f'<text x="{x + 16}" y="39">{escape(name)}</text>')
    for row_index, (label, values) in enumerate(rows):
        y = 34 + legend + row_index * ROW
        parts.append(f'<text x="{LABEL - 8}" y="{y + ROW / 2 + 4:.1f}" text-anchor="end">{escape(label[:28])}</text>')
        for index, value in enumerate(values):
            width = max(span * value / top, 1 if value else 0)
            by = y + PAD / 2 + index * bar_h
            colour = COLOURS[(index if len(series) > 1 else row_index) % len(COLOURS)]
            parts.append(f'<rect x="{LABEL}" y="{by:.1f}" width="{width:.1f}" height="{bar_h - 2:.1f}" '
                         f'fill="{colour}"><title>{escape(label)}: {escape(fmt(value))}</title></rect>')
            parts.append(f'<text x="{LABEL + width + 6:.1f}" y="{by + bar_h / 2 + 3:.1f}" class="value">'
                         f'{escape(fmt(value))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def share(title: str, parts: Sequence[tuple[str, float]]) -> str:
    """One bar split into parts (e.g. on time and late), with each part's share written."""
    total = sum(value for _label, value in parts)
    if total <= 0:
        return ""
    height, x, out = 78, 0.0, []
    out.append(f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{WIDTH}" height="{height}" '
               f'viewBox="0 0 {WIDTH} {height}"><title>{escape(title)}</title>'
               f'<text x="0" y="18" class="title">{escape(title)}</text>')
    for index, (label, value) in enumerate(parts):
        width = (WIDTH - 2) * value / total
        colour = COLOURS[index % len(COLOURS)]
        out.append(f'<rect x="{x:.1f}" y="28" width="{width:.1f}" height="22" fill="{colour}">'
                   f'<title>{escape(label)}: {value:g}</title></rect>')
        out.append(f'<rect x="{index * 170}" y="60" width="12" height="12" fill="{colour}"/>'
                   f'<text x="{index * 170 + 16}" y="71">{escape(label)}: {value:g} ({100 * value / total:.0f}%)'
                   f'</text>')
        x += width
    out.append("</svg>")
    return "".join(out)
