"""Server-side SVG charts (no JavaScript, no external assets): the concentration-time plot
and the disease-activity trend. Rendering only: every number comes from the domain."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Callable, Sequence

import numpy as np

W, H = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 14, 40
_BAND_COLOURS = {"remission": "#d9f0d3", "low": "#eef6c8", "moderate": "#fde9c4", "high": "#f7d0cb"}


@dataclass
class Axis:
    low: float
    high: float
    start: float
    end: float
    log: bool = False

    def __call__(self, value: float) -> float:
        f = (lambda v: math.log10(max(v, 1e-9))) if self.log else float
        span = f(self.high) - f(self.low) or 1.0
        return self.start + (f(value) - f(self.low)) / span * (self.end - self.start)

    def many(self, values: Sequence[float]) -> np.ndarray:
        """``self(v)`` for every value at once (a profile has thousands of points)."""
        v = np.asarray(values, dtype=float)
        f = (lambda a: np.log10(np.maximum(a, 1e-9))) if self.log else (lambda a: a)
        low, high = (
            (math.log10(max(self.low, 1e-9)), math.log10(max(self.high, 1e-9))) if self.log else (self.low, self.high)
        )
        span = high - low or 1.0
        return self.start + (f(v) - low) / span * (self.end - self.start)


def _points(xs: Sequence[float], ys: Sequence[float], x: Axis, y: Axis) -> str:
    px, py = x.many(xs).tolist(), y.many(ys).tolist()
    return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py))


def _frame(title: str, label_x: str, label_y: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" '
        f'aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{W - LEFT - RIGHT}" height="{H - TOP - BOTTOM}" class="plot-area"/>',
        f'<text x="{(LEFT + W - RIGHT) / 2}" y="{H - 6}" class="axis-label" text-anchor="middle">{escape(label_x)}</text>',
        f'<text x="14" y="{(TOP + H - BOTTOM) / 2}" class="axis-label" text-anchor="middle" '
        f'transform="rotate(-90 14 {(TOP + H - BOTTOM) / 2})">{escape(label_y)}</text>',
    ]


def _y_ticks(y: Axis, ticks: Sequence[float], fmt: Callable[[float], str]) -> list[str]:
    out = []
    for v in ticks:
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>')
        out.append(f'<text x="{LEFT - 4}" y="{y(v) + 4:.1f}" text-anchor="end" class="tick">{escape(fmt(v))}</text>')
    return out


def _x_ticks(x: Axis, ticks: Sequence[float], fmt: Callable[[float], str]) -> list[str]:
    return [
        f'<text x="{x(v):.1f}" y="{H - BOTTOM + 14}" text-anchor="middle" class="tick">{escape(fmt(v))}</text>'
        for v in ticks
    ]


def profile_svg(profile, *, title: str, labels: dict[str, str], target=None) -> str:
    """Observed levels (● measured, ▽ below LLOQ at the LLOQ), individual prediction, 80 %
    band, target band, infusion markers; x in weeks since the first infusion, y log mg/L."""
    weeks = [t / 7 for t in profile.time_days]
    observed = [(d / 7, max(v, 0.01), blq) for d, v, blq in profile.observed]
    values = [v for v in [*profile.upper_mg_l, *profile.ipred_mg_l, *(o[1] for o in observed)] if v > 0]
    top = 10 ** math.ceil(math.log10(max(values or [10]) * 1.2))
    x = Axis(0, max(weeks[-1] if weeks else 1, 1), LEFT, W - RIGHT)
    y = Axis(0.1 if min(values or [1]) >= 0.1 else 0.01, top, H - BOTTOM, TOP, log=True)
    out = _frame(title, labels["x"], labels["y"])
    decades = [10**k for k in range(round(math.log10(y.low)), round(math.log10(top)) + 1)]
    out += _y_ticks(y, decades, lambda v: f"{v:g}")
    step = 8 if x.high > 40 else 2
    out += _x_ticks(x, [k * step for k in range(int(x.high // step) + 1)], lambda v: f"{v:g}")
    target = target if target is not None else profile.target
    if target is not None:  # the green band the caption promises (a lower bound: up to the top)
        high = min(target.high_mg_l or top, top)
        low = max(target.low_mg_l, y.low)
        out.append(
            f'<rect x="{LEFT}" width="{W - LEFT - RIGHT}" y="{y(high):.1f}" height="{y(low) - y(high):.1f}"'
            f' class="target-band" data-low="{target.low_mg_l:g}"><title>{escape(labels["target"])}</title></rect>'
        )
    if weeks:
        band = (
            _points(weeks, [max(v, y.low) for v in profile.upper_mg_l], x, y)
            + " "
            + _points(weeks[::-1], [max(v, y.low) for v in profile.lower_mg_l[::-1]], x, y)
        )
        out.append(f'<polygon points="{band}" class="pred-band"><title>{escape(labels["band"])}</title></polygon>')
        out.append(
            f'<polyline points="{_points(weeks, [max(v, y.low) for v in profile.ipred_mg_l], x, y)}" '
            f'class="ipred"><title>{escape(labels["ipred"])}</title></polyline>'
        )
    for day in profile.dose_days:
        px = x(day / 7)
        out.append(
            f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{TOP}" y2="{H - BOTTOM}" class="dose-line"/>'
            f'<path d="M{px - 5:.1f},{H - BOTTOM} l5,-8 l5,8 z" class="dose-marker">'
            f"<title>{escape(labels['dose'])}: {day / 7:.1f}</title></path>"
        )
    for wk, value, blq in observed:
        px, py = x(wk), y(value)
        shape = (
            f'<path d="M{px - 6:.1f},{py - 4:.1f} l12,0 l-6,10 z" class="obs blq">'
            if blq
            else f'<circle cx="{px:.1f}" cy="{py:.1f}" r="5" class="obs">'
        )
        tag = "path" if blq else "circle"
        out.append(f"{shape}<title>{escape(labels['blq' if blq else 'observed'])}: {value:g} mg/L</title></{tag}>")
    out.append("</svg>")
    return "\n".join(out)


def trend_svg(trend, *, title: str, labels: dict[str, str], fmt_date: Callable[[date], str]) -> str:
    """Score over time on its category bands (cut-offs from the domain)."""
    points = trend.points
    top = max([b.high for b in trend.bands if b.high is not None][-1] * 1.3, *(p.value * 1.1 for p in points))
    days = [p.date.toordinal() for p in points]
    x = Axis(min(days) - 7, max(days) + 7, LEFT, W - RIGHT) if days else Axis(0, 1, LEFT, W - RIGHT)
    y = Axis(0, top, H - BOTTOM, TOP)
    out = _frame(title, labels["x"], trend.measure)
    for band in trend.bands:
        high = band.high if band.high is not None else top
        out.append(
            f'<rect x="{LEFT}" width="{W - LEFT - RIGHT}" y="{y(high):.1f}" height="{y(band.low) - y(high):.1f}" '
            f'fill="{_BAND_COLOURS.get(band.label, "#eee")}"><title>{escape(labels.get(band.label, band.label))}'
            f"</title></rect>"
        )
        out.append(
            f'<text x="{W - RIGHT - 4}" y="{y(high) + 12:.1f}" text-anchor="end" class="band-label">'
            f"{escape(labels.get(band.label, band.label))}</text>"
        )
    out += _y_ticks(y, [b.high for b in trend.bands if b.high is not None], lambda v: f"{v:g}")
    if points:
        out.append(f'<polyline points="{_points(days, [p.value for p in points], x, y)}" class="trend"/>')
        for p, d in zip(points, days):
            out.append(
                f'<circle cx="{x(d):.1f}" cy="{y(p.value):.1f}" r="4" class="trend-point">'
                f"<title>{escape(fmt_date(p.date))}: {trend.measure} {escape(p.display)}</title></circle>"
            )
        ends = [points[0], points[-1]] if len(points) > 1 else points[:1]
        out += _x_ticks(x, [p.date.toordinal() for p in ends], lambda v: fmt_date(date.fromordinal(int(v))))
    out.append("</svg>")
    return "\n".join(out)
