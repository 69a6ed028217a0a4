"""Neighbourhood solves on a model restricted to its free variables.

The searches of lns.py and tight.py free a few sites and lent hours and fix the rest at the
current solution. Pinning the rest in the full model and handing it to CP-SAT costs time in
proportion to the whole tender at every call (×40: 0.4 s for a neighbourhood CP-SAT solves in
0.05 s). Here the sub-problem is built on its own: the free decision variables, the derived
ones (covered value, lent total, excesses), and only the constraints that contain them, with
the fixed part of every row folded into its bounds and the objective's offset. The current
solution must satisfy the model (it always does: each comes from CP-SAT or from
solve.verified); rows with no free variable then still hold and are left out, except those
that an override touches, which are evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from coop_tender.allocation.model import Built

_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
LP_POINT_SHARE = 0.2
"""Most of a feasibility search's time (`solve_free` with `at_most`) for the LP point its hint
is rounded from (relaxation.lp_point; CLP, 0.05 s on ×40's lent hours). ×40's lent-hours
sub-models at 0 h of excess (6 403 variables, 9 245 rows), replayed from two whole solves,
2 workers: hinted with the solution in hand, one found in 2.8–6.9 s or not in 15 s (7 seeds
of 14), the other in 1.2–3.6 s (4 seeds); hinted with the rounded LP point (294–308
fractional values, 80–118 rows broken by the rounding), 0.13–0.76 s (10 seeds) and
0.8–3.2 s (6 seeds)."""


@dataclass
class _Rows:
    """The model's constraints read once into arrays (rows are only ever appended)."""

    kind: list[str] = field(default_factory=list)  # "linear" | "amo" | "other"
    names: list[str] = field(default_factory=list)
    variables: list[np.ndarray] = field(default_factory=list)
    coeffs: list[np.ndarray] = field(default_factory=list)
    domains: list[list[int]] = field(default_factory=list)
    enforcement: list[list[int]] = field(default_factory=list)
    rows_of: dict[int, list[int]] = field(default_factory=dict)  # variable -> its rows
    decision: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # x, lend
    derived: list[int] = field(default_factory=list)  # every other variable
    last: tuple[object, np.ndarray] | None = None  # (solution, full_values of it)
    has_other: bool = False  # a row this module cannot fold (solve_free then pins instead)
    x_of_member: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # (item, var)
    x_of_item: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # (member, var)
    lend_of_member: dict[int, list[int]] = field(default_factory=dict)  # var indices


_cache: dict[int, tuple[Built, _Rows]] = {}


def model_rows(b: Built) -> _Rows:
    """The cached rows of `b`'s model, extended with the rows added since the last call."""
    entry = _cache.get(id(b))
    rows = entry[1] if entry is not None and entry[0] is b else _Rows()
    if entry is None or entry[0] is not b:
        _cache.clear()  # one model at a time: a solve builds one and drops it
        _cache[id(b)] = (b, rows)
    proto = b.model.proto
    for r in range(len(rows.kind), len(proto.constraints)):
        ct = proto.constraints[r]
        if ct.has_linear():
            kind, refs = "linear", list(ct.linear.vars)
            rows.coeffs.append(np.array(ct.linear.coeffs, dtype=np.int64))
            rows.domains.append(list(ct.linear.domain))
        elif ct.has_at_most_one():
            kind, refs = "amo", list(ct.at_most_one.literals)
            rows.coeffs.append(np.ones(len(refs), dtype=np.int64))
            rows.domains.append([])
        else:
            kind, refs = "other", []
            rows.coeffs.append(np.zeros(0, dtype=np.int64))
            rows.domains.append([])
        if any(ref < 0 for ref in refs):
            kind = "other"  # negated literals: never built by model.py; not handled here
        rows.has_other = rows.has_other or kind == "other"
        rows.kind.append(kind)
        rows.names.append(ct.name)
        rows.variables.append(np.array(refs, dtype=np.int64))
        rows.enforcement.append(list(ct.enforcement_literal))
        for ref in (*refs, *ct.enforcement_literal):
            rows.rows_of.setdefault(ref if ref >= 0 else -ref - 1, []).append(r)
    if len(rows.decision) != len(proto.variables):
        rows.last = None
        rows.decision = np.zeros(len(proto.variables), dtype=bool)
        for var in (*b.x.values(), *b.lend.values()):
            rows.decision[var.index] = True
        rows.derived = np.flatnonzero(~rows.decision).tolist()
        rows.x_of_member, rows.x_of_item, rows.lend_of_member = {}, {}, {}
        for (i, k), var in b.x.items():
            rows.x_of_member.setdefault(k, []).append((i, var.index))
            rows.x_of_item.setdefault(i, []).append((k, var.index))
        for (_p, k, _t), var in b.lend.items():
            rows.lend_of_member.setdefault(k, []).append(var.index)
    return rows


def free_members(b: Built, sol, members: set[int]) -> set[int]:
    """Variables a neighbourhood of `members` frees: their sites that no other member
    holds, and the hours lent to them."""
    rows = model_rows(b)
    owner = {i: k for (i, k), v in sol.x.items() if v}
    free: set[int] = set()
    for k in members:
        free.update(v for i, v in rows.x_of_member.get(k, ()) if owner.get(i, k) in members)
        free.update(rows.lend_of_member.get(k, ()))
    return free


def free_items(b: Built, items: set[int]) -> set[int]:
    """Variables a neighbourhood of sites frees: who takes each of `items`, and the hours
    lent to every member that could take one."""
    rows = model_rows(b)
    free: set[int] = set()
    takers: set[int] = set()
    for i in items:
        for k, v in rows.x_of_item.get(i, ()):
            free.add(v)
            takers.add(k)
    for k in takers:
        free.update(rows.lend_of_member.get(k, ()))
    return free


@dataclass
class SubResult:
    """A neighbourhood's answer, read like a CpSolver for the full model's variables."""

    objective_value: float
    best_objective_bound: float
    values: np.ndarray  # every variable of the full model

    def value(self, var: cp_model.IntVar) -> int:
        return int(self.values[var.index])


def _domain(proto, index: int) -> tuple[int, int]:
    dom = proto.variables[index].domain
    return dom[0], dom[len(dom) - 1]


def literal_state(proto, ref: int) -> bool | None:
    """True/False for a fixed literal, None for a free one."""
    lo, hi = _domain(proto, ref if ref >= 0 else -ref - 1)
    if lo != hi:
        return None
    return (lo == 1) if ref >= 0 else (lo == 0)


def full_values(b: Built, sol) -> np.ndarray:
    """The solution's value of every decision variable (derived ones left at 0); the last
    one is kept, since a search asks for the same solution until it improves it."""
    rows = model_rows(b)
    if rows.last is not None and rows.last[0] is sol:
        return rows.last[1].copy()
    values = np.zeros(len(b.model.proto.variables), dtype=np.int64)
    for key, var in b.x.items():
        if sol.x.get(key, 0):
            values[var.index] = 1
    for key, var in b.lend.items():
        values[var.index] = sol.lend.get(key, 0)
    rows.last = (sol, values)
    return values.copy()


def solve_free(
    b: Built,
    sol,
    free: set[int],
    seconds: float,
    workers: int,
    overrides: dict[int, int] | None = None,
    at_most: int | None = None,
) -> tuple[int, SubResult | None]:
    """Solve the model's current objective with only the variables `free` (indices of x and
    lend variables) and the derived ones left free; every other x and lend variable keeps its
    value in `sol`, or the one `overrides` gives it. With `at_most`, the objective becomes a
    constraint (≤ at_most) and CP-SAT stops at the first solution: far faster when a value is
    known to be the best (×40's lent hours at 0 h of excess: 5.3 s, where minimising had not
    reached it in 25 s); its hint is then the rounded point of the sub-model's LP relaxation
    (LP_POINT_SHARE). Returns (CP-SAT status, result); the result is None unless a solution
    was found. A model with rows this module does not fold (negated literals, other
    constraint kinds, a free enforcement literal) is solved whole with the other variables
    pinned instead (and `at_most` ignored)."""
    from coop_tender.allocation.solve import derived_hints, new_solver

    rows = model_rows(b)
    proto = b.model.proto
    overrides = overrides or {}
    if rows.has_other:
        return solve_pinned(b, sol, free, seconds, workers, overrides)
    decision = rows.decision
    values = full_values(b, sol)
    for index, value in overrides.items():
        values[index] = value
    # Free: the chosen decision variables and every derived variable whose domain is open.
    is_free = np.zeros(len(proto.variables), dtype=bool)
    for index in free:
        if index not in overrides:
            is_free[index] = True
    derived = derived_hints(b, sol)
    changed = set(overrides)  # fixed values that may differ from the solution in hand
    for index in rows.derived:
        lo, hi = _domain(proto, index)
        if lo != hi:
            is_free[index] = True
        else:
            values[index] = lo
            if derived.get(index, lo) != lo:
                changed.add(index)
    free_list = np.flatnonzero(is_free)
    touched = set(free_list.tolist()) | changed
    candidate_rows = sorted({r for v in touched for r in rows.rows_of.get(v, ())})

    sub = cp_model.CpModel()
    sp = sub.proto
    index_of: dict[int, int] = {}
    for index in free_list.tolist():
        var = sp.variables.add()
        var.domain.extend(proto.variables[index].domain)  # holes included
        index_of[index] = len(sp.variables) - 1
    for r in candidate_rows:
        kind = rows.kind[r]
        states = [literal_state(proto, ref) for ref in rows.enforcement[r]]
        if any(s is False for s in states):
            continue  # a rule switched off
        if kind == "other" or any(s is None for s in states):
            return solve_pinned(b, sol, free, seconds, workers, overrides)
        refs, coeffs = rows.variables[r], rows.coeffs[r]
        mask = is_free[refs]
        constant = int(np.dot(coeffs[~mask], values[refs[~mask]]))
        free_refs = refs[mask].tolist()
        free_coeffs = coeffs[mask].tolist()
        if kind == "amo":
            if constant > 1:
                return cp_model.INFEASIBLE, None
            if not free_refs:
                continue
            ct = sp.constraints.add()
            if constant == 1:  # one literal already true: every free one must be false
                ct.linear.vars.extend(index_of[v] for v in free_refs)
                ct.linear.coeffs.extend([1] * len(free_refs))
                ct.linear.domain.extend([0, 0])
            else:
                ct.at_most_one.literals.extend(index_of[v] for v in free_refs)
            continue
        domain = rows.domains[r]
        if not free_refs:
            if not _in_domain(constant, domain):
                return cp_model.INFEASIBLE, None
            continue
        ct = sp.constraints.add()
        ct.name = rows.names[r]
        ct.linear.vars.extend(index_of[v] for v in free_refs)
        ct.linear.coeffs.extend(free_coeffs)
        ct.linear.domain.extend(_shift(domain, constant))
    objective = proto.objective
    obj_refs = np.array(list(objective.vars), dtype=np.int64)
    obj_coeffs = np.array(list(objective.coeffs), dtype=np.int64)
    mask = is_free[obj_refs] if len(obj_refs) else np.zeros(0, dtype=bool)
    fixed_part = int(np.dot(obj_coeffs[~mask], values[obj_refs[~mask]])) if len(obj_refs) else 0
    so = sp.objective
    so.vars.extend(index_of[v] for v in obj_refs[mask].tolist())
    so.coeffs.extend(obj_coeffs[mask].tolist())
    so.offset = objective.offset + fixed_part
    so.scaling_factor = objective.scaling_factor or 1.0
    point = None
    if at_most is not None:  # a feasibility problem: the objective as a bound
        from coop_tender.allocation.relaxation import lp_point

        ct = sp.constraints.add()
        ct.name = "objective_at_most"
        ct.linear.vars.extend(so.vars)
        ct.linear.coeffs.extend(so.coeffs)
        ct.linear.domain.extend([_INT_MIN, at_most - round(so.offset)])
        sp.clear_objective()
        point = lp_point(sp, LP_POINT_SHARE * seconds)  # far better than the solution in hand
    hint_values = sp.solution_hint
    for index, sub_index in index_of.items():
        if point is not None:
            dom = sp.variables[sub_index].domain
            value = min(max(round(point[sub_index]), dom[0]), dom[len(dom) - 1])
        else:
            value = int(values[index]) if decision[index] else derived.get(index)
        if value is not None:
            hint_values.vars.append(sub_index)
            hint_values.values.append(value)
    solver = new_solver(seconds, workers)
    code = solver.solve(sub)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return code, None
    out = values.copy()
    out[list(index_of)] = list(solver.response_proto.solution)
    return code, SubResult(solver.objective_value, solver.best_objective_bound, out)


def solve_pinned(
    b: Built,
    sol,
    free: set[int],
    seconds: float,
    workers: int,
    overrides: dict[int, int] | None = None,
) -> tuple[int, SubResult | None]:
    """The same solve on the full model, every other x and lend variable pinned: for rows
    `solve_free` does not fold (none that model.py builds today), and with `free` empty a
    check of `sol` on the full model (solve.verified)."""
    overrides = overrides or {}
    from coop_tender.allocation.lns import _pin, _solve_pinned

    saved: list[tuple[int, int, int]] = []
    for values, variables in ((sol.x, b.x), (sol.lend, b.lend)):
        for key, var in variables.items():
            if var.index in overrides:
                _pin(b, saved, var, overrides[var.index])
            elif var.index not in free:
                _pin(b, saved, var, values.get(key, 0))
    code, solver = _solve_pinned(b, sol, saved, seconds, workers)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return code, None
    values = np.array(solver.response_proto.solution, dtype=np.int64)
    return code, SubResult(solver.objective_value, solver.best_objective_bound, values)


def _in_domain(value: int, domain: list[int]) -> bool:
    return any(domain[j] <= value <= domain[j + 1] for j in range(0, len(domain), 2))


def _shift(domain: list[int], constant: int) -> list[int]:
    """The domain of (row − constant): sentinels for ±infinity stay as they are."""
    return [d if d in (_INT_MIN, _INT_MAX) else d - constant for d in domain]
