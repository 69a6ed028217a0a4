"""The column-generation bound of the travel stage (allocation/columns.py; its dive:
test_dive.py).

It must never exceed the travel of an allocation nor the brute-force optimum of a small
tender, must be at least as strong as the LP relaxation where a member's window holds one
exact sum, and a member's listed sets must be exactly the subsets within its window.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from coop_tender.allocation import columns
from coop_tender.allocation.columns import travel_columns
from coop_tender.allocation.figures import model_value
from coop_tender.allocation.model import SCALE, Built, prepare, scaled_floor
from coop_tender.allocation.relaxation import lp_bound, lp_site_duals
from coop_tender.geo import great_circle_km
from coop_tender.models import Pin, Problem
from tests.allocation.helpers import after_stages, item, member, problem
from tests.strategies import problems


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(problems(max_items=14, max_members=5, max_providers=3))
def test_bounds_never_exceed_a_solution(p: Problem) -> None:
    """Both travel bounds, the LP's (relaxation.py) and the column generation's."""
    assume(not prepare(p).pin_problems)
    b, outcome = after_stages(p)
    assume(outcome.solution is not None)
    travel = model_value(b, "travel", outcome.solution)
    strong = travel_columns(b, outcome.solution, 5.0, dive=False).bound
    b.model.minimize(b.travel)
    weak = lp_bound(b, 5.0, skip=frozenset({"stage_travel_fixed"}))
    assert strong is not None and weak is not None
    assert strong <= travel and weak <= travel


def _exact_sum_tender():
    """Six sites west, two east; equal targets without tolerance ask 6 350 € of a (west),
    which rule 6 caps at 3 000 €: turnover fairness then holds a at exactly 3 000 €, a sum
    only a few sets of sites reach; c (east) takes the rest."""
    west, east = (48.90, 2.30), (48.90, 2.60)
    values = [1000, 2000, 3000, 1500, 2500, 700]
    places = [west] * 6 + [east] * 2
    items = [
        item(f"s{n}", 10, v, lat=lat, lon=lon)
        for n, (v, (lat, lon)) in enumerate(zip([*values, 900, 1100], places, strict=True))
    ]
    members = [
        member("a", 200, lat=west[0], lon=west[1], annual_turnover=6000),
        member("c", 200, lat=east[0], lon=east[1]),
    ]
    p = problem(items, members, fairness_tolerance=0.0, max_dependency=0.5)
    return p, items, west, east


def _brute_force(p: Problem, items, west, east) -> float:
    """Shortest travel over every allocation where a earns exactly 3 000 € (its most)."""
    best = None
    for owners in itertools.product("ac", repeat=len(items)):
        earned = sum(float(it["value"]) for it, o in zip(items, owners, strict=True) if o == "a")
        if earned != 3000:
            continue
        km = sum(
            great_circle_km(it["lat"], it["lon"], *(west if o == "a" else east))
            for it, o in zip(items, owners, strict=True)
        )
        best = km if best is None else min(best, km)
    assert best is not None
    return best


def test_column_bound_is_below_the_optimum_and_above_the_lp() -> None:
    p, items, west, east = _exact_sum_tender()
    b, outcome = after_stages(p, 3.0)
    assert outcome.solution is not None
    b.model.minimize(b.travel)
    strong = travel_columns(b, outcome.solution, 5.0, dive=False).bound
    weak = lp_bound(b, 5.0, skip=frozenset({"stage_travel_fixed"}))
    best = _brute_force(p, items, west, east)
    assert strong is not None and weak is not None
    assert strong * 0.001 <= best + 1e-6
    assert strong > weak  # the exact sum the LP splits into fractions (87.7 km against 68.7)


def test_listed_sets_are_exactly_the_subsets_in_the_window() -> None:
    p, _items, _west, _east = _exact_sum_tender()
    b, _outcome = after_stages(p, 3.0)
    ctx = columns._Context(b)
    (a,) = [m for m in columns._members(b, ctx) if b.data.cocs[m.k].id == "a"]
    assert columns._listable(b, a)
    listed = columns._enumerate(b, ctx, a)
    assert listed != ()
    found = {frozenset(s) for s in listed[0]}
    values = b.data.values
    expected = {
        frozenset(c)
        for n in range(len(a.items) + 1)
        for c in itertools.combinations(a.items, n)
        if a.low <= sum(values[i] for i in c) <= a.high
    }
    assert found == expected and len(found) >= 2


def test_listed_sets_hold_the_members_pins() -> None:
    """With s0 (1 000 €) pinned to a, only the sets of 3 000 € that hold s0 are listed."""
    p, _items, _west, _east = _exact_sum_tender()
    p = p.model_copy(
        update={"policy": p.policy.model_copy(update={"pins": [Pin(item="s0", member="a")]})}
    )
    b, _outcome = after_stages(p, 3.0)
    ctx = columns._Context(b)
    (a,) = [m for m in columns._members(b, ctx) if b.data.cocs[m.k].id == "a"]
    listed = columns._enumerate(b, ctx, a)
    assert listed != ()
    s0 = next(i for i, it in enumerate(b.data.items) if it.id == "s0")
    assert a.pinned == {s0}
    values = b.data.values
    expected = {
        frozenset(c)
        for n in range(len(a.items) + 1)
        for c in itertools.combinations(a.items, n)
        if sum(values[i] for i in c) == a.low == a.high and s0 in c
    }
    assert {frozenset(s) for s in listed[0]} == expected and expected


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(problems(max_items=12, max_members=4, max_providers=2))
def test_listed_sets_keep_each_members_own_rules(
    monkeypatch: pytest.MonkeyPatch, p: Problem
) -> None:
    """Listing any member (not only the narrow windows priced by a scan) gives exactly the
    subsets of its sites within its window, holding its pins, with hours over its capacity
    within what may be lent to it and within max_provider_share of its hours (the caps on
    cells and sets lifted: a wide window on 12 sites of 20 000 € passes 1.5·10⁸ cells)."""
    b, ctx = _everything_listable(monkeypatch, p)
    d, share = b.data, p.policy.max_provider_share
    for m in columns._members(b, ctx):
        expected = set()
        for n in range(len(m.items) + 1):
            for c in itertools.combinations(m.items, n):
                hours = [
                    sum(d.items[i].hours for i in c if d.period_of[i] == t) for t in ctx.periods
                ]
                over = [max(0, h - d.cap.get((m.k, t), 0)) for t, h in enumerate(hours)]
                if (
                    m.low <= sum(d.values[i] for i in c) <= m.high
                    and m.pinned <= set(c)
                    and all(o <= m.recv_cap[t] for t, o in enumerate(over))
                    and (
                        share is None
                        or all(
                            SCALE * o <= scaled_floor(share) * h
                            for o, h in zip(over, hours, strict=True)
                        )
                    )
                ):
                    expected.add(frozenset(c))
        listed = columns._enumerate(b, ctx, m)
        found = {frozenset(s) for s in listed[0]} if listed != () else set()
        assert found == expected
        if listed != ():
            incidence, over = listed[1], listed[2]
            for s, row in zip(listed[0], incidence, strict=True):
                assert {m.items[q] for q in np.flatnonzero(row)} == s
            assert over.shape == (len(listed[0]), len(ctx.periods))


def test_a_member_whose_sites_are_all_pinned_elsewhere() -> None:
    """c may take both sites, but both are pinned to a: c's only set is the empty one."""
    items = [item(f"s{n}", 10, 100) for n in range(2)]
    members = [member("a", 40), member("c", 40, lat=48.95)]
    pins = [{"item": f"s{n}", "member": "a"} for n in range(2)]
    p = problem(items, members, pins=pins)
    b, outcome = after_stages(p)
    assert outcome.solution is not None
    bound = travel_columns(b, outcome.solution, 5.0, dive=False).bound
    assert bound is not None and bound <= model_value(b, "travel", outcome.solution)


def _lagrangian(b: Built, y: np.ndarray) -> float:
    """L(y) of columns.py at duals `y` (their signs clipped): a lower bound of travel, metres."""
    ctx = columns._Context(b)
    ms = columns._build_master(b, ctx)
    y = columns._signed(ms, y)
    end = time.perf_counter() + 5.0
    members = columns._members(b, ctx)
    priced = [columns._price(b, ctx, ms, m, y, end)[0] for m in members]
    return columns._lagrangian_fixed(ms, y) + sum(priced)


def test_first_duals_are_the_lps_and_start_above_the_nearest_members() -> None:
    """The generation starts from the sites' duals of the model's LP relaxation (one per
    site), not from distances: on the exact-sum tender the bound they give at once lies above
    the one at each site's nearest-member distance, and below the brute-force optimum."""
    p, items, west, east = _exact_sum_tender()
    b, outcome = after_stages(p, 3.0)
    assert outcome.solution is not None
    b.model.minimize(b.travel)
    duals = lp_site_duals(b, 5.0)
    assert duals is not None and set(duals) == set(range(len(items)))
    ms = columns._build_master(b, columns._Context(b))
    first = columns._first_duals(b, ms, time.perf_counter() + 5.0)
    assert all(abs(first[r] - duals[i]) <= 1e-9 for i, r in ms.item_row.items())
    nearest = np.zeros(len(ms.lower))
    for i, r in ms.item_row.items():
        nearest[r] = min(b.dist[(i, k)] for k in b.data.eligible[i])
    at_lp, at_nearest = _lagrangian(b, first), _lagrangian(b, nearest)
    assert at_nearest < at_lp <= _brute_force(p, items, west, east) * 1000 + 1e-3


def test_no_eligible_site_gives_a_zero_bound_and_no_crash() -> None:
    """No member has the sites' trade: the master would have no column at all (CLP crashed on
    such a model, killing the process, when a travel stage had time for column generation);
    there is no travel to bound."""
    items = [item(f"s{n}", 10, 100, trade="vitrerie") for n in range(3)]
    p = problem(items, [member("a", 40), member("c", 40, lat=48.95)])
    b, outcome = after_stages(p)
    assert outcome.solution is not None
    assert model_value(b, "travel", outcome.solution) == 0
    found = columns.travel_columns(b, outcome.solution, 2.0)
    assert found.bound == 0 and found.sites is None
    lp = columns._LP(columns._Master(), [])
    assert lp.duals(time.perf_counter() + 1.0) is None  # not handed to CLP


def test_the_box_holds_the_site_duals_and_is_taken_away_after() -> None:
    """Boxstep (columns.BOX_SHARE): with the box on, every site dual of the master lies within
    the width of the centre, and a centre far below the sites' worth makes the master cover
    sites by the box's slack; once taken away, the master's optimum is again the one without
    it (where c's empty set has no use)."""
    p, _items, _west, _east = _exact_sum_tender()
    b, outcome = after_stages(p, 3.0)
    assert outcome.solution is not None
    ctx = columns._Context(b)
    ms = columns._build_master(b, ctx)
    members = columns._members(b, ctx)
    (a,) = [m for m in members if b.data.cocs[m.k].id == "a"]
    (c,) = [m for m in members if b.data.cocs[m.k].id == "c"]
    lp = columns._LP(ms, members)
    for sites in columns._enumerate(b, ctx, a)[0]:  # a's every set, c takes the rest
        lp.add(columns._column(b, ctx, ms, a.k, sites))
        lp.add(columns._column(b, ctx, ms, c.k, set(c.items) - sites))
    lp.add(columns._column(b, ctx, ms, c.k, set()))  # c takes nothing: the sites need slack
    end = time.perf_counter() + 5.0
    free = lp.duals(end)
    assert free is not None and not lp.boxed()
    for center, width in ((5_000.0, 100.0), (0.0, 1.0)):
        lp.box(np.full(len(ms.lower), center), width)
        boxed = lp.duals(end)
        assert boxed is not None
        assert all(abs(boxed[0][r] - center) <= width + 1e-6 for r in ms.item_row.values())
    assert lp.boxed()  # a site covered by slack at 1 m: cheaper than any member's km
    lp.unbox()
    again = lp.duals(end)
    assert again is not None and not lp.boxed()
    assert abs(again[2] - free[2]) <= 1e-6 * max(1.0, abs(free[2]))


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(problems(max_items=10, max_members=3, max_providers=2), st.integers(0, 2**32 - 1))
def test_pricing_at_huge_reduced_costs_stays_a_bound(
    monkeypatch: pytest.MonkeyPatch, p: Problem, seed: int
) -> None:
    """A dive's slack on the covered-value row (one unit a cent) may give reduced costs of
    10¹⁶ m a site (sweep variant 1381: CP-SAT refused the scaled coefficients, a crash): the
    pricing still answers, and its value is at most the cheapest of the member's sets, listed
    by brute force (columns._enumerate, its caps lifted)."""
    b, ctx = _everything_listable(monkeypatch, p)
    rng = np.random.default_rng(seed)
    priced = 0
    for m in columns._members(b, ctx):
        listed = columns._enumerate(b, ctx, m) if m.items else ()
        if listed == ():
            continue
        columns._build_pricing(b, ctx, m)
        site = {i: float(rng.uniform(-6e16, 6e16)) for i in m.items}
        over = {t: float(rng.uniform(-6e16, 0)) for t in m.over}
        value, sets = columns._price_cp(b, ctx, m, site, over, time.perf_counter() + 5.0)
        every, incidence, overs = listed
        costs = incidence @ np.array([site[i] for i in m.items])
        costs += overs @ np.array([over.get(t, 0.0) for t in ctx.periods])
        cheapest = float(costs.min())
        assert value <= cheapest + 1e-9 * abs(cheapest) and sets
        assert {frozenset(s) for s in sets} <= {frozenset(s) for s in every}
        priced += 1
    assume(priced)


def _everything_listable(
    monkeypatch: pytest.MonkeyPatch, p: Problem
) -> tuple[Built, columns._Context]:
    """The tender after its stages, with listing's caps on cells and sets lifted (hypothesis
    skips tenders with pin problems or no allocation)."""
    monkeypatch.setattr(columns, "ENUM_CELLS", 10**10)
    monkeypatch.setattr(columns, "ENUM_SETS", 10**6)
    assume(not prepare(p).pin_problems)
    b, outcome = after_stages(p)
    assume(outcome.solution is not None)
    return b, columns._Context(b)
