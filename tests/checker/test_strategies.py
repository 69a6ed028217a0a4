"""The random-problem strategy yields valid Problems, and the checker judges empty answers right."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from coop_tender.checker import check, fairness_excess
from coop_tender.models import Allocation, Problem, Role, check_siret
from tests.strategies import problems

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def empty(problem: Problem) -> Allocation:
    return Allocation(status="feasible", unassigned=[i.id for i in problem.tender.items])


@SETTINGS
@given(problems())
def test_strategy_yields_valid_problems(problem: Problem) -> None:
    again = Problem.model_validate_json(problem.model_dump_json())
    assert again == problem
    assert 2 <= len(problem.tender.items) <= 25
    cocontractors = [m for m in problem.members if m.role is Role.COCONTRACTOR]
    assert 2 <= len(cocontractors) <= 8
    assert len(problem.members) - len(cocontractors) <= 3
    for m in problem.members:
        assert check_siret(m.siret) == m.siret


@SETTINGS
@given(problems())
def test_empty_allocation_is_valid_exactly_when_nothing_is_required(problem: Problem) -> None:
    messages = check(problem, empty(problem))
    needs_something = bool(problem.policy.pins) or problem.tender.insertion_hours_min > 0
    assert (messages != []) == needs_something, messages
    if problem.policy.pins:
        assert any(m.startswith("Règle 1") for m in messages)
    if problem.tender.insertion_hours_min > 0:
        assert any(m.startswith("Règle 7") for m in messages)
    assert all(v == 0 for v in fairness_excess(problem, empty(problem)).values())


@SETTINGS
@given(problems(max_items=6, max_members=3))
def test_a_site_given_to_a_provider_or_an_unknown_member_is_flagged(problem: Problem) -> None:
    item = problem.tender.items[0].id
    rest = [i.id for i in problem.tender.items[1:]]
    wrong = Allocation(
        status="feasible",
        assignments=[{"item": item, "member": "inconnu"}],
        unassigned=rest,
    )
    assert any("membre inconnu" in m for m in check(problem, wrong))
