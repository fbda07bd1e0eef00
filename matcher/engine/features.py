"""Features of a referral leg: a member taking a group of needs of one case, within a bundle.

A leg is one piece of work: it succeeds or fails as a whole, whatever the number of needs it carries. Its
features are computed vectorised (numpy), the same way for training rows (one per historical leg, with the
member's history as it stood when the leg was sent) and for matching (every member of a case at once):

- per need, then averaged over the leg's needs (``NEED``): specialisation, track record in the category;
- per member (``MEMBER``): overall track record, this month's load against its monthly capacity;
- per member and case (``CASE``): distance, same province / hub / region, sector fit;
- per leg (``LEG``): the needs it carries beyond the first;
- per bundle (``BUNDLE``): past joint work with the other members of the bundle (and with those already on
  the case), and how many other members there are (hand-offs).

Whether the member offers the category is not a feature but a hard rule: a member that does not offer a
need (or has no capacity left) can never be given it.
"""

from __future__ import annotations

import numpy as np

PRIOR_RATE, PRIOR_STRENGTH = 0.6, 4.0  # Beta prior of the completion rates: 60 %, worth 4 legs
HALF_LOAD, HIGH_LOAD = 0.5, 0.8  # knots of the load hinges (share of the monthly capacity)
RECORD_PRIOR = 2.0  # weight of the prior (no better or worse than expected) of ``record_vs_expected``
# The reference a record is measured against: the hand-set prior's directory weights around the network's
# own completion rate (``level``, a logit).
REFERENCE = {"specialisation": 1.5, "distance_100km": -0.25, "sector_fit": 0.3}
FAR_KM = 200.0  # knot of the distance hinge

# Feature name -> what it measures. The order is the column order of every feature matrix.
FEATURES = {
    "specialisation": "mean specialisation of the member in the leg's categories, 0-1 (directory)",
    "category_completion_rate": "mean over the leg's categories of completed / finished legs, shrunk to 60 % "
                                "with weight 4",
    "log_value": "mean over the leg's categories of ln(1 + economic value delivered / 100,000 baht)",
    "log_experience": "mean over the leg's categories of ln(1 + finished legs)",
    "completion_rate": "completed / finished legs over all categories, shrunk to 60 % with weight 4",
    "record_vs_expected": "over the legs the member accepted and finished: completed legs minus those a reference "
                          "expected (from specialisation, distance and sector fit), over the information they "
                          "carry plus 2: its record adjusted for how hard its legs were",
    "load_ratio": "legs received this calendar month / monthly capacity (all categories)",
    "load_over_half": "max(load_ratio - 0.5, 0)",
    "load_over_80": "max(load_ratio - 0.8, 0)",
    "distance_100km": "great-circle distance between the enterprise's and the member's province seats, per 100 km",
    "distance_over_200km": "max(distance - 200 km, 0), per 100 km",
    "same_province": "member is in the enterprise's province",
    "same_hub": "member's province belongs to the same RISMEP hub as the enterprise's",
    "same_region": "member's province is in the same region",
    "sector_fit": "member serves the enterprise's sector (or its cluster's sector)",
    "extra_needs": "needs the leg carries beyond the first",
    "joint_partners": "ln(1 + past joint referrals with the other members of the bundle and those on the case)",
    "other_members": "other members on the case (hand-offs)",
}
FEATURE_NAMES = tuple(FEATURES)
NEED = ("specialisation", "category_completion_rate", "log_value", "log_experience")
MEMBER = ("completion_rate", "record_vs_expected", "load_ratio", "load_over_half", "load_over_80")
CASE = ("distance_100km", "distance_over_200km", "same_province", "same_hub", "same_region", "sector_fit")
LEG = ("extra_needs",)
BUNDLE = ("joint_partners", "other_members")

# What history may teach and what it may not: a coefficient's sign is fixed where the direction is known
# (more load, more distance and more hand-offs never help; past joint work never hurts). 0: free.
SIGNS = {"load_ratio": -1, "load_over_half": -1, "load_over_80": -1, "distance_100km": -1,
         "distance_over_200km": -1, "joint_partners": 1, "other_members": -1}


def signs() -> tuple[int, ...]:
    """The sign constraint of every feature, in ``FEATURE_NAMES`` order."""
    return tuple(SIGNS.get(name, 0) for name in FEATURE_NAMES)


def smoothed_rate(completed, finished):
    """Completion rate shrunk towards the network prior (Beta prior of strength 4 around 60 %)."""
    return (np.asarray(completed, float) + PRIOR_RATE * PRIOR_STRENGTH) / (np.asarray(finished, float)
                                                                          + PRIOR_STRENGTH)


def need_columns(spec, completed, finished, value_baht) -> dict:
    """Columns of one member and one category (any matching shapes), before averaging over a leg."""
    return {"specialisation": np.asarray(spec, float),
            "category_completion_rate": smoothed_rate(completed, finished),
            "log_value": np.log1p(np.maximum(np.asarray(value_baht, float), 0.0) / 1e5),
            "log_experience": np.log1p(np.asarray(finished, float))}


def member_columns(month_load, capacity, completed_all, finished_all, excess, information) -> dict:
    """Columns that depend on the member only. ``excess`` and ``information``: the sums of (outcome -
    reference chance) and of reference chance * (1 - reference chance) over the member's finished legs."""
    ratio = np.asarray(month_load, float) / np.maximum(np.asarray(capacity, float), 1.0)
    return {"completion_rate": smoothed_rate(completed_all, finished_all),
            "record_vs_expected": np.asarray(excess, float) / (np.asarray(information, float) + RECORD_PRIOR),
            "load_ratio": ratio, "load_over_half": np.maximum(ratio - HALF_LOAD, 0.0),
            "load_over_80": np.maximum(ratio - HIGH_LOAD, 0.0)}


def network_level(completed, worked) -> float:
    """The logit of the network's completion rate over the legs its members accepted, shrunk to the 60 %
    prior with weight 4: where the reference of every record is centred."""
    rate = (float(completed) + PRIOR_RATE * PRIOR_STRENGTH) / (float(worked) + PRIOR_STRENGTH)
    return float(np.log(rate / (1.0 - rate)))


def reference_chance(spec, dist_km, sector_fit, level: float) -> np.ndarray:
    """The reference a member's record is measured against: the chance of a leg from the directory alone
    (the hand-set prior's specialisation, distance and sector weights) around the network's level."""
    return 1.0 / (1.0 + np.exp(-(level + reference_terms(spec, dist_km, sector_fit))))


def reference_terms(spec, dist_km, sector_fit) -> np.ndarray:
    """The reference's logit apart from the network's level (what stays fixed as the level moves)."""
    return (REFERENCE["specialisation"] * (np.asarray(spec, float) - 0.7)
            + REFERENCE["distance_100km"] * np.asarray(dist_km, float) / 100.0
            + REFERENCE["sector_fit"] * (np.asarray(sector_fit, float) - 1.0))


def case_columns(dist_km, same_province, same_hub, same_region, sector_fit) -> dict:
    """Columns that depend on the member and the case (province and sector)."""
    dist_km = np.asarray(dist_km, float)
    return {"distance_100km": dist_km / 100.0, "distance_over_200km": np.maximum(dist_km - FAR_KM, 0.0) / 100.0,
            "same_province": np.asarray(same_province, float), "same_hub": np.asarray(same_hub, float),
            "same_region": np.asarray(same_region, float), "sector_fit": np.asarray(sector_fit, float)}


def leg_columns(needs_in_leg) -> dict:
    return {"extra_needs": np.asarray(needs_in_leg, float) - 1.0}


def bundle_columns(joint, others) -> dict:
    """``joint``: past joint referrals with the other members; ``others``: how many other members."""
    return {"joint_partners": np.log1p(np.asarray(joint, float)), "other_members": np.asarray(others, float)}


def stack(columns: dict) -> np.ndarray:
    """The (rows, features) matrix in ``FEATURE_NAMES`` order."""
    return np.column_stack([np.asarray(columns[name], float) for name in FEATURE_NAMES])


def sums_before(group, time, weight, query_group, query_time) -> np.ndarray:
    """For each query, the sum of ``weight`` over events of the same group strictly before its time.

    Vectorised with one sort and two binary searches: O((E + Q) log E).
    """
    group, time = np.asarray(group, np.int64), np.asarray(time, np.int64)
    query_group, query_time = np.asarray(query_group, np.int64), np.asarray(query_time, np.int64)
    if len(group) == 0:
        return np.zeros(len(query_group))
    lo = min(time.min(), query_time.min() if len(query_time) else 0)
    span = int(max(time.max(), query_time.max() if len(query_time) else 0) - lo + 2)
    keys = group * span + (time - lo)
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    cum = np.concatenate([[0.0], np.cumsum(np.asarray(weight, float)[order])])
    end = np.searchsorted(keys, query_group * span + (query_time - lo), side="left")
    start = np.searchsorted(keys, query_group * span, side="left")
    return cum[end] - cum[start]
