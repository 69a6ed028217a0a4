"""The checker flags each hard rule on hand-made allocations, and exactly at the limit is valid.

The base case (figures worked out by hand, not by any solver):
- sites s1, s2 (T1, P1, 100 h, 4 000 € each), s3 (T2, P2, 200 h, 8 000 €),
  s4 (T2, P1, 100 h, 4 000 €);
- ei (EI, T1+T2, 180 h in P1) takes s1, s2 and borrows 20 h from the AI in P1;
- aci (ACI, T2, 100 h in P1, 200 h in P2) takes s3, s4 and borrows 30 h in P2;
- lent 50 h = 10 % of 500 h (rule 8 at its limit), insertion 90 + 135 + 50 = 275 h = the minimum.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from coop_tender.checker import check, fairness_excess, insertion_hours
from coop_tender.geo import great_circle_km
from coop_tender.models import Allocation, Problem
from tests.strategies import siret_from

ITEMS = [
    ("s1", "T1", "P1", 100, "4000.00", 48.91, 2.40),
    ("s2", "T1", "P1", 100, "4000.00", 48.92, 2.41),
    ("s3", "T2", "P2", 200, "8000.00", 48.90, 2.45),
    ("s4", "T2", "P1", 100, "4000.00", 48.89, 2.46),
]


def problem_dict() -> dict[str, Any]:
    """The base problem as JSON-like data, to be edited by each test."""
    items = [
        {
            "id": i,
            "lot": "L1",
            "label": i,
            "territory": t,
            "lat": lat,
            "lon": lon,
            "trade": "peinture",
            "period": p,
            "hours": h,
            "value": v,
        }
        for i, t, p, h, v, lat, lon in ITEMS
    ]

    def member(mid: str, kind: str, role: str, territories: list[str], cap: dict, **kw: Any):
        return {
            "id": mid,
            "name": mid.upper(),
            "siret": siret_from(f"{sum(map(ord, mid)) * 7919:013d}"),
            "kind": kind,
            "role": role,
            "territories": territories,
            "trades": ["peinture"] if role == "cocontractor" else [],
            "capacity_hours": cap,
            **({"lat": 48.90, "lon": 2.42} | kw),
        }

    return {
        "tender": {
            "reference": "T-CHECK",
            "insertion_hours_min": 275,
            "lots": [{"id": "L1"}],
            "territories": [{"id": "T1", "name": "Un"}, {"id": "T2", "name": "Deux"}],
            "periods": [{"id": "P1"}, {"id": "P2"}],
            "items": items,
        },
        "members": [
            member(
                "ei",
                "EI",
                "cocontractor",
                ["T1", "T2"],
                {"P1": 180, "P2": 0},
                annual_turnover="100000",
                insertion_rate=0.5,
            ),
            member(
                "aci",
                "ACI",
                "cocontractor",
                ["T2"],
                {"P1": 100, "P2": 200},
                annual_turnover="100000",
                insertion_rate=0.5,
                lat=48.895,
                lon=2.455,
            ),
            member(
                "ai",
                "AI",
                "provider",
                ["T1", "T2"],
                {"P1": 50, "P2": 50},
                annual_turnover="10000",
                insertion_rate=1.0,
                workers=1,
                hourly_rate="20",
            ),
        ],
        "policy": {
            "target": "capacity",
            "fairness_tolerance": 0.02,
            "max_dependency": 0.5,
            "max_provider_share": 0.3,
            "min_provider_share": 0.1,
            "max_distance_km": 20,
            "ai_max_hours_per_worker": 480,
        },
    }


def allocation_dict() -> dict[str, Any]:
    """The base, valid allocation."""
    return {
        "status": "feasible",
        "assignments": [
            {"item": "s1", "member": "ei"},
            {"item": "s2", "member": "ei"},
            {"item": "s3", "member": "aci"},
            {"item": "s4", "member": "aci"},
        ],
        "provider_hours": [
            {"provider": "ai", "member": "ei", "period": "P1", "hours": 20},
            {"provider": "ai", "member": "aci", "period": "P2", "hours": 30},
        ],
        "unassigned": [],
        "covered_value": "20000.00",
        "total_value": "20000.00",
    }


def run(problem: dict[str, Any], allocation: dict[str, Any]) -> list[str]:
    return check(Problem.model_validate(problem), Allocation.model_validate(allocation))


def rules(messages: list[str]) -> set[str]:
    """The rule names the messages cite ("1".."8" or "Cohérence")."""
    return {
        m.group(1) or "Cohérence"
        for m in (re.match(r"Règle (\d) :|Cohérence :", s) for s in messages)
        if m
    } | ({"?"} if any(not re.match(r"(Règle \d|Cohérence) :", s) for s in messages) else set())


def member(problem: dict[str, Any], mid: str) -> dict[str, Any]:
    return next(m for m in problem["members"] if m["id"] == mid)


def test_base_allocation_is_valid_and_at_every_limit() -> None:
    p, a = problem_dict(), allocation_dict()
    assert run(p, a) == []
    assert insertion_hours(Problem.model_validate(p), Allocation.model_validate(a)) == 275


# Each case: (rule, how to break the problem or the allocation, expected number of messages).
def _pin(p, a):
    p["policy"]["pins"] = [{"item": "s4", "member": "ei"}]


def _forbid(p, a):
    p["policy"]["forbids"] = [{"item": "s1", "member": "ei"}]


def _trade(p, a):
    p["tender"]["items"][2]["trade"] = "sols"


def _territory(p, a):
    member(p, "ei")["territories"] = ["T2"]
    member(p, "ei")["capacity_hours"] = {"P1": 180}


def _distance(p, a):
    km = great_circle_km(48.90, 2.42, 48.92, 2.41)  # the farthest of ei's sites (s2)
    p["policy"]["max_distance_km"] = km - 0.001


def _capacity(p, a):
    member(p, "ei")["capacity_hours"]["P1"] = 179


def _provider_territory(p, a):
    member(p, "ai")["territories"] = ["T1"]


def _provider_capacity(p, a):
    member(p, "ai")["capacity_hours"]["P2"] = 29


def _provider_share(p, a):
    p["policy"]["max_provider_share"] = 0.1  # ei: 20 ≤ 20 holds, aci: 30 > 20 breaks


def _rule_480(p, a):
    p["policy"]["ai_max_hours_per_worker"] = 19  # ei (EI) gets 20 h; aci (ACI) is not capped


def _dependency_member(p, a):
    member(p, "ei")["annual_turnover"] = "15999.98"  # half is 7 999,99 € < 8 000 €


def _dependency_provider(p, a):
    member(p, "ai")["annual_turnover"] = "1999.98"  # 50 h × 20 € = 1 000 € > 999,99 €


def _insertion(p, a):
    p["tender"]["insertion_hours_min"] = 276


def _min_provider_share(p, a):
    p["policy"]["min_provider_share"] = 0.11  # 55 h needed, 50 h lent


def _to_provider(p, a):
    a["assignments"][3]["member"] = "ai"
    a["provider_hours"][1]["member"] = "ei"  # keep the lending out of the picture
    a["provider_hours"][1]["period"] = "P1"
    a["provider_hours"][0]["hours"] = 0


CASES = [
    ("1", _pin, 1),
    ("1", _forbid, 1),
    ("2", _trade, 1),
    ("2", _territory, 2),
    ("2", _distance, 1),
    ("3", _capacity, 1),
    ("4", _provider_territory, 1),
    ("4", _provider_capacity, 1),
    ("4", _provider_share, 1),
    ("5", _rule_480, 1),
    ("6", _dependency_member, 1),
    ("6", _dependency_provider, 1),
    ("7", _insertion, 1),
    ("8", _min_provider_share, 1),
]


@pytest.mark.parametrize(
    ("rule", "breaker", "count"), CASES, ids=lambda c: getattr(c, "__name__", c)
)
def test_each_rule_is_flagged_alone(rule: str, breaker, count: int) -> None:
    p, a = problem_dict(), allocation_dict()
    breaker(p, a)
    messages = run(p, a)
    assert rules(messages) == {rule}, messages
    assert len(messages) == count, messages


def test_messages_name_the_member_period_and_figures() -> None:
    p, a = problem_dict(), allocation_dict()
    _capacity(p, a)
    [message] = run(p, a)
    assert "ei" in message and "P1" in message and "200 h" in message and "179 h" in message
    assert "1 h" in message


def test_distance_exactly_at_the_limit_is_valid() -> None:
    p, a = problem_dict(), allocation_dict()
    p["policy"]["max_distance_km"] = great_circle_km(48.90, 2.42, 48.92, 2.41)
    assert run(p, a) == []


def test_site_to_a_provider_is_rule_1() -> None:
    p, a = problem_dict(), allocation_dict()
    _to_provider(p, a)
    messages = run(p, a)
    assert any(m.startswith("Règle 1") and "s4" in m for m in messages), messages


def test_480_rule_does_not_cap_lending_to_an_aci() -> None:
    p, a = problem_dict(), allocation_dict()
    p["policy"]["ai_max_hours_per_worker"] = 20  # ei gets exactly 20; aci gets 30 uncapped
    assert run(p, a) == []


def test_null_policy_fields_mean_no_rule() -> None:
    p, a = problem_dict(), allocation_dict()
    for key in ("max_dependency", "max_provider_share", "min_provider_share", "max_distance_km"):
        p["policy"][key] = None
    p["policy"]["ai_max_hours_per_worker"] = None
    member(p, "ei")["annual_turnover"] = "1"
    member(p, "ai")["workers"] = 0
    a["provider_hours"] = [{"provider": "ai", "member": "ei", "period": "P1", "hours": 20}]
    # Without the AI's 30 h in P2, insertion rises by 15 h (aci's own) minus 30 h lent → 260.
    p["tender"]["insertion_hours_min"] = 260
    assert run(p, a) == []


# --------------------------------------------------------------------------- consistency


def test_unknown_and_duplicate_assignments() -> None:
    p, a = problem_dict(), allocation_dict()
    a["assignments"].append({"item": "nope", "member": "ei"})
    a["assignments"].append({"item": "s1", "member": "ei"})
    messages = run(p, a)
    assert any("site inconnu « nope »" in m for m in messages)
    assert any("s1 est affecté plusieurs fois" in m for m in messages)


def test_unassigned_must_list_exactly_the_items_not_assigned() -> None:
    p, a = problem_dict(), allocation_dict()
    a["unassigned"] = ["s1"]
    assert rules(run(p, a)) == {"Cohérence"}
    a = allocation_dict()
    del a["assignments"][0]
    a["covered_value"] = "16000.00"
    member(p, "ei")["capacity_hours"]["P1"] = 100
    messages = run(p, a)
    assert any("ni affectés ni déclarés" in m and "s1" in m for m in messages), messages


def test_covered_value_and_member_results_to_the_cent() -> None:
    p, a = problem_dict(), allocation_dict()
    a["covered_value"] = "20000.01"
    assert rules(run(p, a)) == {"Cohérence"}
    a = allocation_dict()
    a["members"] = [
        {"member": "ei", "role": "cocontractor", "hours": 200, "lent_hours": 20, "value": "8000"},
        {"member": "aci", "role": "cocontractor", "hours": 300, "lent_hours": 30, "value": "12000"},
        {"member": "ai", "role": "provider", "hours": 50, "lent_hours": 50, "value": "1000"},
    ]
    assert run(p, a) == []
    a["members"][0]["value"] = "7999.99"
    [message] = run(p, a)
    assert message.startswith("Cohérence") and "ei" in message


def test_lending_must_go_from_a_provider_to_a_cocontractor() -> None:
    p, a = problem_dict(), allocation_dict()
    a["provider_hours"].append({"provider": "ei", "member": "ai", "period": "P1", "hours": 0})
    messages = run(p, a)
    assert any("n'est pas un prestataire" in m for m in messages)
    assert any("n'est pas un cotraitant" in m for m in messages)


def test_infeasible_answer_checks_consistency_only() -> None:
    p = problem_dict()
    p["policy"]["pins"] = [{"item": "s4", "member": "ei"}]
    p["tender"]["insertion_hours_min"] = 10_000
    empty = {"status": "infeasible", "unassigned": ["s1", "s2", "s3", "s4"]}
    assert run(p, empty) == []
    wrong = allocation_dict() | {"status": "infeasible"}
    assert rules(run(p, wrong)) == {"Cohérence"}


def test_optimal_status_needs_every_stage_proven() -> None:
    p, a = problem_dict(), allocation_dict()
    a["status"] = "optimal"
    a["stages"] = [
        {"name": "coverage", "status": "optimal"},
        {"name": "travel", "status": "feasible"},
    ]
    assert rules(run(p, a)) == {"Cohérence"}
    a["stages"][1]["status"] = "optimal"
    assert run(p, a) == []


# --------------------------------------------------------------------------- fairness


def test_fairness_excess_outside_the_window() -> None:
    # capacity targets: ei 180/480, aci 300/480 of 20 000 € -> 7 500 € and 12 500 €, ±2 %.
    excess = fairness_excess(
        Problem.model_validate(problem_dict()), Allocation.model_validate(allocation_dict())
    )
    assert excess == {"ei": Decimal("350.00"), "aci": Decimal("250.00")}


def test_fairness_excess_equal_and_dict_targets() -> None:
    p, a = problem_dict(), allocation_dict()
    p["policy"]["target"] = "equal"
    p["policy"]["fairness_tolerance"] = None
    excess = fairness_excess(Problem.model_validate(p), Allocation.model_validate(a))
    assert excess == {"ei": Decimal("2000.00"), "aci": Decimal("2000.00")}
    p["policy"]["target"] = {"ei": 2, "aci": 3}  # 8 000 € and 12 000 €: inside
    excess = fairness_excess(Problem.model_validate(p), Allocation.model_validate(a))
    assert excess == {"ei": Decimal("0.00"), "aci": Decimal("0.00")}
