"""Small inline SVG charts for the run report: intervals, bars and lines. Every label is escaped here."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

__all__ = ["bar_chart", "interval_chart", "line_chart"]

PALETTE = ("#2f5fb3", "#d1603d", "#3a9a5b", "#8a5cc2", "#c49a1a", "#4aa3b5", "#b5477a", "#6b6b6b")


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering [low, high]."""
    if high <= low:
        return [low]
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * step:
            step *= factor
            break
    first = math.ceil(low / step - 1e-9) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step + 1e-9) + 1)]


def _label(value: float) -> str:
    return f"{value:g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.1e}"


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
        f'<text x="{width / 2}" y="14" text-anchor="middle" font-weight="600">{escape(title)}</text>'
        + "".join(body)
        + "</svg>"
    )


def interval_chart(
    rows: Sequence[tuple[str, float, float, float]],
    *,
    title: str,
    low: float | None = None,
    high: float | None = None,
    zero_line: bool = False,
) -> str:
    """One row per (label, mean, interval low, interval high): a dot on a whisker, on a shared axis."""
    rows = [r for r in rows if all(math.isfinite(v) for v in r[1:])]
    values = [v for r in rows for v in r[1:]] or [0.0, 1.0]
    lo = min(values) if low is None else low
    hi = max(values) if high is None else high
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    # Labels left of the axis, figures in a column right of it, so neither runs off the picture.
    left, width, row_h, figures = 130, 560, 26, 150
    plot_w = width - left - figures - 10
    height = 40 + row_h * len(rows) + 24

    def x(v: float) -> float:
        return left + plot_w * (min(max(v, lo), hi) - lo) / (hi - lo)

    body = []
    axis_y = 28 + row_h * len(rows)
    for tick in _ticks(lo, hi):
        body.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="24" y2="{axis_y}" stroke="#e3e6ec"/>')
        body.append(f'<text x="{x(tick):.1f}" y="{axis_y + 14}" text-anchor="middle">{_label(tick)}</text>')
    if zero_line and lo < 0 < hi:
        body.append(f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="24" y2="{axis_y}" stroke="#888"/>')
    for i, (label, mean, low_v, high_v) in enumerate(rows):
        y = 28 + row_h * i + row_h / 2
        colour = PALETTE[i % len(PALETTE)]
        short = label if len(label) <= 18 else label[:17] + "\u2026"
        body.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{escape(short)}</text>')
        body.append(
            f'<line x1="{x(low_v):.1f}" x2="{x(high_v):.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}" '
            'stroke-width="2"/>'
        )
        for end in (low_v, high_v):
            body.append(
                f'<line x1="{x(end):.1f}" x2="{x(end):.1f}" y1="{y - 5:.1f}" y2="{y + 5:.1f}" '
                f'stroke="{colour}" stroke-width="2"/>'
            )
        body.append(f'<circle cx="{x(mean):.1f}" cy="{y:.1f}" r="4.5" fill="{colour}"/>')
        body.append(
            f'<text x="{left + plot_w + 12}" y="{y + 4:.1f}" fill="#555">{mean:.3f} '
            f"[{low_v:.3f}, {high_v:.3f}]</text>"
        )
    return _svg(width, height, title, body)


def bar_chart(bars: Sequence[tuple[str, float]], *, title: str, high: float | None = None) -> str:
    """Vertical bars, one per (label, value); labels under the bars."""
    bars = [(label, v if math.isfinite(v) else 0.0) for label, v in bars]
    top = high if high is not None else max([v for _, v in bars] + [1e-9])
    width, height, left, bottom = max(240, 60 + 34 * len(bars)), 210, 44, 40
    plot_h = height - bottom - 28
    slot = (width - left - 10) / max(len(bars), 1)
    body = []
    for tick in _ticks(0.0, top):
        y = height - bottom - plot_h * tick / top
        body.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6ec"/>')
        body.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{_label(tick)}</text>')
    for i, (label, value) in enumerate(bars):
        h = plot_h * max(min(value, top), 0.0) / top
        x = left + slot * i + slot * 0.15
        body.append(
            f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
            f'fill="{PALETTE[0]}"><title>{escape(label)}: {value:g}</title></rect>'
        )
        short = label if len(label) <= 8 else label[:7] + "\u2026"
        body.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{height - bottom + 14}" text-anchor="middle">'
            f"{escape(short)}</text>"
        )
    return _svg(width, height, title, body)


def line_chart(
    series: Mapping[str, Sequence[tuple[float, float]]], *, title: str, xlabel: str = "step"
) -> str:
    """One line per named series of (x, y) points; non-finite points are dropped."""
    clean = {
        name: sorted((float(x), float(y)) for x, y in points if math.isfinite(x) and math.isfinite(y))
        for name, points in series.items()
    }
    clean = {name: points for name, points in clean.items() if points}
    xs = [x for points in clean.values() for x, _ in points] or [0.0, 1.0]
    ys = [y for points in clean.values() for _, y in points] or [0.0, 1.0]
    x_lo, x_hi = min(xs), max(xs)
    y_lo, y_hi = min(ys), max(ys)
    if x_hi <= x_lo:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    pad = (y_hi - y_lo) * 0.08 or 0.5
    y_lo, y_hi = y_lo - pad, y_hi + pad
    width, height, left, bottom, right = 520, 240, 52, 38, 130
    plot_w, plot_h = width - left - right, height - bottom - 28

    def px(x: float) -> float:
        return left + plot_w * (x - x_lo) / (x_hi - x_lo)

    def py(y: float) -> float:
        return height - bottom - plot_h * (y - y_lo) / (y_hi - y_lo)

    body = []
    for tick in _ticks(y_lo, y_hi):
        y = py(tick)
        body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6ec"/>')
        body.append(f'<text x="{left - 4}" y="{py(tick) + 4:.1f}" text-anchor="end">{_label(tick)}</text>')
    for tick in _ticks(x_lo, x_hi):
        body.append(
            f'<text x="{px(tick):.1f}" y="{height - bottom + 14}" text-anchor="middle">{_label(tick)}</text>'
        )
    body.append(
        f'<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle">{escape(xlabel)}</text>'
    )
    for i, (name, points) in enumerate(clean.items()):
        colour = PALETTE[i % len(PALETTE)]
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
        body.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="1.8"/>')
        if len(points) <= 40:
            body.extend(
                f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{colour}"/>' for x, y in points
            )
        legend_y = 34 + 16 * i
        short = name if len(name) <= 18 else name[:17] + "\u2026"
        body.append(
            f'<rect x="{left + plot_w + 10}" y="{legend_y - 8}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{left + plot_w + 24}" y="{legend_y + 1}">{escape(short)}</text>'
        )
    return _svg(width, height, title, body)
