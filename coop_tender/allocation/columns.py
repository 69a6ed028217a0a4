"""A column-generation (Dantzig–Wolfe) lower bound of the travel stage.

The LP relaxation (relaxation.py) and CP-SAT's root bound let each member take fractions of
sites, so a member whose turnover window holds one exact sum (rule 6 caps it where fairness
asks for more) or whose window is about one site wide looks much cheaper than it is. Here each
member's share is a *set of whole sites* that keeps its own rules (turnover window, dependency
cap, capacity with what may be lent to it, pins); a master LP mixes those sets under the
shared rules (each site once, lent hours, social clause, providers' rules and fairness). Its
value is the Dantzig–Wolfe bound; while columns are still being found, the Lagrangian bound
L(y) = y·b + Σ_members min_S (cost(S) − y·A_S) + Σ_lend min(0, −y·A_j)·ub_j holds for any duals
y of the right signs, so the best L over the iterations is a proven bound whenever the search
stops. Duals are smoothed (Wentges) to steady the search, from the sites' duals in the model's
LP relaxation, and the master's site duals are held in a box around the best duals so far
(boxstep, `BOX_SHARE`); each pricing solve gives every set it finds on its way. Measured on
the seed: 374.3 km in 7–8 s (374.6 km converged) where CP-SAT proves 365.45 km and the LP 358.5 km
(docs/performance.md).

The master's optimum also points to good allocations: the dive (`_dive`) fixes sites to the
members the mix gives them, generating columns again after each fixing, until every site is
whole. Seed: 376.3–381.4 km from it, where the neighbourhood searches had never gone below
379.5 km.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np
from ortools.linear_solver import linear_solver_pb2, pywraplp
from ortools.sat.python import cp_model

from coop_tender.allocation.figures import must_cover
from coop_tender.allocation.model import (
    SCALE,
    Built,
    ai_hours_cap,
    dependency_cap,
    scaled_ceil,
    scaled_floor,
)
from coop_tender.allocation.relaxation import lp_site_duals
from coop_tender.allocation.tight import bands
from coop_tender.money import to_cents

SMOOTHING = 0.7
"""Weight of the best duals so far in the duals the members are priced at (Wentges)."""
PRICE_SECONDS = 1.0
"""Most time one member's pricing solve may take (its proven bound is used if it stops)."""
PRICE_SCALE = 1000
"""Reduced costs are priced in 1/1000 m (CP-SAT needs integers); the rounding is subtracted."""
PRICE_REACH = 2.0**52
"""Most the priced objective may reach in absolute value once scaled (CP-SAT's integers are
64-bit): with larger reduced costs the scale is lowered, its rounding still subtracted. A
600-site tender of 2 co-contractors (sweep variant 1381) priced sites at up to 5.5e16 m, and
CP-SAT refused the coefficients (they no longer fit in 64 bits)."""
ENUM_CELLS = 150_000_000
ENUM_SETS = 50_000
"""A member whose window is narrower than its smallest site's value has its sets listed once
(subset sums, at most ENUM_CELLS table cells and ENUM_SETS sets) and is priced by a scan: such
exact-sum windows are what CP-SAT prices slowest (seed: no proof in 5 s, 9 593 sets)."""
ENUM_SECONDS = 0.5
"""Listing is started only with this much time left (the seed's member: 0.12 s)."""
BOX_SHARE = 0.7
"""Half-width of the box the master's site duals are held in while the bound is sought, as a
share of the mean site dual at the best duals so far. The master starts from the one
allocation in hand, a vertex so degenerate that its duals are noise: unboxed, the seed's first
14 rounds priced at Lagrangian values of −0.8 to −6.5 million metres and the bound took 47
rounds (374.3 km). Boxed, the master moves at once and the bound takes 29–34 rounds (shares
0.35–1; 0.7: 32), tight's reaches 340.3 km in 14 s (332.9 km unboxed). While the box's slack
is in use the master's optimum is not the columns' own: no convergence is read from it."""
CONVERGED = 1e-3
"""Column generation stops once the master's optimum (at least the Dantzig–Wolfe bound) is
within this share of the best bound: the seed's last 0.1 % took its last 1.3 s (bound 374.3
km instead of 374.6), which the dive needs more (at 20 s it missed them once in two)."""
LP_SHARE = 0.2
"""Most of the bound's time the model's LP relaxation may take for the first duals (seed:
0.02 s)."""
BOUND_SHARE = 0.7
"""Share of its time the bound may take when a dive follows (the dive gets the rest and what
the bound does not use; seed: converged in 8 s, the dive then 2.5 s)."""
REGION_BOUND_SHARE = 0.6
"""The same share for each region of `travel_columns_by_region`: a region that stops its dive
for time keeps the sites it had (far longer: ×10 at 60 s, 4.4 s a region, bound 3.2–3.8 s,
dives 0.6–1.3 s; one region of twenty ran out of time, 3 941.7 km against 3 769.5 km), and the
regions' bounds hardly move with less time (372.9–374.2 km each)."""
REGION_LATE_SHARE = 0.25
"""Once a region's dive has run out of time (`travel_columns_by_region`), the share of their
time the regions after it bound in, without a dive; the rest is the searches', which must move
the sites those regions keep from the stage's start. ×10 at 60 s, the first region starved on
purpose (pace 1.5): 0.6 → 4 006 km, 0.25 → 3 861 km; each region's bound 366.7–370.2 km
instead of 372.1–374.3 km."""
DIVE_ROUNDS = 3
"""Rounds of column generation after each fixing of a dive (more while the master needs
slack): as good as running to convergence on the seed, faster when the bound had no time to
converge."""
DIVE_BACKTRACKS = 5
"""Steps a dive may undo (ruling out the pair it had chosen) before giving up."""
ARTIFICIAL_COST = 1e6
"""Cost (metres) of a unit of slack on any master row while diving, or twice the dearest set
of the solution in hand if more (sites far apart must not make slack the cheaper set; the
seed's dearest is 122 km, so 1e6 stands there): the fixings may leave the columns in hand no
mix that keeps the rows; slack still used at a dive's end means none."""
MARGIN = 1e-6
"""Relative safety margin taken off the bound for floating-point arithmetic (and 1 m)."""
INF = math.inf


@dataclass
class _Column:
    member: int
    items: frozenset[int]
    coeffs: dict[int, float]  # master row -> coefficient
    cost: int  # metres


@dataclass
class _Master:
    """The master's rows (bounds) and its lent-hours columns, built once."""

    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    item_row: dict[int, int] = field(default_factory=dict)
    need_row: dict[tuple[int, int], int] = field(default_factory=dict)  # lent ≥ hours − cap
    share_row: dict[tuple[int, int], int] = field(default_factory=dict)  # lent ≤ share × hours
    within_row: dict[tuple[int, int], int] = field(default_factory=dict)  # lent ≤ hours
    social_row: int | None = None
    min_share_row: int | None = None
    covered_row: int | None = None
    lend: list[tuple[dict[int, float], float]] = field(default_factory=list)  # (coeffs, ub)
    slack_cost: float = ARTIFICIAL_COST  # per unit of slack on a row, while diving

    def row(self, lower: float, upper: float) -> int:
        self.lower.append(lower)
        self.upper.append(upper)
        return len(self.lower) - 1


@dataclass
class _Member:
    """One member's pricing problem: its sites, window and what may be lent to it."""

    k: int
    items: list[int]
    low: int
    high: int
    pinned: set[int]
    recv_cap: dict[int, int]  # period -> most hours lendable to it
    model: cp_model.CpModel | None = None
    x: dict[int, cp_model.IntVar] = field(default_factory=dict)
    over: dict[int, cp_model.IntVar] = field(default_factory=dict)  # period -> hours over cap
    over_max: dict[int, int] = field(default_factory=dict)
    listed: tuple | None = None  # (sets, incidence, hours over capacity) when enumerated
    forced: dict[int, int] = field(default_factory=dict)  # site -> 0 / 1 fixed by a dive


class _Context:
    """What the master and the pricing share: the model's data and the stage's fixed values."""

    def __init__(self, b: Built) -> None:
        self.b, d = b, b.data
        policy = d.problem.policy
        self.periods = range(len(d.periods))
        self.period_of = d.period_of
        self.hours = [it.hours for it in d.items]
        self.share = scaled_floor(policy.max_provider_share) if policy.max_provider_share else 0
        self.has_share = policy.max_provider_share is not None
        self.min_share = (
            scaled_ceil(policy.min_provider_share) / SCALE if policy.min_provider_share else 0.0
        )
        self.rate = [scaled_floor(m.insertion_rate) / SCALE for m in d.cocs]
        self.prate = [scaled_floor(m.insertion_rate) / SCALE for m in d.provs]


@dataclass
class Columns:
    """What column generation gives the travel stage: a proven lower bound (metres; None if
    none came) and the sites of the allocation its dive reached (None if it did not finish;
    `late` when it ran out of time)."""

    bound: int | None
    sites: set[tuple[int, int]] | None  # (site, co-contractor) pairs
    late: bool = False


def travel_columns(
    b: Built,
    sol,
    seconds: float,
    workers: int = 1,
    dive: bool = True,
    region: set[int] | None = None,
    prices: dict[int, float] | None = None,
    bound_share: float = BOUND_SHARE,
) -> Columns:
    """The Dantzig–Wolfe bound of the travel stage and, when `dive`, an allocation found by
    diving from the master's optimum (`_dive`), within `seconds`. The bound is None when the
    model is not the normal solve's (a rule lifted) or no bound came in time; the solution in
    hand `sol` gives the first columns; members are priced on `workers` threads.

    With `region` (co-contractors no site links to any other, lns.components), only its sites,
    members and lent hours: the rows that tie regions together (social clause, providers'
    minimum share and fairness, covered value) are left out, so the bound is the region's
    travel under fewer rules (the regions' bounds add up to a bound of the whole) and the
    dive's sites are the region's, their lent hours still to be found under every rule.
    `prices` are the sites' LP duals to start from (relaxation.lp_site_duals), when in hand;
    `bound_share` is the share of `seconds` the bound may take before the dive."""
    started = time.perf_counter()
    end = started + seconds
    nothing = Columns(None, None)
    if not all(b.model.proto.variables[lit.index].domain[0] == 1 for lit in b.rules.values()):
        return nothing  # a diagnosis with rules lifted: the master below assumes every rule
    if b.data.pin_problems:
        return nothing
    ctx = _Context(b)
    master = _build_master(b, ctx, region)
    members = _members(b, ctx, region)
    if any(m.low > m.high for m in members):
        return nothing
    if not members and not master.lend:
        return Columns(0, None)  # no site to assign, nothing to lend: no travel at all
    lp = _LP(master, members)
    start: dict[int, set[int]] = {}
    for (i, k), on in sol.x.items():
        if on:
            start.setdefault(k, set()).add(i)
    for m in members:
        col = _column(b, ctx, master, m.k, start.get(m.k, set()))
        master.slack_cost = max(master.slack_cost, 2.0 * col.cost)
        lp.add(col)
    bound_end = started + (bound_share * seconds if dive else seconds)
    with ThreadPoolExecutor(max(1, workers)) as pool:
        pr = _Pricing(b, ctx, members, pool)
        center = _signed(master, _first_duals(b, master, bound_end, prices))
        best, center = _generate(pr, lp, center, bound_end, boxed=True)
        sites = _dive(pr, lp, center, end) if dive else None
    late = dive and sites is None and time.perf_counter() >= end
    if not math.isfinite(best):
        return Columns(None, sites, late)  # nothing proven (never with a solution in hand)
    return Columns(math.floor(best - MARGIN * abs(best) - 1), sites, late)


def travel_columns_by_region(
    b: Built, sol, regions: list[set[int]], seconds: float, workers: int = 1
) -> Columns:
    """`travel_columns` region by region (lns.components), within `seconds`: the regions'
    bounds add up to a bound of the whole (None if one is missing), and the sites of every
    region whose dive finished replace those `sol` gives it. Each region gets the time left in
    proportion to its eligible pairs; what one does not use (converged early) flows on.
    Measured on ×10 (ten regions of 14 members, 42.5 s left in the travel stage at 60 s):
    4.4 s a region, bounds 372.9–374.0 km each, 3 732.8 km in all (the LP's: 3 580.6 km),
    dives 3 778.4 km in all (the searches alone: 3 888–3 991 km); 3.3 s a region, bounds
    3 698.7 km, no dive finished. Once a region's dive runs out of time, the regions after it
    only bound (REGION_LATE_SHARE of their share), and the time they leave is the searches'."""
    end = time.perf_counter() + seconds
    region_of = {k: n for n, group in enumerate(regions) for k in group}
    pairs = [0] * len(regions)
    for _i, k in b.x:
        pairs[region_of[k]] += 1
    prices = lp_site_duals(b, LP_SHARE * seconds / max(1, len(regions)))
    total: int | None = 0
    sites: set[tuple[int, int]] = set()
    done: set[int] = set()
    left = sum(pairs)
    per_pair: float | None = None  # once a dive ran out of time: bound-only seconds a pair
    for group, count in zip(regions, pairs, strict=True):
        if per_pair is None:
            share = (end - time.perf_counter()) * count / left if left else 0.0
        else:
            share = min(per_pair * count, end - time.perf_counter())
        left -= count
        found = travel_columns(
            b,
            sol,
            share,
            workers,
            dive=per_pair is None,
            region=group,
            prices=prices,
            bound_share=REGION_BOUND_SHARE,
        )
        total = None if total is None or found.bound is None else total + found.bound
        if found.sites is not None:
            sites |= found.sites
            done |= group
        if found.late and left:
            # The machine is too slow for the dives: the other regions only bound, briefly, and
            # leave the rest to the searches (×10 at 60 s, 6 of 10 dives out of time: 6 549 km,
            # the searches left no time, against 3 868–3 924 km).
            per_pair = REGION_LATE_SHARE * (end - time.perf_counter()) / left
    if not done:
        return Columns(total, None)
    kept = {(i, k) for (i, k), on in sol.x.items() if on and k not in done}
    return Columns(total, sites | kept)


@dataclass
class _Pricing:
    """The members to price, the threads they are priced on and what they are priced from."""

    b: Built
    ctx: _Context
    members: list[_Member]
    pool: ThreadPoolExecutor


def _generate(
    pr: _Pricing,
    lp: _LP,
    center: np.ndarray,
    end: float,
    rounds: int | None = None,
    boxed: bool = False,
) -> tuple[float, np.ndarray]:
    """Rounds of master LP and pricing, from duals `center`, until no column prices out, the
    bound is within CONVERGED of the master or time is up; returns the best Lagrangian bound
    met (−∞ if none) and the duals that gave it. `boxed`: the master's site duals are held
    within BOX_SHARE of `center` (never while diving, whose slack has its own cost)."""
    master, best, first = lp.ms, -INF, True
    sites = list(master.item_row.values())
    while time.perf_counter() < end and rounds != 0:
        rounds = None if rounds is None else rounds - 1
        if boxed and sites:
            lp.box(center, BOX_SHARE * float(np.mean(np.abs(center[sites]))))
        solved = lp.duals(end)
        if solved is None:
            break
        y, y_conv, value = solved
        held = boxed and lp.boxed()
        if not held and math.isfinite(best) and value - best <= CONVERGED * abs(best):
            break  # the master's optimum, above the Dantzig–Wolfe bound, is within reach
        y = _signed(master, y)
        # The first round prices at the first duals themselves: the master's, from a handful
        # of columns, are far off and would drag the smoothed point down (seed: 9 km).
        duals = center if first else SMOOTHING * center + (1 - SMOOTHING) * y
        first = False
        bound, added = _lagrangian_fixed(master, duals), 0
        same = (repeat(pr.b), repeat(pr.ctx), repeat(master))
        priced = list(pr.pool.map(_price, *same, pr.members, repeat(duals), repeat(end)))
        for m, (lowest, sets) in zip(pr.members, priced, strict=True):
            bound += lowest
            for items in sets:
                col = _column(pr.b, pr.ctx, master, m.k, items)
                if _reduced(col, y) - y_conv[m.k] < -1e-6:
                    added += lp.add(col)
        if bound > best:
            best, center = bound, duals.copy()
        elif added == 0:
            center = y.copy()  # the smoothed duals found nothing: back to the master's
        if added == 0 and np.allclose(duals, y) and not held:
            break  # no column prices out at the master's duals: the bound is the master's
    if boxed:
        lp.unbox()
    return best, center


def _first_duals(
    b: Built, ms: _Master, end: float, prices: dict[int, float] | None = None
) -> np.ndarray:
    """First duals, where the smoothing starts: the sites' duals in the model's LP relaxation
    (seed: L = 365.2 km at once), else each site that must be covered at its nearest member's
    distance (what figures.travel_floor sums, L = 330.7 km); every other row 0."""
    y = np.zeros(len(ms.lower))
    if prices is None:
        prices = lp_site_duals(b, LP_SHARE * (end - time.perf_counter()))
    for i, r in ms.item_row.items():
        if prices is not None:
            y[r] = prices.get(i, 0.0)
        elif ms.lower[r] == 1:
            y[r] = min(b.dist[(i, k)] for k in b.data.eligible[i])
    return y


def _dive(pr: _Pricing, lp: _LP, center: np.ndarray, end: float) -> set[tuple[int, int]] | None:
    """Price and dive: from the master's optimum, give each site its member where the mix
    already does (share 1) and the most-shared open pair too, keep only the columns that agree,
    generate columns again from the duals reached, and so on until the mix takes every site
    whole; returns the (site, member) pairs, or None if time ran out or the fixings left no mix
    without slack DIVE_BACKTRACKS times (each time the last step is undone and its pair ruled
    out). A heuristic: seed 376.3–381.4 km, following the columns it starts from, 2–3 s after
    the bound, where the searches alone found 379.5 km at best."""
    by_member = {m.k: m for m in pr.members}
    holders: dict[int, list[_Member]] = {}  # site -> the members that may take it
    for m in pr.members:
        for i in m.items:
            holders.setdefault(i, []).append(m)
    steps: list[tuple[tuple[int, int], list[tuple[_Member, int]]]] = []  # (pair, what it fixed)
    rounds: int | None = DIVE_ROUNDS
    backtracks = DIVE_BACKTRACKS
    lp.artificial()
    while time.perf_counter() < end:
        found = lp.mix(end)
        if found is None:
            return None
        if found[1] > 1e-6 and rounds is not None:  # the columns in hand still need slack
            rounds = None
        elif found[1] > 1e-6:  # slack left once no column prices out: undo the last step
            if not steps or backtracks == 0:
                return None
            backtracks -= 1
            (i, k), fixed = steps.pop()
            for m, j in fixed:
                _force(m, j, None)
            if _force(by_member[k], i, 0) and steps:
                steps[-1][1].append((by_member[k], i))
        else:
            share: dict[tuple[int, int], float] = {}
            for col, weight in found[0]:
                for i in col.items:
                    share[(i, col.member)] = share.get((i, col.member), 0.0) + weight
            open_pairs = {pair: v for pair, v in share.items() if v < 1 - 1e-6}
            if not open_pairs:
                return {pair for pair, v in share.items() if v > 0.5}
            chosen = max(open_pairs, key=open_pairs.__getitem__)
            fixed = []
            for i, k in [pair for pair, v in share.items() if v >= 1 - 1e-6] + [chosen]:
                fixed += [(m, i) for m in holders[i] if _force(m, i, int(m.k == k))]
            steps.append((chosen, fixed))
            rounds = DIVE_ROUNDS
        lp.keep(lambda col: _keeps_forced(by_member[col.member], col.items))
        _best, center = _generate(pr, lp, center, end, rounds)
    return None


# --------------------------------------------------------------------------- the master


def _build_master(b: Built, ctx: _Context, region: set[int] | None = None) -> _Master:
    """Rows shared by the members: sites, lent hours and their rules, providers' fairness
    (with `region`: its own rows only, see travel_columns)."""
    d, policy, ms = b.data, b.data.problem.policy, _Master()
    cocs = set(range(len(d.cocs))) if region is None else region
    whole = region is None
    cover = must_cover(b)
    full = set(cover) if cover is not None else set()
    for i, eligible in enumerate(d.eligible):
        if eligible and not cocs.isdisjoint(eligible):
            ms.item_row[i] = ms.row(1 if i in full else -INF, 1)
    if whole and cover is None and "coverage" in b.fixed:
        ms.covered_row = ms.row(b.fixed["coverage"], b.covered_max or b.fixed["coverage"])
    for k in sorted(cocs):
        for t in ctx.periods:
            if (k, t) in d.items_of:
                ms.need_row[(k, t)] = ms.row(-INF, 0)
                ms.within_row[(k, t)] = ms.row(-INF, 0)
                if ctx.has_share:
                    ms.share_row[(k, t)] = ms.row(-INF, 0)
    minimum = d.problem.tender.insertion_hours_min
    if whole and minimum > 0:
        ms.social_row = ms.row(minimum, INF)
    if whole and ctx.min_share:
        ms.min_share_row = ms.row(0, INF)
    lend_pairs = [(p, k, t) for p, k, t in d.lend_pairs if k in cocs]
    pcap_row = {(p, t): ms.row(-INF, d.pcap[(p, t)]) for p, _k, t in lend_pairs}
    ai_row: dict[tuple[int, int], int] = {}
    for p, k, _t in lend_pairs:
        cap = ai_hours_cap(policy, d.provs[p], d.cocs[k])
        if cap is not None and (p, k) not in ai_row:
            ai_row[(p, k)] = ms.row(-INF, cap)
    dep_row: dict[int, tuple[int, int]] = {}
    for p, prov in enumerate(d.provs):
        rate = to_cents(prov.hourly_rate) if prov.hourly_rate is not None else 0
        cap = dependency_cap(policy, prov)
        if rate and cap is not None:
            dep_row[p] = (ms.row(-INF, cap), rate)
    fair = _provider_fairness_rows(b, ms) if whole else []
    for (p, k, t), var in b.lend.items():
        if k not in cocs:
            continue
        coeffs = {ms.need_row[(k, t)]: -1.0, ms.within_row[(k, t)]: 1.0, pcap_row[(p, t)]: 1.0}
        if ctx.has_share:
            coeffs[ms.share_row[(k, t)]] = 1.0
        if ms.social_row is not None:
            coeffs[ms.social_row] = ctx.prate[p] - ctx.rate[k]
        if ms.min_share_row is not None:
            coeffs[ms.min_share_row] = 1.0
        if (p, k) in ai_row:
            coeffs[ai_row[(p, k)]] = 1.0
        if p in dep_row:
            coeffs[dep_row[p][0]] = float(dep_row[p][1])
        for q, (low_row, high_row, lo, hi) in enumerate(fair):
            mine = 1.0 if q == p else 0.0
            coeffs[high_row] = mine - hi
            coeffs[low_row] = lo - mine
        dom = b.model.proto.variables[var.index].domain
        ms.lend.append((coeffs, float(dom[len(dom) - 1])))
    return ms


def _provider_fairness_rows(b: Built, ms: _Master) -> list[tuple[int, int, float, float]]:
    """Providers' lent hours within their windows widened by the fixed excess (divided by the
    window unit: small numbers for the simplex)."""
    if "provider_fairness" not in b.fixed or b.prov is None:
        return []
    w, excess = b.prov, b.fixed["provider_fairness"]
    rows = []
    for p in range(len(b.data.provs)):
        low_row, high_row = ms.row(-INF, excess / w.unit), ms.row(-INF, excess / w.unit)
        rows.append((low_row, high_row, w.lo[p] / w.unit, w.hi[p] / w.unit))
    return rows


def _column(b: Built, ctx: _Context, ms: _Master, k: int, items) -> _Column:
    """A member's set of sites as a master column."""
    d = b.data
    hours = dict.fromkeys(ctx.periods, 0)
    for i in items:
        hours[ctx.period_of[i]] += ctx.hours[i]
    coeffs = {ms.item_row[i]: 1.0 for i in items}
    for t, h in hours.items():
        if (k, t) not in ms.need_row:
            continue
        coeffs[ms.need_row[(k, t)]] = float(max(0, h - d.cap[(k, t)]))
        coeffs[ms.within_row[(k, t)]] = -float(h)
        if ctx.has_share:
            coeffs[ms.share_row[(k, t)]] = -ctx.share / SCALE * h
    total = sum(hours.values())
    if ms.social_row is not None:
        coeffs[ms.social_row] = ctx.rate[k] * total
    if ms.min_share_row is not None:
        coeffs[ms.min_share_row] = -ctx.min_share * total
    if ms.covered_row is not None:
        coeffs[ms.covered_row] = float(sum(d.values[i] for i in items))
    cost = sum(b.dist[(i, k)] for i in items)
    return _Column(k, frozenset(items), coeffs, cost)


def _reduced(col: _Column, y: np.ndarray) -> float:
    """cost − y·A of a column (without its member's convexity dual)."""
    return col.cost - sum(y[r] * c for r, c in col.coeffs.items())


class _LP:
    """The restricted master, kept by one CLP solver from round to round: columns are added and
    bounded at 0 (a dive ruling them out), never removed, so each solve starts from the last
    basis (seed, the bound's rounds replayed: 35 ms a solve against 50 ms afresh; in the dive
    9 ms against 13 ms when it rebuilt the master at each step). A slack each way on every
    row is at 0 until the bound's box opens the sites' (`box`) or a dive lets them all in,
    dearer than any set of sites (`artificial`). Rows are
    built once as a protocol buffer; row objects never outlive their solver (that corrupted
    memory)."""

    def __init__(self, ms: _Master, members: list[_Member]) -> None:
        self.ms, model = ms, linear_solver_pb2.MPModelProto()
        for lo, hi in zip(ms.lower, ms.upper, strict=True):
            row = model.constraint.add()
            row.lower_bound, row.upper_bound = lo, hi
        self.conv: dict[int, int] = {}
        for m in members:
            self.conv[m.k] = len(model.constraint)
            row = model.constraint.add()
            row.lower_bound = row.upper_bound = 1.0
        for coeffs, ub in ms.lend:
            _append(model, 0.0, ub, 0.0, coeffs.items())
        first_slack = len(model.variable)
        for r in range(len(model.constraint)):
            _append(model, 0.0, 0.0, 0.0, [(r, 1.0)])
            _append(model, 0.0, 0.0, 0.0, [(r, -1.0)])
        self.solver = pywraplp.Solver.CreateSolver("CLP")
        self.broken = bool(self.solver.LoadModelFromProto(model))  # an invalid row: no bound
        self.rows = self.solver.constraints()
        self.slack = self.solver.variables()[first_slack:]
        self.columns: list[tuple[pywraplp.Variable, _Column]] = []
        self.seen: set[tuple[int, frozenset[int]]] = set()

    def add(self, col: _Column) -> int:
        """Append a column unless the member already has that set; 1 if appended."""
        key = (col.member, col.items)
        if key in self.seen or self.broken:
            return 0
        self.seen.add(key)
        var = self.solver.NumVar(0.0, self.solver.infinity(), "")
        self.solver.Objective().SetCoefficient(var, float(col.cost))
        self.rows[self.conv[col.member]].SetCoefficient(var, 1.0)
        for r, c in col.coeffs.items():
            self.rows[r].SetCoefficient(var, c)
        self.columns.append((var, col))
        return 1

    def artificial(self) -> None:
        """Let the slacks in, at the master's slack cost a unit."""
        for var in self.slack:
            var.SetUb(self.solver.infinity())
            self.solver.Objective().SetCoefficient(var, self.ms.slack_cost)

    def _site_slacks(self):
        """Each site row's two slacks: one covering it, one uncovering it."""
        for r in self.ms.item_row.values():
            yield r, self.slack[2 * r], self.slack[2 * r + 1]

    def box(self, center: np.ndarray, width: float) -> None:
        """Hold each site's dual within `width` (at least 1 m) of `center`: covering the site
        by slack costs center + width, uncovering it earns center − width."""
        width, objective = max(width, 1.0), self.solver.Objective()
        for r, cover, uncover in self._site_slacks():
            cover.SetUb(self.solver.infinity())
            uncover.SetUb(self.solver.infinity())
            objective.SetCoefficient(cover, float(center[r] + width))
            objective.SetCoefficient(uncover, float(width - center[r]))

    def boxed(self) -> bool:
        """Whether the last optimum covers or uncovers a site by the box's slack."""
        return any(
            cover.solution_value() + uncover.solution_value() > 1e-6
            for _r, cover, uncover in self._site_slacks()
        )

    def unbox(self) -> None:
        """Take the box away: the site slacks closed again."""
        objective = self.solver.Objective()
        for _r, cover, uncover in self._site_slacks():
            for var in (cover, uncover):
                var.SetUb(0.0)
                objective.SetCoefficient(var, 0.0)

    def keep(self, allowed) -> None:
        """Bound at 0 every column whose set `allowed(col)` refuses, free the others again."""
        for var, col in self.columns:
            var.SetUb(self.solver.infinity() if allowed(col) else 0.0)

    def _solve(self, end: float) -> bool:
        if self.broken or not self.solver.NumVariables():
            return False  # no site and nothing to lend: CLP crashes on a model without columns
        self.solver.SetTimeLimit(max(10, int(1000 * (end - time.perf_counter()))))
        return self.solver.Solve() == pywraplp.Solver.OPTIMAL

    def mix(self, end: float) -> tuple[list[tuple[_Column, float]], float] | None:
        """The LP's optimum as the columns it uses with their weights, and the slack it takes;
        None if not optimal."""
        if not self._solve(end):
            return None
        weights = [(col, var.solution_value()) for var, col in self.columns]
        slack = sum(var.solution_value() for var in self.slack)
        return [(col, w) for col, w in weights if w > 1e-9], slack

    def duals(self, end: float) -> tuple[np.ndarray, dict[int, float], float] | None:
        """The LP's duals (shared rows; convexity row per member) and optimum, None if not
        optimal."""
        if not self._solve(end):
            return None
        duals = np.array([row.dual_value() for row in self.rows])
        conv = {k: duals[r] for k, r in self.conv.items()}
        return duals[: len(self.ms.lower)], conv, self.solver.Objective().Value()


def _append(model: linear_solver_pb2.MPModelProto, lower, upper, cost, pairs) -> None:
    """A column of a model under construction."""
    j = len(model.variable)
    var = model.variable.add()
    var.lower_bound, var.upper_bound, var.objective_coefficient = lower, upper, cost
    for r, c in pairs:
        model.constraint[r].var_index.append(j)
        model.constraint[r].coefficient.append(c)


def _signed(ms: _Master, y: np.ndarray) -> np.ndarray:
    """Duals with the signs their rows allow (the simplex returns ±1e-12 of the wrong one):
    ≥ rows non-negative, ≤ rows non-positive. Any such y gives a valid Lagrangian bound."""
    lower, upper = np.array(ms.lower), np.array(ms.upper)
    y = np.where((lower == -INF) & (y > 0), 0.0, y)
    return np.where((upper == INF) & (y < 0), 0.0, y)


def _lagrangian_fixed(ms: _Master, y: np.ndarray) -> float:
    """The Lagrangian function without the members' pricing: y·b (each row at the bound its
    dual's sign selects; a dual of the wrong sign for a one-sided row counts as −∞) plus the
    lent-hours columns at their best end."""
    total = 0.0
    for r, (lo, hi) in enumerate(zip(ms.lower, ms.upper, strict=True)):
        if y[r] > 0:
            total += -INF if lo == -INF else y[r] * lo
        elif y[r] < 0:
            total += -INF if hi == INF else y[r] * hi
    for coeffs, ub in ms.lend:
        reduced = -sum(y[r] * c for r, c in coeffs.items())
        total += min(0.0, reduced) * ub
    return total


# --------------------------------------------------------------------------- the members


def _members(b: Built, ctx: _Context, region: set[int] | None = None) -> list[_Member]:
    """Each member with sites: its band (tight.bands: fairness window at the fixed excess,
    capped by rule 6), pins and the most hours that may be lent to it per period."""
    d = b.data
    by_member: dict[int, list[int]] = {}
    for i, k in b.x:
        if region is None or k in region:
            by_member.setdefault(k, []).append(i)
    pinned_to = dict(d.pins)
    windows = bands(b)
    if windows is None:  # turnover fairness not fixed: only rule 6 bounds a member's value
        caps = [dependency_cap(d.problem.policy, m) for m in d.cocs]
        windows = [(0, sum(d.values) if c is None else min(c, sum(d.values))) for c in caps]
    recv: dict[tuple[int, int], int] = {}
    for (_p, k, t), var in b.lend.items():
        dom = b.model.proto.variables[var.index].domain
        recv[(k, t)] = recv.get((k, t), 0) + dom[len(dom) - 1]
    out = []
    for k, items in sorted(by_member.items()):
        mine = [i for i in items if pinned_to.get(i, k) == k]
        pinned = {i for i in mine if pinned_to.get(i) == k}
        recv_cap = {t: recv.get((k, t), 0) for t in ctx.periods}
        out.append(_Member(k, mine, *windows[k], pinned, recv_cap))
    return out


def _price(
    b: Built, ctx: _Context, ms: _Master, m: _Member, y: np.ndarray, end: float
) -> tuple[float, list[set[int]]]:
    """min over the member's sets of cost − y·A (a proven lower bound of it) and the sets found."""
    if not m.items:  # every site it could take is pinned to another member
        return (0.0 if m.low <= 0 else INF), [set()]
    site = {i: b.dist[(i, m.k)] - _site_dual(ctx, ms, m.k, i, y) for i in m.items}
    over = {t: -y[ms.need_row[(m.k, t)]] for t in ctx.periods if (m.k, t) in ms.need_row}
    if m.listed is None and _listable(b, m) and end - time.perf_counter() > ENUM_SECONDS:
        m.listed = _enumerate(b, ctx, m)
    if m.listed is not None and m.listed != ():
        sets, incidence, overs = m.listed
        costs = incidence @ np.array([site[i] for i in m.items])
        costs += overs @ np.array([over.get(t, 0.0) for t in ctx.periods])
        for i, on in m.forced.items():  # the sets a dive has ruled out
            costs[incidence[:, m.items.index(i)] != on] = INF
        order = np.argsort(costs)[:3]
        if not math.isfinite(costs[order[0]]):
            return INF, []
        return float(costs[order[0]]), [sets[j] for j in order if math.isfinite(costs[j])]
    return _price_cp(b, ctx, m, site, over, end)


def _site_dual(ctx: _Context, ms: _Master, k: int, i: int, y: np.ndarray) -> float:
    """y·A of the site alone in member k's column (its row, hours-linear rows, value)."""
    t, h = ctx.period_of[i], ctx.hours[i]
    total = y[ms.item_row[i]] - y[ms.within_row[(k, t)]] * h
    if ctx.has_share:
        total -= y[ms.share_row[(k, t)]] * ctx.share / SCALE * h
    if ms.social_row is not None:
        total += y[ms.social_row] * ctx.rate[k] * h
    if ms.min_share_row is not None:
        total -= y[ms.min_share_row] * ctx.min_share * h
    if ms.covered_row is not None:
        total += y[ms.covered_row] * ctx.b.data.values[i]
    return total


def _price_cp(
    b: Built, ctx: _Context, m: _Member, site: dict, over: dict, end: float
) -> tuple[float, list[set[int]]]:
    if m.model is None:
        _build_pricing(b, ctx, m)
    over = {t: c for t, c in over.items() if t in m.over}
    reach = sum(abs(float(c)) for c in site.values())
    reach += sum(abs(float(c)) * m.over_max[t] for t, c in over.items())
    scale = min(PRICE_SCALE, PRICE_REACH / reach) if reach > 0 else PRICE_SCALE
    terms, coeffs, error = [], [], 0.0
    for i, c in site.items():
        q = round(float(c) * scale)
        terms.append(m.x[i])
        coeffs.append(q)
        error += abs(q - c * scale)
    for t, c in over.items():
        q = round(float(c) * scale)
        terms.append(m.over[t])
        coeffs.append(q)
        error += abs(q - c * scale) * m.over_max[t]
    m.model.minimize(cp_model.LinearExpr.weighted_sum(terms, coeffs))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.cp_model_presolve = False  # 65-site knapsacks: presolve is most of it
    # Branching on the LP's values, without cuts: the seed's 780 pricing solves take 47 % less
    # CPU time (cuts barely move the bound of a knapsack with a value window).
    solver.parameters.search_branching = cp_model.LP_SEARCH
    solver.parameters.cut_level = 0
    solver.parameters.max_time_in_seconds = max(0.01, min(PRICE_SECONDS, end - time.perf_counter()))
    sets = _Sets(m)
    code = solver.solve(m.model, sets)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return (INF if code == cp_model.INFEASIBLE else -INF), []
    return (solver.best_objective_bound - error) / scale, sets.found[::-1]


class _Sets(cp_model.CpSolverSolutionCallback):
    """Every set the pricing search finds on its way to the best: a few columns per member
    and round instead of one."""

    def __init__(self, m: _Member) -> None:
        super().__init__()
        self.m, self.found = m, []

    def on_solution_callback(self) -> None:
        self.found.append({i for i in self.m.items if self.boolean_value(self.m.x[i])})


def _build_pricing(b: Built, ctx: _Context, m: _Member) -> None:
    """The member's own rules on a set of its sites: window, pins, hours over its capacity
    within what may be lent to it (rule 3) and within max_provider_share of its hours (rule 4)."""
    d, model = b.data, cp_model.CpModel()
    m.model = model
    m.x = {i: model.new_bool_var(f"x{i}") for i in m.items}
    for i in m.pinned:
        model.add(m.x[i] == 1)
    for i, on in m.forced.items():
        _set_bool(m, i, on)
    value = cp_model.LinearExpr.weighted_sum(
        [m.x[i] for i in m.items], [d.values[i] for i in m.items]
    )
    model.add_linear_constraint(value, m.low, m.high)
    for t in ctx.periods:
        its = [i for i in m.items if ctx.period_of[i] == t]
        if not its:  # no hours, nothing over (and an empty sum in a row crashes CP-SAT 9.15)
            continue
        hours = cp_model.LinearExpr.weighted_sum([m.x[i] for i in its], [ctx.hours[i] for i in its])
        cap = d.cap.get((m.k, t), 0)
        most = max(0, sum(ctx.hours[i] for i in its) - cap)
        over = model.new_int_var(0, most, f"over{t}")
        model.add(over >= hours - cap)
        model.add(over <= m.recv_cap[t])
        if ctx.has_share:
            model.add(SCALE * over <= ctx.share * hours)
        m.over[t], m.over_max[t] = over, most


def _listable(b: Built, m: _Member) -> bool:
    """Whether the member's window is narrower than its smallest site's value (few sets)."""
    values = [b.data.values[i] for i in m.items if b.data.values[i] > 0]
    return bool(values) and m.high - m.low < min(values)


def _enumerate(b: Built, ctx: _Context, m: _Member) -> tuple:
    """Every set of the member's sites within its window that keeps its own rules, listed by
    subset sums (values divided by their gcd; the table as bitsets); () when too many cells or
    sets. Seed: 9 593 sets in 0.12 s (a float table walked path by path took 1.4 s)."""
    d = b.data
    values = [d.values[i] for i in m.items]
    g = math.gcd(*values) or 1
    vals = [v // g for v in values]
    low, high = -(-m.low // g), m.high // g
    n = len(vals)
    if high < 0 or (n + 1) * (high + 1) > ENUM_CELLS:
        return ()
    whole = (1 << (high + 1)) - 1
    reach = [1]  # reach[j]: bit s set when some set of the first j sites sums to s
    for v in vals:  # (a site worth more than the window would only make a huge integer)
        reach.append(reach[-1] if v > high else (reach[-1] | (reach[-1] << v)) & whole)
    # Walk back from the window through the table, one site a level, all paths at once: a
    # path at level j is a sum s still to make from the first j sites; each level keeps, for
    # each path, the path it came from and whether it took the site.
    sums = max(low, 0) + np.flatnonzero(_bits(reach[n], high + 1)[max(low, 0) :])
    levels: list[tuple[np.ndarray, np.ndarray]] = []  # sites n − 1 down to 0
    for j in range(n, 0, -1):
        if len(sums) > ENUM_SETS:
            return ()  # the paths only branch: at least this many sets
        row = _bits(reach[j - 1], high + 1)
        v = vals[j - 1]
        without = np.flatnonzero(row[sums])
        took = np.flatnonzero(sums >= v)
        took = took[row[sums[took] - v]]
        levels.append(
            (np.concatenate([without, took]), np.arange(len(without) + len(took)) >= len(without))
        )
        sums = np.concatenate([sums[without], sums[took] - v])
    if len(sums) > ENUM_SETS:
        return ()
    chosen = np.zeros((len(sums), n), dtype=bool)
    path = np.arange(len(sums))
    for q, (parent, taken) in enumerate(reversed(levels)):
        chosen[:, q] = taken[path]
        path = parent[path]
    incidence = chosen[np.all(chosen[:, [m.items.index(i) for i in m.pinned]], axis=1)]
    per_period = np.zeros((n, len(ctx.periods)), dtype=np.int64)
    for q, i in enumerate(m.items):
        per_period[q, ctx.period_of[i]] = ctx.hours[i]
    hours = incidence @ per_period
    caps = np.array([d.cap.get((m.k, t), 0) for t in ctx.periods])
    over = np.maximum(0, hours - caps)
    keep = np.all(over <= np.array([m.recv_cap[t] for t in ctx.periods]), axis=1)
    if ctx.has_share:
        keep &= np.all(SCALE * over <= ctx.share * hours, axis=1)
    if not keep.any():
        return ()
    incidence, over = incidence[keep], over[keep]
    sets = [{m.items[q] for q in np.flatnonzero(r)} for r in incidence]
    return sets, incidence.astype(float), over.astype(float)


def _bits(bitset: int, size: int) -> np.ndarray:
    """The first `size` bits of an integer as booleans, lowest first."""
    raw = np.frombuffer(bitset.to_bytes((size + 7) // 8, "little"), dtype=np.uint8)
    return np.unpackbits(raw, bitorder="little")[:size].view(bool)


def _force(m: _Member, i: int, on: int | None) -> bool:
    """Fix site `i` in or out of the member's sets (None: free it again) for its pricing;
    whether anything changed."""
    if m.forced.get(i) == on:
        return False
    if on is None:
        del m.forced[i]
    else:
        m.forced[i] = on
    if m.model is not None:
        _set_bool(m, i, on)
    return True


def _set_bool(m: _Member, i: int, on: int | None) -> None:
    domain = m.model.proto.variables[m.x[i].index].domain
    domain[0], domain[1] = (0, 1) if on is None else (on, on)


def _keeps_forced(m: _Member, items) -> bool:
    """Whether a set of the member's sites agrees with the sites a dive fixed."""
    return all((i in items) == bool(on) for i, on in m.forced.items())
