"""Narrow-band members (allocation/tight.py): a member held to its cap to the cent gets its
whole set of sites re-chosen, which no single move or swap can do; every rule still holds."""

from __future__ import annotations

import itertools
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings

from coop_tender.allocation import tight
from coop_tender.allocation.figures import exact_value, fairness_floor, model_value
from coop_tender.allocation.model import build_model, prepare
from coop_tender.allocation.report import build_allocation
from coop_tender.allocation.solve import Outcome, Solution, fix_rules, fix_stage, run_stages
from coop_tender.allocation.tight import (
    band,
    choose_sites,
    improve_tight,
    reach_floor,
    tight_members,
)
from coop_tender.checker import check
from coop_tender.geo import great_circle_km
from coop_tender.models import Problem
from tests.allocation.helpers import item, member, problem
from tests.strategies import problems

WEST, EAST = (48.90, 2.30), (48.90, 2.60)
SITES = {  # id: (value €, place); a must hold exactly 5 000 €, its cap
    "w1": (3000, WEST),
    "w2": (2000, WEST),
    "w3": (2500, WEST),
    "e1": (3100, EAST),
    "e2": (1900, EAST),
    "e3": (4000, EAST),
}


def _capped() -> Problem:
    """a (west) may earn 5 000 € (rule 6: half of 10 000 €) against a target of half the
    16 500 €, so its fairest value is its cap: {w1, w2} or {e1, e2} (the mixed pairs miss it by
    100 €). c (east) takes the rest."""
    items = [
        item(sid, 10, value, lat=place[0], lon=place[1]) for sid, (value, place) in SITES.items()
    ]
    members = [
        member("a", 1000, lat=WEST[0], lon=WEST[1], annual_turnover="10000"),
        member("c", 1000, lat=EAST[0], lon=EAST[1]),
    ]
    return problem(items, members, fairness_tolerance=0.0, max_dependency=0.5)


def _built_at(p: Problem, owner_of: dict[str, str], stages: tuple[str, ...]):
    """The model with `stages` fixed at the values of the allocation `owner_of` (site id ->
    member id); returns (built, that solution)."""
    data = prepare(p)
    b = build_model(p, data)
    fix_rules(b)
    assert set(owner_of) == {it.id for it in data.items}
    k_of = {m.id: k for k, m in enumerate(data.cocs)}
    sol = Solution(
        x={(i, k): int(k_of[owner_of[data.items[i].id]] == k) for i, k in b.x},
        lend={key: 0 for key in b.lend},
    )
    for name in stages:
        fix_stage(b, name, model_value(b, name, sol))
    return b, sol


def _at_travel_stage(p: Problem, owner_of: dict[str, str]):
    """Coverage and turnover fairness fixed at `owner_of`'s values, travel as objective."""
    b, sol = _built_at(p, owner_of, ("coverage", "turnover_fairness"))
    b.model.minimize(b.travel)
    return b, sol


def _brute_force_travel(p: Problem) -> float:
    """Shortest total travel (km) over every allocation of the six sites that gives a exactly
    5 000 €, computed without the model."""
    base = {m.id: (m.lat, m.lon) for m in p.members}
    best = float("inf")
    for owners in itertools.product("ac", repeat=len(p.tender.items)):
        value_a = sum(it.value for it, o in zip(p.tender.items, owners, strict=True) if o == "a")
        if value_a != 5000:
            continue
        km = sum(
            great_circle_km(it.lat, it.lon, *base[o])
            for it, o in zip(p.tender.items, owners, strict=True)
        )
        best = min(best, km)
    return best


CROSSED = {"e1": "a", "e2": "a", "w1": "c", "w2": "c", "w3": "c", "e3": "c"}
"""a holds the two east sites that make its 5 000 €: any single move or swap breaks its cap
or its value (site values all differ), only exchanging both pairs shortens travel."""


def test_the_member_at_its_cap_is_tight_and_the_other_is_not() -> None:
    b, _sol = _at_travel_stage(_capped(), CROSSED)
    a = next(k for k, m in enumerate(b.data.cocs) if m.id == "a")
    assert band(b, a) == (500_000, 500_000)
    assert tight_members(b) == [a]


def test_knapsack_picks_the_near_pair_within_the_band() -> None:
    p = _capped()
    b, sol = _at_travel_stage(p, CROSSED)
    a = tight_members(b)[0]
    chosen = choose_sites(b, sol, a, 2.0)
    assert chosen is not None
    assert {b.data.items[i].id for i in chosen} == {"w1", "w2"}
    assert sum(b.data.values[i] for i in chosen) == 500_000


def test_the_first_set_is_within_the_band_and_so_is_cp_sats(monkeypatch) -> None:
    """The fairness floor takes the first set of the right sum (reach_floor): by sampling, and
    by CP-SAT when the table is too large; from a holding a mixed pair (4 900 €, outside the
    band), each is a set worth exactly 5 000 € that keeps a's hours."""
    from coop_tender.allocation import tight

    mixed = {**CROSSED, "e2": "c", "w2": "a"}  # a: e1 + w2 = 5 100 €
    b, sol = _built_at(_capped(), mixed, ("coverage",))
    a = next(k for k, m in enumerate(b.data.cocs) if m.id == "a")
    band_of_a = (500_000, 500_000)
    ks = tight.knapsack(b, sol, a, band_of_a)
    assert ks is not None and not ks.valid(ks.current)
    for table_bits in (tight.DP_MAX_BITS, 1):  # 1: the CP-SAT path
        monkeypatch.setattr(tight, "DP_MAX_BITS", table_bits)
        chosen = choose_sites(b, sol, a, 2.0, band_of_a, first=True)
        assert chosen is not None and chosen != ks.current
        assert sum(b.data.values[i] for i in chosen) == 500_000
        assert ks.valid(chosen)


def test_improve_tight_reaches_the_brute_force_optimum_and_keeps_every_rule() -> None:
    p = _capped()
    b, sol = _at_travel_stage(p, CROSSED)
    value = model_value(b, "travel", sol)
    after, after_value = improve_tight(b, sol, value, time.perf_counter() + 5.0, 1)
    assert after_value < value
    assert abs(float(exact_value(b, "travel", after)) - _brute_force_travel(p)) < 0.01
    outcome = Outcome(b, [], after, False)
    assert check(p, build_allocation(p, b.data, outcome, [], "test")) == []
    for name in ("coverage", "turnover_fairness"):
        assert model_value(b, name, after) == b.fixed[name]


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(problems(max_items=14, max_members=5, max_providers=3))
def test_improve_tight_keeps_every_rule_and_stage(p: Problem) -> None:
    data = prepare(p)
    assume(not data.pin_problems)
    b = build_model(p, data)
    fix_rules(b)
    outcome = run_stages(b, time.perf_counter() + 1.0, workers=1)
    assume(outcome.solution is not None)
    before = outcome.solution
    value = model_value(b, "travel", before)
    after, after_value = improve_tight(b, before, value, time.perf_counter() + 1.0, 1)
    assert after_value <= value
    assert model_value(b, "travel", after) == after_value
    outcome.solution = after
    assert check(p, build_allocation(p, b.data, outcome, [], "test")) == []
    for name in ("coverage", "turnover_fairness", "provider_fairness"):
        assert exact_value(b, name, after) == exact_value(b, name, before), name


def test_fairness_reaches_the_floor_by_giving_the_capped_member_an_exact_set() -> None:
    """From a allocation where a holds 4 400 € (w3 + e2), the solver-free floor says a could
    hold its 5 000 € cap: reach_floor must find such a set and prove the stage at the floor."""
    p = _capped()
    start = {"w3": "a", "e2": "a", "w1": "c", "w2": "c", "e1": "c", "e3": "c"}
    b, sol = _built_at(p, start, ("coverage",))
    b.model.minimize(b.turnover_excess)
    floor = fairness_floor(b)
    value = model_value(b, "turnover_fairness", sol)
    assert value > floor
    after, after_value = reach_floor(b, sol, value, floor, time.perf_counter() + 5.0, 1)
    assert after_value == floor == model_value(b, "turnover_fairness", after)
    a = next(k for k, m in enumerate(b.data.cocs) if m.id == "a")
    held = {b.data.items[i].id for (i, k), on in after.x.items() if on and k == a}
    assert sum(SITES[s][0] for s in held) == 5000
    outcome = Outcome(b, [], after, False)
    assert check(p, build_allocation(p, b.data, outcome, [], "test")) == []


def test_knapsack_falls_back_to_cp_sat_when_the_table_is_too_large(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tight, "DP_MAX_BITS", 1)
    b, sol = _at_travel_stage(_capped(), CROSSED)
    a = tight_members(b)[0]
    chosen = choose_sites(b, sol, a, 2.0)
    assert chosen is not None
    assert {b.data.items[i].id for i in chosen} == {"w1", "w2"}
