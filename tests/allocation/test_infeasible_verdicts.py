"""Infeasible verdicts checked without the solver.

On small tenders without providers, every possible allocation (each site to nobody or to any
co-contractor) is given to the independent checker: when the engine says "infeasible" (a pin
that cannot hold, or a model CP-SAT proves infeasible), not one of them may keep every rule.
The social clause is drawn high enough for many tenders to be infeasible.
"""

from __future__ import annotations

import itertools
import time

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from coop_tender.allocation.model import build_model, prepare
from coop_tender.allocation.solve import fix_rules, run_stages
from coop_tender.checker import check
from coop_tender.models import Allocation, Assignment, Problem, Role
from tests.strategies import problems


def _engine_says_infeasible(p: Problem) -> bool:
    data = prepare(p)
    if data.pin_problems:
        return True
    b = build_model(p, data)
    fix_rules(b)
    return run_stages(b, time.perf_counter() + 5.0, workers=1).infeasible


def _rule_breaches(p: Problem, owners: tuple[str | None, ...]) -> list[str]:
    """What the checker finds wrong with one allocation, beyond its own bookkeeping."""
    pairs = list(zip(p.tender.items, owners, strict=True))
    allocation = Allocation(
        status="feasible",
        assignments=[Assignment(item=it.id, member=m) for it, m in pairs if m],
        unassigned=[it.id for it, m in pairs if m is None],
    )
    return [line for line in check(p, allocation) if not line.startswith("Cohérence")]


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(problems(max_items=4, max_members=3, max_providers=0), st.integers(30, 150))
def test_no_allocation_keeps_every_rule_when_the_engine_says_infeasible(
    p: Problem, percent: int
) -> None:
    cocs = [m for m in p.members if m.role is Role.COCONTRACTOR]
    reach = sum(it.hours for it in p.tender.items) * max(m.insertion_rate for m in cocs)
    tender = p.tender.model_copy(update={"insertion_hours_min": int(reach * percent / 100)})
    p = p.model_copy(update={"tender": tender})
    assume(_engine_says_infeasible(p))
    choices = [None, *(m.id for m in cocs)]
    for owners in itertools.product(choices, repeat=len(p.tender.items)):
        assert _rule_breaches(p, owners), f"{owners} keeps every rule"
