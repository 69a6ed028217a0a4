"""Independent regions: found from the eligibility graph, and searched one at a time."""

from __future__ import annotations

import importlib
import time

import pytest

from bench.instances import scaled, seed_problem
from coop_tender.allocation import lns, solve
from coop_tender.allocation.figures import model_value
from coop_tender.allocation.hint import greedy
from coop_tender.allocation.model import build_model
from coop_tender.allocation.solve import Solution, fix_rules, lend_only, new_solver, read_solution
from coop_tender.checker import check
from coop_tender.models import Problem
from tests.allocation.test_reported_figures import assert_figures_are_real
from tests.conftest import EXAMPLE


@pytest.fixture(scope="module")
def two_regions() -> Problem:
    """Two copies, side by side, of the benchmark's seed (whose fairness is hard to reach)."""
    return scaled(2, seed_problem())


def test_nothing_to_do_when_everyone_is_inside_its_window() -> None:
    if not (EXAMPLE / "workspace.json").exists():
        pytest.skip("data/examples/colleges-93 is not built yet")
    from coop_tender.workspace import Workspace

    b = build_model(scaled(2, Workspace.open(EXAMPLE).problem()))
    fix_rules(b)
    x, lend = greedy(b.data)
    b.model.minimize(b.turnover_excess)
    start = lend_only(b, Solution(x=x, lend=lend), 2.0, 2)
    if model_value(b, "turnover_fairness", start) == 0:
        assert lns.improve_fairness_by_group(
            b, start, time.perf_counter() + 1.0, 2, lns.components(b)
        ) == (start, 0)


def test_components_are_the_copies(two_regions: Problem) -> None:
    b = build_model(two_regions)
    groups = lns.components(b)
    names = [{b.data.cocs[k].id[:3] for k in g} for g in groups]
    assert sorted(map(sorted, names)) == [["x00"], ["x01"]]
    assert sum(map(len, groups)) == len(b.data.cocs)


def test_region_search_never_worsens_and_reports_its_value(two_regions: Problem) -> None:
    b = build_model(two_regions)
    fix_rules(b)
    x, lend = greedy(b.data)
    b.model.minimize(b.turnover_excess)
    start = lend_only(b, Solution(x=x, lend=lend), 2.0, 2)
    before = model_value(b, "turnover_fairness", start)
    sol, value = lns.improve_fairness_by_group(
        b, start, time.perf_counter() + 6.0, 2, lns.components(b)
    )
    assert value == model_value(b, "turnover_fairness", sol) <= before
    # The solution is one CP-SAT accepts on the whole model, sites fixed as found.
    for key, var in b.x.items():
        b.model.add(var == sol.x.get(key, 0))
    solver = new_solver(5.0, 2)
    assert solver.solve(b.model) in (2, 4)  # FEASIBLE or OPTIMAL
    assert read_solution(b, solver).x == sol.x


def test_solve_by_region_passes_the_checker(
    two_regions: Problem, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real = lns.improve_fairness_by_group

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    module = importlib.import_module("coop_tender.allocation.solve")
    monkeypatch.setattr(module, "improve_fairness_by_group", spy)
    # Without the exact sets of tight.reach_floor (which prove this tender's fairness before
    # any region search, see test_two_regions_reach_the_fairness_floor).
    monkeypatch.setattr(module, "reach_floor", lambda b, sol, value, *_args: (sol, value))
    allocation = solve(two_regions, time_limit=14.0)
    assert calls, "two regions and enough time: the search goes region by region"
    assert check(two_regions, allocation) == []
    assert_figures_are_real(two_regions, allocation)


def test_two_regions_reach_the_fairness_floor(two_regions: Problem) -> None:
    """Each copy's member capped by rule 6 gets a set worth exactly its cap (tight.reach_floor):
    the stage is proven at the solver-free floor, and the answer passes the checker."""
    allocation = solve(two_regions, time_limit=14.0)
    stage = next(s for s in allocation.stages if s.name == "turnover_fairness")
    assert stage.status == "optimal" and stage.value == stage.bound
    assert check(two_regions, allocation) == []
    assert_figures_are_real(two_regions, allocation)
