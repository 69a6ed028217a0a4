"""Store tests run on both backends: SQLite in tmp_path and a throw-away PostgreSQL cluster."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine

from coop_tender.models import Member
from coop_tender.store import metadata


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """An empty store URL on each backend (PostgreSQL: the session's database, emptied after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite'}"
        return
    url = request.getfixturevalue("postgres_cluster")
    yield url
    engine = create_engine(url)
    metadata.drop_all(engine)
    engine.dispose()


def siret(seed: int) -> str:
    """A valid (Luhn) SIRET built from a number."""
    body = f"{seed:013d}"
    for check in range(10):
        digits = body + str(check)
        total = 0
        for i, ch in enumerate(reversed(digits)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


def member(member_id: str = "ei-est", hours: int = 1000, **extra: object) -> Member:
    """A small valid co-contractor declaration."""
    data: dict = {
        "id": member_id,
        "name": f"Structure {member_id}",
        "siret": siret(zlib.crc32(member_id.encode())),
        "kind": "EI",
        "role": "cocontractor",
        "lat": 48.9,
        "lon": 2.45,
        "territories": ["T1"],
        "trades": ["peinture"],
        "capacity_hours": {"P1": hours},
        "annual_turnover": "250000.00",
    }
    data.update(extra)
    return Member.model_validate(data)
