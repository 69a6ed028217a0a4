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


def neighbours(b: Built) -> list[set[int]]:
    """For each co-contractor, the co-contractors eligible for at least one of its items."""
    d = b.data
    out: list[set[int]] = [set() for _ in d.cocs]
    for ms in d.eligible:
        for k in ms:
            out[k].update(ms)
    return out


def _fix(b: Built, sol, members: set[int]) -> list[tuple[int, int, int]]:
    """Fix every variable outside the neighbourhood; returns the domains to restore."""
    variables = b.model.proto.variables
    saved: list[tuple[int, int, int]] = []
    owner = {i: k for (i, k), v in sol.x.items() if v}

    def pin(var: cp_model.IntVar, value: int) -> None:
        dom = variables[var.index].domain
        saved.append((var.index, dom[0], dom[1]))
        dom[0] = dom[1] = value

    for (i, k), var in b.x.items():
        current = owner.get(i)
        if current is not None and current not in members:
            pin(var, 1 if current == k else 0)
        elif k not in members:
            pin(var, 0)
    for (p, k, t), var in b.lend.items():
        if k not in members:
            pin(var, sol.lend.get((p, k, t), 0))
    return saved


def _restore(b: Built, saved: list[tuple[int, int, int]]) -> None:
    variables = b.model.proto.variables
    for index, lo, hi in reversed(saved):
        dom = variables[index].domain
        dom[0], dom[1] = lo, hi


def improve(
    b: Built,
    sol,
    value: int,
    maximise: bool,
    deadline: float,
    workers: int,
    worst=None,
    seed: int = 0,
):
    """Repeat small solves around random (or worst-off) members until `deadline`.

    Returns (solution, value). `worst(sol)` may name the member to start from.
    """
    from coop_tender.allocation.solve import hint, new_solver, read_solution

    rng = random.Random(seed)
    near = neighbours(b)
    n = len(b.data.cocs)
    if n < 2:
        return sol, value
    size = min(n, 6)  # adapted: grows while sub-solves finish, shrinks when they time out
    while True:
        left = deadline - time.perf_counter()
        if left < 0.1:
            break
        start = worst(sol) if worst is not None and rng.random() < 0.5 else rng.randrange(n)
        pool = sorted(near[start] - {start})
        rng.shuffle(pool)
        members = {start, *pool[: size - 1]}
        saved = _fix(b, sol, members)
        hint(b, sol)
        solver = new_solver(min(left, 1.0), workers)
        solver.parameters.max_presolve_iterations = 1
        code = solver.solve(b.model)
        _restore(b, saved)
        size = min(n, size + 1) if code == cp_model.OPTIMAL else max(3, size - 1)
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            found = round(solver.objective_value)
            if (found > value) if maximise else (found < value):
                sol, value = read_solution(b, solver), found
    return sol, value


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


def _fix_outside(b: Built, sol, items: set[int]) -> list[tuple[int, int, int]]:
    """Fix every site outside `items` to its member in `sol`, and the hours lent to members
    that cannot take any of `items`; returns the domains to restore."""
    variables = b.model.proto.variables
    saved: list[tuple[int, int, int]] = []
    free_members = {k for i in items for k in b.data.eligible[i]}

    def pin(var: cp_model.IntVar, value: int) -> None:
        dom = variables[var.index].domain
        saved.append((var.index, dom[0], dom[1]))
        dom[0] = dom[1] = value

    for (i, k), var in b.x.items():
        if i not in items:
            pin(var, sol.x.get((i, k), 0))
    for (p, k, t), var in b.lend.items():
        if k not in free_members:
            pin(var, sol.lend.get((p, k, t), 0))
    return saved


def improve_by_territory(
    b: Built, sol, value: int, deadline: float, workers: int, seed: int = 0
) -> tuple[object, int]:
    """Travel LNS: free the sites of one neighbourhood of `territory_groups`, everything else
    fixed, and re-solve that sub-problem with CP-SAT (all rules and the fixed earlier stages
    hold through the full model). Keeps improvements; moves to larger neighbourhoods when a
    whole round brings nothing; stops when the largest bring nothing or at `deadline`.
    Returns (solution, model travel)."""
    from coop_tender.allocation.solve import hint, new_solver, read_solution

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
            saved = _fix_outside(b, sol, items)
            hint(b, sol)
            solver = new_solver(min(left, 1.0), workers)
            solver.parameters.max_presolve_iterations = 1
            code = solver.solve(b.model)
            _restore(b, saved)
            found = round(solver.objective_value) if code in _SOLVED else value
            if found < value:
                sol, value, improved = read_solution(b, solver), found, True
        # A round without improvement: try larger neighbourhoods; after one, small ones again.
        level = 0 if improved and level > 0 else level + (not improved)
    return sol, value


_SOLVED = (cp_model.OPTIMAL, cp_model.FEASIBLE)
