"""A small line chart as inline SVG: one metric over a pipeline's executions.

Hand-made rather than matplotlib so the report needs no plotting stack and renders the
same bytes every time. The chart draws the threshold as a dashed line and marks points
that fail it (red) or drift from the median of the runs before them (orange ring);
every point has a ``<title>`` so a browser shows its run and value on hover, no script.
"""

from __future__ import annotations

import math
from collections import namedtuple
from html import escape

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 34, 58
MAX_LABELS = 10


class ChartPoint(namedtuple("ChartPoint", "label value title failing drifting")):
    __slots__ = ()


def _fmt(number: float) -> str:
    return f"{number:.1f}".rstrip("0").rstrip(".")


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]`` (steps of 1, 2 or 5 times 10^k)."""
    span = high - low
    raw = span / max(1, count - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step + 1e-9)
    ticks = [round(first * step, 12)]
    while ticks[-1] < high - step * 1e-9:
        ticks.append(round((first + len(ticks)) * step, 12))
    return ticks


def line_chart(title: str, points: list[ChartPoint], threshold: float | None, sense: str) -> str:
    values = [point.value for point in points]
    extent = [*values, *([threshold] if threshold is not None else [])]
    low, high = min(extent), max(extent)
    pad = (high - low) * 0.12 or abs(high) * 0.12 or 1.0
    ticks = nice_ticks(low - pad, high + pad)
    low, high = ticks[0], ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(index: int) -> float:
        if len(points) == 1:
            return LEFT + plot_w / 2
        return LEFT + plot_w * index / (len(points) - 1)

    def y(value: float) -> float:
        return TOP + plot_h * (high - value) / (high - low)

    parts = [
        f'<svg class="chart" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">',
        f'<text x="{LEFT}" y="20" class="chart-title">{escape(title)}</text>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" class="plot-area"/>',
    ]
    for tick in ticks:
        ty = _fmt(y(tick))
        parts.append(f'<line x1="{LEFT}" y1="{ty}" x2="{LEFT + plot_w}" y2="{ty}" class="grid"/>')
        parts.append(
            f'<text x="{LEFT - 8}" y="{ty}" class="tick" text-anchor="end" '
            f'dominant-baseline="middle">{tick:g}</text>'
        )
    every = max(1, math.ceil(len(points) / MAX_LABELS))
    for index, point in enumerate(points):
        if index % every == 0 or index == len(points) - 1:
            parts.append(
                f'<text x="{_fmt(x(index))}" y="{HEIGHT - BOTTOM + 18}" class="tick" '
                f'text-anchor="middle">{escape(point.label)}</text>'
            )
    if threshold is not None:
        ty = _fmt(y(threshold))
        parts.append(
            f'<line x1="{LEFT}" y1="{ty}" x2="{LEFT + plot_w}" y2="{ty}" class="threshold"/>'
        )
        parts.append(
            f'<text x="{LEFT + 6}" y="{_fmt(y(threshold) - 6)}" class="threshold-label">'
            f"threshold {escape(sense)} {threshold:g}</text>"
        )
    if len(points) > 1:
        coords = " ".join(f"{_fmt(x(i))},{_fmt(y(p.value))}" for i, p in enumerate(points))
        parts.append(f'<polyline points="{coords}" class="series"/>')
    for index, point in enumerate(points):
        cx, cy = _fmt(x(index)), _fmt(y(point.value))
        kind = "point failing" if point.failing else "point"
        parts.append(
            f'<circle cx="{cx}" cy="{cy}" r="4" class="{kind}">'
            f"<title>{escape(point.title)}</title></circle>"
        )
        if point.drifting:
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="9" class="drift"/>')
    parts.append(_legend())
    parts.append("</svg>")
    return "".join(parts)


def _legend() -> str:
    y = HEIGHT - 16
    items = [
        '<circle cx="{x}" cy="{y}" r="4" class="point"/>',
        '<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" class="threshold"/>',
        '<circle cx="{x}" cy="{y}" r="4" class="point failing"/>',
        '<circle cx="{x}" cy="{y}" r="7" class="drift"/>',
    ]
    labels = ["run", "threshold", "fails threshold", "drifts"]
    parts, position = [], LEFT
    for shape, label in zip(items, labels, strict=True):
        parts.append(shape.format(x=position + 6, y=y, x0=position, x1=position + 14))
        parts.append(
            f'<text x="{position + 20}" y="{y}" class="legend" dominant-baseline="middle">'
        )
        parts.append(f"{label}</text>")
        position += 40 + 8 * len(label)
    return "".join(parts)
