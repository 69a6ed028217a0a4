"""Tenders where the greedy first allocation breaks a rule, and answers found in no time.

A tender whose minimum and maximum provider shares are equal (30 %) needs every co-contractor
to receive exactly 30 % of its hours in each period: the greedy misses it, and maximising
coverage from scratch found nothing in 6 s (it was then reported "infeasible", while HiGHS
finds a valid allocation). An answer found in no time is "unknown", never "infeasible".
"""

from __future__ import annotations

import json
from pathlib import Path

from coop_tender.allocation import solve
from coop_tender.allocation.hint import greedy, greedy_is_valid
from coop_tender.allocation.model import prepare
from coop_tender.checker import check
from coop_tender.models import Problem
from tests.allocation.helpers import item, member, problem

DATA = Path(__file__).parent / "data"


def test_equal_provider_shares_get_a_valid_allocation() -> None:
    p = Problem.model_validate(
        json.loads((DATA / "min_equals_max_provider_share.json").read_text(encoding="utf-8"))
    )
    assert p.policy.min_provider_share == p.policy.max_provider_share == 0.3
    data = prepare(p)
    assert not greedy_is_valid(data, *greedy(data))  # what makes this tender hard to start
    allocation = solve(p, time_limit=10)
    assert allocation.status in ("feasible", "optimal")
    assert allocation.assignments
    assert check(p, allocation) == []


def test_no_answer_in_time_is_unknown_not_infeasible() -> None:
    """Ten seconds would do; a millisecond does not, and nothing was proven impossible."""
    items = [item(f"s{n}", 10, 1000) for n in range(6)]
    members = [member("a", 40, insertion_rate=0.5), member("c", 40, insertion_rate=0.5)]
    p = problem(items, members, insertion_hours_min=20)
    allocation = solve(p, time_limit=0.001)
    assert allocation.status == "unknown"
    assert not allocation.assignments
    assert "temps" in allocation.explanation[0]
    assert check(p, allocation) == []
    assert solve(p, time_limit=10).status in ("feasible", "optimal")
