"""Features of a (member, need, case) triple, computed vectorised (numpy), the same way for training rows
(one per historical referral leg and need, with the member's history as it stood when the leg was sent)
and for matching (every member and every need of one case at once).

Whether the member offers the category is not a feature but a hard rule: a member that does not offer a
need (or is at capacity) gets p = 0 and can never be assigned it.
"""

from __future__ import annotations

import numpy as np

PRIOR_RATE, PRIOR_STRENGTH = 0.6, 4.0  # Beta prior of the completion rates: 60 %, worth 4 legs

# Feature name -> what it measures. The order is the column order of every feature matrix.
FEATURES = {
    "specialisation": "member's specialisation in the category, 0-1 (directory)",
    "distance_100km": "great-circle distance between the enterprise's and the member's province seats, per 100 km",
    "same_province": "member is in the enterprise's province",
    "same_hub": "member's province belongs to the same RISMEP hub as the enterprise's",
    "same_region": "member's province is in the same region",
    "load_ratio": "open legs now / monthly capacity (all categories)",
    "overload": "max(load_ratio - 0.6, 0): load beyond 60 % of capacity",
    "completion_rate": "completed / finished legs over all categories, shrunk to 60 % with weight 4",
    "category_completion_rate": "completed / finished legs in this category, shrunk to 60 % with weight 4",
    "log_value": "log(1 + economic value delivered in this category / 100,000 baht)",
    "log_experience": "log(1 + finished legs in this category)",
    "sector_fit": "member serves the enterprise's sector (or its cluster's sector)",
}
FEATURE_NAMES = tuple(FEATURES)
MEMBER_CATEGORY = ("specialisation", "category_completion_rate", "log_value", "log_experience")
MEMBER = ("load_ratio", "overload", "completion_rate")
CASE = ("distance_100km", "same_province", "same_hub", "same_region", "sector_fit")


def smoothed_rate(completed, finished):
    """Completion rate shrunk towards the network prior (Beta prior of strength 4 around 60 %)."""
    return (np.asarray(completed, float) + PRIOR_RATE * PRIOR_STRENGTH) / (np.asarray(finished, float)
                                                                          + PRIOR_STRENGTH)


def member_category_columns(spec, completed, finished, value_baht) -> dict:
    """Columns that depend on the member and the category (any matching shapes)."""
    return {"specialisation": np.asarray(spec, float),
            "category_completion_rate": smoothed_rate(completed, finished),
            "log_value": np.log1p(np.maximum(np.asarray(value_baht, float), 0.0) / 1e5),
            "log_experience": np.log1p(np.asarray(finished, float))}


def member_columns(load, capacity, completed_all, finished_all) -> dict:
    """Columns that depend on the member only."""
    ratio = np.asarray(load, float) / np.maximum(np.asarray(capacity, float), 1.0)
    return {"load_ratio": ratio, "overload": np.maximum(ratio - 0.6, 0.0),
            "completion_rate": smoothed_rate(completed_all, finished_all)}


def case_columns(dist_km, same_province, same_hub, same_region, sector_fit) -> dict:
    """Columns that depend on the member and the case (province and sector)."""
    return {"distance_100km": np.asarray(dist_km, float) / 100.0,
            "same_province": np.asarray(same_province, float), "same_hub": np.asarray(same_hub, float),
            "same_region": np.asarray(same_region, float), "sector_fit": np.asarray(sector_fit, float)}


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
