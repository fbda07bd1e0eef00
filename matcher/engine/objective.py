"""The bundle objective: the negative log of the chance that every need is met, and the arithmetic every
search shares.

A bundle is a set of legs: member m takes the group S_m of the needs. A leg succeeds or fails as one piece of
work, with the scorer's chance ``p(leg) = sigmoid(z(m, S_m) + b_m)``, where ``z`` is the leg's own logit
(member, needs, case; :meth:`matcher.engine.scoring.LegScorer.leg_logits`) and ``b_m`` its bundle terms,
learned from history like every other weight::

    b_m = w_joint * ln(1 + sum of past joint referrals of m with the other members and those on the case)
          + w_members * (number of other members, including those already on the case)

Legs are taken as independent given these terms, so the chance that every need is met is the product of the
legs' chances, and the objective is its negative log::

    J = -ln P(every need met) = sum over legs of softplus(-(z(m, S_m) + b_m))

Lower is better; ranking by J is ranking by the calibrated chance, by construction.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

DECIMALS = 6  # logits and weights are rounded to this before the search: explain returns what was searched
EPS = 1e-9


def popcounts(n: int) -> np.ndarray:
    """(2^n,) the number of needs in each group (bit i of the index: need i)."""
    count = np.zeros(1 << n, dtype=np.int64)
    for mask in range(1, 1 << n):
        count[mask] = count[mask >> 1] + (mask & 1)
    return count


def subset_sums(values: np.ndarray) -> np.ndarray:
    """(R, 2^N): for each row, the sum of its values over each group of needs (-inf propagates)."""
    R, N = values.shape
    sums = np.zeros((1 << N, R))  # groups as rows while summing: each step moves whole contiguous rows
    by_need = np.ascontiguousarray(values.T)
    for low in range(N - 1, -1, -1):  # the groups whose lowest need is ``low``, from what is above it: N steps
        masks = _lowest_is(N, low)
        sums[masks] = sums[masks ^ (1 << low)] + by_need[low]
    return sums.T


@functools.lru_cache(maxsize=64)
def _lowest_is(n: int, low: int) -> np.ndarray:
    """The groups of n needs whose lowest need is ``low``."""
    return np.array([m for m in range(1 << n) if m and (m & -m) == 1 << low], dtype=np.int64)


def leg_cost(logit) -> np.ndarray:
    """-ln sigmoid(logit): the leg's share of J (inf where the logit is -inf)."""
    return np.logaddexp(0.0, -np.asarray(logit, float))


def chance(J: float) -> float:
    """The chance that every need is met, from J."""
    return math.exp(-J)


def bundle_terms(joint_sums, others, w_joint: float, w_members: float) -> np.ndarray:
    """The bundle terms b_m of legs with the given past joint referrals and numbers of other members."""
    return w_joint * np.log1p(np.asarray(joint_sums, float)) + w_members * np.asarray(others, float)


def priced_legs(leg_logits, joint_sums, others: int, w_joint: float, w_members: float) -> np.ndarray:
    """(legs,) each leg's logit with its bundle terms: ``leg_logits`` without them, ``joint_sums`` each leg's
    member's past joint referrals with the others, ``others`` the other members on the case. The bundle's
    J is ``leg_cost(...).sum()``; the one place matching and allocation price a bundle."""
    return np.asarray(leg_logits, float) + bundle_terms(joint_sums, others, w_joint, w_members)


@dataclass
class Objective:
    """The objective over a candidate pool of P members and N needs.

    ``logits[p, S]`` is z(p, S) (-inf where p cannot take every need of S; column 0 unused); ``joint`` the
    (P + Q, P + Q) past joint referrals between the pool members and the Q members already on the case
    (``coordinate``), which take no need but count as partners.
    """

    logits: np.ndarray
    joint: np.ndarray
    w_joint: float
    w_members: float
    coordinate: int = 0

    @property
    def size(self) -> int:
        return self.logits.shape[0]

    @property
    def needs(self) -> int:
        return int(self.logits.shape[1]).bit_length() - 1

    def joint_sums(self, members) -> np.ndarray:
        """(len(members),) each member's past joint referrals with the other members and those on the case."""
        members = list(members)
        P = self.size
        partners = members + list(range(P, P + self.coordinate))
        block = self.joint[np.ix_(members, partners)]
        return block.sum(axis=1) - self.joint[members, members]

    def legs(self, members, masks) -> tuple[np.ndarray, np.ndarray]:
        """(logit, chance) of each leg of a bundle: ``members`` (pool indices) taking the groups ``masks``."""
        members = list(members)
        z = priced_legs(self.logits[members, list(masks)], self.joint_sums(members),
                        len(members) - 1 + self.coordinate, self.w_joint, self.w_members)
        return z, np.exp(-leg_cost(z))

    def value(self, members, masks) -> float:
        """J of the bundle in which ``members[i]`` takes the needs of ``masks[i]``."""
        z, _ = self.legs(members, masks)
        return float(leg_cost(z).sum())
