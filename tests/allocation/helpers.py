"""Small hand-built problems for the allocation tests: one territory, one trade, a few members."""

from __future__ import annotations

import time
from typing import Any

from coop_tender.allocation import solve
from coop_tender.checker import check
from coop_tender.models import Allocation, Problem, luhn_ok

BASE = (48.90, 2.45)  # near Bobigny


def siret(n: int) -> str:
    seed = f"{732829320 + n:09d}0001"
    return next(seed + str(d) for d in range(10) if luhn_ok(seed + str(d)))


def item(iid: str, hours: int, value: int, **kw: Any) -> dict[str, Any]:
    data = {
        "id": iid,
        "lot": "L1",
        "label": f"Collège {iid}",
        "territory": "T1",
        "lat": BASE[0],
        "lon": BASE[1],
        "trade": "peinture",
        "period": "P1",
        "hours": hours,
        "value": str(value),
    }
    data.update(kw)
    return data


_count = 0


def member(mid: str, cap: dict[str, int] | int, **kw: Any) -> dict[str, Any]:
    global _count
    _count += 1
    provider = kw.get("role") == "provider"
    data = {
        "id": mid,
        "name": f"Structure {mid}",
        "siret": siret(_count),
        "kind": "AI" if provider else "ACI",
        "role": "cocontractor",
        "lat": BASE[0],
        "lon": BASE[1],
        "territories": ["T1"],
        "trades": [] if provider else ["peinture"],
        "capacity_hours": {"P1": cap} if isinstance(cap, int) else cap,
        "annual_turnover": "10000000",
        "insertion_rate": 0.0,
        "workers": 10,
        "hourly_rate": "20" if provider else None,
    }
    data.update(kw)
    return data


def provider(mid: str, cap: dict[str, int] | int, **kw: Any) -> dict[str, Any]:
    return member(mid, cap, role="provider", **kw)


NO_RULES = {
    "target": "equal",
    "fairness_tolerance": None,
    "max_dependency": None,
    "max_provider_share": None,
    "min_provider_share": None,
    "max_distance_km": None,
    "ai_max_hours_per_worker": None,
}


def problem(
    items: list[dict], members: list[dict], insertion_hours_min: int = 0, **policy: Any
) -> Problem:
    """A Problem with every optional rule off unless given in `policy`."""
    return Problem.model_validate(
        {
            "tender": {
                "reference": "TEST",
                "insertion_hours_min": insertion_hours_min,
                "territories": [
                    {"id": "T1", "name": "Est Ensemble"},
                    {"id": "T2", "name": "Autre"},
                ],
                "periods": [{"id": "P1", "label": "été"}, {"id": "P2", "label": "hiver"}],
                "items": items,
            },
            "members": members,
            "policy": {**NO_RULES, **policy},
        }
    )


def solved(p: Problem, time_limit: float = 5.0) -> Allocation:
    """Solve and assert that the independent checker finds nothing wrong."""
    allocation = solve(p, time_limit=time_limit)
    problems = check(p, allocation)
    assert problems == [], problems
    return allocation


def owners(a: Allocation) -> dict[str, str]:
    return a.member_of()


def lent(a: Allocation) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for ph in a.provider_hours:
        out[(ph.provider, ph.member)] = out.get((ph.provider, ph.member), 0) + ph.hours
    return out


def text(a: Allocation) -> str:
    return " ".join(a.explanation + [s for m in a.members for s in m.explanation])


def after_stages(p: Problem, seconds: float = 1.0):
    """The model with every stage fixed, travel as objective, and the staged outcome."""
    from coop_tender.allocation.model import build_model, prepare
    from coop_tender.allocation.solve import fix_rules, run_stages

    b = build_model(p, prepare(p))
    fix_rules(b)
    return b, run_stages(b, time.perf_counter() + seconds, workers=1)
