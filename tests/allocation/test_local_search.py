"""The travel local search (allocation/local.py) keeps every rule: its answers pass the
independent checker, stay within the fixed fairness values, and never lengthen travel."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, assume, given, settings

from coop_tender.allocation.figures import exact_value
from coop_tender.allocation.local import TravelSearch
from coop_tender.allocation.model import build_model, prepare
from coop_tender.allocation.report import build_allocation
from coop_tender.allocation.solve import Solution, fix_rules, run_stages
from coop_tender.checker import check
from coop_tender.models import Problem
from tests.allocation.helpers import item, member, problem, provider
from tests.strategies import problems


def _annealed(p: Problem, seconds: float = 0.3, seed: int = 0):
    """Solve the four stages briefly, then anneal from that solution; returns (built, outcome,
    the stage-4 solution, the annealed one)."""
    data = prepare(p)
    assume(not data.pin_problems)  # solve() answers those without a model
    b = build_model(p, data)
    fix_rules(b)
    outcome = run_stages(b, time.perf_counter() + 1.0, workers=1)
    assume(outcome.solution is not None)
    search = TravelSearch(b, outcome.solution)
    search.anneal(time.perf_counter() + seconds, seed=seed)
    search.descend(time.perf_counter() + 0.2)
    return b, outcome, outcome.solution, search.solution(Solution)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(problems(max_items=14, max_members=5, max_providers=3))
def test_annealing_keeps_every_rule_and_stage(p: Problem) -> None:
    b, outcome, before, after = _annealed(p)
    outcome.solution = after
    allocation = build_allocation(p, b.data, outcome, [], "test")
    assert check(p, allocation) == []
    for name in ("coverage", "turnover_fairness", "provider_fairness"):
        assert exact_value(b, name, after) == exact_value(b, name, before), name
    assert exact_value(b, "travel", after) <= exact_value(b, "travel", before)


def test_a_site_moves_to_the_nearer_member_with_the_hours_lent_for_it() -> None:
    """Two sites, each at the wrong member; the larger one needs 30 hours lent by a provider.
    Swapping them only works if the lent hours follow the larger site: the search must do it."""
    near_a, near_c = (48.90, 2.40), (48.90, 2.60)
    p = problem(
        [
            item("s1", 100, 1000, lat=near_a[0], lon=near_a[1]),
            item("s2", 130, 1000, lat=near_c[0], lon=near_c[1]),
        ],
        [
            member("a", 100, lat=near_a[0], lon=near_a[1]),
            member("c", 100, lat=near_c[0], lon=near_c[1]),
            provider("ai", 30),
        ],
        max_provider_share=0.3,
        min_provider_share=0.1,
    )
    data = prepare(p)
    b = build_model(p, data)
    fix_rules(b)
    a, c = (next(k for k, m in enumerate(data.cocs) if m.id == ident) for ident in "ac")
    crossed = Solution(
        x={(0, a): 0, (0, c): 1, (1, a): 1, (1, c): 0},
        lend={key: 0 for key in b.lend} | {(0, a, 0): 30},
    )
    search = TravelSearch(b, crossed)
    assert search.travel > 0
    search.descend(time.perf_counter() + 1.0)
    result = search.solution(Solution)
    assert result.x[(0, a)] == 1 and result.x[(1, c)] == 1  # each site at its nearer member
    assert result.lend[(0, c, 0)] == 30 and result.lend[(0, a, 0)] == 0  # lent hours followed s2
    assert search.travel == 0
