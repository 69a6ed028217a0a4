"""Members held to a narrow turnover band: choose their whole set of sites at once.

Once turnover fairness is fixed (solve.fix_stage), the co-contractor that sets the worst excess
is often capped by rule 6 and must keep its value within cents of its cap: no site can move in
or out alone, and the moves of local.py and the neighbourhoods of lns.py only ever swap sites of
(nearly) equal value. Its sites are then chosen as a whole: an exact-sum knapsack picks, among
the sites it may take, the set inside its band that costs least travel against each site's
nearest other member; with that set pinned, CP-SAT re-solves the rest of its region
(lns.components). Kept only if the full model's travel improves.

Measured on the seed case (travel stage from the same start, 2 cores): 401 km → 373.4 km with
the knapsack's set pinned (CP-SAT proves that sub-problem in 9 s, 379 km after 1.5 s), where a
full CP-SAT solve reaches 386 km after 240 s and 378 km after 300 s.
"""

from __future__ import annotations

import time

from ortools.sat.python import cp_model

from coop_tender.allocation.lns import _fix_outside, _solve_pinned, components
from coop_tender.allocation.model import SCALE, Built, dependency_cap, scaled_floor

KNAPSACK_SECONDS = 0.5
"""Most time for one knapsack. CP-SAT's core-based worker finds the seed case's optimum in
0.03 s (the LP worker alone: not in 1 s); the proof, not needed here, takes 1–3 s."""
TIGHT_SHARE = 0.5
"""Share of the time left in the travel search given to the narrow-band members."""


def band(b: Built, k: int) -> tuple[int, int] | None:
    """Co-contractor k's allowed value (cents) once coverage and turnover fairness are fixed:
    its fairness window at the fixed excess, capped by rule 6; None before they are fixed."""
    if "turnover_fairness" not in b.fixed or "coverage" not in b.fixed:
        return None
    low, high = b.fair.bounds_at(b.fixed["turnover_fairness"], b.fixed["coverage"])
    cap = dependency_cap(b.data.problem.policy, b.data.cocs[k])
    return low[k], high[k] if cap is None else min(high[k], cap)


def tight_members(b: Built) -> list[int]:
    """Co-contractors whose band is narrower than their smallest eligible site (no site can
    move in or out alone), narrowest first."""
    smallest: dict[int, int] = {}
    for i, k in b.x:
        smallest[k] = min(smallest.get(k, b.data.values[i]), b.data.values[i])
    out = []
    for k, least in smallest.items():
        limits = band(b, k)
        if limits is not None and limits[1] - limits[0] < least:
            out.append((limits[1] - limits[0], k))
    return [k for _width, k in sorted(out)]


def max_hours(b: Built, k: int, t: int) -> int:
    """Most hours of sites co-contractor k may hold in period t: its capacity plus what rule 4
    lets providers lend it (hours − capacity ≤ share × hours)."""
    d = b.data
    cap = d.cap.get((k, t), 0)
    lenders = [p for p, kk, tt in b.lend if kk == k and tt == t]
    if not lenders:
        return cap
    most = cap + sum(d.pcap.get((p, t), 0) for p in lenders)
    share = d.problem.policy.max_provider_share
    if share is None:
        return most
    s = scaled_floor(share)
    return most if s >= SCALE else min(most, cap * SCALE // (SCALE - s))


def choose_sites(b: Built, sol, k: int, seconds: float) -> set[int] | None:
    """The set of sites for k inside its band that adds least travel, each site counted
    against its nearest other eligible member; None when none is found in time. Sites held by
    nobody stay so (coverage is fixed), pinned sites stay with their member, and a site only k
    may take stays with k."""
    d = b.data
    limits = band(b, k)
    if limits is None:
        return None
    owner = {i: kk for (i, kk), v in sol.x.items() if v}
    pinned = dict(d.pins)
    tidx = {p: t for t, p in enumerate(d.periods)}
    model = cp_model.CpModel()
    take: dict[int, cp_model.IntVar] = {}
    cost: dict[int, int] = {}
    for i in sorted(i for i, kk in b.x if kk == k):
        if i not in owner or pinned.get(i, k) != k:
            continue
        others = [b.dist[(i, c)] for c in d.eligible[i] if c != k]
        y = take[i] = model.new_bool_var(f"take[{i}]")
        if not others or pinned.get(i) == k:
            model.add(y == 1).with_name(f"only_member[{i}]")
            continue
        cost[i] = b.dist[(i, k)] - min(others)
        model.add_hint(y, owner[i] == k)
    if not take:
        return None
    value = sum(d.values[i] * y for i, y in take.items())
    model.add_linear_constraint(value, *limits).with_name("band")
    for t in range(len(d.periods)):
        in_t = [(i, y) for i, y in take.items() if tidx[d.items[i].period] == t]
        if in_t:
            hours = sum(d.items[i].hours * y for i, y in in_t)
            model.add(hours <= max_hours(b, k, t)).with_name(f"hours[{t}]")
    model.minimize(sum(c * take[i] for i, c in cost.items()))
    from coop_tender.allocation.solve import new_solver

    solver = new_solver(seconds, 2)
    # The core-based worker finds these exact-sum sets at once; the LP worker proves them.
    solver.parameters.subsolvers.extend(["core", "default_lp"])
    code = solver.solve(model)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return {i for i, y in take.items() if solver.value(y)}


def improve_tight(b: Built, sol, value: int, deadline: float, workers: int):
    """For each narrow-band co-contractor, pin the knapsack's set and re-solve its region with
    CP-SAT (objective: the model's, travel); keeps improvements. Returns (solution, value)."""
    from coop_tender.allocation.solve import read_solution

    tight = tight_members(b)
    groups = components(b)
    group_of = {k: n for n, group in enumerate(groups) for k in group}
    variables = b.model.proto.variables
    for n, k in enumerate(tight):
        left = deadline - time.perf_counter()
        if left < 0.1:
            break
        per_member = left / (len(tight) - n)
        chosen = choose_sites(b, sol, k, min(KNAPSACK_SECONDS, 0.3 * per_member))
        current = {i for (i, kk), v in sol.x.items() if v and kk == k}
        if chosen is None or chosen == current:
            continue
        region = groups[group_of[k]]
        items = {i for i, ms in enumerate(b.data.eligible) if region.intersection(ms)}
        saved = _fix_outside(b, sol, items)
        for (i, kk), var in b.x.items():
            if kk == k:
                dom = variables[var.index].domain
                saved.append((var.index, dom[0], dom[1]))
                dom[0] = dom[1] = int(i in chosen)
        seconds = per_member - (left - (deadline - time.perf_counter()))
        code, solver = _solve_pinned(b, sol, saved, max(seconds, 0.05), workers)
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE) and solver.objective_value < value:
            sol, value = read_solution(b, solver), round(solver.objective_value)
    return sol, value
