"""The solver-free bounds (figures.fairness_floor, travel_floor, coverage_ceiling) never pass
what an allocation reaches: checked on random problems against the solution found, whatever it
is, and the coverage ceiling against the optimum CP-SAT proves."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, assume, given, settings
from ortools.sat.python import cp_model

from bench.instances import seed_problem, tight
from coop_tender.allocation.figures import (
    coverage_ceiling,
    fairness_floor,
    model_value,
    travel_floor,
)
from coop_tender.allocation.model import build_model, prepare
from coop_tender.allocation.solve import fix_rules, new_solver, run_stages
from coop_tender.models import Problem
from tests.allocation.helpers import item, member, problem, provider
from tests.strategies import problems


def _stages(p: Problem, seconds: float):
    data = prepare(p)
    b = build_model(p, data)
    fix_rules(b)
    return b, run_stages(b, time.perf_counter() + seconds, workers=1)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(problems(max_items=14, max_members=5, max_providers=3))
def test_floors_never_exceed_a_solution(p: Problem) -> None:
    assume(not prepare(p).pin_problems)
    b, outcome = _stages(p, 1.0)
    assume(outcome.solution is not None)
    assert fairness_floor(b) <= model_value(b, "turnover_fairness", outcome.solution)
    assert travel_floor(b) <= model_value(b, "travel", outcome.solution)


def test_fairness_floor_on_the_seed_case_is_the_member_capped_by_its_dependency() -> None:
    """On the benchmark's seed case the floor is tight: the proven optimum (12 738.50 €) is the
    shortfall of the co-contractor whose dependency cap (rule 6) stops it below its window."""
    b, outcome = _stages(seed_problem(), 4.0)
    floor = fairness_floor(b)
    assert 0 < floor <= model_value(b, "turnover_fairness", outcome.solution)
    assert round(floor / b.fair.unit / 100, 2) == 12738.50


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(problems(max_items=14, max_members=5, max_providers=3))
def test_coverage_ceiling_is_above_the_proven_optimum(p: Problem) -> None:
    assume(not prepare(p).pin_problems)
    b = build_model(p, prepare(p))
    fix_rules(b)
    b.model.maximize(b.covered)
    solver = new_solver(10.0, 1)  # the engine's settings, its presolve workaround included
    assume(solver.solve(b.model) == cp_model.OPTIMAL)
    assert coverage_ceiling(b) >= round(solver.objective_value)


def test_coverage_ceiling_counts_the_hours_of_each_region_once() -> None:
    """Five 10-h sites of 1 000 €: three in T1 for a (15 h) and c (5 h), two in T2 for e
    (10 h); a provider of 30 h lends in T1 only, and at most 25 % of a member's hours. Region
    T1 can work 15/0.75 + 5/0.75 = 26.67 h, 2 666.67 € of sites at most; T2 10 h, 1 000 €
    (pooled over both regions, 36.67 h would allow 3 666.67 €)."""
    items = [item("s1", 10, 1000), item("s2", 10, 1000), item("s5", 10, 1000)]
    items += [item("s3", 10, 1000, territory="T2"), item("s4", 10, 1000, territory="T2")]
    members = [member("a", 15), member("c", 5), member("e", 10, territories=["T2"])]
    members.append(provider("ai", 30))
    p = problem(items, members, max_provider_share=0.25)
    b = build_model(p, prepare(p))
    fix_rules(b)
    assert coverage_ceiling(b) == 366_666  # cents, rounded down: 2 666.67 € + 1 000 €


def test_coverage_ceiling_on_the_tight_case_is_below_the_total() -> None:
    """The benchmark's partial tender: summer capacity is short, so the ceiling is below the
    value on offer, and above what the staged solve covers."""
    b, outcome = _stages(tight(), 3.0)
    ceiling = coverage_ceiling(b)
    total = sum(b.data.values)
    assert model_value(b, "coverage", outcome.solution) <= ceiling < 0.95 * total
