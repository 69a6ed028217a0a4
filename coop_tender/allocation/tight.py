"""Members held to a narrow turnover band: choose their whole set of sites at once.

Once turnover fairness is fixed (solve.fix_stage), the co-contractor that sets the worst excess
is often capped by rule 6 and must keep its value within cents of its cap: no site can move in
or out alone, and the moves of local.py and the neighbourhoods of lns.py only ever swap sites of
(nearly) equal value. Its sites are then chosen as a whole: an exact-sum knapsack picks, among
the sites it may take, the set inside its band that costs least travel against each site's
nearest other member; with that set pinned, CP-SAT re-solves the rest of its region
(lns.components). Kept only if the full model's travel improves.

Measured on the seed case (travel stage, fairness 0.50 € above its floor so a band of 50 cents,
2 cores): 401 km → 373.4 km with the knapsack's set pinned (CP-SAT proves that sub-problem in
9 s, 379 km after 1.5 s), where a full CP-SAT solve from the same start reaches 386 km after
240 s and 378 km after 300 s. With the fairness at its floor (band of 0 €), 10 s runs of the
whole solve end at 380–385 km, against 431 km before.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass

from ortools.sat.python import cp_model

from coop_tender.allocation.figures import turnover_bands
from coop_tender.allocation.lns import (
    components,
    group_excess_vars,
)
from coop_tender.allocation.model import SCALE, Built, dependency_cap, scaled_floor
from coop_tender.allocation.submodel import free_items, solve_free

KNAPSACK_SECONDS = 1.0
"""Most time for one knapsack in the travel search (choose_sites)."""
FLOOR_KNAPSACK_SECONDS = 0.5
"""Most time for one knapsack in the fairness stage (reach_floor): any set of the right sum
proves the stage, so the first found is taken (`choose_sites(..., first=True)`); the travel
stage chooses again among such sets. Measured (session 25): each of ×10's ten knapsacks took
the whole 0.5 s looking for a shorter set, 5 s of its 60. Fairness stage in the 20:12 UTC
bench: seed 2.1 → 1.1–1.2 s (travel 377.47 km in each run), ×10 13–16 → 6.7–7.7 s."""
DP_MAX_BITS = 2**31
"""Largest subset-sum table sampled (bits, 256 MB); above it the knapsack goes to CP-SAT. The
seed case needs 13 MB (a member's cap of 174 280.50 €, values in multiples of 10 cents)."""
TAKE_CHEAP = 0.8
"""When sampling sets, chance of taking a site that shortens travel if both choices remain
possible (and of leaving one that lengthens it)."""
KNAPSACK_SHARE = 0.25
"""Share of a member's time in improve_tight for its knapsack (the rest: the pinned solve)."""
TIGHT_SHARE = 0.7
"""Share of the time left in the travel search given to the narrow-band members."""
MIN_MEMBER_SECONDS = 1.0
"""Least time for one narrow-band member's knapsack and region solve (a region of ~130 sites
improves in 1–2 s)."""
STALL_MEMBERS = 3
"""improve_tight stops after this many members in a row without improvement."""
MAX_REGION_ITEMS = 400
"""Above this many sites a member's region is too large to re-solve at once: its neighbours
are re-solved instead."""


def bands(b: Built) -> list[tuple[int, int]] | None:
    """Each co-contractor's allowed value (cents) once coverage and turnover fairness are
    fixed: its fairness window at the fixed excess, capped by rule 6; None before they are."""
    if "turnover_fairness" not in b.fixed or "coverage" not in b.fixed:
        return None
    low, high = turnover_bands(b, b.fixed["turnover_fairness"])
    policy = b.data.problem.policy
    caps = [dependency_cap(policy, m) for m in b.data.cocs]
    return [
        (lo, hi if cap is None else min(hi, cap))
        for lo, hi, cap in zip(low, high, caps, strict=True)
    ]


def band(b: Built, k: int) -> tuple[int, int] | None:
    """Co-contractor k's entry of `bands`."""
    all_bands = bands(b)
    return None if all_bands is None else all_bands[k]


def tight_members(b: Built) -> list[int]:
    """Co-contractors whose band is narrower than their smallest eligible site (no site can
    move in or out alone), narrowest first."""
    all_bands = bands(b)
    if all_bands is None:
        return []
    smallest: dict[int, int] = {}
    for i, k in b.x:
        smallest[k] = min(smallest.get(k, b.data.values[i]), b.data.values[i])
    widths = ((all_bands[k][1] - all_bands[k][0], k) for k in smallest)
    return [k for width, k in sorted(widths) if width < smallest[k]]


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


@dataclass
class Knapsack:
    """Which sites k may be given, what each costs in travel, and the limits of its set."""

    free: list[int]  # sites k may take or leave
    fixed: list[int]  # sites k must keep (pinned to k, or only k may take them)
    current: set[int]  # the sites k holds now
    cost: dict[int, int]  # metres: k's distance minus the nearest other member's
    period: dict[int, int]
    hours: dict[int, int]
    values: list[int]
    most: list[int]  # hours k may hold per period (max_hours)
    limits: tuple[int, int]  # cents

    def valid(self, chosen: set[int]) -> bool:
        if not self.limits[0] <= sum(self.values[i] for i in chosen) <= self.limits[1]:
            return False
        used = [0] * len(self.most)
        for i in chosen:
            used[self.period[i]] += self.hours[i]
        return all(h <= m for h, m in zip(used, self.most, strict=True))

    def price(self, chosen: set[int]) -> int:
        return sum(self.cost.get(i, 0) for i in chosen)


def knapsack(b: Built, sol, k: int, limits: tuple[int, int] | None = None) -> Knapsack | None:
    """k's knapsack in `sol`: sites held by nobody stay so (coverage is fixed), sites pinned
    elsewhere stay there; None when k has no band or no site."""
    d = b.data
    limits = limits or band(b, k)
    if limits is None or limits[0] > limits[1]:
        return None
    owner = {i: kk for (i, kk), v in sol.x.items() if v}
    pinned = dict(d.pins)
    tidx = {p: t for t, p in enumerate(d.periods)}
    free, fixed, cost = [], [], {}
    for i in sorted(i for i, kk in b.x if kk == k):
        if i not in owner or pinned.get(i, k) != k:
            continue
        others = [b.dist[(i, c)] for c in d.eligible[i] if c != k]
        if not others or pinned.get(i) == k:
            fixed.append(i)
        else:
            free.append(i)
            cost[i] = b.dist[(i, k)] - min(others)
    if not free and not fixed:
        return None
    return Knapsack(
        free=free,
        fixed=fixed,
        current={i for i, kk in owner.items() if kk == k},
        cost=cost,
        period={i: tidx[d.items[i].period] for i in free + fixed},
        hours={i: d.items[i].hours for i in free + fixed},
        values=d.values,
        most=[max_hours(b, k, t) for t in range(len(d.periods))],
        limits=limits,
    )


def choose_sites(
    b: Built,
    sol,
    k: int,
    seconds: float,
    limits: tuple[int, int] | None = None,
    first: bool = False,
) -> set[int] | None:
    """The set of sites for k worth `limits` (cents; default: its band) that adds least
    travel, each site counted against its nearest other eligible member, as found in
    `seconds` (`first`: the first set found); None when no set is found. By sampling exact
    sums (`_sample_exact`), or with CP-SAT when that table would be too large."""
    ks = knapsack(b, sol, k, limits)
    if ks is None:
        return None
    deadline = time.perf_counter() + seconds
    best = set(ks.current) if ks.valid(ks.current) else None
    if first and best is not None:
        return best
    sampled = _sample_exact(ks, deadline, first)
    if sampled is not None:
        if best is None or (sampled and ks.price(sampled[0]) < ks.price(best)):
            best = sampled[0] if sampled else best
        return best
    found = _cp_sat(ks, deadline, first)
    if found is not None and (best is None or ks.price(found) < ks.price(best)):
        best = found
    return best


def _sample_exact(ks: Knapsack, deadline: float, first: bool = False) -> list[set[int]] | None:
    """Random sets within the limits, drawn until `deadline` from the table of sums each first
    n sites can make (a subset-sum table in Python integers as bit sets, values divided by
    their common divisor): going back from the last site, a site is taken when both taking
    and leaving it can still end within the limits with a probability favouring the sites that
    shorten travel. Returns [the cheapest valid set] ([] if none; `first`: the first valid set),
    or None when the table would exceed DP_MAX_BITS. Measured on the seed case, band of 0 €:
    table 0.011 s; 0.33 km of added travel after 1 s, where CP-SAT had 3.7–19.5 km after 1 s
    and 0.4 km after 10 s."""
    fixed_value = sum(ks.values[i] for i in ks.fixed)
    low, high = ks.limits[0] - fixed_value, ks.limits[1] - fixed_value
    if high < 0:
        return []
    low = max(low, 0)
    g = 0
    for i in ks.free:
        g = math.gcd(g, ks.values[i])
    g = g or 1
    low, high = -(-low // g), high // g
    if low > high:
        return []
    order = sorted(ks.free, key=lambda i: -ks.cost[i])  # the cheapest are decided first
    weights = [ks.values[i] // g for i in order]
    if (high + 1) * (len(order) + 1) > DP_MAX_BITS:
        return None
    mask = (1 << (high + 1)) - 1
    table = [1]
    for w in weights:
        table.append((table[-1] | (table[-1] << w)) & mask)
    size = (high + 8) // 8
    rows = [row.to_bytes(size, "little") for row in table]

    def can(n: int, total: int) -> bool:
        return total >= 0 and bool(rows[n][total >> 3] >> (total & 7) & 1)

    rng = random.Random(0)
    if high - low < 4096:
        ends = [total for total in range(low, high + 1) if can(len(order), total)]
    else:  # a wide band: a few reachable totals drawn at random, and the highest one
        draws = (rng.randint(low, high) for _ in range(256))
        top = next((t for t in range(high, low - 1, -1) if can(len(order), t)), None)
        ends = [t for t in draws if can(len(order), t)] + ([] if top is None else [top])
    if not ends:
        return []
    best: set[int] | None = None
    while best is None or (not first and time.perf_counter() < deadline):
        total, chosen = rng.choice(ends), set(ks.fixed)
        for n in range(len(order), 0, -1):
            i, w = order[n - 1], weights[n - 1]
            take, leave = can(n - 1, total - w), can(n - 1, total)
            if take and leave:
                take = rng.random() < (TAKE_CHEAP if ks.cost[i] < 0 else 1 - TAKE_CHEAP)
            if take:
                chosen.add(i)
                total -= w
        if ks.valid(chosen) and (best is None or ks.price(chosen) < ks.price(best)):
            best = chosen
        if best is None and time.perf_counter() > deadline:
            return []
    return [best]


def _cp_sat(ks: Knapsack, deadline: float, first: bool = False) -> set[int] | None:
    """The knapsack with CP-SAT, for tables too large to sample: a set of the right sum first
    (found faster without objective), then (unless `first`) the cheapest found by the
    core-based worker."""
    from coop_tender.allocation.solve import new_solver

    model = cp_model.CpModel()
    take = {i: model.new_bool_var(f"take[{i}]") for i in ks.free + ks.fixed}
    for i in ks.fixed:
        model.add(take[i] == 1).with_name(f"fixed[{i}]")
    for i in ks.free:
        model.add_hint(take[i], i in ks.current)
    model.add_linear_constraint(
        sum(ks.values[i] * y for i, y in take.items()), *ks.limits
    ).with_name("band")
    for t, most in enumerate(ks.most):
        in_t = [i for i in take if ks.period[i] == t]
        if in_t:
            model.add(sum(ks.hours[i] * take[i] for i in in_t) <= most).with_name(f"hours[{t}]")
    solver = new_solver(0.8 * (deadline - time.perf_counter()), 2)
    if solver.solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    if first:
        return {i for i, y in take.items() if solver.value(y)}
    model.clear_hints()
    for y in take.values():
        model.add_hint(y, solver.value(y))
    model.minimize(sum(ks.cost[i] * take[i] for i in ks.free))
    solver = new_solver(deadline - time.perf_counter(), 2)
    solver.parameters.subsolvers.extend(["core", "default_lp"])
    if solver.solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return {i for i, y in take.items() if solver.value(y)}


def solve_with_sites(
    b: Built, sol, k: int, chosen: set[int], region: set[int], seconds: float, workers: int
):
    """Re-solve `region` (k's group of lns.components) with k's sites pinned to `chosen` and
    everything outside the region fixed as in `sol`, under the model's current objective;
    returns (status, result) as submodel.solve_free does."""
    items = {i for i, ms in enumerate(b.data.eligible) if region.intersection(ms)}
    overrides = {var.index: int(i in chosen) for (i, kk), var in b.x.items() if kk == k}
    free = free_items(b, items) - set(overrides)
    return solve_free(b, sol, free, max(seconds, 0.05), workers, overrides)


def improve_tight(b: Built, sol, value: int, deadline: float, workers: int):
    """For each narrow-band co-contractor in turn, pin its knapsack set and re-solve its region
    with CP-SAT (objective: the model's, travel); keeps improvements. Even a member that keeps
    its sites gains: with them pinned, CP-SAT no longer searches an exact sum and solves the
    others far faster (seed: 374 km where it stalled at 431 km). Measured on ×10 (ten regions):
    one solve of all regions at once with every set pinned left 5 109 km, one region after the
    other 3 990–5 500 km. Each member gets at least MIN_MEMBER_SECONDS (on ×40, 40 members in
    19 s improved nothing); the search stops after STALL_MEMBERS members in a row bring
    nothing, and the time left goes back to the caller. A region larger than
    MAX_REGION_ITEMS is replaced by the member and those that could take its sites. Returns
    (solution, value)."""
    from coop_tender.allocation.lns import neighbours
    from coop_tender.allocation.solve import read_solution

    tight = tight_members(b)
    groups = components(b)
    region_of = {k: group for group in groups for k in group}
    near = neighbours(b)
    sites_of: dict[int, int] = {}  # co-contractor -> sites its region may take
    for group in groups:
        count = sum(1 for ms in b.data.eligible if group.intersection(ms))
        sites_of.update((k, count) for k in group)
    failures = 0
    for n, k in enumerate(tight):
        left = deadline - time.perf_counter()
        if left < MIN_MEMBER_SECONDS or failures >= STALL_MEMBERS:
            break
        per_member = max(left / (len(tight) - n), MIN_MEMBER_SECONDS)
        chosen = choose_sites(b, sol, k, min(KNAPSACK_SECONDS, KNAPSACK_SHARE * per_member))
        if chosen is None:
            continue
        region = region_of[k] if sites_of[k] <= MAX_REGION_ITEMS else near[k] | {k}
        seconds = per_member - (left - (deadline - time.perf_counter()))
        code, solver = solve_with_sites(b, sol, k, chosen, region, seconds, workers)
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE) and solver.objective_value < value:
            sol, value = read_solution(b, solver), round(solver.objective_value)
            failures = 0
        else:
            failures += 1
    return sol, value


def reach_floor(b: Built, sol, value: int, floor: int, deadline: float, workers: int):
    """Turnover fairness: while the worst-off co-contractor is one capped by rule 6, give it a
    set of sites worth exactly what the solver-free floor (figures.fairness_floor) allows, then
    re-solve its region with the excess held to the floor there; reaching the floor proves the
    stage optimal. Stops at the first member for which no such set or no such allocation is
    found. Returns (solution, value)."""
    from coop_tender.allocation.solve import _set_domain, _values, read_solution

    covered = b.fixed.get("coverage")
    if covered is None or value <= floor:
        return sol, value
    window_low = b.fair.bounds_at(0, covered)[0]
    low = b.fair.bounds_at(floor, covered)[0]
    policy = b.data.problem.policy
    groups = components(b)
    # One excess variable per region, so that a region is held to the floor while the others
    # are still above it (lns.group_excess_vars); with one region, the stage's own variable.
    excess = [b.turnover_excess] if len(groups) == 1 else group_excess_vars(b, groups, value)
    while value > floor and (left := deadline - time.perf_counter()) > 0.1:
        gaps = b.fair.gaps(_values(b, sol), covered)
        k = max(range(len(gaps)), key=gaps.__getitem__)
        cap = dependency_cap(policy, b.data.cocs[k])
        if cap is None or cap >= window_low[k]:
            break  # not held below its window by rule 6: the other searches' job
        seconds = min(FLOOR_KNAPSACK_SECONDS, 0.4 * left)
        chosen = choose_sites(b, sol, k, seconds, (low[k], cap), first=True)
        if chosen is None:
            break
        g = next(g for g, group in enumerate(groups) if k in group)
        var = excess[g]
        domain = b.model.proto.variables[var.index].domain
        saved = (domain[0], domain[1])
        # Measured on the seed case: 0.8 s to the floor held so, 2.4 s by minimising alone.
        _set_domain(b, var, 0, floor)
        seconds = deadline - time.perf_counter()
        code, solver = solve_with_sites(b, sol, k, chosen, groups[g], seconds, workers)
        _set_domain(b, var, *saved)
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            break
        new = read_solution(b, solver)
        new_gaps = b.fair.gaps(_values(b, new), covered)
        if max(new_gaps) > value or new_gaps[k] >= gaps[k]:
            break
        sol, value = new, max(new_gaps)
    return sol, value
