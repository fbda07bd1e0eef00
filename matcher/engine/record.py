"""A member's record measured against what was expected of it: for every leg it accepted and finished, the
outcome minus a reference chance computed from the directory alone around the network's own completion rate
(``features.reference_chance``), so that a member who took hard legs (far away, outside its speciality) is
not mistaken for a weak one. Declined legs
do not count: a decline says nothing of how the member works (load and distance, which drive declines, are
features of their own). The engine reads the sums per member (the snapshot); training reads them as they
stood when each leg was sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from matcher.engine import features as F

try:  # one compiled pass over the legs; numpy when numba is absent
    from matcher.engine.kernel import record_sums
except ImportError:  # pragma: no cover - numba is in requirements.txt
    record_sums = None

FINAL = ("completed", "closed_unresolved", "declined")
WORKED = ("completed", "closed_unresolved")  # finished legs the member accepted and worked on


def usable(snapshot, legs: list[dict]) -> tuple[list[dict], list[list[int]]]:
    """Legs of known members and provinces with at least one known need, and their needs' category indices."""
    out, needs = [], []
    members, provinces, categories = snapshot.member_index, snapshot.province_index, snapshot.category_index
    for g in legs:
        if g["member_id"] not in members or g.get("case_province") not in provinces:
            continue
        raw = json.loads(g["needs"]) if isinstance(g["needs"], str) else g["needs"]
        known = [categories[n] for n in dict.fromkeys(raw) if n in categories]
        if known:
            out.append(g)
            needs.append(known)
    return out, needs


def leg_arrays(snapshot, legs: list[dict], needs: list[list[int]]) -> dict:
    """Member index, needs, case province, sector fit, reference chance and outcome of each usable leg."""
    member = np.array([snapshot.member_index[g["member_id"]] for g in legs], dtype=np.int64)
    province = np.array([snapshot.province_index[g["case_province"]] for g in legs], dtype=np.int64)
    sectors = snapshot.members
    fit = np.array([bool({g.get("sector"), g.get("cluster_sector")} & sectors[m]["sectors"])
                    for g, m in zip(legs, member.tolist())], dtype=bool)
    status = np.array([g["status"] for g in legs])
    count = np.array([len(n) for n in needs], dtype=np.int64)
    leg_of = np.repeat(np.arange(len(legs)), count)
    cat = np.fromiter((c for ns in needs for c in ns), dtype=np.int64, count=int(count.sum()))
    spec = np.bincount(leg_of, weights=snapshot.specialisation[member[leg_of], cat], minlength=len(legs)) / count
    dist = snapshot.province_distance[province, snapshot.member_province[member]]
    worked, completed = np.isin(status, WORKED), status == "completed"
    level = F.network_level(completed[worked].sum(), worked.sum())
    return {"member": member, "needs": needs, "count": count, "leg_of": leg_of, "category": cat,
            "province": province, "fit": fit, "reference": F.reference_chance(spec, dist, fit, level),
            "final": np.isin(status, FINAL), "completed": completed, "status": status, "worked": worked}


@dataclass(frozen=True)
class WorkedTerms:
    """The legs members accepted and finished, as what a record is computed from: member index, the
    reference's logit apart from the network's level, and whether the leg completed."""
    member: np.ndarray
    terms: np.ndarray
    done: np.ndarray
    buffer: list | None = None  # [member, terms, done, used]: the arrays these are the first ``used`` of

    def plus(self, other: WorkedTerms) -> WorkedTerms:
        """These legs and ``other``'s. The terms are written after the end of a shared buffer that grows by
        doubling, so a refresh does not copy every leg; a snapshot only ever sees its own first n entries,
        and a buffer already extended by another snapshot is copied instead."""
        n, k = len(self.member), len(other.member)
        own = (self.member, self.terms, self.done)
        buf = self.buffer
        if buf is None or buf[3] != n or len(buf[0]) < n + k:
            arrays = [np.empty(max(2 * (n + k), 1024), a.dtype) for a in own]
            for new, a in zip(arrays, own):
                new[:n] = a
            buf = [*arrays, n]
        for b, a in zip(buf[:3], (other.member, other.terms, other.done)):
            b[n:n + k] = a
        buf[3] = n + k
        return WorkedTerms(buf[0][:n + k], buf[1][:n + k], buf[2][:n + k], buf)


def worked_terms(snapshot, worked: list[tuple]) -> WorkedTerms:
    """The terms of ``history.worked_legs`` rows (member id, mean specialisation, case province, sector,
    cluster sector, completed) of known members and provinces."""
    members, provinces = snapshot.member_index, snapshot.province_index
    rows = [r for r in worked if r[0] in members and r[2] in provinces]
    m = np.array([members[r[0]] for r in rows], dtype=np.int64)
    spec = np.array([r[1] or 0.0 for r in rows], float)
    province = np.array([provinces[r[2]] for r in rows], dtype=np.int64)
    sectors = snapshot.members
    fit = np.array([r[3] in sectors[k]["sectors"] or r[4] in sectors[k]["sectors"] for r, k in zip(rows, m.tolist())],
                   dtype=bool)
    done = np.array([bool(r[5]) for r in rows], float)
    dist = snapshot.province_distance[province, snapshot.member_province[m]] if len(m) else np.zeros(0)
    return WorkedTerms(m, F.reference_terms(spec, dist, fit), done)


def record_of(terms: WorkedTerms, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(excess, information) per member: sums of (completed - reference) and of reference * (1 - reference),
    the reference centred on the network's level over the same legs. O(legs) with numpy."""
    if not len(terms.member):
        return np.zeros(count), np.zeros(count)
    level = F.network_level(terms.done.sum(), len(terms.done))
    if record_sums is not None:
        return record_sums(terms.member, terms.terms, terms.done, level, count)
    p = 1.0 / (1.0 + np.exp(-(level + terms.terms)))
    return (np.bincount(terms.member, weights=terms.done - p, minlength=count),
            np.bincount(terms.member, weights=p * (1 - p), minlength=count))


def member_record(snapshot, worked: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """(excess, information) per member over the legs it accepted and finished (``history.worked_legs``
    rows: member id, mean specialisation, case province, sector, cluster sector, completed): sums of
    (completed - reference) and of reference * (1 - reference)."""
    return record_of(worked_terms(snapshot, worked), snapshot.number_of_members)
