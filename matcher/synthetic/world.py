"""The hidden world of a synthetic network, read back for evaluation: how likely a bundle really is to meet
every need, how many needs it really meets, and the value it really creates.

Only the engine's evaluation (``evaluate-engine``) and the benchmarks use this; the engine never does. It
reads the truth the generator stored (``demo_truth_members``: each member's hidden quality; the truth's name
in the dataset meta) and the generator's own count of past joint work (every referral two members shared).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from matcher.engine.scoring import sector_fit
from matcher.store import directory, history
from matcher.synthetic.truths import OTHER_VALUE, VALUE_MEAN, Truth, sigmoid, truth_named


@dataclass
class Case:
    """A case as the evaluation draws it: an enterprise's province and sector and its needs."""

    province: str
    sector: str | None
    needs: list[str]
    cluster: str | None = None


class World:
    """The truth of a synthetic store, aligned with a snapshot of it (member and category indices)."""

    def __init__(self, db, snapshot):
        info = directory.dataset_info(db)
        if not info.get("synthetic"):
            raise ValueError("the store holds no synthetic network: there is no hidden truth to evaluate against")
        quality = history.demo_truth_members(db)
        if not quality:
            raise ValueError("the store holds no hidden member quality (a network generated before the truth was "
                             "stored); generate it again with `flask --app api generate PATH`")
        self.snapshot = snapshot
        self.truth: Truth = truth_named(info.get("truth") or "default")
        self.quality = np.array([quality.get(m["id"], 0.0) for m in snapshot.members])
        M = snapshot.number_of_members
        rows = history.joint_referrals(db)
        index = snapshot.member_index
        u = [index[r["u"]] for r in rows if r["u"] in index and r["v"] in index]
        v = [index[r["v"]] for r in rows if r["u"] in index and r["v"] in index]
        w = [float(r["joint"]) for r in rows if r["u"] in index and r["v"] in index]
        joint = sp.csr_matrix((w, (u, v)), shape=(M, M))
        self.joint = (joint + joint.T).tocsr()
        self.value_of = np.array([VALUE_MEAN.get(c, OTHER_VALUE) for c in snapshot.categories], float)

    def joint_block(self, members) -> np.ndarray:
        idx = np.asarray(members, dtype=np.int64)
        return self.joint[idx][:, idx].toarray()

    def outcomes(self, case: Case, assignments: np.ndarray, month_load=None, on_case=()) -> dict:
        """For each row of ``assignments`` (A, N): member index per need of ``case``, the true chance that
        every need is met, the expected needs met and the expected value (baht). ``month_load``: legs each
        member received earlier this month (default: the snapshot's); ``on_case``: members already on it.
        Vectorised over the rows: O(A * N^2)."""
        snap, truth = self.snapshot, self.truth
        a = np.asarray(assignments, dtype=np.int64)
        A, N = a.shape
        load = snap.month_load if month_load is None else np.asarray(month_load, float)
        cats = np.array([snap.category_index[n] for n in case.needs])
        p = snap.province_index[case.province]
        same = a[:, :, None] == a[:, None, :]  # (A, N, N) need n and n' are on the same leg
        first = ~np.tril(same, -1).any(axis=2)  # need n is the first need of its leg
        spec = snap.specialisation[a, cats[None, :]]
        dist = snap.province_distance[p, snap.member_province[a]]
        ratio = load[a] / np.maximum(snap.capacity_total[a], 1.0)
        fit = sector_fit(snap, case.sector)[a].astype(float)
        joint = self._joint_with_others(a, first, on_case)
        kept = truth.kept(ratio, dist)
        if truth.per_need:
            need_p = sigmoid(truth.logit(spec, dist, ratio, self.quality[a], fit, joint))
            leg_p = np.exp((np.log(need_p)[:, None, :] * same).sum(axis=2))
        else:
            mean_spec = (spec[:, None, :] * same).sum(axis=2) / same.sum(axis=2)
            leg_p = sigmoid(truth.logit(mean_spec, dist, ratio, self.quality[a], fit, joint))
            need_p = leg_p
        complete = kept * leg_p  # per need: the chance its leg completes
        chance = np.where(first, complete, 1.0).prod(axis=1)
        met = (kept * need_p).sum(axis=1) if truth.per_need else complete.sum(axis=1)
        values = self.value_of[cats][None, :]
        leg_value = ((values[:, None, :] * same).sum(axis=2) if truth.value_per_need
                     else np.where(same, values[:, None, :], 0.0).max(axis=2))
        value = np.where(first, complete * leg_value, 0.0).sum(axis=1)
        return {"chance": chance, "needs_met": met, "value": value}

    def _joint_with_others(self, a: np.ndarray, first: np.ndarray, on_case) -> np.ndarray:
        """(A, N) for each need, its member's past joint referrals with every other member of the row (each
        counted once) and with the members already on the case."""
        members = np.unique(np.concatenate([a.ravel(), np.asarray(list(on_case), dtype=np.int64)]))
        local = np.searchsorted(members, a)
        block = self.joint_block(members)
        pair = block[local[:, :, None], local[:, None, :]]  # (A, N, N)
        others = first[:, None, :] & (a[:, :, None] != a[:, None, :])
        joint = (pair * others).sum(axis=2)
        if len(on_case):
            w = np.searchsorted(members, np.asarray(list(on_case), dtype=np.int64))
            joint = joint + block[local][:, :, w].sum(axis=2)
        return joint
