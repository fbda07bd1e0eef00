"""The in-memory view of the network the engine works on, rebuilt when the store's data_version changes.

Rows come from the store once; everything the hot path needs is held as numpy arrays indexed by member
(``M``), category (``C``) and province (``P``), plus the collaboration graph (networkx).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

import networkx as nx
import numpy as np

from graphs.network import collaboration_graph
from matcher.clock import now
from matcher.config import SearchConfig
from matcher.geo import distance_matrix
from matcher.reference import Reference
from matcher.engine.record import member_record
from matcher.store import VERSION_SCOPES, data_versions, directory, history


@dataclass
class Snapshot:
    version: int
    ref: Reference
    members: list[dict]
    categories: list[str]
    province_codes: list[str]
    offers: np.ndarray          # (M, C) bool: member offers category
    specialisation: np.ndarray  # (M, C) float in [0, 1] (0 where not offered)
    capacity: np.ndarray        # (M, C) monthly capacity per category
    load: np.ndarray            # (M,) open legs now
    month_load: np.ndarray      # (M,) legs received this calendar month (Bangkok time)
    member_province: np.ndarray  # (M,) province index
    province_distance: np.ndarray  # (P, P) km between seats
    finished: np.ndarray        # (M, C) finished legs in history
    completed: np.ndarray       # (M, C) completed legs in history
    value_baht: np.ndarray      # (M, C) value created in history
    collaboration: nx.Graph     # member ids; edge attrs joint, completed
    dataset: dict = field(default_factory=dict)
    clusters: dict = field(default_factory=dict)  # cluster id -> row (sector, province, cda_member_id)
    scorer: object = None       # matcher.engine.scoring.LinearScorer: the learned model stored, or hand-set weights
    versions: dict = field(default_factory=dict)  # the store's data versions this snapshot reflects
    search: SearchConfig = field(default_factory=SearchConfig)  # the candidate pool's sizes
    record_excess: np.ndarray | None = None  # (M,) finished legs' outcomes minus their reference chances
    record_information: np.ndarray | None = None  # (M,) sum of reference * (1 - reference) over them

    def __post_init__(self):
        self.derived: dict = {}  # engine caches keyed by name (scorer logits, sector fit, coordination)
        self.member_index = {m["id"]: i for i, m in enumerate(self.members)}
        self.category_index = {c: i for i, c in enumerate(self.categories)}
        self.province_index = {p: i for i, p in enumerate(self.province_codes)}
        self.capacity_total = self.capacity.sum(axis=1)
        self.is_agency = np.array([m["type"] == "agency" for m in self.members], dtype=bool)
        hubs = [self.ref.province_by_code[p]["hub_code"] for p in self.province_codes]
        regions = [self.ref.province_by_code[p]["region"] for p in self.province_codes]
        self.province_hub = np.array([self.province_index[h] for h in hubs])
        self.province_region = np.array(regions)
        if self.record_excess is None:
            self.record_excess = np.zeros(len(self.members))
        if self.record_information is None:
            self.record_information = np.zeros(len(self.members))

    @property
    def number_of_members(self) -> int:
        return len(self.members)

    def distance_km(self, province_code: str) -> np.ndarray:
        """(M,) km from the given province's seat to each member's province seat."""
        return self.province_distance[self.province_index[province_code], self.member_province]

    def coordination(self):
        """Coordination distances between members (``matcher.engine.coordination.Coordination``), built on first use
        and carried over to the next snapshot while the collaboration graph is unchanged."""
        coord = self.derived.get("coordination")
        if coord is None:
            from matcher.engine.coordination import Coordination
            coord = self.derived["coordination"] = Coordination(self.collaboration, [m["id"] for m in self.members],
                                                                far=self.search.far)
        return coord

    def capacity_left(self) -> np.ndarray:
        """(M,) monthly capacity (all categories) minus open legs; never below zero."""
        return np.maximum(self.capacity_total - self.load, 0)

    def with_loads(self, load: np.ndarray, month_load: np.ndarray, **changes) -> Snapshot:
        """A snapshot with other loads (and any other ``changes``), keeping the caches that do not depend on
        load or history (the coordination distances, the prerequisites, sector fit)."""
        return _carry(self, replace(self, load=load, month_load=month_load, **changes), LOAD_FREE)


def month_start() -> str:
    """The first day of the current month in Bangkok, as the ISO date every stamp of the month starts with."""
    return now().strftime("%Y-%m-01")


def _loads(db, member_index: dict, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(open legs, legs received this month) per member."""
    load, month = np.zeros(count), np.zeros(count)
    for target, rows in ((load, history.open_load(db)), (month, history.month_load(db, month_start()))):
        for member_id, n in rows.items():
            i = member_index.get(member_id)
            if i is not None:
                target[i] = n
    return load, month


def build_snapshot(db, ref: Reference, previous: Snapshot | None = None,
                   search: SearchConfig | None = None) -> Snapshot:
    """Read the store once and build the arrays and the collaboration graph (reusing ``previous``'s
    coordination distances when the collaborations did not change). ``search`` sizes the candidate pool
    (default: ``previous``'s, else the defaults)."""
    from matcher.engine.scoring import MODEL_NAME, scorer_from_model
    from matcher.store import models
    versions = data_versions(db)
    members = directory.all_members(db)
    categories = list(ref.category_codes)
    provinces = ref.provinces
    m_index = {m["id"]: i for i, m in enumerate(members)}
    c_index = {c: i for i, c in enumerate(categories)}
    p_index = {p["code"]: i for i, p in enumerate(provinces)}
    shape = (len(members), len(categories))
    offers, spec, cap = np.zeros(shape, bool), np.zeros(shape), np.zeros(shape)
    for m in members:
        for o in m["offerings"]:
            i, j = m_index[m["id"]], c_index[o["category"]]
            offers[i, j], spec[i, j], cap[i, j] = True, o["specialisation"], o["capacity_month"]
    finished, completed, value = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for row in history.member_category_stats(db):
        i, j = m_index.get(row["member_id"]), c_index.get(row["category"])
        if i is not None and j is not None:
            finished[i, j], completed[i, j], value[i, j] = row["finished"], row["completed"], row["value_baht"]
    load, month_load = _loads(db, m_index, len(members))
    lean = [{k: m[k] for k in ("id", "type", "name_th", "name_en", "province", "kind", "sectors")}
            for m in members]
    for m in lean:
        m["sectors"] = set(m["sectors"])
    collaborations = history.collaborations(db)
    snapshot = Snapshot(
        version=versions["data"], versions=versions, ref=ref, members=lean, categories=categories,
        province_codes=[p["code"] for p in provinces], offers=offers, specialisation=spec, capacity=cap,
        load=load, month_load=month_load,
        member_province=np.array([p_index[m["province"]] for m in members], dtype=int),
        province_distance=distance_matrix(provinces), finished=finished, completed=completed,
        value_baht=value, collaboration=collaboration_graph([m["id"] for m in members], collaborations),
        dataset=directory.dataset_info(db), clusters={c["id"]: c for c in directory.clusters(db)},
        scorer=scorer_from_model(models.latest_model(db, MODEL_NAME)),
        search=search or (previous.search if previous is not None else SearchConfig()))
    key = (tuple(m["id"] for m in lean), tuple((r["u"], r["v"], r["joint"]) for r in collaborations))
    snapshot.record_excess, snapshot.record_information = member_record(snapshot, history.worked_legs(db))
    snapshot.derived["collaboration_key"] = hash(key)
    if (previous is not None and previous.derived.get("collaboration_key") == snapshot.derived["collaboration_key"]
            and "coordination" in previous.derived):
        snapshot.derived["coordination"] = previous.derived["coordination"]
    return snapshot


# Derived caches that stay valid while only the history (load, outcomes) changes.
HISTORY_FREE = ("coordination", "collaboration_key", "prerequisites")
# ... and those that stay valid while only the load changes (the scorer's need terms read the history only).
LOAD_FREE = HISTORY_FREE + ("scorer_need",)


def _carry(previous: Snapshot, snapshot: Snapshot, keep) -> Snapshot:
    for key, value in previous.derived.items():
        if key in keep or (isinstance(key, tuple) and key[0] in keep + ("sector_fit",)):
            snapshot.derived[key] = value
    return snapshot


def refresh_load(db, previous: Snapshot, versions: dict) -> Snapshot:
    """A new snapshot with only the load re-read (legs opened or moved between open states)."""
    load, month_load = _loads(db, previous.member_index, previous.number_of_members)
    return previous.with_loads(load, month_load, version=versions["data"], versions=versions)


def refresh_outcomes(db, previous: Snapshot, versions: dict) -> Snapshot:
    """A new snapshot with load, member statistics and the collaboration graph re-read (a leg finished)."""
    shape = previous.offers.shape
    finished, completed, value = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for row in history.member_category_stats(db):
        i, j = previous.member_index.get(row["member_id"]), previous.category_index.get(row["category"])
        if i is not None and j is not None:
            finished[i, j], completed[i, j], value[i, j] = row["finished"], row["completed"], row["value_baht"]
    collaborations = history.collaborations(db)
    key = hash((tuple(m["id"] for m in previous.members),
                tuple((r["u"], r["v"], r["joint"]) for r in collaborations)))
    same_graph = key == previous.derived.get("collaboration_key")
    graph = previous.collaboration if same_graph else collaboration_graph([m["id"] for m in previous.members],
                                                                          collaborations)
    loaded = refresh_load(db, previous, versions)
    snapshot = replace(loaded, finished=finished, completed=completed, value_baht=value, collaboration=graph)
    snapshot.record_excess, snapshot.record_information = member_record(snapshot, history.worked_legs(db))
    snapshot.derived["collaboration_key"] = key
    return _carry(previous, snapshot, HISTORY_FREE if same_graph else ("prerequisites",))


class SnapshotCache:
    """Holds the current snapshot and keeps it in step with the store at the cost of one read per request.

    When the store's versions moved, only what changed is re-read: the open-leg load, then member
    statistics and collaborations when a leg finished; a directory or model change rebuilds everything.
    """

    def __init__(self, ref: Reference, search: SearchConfig | None = None):
        self.ref = ref
        self.search = search or SearchConfig()
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def get(self, db) -> Snapshot:
        versions = data_versions(db)
        snap = self._snapshot
        if snap is not None and snap.versions == versions:
            return snap
        with self._lock:
            snap = self._snapshot
            if snap is None or snap.versions != versions:
                self._snapshot = self._refreshed(db, snap, versions)
            return self._snapshot

    def _refreshed(self, db, snap: Snapshot | None, versions: dict) -> Snapshot:
        changed = set() if snap is None else {s for s in VERSION_SCOPES if versions[s] != snap.versions.get(s)}
        if snap is None or not changed or "directory" in changed:  # unknown changes rebuild everything
            return build_snapshot(db, self.ref, previous=snap, search=self.search)
        if "outcomes" in changed:
            return refresh_outcomes(db, snap, versions)
        return refresh_load(db, snap, versions)
