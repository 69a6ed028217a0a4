"""Edge cases: nothing to do, nobody to do it, zero capacity, undeclared periods, null rules."""

from __future__ import annotations

from tests.allocation.helpers import item, member, problem, provider, solved, text


def test_no_items() -> None:
    a = solved(problem([], [member("A", 100)]))
    assert a.status == "optimal" and a.assignments == [] and a.unassigned == []


def test_no_members() -> None:
    a = solved(problem([item("S1", 10, 100)], []))
    assert a.unassigned == ["S1"]
    assert "aucun cotraitant" in text(a)


def test_nobody_has_the_trade_territory_is_named() -> None:
    a = solved(
        problem([item("S1", 10, 100), item("S2", 10, 100, trade="vitrerie")], [member("A", 100)])
    )
    assert a.unassigned == ["S2"]
    assert "aucun cotraitant n'a le métier « vitrerie »" in text(a)
    assert "Est Ensemble" in text(a)


def test_zero_capacity_and_undeclared_period() -> None:
    """A declared 0 h in P1 and nothing for P2: neither site can be taken."""
    a = solved(problem([item("S1", 10, 100), item("S2", 10, 100, period="P2")], [member("A", 0)]))
    assert sorted(a.unassigned) == ["S1", "S2"]
    assert "capacités" in text(a)


def test_declined_members_take_nothing() -> None:
    a = solved(problem([item("S1", 10, 100)], [member("A", 100, declined=True), member("B", 100)]))
    assert a.member_of() == {"S1": "B"}


def test_all_rules_with_defaults() -> None:
    """The default policy (every rule on) on a small feasible case."""
    from coop_tender.allocation import solve
    from coop_tender.checker import check
    from coop_tender.models import Policy

    p = problem(
        [item("S1", 100, 1000), item("S2", 50, 600)],
        [member("A", 120, kind="EI"), member("B", 80), provider("P", 60, workers=1)],
    )
    p = p.model_copy(update={"policy": Policy()})
    a = solve(p, time_limit=5)
    assert check(p, a) == []
    assert a.unassigned == []
