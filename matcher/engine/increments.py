"""Bring a snapshot up to date from the leg changes journaled since it was built (``leg_changes``, written
by triggers in each writing transaction): the cost follows the change, not the history.

Each change moves the open load and this month's load of its member; a leg that reached a final state adds to
its member's finished, completed and value per category, and, when the member worked it (completed or closed
unresolved), to the legs its record is computed from; the joint-referral counts move only for the referrals
the changes touched (their legs are read back, the batch's changes undone in memory to know the counts before),
and the coordination distances are updated for those pairs. Changes the rules below cannot follow exactly (a
finished leg changed again, a leg deleted or moved to another referral or member, a new month, a journal that
no longer reaches back) answer None and the caller rebuilds.
"""

from __future__ import annotations

import json
from collections import defaultdict
from itertools import combinations

import numpy as np

from matcher.engine.coordination import COORDINATION, Pairs, moved, pair_counts, tidy
from matcher.engine.record import record_of, worked_terms
from matcher.store import data_versions, history

OPEN = ("sent", "accepted", "in_progress")
FINAL = ("completed", "closed_unresolved", "declined")
WORKED = ("completed", "closed_unresolved")
MOST_CHANGES = 5000  # beyond this many waiting changes a rebuild is as cheap


def brought_up_to_date(db, snap, month: str):
    """A new snapshot equal to a full rebuild of the store now, made from ``snap`` and the journaled changes
    since ``snap.position``; None when a rebuild is needed. Call inside one read transaction."""
    versions = data_versions(db)
    if versions["directory"] != snap.versions.get("directory") or month != snap.month:
        return None
    if history.change_position(db) < snap.position:  # the store was restored or its journal reset
        return None
    changes = history.leg_changes_since(db, snap.position, MOST_CHANGES)
    if changes is None or not all(map(followable, changes)):
        return None
    if not changes:
        return snap.changed(set(), versions=versions, version=versions["data"])
    values, changed, replaced = {}, {"load"}, {}
    values["load"], values["month_load"] = moved_loads(snap, changes, month)
    finishing = [c for c in changes if c["new_status"] in FINAL]
    if finishing:
        changed.add("outcomes")
        values.update(finished_stats(snap, finishing))
        worked = [c["leg_id"] for c in finishing if c["new_status"] in WORKED]
        if worked:
            terms = snap.worked.plus(worked_terms(snap, history.worked_legs(db, worked)))
            values["worked"] = terms
            values["record_excess"], values["record_information"] = record_of(terms, snap.number_of_members)
    moved = moved_pairs(db, snap, changes)
    if moved is not None:
        pairs, endpoints = moved
        changed.add("collaboration")
        values["collaboration"] = pairs
        coordination = snap.derived.peek(COORDINATION)
        if coordination is not None:
            replaced[COORDINATION] = coordination.updated(pairs.joint, endpoints)
    return snap.changed(changed, replaced, versions=versions, version=versions["data"],
                        position=changes[-1]["seq"], **values)


def followable(change: dict) -> bool:
    """True when the change can be applied exactly: a new leg, or a leg that was not final moving status
    (or value) on the same member, needs and referral."""
    if change["kind"] == "insert":
        return True
    return (change["kind"] == "update" and change["old_status"] not in FINAL
            and change["old_member_id"] == change["member_id"] and change["old_needs"] == change["needs"])


def moved_loads(snap, changes: list[dict], month: str) -> tuple[np.ndarray, np.ndarray]:
    """(open legs, legs received this month) per member after the changes."""
    load, month_load = snap.load.copy(), snap.month_load.copy()
    index = snap.member_index
    for c in changes:
        m = index.get(c["member_id"])
        if m is None:
            continue
        load[m] += (c["new_status"] in OPEN) - (c["old_status"] in OPEN)
        if c["kind"] == "insert" and (c["created_at"] or "") >= month:
            month_load[m] += 1
    return load, month_load


def finished_stats(snap, finishing: list[dict]) -> dict:
    """Finished, completed and value per (member, category) after the legs ``finishing`` reached a final state."""
    finished, completed, value = snap.finished.copy(), snap.completed.copy(), snap.value_baht.copy()
    members, categories = snap.member_index, snap.category_index
    for c in finishing:
        m = members.get(c["member_id"])
        needs = json.loads(c["needs"]) if c["needs"] else []
        cats = [categories[n] for n in needs if n in categories]
        if m is None or not cats:
            continue
        np.add.at(finished[m], cats, 1)
        np.add.at(value[m], cats, c["new_value"] or 0.0)
        if c["new_status"] == "completed":
            np.add.at(completed[m], cats, 1)
    return {"finished": finished, "completed": completed, "value_baht": value}


def moved_pairs(db, snap, changes: list[dict]):
    """(new Pairs, members of the pairs that changed) when the changes moved the joint-referral counts,
    else None. Only the referrals with a new leg, or a leg declined or completed, are read back."""
    touched = {c["referral_id"] for c in changes
               if c["kind"] == "insert" or c["new_status"] in ("declined", "completed")}
    if not touched:
        return None
    now: dict[int, dict] = defaultdict(dict)
    for referral_id, leg_id, member_id, status in history.legs_of_referrals(db, touched):
        now[referral_id][leg_id] = (member_id, status)
    before = {r: dict(legs) for r, legs in now.items()}
    for c in reversed(changes):
        if c["referral_id"] not in touched:
            continue
        legs = before.setdefault(c["referral_id"], {})
        if c["kind"] == "insert":
            legs.pop(c["leg_id"], None)
        else:
            legs[c["leg_id"]] = (c["old_member_id"], c["old_status"])
    delta: dict[tuple, list] = defaultdict(lambda: [0, 0])
    for r in touched:
        for sign, legs in ((1, now.get(r, {})), (-1, before.get(r, {}))):
            for pair, (joint, done) in contribution(legs).items():
                delta[pair][0] += sign * joint
                delta[pair][1] += sign * done
    index = snap.member_index
    rows = [(index[u], index[v], j, d) for (u, v), (j, d) in delta.items()
            if (j or d) and u in index and v in index]
    if not rows:
        return None
    u, v, joint, done = zip(*rows)
    pairs = Pairs(*(_added(m, u, v, delta) for m, delta in zip(snap.collaboration, (joint, done))))
    return pairs, set(u) | set(v)


def _added(m, u, v, delta):
    """``m`` plus the symmetric ``delta`` at (u, v): in place of a copy when the pairs stay the same."""
    if not any(delta):
        return m
    same = moved(m, u, v, delta)
    return same if same is not None else tidy(m + pair_counts(m.shape[0], u, v, delta, [0] * len(u))[0])


def contribution(legs: dict) -> dict[tuple, tuple[int, int]]:
    """What one referral adds to the pair counts (as ``history.collaborations`` counts them): for each pair of
    members u < v with legs not declined, one joint referral, and the number of their leg pairs both
    completed."""
    alive = sorted((m, s) for m, s in legs.values() if s != "declined")
    out: dict[tuple, list] = {}
    for (a, sa), (b, sb) in combinations(alive, 2):
        if a == b:
            continue
        entry = out.setdefault((a, b), [1, 0])
        entry[1] += sa == "completed" and sb == "completed"
    return {pair: (j, d) for pair, (j, d) in out.items()}
