"""Writes data/province_tiles.csv: a tile map of Thailand's 77 provinces, one square each, laid out from the
provincial seats' latitude and longitude in data/provinces.csv (the project's own layout).

How: project the seats onto a plane (longitude scaled by the cosine of the mean latitude; the peninsula south
of 12.5 degrees N squeezed to 0.8 of its height so that the map is less tall), divide by a cell size of
0.7 degrees, then give each province its own grid cell by solving the assignment problem that minimises the
sum of squared distances between seats and cell centres (scipy.optimize.linear_sum_assignment, exact), and
drop empty rows and columns. Abbreviations: the Thai ones are the provinces' customary abbreviations; the
English three-letter ones are the project's own.

    .venv/bin/python data/make_province_tiles.py          # rewrites data/province_tiles.csv
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

HERE = Path(__file__).resolve().parent
CELL_DEGREES = 0.7
PENINSULA_NORTH, PENINSULA_SQUEEZE = 12.5, 0.8
ABBREVIATIONS = {  # code: (Thai, English)
    "TH-10": ("กทม", "BKK"), "TH-11": ("สป", "SPK"), "TH-12": ("นบ", "NBI"), "TH-13": ("ปท", "PTE"),
    "TH-14": ("อย", "AYA"), "TH-15": ("อท", "ATG"), "TH-16": ("ลบ", "LRI"), "TH-17": ("สห", "SBR"),
    "TH-18": ("ชน", "CNT"), "TH-19": ("สบ", "SRI"), "TH-20": ("ชบ", "CBI"), "TH-21": ("รย", "RYG"),
    "TH-22": ("จบ", "CTI"), "TH-23": ("ตร", "TRT"), "TH-24": ("ฉช", "CCO"), "TH-25": ("ปจ", "PRI"),
    "TH-26": ("นย", "NYK"), "TH-27": ("สก", "SKW"), "TH-30": ("นม", "NMA"), "TH-31": ("บร", "BRM"),
    "TH-32": ("สร", "SRN"), "TH-33": ("ศก", "SSK"), "TH-34": ("อบ", "UBN"), "TH-35": ("ยส", "YST"),
    "TH-36": ("ชย", "CPM"), "TH-37": ("อจ", "ACR"), "TH-38": ("บก", "BKN"), "TH-39": ("นภ", "NBP"),
    "TH-40": ("ขก", "KKN"), "TH-41": ("อด", "UDN"), "TH-42": ("ลย", "LEI"), "TH-43": ("นค", "NKI"),
    "TH-44": ("มค", "MKM"), "TH-45": ("รอ", "RET"), "TH-46": ("กส", "KSN"), "TH-47": ("สน", "SNK"),
    "TH-48": ("นพ", "NPM"), "TH-49": ("มห", "MDH"), "TH-50": ("ชม", "CMI"), "TH-51": ("ลพ", "LPN"),
    "TH-52": ("ลป", "LPG"), "TH-53": ("อต", "UTD"), "TH-54": ("พร", "PRE"), "TH-55": ("นน", "NAN"),
    "TH-56": ("พย", "PYO"), "TH-57": ("ชร", "CRI"), "TH-58": ("มส", "MSN"), "TH-60": ("นว", "NSN"),
    "TH-61": ("อน", "UTI"), "TH-62": ("กพ", "KPT"), "TH-63": ("ตก", "TAK"), "TH-64": ("สท", "STI"),
    "TH-65": ("พล", "PLK"), "TH-66": ("พจ", "PCT"), "TH-67": ("พช", "PNB"), "TH-70": ("รบ", "RBR"),
    "TH-71": ("กจ", "KRI"), "TH-72": ("สพ", "SPB"), "TH-73": ("นฐ", "NPT"), "TH-74": ("สค", "SKN"),
    "TH-75": ("สส", "SKM"), "TH-76": ("พบ", "PBI"), "TH-77": ("ปข", "PKN"), "TH-80": ("นศ", "NRT"),
    "TH-81": ("กบ", "KBI"), "TH-82": ("พง", "PNA"), "TH-83": ("ภก", "PKT"), "TH-84": ("สฎ", "SNI"),
    "TH-85": ("รน", "RNG"), "TH-86": ("ชพ", "CPN"), "TH-90": ("สข", "SKA"), "TH-91": ("สต", "STN"),
    "TH-92": ("ตง", "TRG"), "TH-93": ("พท", "PLG"), "TH-94": ("ปน", "PTN"), "TH-95": ("ยล", "YLA"),
    "TH-96": ("นธ", "NWT"),
}


def seat_positions(rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Each seat on the plane, in cells (x to the east, y to the south)."""
    lat = np.array([float(r["lat"]) for r in rows])
    lon = np.array([float(r["lon"]) for r in rows])
    x = (lon - lon.min()) * math.cos(math.radians(lat.mean()))
    y = lat.max() - lat
    south = lat < PENINSULA_NORTH
    y[south] = (lat.max() - PENINSULA_NORTH) + (PENINSULA_NORTH - lat[south]) * PENINSULA_SQUEEZE
    return x / CELL_DEGREES, y / CELL_DEGREES


def assigned_cells(x: np.ndarray, y: np.ndarray) -> list[tuple[int, int]]:
    """One distinct (column, row) per seat, minimising the total squared distance (exact)."""
    cells = [(c, r) for r in range(-1, int(math.ceil(y.max())) + 2) for c in range(-1, int(math.ceil(x.max())) + 2)]
    cx = np.array([c for c, _ in cells], dtype=float)
    cy = np.array([r for _, r in cells], dtype=float)
    cost = (x[:, None] - cx[None, :]) ** 2 + (y[:, None] - cy[None, :]) ** 2
    seats, chosen = linear_sum_assignment(cost)
    out = [None] * len(x)
    for i, j in zip(seats, chosen):
        out[i] = cells[j]
    return out


def compacted(cells: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The same layout without empty rows or columns, starting at (0, 0)."""
    cols = {c: i for i, c in enumerate(sorted({c for c, _ in cells}))}
    rows = {r: i for i, r in enumerate(sorted({r for _, r in cells}))}
    return [(cols[c], rows[r]) for c, r in cells]


def main() -> None:
    with open(HERE / "provinces.csv", encoding="utf-8") as handle:
        provinces = list(csv.DictReader(handle))
    cells = compacted(assigned_cells(*seat_positions(provinces)))
    assert len(set(cells)) == len(provinces) == len(ABBREVIATIONS)
    assert len({a for a, _ in ABBREVIATIONS.values()}) == len({b for _, b in ABBREVIATIONS.values()}) == 77
    with open(HERE / "province_tiles.csv", "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["code", "col", "row", "abbr_th", "abbr_en"])
        for p, (col, row) in zip(provinces, cells):
            out.writerow([p["code"], col, row, *ABBREVIATIONS[p["code"]]])


if __name__ == "__main__":
    main()
