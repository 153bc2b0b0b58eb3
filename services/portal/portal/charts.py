"""Charts rendered on the server as small inline SVG (no JavaScript, readable by screen readers)."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

PALETTE = ("#0b6e4f", "#1f5fa8", "#b3541e", "#6b3fa0", "#8a6d00", "#a11d4b")


def bar_chart(title: str, rows: list[tuple[str, float]], *, unit: str = "", value_format: str = "{:,.0f}",
              width: int = 340, bar_height: int = 22) -> Markup:
    """Horizontal bars: one row per (label, value). Labels above bars so it fits 360 px screens."""
    peak = max((v for _, v in rows), default=0) or 1
    row_h = bar_height + 20
    height = max(row_h * len(rows) + 8, 40)
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
             f'width="100%" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    if not rows:
        parts.append('<text x="4" y="24" font-size="13">Belum ada data</text>')
    for i, (label, value) in enumerate(rows):
        y = i * row_h + 4
        w = max(2, int((width - 90) * (value / peak))) if value else 0
        shown = value_format.format(value).replace(",", ".") + unit
        parts.append(f'<text x="4" y="{y + 12}" font-size="12" fill="#1a1a1a">{escape(str(label))}</text>')
        parts.append(f'<rect x="4" y="{y + 16}" width="{w}" height="{bar_height - 6}" rx="2" '
                     f'fill="{PALETTE[i % len(PALETTE)]}"/>')
        parts.append(f'<text x="{w + 10}" y="{y + 29}" font-size="12" fill="#1a1a1a">{escape(shown)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def funnel_chart(title: str, steps: list[tuple[str, int]], width: int = 340) -> Markup:
    """A funnel: one bar per step, each labelled with its count and its share of the first step."""
    first = steps[0][1] if steps and steps[0][1] else 0
    rows = []
    for label, value in steps:
        share = f" ({round(100 * value / first)}%)" if first else ""
        rows.append((f"{label}{share}", float(value)))
    return bar_chart(title, rows, width=width)


def grouped_funnel(title: str, series: list[tuple[str, list[int]]], step_labels: list[str],
                   width: int = 340) -> Markup:
    """Several funnels side by side (e.g. tatap muka vs webinar): for each step, one bar per series."""
    peak = max((v for _, values in series for v in values), default=0) or 1
    bar_h, gap = 12, 6
    block = len(series) * (bar_h + 2) + 18 + gap
    legend_h = 18 * len(series)
    height = block * len(step_labels) + legend_h + 8
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
             f'width="100%" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for s, (name, _) in enumerate(series):
        parts.append(f'<rect x="4" y="{4 + s * 18}" width="12" height="12" fill="{PALETTE[s % len(PALETTE)]}"/>'
                     f'<text x="22" y="{14 + s * 18}" font-size="12">{escape(name)}</text>')
    for i, step in enumerate(step_labels):
        y = legend_h + 8 + i * block
        parts.append(f'<text x="4" y="{y + 12}" font-size="12" font-weight="bold">{escape(step)}</text>')
        for s, (_, values) in enumerate(series):
            value = values[i] if i < len(values) else 0
            w = max(2, int((width - 70) * value / peak)) if value else 0
            by = y + 16 + s * (bar_h + 2)
            parts.append(f'<rect x="4" y="{by}" width="{w}" height="{bar_h}" fill="{PALETTE[s % len(PALETTE)]}"/>'
                         f'<text x="{w + 10}" y="{by + 10}" font-size="11">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(title: str, values: list[int], *, width: int = 120, height: int = 28) -> Markup:
    """A tiny line of daily values (e.g. 30 days of a commodity's median price); no axes, the table has them."""
    parts = [f'<svg class="spark" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    if len(values) >= 2:
        low, high = min(values), max(values)
        span = (high - low) or 1
        step = (width - 4) / (len(values) - 1)
        points = " ".join(f"{2 + i * step:.0f},{height - 3 - (v - low) * (height - 6) / span:.0f}"
                          for i, v in enumerate(values))
        parts.append(f'<polyline fill="none" stroke="{PALETTE[0]}" stroke-width="1.5" points="{points}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
