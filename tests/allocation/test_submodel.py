"""Neighbourhood sub-models (allocation/submodel.py) and the LP bound (allocation/relaxation.py).

A sub-model must be the full model with the other variables fixed: the same optimum as CP-SAT
on the full model pinned the old way, and its answer valid for the independent checker. The LP
bound must never exceed an allocation's travel, nor the brute-force optimum of a small tender;
the LP ceiling of a maximised objective never fall below CP-SAT's proven optimum.
"""

from __future__ import annotations

import itertools
import random

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from coop_tender.allocation.figures import model_value
from coop_tender.allocation.lns import _pin, _solve_pinned
from coop_tender.allocation.model import build_model, insertion_expr, prepare
from coop_tender.allocation.relaxation import lp_bound, lp_ceiling, lp_point
from coop_tender.allocation.report import build_allocation
from coop_tender.allocation.solve import Outcome, fix_rules, new_solver, read_solution
from coop_tender.allocation.submodel import free_items, free_members, solve_free
from coop_tender.checker import check
from coop_tender.geo import great_circle_km
from coop_tender.models import Problem
from tests.allocation.helpers import after_stages, item, member, problem
from tests.strategies import problems

_SOLVED = (cp_model.OPTIMAL, cp_model.FEASIBLE)


def _pinned_full(b, sol, free: set[int]):
    """The old way: every x and lend variable outside `free` pinned in the full model."""
    saved: list[tuple[int, int, int]] = []
    for values, variables in ((sol.x, b.x), (sol.lend, b.lend)):
        for key, var in variables.items():
            if var.index not in free:
                _pin(b, saved, var, values.get(key, 0))
    return _solve_pinned(b, sol, saved, 10.0, 1)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(problems(max_items=14, max_members=5, max_providers=3), st.randoms(use_true_random=False))
def test_sub_model_has_the_full_models_optimum(p: Problem, rng: random.Random) -> None:
    assume(not prepare(p).pin_problems)
    b, outcome = after_stages(p)
    assume(outcome.solution is not None)
    sol = outcome.solution
    b.model.minimize(b.travel)
    n = len(b.data.cocs)
    members = set(rng.sample(range(n), rng.randint(1, n)))
    items = {i for i in range(len(b.data.items)) if rng.random() < 0.5}
    for free in (free_members(b, sol, members), free_items(b, items)):
        code, result = solve_free(b, sol, free, 10.0, 1)
        full_code, full = _pinned_full(b, sol, free)
        assert code == full_code == cp_model.OPTIMAL  # the current solution is one of both
        assert round(result.objective_value) == round(full.objective_value)
        new = read_solution(b, result)
        assert model_value(b, "travel", new) == round(result.objective_value)
        for key, var in b.x.items():  # nothing outside the neighbourhood moved
            if var.index not in free:
                assert new.x[key] == sol.x[key]
        allocation = build_allocation(p, b.data, Outcome(b, outcome.stages, new, False), [], "test")
        assert check(p, allocation) == []


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(problems(max_items=14, max_members=5, max_providers=3), st.randoms(use_true_random=False))
def test_objective_as_a_bound_finds_the_optimum_and_nothing_below(
    p: Problem, rng: random.Random
) -> None:
    """With `at_most`, the sub-model is a feasibility problem: at the neighbourhood's proven
    optimum it finds an allocation that reaches it (and keeps every rule); one unit below, none."""
    assume(not prepare(p).pin_problems)
    b, outcome = after_stages(p)
    assume(outcome.solution is not None)
    sol = outcome.solution
    b.model.minimize(b.travel)
    free = free_items(b, {i for i in range(len(b.data.items)) if rng.random() < 0.5})
    code, result = solve_free(b, sol, free, 10.0, 1)
    assert code == cp_model.OPTIMAL
    best = round(result.objective_value)
    code, result = solve_free(b, sol, free, 10.0, 1, at_most=best)
    assert code in _SOLVED
    new = read_solution(b, result)
    assert model_value(b, "travel", new) <= best
    allocation = build_allocation(p, b.data, Outcome(b, outcome.stages, new, False), [], "test")
    assert check(p, allocation) == []
    assert solve_free(b, sol, free, 10.0, 1, at_most=best - 1)[0] == cp_model.INFEASIBLE


def test_an_override_that_breaks_a_rule_is_infeasible() -> None:
    """A site forced onto a member that already holds all its capacity cannot fit: the sub-model
    says so (rows touched by an override are evaluated, not assumed to hold)."""
    items = [item("s1", 10, 100), item("s2", 10, 100)]
    members = [member("a", 10), member("c", 10)]
    p = problem(items, members)
    b, outcome = after_stages(p)
    sol = outcome.solution
    owner = {i: k for (i, k), v in sol.x.items() if v}
    assert sorted(owner.values()) == [0, 1]  # one site each: 10 h of 10 h each
    k = owner[0]
    overrides = {b.x[(1, k)].index: 1, b.x[(1, owner[1])].index: 0}
    code, result = solve_free(b, sol, set(), 1.0, 1, overrides)
    assert code == cp_model.INFEASIBLE and result is None


def test_lp_bound_is_below_the_brute_force_optimum() -> None:
    """Three sites west, three east; a (west) has 40 h and c (east) 20 h, so with targets by
    capacity and no tolerance a holds four sites and must go east once. The shortest travel
    over every valid allocation, computed without the model, bounds the LP from above; and
    the LP is no trivial zero."""
    west, east = (48.90, 2.30), (48.90, 2.60)
    places = [west, west, west, east, east, east]
    items = [item(f"s{n}", 10, 1000, lat=lat, lon=lon) for n, (lat, lon) in enumerate(places)]
    members = [
        member("a", 40, lat=west[0], lon=west[1]),
        member("c", 20, lat=east[0], lon=east[1]),
    ]
    p = problem(items, members, fairness_tolerance=0.0)
    b, _outcome = after_stages(p, 2.0)
    b.model.minimize(b.travel)
    bound = lp_bound(b, 5.0, skip=frozenset({"stage_travel_fixed"}))
    best = None
    for owners in itertools.product("ac", repeat=len(items)):
        if owners.count("a") != 4:  # a's target: 4 000 € of the 6 000 €
            continue
        km = sum(
            great_circle_km(it["lat"], it["lon"], *(west if o == "a" else east))
            for it, o in zip(items, owners, strict=True)
        )
        best = km if best is None else min(best, km)
    assert bound is not None and best is not None
    assert 0 < bound * 0.001 <= best + 1e-6


def _two_sites():
    """Two sites next to a, far from c; c holds both in the solution in hand."""
    near, far = (48.90, 2.30), (48.90, 2.60)
    items = [item(f"s{n}", 10, 100, lat=near[0], lon=near[1]) for n in range(2)]
    members = [
        member("a", 40, lat=near[0], lon=near[1]),
        member("c", 40, lat=far[0], lon=far[1]),
    ]
    p = problem(items, members, fairness_tolerance=1.0)
    data = prepare(p)
    b = build_model(p, data)
    fix_rules(b)
    a, c = (next(k for k, m in enumerate(data.cocs) if m.id == name) for name in "ac")
    return b, a, c


def test_a_row_the_sub_model_cannot_fold_is_still_kept() -> None:
    """A row over negated literals ("one of the two sites stays with c"): the sub-model falls
    back to the pinned full model, so the answer keeps it although moving both is shorter."""
    from coop_tender.allocation.solve import Solution

    b, a, c = _two_sites()
    b.model.add_at_most_one([~b.x[(0, c)], ~b.x[(1, c)]]).with_name("test_negated")
    b.model.minimize(b.travel)
    sol = Solution(x={(0, a): 0, (0, c): 1, (1, a): 0, (1, c): 1}, lend={})
    code, result = solve_free(b, sol, {v.index for v in b.x.values()}, 5.0, 1)
    assert code == cp_model.OPTIMAL
    assert result.value(b.x[(0, c)]) + result.value(b.x[(1, c)]) == 1


def test_variables_added_after_a_sub_solve_are_read() -> None:
    """lns.group_excess_vars adds variables to the model: the next sub-solve on the same
    solution must see them (it raised IndexError on a cached value array)."""
    from coop_tender.allocation.lns import group_excess_vars
    from coop_tender.allocation.solve import Solution

    b, a, c = _two_sites()
    b.model.minimize(b.travel)
    sol = Solution(x={(0, a): 1, (0, c): 0, (1, a): 1, (1, c): 0}, lend={})
    assert solve_free(b, sol, {b.x[(0, a)].index}, 2.0, 1)[0] == cp_model.OPTIMAL
    group_excess_vars(b, [{a}, {c}], 10**6)
    assert solve_free(b, sol, {b.x[(0, a)].index}, 2.0, 1)[0] == cp_model.OPTIMAL


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_items=10, max_members=4, max_providers=2))
def test_lp_ceiling_is_above_the_most_insertion_hours(p: Problem) -> None:
    """The LP ceiling that may prove a social clause out of reach (solve.climb_social_clause)
    is never below what CP-SAT proves reachable, the clause lifted, every other rule on."""
    b = build_model(p)
    fix_rules(b, {name: name != "social_clause" for name in b.rules})
    b.model.maximize(insertion_expr(b))
    ceiling = lp_ceiling(b, 5.0)
    solver = new_solver(10.0, 1)  # the engine's settings, its presolve workaround included
    code = solver.solve(b.model)
    assume(code == cp_model.OPTIMAL)
    assert ceiling is not None
    assert ceiling >= round(solver.objective_value)


@settings(max_examples=30, deadline=None)
@given(
    lows=st.lists(st.integers(-20, 20), min_size=2, max_size=6),
    widths=st.lists(st.integers(0, 30), min_size=2, max_size=6),
    rows=st.lists(
        st.tuples(st.lists(st.integers(-5, 5), min_size=6, max_size=6), st.integers(-40, 40)),
        max_size=5,
    ),
)
def test_lp_point_keeps_every_row_and_domain_or_is_none(lows, widths, rows) -> None:
    # The LP point feasibility searches start from: within every variable's domain (its last
    # value is its upper bound) and every linear row; None only when no real point exists.
    n = min(len(lows), len(widths))
    model = cp_model.CpModel()
    xs = [model.new_int_var(lows[j], lows[j] + widths[j], f"x{j}") for j in range(n)]
    for coeffs, high in rows:
        model.add(sum(c * x for c, x in zip(coeffs, xs, strict=False)) <= high)
    point = lp_point(model.proto, 5.0)
    if point is None:  # then CP-SAT finds no integer point either
        assert new_solver(5.0, 1).solve(model) == cp_model.INFEASIBLE
        return
    for j in range(n):
        assert lows[j] - 1e-6 <= point[j] <= lows[j] + widths[j] + 1e-6
    for coeffs, high in rows:
        assert sum(c * v for c, v in zip(coeffs, point, strict=False)) <= high + 1e-6
