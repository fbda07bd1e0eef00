"""A snapshot kept in a folder, so that a start does not re-read the whole history: one ``.npy`` per array
(memory-mapped when loaded, so every worker that loads the same folder shares its pages) and what is not an
array in ``meta.json``. No pickles: nothing in the folder is executed.

``save(snapshot, path)`` writes it (to a temporary file, then renamed); ``read(db, ref, path)`` returns its
fields, which ``snapshot.SnapshotCache`` brings up to date with the leg changes journaled since it was saved
(``matcher.engine.increments``); None sends the caller to build from the tables.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from matcher.engine.coordination import Pairs
from matcher.engine.record import WorkedTerms
from matcher.store import data_versions, history

FORMAT = 1
ARRAYS = ("offers", "specialisation", "capacity", "load", "month_load", "member_province", "province_distance",
          "finished", "completed", "value_baht", "record_excess", "record_information")


def save(snapshot, path) -> Path:
    """Write ``snapshot`` into the folder ``path`` (one ``.npy`` per array and ``meta.json``), replacing it whole."""
    path = Path(path)
    arrays = {name: np.asarray(getattr(snapshot, name)) for name in ARRAYS}
    for name in ("member", "terms", "done"):
        arrays[f"worked_{name}"] = getattr(snapshot.worked, name)
    for name, m in zip(snapshot.collaboration._fields, snapshot.collaboration):
        arrays[f"pairs_{name}_data"], arrays[f"pairs_{name}_indices"] = m.data, m.indices
        arrays[f"pairs_{name}_indptr"] = m.indptr
    members = [{**m, "sectors": sorted(m["sectors"])} for m in snapshot.members]
    meta = {"format": FORMAT, "versions": snapshot.versions, "position": snapshot.position, "month": snapshot.month,
            "members": members, "categories": snapshot.categories, "province_codes": snapshot.province_codes,
            "dataset": snapshot.dataset, "clusters": list(snapshot.clusters.values()),
            "scorer": _scorer_stamp(snapshot.scorer)}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, a in arrays.items():
        np.save(tmp / f"{name}.npy", np.ascontiguousarray(a), allow_pickle=False)
    (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    old = path.with_name(f".{path.name}.{os.getpid()}.old")
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)
    return path


def _scorer_stamp(scorer) -> list:
    return [getattr(scorer, "kind", None), getattr(scorer, "version", None)]


def read(db, ref, path) -> dict | None:
    """The stored snapshot's fields (for ``Snapshot``), or None when the file is missing, unreadable, or of
    another directory version, reference data or scorer, or when the journal no longer reaches back to it.
    Call inside one read transaction; the caller brings it up to date with the changes since."""
    from matcher.engine.scoring import MODEL_NAME, scorer_from_model
    from matcher.store import models
    path = Path(path)
    if not path.exists():
        return None
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        npz = {f.stem: np.asarray(np.load(f, mmap_mode="r", allow_pickle=False)) for f in path.glob("*.npy")}
    except (OSError, ValueError):
        return None
    if not {*ARRAYS, "worked_member", "pairs_joint_data"} <= set(npz):
        return None
    versions = data_versions(db)
    scorer = scorer_from_model(models.latest_model(db, MODEL_NAME))
    if (meta.get("format") != FORMAT or meta["versions"].get("directory") != versions["directory"]
            or meta["categories"] != list(ref.category_codes)
            or meta["province_codes"] != [p["code"] for p in ref.provinces]
            or meta["scorer"] != _scorer_stamp(scorer) or history.change_position(db) < meta["position"]):
        return None
    M = len(meta["members"])
    pairs = Pairs(*(sp.csr_matrix((np.array(npz[f"pairs_{n}_data"]), np.array(npz[f"pairs_{n}_indices"]),
                                   np.array(npz[f"pairs_{n}_indptr"])), shape=(M, M)) for n in Pairs._fields))
    return {"version": meta["versions"]["data"], "versions": meta["versions"], "ref": ref,
            "members": [{**m, "sectors": set(m["sectors"])} for m in meta["members"]],
            "categories": meta["categories"], "province_codes": meta["province_codes"], "collaboration": pairs,
            "dataset": meta["dataset"], "clusters": {c["id"]: c for c in meta["clusters"]}, "scorer": scorer,
            "worked": WorkedTerms(npz["worked_member"], npz["worked_terms"], npz["worked_done"]),
            "position": meta["position"], "month": meta["month"], **{name: npz[name] for name in ARRAYS}}
