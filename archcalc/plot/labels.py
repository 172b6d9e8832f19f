"""Deterministic label placement: no label overlaps another label, a bubble, or leaves the plot.

Pure geometry in display units (pixels, y upwards, as matplotlib's display space).
Each label is tried at candidate positions around its anchor: twelve directions
on rings of growing distance, the nearest corner or edge of the label box at that
distance from the anchor. Labels are placed one at a time, the most crowded
anchors first; a candidate is accepted when it overlaps no placed label, stays
inside the bounds, and covers no bubble (that last rule is relaxed, fewest
bubbles covered first, only when a label cannot be placed otherwise). The same
input always gives the same placement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Directions in preference order: right, left, up, down, then the diagonals and the rest.
_ANGLES = (0, 180, 90, 270, 30, 150, 330, 210, 60, 120, 300, 240)


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: "Box", gap: float = 0.0) -> bool:
        return not (
            self.x1 + gap <= other.x0 or other.x1 + gap <= self.x0
            or self.y1 + gap <= other.y0 or other.y1 + gap <= self.y0
        )

    def inside(self, other: "Box") -> bool:
        return self.x0 >= other.x0 and self.y0 >= other.y0 and self.x1 <= other.x1 and self.y1 <= other.y1

    def touches_circle(self, cx: float, cy: float, r: float) -> bool:
        nx = min(max(cx, self.x0), self.x1)
        ny = min(max(cy, self.y0), self.y1)
        return (nx - cx) ** 2 + (ny - cy) ** 2 < r * r

    def distance_to(self, x: float, y: float) -> float:
        """Distance from the point to the nearest point of the box (0 inside)."""
        nx = min(max(x, self.x0), self.x1)
        ny = min(max(y, self.y0), self.y1)
        return math.hypot(nx - x, ny - y)

    @property
    def center(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2


def _sign(v: float) -> float:
    return 0.0 if abs(v) < 1e-9 else math.copysign(1.0, v)


def candidate(anchor, size, distance: float, angle_deg: float) -> Box:
    """The label box whose nearest corner or edge is ``distance`` from ``anchor`` in that direction."""
    (ax, ay), (w, h) = anchor, size
    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    px, py = ax + distance * c, ay + distance * s
    cx = px + _sign(c) * w / 2
    cy = py + _sign(s) * h / 2
    return Box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def place_labels(
    anchors: list[tuple[float, float]],
    sizes: list[tuple[float, float]],
    bounds: Box,
    *,
    radii: list[float] | None = None,
    dot: float = 3.0,
    pad: float = 3.0,
    step: float = 8.0,
    rings: int = 40,
    gap: float = 1.0,
    keep_out: list[Box] = (),
) -> list[Box]:
    """A box per label (same order as ``anchors``), none overlapping another, all inside ``bounds``.

    Hard rules: a label overlaps no placed label and no ``keep_out`` box (a legend),
    covers no anchor's dot (radius ``dot``), and stays inside ``bounds``. Soft rule:
    each bubble (``radii`` at the other anchors) a label covers costs as much as
    moving two rings further out, and a label nearer to another anchor than to its
    own (its centre nearer: it would be read as the other's) as much as three rings. Within
    those rules the nearest ring wins, then the preferred direction (right, left,
    up, down, diagonals).
    """
    n = len(anchors)
    radii = list(radii) if radii is not None else [0.0] * n
    crowd = []
    for i, (x, y) in enumerate(anchors):
        near = sum(1 for j, (u, v) in enumerate(anchors) if j != i and math.hypot(u - x, v - y) < 90)
        crowd.append(near)
    order = sorted(range(n), key=lambda i: (-crowd[i], anchors[i][0], anchors[i][1], i))
    placed: dict[int, Box] = {}
    blocked = list(keep_out)
    for i in order:
        best: tuple | None = None
        for ring in range(rings):
            if best is not None and best[0][0] <= ring:
                break  # nothing further out can score better
            distance = dot + pad + ring * step
            for rank, angle in enumerate(_ANGLES):
                box = candidate(anchors[i], sizes[i], distance, angle)
                if not box.inside(bounds):
                    continue
                if any(box.overlaps(other, gap) for other in blocked):
                    continue
                if any(box.touches_circle(x, y, dot + 1) for x, y in anchors):
                    continue
                covered = sum(
                    1 for j in range(n)
                    if j != i and radii[j] > dot and box.touches_circle(anchors[j][0], anchors[j][1], radii[j])
                )
                cx, cy = box.center
                own = math.hypot(cx - anchors[i][0], cy - anchors[i][1])
                closer = sum(
                    1 for j in range(n)
                    if j != i and math.hypot(cx - anchors[j][0], cy - anchors[j][1]) < own
                )
                key = (ring + 2 * covered + 3 * closer, covered, rank)
                if best is None or key < best[0]:
                    best = (key, box)
        if best is None:  # nowhere inside the bounds: keep it beside the anchor
            box = candidate(anchors[i], sizes[i], dot + pad, 0)
        else:
            box = best[1]
        placed[i] = box
        blocked.append(box)
    return [placed[i] for i in range(n)]
