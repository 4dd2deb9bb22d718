"""The generative learning trilemma as a picture (lecture 00; lecture 09 measures it).

Xiao, Kreis & Vahdat (2022) draw three wishes at the corners of a triangle — high sample
quality, mode coverage (diversity), fast sampling — and place each family on the edge between
the two it usually delivers, opposite the one it gives up. `trilemma_figure()` draws that
picture; `FAMILIES` holds the placement, with what each family gives up, so a lecture can
print it next to the figure and lecture 09 can check it against measured numbers.
"""
from __future__ import annotations

import math

from matplotlib.figure import Figure

__all__ = ["CORNERS", "FAMILIES", "trilemma_figure"]

CORNERS = ("high sample quality", "mode coverage, diversity", "fast sampling")
"""The three wishes, in the order of the triangle's corners (top, bottom left, bottom right)."""

FAMILIES = {
    "GANs": ("high sample quality", "fast sampling", "mode coverage (mode collapse)", "lecture 07"),
    "VAEs": ("mode coverage, diversity", "fast sampling", "sample quality (blurry)", "lectures 02-03"),
    "normalizing flows": ("mode coverage, diversity", "fast sampling", "sample quality", "lecture 06"),
    "diffusion models": ("high sample quality", "mode coverage, diversity", "fast sampling (hundreds of passes)",
                         "lecture 08"),
    "autoregressive models": ("high sample quality", "mode coverage, diversity", "fast sampling (D passes)",
                              "lectures 04-05"),
}
"""family → (the two corners it sits between, what it gives up, where the course teaches it)."""

_OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9")  # colour-blind-safe; every label is also text


def trilemma_figure(families: dict[str, tuple[str, str, str, str]] | None = None) -> Figure:
    """The triangle of `CORNERS` with each family of `families` (default `FAMILIES`) written on the
    edge between its two corners, on the outside, in the order given. Returns the Figure."""
    families = FAMILIES if families is None else families
    corner_xy = {CORNERS[0]: (0.5, math.sqrt(3) / 2), CORNERS[1]: (0.0, 0.0), CORNERS[2]: (1.0, 0.0)}
    for name, (a, b, *_rest) in families.items():
        for corner in (a, b):
            if corner not in corner_xy:
                raise ValueError(f"{name!r} is placed at {corner!r}; a corner must be one of {CORNERS}")
        if a == b:
            raise ValueError(f"{name!r} must sit between two different corners, got {a!r} twice")
    fig = Figure(figsize=(6.0, 4.6), layout="constrained")
    ax = fig.add_subplot()
    xs, ys = zip(*(corner_xy[c] for c in (*CORNERS, CORNERS[0])))
    ax.plot(xs, ys, color="0.35", lw=1.5)
    centre = (0.5, math.sqrt(3) / 6)
    offsets = {CORNERS[0]: (0, 12), CORNERS[1]: (-6, -16), CORNERS[2]: (6, -16)}
    aligns = {CORNERS[0]: "center", CORNERS[1]: "right", CORNERS[2]: "left"}
    for corner, (x, y) in corner_xy.items():
        ax.plot([x], [y], "o", color="0.2", ms=7)
        ax.annotate(corner, (x, y), xytext=offsets[corner], textcoords="offset points", ha=aligns[corner],
                    va="center", fontsize=10, weight="bold")
    edges: dict[frozenset, list[str]] = {}
    for name, (a, b, *_rest) in families.items():
        edges.setdefault(frozenset((a, b)), []).append(name)
    colours = iter(_OKABE_ITO * 2)
    for edge, names in edges.items():
        (ax_, ay), (bx, by) = (corner_xy[c] for c in sorted(edge, key=CORNERS.index))
        mx, my = (ax_ + bx) / 2, (ay + by) / 2
        out_x, out_y = mx - centre[0], my - centre[1]                  # points away from the centre
        norm = math.hypot(out_x, out_y)
        angle = math.degrees(math.atan2(by - ay, bx - ax_))
        angle = angle - 180 if angle > 90 else angle + 180 if angle < -90 else angle
        for k, name in enumerate(names):
            shift = 0.07 + 0.075 * k
            colour = next(colours)
            ax.text(mx + shift * out_x / norm, my + shift * out_y / norm, name, rotation=angle,
                    rotation_mode="anchor", ha="center", va="center", fontsize=10, color=colour, weight="bold")
    ax.set_xlim(-0.45, 1.45)
    ax.set_ylim(-0.32, 1.05)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("the generative learning trilemma (Xiao, Kreis & Vahdat 2022):\neach family sits between the two "
                 "wishes it usually meets,\nopposite the one it gives up", fontsize=9)
    return fig
