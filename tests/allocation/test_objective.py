"""The lexicographic objective on problems whose optimum is derived by hand."""

from __future__ import annotations

from tests.allocation.helpers import item, lent, member, owners, problem, provider, solved


def test_equal_targets_then_travel() -> None:
    """Two sites near A, two near B, all worth 100 €: equal shares (2 each) and nearest wins."""
    items = [
        item("S1", 10, 100, lon=2.40),
        item("S2", 10, 100, lon=2.40),
        item("S3", 10, 100, lon=2.50),
        item("S4", 10, 100, lon=2.50),
    ]
    members = [member("A", 100, lon=2.40), member("B", 100, lon=2.50)]
    a = solved(problem(items, members, target="equal", fairness_tolerance=0.0))
    assert owners(a) == {"S1": "A", "S2": "A", "S3": "B", "S4": "B"}
    assert a.status == "optimal"
    assert [s.status for s in a.stages] == ["optimal"] * 4
    assert a.stages[1].value == 0 and a.stages[3].value == 0


def test_capacity_targets() -> None:
    """A declares 30 h, B 10 h: targets 75 % / 25 % of 400 € → A three sites, B one."""
    items = [item(f"S{k}", 10, 100) for k in range(4)]
    a = solved(
        problem(
            items, [member("A", 30), member("B", 10)], target="capacity", fairness_tolerance=0.0
        )
    )
    counts = {m: list(owners(a).values()).count(m) for m in ("A", "B")}
    assert counts == {"A": 3, "B": 1}
    result = {m.member: m for m in a.members}
    assert result["A"].target == 0.75 and result["A"].excess == 0


def test_target_dict_missing_member_gets_zero() -> None:
    """{"A": 2} → A 100 %, B 0 %: everything to A (it has the capacity)."""
    items = [item(f"S{k}", 10, 100) for k in range(4)]
    a = solved(
        problem(items, [member("A", 40), member("B", 40)], target={"A": 2}, fairness_tolerance=0.0)
    )
    assert set(owners(a).values()) == {"A"}


def test_coverage_comes_before_fairness() -> None:
    """A can take one site, B three: all four covered although equal shares would want 2/2."""
    items = [item(f"S{k}", 10, 100) for k in range(4)]
    a = solved(
        problem(items, [member("A", 10), member("B", 30)], target="equal", fairness_tolerance=0.0)
    )
    assert a.unassigned == [] and str(a.covered_value) == "400.00"
    assert a.stages[1].value == 100  # B holds 300 € for a 200 € target
    b = next(m for m in a.members if m.member == "B")
    assert b.excess == 100


def test_provider_fairness_splits_by_capacity() -> None:
    """40 h must be lent (60 h own for 100 h); P1 and P2 declare 40 h each → 20 h each."""
    members = [member("A", 60), provider("P1", 40), provider("P2", 40)]
    a = solved(
        problem([item("S1", 100, 1000)], members, max_provider_share=0.4, fairness_tolerance=0.0)
    )
    assert lent(a) == {("P1", "A"): 20, ("P2", "A"): 20}
    assert a.stages[2].value == 0


def test_member_results_add_up() -> None:
    items = [item("S1", 10, 100, lon=2.40), item("S2", 20, 250, lon=2.50)]
    a = solved(
        problem(
            items,
            [member("A", 100, lon=2.40, insertion_rate=0.5), member("B", 100, lon=2.50)],
            target="equal",
        )
    )
    result = {m.member: m for m in a.members}
    assert result["A"].items == ["S1"] and result["B"].items == ["S2"]
    assert result["A"].insertion_hours == 5 and a.insertion_hours == 5
    assert str(result["B"].value) == "250.00"
    assert abs(result["B"].share - 250 / 350) < 1e-9
    assert all(m.explanation for m in a.members)
