"""Places: distances on the Earth (travel, the max_distance_km rule) and the communes of the 93."""

from __future__ import annotations

import csv
from functools import cache
from math import asin, cos, radians, sin, sqrt
from pathlib import Path

COMMUNES_CSV = Path(__file__).resolve().parents[1] / "data" / "reference" / "communes_93.csv"

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine great-circle distance in kilometres."""
    p1, p2 = radians(lat1), radians(lat2)
    dp, dl = p2 - p1, radians(lon2 - lon1)
    a = sin(dp / 2) ** 2 + cos(p1) * cos(p2) * sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * asin(min(1.0, sqrt(a)))


@cache
def communes_93() -> tuple[dict[str, str], ...]:
    """The communes of Seine-Saint-Denis (INSEE code `insee`, `nom`, `lat`, `lon`, …), read
    once from the shipped reference data; empty if the file is absent."""
    if not COMMUNES_CSV.is_file():
        return ()
    with COMMUNES_CSV.open(encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))
