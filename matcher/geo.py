"""Great-circle distances between province seats."""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km; broadcasts over numpy arrays."""
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    a = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def distance_matrix(provinces: list[dict]) -> np.ndarray:
    """Symmetric matrix of seat-to-seat distances (km), in the order of ``provinces``."""
    lat = np.array([p["lat"] for p in provinces])
    lon = np.array([p["lon"] for p in provinces])
    return haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
