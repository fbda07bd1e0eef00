"""The compiled kernel of the bundle search (numba): the same depth-first branch and bound over legs as
``bundles._LegSearch``, the same bounds and the same arithmetic, on arrays instead of Python objects, so that
searches over 7-8 needs take milliseconds.

Exactness does not depend on the order children are tried (every member set whose J is within the final
bound is reached, since each bound on its path is a lower bound of its J), so the kernel returns every
member set it priced within the bound, and the caller keeps the best ``top_k`` exactly as the Python search
does. Compiled once per process on first use (cached on disk when the folder is writable).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

EPS = 1e-9


@njit(cache=True)
def _softplus_neg(z):
    return math.log1p(math.exp(-z)) if z > -30.0 else -z


@njit(cache=True)
def _joint(m, members, d, pair, on_case):
    total = on_case[m]
    for k in range(d):
        total += pair[m, members[k]]
    return total


@njit(cache=True)
def _popcount(x):
    c = 0
    while x:
        x &= x - 1
        c += 1
    return c


@njit(cache=True)
def _lower_bound(members, groups, d, rest, N, z, pair, on_case, top, cover, wj, wm, Q):
    fewest = d + (1 if rest else 0)
    more = min(_popcount(rest), N)
    total = cover[min(fewest, N), rest]
    size = max(fewest, 1) if wm <= 0 else N
    members_term = wm * (size - 1 + Q)
    for k in range(d):
        m = members[k]
        joint = _joint(m, members, d, pair, on_case)
        if wj > 0 and rest:
            joint += top[m, more]
        total += _softplus_neg(z[m, groups[k]] + wj * math.log1p(joint) + members_term)
    return total


@njit(cache=True)
def _leaf_cost(members, groups, d, z, pair, on_case, wj, wm, Q, limit):
    members_term = wm * (d - 1 + Q)
    J = 0.0
    for k in range(d):
        m = members[k]
        J += _softplus_neg(z[m, groups[k]] + wj * math.log1p(_joint(m, members, d, pair, on_case)) + members_term)
        if J > limit:
            return math.inf
    return J


@njit(cache=True)
def _row_of(rows, count, key, N):
    """The index of the first of ``rows[:count]`` equal to ``key`` in its first N entries; -1 if none."""
    for e in range(count):
        same = True
        for k in range(N):
            if rows[e, k] != key[k]:
                same = False
                break
        if same:
            return e
    return -1


@njit(cache=True)
def _kth(values, count, k):
    return np.sort(values[:count])[k - 1]


@njit(cache=True)
def search(z, pair, on_case, top, cover, cheap, order, order_start, wj, wm, Q, max_members, top_k,
           required, banned, forbidden):
    """Every member set priced within the final bound: (J (K,), sets (K, N) sorted members padded with -1).

    ``z`` (P, 2^N) leg logits; ``pair`` (P, P) joint referrals; ``on_case`` (P,); ``top`` (P, N + 1) the most
    joint work with k more members; ``cover`` (N + 1, 2^N); ``cheap`` (P, 2^N) least leg costs; ``order``
    the members of each group sorted by ``cheap`` (group g's in ``order[order_start[g]:order_start[g + 1]]``,
    finite only); ``required``, ``banned`` (P,) bool; ``forbidden`` (F, N) member sets not to return."""
    P, size = z.shape
    N = 0
    while (1 << N) < size:
        N += 1
    full = size - 1
    cap = 1 << 16
    best_J = np.empty(cap)
    best_sets = np.full((cap, N), -1, np.int64)
    count = 0
    bound = math.inf
    members = np.full(N + 1, -1, np.int64)
    groups = np.zeros(N + 1, np.int64)
    rest = np.zeros(N + 2, np.int64)
    spent = np.zeros(N + 2)
    inset = np.zeros(P, np.bool_)
    buf = max(1, N * len(order))
    c_key, c_cheap = np.empty(buf), np.empty(buf)
    c_m, c_g = np.empty(buf, np.int64), np.empty(buf, np.int64)
    c_start, c_end, c_pos = np.zeros(N + 2, np.int64), np.zeros(N + 2, np.int64), np.zeros(N + 2, np.int64)
    key = np.empty(N, np.int64)
    rest[0] = full
    d = 0
    c_end[0] = _children(0, 0, rest[0], 0.0, bound, N, cover, cheap, order, order_start,
                         c_key, c_cheap, c_m, c_g)
    while d >= 0:
        if c_pos[d] >= c_end[d]:
            if d == 0:
                break
            d -= 1
            inset[members[d]] = False
            continue
        i = c_pos[d]
        c_pos[d] += 1
        if spent[d] + c_key[i] > bound + EPS:
            c_pos[d] = c_end[d]
            continue
        m, g = c_m[i], c_g[i]
        if inset[m] or banned[m]:
            continue
        members[d], groups[d] = m, g
        nrest = rest[d] ^ g
        if nrest == 0:
            n = d + 1
            ok = True
            for r in range(P):
                if required[r]:
                    found = False
                    for k in range(n):
                        if members[k] == r:
                            found = True
                    if not found:
                        ok = False
            if not ok:
                continue
            J = _leaf_cost(members, groups, n, z, pair, on_case, wj, wm, Q, bound + EPS)
            if J > bound + EPS:
                continue
            for k in range(N):
                key[k] = -1
            key[:n] = np.sort(members[:n])
            if _row_of(forbidden, forbidden.shape[0], key, N) >= 0:
                continue
            at = _row_of(best_sets, count, key, N)
            if at >= 0:
                if J >= best_J[at]:
                    continue
                best_J[at] = J
            else:
                if count == cap:  # keep only what can still be returned
                    kept = 0
                    for e in range(count):
                        if best_J[e] <= bound + EPS:
                            best_J[kept] = best_J[e]
                            best_sets[kept] = best_sets[e]
                            kept += 1
                    count = kept
                    if count == cap:
                        continue
                best_J[count] = J
                best_sets[count] = key
                count += 1
            if count >= top_k:
                bound = _kth(best_J, count, top_k)
            continue
        if d + 1 >= max_members:
            continue
        spent[d + 1] = spent[d] + c_cheap[i]
        rest[d + 1] = nrest
        if _lower_bound(members, groups, d + 1, nrest, N, z, pair, on_case, top, cover, wj, wm, Q) > bound + EPS:
            continue
        inset[m] = True
        d += 1
        c_start[d] = c_end[d - 1]
        c_pos[d] = c_start[d]
        c_end[d] = _children(c_start[d], d, nrest, spent[d], bound, N, cover, cheap, order, order_start,
                             c_key, c_cheap, c_m, c_g)
    keep = best_J[:count] <= bound + EPS
    return best_J[:count][keep], best_sets[:count][keep]


@njit(cache=True)
def _children(start, d, rest, spent, bound, N, cover, cheap, order, order_start, c_key, c_cheap, c_m, c_g):
    """Write the legs that can cover the lowest need of ``rest`` next from ``start``, cheapest bound first;
    returns the end of the range. A group's members come cheapest first, so each group stops at the first
    member whose bound exceeds ``bound``."""
    n = min(d + 2, N)
    low = rest & -rest
    end = start
    sub = rest
    while sub:
        if sub & low:
            left = rest ^ sub
            cov = cover[n, left] if left else 0.0
            for k in range(order_start[sub], order_start[sub + 1]):
                m = order[k]
                c = cheap[m, sub]
                if spent + c + cov > bound + EPS:
                    break
                c_key[end], c_cheap[end], c_m[end], c_g[end] = c + cov, c, m, sub
                end += 1
        sub = (sub - 1) & rest
    if end - start > 1:
        idx = np.argsort(c_key[start:end], kind="mergesort")
        keys, cheaps, ms, gs = c_key[start:end][idx], c_cheap[start:end][idx], c_m[start:end][idx], c_g[start:end][idx]
        c_key[start:end], c_cheap[start:end], c_m[start:end], c_g[start:end] = keys, cheaps, ms, gs
    return end


@njit(cache=True)
def record_sums(member, terms, done, level, count):
    """Per member, sums of (done - p) and of p * (1 - p) with p = sigmoid(level + term) (``record.record_of``)."""
    excess, information = np.zeros(count), np.zeros(count)
    for i in range(len(member)):
        p = 1.0 / (1.0 + math.exp(-(level + terms[i])))
        excess[member[i]] += done[i] - p
        information[member[i]] += p * (1.0 - p)
    return excess, information


def group_order(cheap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per group of needs, the members with a finite least cost, cheapest first (flattened, with starts)."""
    P, size = cheap.shape
    parts, starts = [], [0]
    for g in range(size):
        col = cheap[:, g]
        members = np.flatnonzero(np.isfinite(col)) if g else np.zeros(0, dtype=np.int64)
        members = members[np.argsort(col[members], kind="stable")]
        parts.append(members)
        starts.append(starts[-1] + len(members))
    return (np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64),
            np.array(starts, dtype=np.int64))
