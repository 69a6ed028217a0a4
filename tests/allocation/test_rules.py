"""Each hard rule on a tiny problem whose answer is derived by hand in the docstring.

Every allocation also goes through the independent checker (helpers.solved).
"""

from __future__ import annotations

from tests.allocation.helpers import item, lent, member, owners, problem, provider, solved, text


def test_trade_territory_distance_leave_one_eligible_member() -> None:
    """A lacks the trade, B serves another territory, C is ~22 km away (limit 10): only D."""
    p = problem(
        [item("S1", 10, 100)],
        [
            member("A", 100, trades=["vitrerie"]),
            member("B", 100, territories=["T2"]),
            member("C", 100, lat=49.10),
            member("D", 100, lat=48.91),
        ],
        max_distance_km=10,
    )
    a = solved(p)
    assert owners(a) == {"S1": "D"}
    assert a.status == "optimal"


def test_travel_picks_the_nearest_and_pins_and_forbids_override_it() -> None:
    """A sits on the site, B 5.6 km away: travel gives A; a pin to B or a forbid on A gives B."""
    members = [member("A", 100), member("B", 100, lat=48.95)]
    assert owners(solved(problem([item("S1", 10, 100)], members))) == {"S1": "A"}
    pinned = problem([item("S1", 10, 100)], members, pins=[{"item": "S1", "member": "B"}])
    assert owners(solved(pinned)) == {"S1": "B"}
    forbid = problem([item("S1", 10, 100)], members, forbids=[{"item": "S1", "member": "A"}])
    assert owners(solved(forbid)) == {"S1": "B"}


def test_capacity_is_stretched_by_lent_hours_within_the_provider_share() -> None:
    """100 h of work, 70 h own: 30 h lent by P (30 % of 100 h allowed) → assigned."""
    members = [member("A", 70), provider("P", 30)]
    a = solved(problem([item("S1", 100, 1000)], members, max_provider_share=0.3))
    assert owners(a) == {"S1": "A"}
    assert lent(a) == {("P", "A"): 30}
    a_result = next(m for m in a.members if m.member == "A")
    assert (a_result.hours, a_result.own_hours, a_result.lent_hours) == (100, 70, 30)


def test_provider_share_cap_blocks_and_is_named() -> None:
    """Only 25 % may be lent (25 h) but 30 h are missing: S1 stays unassigned, rules named."""
    members = [member("A", 70), provider("P", 30)]
    a = solved(problem([item("S1", 100, 1000)], members, max_provider_share=0.25))
    assert a.unassigned == ["S1"]
    assert "part maximale des heures prêtées" in text(a)
    assert "Est Ensemble, été" in text(a)


def test_provider_without_shared_territory_cannot_lend() -> None:
    members = [member("A", 70), provider("P", 30, territories=["T2"])]
    a = solved(problem([item("S1", 100, 1000)], members))
    assert a.unassigned == ["S1"] and a.provider_hours == []


def test_min_provider_share() -> None:
    """10 % of 100 h must be lent: P (50 h) lends at least 10 h; with only 5 h, S1 is lost."""
    a = solved(
        problem(
            [item("S1", 100, 1000)], [member("A", 100), provider("P", 50)], min_provider_share=0.1
        )
    )
    assert owners(a) == {"S1": "A"}
    assert sum(lent(a).values()) >= 10
    a = solved(
        problem(
            [item("S1", 100, 1000)], [member("A", 100), provider("P", 5)], min_provider_share=0.1
        )
    )
    assert a.unassigned == ["S1"]
    assert "règle 8" in text(a)


def test_480_hour_rule_caps_an_ai_towards_a_company_not_towards_an_aci() -> None:
    """A needs 40 lent hours; the AI (1 worker, 20 h per worker) may lend 20 h to an EI only."""
    rules = {"max_provider_share": 0.5, "ai_max_hours_per_worker": 20}
    ei = solved(
        problem(
            [item("S1", 100, 1000)],
            [member("A", 60, kind="EI"), provider("P", 100, workers=1)],
            **rules,
        )
    )
    assert ei.unassigned == ["S1"]
    assert "480" in text(ei)
    aci = solved(
        problem(
            [item("S1", 100, 1000)],
            [member("A", 60, kind="ACI"), provider("P", 100, workers=1)],
            **rules,
        )
    )
    assert owners(aci) == {"S1": "A"} and lent(aci) == {("P", "A"): 40}
    two = solved(
        problem(
            [item("S1", 100, 1000)],
            [member("A", 60, kind="EI"), provider("P", 100, workers=2)],
            **rules,
        )
    )
    assert owners(two) == {"S1": "A"}


def test_dependency_cap_best_subset() -> None:
    """Turnover 1 000 €, cap 50 % = 500 €: of 300, 250 and 200 €, the best is 300 + 200."""
    items = [item("S1", 10, 300), item("S2", 10, 250), item("S3", 10, 200)]
    a = solved(problem(items, [member("A", 100, annual_turnover="1000")], max_dependency=0.5))
    assert sorted(owners(a)) == ["S1", "S3"]
    assert str(a.covered_value) == "500.00"
    assert "dépendance" in text(a)


def test_provider_dependency_cap() -> None:
    """P bills 20 €/h, turnover 400 € → at most 200 €, i.e. 10 h; A needs 20 h lent."""
    members = [member("A", 80), provider("P", 100, annual_turnover="400")]
    a = solved(
        problem([item("S1", 100, 1000)], members, max_dependency=0.5, max_provider_share=0.5)
    )
    assert a.unassigned == ["S1"]
    members = [member("A", 80), provider("P", 100, annual_turnover="800")]
    a = solved(
        problem([item("S1", 100, 1000)], members, max_dependency=0.5, max_provider_share=0.5)
    )
    assert owners(a) == {"S1": "A"} and lent(a) == {("P", "A"): 20}


def test_social_clause_met_exactly_with_lent_hours() -> None:
    """Own 60 h × 0.5 + lent 40 h × 1.0 = 70 insertion hours: needs all 40 lendable hours."""
    members = [member("A", 60, insertion_rate=0.5), provider("P", 40, insertion_rate=1.0)]
    a = solved(
        problem([item("S1", 100, 1000)], members, insertion_hours_min=70, max_provider_share=0.4)
    )
    assert owners(a) == {"S1": "A"} and lent(a) == {("P", "A"): 40}
    assert a.insertion_hours == 70


def test_social_clause_out_of_reach_is_infeasible_and_named() -> None:
    members = [member("A", 60, insertion_rate=0.5), provider("P", 40, insertion_rate=1.0)]
    a = solved(
        problem([item("S1", 100, 1000)], members, insertion_hours_min=71, max_provider_share=0.4)
    )
    assert a.status == "infeasible"
    assert a.assignments == [] and a.unassigned == ["S1"]
    assert "clause sociale" in a.explanation[0]
    assert any("au plus 70" in s.replace("\u202f", " ") for s in a.explanation)


def test_pin_to_ineligible_member_is_infeasible_and_explained() -> None:
    p = problem(
        [item("S1", 10, 100)],
        [member("A", 100, trades=["vitrerie"]), member("B", 100)],
        pins=[{"item": "S1", "member": "A"}],
    )
    a = solved(p)
    assert a.status == "infeasible"
    assert "métier" in a.explanation[0]


def test_pin_beyond_capacity_names_the_pin_and_the_capacity() -> None:
    p = problem(
        [item("S1", 100, 100)],
        [member("A", 50), member("B", 100)],
        pins=[{"item": "S1", "member": "A"}],
    )
    a = solved(p)
    assert a.status == "infeasible"
    assert "réservation du site S1" in a.explanation[0]
    assert "capacités" in a.explanation[0]


def test_contradictory_pins() -> None:
    p = problem(
        [item("S1", 10, 100)],
        [member("A", 100), member("B", 100)],
        pins=[{"item": "S1", "member": "A"}, {"item": "S1", "member": "B"}],
    )
    a = solved(p)
    assert a.status == "infeasible"
    assert "un seul cotraitant" in " ".join(a.explanation)
