"""Charts as inline SVG text: axes, ticks, labels, legends, and the data as paths.

Why by hand: the page must work offline, without JavaScript and under a Content
Security Policy that refuses inline CSS (Jenkins'), so every colour, size and font is
an SVG presentation attribute, not a style. Text and axes use ``currentColor``: they
take the page's text colour, dark on light, light on dark (the browser's own
``color-scheme``) and black on paper. Series colours are the Okabe-Ito palette, told
apart with colour-blindness and readable on both backgrounds.

Each series is one ``<path data-series=KEY>`` (the tests find them so), with a
``<title>`` that the browser shows on hover; the stacked chart adds a hover strip per
time column with every count at that moment. No script anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

from bulkboot.ui.html.scale import AxisKind, Ticks, ticks

__all__ = [
    "Bars",
    "Layer",
    "Line",
    "Marks",
    "histogram",
    "line_chart",
    "stacked_chart",
]

WIDTH = 760
HEIGHT = 300
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 44, 48
_HOVER_COLUMNS = 240


@dataclass(frozen=True, slots=True, kw_only=True)
class Line:
    key: str
    label: str
    color: str
    points: Sequence[tuple[float, float]]
    dashed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Layer:
    key: str
    label: str
    color: str
    values: Sequence[float]


@dataclass(frozen=True, slots=True, kw_only=True)
class Marks:
    """Crosses along the top of the plot at ``xs`` (failures, say)."""

    key: str
    label: str
    color: str
    xs: Sequence[float]


@dataclass(frozen=True, slots=True, kw_only=True)
class Bars:
    key: str
    label: str
    color: str
    counts: Sequence[int]


@dataclass(frozen=True, slots=True)
class _Frame:
    """The plot area and its two axes: data values to pixels."""

    x: Ticks
    y: Ticks

    def px(self, value: float) -> float:
        span = self.x.high - self.x.low or 1.0
        return LEFT + (value - self.x.low) / span * (WIDTH - LEFT - RIGHT)

    def py(self, value: float) -> float:
        span = self.y.high - self.y.low or 1.0
        return HEIGHT - BOTTOM - (value - self.y.low) / span * (HEIGHT - TOP - BOTTOM)


def _n(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _open(key: str, title: str) -> list[str]:
    return [
        f'<svg data-chart="{escape(key)}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="system-ui, sans-serif" '
        'font-size="11" fill="currentColor">',
        f"<title>{escape(title)}</title>",
    ]


def _axes(frame: _Frame, x_title: str, y_title: str) -> list[str]:
    parts = ['<g data-axes="" stroke="currentColor">']
    bottom, top = HEIGHT - BOTTOM, TOP
    left, right = LEFT, WIDTH - RIGHT
    for value, label in zip(frame.y.values, frame.y.labels, strict=True):
        y = _n(frame.py(value))
        parts.append(f'<line x1="{left}" x2="{right}" y1="{y}" y2="{y}" stroke-opacity="0.15"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y}" dy="0.32em" text-anchor="end" stroke="none">'
            f"{escape(label)}</text>"
        )
    for value, label in zip(frame.x.values, frame.x.labels, strict=True):
        x = _n(frame.px(value))
        parts.append(f'<line x1="{x}" x2="{x}" y1="{bottom}" y2="{bottom + 5}"/>')
        parts.append(
            f'<text x="{x}" y="{bottom + 17}" text-anchor="middle" stroke="none">'
            f"{escape(label)}</text>"
        )
    parts.append(f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}"/>')
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{bottom}"/>')
    parts.append("</g>")
    parts.append(
        f'<text x="{(left + right) / 2:.0f}" y="{HEIGHT - 8}" text-anchor="middle">'
        f"{escape(x_title)}</text>"
    )
    parts.append(
        f'<text transform="translate(14 {(top + bottom) / 2:.0f}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_title)}</text>'
    )
    return parts


def _legend(items: Iterable[tuple[str, str, str, str]]) -> list[str]:
    """One row of swatches at the top: (key, label, colour, shape: area|line|dash|mark)."""
    parts = ['<g data-legend="">']
    x = LEFT
    y = 16
    for key, label, color, shape in items:
        if shape == "area":
            parts.append(f'<rect x="{x}" y="{y - 8}" width="12" height="10" fill="{color}"/>')
        elif shape == "mark":
            parts.append(
                f'<path d="M{x + 2} {y - 7}l8 8m0 -8l-8 8" stroke="{color}" stroke-width="2"/>'
            )
        else:
            dash = ' stroke-dasharray="4 3"' if shape == "dash" else ""
            parts.append(
                f'<line x1="{x}" x2="{x + 14}" y1="{y - 3}" y2="{y - 3}" stroke="{color}" '
                f'stroke-width="2.5"{dash}/>'
            )
        parts.append(
            f'<text x="{x + 18}" y="{y}" data-legend-item="{escape(key)}">{escape(label)}</text>'
        )
        x += 18 + 7 * len(label) + 16
        if x > WIDTH - RIGHT - 60:
            x, y = LEFT, y + 16
    parts.append("</g>")
    return parts


def _axis_title(label: str, axis: Ticks) -> str:
    return f"{label} ({axis.unit})" if axis.unit else label


def _empty(key: str, title: str, message: str) -> str:
    parts = _open(key, title)
    parts.append(
        f'<text x="{WIDTH / 2:.0f}" y="{HEIGHT / 2:.0f}" text-anchor="middle">'
        f"{escape(message)}</text>"
    )
    return "\n".join([*parts, "</svg>"])


def line_chart(
    key: str,
    title: str,
    *,
    lines: Sequence[Line],
    x_label: str,
    x_kind: AxisKind,
    y_label: str,
    y_kind: AxisKind,
    marks: Sequence[Marks] = (),
    x_range: tuple[float, float] | None = None,
    y_max: float | None = None,
    step: bool = False,
) -> str:
    """Lines over a shared x axis (``step``: each value holds until the next point)."""
    lines = [line for line in lines if line.points]
    if not lines:
        return _empty(key, title, "nothing to draw: no samples in this report")
    xs = [x for line in lines for x, _ in line.points]
    ys = [y for line in lines for _, y in line.points]
    low, high = x_range if x_range is not None else (min(0.0, min(xs)), max(xs))
    top = max(max(ys), y_max or 0.0)
    frame = _Frame(ticks(low, high, x_kind), ticks(0.0, top if top > 0 else 1.0, y_kind))
    parts = _open(key, title)
    parts += _axes(frame, _axis_title(x_label, frame.x), _axis_title(y_label, frame.y))
    for line in lines:
        d = _polyline(frame, line.points, step=step)
        dash = ' stroke-dasharray="5 3"' if line.dashed else ""
        parts.append(
            f'<path data-series="{escape(line.key)}" d="{d}" fill="none" '
            f'stroke="{line.color}" stroke-width="2" stroke-linejoin="round"{dash}>'
            f"<title>{escape(_line_title(line))}</title></path>"
        )
    for mark in marks:
        if not mark.xs:
            continue
        y = TOP + 6
        d = "".join(f"M{_n(frame.px(x) - 3)} {y - 3}l6 6m0 -6l-6 6" for x in mark.xs)
        parts.append(
            f'<path data-series="{escape(mark.key)}" d="{d}" stroke="{mark.color}" '
            f'stroke-width="1.5" fill="none"><title>{escape(mark.label)}: '
            f"{len(mark.xs):,}</title></path>"
        )
    legend = [(ln.key, ln.label, ln.color, "dash" if ln.dashed else "line") for ln in lines]
    legend += [(m.key, f"{m.label} ({len(m.xs):,})", m.color, "mark") for m in marks if m.xs]
    parts += _legend(legend)
    return "\n".join([*parts, "</svg>"])


def _line_title(line: Line) -> str:
    values = [y for _, y in line.points]
    return f"{line.label}: highest {max(values):g}, last {values[-1]:g}"


def _polyline(frame: _Frame, points: Sequence[tuple[float, float]], *, step: bool) -> str:
    out: list[str] = []
    previous_y: str | None = None
    for i, (x, y) in enumerate(points):
        px, py = _n(frame.px(x)), _n(frame.py(y))
        if i == 0:
            out.append(f"M{px} {py}")
        elif step and previous_y is not None:
            out.append(f"H{px}V{py}")
        else:
            out.append(f"L{px} {py}")
        previous_y = py
    if len(points) == 1:  # one point: a short tick, so that it shows
        out.append("h2")
    return "".join(out)


def stacked_chart(
    key: str,
    title: str,
    *,
    times: Sequence[float],
    layers: Sequence[Layer],
    x_label: str,
    y_label: str,
) -> str:
    """Layers stacked over time, bottom first; a hover strip per time column."""
    layers = [layer for layer in layers if any(layer.values)]
    if not times or not layers:
        return _empty(key, title, "nothing to draw: no samples in this report")
    totals = [sum(layer.values[i] for layer in layers) for i in range(len(times))]
    frame = _Frame(
        ticks(min(0.0, times[0]), max(times[-1], 1e-9), "elapsed"),
        ticks(0.0, max(max(totals), 1), "count"),
    )
    parts = _open(key, title)
    parts += _axes(frame, _axis_title(x_label, frame.x), _axis_title(y_label, frame.y))
    below = [0.0] * len(times)
    for layer in layers:
        above = [b + v for b, v in zip(below, layer.values, strict=True)]
        upper = "L".join(
            f"{_n(frame.px(t))} {_n(frame.py(a))}" for t, a in zip(times, above, strict=True)
        )
        lower = "L".join(
            f"{_n(frame.px(t))} {_n(frame.py(b))}"
            for t, b in zip(reversed(times), reversed(below), strict=True)
        )
        highest = max(layer.values)
        parts.append(
            f'<path data-series="{escape(layer.key)}" d="M{upper}L{lower}Z" '
            f'fill="{layer.color}" fill-opacity="0.85" stroke="{layer.color}" '
            f'stroke-width="0.5"><title>{escape(layer.label)}: highest {highest:,.0f}'
            "</title></path>"
        )
        below = above
    parts += _hover_columns(frame, times, layers)
    parts += _legend((ly.key, ly.label, ly.color, "area") for ly in layers)
    return "\n".join([*parts, "</svg>"])


def _hover_columns(frame: _Frame, times: Sequence[float], layers: Sequence[Layer]) -> list[str]:
    """Invisible strips, one per shown time column, whose tooltip lists every count."""
    count = len(times)
    every = max(1, -(-count // _HOVER_COLUMNS))
    parts = ['<g data-hover="" fill="#000" fill-opacity="0">']
    indices = list(range(0, count, every))
    for n, i in enumerate(indices):
        x0 = frame.px(times[i])
        x1 = frame.px(times[indices[n + 1]]) if n + 1 < len(indices) else WIDTH - RIGHT
        width = max(1.0, x1 - x0)
        text = f"{times[i]:g} s: " + ", ".join(
            f"{layer.label} {layer.values[i]:,.0f}" for layer in layers
        )
        parts.append(
            f'<rect x="{_n(x0)}" y="{TOP}" width="{_n(width)}" height="{HEIGHT - TOP - BOTTOM}">'
            f"<title>{escape(text)}</title></rect>"
        )
    parts.append("</g>")
    return parts


def histogram(
    key: str,
    title: str,
    *,
    edges: Sequence[float],
    bars: Sequence[Bars],
    x_label: str,
    markers: Sequence[tuple[str, float]] = (),
) -> str:
    """Counts per bin (``edges`` has one more value than each ``counts``); one series
    is filled bars, several are outlines on the same bins. ``markers`` are labelled
    vertical lines (the percentiles)."""
    bars = [b for b in bars if any(b.counts)]
    if len(edges) < 2 or not bars:
        return _empty(key, title, "nothing to draw: no values in this report")
    top = max(max(b.counts) for b in bars)
    frame = _Frame(ticks(edges[0], edges[-1], "duration"), ticks(0.0, max(top, 1), "count"))
    parts = _open(key, title)
    parts += _axes(frame, _axis_title(x_label, frame.x), "count")
    filled = len(bars) == 1
    for series in bars:
        d = _bars_path(frame, edges, series.counts, filled=filled)
        paint = (
            f'fill="{series.color}" fill-opacity="0.8" stroke="none"'
            if filled
            else f'fill="none" stroke="{series.color}" stroke-width="2"'
        )
        parts.append(
            f'<path data-series="{escape(series.key)}" d="{d}" {paint}>'
            f"<title>{escape(series.label)}: {sum(series.counts):,} values</title></path>"
        )
    for n, (label, value) in enumerate(markers):
        x = _n(frame.px(value))
        y = TOP + 12 + 12 * (n % 3)
        parts.append(
            f'<g data-marker="{escape(label)}"><line x1="{x}" x2="{x}" y1="{TOP}" '
            f'y2="{HEIGHT - BOTTOM}" stroke="currentColor" stroke-dasharray="3 3" '
            f'stroke-opacity="0.7"/><text x="{x}" dx="3" y="{y}">{escape(label)}</text></g>'
        )
    parts += _legend((b.key, b.label, b.color, "area" if filled else "line") for b in bars)
    return "\n".join([*parts, "</svg>"])


def _bars_path(
    frame: _Frame, edges: Sequence[float], counts: Sequence[int], *, filled: bool
) -> str:
    base = _n(frame.py(0.0))
    if filled:
        out = []
        for i, count in enumerate(counts):
            if count:
                x0, x1 = frame.px(edges[i]), frame.px(edges[i + 1])
                out.append(
                    f"M{_n(x0)} {base}V{_n(frame.py(count))}H{_n(max(x1 - 0.5, x0 + 0.5))}V{base}Z"
                )
        return "".join(out)
    out = [f"M{_n(frame.px(edges[0]))} {base}"]
    for i, count in enumerate(counts):
        out.append(f"V{_n(frame.py(count))}H{_n(frame.px(edges[i + 1]))}")
    out.append(f"V{base}")
    return "".join(out)
