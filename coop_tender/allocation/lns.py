"""Member-neighbourhood large-neighbourhood search, run after a stage's main CP-SAT solve.

On large tenders CP-SAT's own neighbourhoods rarely improve travel or fairness: every move
needs several members to trade sites at once. Here a neighbourhood is one member (often the one
furthest from its fairness window) plus the members that could take its sites: everything else
is fixed (sites of other members, hours lent to other members) and the small remaining model is
solved with the current solution as hint. Only improvements are kept, so the answer is always a
solution CP-SAT itself accepted on the full model's constraints.
"""

from __future__ import annotations

import random
import time

from ortools.sat.python import cp_model

from coop_tender.allocation.model import Built
from coop_tender.allocation.submodel import free_items, free_members, solve_free


def neighbours(b: Built) -> list[set[int]]:
    """For each co-contractor, the co-contractors eligible for at least one of its items."""
    d = b.data
    out: list[set[int]] = [set() for _ in d.cocs]
    for ms in d.eligible:
        for k in ms:
            out[k].update(ms)
    return out


def _pin(b: Built, saved: list[tuple[int, int, int]], var: cp_model.IntVar, value: int) -> None:
    """Fix `var` to `value` in the model's proto, its old bounds appended to `saved` (for
    `_restore`)."""
    dom = b.model.proto.variables[var.index].domain
    saved.append((var.index, dom[0], dom[1]))
    dom[0] = dom[1] = value


def _restore(b: Built, saved: list[tuple[int, int, int]]) -> None:
    variables = b.model.proto.variables
    for index, lo, hi in reversed(saved):
        dom = variables[index].domain
        dom[0], dom[1] = lo, hi


def _solve_pinned(b: Built, sol, saved: list[tuple[int, int, int]], seconds: float, workers: int):
    """Solve the full model with the domains `_pin` pinned (their old bounds in `saved`) and `sol`
    as hint, then unpin them; returns (status, solver)."""
    from coop_tender.allocation.solve import hint, new_solver

    hint(b, sol)
    solver = new_solver(seconds, workers)
    solver.parameters.max_presolve_iterations = 1  # sub-problems: one presolve pass is plenty
    code = solver.solve(b.model)
    _restore(b, saved)
    return code, solver


def improve(
    b: Built,
    sol,
    value: int,
    maximise: bool,
    deadline: float,
    workers: int,
    worst=None,
    seed: int = 0,
    bound: int | None = None,
):
    """Repeat small solves around random (or worst-off) members until `deadline`, or until the
    value reaches `bound` (a proven best: nothing more to find).

    Returns (solution, value). `worst(sol)` may name the member to start from.
    """
    from coop_tender.allocation.solve import read_solution

    rng = random.Random(seed)
    near = neighbours(b)
    n = len(b.data.cocs)
    if n < 2:
        return sol, value
    size = min(n, 6)  # adapted: grows while sub-solves finish, shrinks when they time out
    started = last_gain = time.perf_counter()
    while True:
        now = time.perf_counter()
        left = deadline - now
        reached = bound is not None and (value >= bound if maximise else value <= bound)
        if left < 0.1 or now - last_gain > STALL_SHARE * (deadline - started) or reached:
            break
        start = worst(sol) if worst is not None and rng.random() < 0.5 else rng.randrange(n)
        pool = sorted(near[start] - {start})
        rng.shuffle(pool)
        members = {start, *pool[: size - 1]}
        code, solver = solve_free(b, sol, free_members(b, sol, members), min(left, 1.0), workers)
        size = min(n, size + 1) if code == cp_model.OPTIMAL else max(3, size - 1)
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            found = round(solver.objective_value)
            if (found > value) if maximise else (found < value):
                sol, value = read_solution(b, solver), found
                last_gain = time.perf_counter()
    return sol, value


STALL_SHARE = 0.5
"""`improve` stops when nothing improved for this share of its time: the rest flows to the
next stage (a 2 500-site tender's fairness search gained nothing in 7.9 s, 0.27 € above its
floor, while its travel search had 7.7 s)."""


def territory_groups(b: Built) -> list[list[tuple[tuple[str, str], ...]]]:
    """Neighbourhoods for travel, as sets of (territory, period) keys, by growing level: one
    territory in one period; two territories a co-contractor serves together, same period;
    one territory over all periods; two such territories over all periods (sites only move
    between members of their territory, and capacities are per period)."""
    d = b.data
    terr = sorted({it.territory for it in d.items})
    pairs = set()
    for m in d.cocs:
        mine = sorted(set(m.territories) & set(terr))
        pairs.update((a, c) for n, a in enumerate(mine) for c in mine[n + 1 :])
    pairs_sorted = sorted(pairs)
    return [
        [((t, p),) for t in terr for p in d.periods],
        [((a, p), (c, p)) for a, c in pairs_sorted for p in d.periods],
        [tuple((t, p) for p in d.periods) for t in terr],
        [tuple((t, p) for t in pair for p in d.periods) for pair in pairs_sorted],
    ]


def improve_by_territory(
    b: Built, sol, value: int, deadline: float, workers: int, seed: int = 0
) -> tuple[object, int]:
    """Travel LNS: free the sites of one neighbourhood of `territory_groups`, everything else
    fixed, and re-solve that sub-problem with CP-SAT (all rules and the fixed earlier stages
    hold through the full model). Keeps improvements; moves to larger neighbourhoods when a
    whole round brings nothing; stops when the largest bring nothing or at `deadline`.
    Returns (solution, model travel)."""
    from coop_tender.allocation.solve import read_solution

    rng = random.Random(seed)
    d = b.data
    levels = [level for level in territory_groups(b) if level]
    items_in: dict[tuple[str, str], set[int]] = {}
    for i, it in enumerate(d.items):
        if d.eligible[i]:
            items_in.setdefault((it.territory, it.period), set()).add(i)
    level = 0
    while level < len(levels):
        order = levels[level][:]
        rng.shuffle(order)
        improved = False
        for group in order:
            left = deadline - time.perf_counter()
            if left < 0.05:
                return sol, value
            items = set().union(*(items_in.get(key, set()) for key in group))
            if not items:
                continue
            code, solver = solve_free(b, sol, free_items(b, items), min(left, 1.0), workers)
            found = round(solver.objective_value) if code in _SOLVED else value
            if found < value:
                sol, value, improved = read_solution(b, solver), found, True
        # A round without improvement: try larger neighbourhoods; after one, small ones again.
        level = 0 if improved and level > 0 else level + (not improved)
    return sol, value


_SOLVED = (cp_model.OPTIMAL, cp_model.FEASIBLE)


def components(b: Built) -> list[set[int]]:
    """Groups of co-contractors linked, directly or not, by sites they could both take: no
    site ever moves between two groups (a national network's regions, for instance)."""
    near = neighbours(b)
    group_of: dict[int, int] = {}
    groups: list[set[int]] = []
    for start in range(len(b.data.cocs)):
        if start in group_of:
            continue
        group, todo = set(), [start]
        while todo:
            k = todo.pop()
            if k not in group:
                group.add(k)
                group_of[k] = len(groups)
                todo.extend(near[k] - group)
        groups.append(group)
    return groups


def group_excess_vars(b: Built, groups: list[set[int]], top: int) -> list[cp_model.IntVar]:
    """One variable per group, at least each of its co-contractors' distance outside its
    turnover window, at most `top`, the current worst excess (which the global excess may no
    longer exceed): they restrict nothing, and let a search minimise one group's worst excess
    while the others are fixed. (A larger `top` could overflow CP-SAT's sum of domains.) Made
    once per model (b.group_excess) and reused, their upper bound lowered to `top`: each set
    adds two rows per co-contractor to every later solve."""
    from coop_tender.allocation.solve import _set_domain

    if b.group_excess:
        for var in b.group_excess:
            hi = b.model.proto.variables[var.index].domain[1]
            _set_domain(b, var, 0, min(hi, top))
        return b.group_excess
    w, model = b.fair, b.model
    out = []
    for g, group in enumerate(groups):
        var = model.new_int_var(0, top, f"turnover_excess_group[{g}]")
        for k in sorted(group):
            name = b.data.cocs[k].id
            model.add(var >= w.lo[k] * b.covered - w.unit * b.value_of[k]).with_name(
                f"fair_turnover_group_low[{name}]"
            )
            model.add(var >= w.unit * b.value_of[k] - w.hi[k] * b.covered).with_name(
                f"fair_turnover_group_high[{name}]"
            )
        out.append(var)
    b.group_excess = out
    return out


def improve_fairness_by_group(
    b: Built, sol, deadline: float, workers: int, groups: list[set[int]], floor: int = 0
) -> tuple[object, int]:
    """Turnover-fairness LNS over independent groups: free the group holding the worst-off
    co-contractor, minimise that group's worst excess (the global one may not grow), keep
    improvements; stop when that group cannot improve, at `floor` (a proven lower bound) or at
    `deadline`. Each sub-problem is the size of one region, so a tender ten regions large costs
    ten regional solves, not one ten times harder. Returns (solution, model turnover excess)."""
    from coop_tender.allocation.solve import _set_domain, _values, read_solution

    def gaps(s) -> list[int]:
        value = _values(b, s)
        return b.fair.gaps(value, sum(value))

    group_of = {k: g for g, group in enumerate(groups) for k in group}
    current = gaps(sol)
    if max(current) == 0:
        return sol, 0  # every co-contractor inside its window: nothing to improve
    excess = group_excess_vars(b, groups, max(current))
    first = (deadline - time.perf_counter()) / len(groups)
    limit = [min(max(first, 1.0), GROUP_SECONDS)] * len(groups)
    while (left := deadline - time.perf_counter()) > 0.1 and max(current) > floor:
        worst = max(range(len(current)), key=current.__getitem__)
        g = group_of[worst]
        before = max(current[k] for k in groups[g])
        _set_domain(b, b.turnover_excess, 0, max(current))
        b.model.minimize(excess[g])
        free = free_members(b, sol, groups[g])
        code, solver = solve_free(b, sol, free, min(left, limit[g]), workers)
        if code in _SOLVED and round(solver.objective_value) < before:
            sol = read_solution(b, solver)
            current = gaps(sol)
        elif code == cp_model.OPTIMAL:
            break  # the worst-off group cannot do better with the others as they are
        else:
            limit[g] *= 2  # not enough time to improve it: give it more next time
    return sol, max(current)


GROUP_SECONDS = 3.0
"""Most time a group's first sub-solve gets: a region of ~130 sites improves in that (measured);
less when there are many regions, so that each gets one try within the stage."""
