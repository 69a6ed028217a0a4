"""The column dive of the travel stage (allocation/columns.py, `_dive`).

Its sites must form an allocation that keeps every rule once lent hours are solved for them
(whole sites, each once, each member within its band): checked by the independent checker
on random tenders with the dive forced on, and against the brute-force optimum of a small
tender with an exact-sum window.
"""

from __future__ import annotations

import importlib
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coop_tender.allocation import columns
from coop_tender.allocation.figures import model_value
from coop_tender.allocation.lns import components
from coop_tender.allocation.model import build_model, prepare
from coop_tender.allocation.tight import bands
from coop_tender.checker import check
from coop_tender.models import Problem
from tests.allocation.helpers import after_stages
from tests.allocation.test_columns import _brute_force, _exact_sum_tender
from tests.strategies import problems

solve_module = importlib.import_module("coop_tender.allocation.solve")


def test_the_dive_reaches_whole_sites_within_each_band_and_no_shorter_than_the_optimum() -> None:
    p, items, west, east = _exact_sum_tender()
    b, outcome = after_stages(p, 3.0)
    assert outcome.solution is not None
    b.model.minimize(b.travel)
    found = columns.travel_columns(b, outcome.solution, 5.0)
    assert found.sites is not None and found.bound is not None
    owners = Counter(i for i, _k in found.sites)
    assert set(owners) == set(range(len(items))) and set(owners.values()) == {1}
    assert found.sites <= set(b.x)  # eligible pairs only
    value = Counter()
    for i, k in found.sites:
        value[k] += b.data.values[i]
    low_high = bands(b)
    assert low_high is not None
    assert all(low_high[k][0] <= v <= low_high[k][1] for k, v in value.items())
    km = sum(b.dist[pair] for pair in found.sites)
    assert found.bound <= km
    assert _brute_force(p, items, west, east) * 1000 <= km + len(items)  # metres, rounded


def test_allocations_through_the_dive_pass_the_checker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Column generation and its dive forced into every travel stage, however short, and the
    dive's allocation taken whenever the full model accepts it, even travelling more: every
    answer passes the checker, and most dives must have been taken, or this would prove
    nothing (whether a dive travels less than the allocation in hand depends on the tender)."""
    monkeypatch.setattr(solve_module, "COLUMN_SECONDS_PER_MEMBER", 0.0)
    monkeypatch.setattr(solve_module, "COLUMN_SECONDS_PER_PAIR", 0.0)
    taken: Counter = Counter()

    def taking(b, sol, sites, seconds, workers):
        candidate = solve_module.dive_allocation(b, sol, sites, seconds, workers)
        taken["dives"] += 1
        taken["taken"] += candidate is not sol or sol.x == {k: int(k in sites) for k in b.x}
        return candidate

    monkeypatch.setattr(solve_module, "_dived", taking)
    _random_tenders_pass_the_checker(problems(max_items=12, max_members=5, max_providers=2), 30)
    print(dict(taken))
    assert taken["dives"] >= 10 and taken["taken"] >= taken["dives"] // 2


def test_region_by_region_columns_give_valid_allocations_and_bounds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Column generation region by region forced into every travel stage of a tender with
    several regions (the global one ruled out, partial tenders let in): every answer passes
    the checker, and the regions' bounds added up never exceed the travel of the allocation in
    hand nor that of the dives' sites. Enough tenders must have gone that way, or this would
    prove nothing."""
    monkeypatch.setattr(solve_module, "COLUMN_SHARE", -1.0)
    monkeypatch.setattr(solve_module, "must_cover", lambda b: [])  # partial tenders too
    monkeypatch.setattr(solve_module, "COLUMN_SECONDS_PER_MEMBER", 0.0)
    monkeypatch.setattr(solve_module, "COLUMN_SECONDS_PER_PAIR", 0.0)
    seen: Counter = Counter()
    by_region = solve_module.travel_columns_by_region

    def counting(b, sol, regions, seconds, workers):
        found = by_region(b, sol, regions, seconds, workers)
        seen["runs"] += 1
        if found.bound is not None:
            assert found.bound <= model_value(b, "travel", sol)
            if found.sites is not None:
                assert found.bound <= sum(b.dist[pair] for pair in found.sites)
        seen["bounds"] += found.bound is not None
        seen["sites"] += found.sites is not None
        return found

    monkeypatch.setattr(solve_module, "travel_columns_by_region", counting)
    several = problems(max_items=12, max_members=6, max_providers=2).filter(_several_regions)
    _random_tenders_pass_the_checker(several, 25)
    print(dict(seen))
    assert seen["runs"] >= 5 and seen["bounds"] >= 3 and seen["sites"] >= 3


def _random_tenders_pass_the_checker(tenders: st.SearchStrategy[Problem], examples: int) -> None:
    """Solve random small tenders (2 s each) and check every answer with the checker."""

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(tenders)
    def each(p: Problem) -> None:
        allocation = solve_module.solve(p, time_limit=2.0)
        assert check(p, allocation) == []

    each()


def _several_regions(p: Problem) -> bool:
    """Whether the tender's co-contractors split into regions no site links (lns.components)."""
    data = prepare(p)
    return not data.pin_problems and len(components(build_model(p, data))) > 1


def test_regions_after_a_late_dive_only_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Region by region, a dive that runs out of time (here: its region given none) marks the
    machine too slow for dives: the regions after it are bounded without one, in less time
    than their share, and no dive's sites come back."""
    from bench.instances import scaled, seed_problem

    b, outcome = after_stages(scaled(2, seed_problem()), 6.0)
    assert outcome.solution is not None
    regions = components(b)
    assert len(regions) == 2
    real = columns.travel_columns
    calls: list[tuple[float, bool, bool]] = []  # (seconds, dive, late)

    def first_starved(b, sol, seconds, workers=1, dive=True, **kw):
        seconds = 0.0 if not calls else seconds
        found = real(b, sol, seconds, workers, dive=dive, **kw)
        calls.append((seconds, dive, found.late))
        return found

    monkeypatch.setattr(columns, "travel_columns", first_starved)
    found = columns.travel_columns_by_region(b, outcome.solution, regions, 6.0, 2)
    assert [(dive, late) for _s, dive, late in calls] == [(True, True), (False, False)]
    assert calls[1][0] <= 6.0 * columns.REGION_LATE_SHARE + 1e-9
    assert found.sites is None


def test_a_tender_of_several_regions_is_generated_region_by_region_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When both fit, a tender of several regions gets one column generation per region, never
    one over the whole tender (its master grows with every region: ×10's took 1.8 s a solve and
    its dive ran out of time); the answer passes the checker."""
    from bench.instances import scaled, seed_problem

    monkeypatch.setattr(solve_module, "COLUMN_SECONDS_PER_MEMBER", 0.01)
    monkeypatch.setattr(solve_module, "COLUMN_SECONDS_PER_PAIR", 0.0)
    calls: Counter = Counter()
    by_region = solve_module.travel_columns_by_region

    def whole(*args, **kwargs):
        calls["whole"] += 1
        raise AssertionError("one column generation over several regions")

    def regional(b, sol, regions, seconds, workers):
        calls["regions"] += 1
        assert len(regions) == 2
        return by_region(b, sol, regions, seconds, workers)

    monkeypatch.setattr(solve_module, "travel_columns", whole)
    monkeypatch.setattr(solve_module, "travel_columns_by_region", regional)
    p = scaled(2, seed_problem())
    allocation = solve_module.solve(p, time_limit=8.0)
    assert calls == Counter(regions=1)
    assert check(p, allocation) == []


def test_the_build_is_timed_without_garbage_collection_and_leaves_it_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A collection landing in the build made `pace` read up to 1.67 × on a machine that reads
    1.0 without: the build runs with collection off, which is switched back as it was."""
    import gc

    p = _exact_sum_tender()[0]
    seen: list[bool] = []
    real = solve_module.build_model

    def spying(*args):
        seen.append(gc.isenabled())
        return real(*args)

    monkeypatch.setattr(solve_module, "build_model", spying)
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            b, seconds = solve_module.timed_build(p, prepare(p))
            assert gc.isenabled() is enabled and seconds > 0 and b.x
    finally:
        gc.enable()
    assert seen == [False, False]
