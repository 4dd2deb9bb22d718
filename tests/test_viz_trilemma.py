"""The trilemma picture of lecture 00 (coursekit/viz/trilemma.py): every family is written on the edge
between its two corners, outside the triangle, and a misplaced family is refused."""
import math

import pytest

from coursekit.viz.trilemma import CORNERS, FAMILIES, trilemma_figure


def _texts(fig):
    return {t.get_text(): t.get_position() for t in fig.axes[0].texts}


def test_each_family_sits_outside_the_edge_between_its_two_corners():
    fig = trilemma_figure()
    positions = _texts(fig)
    corners = {CORNERS[0]: (0.5, math.sqrt(3) / 2), CORNERS[1]: (0.0, 0.0), CORNERS[2]: (1.0, 0.0)}
    centre = (0.5, math.sqrt(3) / 6)
    for name, (a, b, _gives_up, _where) in FAMILIES.items():
        (ax, ay), (bx, by), (px, py) = corners[a], corners[b], positions[name]
        mid = ((ax + bx) / 2, (ay + by) / 2)
        # nearer the middle of its own edge than of either other edge
        others = [((corners[c][0] + corners[d][0]) / 2, (corners[c][1] + corners[d][1]) / 2)
                  for c, d in ((CORNERS[0], CORNERS[1]), (CORNERS[1], CORNERS[2]), (CORNERS[0], CORNERS[2]))
                  if {c, d} != {a, b}]
        distance = math.dist((px, py), mid)
        assert all(distance < math.dist((px, py), o) for o in others), name
        assert math.dist((px, py), centre) > math.dist(mid, centre), f"{name} is drawn inside the triangle"
    assert set(CORNERS) <= set(positions)


def test_a_family_at_an_unknown_corner_is_refused():
    with pytest.raises(ValueError, match="a corner must be one of"):
        trilemma_figure({"mystery": ("speed", "fast sampling", "?", "?")})
    with pytest.raises(ValueError, match="two different corners"):
        trilemma_figure({"mystery": ("fast sampling", "fast sampling", "?", "?")})
