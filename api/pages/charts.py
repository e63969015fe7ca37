"""Server-rendered bar chart geometry for the registry totals: inline SVG that
works without JavaScript, with a table alternative on the page. Widths are
computed in Decimal (no float, R-U3) and rendered as text."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from registry.explorer import TotalRow

WIDTH = Decimal(270)  # the bar area's width in SVG units
OFFSET = Decimal(100)  # where bars start, after the label
VIEW_WIDTH = 480  # label, bars, and the issued figure after the longest bar
SERIES = ("active", "offered", "retired", "expired")
ROW_HEIGHT = 40


@dataclass(frozen=True)
class Segment:
    state: str
    x: str
    width: str
    quantity: Decimal


@dataclass(frozen=True)
class Bar:
    label: str
    y: int
    issued: Decimal
    issued_width: str
    end: str  # where the issued figure is written, after the bar
    segments: list[Segment]


def _units(value: Decimal, scale: Decimal) -> Decimal:
    return (value * WIDTH / scale).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if scale else Decimal(0)


def bars(rows: list[TotalRow]) -> tuple[list[Bar], int]:
    """One bar per ARC type and year: the issued quantity as the track, with
    its active, retired and expired parts laid along it. Returns the bars and
    the chart's height."""
    scale = max((row.issued for row in rows), default=Decimal(0))
    out = []
    for n, row in enumerate(rows):
        x, segments = OFFSET, []
        for state in SERIES:
            width = _units(row.by_state[state], scale)
            segments.append(Segment(state, str(x), str(width), row.by_state[state]))
            x += width
        issued = _units(row.issued, scale)
        out.append(Bar(f"{row.arc_type} {row.year}", n * ROW_HEIGHT, row.issued, str(issued),
                       str(OFFSET + issued + 6), segments))
    return out, max(len(out), 1) * ROW_HEIGHT
