"""Reference data from ``data/*.csv``: service categories, provinces, kinds of agency and sectors.

Provinces are accepted everywhere by ISO 3166-2:TH code (``TH-50``), English name (``Chiang Mai``,
case, spaces and hyphens ignored) or Thai name (``เชียงใหม่``, with or without ``จังหวัด``/``จ.``).
Unknown values raise :class:`matcher.errors.Unprocessable` with close suggestions, never a guess.
"""

from __future__ import annotations

import csv
import difflib
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from matcher.errors import DataError, Unprocessable
from matcher.hygiene import thai_normalised

# Everyday names that are not the official English or Thai name.
PROVINCE_ALIASES = {
    "bkk": "TH-10", "krungthep": "TH-10", "กทม": "TH-10", "กรุงเทพ": "TH-10", "กรุงเทพฯ": "TH-10",
    "ayutthaya": "TH-14", "อยุธยา": "TH-14", "korat": "TH-30", "โคราช": "TH-30",
}


def read_csv(path: Path) -> list[dict]:
    """Rows of a UTF-8 CSV file as dicts (a BOM is tolerated)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _key(text: str) -> str:
    text = thai_normalised(str(text)).strip().lower()
    text = re.sub(r"^(จังหวัด|จ\.)\s*", "", text)
    text = re.sub(r"\s+province$", "", text)
    return re.sub(r"[\s\-_.'’]+", "", text)


@dataclass
class Reference:
    """The reference tables, loaded once and shared read-only."""

    categories: list[dict]
    provinces: list[dict]
    agency_kinds: list[dict]
    sectors: list[dict] = field(default_factory=list)
    data_dir: Path | None = None  # the folder the tables were read from (the DATA_DIR setting)
    holidays: frozenset = frozenset()  # ``MM-DD`` (every year) and ``YYYY-MM-DD`` public holidays
    services: dict = field(default_factory=dict)  # category -> {"expected_days", "bring_en", "bring_th"}
    _province_keys: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        for row in self.provinces:
            for value in (row["code"], row["name_en"], row["name_th"]):
                self._province_keys[_key(value)] = row["code"]
        for alias, code in PROVINCE_ALIASES.items():
            self._province_keys.setdefault(_key(alias), code)
        self.category_codes = [c["code"] for c in self.categories]
        self.category_by_code = {c["code"]: c for c in self.categories}
        self.province_by_code = {p["code"]: p for p in self.provinces}
        self.kind_by_code = {k["code"]: k for k in self.agency_kinds}
        self.sector_by_code = {s["code"]: s for s in self.sectors}
        self.sector_codes = [s["code"] for s in self.sectors]
        self.expected_days = {code: row["expected_days"] for code, row in self.services.items()}

    def resolve_province(self, value, field: str = "province") -> str:
        """The ISO code of a province given by code, English or Thai name."""
        if value is None or str(value).strip() == "":
            raise Unprocessable(f"Missing {field}; give a province code (TH-50), English or Thai name.",
                                field=field)
        code = self._province_keys.get(_key(value))
        if code:
            return code
        close = difflib.get_close_matches(_key(value), list(self._province_keys), n=3, cutoff=0.6)
        names = sorted({self.province_label(self._province_keys[c]) for c in close})
        hint = f" Did you mean: {', '.join(names)}?" if names else ""
        raise Unprocessable(
            f"Unknown province {value!r}.{hint} Give an ISO 3166-2:TH code (e.g. TH-50), an English name "
            f"(e.g. Chiang Mai) or a Thai name (e.g. เชียงใหม่); GET /api/v1/provinces lists all 77.",
            field=field, allowed=[self.province_label(c) for c in
                                  ([self._province_keys[c] for c in close] or [])] or None)

    def province_label(self, code: str) -> str:
        row = self.province_by_code[code]
        return f"{row['code']} {row['name_en']} ({row['name_th']})"

    def check_categories(self, codes, field: str = "needs") -> list[str]:
        """The codes, in order and without repeats, or an error naming the first unknown one."""
        if isinstance(codes, str) or not isinstance(codes, (list, tuple)):
            raise Unprocessable(f"{field} must be a list of category codes, e.g. [\"gmp_haccp\", \"loan\"].",
                                field=field, allowed=self.category_codes)
        seen = []
        for code in codes:
            if code not in self.category_by_code:
                close = difflib.get_close_matches(str(code), self.category_codes, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise Unprocessable(f"Unknown service category {code!r}.{hint} Expected one of: "
                                    f"{', '.join(self.category_codes)}.", field=field,
                                    allowed=self.category_codes)
            if code not in seen:
                seen.append(code)
        return seen


    def province_tiles(self) -> dict[str, dict]:
        """The tile map of the 77 provinces (``data/province_tiles.csv``): code -> ``{"col", "row", "abbr_th",
        "abbr_en"}``, read once."""
        if "tiles" not in self.__dict__:
            self.__dict__["tiles"] = _tiles(self.data_dir, set(self.province_by_code))
        return self.__dict__["tiles"]


def _tiles(data_dir: Path | None, codes: set[str]) -> dict[str, dict]:
    path = Path(data_dir or ".") / "province_tiles.csv"
    try:
        rows = read_csv(path)
    except OSError as error:
        raise DataError(f"The province tile map {path} cannot be read ({error}); it ships in data/.") from None
    tiles = {r["code"]: {"col": int(r["col"]), "row": int(r["row"]), "abbr_th": r["abbr_th"],
                         "abbr_en": r["abbr_en"]} for r in rows}
    if set(tiles) != codes or len({(t["col"], t["row"]) for t in tiles.values()}) != len(tiles):
        raise DataError(f"{path} must place each of the {len(codes)} provinces on its own tile; regenerate it "
                        f"with data/make_province_tiles.py.")
    return tiles


def _province_row(row: dict) -> dict:
    out = dict(row)
    out["lat"], out["lon"] = float(row["lat"]), float(row["lon"])
    out["is_hub"] = row["is_hub"] in ("1", "true", "True")
    out["distance_to_hub_km"] = float(row["distance_to_hub_km"])
    return out


def _kind_row(row: dict) -> dict:
    out = dict(row)
    out["categories"] = row["categories"].split()
    return out


def load_reference(data_dir) -> Reference:
    """Load (once per directory) the reference tables from ``data_dir`` (the ``DATA_DIR`` setting)."""
    return _load_reference(str(Path(data_dir).resolve()))


@functools.lru_cache(maxsize=4)
def _load_reference(data_dir: str) -> Reference:
    base = Path(data_dir)
    return Reference(
        data_dir=base,
        categories=read_csv(base / "taxonomy.csv"),
        provinces=[_province_row(r) for r in read_csv(base / "provinces.csv")],
        agency_kinds=[_kind_row(r) for r in read_csv(base / "agency_kinds.csv")],
        sectors=read_csv(base / "sectors.csv"),
        holidays=frozenset(r["date"] for r in _optional_csv(base / "holidays.csv")),
        services={r["category"]: dict(r, expected_days=int(r["expected_days"]))
                  for r in _optional_csv(base / "service_durations.csv")},
    )


def _optional_csv(path: Path) -> list[dict]:
    """The rows of a table a data folder may leave out (holidays, service durations): none when absent."""
    return read_csv(path) if path.exists() else []
