"""Figures that never promise better than the truth: bounds rounded away from the value when
not reached, an excess of 0 proven optimal, a coverage below 100 % never shown as 100 %, and
a target table that gives no co-contractor a share said so."""

from __future__ import annotations

from fractions import Fraction

from coop_tender.allocation import solve
from coop_tender.allocation.figures import _cents
from coop_tender.allocation.report import _coverage_pct
from tests.allocation.helpers import item, member, problem


def test_bounds_are_rounded_away_from_the_value() -> None:
    two_thirds = Fraction(22_667, 10_000)  # 2.2667
    assert _cents(two_thirds, up=False) == 2.26  # a lower bound, shown lower
    assert _cents(two_thirds, up=True) == 2.27  # an upper bound, shown higher
    assert _cents(Fraction(5, 2), up=False) == _cents(Fraction(5, 2), up=True) == 2.5


def test_coverage_share_below_one_is_never_shown_as_100() -> None:
    assert _coverage_pct(400_000_301, 400_000_500) == "99,9\xa0%"
    assert _coverage_pct(500, 500) == "100,0\xa0%"
    assert _coverage_pct(1, 3) == "33,3\xa0%"


def test_zero_excess_is_optimal_and_an_unusable_target_table_is_said() -> None:
    items = [item(f"s{n}", 10, 1000) for n in range(4)]
    members = [member("a", 40), member("c", 40), member("ai", 20, role="provider")]
    p = problem(items, members, target={"ai": 1.0})  # a provider: no co-contractor has a share
    allocation = solve(p, time_limit=5)
    fairness = {s.name: s for s in allocation.stages}["turnover_fairness"]
    assert fairness.value == 0 and fairness.status == "optimal"
    text = " ".join(allocation.explanation)
    assert "ai n'est pas cotraitant" in text
    assert "des parts égales sont utilisées" in text
