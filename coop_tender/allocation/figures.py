"""Each stage's figures recomputed exactly from the returned solution (never the model's own
scaled or rounded objective), with the model's proven bound converted to a valid bound of that
exact quantity. "optimal" is claimed only when the exact value meets the exact bound.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from coop_tender.allocation.model import (
    DIST_UNIT_KM,
    Built,
    dependency_cap,
    exact,
    exact_excess,
    tolerance,
)
from coop_tender.models import Stage

STAGE_UNITS = {"coverage": "€", "turnover_fairness": "€", "provider_fairness": "h", "travel": "km"}
EXCESS_STAGES = ("turnover_fairness", "provider_fairness")
"""Stages that minimise an excess: never negative, so 0 is a proven bound."""


def _two(q: Fraction) -> float:
    """A rational as a float rounded to 2 decimals, half-even (as the checker quantizes)."""
    d = Decimal(q.numerator) / Decimal(q.denominator)
    return float(d.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))


def _cents(q: Fraction, up: bool) -> float:
    """A rational rounded to 2 decimals towards +∞ (`up`) or −∞."""
    hundredths = math.ceil(q * 100) if up else math.floor(q * 100)
    return float(Decimal(hundredths) / 100)


def amounts(b: Built, sol) -> tuple[list[int], list[int]]:
    """Cents per co-contractor and lent hours per provider in a solution."""
    d = b.data
    value = [0] * len(d.cocs)
    for (i, k), v in sol.x.items():
        if v:
            value[k] += d.values[i]
    lent = [0] * len(d.provs)
    for (p, _k, _t), h in sol.lend.items():
        lent[p] += h
    return value, lent


def exact_value(b: Built, name: str, sol) -> Fraction | float:
    """The stage's quantity for a solution: cents, cents, hours, or km (Σ great-circle)."""
    d = b.data
    value, lent = amounts(b, sol)
    if name == "coverage":
        return Fraction(sum(value))
    if name == "turnover_fairness":
        return exact_excess(d.shares, tolerance(d.problem), value)
    if name == "provider_fairness":
        return exact_excess(d.prov_shares, tolerance(d.problem), lent)
    return sum(d.dist_km[key] for key, v in sorted(sol.x.items()) if v)


def model_value(b: Built, name: str, sol) -> int:
    """The model's own objective for a solution (integer units of the model)."""
    value, lent = amounts(b, sol)
    if name == "coverage":
        return sum(value)
    if name == "turnover_fairness":
        return b.fair.excess(value, sum(value))
    if name == "provider_fairness":
        return b.prov.excess(lent, sum(lent))
    return sum(b.dist[key] for key, v in sol.x.items() if v)


def _travel_bound_km(b: Built, bound: int) -> float:
    """Model bound (metres, each pair rounded) → a lower bound of the real Σ km: subtract, per
    item, the largest amount by which rounding overstated one of its pairs."""
    over: dict[int, float] = {}
    for (i, k), m in b.dist.items():
        over[i] = max(over.get(i, 0.0), m * DIST_UNIT_KM - b.data.dist_km[(i, k)])
    return max(0.0, bound * DIST_UNIT_KM - sum(over.values()))


def exact_stage(b: Built, name: str, sol, bound: int | None, seconds: float) -> Stage:
    """The stage as reported: exact value of `sol`, a valid bound, honest status."""
    unit = STAGE_UNITS[name]
    value = exact_value(b, name, sol)
    if bound is None and name in EXCESS_STAGES:
        bound = 0  # an excess is never negative: 0 is proven optimal when reached
    if bound is None:  # money stages are in cents, like the value computed above
        shown = value / 100 if name in ("coverage", "turnover_fairness") else value
        return Stage(
            name=name,
            value=round(float(shown), 2),
            status="feasible",
            seconds=round(seconds, 3),
            unit=unit,
        )
    if name == "travel":
        real_bound = _travel_bound_km(b, bound)
        # Distances are rounded to the metre in the model: "optimal" means the model's travel
        # is proven minimal; the exact km may then differ from the bound by that rounding.
        status = "optimal" if model_value(b, name, sol) == bound else "feasible"
        return Stage(
            name=name,
            value=round(float(value), 2),
            bound=min(math.floor(real_bound * 100) / 100, round(float(value), 2)),
            status=status,
            seconds=round(seconds, 3),
            unit=unit,
        )
    if name == "coverage":
        exact_bound = Fraction(bound)
    elif name == "turnover_fairness":
        exact_bound = b.fair.real_bound(bound, sum(b.data.values))
    else:
        exact_bound = b.prov.real_bound(bound, sum(it.hours for it in b.data.items))
    status = "optimal" if exact_bound == value else "feasible"
    scale = Fraction(1, 100) if name in ("coverage", "turnover_fairness") else Fraction(1)
    # A bound not reached is rounded away from the value, so that it never promises better.
    shown_bound = (
        _two(value * scale)
        if status == "optimal"
        else _cents(exact_bound * scale, up=name == "coverage")
    )
    return Stage(
        name=name,
        value=_two(value * scale),
        bound=shown_bound,
        status=status,
        seconds=round(seconds, 3),
        unit=unit,
    )


def travel_floor(b: Built) -> int:
    """A lower bound of travel (metres) that needs no solver: when coverage is fixed at the
    value of every site someone may take, each such site (of non-zero value) must go to some
    member, at least its nearest; otherwise 0. Reported when CP-SAT's bound is weaker or
    missing (large tenders, where the main solve may end before its first bound)."""
    d = b.data
    coverable = must_cover(b)
    if coverable is None:
        return 0
    return sum(min(b.dist[(i, k)] for k in d.eligible[i]) for i in coverable)


def must_cover(b: Built) -> list[int] | None:
    """The sites every allocation must assign once coverage is fixed at the value of all that
    someone may take (each coverable site of non-zero value); None when coverage is partial."""
    d = b.data
    coverable = [i for i, ms in enumerate(d.eligible) if ms and d.values[i] > 0]
    if b.fixed.get("coverage") != sum(d.values[i] for i in coverable):
        return None
    return coverable


def turnover_bands(b: Built, excess: int) -> tuple[list[int], list[int]]:
    """Each co-contractor's allowed value (cents) when the worst excess is `excess` and the
    covered value lies between the fixed coverage C and its proven bound: lows at C, highs at
    the bound (both ends move up with the covered value)."""
    low = b.fair.bounds_at(excess, b.fixed["coverage"])[0]
    high = b.fair.bounds_at(excess, b.covered_max or b.fixed["coverage"])[1]
    return low, high


def _rule_on(b: Built, name: str) -> bool:
    lit = b.rules.get(name)
    return lit is not None and b.model.proto.variables[lit.index].domain[0] == 1


def fairness_floor(b: Built) -> int:
    """A lower bound of the turnover-fairness stage (model units) that needs no solver, once
    coverage is fixed at C: no co-contractor can get more than `_most_value` (its hours filled
    with its most valuable sites per hour, its dependency cap), so the worst excess is at least
    max_k (lo_k·C − unit·Vmax_k). On the benchmark it equals CP-SAT's LP bound (12 738.50 €),
    which CP-SAT no longer reaches in time on ×10 with the presolve workaround of solve.py."""
    d, w = b.data, b.fair
    covered = b.fixed.get("coverage")
    if covered is None or w is None:
        return 0
    rooms = _rooms(b)
    best = Fraction(0)
    for k in range(len(d.cocs)):
        best = max(best, w.lo[k] * covered - w.unit * _most_value(b, k, rooms))
    return math.ceil(best)


def coverage_ceiling(b: Built) -> int:
    """An upper bound of the coverage stage (cents) that needs no solver, for the tenders whose
    coverage CP-SAT does not prove (its own bound is then often the total on offer): per region
    (lns.components: no site is shared between two) and period, the region's sites filled into
    the hours its members may work together, most valuable per hour first (fractional
    knapsack); and no region above the sum of its members' `_most_value`."""
    from coop_tender.allocation.lns import components

    d, rooms = b.data, _rooms(b)
    if not _rule_on(b, "capacity"):  # a diagnosis with rule 3 lifted: hours are unbounded
        return d.coverable_value
    lenders: dict[tuple[int, int], set[int]] = {}
    for p, k, t in d.lend_pairs:
        lenders.setdefault((k, t), set()).add(p)
    total = Fraction(0)
    for group in components(b):
        pooled = Fraction(0)
        for t in range(len(d.periods)):
            providers = set().union(*(lenders.get((k, t), set()) for k in group))
            own = sum(d.cap.get((k, t), 0) for k in group)
            hours = sum(rooms[(k, t)] for k in group)
            if _rule_on(b, "provider_capacity"):
                hours = min(hours, own + sum(d.pcap[(p, t)] for p in providers))
            its = {i for k in group for i in d.items_of.get((k, t), [])}
            pooled += _knapsack(b, its, hours)
        total += min(pooled, sum(_most_value(b, k, rooms) for k in group))
    return math.floor(total)


def _rooms(b: Built) -> dict[tuple[int, int], Fraction]:
    """Most hours each co-contractor may work per period: own capacity plus what the providers
    who may lend to it have, and at most own / (1 − max_provider_share) under rule 4."""
    d = b.data
    share = d.problem.policy.max_provider_share if _rule_on(b, "provider_share") else None
    lenders: dict[tuple[int, int], int] = {}
    for p, k, t in d.lend_pairs:
        lenders[(k, t)] = lenders.get((k, t), 0) + d.pcap[(p, t)]
    rooms = {}
    for k in range(len(d.cocs)):
        for t in range(len(d.periods)):
            cap = d.cap.get((k, t), 0)
            room = Fraction(cap + lenders.get((k, t), 0))
            if not _rule_on(b, "provider_capacity"):
                room = Fraction(10**18)
            if share is not None and share < 1:
                room = min(room, Fraction(cap) / (1 - exact(share)))
            rooms[(k, t)] = room
    return rooms


def _knapsack(b: Built, items, hours: Fraction) -> Fraction:
    """Most value of `items` in `hours`, sites taken fractionally, most valuable per hour first
    (sites of no hours always)."""
    d = b.data
    value = Fraction(sum(d.values[i] for i in items if d.items[i].hours == 0))
    room = hours
    timed = [i for i in items if d.items[i].hours > 0]
    for i in sorted(timed, key=lambda i: (-Fraction(d.values[i], d.items[i].hours), i)):
        take = min(Fraction(1), room / d.items[i].hours)
        if take <= 0:
            break
        value += take * d.values[i]
        room -= take * d.items[i].hours
    return value


def _most_value(b: Built, k: int, rooms: dict[tuple[int, int], Fraction]) -> Fraction:
    """Most cents co-contractor k can earn: its sites in its hours (`_rooms`) per period, by
    fractional knapsack, and no more than its dependency cap (rule 6)."""
    d = b.data
    vmax = sum(
        (_knapsack(b, d.items_of.get((k, t), []), rooms[(k, t)]) for t in range(len(d.periods))),
        Fraction(0),
    )
    cap = dependency_cap(d.problem.policy, d.cocs[k])
    if cap is not None and _rule_on(b, "dependency"):
        vmax = min(vmax, Fraction(cap))
    return vmax
