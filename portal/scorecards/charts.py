"""Server-rendered SVG charts: no JavaScript, no inline style (presentation attributes only, which
the strict CSP allows). Each chart has a title and description for screen readers, and pages show
the same figures in a table beside it."""
from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, BAR_HEIGHT, GAP, LABEL_WIDTH = 640, 22, 6, 220


def bar_chart(title: str, rows: list[tuple[str, float]], maximum: float = 100.0, unit: str = "") -> Markup:
    """Horizontal bars, one per (label, value); values clipped to [0, maximum]."""
    height = max(1, len(rows)) * (BAR_HEIGHT + GAP) + GAP
    span = WIDTH - LABEL_WIDTH - 60
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
             f'width="100%"><title>{escape(title)}</title>']
    for index, (label, value) in enumerate(rows):
        y = GAP + index * (BAR_HEIGHT + GAP)
        length = 0 if maximum <= 0 else max(0.0, min(1.0, value / maximum)) * span
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR_HEIGHT * 0.7:.1f}" text-anchor="end" '
                     f'font-size="13" fill="#1d1d1b">{escape(label)}</text>')
        parts.append(f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" fill="#005a70">'
                     f'<title>{escape(label)}: {value:g}{escape(unit)}</title></rect>')
        parts.append(f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + BAR_HEIGHT * 0.7:.1f}" font-size="13" '
                     f'fill="#1d1d1b">{value:g}{escape(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(title: str, labels: list[str], values: list[float], maximum: float | None = None) -> Markup:
    """One series over periods."""
    height, left, bottom, top = 240, 50, 40, 20
    top_value = maximum if maximum is not None else max(values + [1.0])
    step = (WIDTH - left - 50) / max(1, len(values) - 1)  # room for the last label

    def point(i: int, v: float) -> tuple[float, float]:
        return left + i * step, top + (height - top - bottom) * (1 - (v / top_value if top_value else 0))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
             f'width="100%"><title>{escape(title)}</title>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH - 10}" y2="{height - bottom}" stroke="#6f777b"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#6f777b"/>',
             f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="12" fill="#1d1d1b">{top_value:g}</text>',
             f'<text x="{left - 6}" y="{height - bottom}" text-anchor="end" font-size="12" fill="#1d1d1b">0</text>']
    points = [point(i, v) for i, v in enumerate(values)]
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#005a70" stroke-width="3"/>')
    for (x, y), label, value in zip(points, labels, values, strict=True):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#005a70"><title>{escape(label)}: {value:g}'
                     f'</title></circle>')
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 18}" text-anchor="middle" font-size="12" '
                     f'fill="#1d1d1b">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
