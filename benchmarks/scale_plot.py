"""Cost against scale as an SVG: ``python -m benchmarks.scale_plot`` writes docs/scale.svg.

The numbers are those recorded in docs/benchmarks.md and issue 19 (declared below with where each
comes from). Plotly's static export needs kaleido, which is not installed here, so the chart is drawn
directly: log-log axes, one line per step, a point where a figure was measured and none where not.
"""

from __future__ import annotations

import math
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "docs" / "scale.svg"
SCALES = (("1:100", 60_000), ("1:10", 590_000), ("1:1", 5_900_000))

# seconds per scale (None: not measured). Sources: generation and load 1:100 and 1:1 from the tables
# at the top of docs/benchmarks.md (1:100 is three years, the others one); 1:10 generation and the
# three analyses at 1:10 from issue 19's side-by-side table; analyses at 1:100 from the side-by-side
# section (load average 17-19) and at 1:1 from the analysis section.
SERIES: dict[str, tuple[float | None, float | None, float | None]] = {
    "generation": (8.1, 35.6, 584.5),
    "load": (23.9, None, 573.6),
    "admissions × age × month": (0.606, 0.371, 0.694),
    "GP contacts × age × month": (2.141, 2.498, 15.707),
    "admissions per 1,000 + std.": (0.335, 0.197, 0.209),
}
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")
W, H, LEFT, RIGHT, TOP, BOTTOM = 720, 420, 70, 230, 30, 50


def _x(persons: int) -> float:
    lo, hi = math.log10(SCALES[0][1]), math.log10(SCALES[-1][1])
    return LEFT + (math.log10(persons) - lo) / (hi - lo) * (W - LEFT - RIGHT)


def _y(seconds: float) -> float:
    lo, hi = -1.0, 3.0  # 0.1 s to 1,000 s
    return TOP + (hi - math.log10(seconds)) / (hi - lo) * (H - TOP - BOTTOM)


def svg() -> str:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
        "<title>KØS: cost against scale (seconds, log-log)</title>",
        f'<rect width="{W}" height="{H}" fill="white"/>',
    ]
    for e in range(-1, 4):
        y = _y(10.0**e)
        parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{10.0**e:g} s</text>')
    for label, persons in SCALES:
        x = _x(persons)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{H - BOTTOM}" stroke="#eee"/>')
        parts.append(f'<text x="{x:.1f}" y="{H - BOTTOM + 18}" text-anchor="middle">{label} ({persons:,})</text>')
    parts.append(f'<text x="{(LEFT + W - RIGHT) / 2}" y="{H - 8}" text-anchor="middle">scale (persons)</text>')
    parts.append(
        f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{_y(1):.1f}" y2="{_y(1):.1f}" stroke="#999" stroke-dasharray="4"/>'
    )
    for i, (name, values) in enumerate(SERIES.items()):
        colour = COLOURS[i % len(COLOURS)]
        points = [(_x(p), _y(v)) for (_, p), v in zip(SCALES, values, strict=True) if v is not None]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>' for x, y in points]
        ly = TOP + 10 + i * 20
        parts.append(f'<rect x="{W - RIGHT + 15}" y="{ly - 9}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{W - RIGHT + 32}" y="{ly + 1}">{name}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    OUT.write_text(svg(), encoding="utf-8")
    print(f"wrote {OUT}")
