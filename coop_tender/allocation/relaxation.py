"""The LP relaxation of the model (CLP), as a proven lower bound of the travel stage.

CP-SAT's own bound comes from the LP it solves at the root, which on large tenders it may not
reach before the stage's time is up; the solver-free floor of figures.py ignores capacities and
fairness windows. The relaxation keeps every linear row of the model except those whose
coefficients are too large for floating point (the scaled fairness rows: the stage windows that
fix_stage adds say the same with small numbers) and those a rule literal switches off, so its
optimum is a valid lower bound; it is lowered by a safety margin for the simplex's
tolerances.
"""

from __future__ import annotations

import math

from ortools.linear_solver import linear_solver_pb2, pywraplp

from coop_tender.allocation.figures import must_cover
from coop_tender.allocation.model import Built
from coop_tender.allocation.submodel import literal_state, model_rows

LP_SOLVERS = ("CLP", "GLOP")
"""Simplex solvers bundled with OR-Tools, the first one available used. Measured on the
relaxations of the benchmark: CLP 0.02 / 0.28 / 1.94 s (seed, ×10, ×40), GLOP 0.03 / 0.40 /
3.47 s; on one 2 500-site tender GLOP ended ABNORMAL where CLP proved the optimum in 2.3 s
(PDLP, a first-order method, returned a value above the simplex optimum: not a bound)."""
SAFE_COEFF = 10**9
"""Rows with a larger coefficient or bound are left out of the relaxation (still a relaxation:
fewer rows can only lower its optimum)."""
RELATIVE_MARGIN = 1e-6
"""The LP optimum is lowered by this share (and one unit) before it is reported as a bound."""


def lp_bound(b: Built, seconds: float, skip: frozenset[str] = frozenset()) -> int | None:
    """A lower bound of the model's current (minimised) objective, in model units, from its LP
    relaxation; None when the simplex does not prove an optimum within `seconds`. Rows named in
    `skip` are left out (the stage's own "fixed" row, for instance), and so are the rows that define
    the fairness excesses: with them GLOP ended ABNORMAL on ×10 (their coefficients reach 10¹⁴),
    and the turnover windows fixed by solve.fix_stage keep what they say for travel. When
    coverage is total, the covered-value row is replaced by "each site to one member"."""
    proto = b.model.proto
    if proto.objective.scaling_factor not in (0.0, 1.0):
        return None  # a maximised objective: not the travel stage
    lp = _solved(b, seconds, skip)
    if lp is None:
        return None
    value = lp.Objective().Value() + proto.objective.offset
    return math.floor(value - RELATIVE_MARGIN * abs(value) - 1)


def lp_ceiling(b: Built, seconds: float) -> int | None:
    """An upper bound of the model's current (maximised) objective, in model units, from its
    LP relaxation (raised by the same safety margin as `lp_bound`); None when not proven in
    `seconds` or when the objective is minimised."""
    lp = _solved_maximum(b, seconds)
    return None if lp is None else _ceiling(b, lp)


def lp_ceiling_and_values(b: Built, seconds: float) -> tuple[int, list[float]] | None:
    """`lp_ceiling` and the LP's optimal values of every model variable (as `lp_values`), from
    one solve: the climb to the social clause needs both (solve.climb_social_clause)."""
    lp = _solved_maximum(b, seconds)
    return None if lp is None else (_ceiling(b, lp), [v.solution_value() for v in lp.variables()])


def _solved_maximum(b: Built, seconds: float) -> pywraplp.Solver | None:
    """The relaxation of a maximised objective, solved; None if minimised or not proven."""
    if b.model.proto.objective.scaling_factor >= 0:
        return None  # CP-SAT stores a maximised objective negated, scaling factor −1
    return _solved(b, seconds, frozenset())


def _ceiling(b: Built, lp: pywraplp.Solver) -> int:
    """The solved maximum raised by the safety margin, in model units."""
    value = -(lp.Objective().Value() + b.model.proto.objective.offset)
    return math.ceil(value + RELATIVE_MARGIN * abs(value) + 1)


def lp_site_duals(b: Built, seconds: float) -> dict[int, float] | None:
    """The relaxation's dual value of each site's rows of rule 1 ("at most once", and "exactly
    once" when coverage is total), summed by site; None when not proven within `seconds`.
    Prices that start column generation (columns.py) far closer to its optimum than distances
    do."""
    proto = b.model.proto
    if proto.objective.scaling_factor not in (0.0, 1.0):
        return None  # a maximised objective: not the travel stage
    site_rows: dict[int, list[int]] = {}
    lp = _solved(b, seconds, frozenset(), site_rows=site_rows)
    if lp is None:
        return None
    rows = lp.constraints()
    return {i: sum(rows[r].dual_value() for r in of) for i, of in site_rows.items()}


def lp_values(b: Built, seconds: float, zero: frozenset[int] = frozenset()) -> list[float] | None:
    """The LP relaxation's optimal values of every model variable (by index) for the model's
    current objective, maximised or minimised, with the variables of `zero` fixed to 0; None
    when not proven within `seconds`. A guide for rounding (solve.lp_rounding), not a bound."""
    lp = _solved(b, seconds, frozenset(), zero)
    return None if lp is None else [v.solution_value() for v in lp.variables()]


def _solved(
    b: Built,
    seconds: float,
    skip: frozenset[str],
    zero: frozenset[int] = frozenset(),
    site_rows: dict[int, list[int]] | None = None,
) -> pywraplp.Solver | None:
    """The relaxation of `lp_bound`'s docstring, solved to optimality within `seconds`; None
    if no simplex is available or it does not prove an optimum in time. The model's objective
    as CP-SAT stores it (a maximised one negated) is minimised. `site_rows`, when given, is
    filled with each site's rows of rule 1 (site -> row indices)."""
    excess = {b.turnover_excess.index, b.provider_excess.index}
    excess.update(var.index for var in b.group_excess)
    rows = model_rows(b)
    total = must_cover(b) is not None
    item_of = {var.index: i for (i, _k), var in b.x.items()} if site_rows is not None else {}
    proto = b.model.proto
    started = _columns_of(proto)
    if started is None:
        return None
    lp, model = started
    inf = lp.infinity()
    for index in zero:
        model.variable[index].upper_bound = min(model.variable[index].upper_bound, 0.0)
    for ref, coeff in zip(proto.objective.vars, proto.objective.coeffs, strict=True):
        model.variable[ref].objective_coefficient = float(coeff)
    for r, kind in enumerate(rows.kind):
        if kind not in ("linear", "amo") or rows.names[r] in skip:
            continue
        if not all(literal_state(proto, ref) for ref in rows.enforcement[r]):
            continue  # a row on for sure only: every enforcement literal fixed true
        refs, coeffs = rows.variables[r].tolist(), rows.coeffs[r].tolist()
        if excess.intersection(refs) or (total and b.covered.index in refs):
            continue
        if kind == "linear" and max(map(abs, coeffs), default=0) > SAFE_COEFF:
            continue
        domain = rows.domains[r] if kind == "linear" else [-inf, 1]
        if site_rows is not None and rows.names[r].startswith("rule1_one_member["):
            site_rows.setdefault(item_of[refs[0]], []).append(len(model.constraint))
        _add_row(model, refs, coeffs, _finite(domain[0], -inf), _finite(domain[-1], inf))
    for i in must_cover(b) or ():  # what the covered-value row implies, with small numbers
        refs = [b.x[(i, k)].index for k in b.data.eligible[i]]
        if site_rows is not None:
            site_rows.setdefault(i, []).append(len(model.constraint))
        _add_row(model, refs, [1] * len(refs), 1.0, 1.0)
    lp.LoadModelFromProto(model)
    lp.SetTimeLimit(max(1, int(seconds * 1000)))
    return lp if lp.Solve() == pywraplp.Solver.OPTIMAL else None


def lp_point(proto, seconds: float) -> list[float] | None:
    """A point of a model's LP relaxation, its objective ignored: what CP-SAT's feasibility
    searches start from (`submodel.solve_free` with `at_most`). Only the linear rows without
    enforcement literal are kept, and not those beyond SAFE_COEFF (the point is a hint, not a
    bound); None when the simplex finds none within `seconds`."""
    started = _columns_of(proto)
    if started is None:
        return None
    lp, model = started
    inf = lp.infinity()
    for ct in proto.constraints:
        if len(ct.enforcement_literal) or not ct.has_linear():
            continue
        refs, coeffs, dom = list(ct.linear.vars), list(ct.linear.coeffs), ct.linear.domain
        if min(refs, default=0) < 0 or max(map(abs, coeffs), default=0) > SAFE_COEFF:
            continue
        _add_row(model, refs, coeffs, _finite(dom[0], -inf), _finite(dom[len(dom) - 1], inf))
    if not model.constraint:  # CLP ends ABNORMAL without rows: any point of the domains
        return [min(max(0.0, v.lower_bound), v.upper_bound) for v in model.variable]
    lp.LoadModelFromProto(model)
    lp.SetTimeLimit(max(1, int(seconds * 1000)))
    if lp.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    return [var.solution_value() for var in lp.variables()]


def _columns_of(proto) -> tuple[pywraplp.Solver, linear_solver_pb2.MPModelProto] | None:
    """A simplex solver (the first of LP_SOLVERS available; None if none) and an LP model
    holding one column per CP-SAT variable, within its domain's ends (built as a message: 10×
    faster than the API); rows and objective still to add."""
    lp = next(filter(None, map(pywraplp.Solver.CreateSolver, LP_SOLVERS)), None)
    if lp is None:
        return None
    inf = lp.infinity()
    model = linear_solver_pb2.MPModelProto()
    for var in proto.variables:
        dom = var.domain
        column = model.variable.add()
        column.lower_bound = _finite(dom[0], -inf)
        column.upper_bound = _finite(dom[len(dom) - 1], inf)
    return lp, model


def _add_row(model, refs: list[int], coeffs: list[int], low: float, high: float) -> None:
    row = model.constraint.add()
    row.var_index.extend(refs)
    row.coefficient.extend(map(float, coeffs))
    row.lower_bound, row.upper_bound = low, high


def _finite(bound: int, infinity: float) -> float:
    """A bound as the simplex takes it: beyond SAFE_COEFF² it is no bound at all; a float that
    cannot hold the integer exactly is rounded outward (towards `infinity`), never inward."""
    if isinstance(bound, float):
        return bound
    if abs(bound) > SAFE_COEFF**2:
        return infinity
    value = float(bound)
    if (value < bound) if infinity > 0 else (value > bound):
        value = math.nextafter(value, infinity)
    return value
