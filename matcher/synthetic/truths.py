"""The hidden ground truths of the synthetic generator: how a referral leg really succeeds in a demo world.

A truth is data (``Truth``): the coefficients of the success logit, how load, distance and past joint work
act, whether success is drawn once per member leg or once per need, and how the value of a completed leg is
paid. ``default`` is the world every demo and test network is made in; the others exist so that the
engine can be checked to *learn* a world rather than fit one simulator (``flask --app api generate PATH
--truth NAME``). The engine never reads a truth: only the generator, ``evaluate-engine`` and the
benchmarks do.

The success of a leg (member m taking the needs S of a case) before the member's own declines::

    logit = intercept + specialisation * (spec - 0.5) - per_km * km - load_slope * max(load - load_from, 0)
            + quality(m) + fit * sector_fit + joint * ln(1 + past joint referrals with the other members)

with ``spec`` the mean specialisation of m over S (``per_need=False``: one draw for the whole leg) or, with
``per_need=True``, one such logit per need, the leg completing only when every need succeeds. On top, a
member declines: with probability ``decline_full`` when its load this month is above ``full_load``, with
``decline_far`` when the enterprise is more than ``far_km`` away, and with ``decline_other`` for other
reasons. ``load`` is the legs the member received earlier this month over its monthly capacity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Typical value created by a completed need (baht), by category; others 80,000.
VALUE_MEAN = {"loan": 600_000, "credit_guarantee": 500_000, "export_market": 280_000,
              "technology_automation": 200_000, "market_linkage": 170_000}
OTHER_VALUE = 80_000


@dataclass(frozen=True)
class Truth:
    name: str
    summary: str
    intercept: float = 0.2
    specialisation: float = 2.2
    per_km: float = 0.006
    load_from: float = 0.6
    load_slope: float = 2.0
    fit: float = 0.5
    joint: float = 0.45
    per_need: bool = False
    value_per_need: bool = False
    full_load: float = 0.9
    decline_full: float = 0.5
    far_km: float = 250.0
    decline_far: float = 0.3
    decline_other: float = 0.04

    def logit(self, spec, dist_km, load, quality, sector_fit, joint):
        """The success logit (vectorised over any matching shapes)."""
        return (self.intercept + self.specialisation * (np.asarray(spec) - 0.5) - self.per_km * np.asarray(dist_km)
                - self.load_slope * np.maximum(np.asarray(load) - self.load_from, 0.0) + np.asarray(quality)
                + self.fit * np.asarray(sector_fit) + self.joint * np.log1p(joint))

    def leg_success(self, specs, dist_km, load, quality, sector_fit, joint) -> float:
        """The chance that a leg succeeds once accepted: ``specs`` are the member's specialisations in the
        leg's needs."""
        if self.per_need:
            return float(np.prod(sigmoid(self.logit(np.asarray(specs, float), dist_km, load, quality, sector_fit,
                                                    joint))))
        return float(sigmoid(self.logit(float(np.mean(specs)), dist_km, load, quality, sector_fit, joint)))

    def kept(self, load, dist_km):
        """The chance that the member does not decline (vectorised)."""
        load, dist_km = np.asarray(load, float), np.asarray(dist_km, float)
        return ((1.0 - self.decline_full * (load > self.full_load)) * (1.0 - self.decline_far * (dist_km > self.far_km))
                * (1.0 - self.decline_other))

    def leg_value(self, needs) -> float:
        """The mean value (baht) a completed leg creates."""
        values = [VALUE_MEAN.get(c, OTHER_VALUE) for c in needs]
        return float(sum(values) if self.value_per_need else max(values))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


TRUTHS = {t.name: t for t in (
    Truth("default", "the demo world: one draw per member leg, load hurts above 60 %, 0.6 % of the logit per km"),
    Truth("per_need", "success drawn per need: a leg completes only when each of its needs succeeds",
          per_need=True, intercept=0.9),
    Truth("early_load", "load hurts from 40 % of capacity, three times as steeply; members decline above 80 %",
          load_from=0.4, load_slope=6.0, full_load=0.8, decline_full=0.7),
    Truth("steep_distance", "distance matters 2.5 times as much; members decline beyond 150 km",
          per_km=0.015, far_km=150.0, decline_far=0.5, intercept=0.8),
    Truth("value_per_need", "value paid per need met; specialisation matters less, past joint work more, "
                            "distance hardly at all", value_per_need=True, specialisation=1.2, joint=0.9,
          per_km=0.002),
)}
DEFAULT_TRUTH = "default"


def truth_named(name: str) -> Truth:
    if name not in TRUTHS:
        raise ValueError(f"Unknown truth {name!r}; expected one of {', '.join(TRUTHS)}")
    return TRUTHS[name]
