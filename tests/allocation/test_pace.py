"""The column phase of the travel stage runs only when it fits at the machine's pace
(allocation/solve.py, `pace` and `_column_need`): a dive that runs out of time leaves the
stage's start, so a slow machine must fall back to the searches instead."""

from __future__ import annotations

import importlib
import time

import pytest

from coop_tender.allocation.model import build_model, prepare
from coop_tender.checker import check
from coop_tender.models import Problem
from tests.allocation.helpers import item, member, problem

solve_module = importlib.import_module("coop_tender.allocation.solve")


def _tender() -> Problem:
    """Six sites, three members spread over 20 km: a travel stage with choices to make."""
    items = [
        item(f"s{n}", 10, 1000 + 100 * n, lat=48.90 + 0.02 * n, lon=2.40 + 0.01 * n)
        for n in range(6)
    ]
    members = [
        member(f"m{n}", 40, lat=48.90 + 0.05 * n, lon=2.40 + 0.02 * n, annual_turnover="100000")
        for n in range(3)
    ]
    return problem(items, members, target="equal", fairness_tolerance=0.1)


def test_pace_reads_a_slower_build_as_a_slower_machine() -> None:
    per_pair = solve_module.BUILD_SECONDS_PER_PAIR
    pairs = 4 * solve_module.MIN_PACE_PAIRS
    assert solve_module.pace(0.5 * per_pair * pairs, pairs) == 1.0  # faster: never below 1
    assert solve_module.pace(per_pair * pairs, pairs) == pytest.approx(1.0)
    assert solve_module.pace(2.5 * per_pair * pairs, pairs) == pytest.approx(2.5)
    # A tiny model's build is mostly fixed costs: it counts as MIN_PACE_PAIRS pairs.
    assert solve_module.pace(per_pair * solve_module.MIN_PACE_PAIRS, 10) == pytest.approx(1.0)


@pytest.mark.parametrize("slowness, runs", [(1.0, True), (1e6, False)])
def test_the_column_phase_runs_only_when_it_fits_at_the_machine_pace(
    monkeypatch: pytest.MonkeyPatch, slowness: float, runs: bool
) -> None:
    """Needing 0.01 s a member, the column phase fits a 3-s solve at the reference pace and
    not on a machine a million times slower; either way the answer passes the checker."""
    monkeypatch.setattr(solve_module, "COLUMN_SECONDS_PER_MEMBER", 0.01)
    monkeypatch.setattr(solve_module, "COLUMN_SECONDS_PER_PAIR", 0.0)
    calls = []
    original = solve_module.travel_columns

    def counting(*args, **kwargs):
        calls.append(args[2])  # the seconds it was given
        return original(*args, **kwargs)

    monkeypatch.setattr(solve_module, "travel_columns", counting)
    p = _tender()
    b = build_model(p, prepare(p))
    solve_module.fix_rules(b)
    outcome = solve_module.run_stages(b, time.perf_counter() + 3.0, 1, slowness=slowness)
    assert outcome.solution is not None
    assert bool(calls) is runs


def test_solve_reads_the_pace_from_its_own_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """solve() passes the pace of its model's build to the stages: a machine read as a million
    times slower gets no column phase, and still a checked answer."""
    monkeypatch.setattr(solve_module, "COLUMN_SECONDS_PER_MEMBER", 0.01)
    monkeypatch.setattr(solve_module, "COLUMN_SECONDS_PER_PAIR", 0.0)
    seen: list[tuple[float, int]] = []
    calls = []

    def slow(build_seconds: float, pairs: int) -> float:
        seen.append((build_seconds, pairs))
        return 1e6

    monkeypatch.setattr(solve_module, "pace", slow)
    monkeypatch.setattr(solve_module, "travel_columns", lambda *a, **k: calls.append(a))
    p = _tender()
    allocation = solve_module.solve(p, time_limit=3.0)
    assert check(p, allocation) == []
    assert len(seen) == 1 and seen[0][0] > 0 and seen[0][1] == 18  # 6 sites × 3 members
    assert calls == []
