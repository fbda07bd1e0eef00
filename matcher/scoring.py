"""Chance that a member completes a need for a case: hand-set weights (v1).

``p(m, n | case) = sigmoid(w0 + w_spec (spec - 0.5) - w_dist km - w_load max(load - 0.6, 0)
+ w_rate (smoothed completion - 0.6) + w_fit sector_fit)``, computed for all members and needs at once.
The weights are set by hand from what the programme reports matters (specialisation, distance, load,
track record); a learned scorer replaces them where history is rich enough.
"""

from __future__ import annotations

import numpy as np

HAND_WEIGHTS = {"bias": 0.3, "specialisation": 2.2, "distance_per_km": 0.006, "overload": 2.0,
                "completion_rate": 1.5, "sector_fit": 0.4}
PRIOR_RATE, PRIOR_STRENGTH = 0.6, 4.0


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def smoothed_completion(snapshot) -> np.ndarray:
    """(M, C) completion rate shrunk towards the network prior (Beta prior of strength 4)."""
    return (snapshot.completed + PRIOR_RATE * PRIOR_STRENGTH) / (snapshot.finished + PRIOR_STRENGTH)


def hand_probability(snapshot, province: str, sector: str | None, need_idx) -> np.ndarray:
    """(M, len(need_idx)) hand-set success probabilities; 0 where the member does not offer the need."""
    w = HAND_WEIGHTS
    spec = snapshot.specialisation[:, need_idx]
    dist = snapshot.distance_km(province)[:, None]
    load = (snapshot.load / np.maximum(snapshot.capacity_total, 1.0))[:, None]
    rate = smoothed_completion(snapshot)[:, need_idx]
    fit = np.array([bool(sector) and sector in m["sectors"] for m in snapshot.members], dtype=float)[:, None]
    logit = (w["bias"] + w["specialisation"] * (spec - 0.5) - w["distance_per_km"] * dist
             - w["overload"] * np.maximum(load - 0.6, 0.0) + w["completion_rate"] * (rate - PRIOR_RATE)
             + w["sector_fit"] * fit)
    return np.where(snapshot.offers[:, need_idx], sigmoid(logit), 0.0)
