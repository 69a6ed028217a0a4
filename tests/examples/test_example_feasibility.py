"""The shipped examples are comfortably feasible (necessary conditions, no solver involved)."""

from __future__ import annotations

import pytest

from tests.examples.example_files import NAMES, shipped
from tests.examples.feasibility import HALL_MARGIN, TRIVIAL, check


@pytest.mark.parametrize("name", NAMES)
def test_example_is_comfortably_feasible(name):
    report = check(shipped(name))
    assert report.problems == []
    assert all(HALL_MARGIN <= r <= TRIVIAL for r in report.global_ratio.values())
    assert min(report.hall_min_ratio.values()) >= HALL_MARGIN


def test_colleges_capacity_per_territory_and_period():
    """Each EPT, each period: the co-contractors serving it declared clearly more than needed."""
    report = check(shipped("colleges-93"))
    assert len(report.territory_ratio) == 4 * 3
    assert all(1.3 <= r <= 2.0 for r in report.territory_ratio.values()), report.territory_ratio


def test_the_check_catches_a_shortfall():
    """The checker is not vacuous: halving every capacity makes it complain."""
    ex = shipped("colleges-93")
    halved = [
        m.model_copy(update={"capacity_hours": {p: h // 2 for p, h in m.capacity_hours.items()}})
        for m in ex.members
    ]
    poorer = [m.model_copy(update={"annual_turnover": m.annual_turnover / 10}) for m in halved]
    report = check(ex.__class__(**{**ex.__dict__, "members": poorer}))
    text = " ".join(report.problems)
    assert "déclarées pour" in text and "dépendance" in text
