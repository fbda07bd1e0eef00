"""A tile map of Thailand's 77 provinces (one square each, ``data/province_tiles.csv``) as a choropleth of
counts, ready for the ``tile_map`` macro of ``templates/desk/_tilemap.html``.

The view model is plain data: tiles with their position, colours, label and optional link, a legend whose
classes say which counts each colour stands for, and the rows of the table that is the map's text
alternative. Used by the directory (members per province); any page with a count per province can use it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from web.context import get_reference

from . import i18n

TILE, GAP = 40, 3
# (fill, text) per class: no members, then four classes from few to many. Every pair keeps text contrast of
# at least 4.5:1 (checked by tests/test_directory.py).
PALETTE = (("#eef1f4", "#3d4650"), ("#d4e6f4", "#0f2940"), ("#92c0e3", "#0b1f33"), ("#2b6ca8", "#ffffff"),
           ("#0d3f6e", "#ffffff"))
MAX_CLASSES = len(PALETTE) - 1


def count_classes(highest: int) -> list[tuple[int, int]]:
    """The count ranges ``(low, high)`` of the colour classes above zero: up to four of equal width that
    cover 1..highest (none when nothing is counted)."""
    if highest <= 0:
        return []
    width = math.ceil(highest / min(MAX_CLASSES, highest))
    return [(low, min(low + width - 1, highest)) for low in range(1, highest + 1, width)]


def class_of(count: int, classes: list[tuple[int, int]]) -> int:
    """0 for no count, else 1 + the index of the class whose range holds ``count``."""
    if count <= 0:
        return 0
    return 1 + next(i for i, (low, high) in enumerate(classes) if low <= count <= high)


def tile_map(counts: dict[str, int], *, label: Callable[[str, int], str],
             href: Callable[[str], str] | None = None, selected: str | None = None) -> dict:
    """The map's view model. ``label(province name, count)`` is what a tile says to a screen reader (and the
    table's count cell); ``href(code)`` links tiles that have a count (none when omitted)."""
    ref = get_reference()
    tiles = ref.province_tiles()
    classes = count_classes(max(counts.values(), default=0))
    lang = i18n.current_language()
    out = []
    for code, tile in tiles.items():
        n = int(counts.get(code, 0))
        fill, ink = PALETTE[class_of(n, classes)]
        name = i18n.localized(ref.province_by_code[code])
        out.append({"code": code, "x": tile["col"] * (TILE + GAP), "y": tile["row"] * (TILE + GAP),
                    "abbr": tile[f"abbr_{lang}"], "name": name, "count": n, "fill": fill, "ink": ink,
                    "label": label(name, n), "href": href(code) if href and n > 0 else None,
                    "selected": code == selected})
    columns = 1 + max(t["col"] for t in tiles.values())
    rows = 1 + max(t["row"] for t in tiles.values())
    legend = [{"fill": PALETTE[0][0], "ink": PALETTE[0][1], "text": "0"}] + [
        {"fill": PALETTE[i + 1][0], "ink": PALETTE[i + 1][1], "text": f"{low}" if low == high else f"{low}-{high}"}
        for i, (low, high) in enumerate(classes)]
    table = sorted((t for t in out if t["count"] > 0), key=lambda t: (-t["count"], i18n.thai_sort_key(t["name"])))
    return {"tiles": out, "width": columns * (TILE + GAP) - GAP, "height": rows * (TILE + GAP) - GAP,
            "tile": TILE, "legend": legend, "table": table, "total": sum(t["count"] for t in out),
            "provinces_with": len(table)}
