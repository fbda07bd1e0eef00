"""The in-memory view of the network the engine works on: immutable, built once, then brought up to date by
the changes since it was built.

Rows come from the store once; everything the hot path needs is held as numpy arrays indexed by member
(``M``), category (``C``) and province (``P``), plus the joint-referral counts between members (sparse).
A snapshot never changes: a refresh makes a new one that shares what stayed the same, and carries the
derived values (``matcher.engine.derived``) whose declared dependencies did not change.
"""

from __future__ import annotations

import threading
from pathlib import Path
from dataclasses import dataclass, field, fields, replace

import networkx as nx
import numpy as np

from matcher.clock import now
from matcher.config import SearchConfig
from matcher.geo import distance_matrix
from matcher.reference import Reference
from matcher.engine import increments, stored
from matcher.engine.coordination import COORDINATION, Coordination, Pairs, graph_pairs, pair_counts
from matcher.engine.derived import Derived, declare
from matcher.engine.record import WorkedTerms, record_of, worked_terms
from matcher.store import VERSION_SCOPES, data_versions, directory, history

CAPACITY_LEFT = declare("capacity_left", "load")


class Lookups:
    """What follows from the directory alone: indices by id and code, capacity totals, agency flags, hubs."""

    def __init__(self, ref: Reference, members: list[dict], categories: list[str], province_codes: list[str],
                 capacity: np.ndarray):
        self.member_index = {m["id"]: i for i, m in enumerate(members)}
        self.category_index = {c: i for i, c in enumerate(categories)}
        self.province_index = {p: i for i, p in enumerate(province_codes)}
        self.capacity_total = frozen(capacity.sum(axis=1))
        # Per category, the members that offer it with a capacity (sorted): who can serve a need.
        self.servers = [frozen(np.flatnonzero(capacity[:, j] > 0)) for j in range(len(categories))]
        self.is_agency = frozen(np.array([m["type"] == "agency" for m in members], dtype=bool))
        hubs = [ref.province_by_code[p]["hub_code"] for p in province_codes]
        self.province_hub = frozen(np.array([self.province_index[h] for h in hubs]))
        self.province_region = frozen(np.array([ref.province_by_code[p]["region"] for p in province_codes]))


def frozen(a: np.ndarray) -> np.ndarray:
    """``a`` made read-only (a snapshot's arrays are shared between requests and snapshots)."""
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
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
    collaboration: Pairs        # joint referrals between members (a networkx graph is turned into Pairs)
    dataset: dict = field(default_factory=dict)
    clusters: dict = field(default_factory=dict)  # cluster id -> row (sector, province, cda_member_id)
    scorer: object = None       # matcher.engine.scoring.LegScorer: the learned model stored, or hand-set weights
    versions: dict = field(default_factory=dict)  # the store's data versions this snapshot reflects
    search: SearchConfig = field(default_factory=SearchConfig)  # the candidate pool's sizes
    record_excess: np.ndarray | None = None  # (M,) finished legs' outcomes minus their reference chances
    record_information: np.ndarray | None = None  # (M,) sum of reference * (1 - reference) over them
    worked: WorkedTerms | None = None  # the legs the record is computed from (kept to add new ones)
    position: int = 0           # the last journaled leg change this snapshot reflects
    month: str = ""             # the month month_load counts (ISO date of its first day)
    lookups: Lookups | None = None
    derived: Derived = field(default_factory=Derived, compare=False)

    def __post_init__(self):
        if self.lookups is None:
            object.__setattr__(self, "lookups", Lookups(self.ref, self.members, self.categories,
                                                        self.province_codes, self.capacity))
        if isinstance(self.collaboration, nx.Graph):
            object.__setattr__(self, "collaboration", Pairs(*graph_pairs(self.collaboration, self.member_index)))
        for name in ("record_excess", "record_information"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.zeros(len(self.members)))
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray) and value.flags.writeable:
                frozen(value)

    def __getattr__(self, name):  # the directory lookups, as attributes of the snapshot
        if name.startswith("__") or name in ("lookups",):
            raise AttributeError(name)
        return getattr(self.lookups, name)

    @property
    def number_of_members(self) -> int:
        return len(self.members)

    def distance_km(self, province_code: str) -> np.ndarray:
        """(M,) km from the given province's seat to each member's province seat."""
        return self.province_distance[self.province_index[province_code], self.member_province]

    def coordination(self) -> Coordination:
        """Coordination distances between members, built on first use; a refresh carries them over (updated
        for the pairs that changed)."""
        return self.derived.get(COORDINATION, lambda: Coordination(self.collaboration.joint, far=self.search.far))

    def capacity_left(self) -> np.ndarray:
        """(M,) monthly capacity (all categories) minus open legs; never below zero (cached)."""
        return self.derived.get(CAPACITY_LEFT, lambda: frozen(np.maximum(self.capacity_total - self.load, 0)))

    def with_loads(self, load: np.ndarray, month_load: np.ndarray, **changes) -> Snapshot:
        """A snapshot with other loads (and any other ``changes``), keeping the derived values that do not
        depend on load."""
        return replace(self, load=load, month_load=month_load, derived=self.derived.carried({"load"}), **changes)

    def changed(self, changed: set, replaced: dict | None = None, **values) -> Snapshot:
        """A new snapshot with ``values`` changed (``changed`` names the data they are), carrying the derived
        values that stay valid."""
        return replace(self, derived=self.derived.carried(changed, replaced), **values)


def month_start() -> str:
    """The first day of the current month in Bangkok, as the ISO date every stamp of the month starts with."""
    return now().strftime("%Y-%m-01")


def _loads(db, member_index: dict, count: int, month: str) -> tuple[np.ndarray, np.ndarray]:
    """(open legs, legs received this month) per member."""
    load, month_load = np.zeros(count), np.zeros(count)
    for target, rows in ((load, history.open_load(db)), (month_load, history.month_load(db, month))):
        for member_id, n in rows.items():
            i = member_index.get(member_id)
            if i is not None:
                target[i] = n
    return load, month_load


class read_snapshot:
    """``with read_snapshot(db):`` reads in one transaction (a consistent view under WAL), unless the
    connection is already inside one."""

    def __init__(self, db):
        self.conn = db.conn

    def __enter__(self):
        self.own = not self.conn.in_transaction
        if self.own:
            self.conn.execute("BEGIN")
        return self

    def __exit__(self, *exc):
        if self.own and self.conn.in_transaction:
            self.conn.execute("COMMIT")
        return False


def build_snapshot(db, ref: Reference, previous: Snapshot | None = None,
                   search: SearchConfig | None = None) -> Snapshot:
    """Read the store once (one consistent read) and build the arrays and the pair counts, reusing
    ``previous``'s coordination distances when the members and their pairs did not change. ``search`` sizes
    the candidate pool (default: ``previous``'s, else the defaults). Start-up, directory changes, restores."""
    with read_snapshot(db):
        return _build(db, ref, previous, search)


def _build(db, ref, previous, search) -> Snapshot:
    from matcher.engine.scoring import MODEL_NAME, scorer_from_model
    from matcher.store import models
    versions, position, month = data_versions(db), history.change_position(db), month_start()
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
    load, month_load = _loads(db, m_index, len(members), month)
    lean = [{k: m[k] for k in ("id", "type", "name_th", "name_en", "province", "kind", "sectors")}
            for m in members]
    for m in lean:
        m["sectors"] = set(m["sectors"])
    rows = [(m_index[r["u"]], m_index[r["v"]], r["joint"], r["completed"] or 0)
            for r in history.collaborations(db) if r["u"] in m_index and r["v"] in m_index]
    u, v, joint, done = zip(*rows) if rows else ((), (), (), ())
    pairs = Pairs(*pair_counts(len(members), u, v, joint, done))
    province_codes = [p["code"] for p in provinces]
    lookups = Lookups(ref, lean, categories, province_codes, cap)
    snapshot = Snapshot(
        version=versions["data"], versions=versions, ref=ref, members=lean, categories=categories,
        province_codes=province_codes, offers=offers, specialisation=spec, capacity=cap,
        load=load, month_load=month_load,
        member_province=np.array([p_index[m["province"]] for m in members], dtype=int),
        province_distance=distance_matrix(provinces), finished=finished, completed=completed,
        value_baht=value, collaboration=pairs, lookups=lookups,
        dataset=directory.dataset_info(db), clusters={c["id"]: c for c in directory.clusters(db)},
        scorer=scorer_from_model(models.latest_model(db, MODEL_NAME)),
        search=search or (previous.search if previous is not None else SearchConfig()),
        position=position, month=month)
    worked = worked_terms(snapshot, history.worked_legs(db))
    excess, information = record_of(worked, len(lean))
    carried = {}
    if previous is not None and _same_members_and_pairs(previous, snapshot):
        coordination = previous.derived.peek(COORDINATION)
        if coordination is not None:
            carried[COORDINATION] = coordination
    return snapshot.changed(set(), carried, worked=worked, record_excess=excess, record_information=information)


def _same_members_and_pairs(a: Snapshot, b: Snapshot) -> bool:
    if [m["id"] for m in a.members] != [m["id"] for m in b.members] or a.search.far != b.search.far:
        return False
    x, y = a.collaboration.joint, b.collaboration.joint
    return x.shape == y.shape and (x != y).nnz == 0


class SnapshotCache:
    """Holds the current snapshot and keeps it in step with the store at the cost of one read per request.

    When the store's versions moved, the changes journaled since the snapshot (``matcher.engine.increments``)
    are applied to a new snapshot: load, member statistics, records and joint referrals move by what changed,
    never by re-reading the history. A directory or model change, a restore, or a journal that no longer
    reaches back rebuilds everything.
    """

    def __init__(self, ref: Reference, search: SearchConfig | None = None, stored: Path | None = None):
        self.ref = ref
        self.search = search or SearchConfig()
        self.stored = stored  # a file the first snapshot is read from (and written to after a build), or None
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def current(self) -> Snapshot | None:
        """The snapshot held now (None before the first request built one); never reads the store."""
        return self._snapshot

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
        if snap is None:
            return self._first(db)
        changed = {s for s in VERSION_SCOPES if versions[s] != snap.versions.get(s)}
        if not changed or "directory" in changed:  # unknown changes rebuild everything
            return build_snapshot(db, self.ref, previous=snap, search=self.search)
        with read_snapshot(db):
            updated = increments.brought_up_to_date(db, snap, month_start())
        return updated if updated is not None else build_snapshot(db, self.ref, previous=snap, search=self.search)

    def _first(self, db) -> Snapshot:
        """The first snapshot: from the stored file brought up to date when it can be, else built from the
        tables (and then stored for the next start)."""
        if self.stored is not None:
            with read_snapshot(db):
                fields_ = stored.read(db, self.ref, self.stored)
                if fields_ is not None:
                    snap = increments.brought_up_to_date(db, Snapshot(search=self.search, **fields_), month_start())
                    if snap is not None:
                        return snap
        snap = build_snapshot(db, self.ref, search=self.search)
        if self.stored is not None:
            try:
                stored.save(snap, self.stored)
            except OSError:  # a read-only folder: start from the tables next time too
                pass
        return snap
