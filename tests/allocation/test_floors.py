"""The solver-free bounds (figures.fairness_floor, travel_floor) never exceed what an
allocation reaches: checked on random problems against the solution found, whatever it is."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, assume, given, settings

from bench.instances import seed_problem
from coop_tender.allocation.figures import fairness_floor, model_value, travel_floor
from coop_tender.allocation.model import build_model, prepare
from coop_tender.allocation.solve import fix_rules, run_stages
from coop_tender.models import Problem
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
