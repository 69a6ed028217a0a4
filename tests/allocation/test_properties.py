"""The solver's answers pass the independent checker on random problems and on the example."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from coop_tender.allocation import solve
from coop_tender.checker import check
from coop_tender.models import Problem
from tests.conftest import EXAMPLE
from tests.strategies import problems


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(problems(max_items=12, max_members=5, max_providers=2))
def test_random_problems_pass_the_checker(problem: Problem) -> None:
    allocation = solve(problem, time_limit=1.0)
    assert check(problem, allocation) == []
    assert allocation.explanation
    if allocation.status == "infeasible":
        assert allocation.assignments == [] and allocation.provider_hours == []
    else:
        assert len(allocation.assignments) + len(allocation.unassigned) == len(problem.tender.items)
        assert {s.name for s in allocation.stages} == {
            "coverage",
            "turnover_fairness",
            "provider_fairness",
            "travel",
        }


def test_example_workspace_passes_the_checker() -> None:
    if not (EXAMPLE / "workspace.json").exists():
        pytest.skip("data/examples/colleges-93 is not built yet")
    from coop_tender.workspace import Workspace

    problem = Workspace.open(EXAMPLE).problem()
    allocation = solve(problem, time_limit=5.0)
    assert check(problem, allocation) == []
    assert allocation.status in ("optimal", "feasible")
    assert allocation.covered_value > 0
    assert all(m.explanation for m in allocation.members)
