"""Necessary conditions (with comfort margins) for an example to be solvable with full coverage.

Computed from the files alone, without any solver, following the hard rules of issue 2: an item
goes whole to a co-contractor having its trade and serving its territory (within
max_distance_km when set); per period a co-contractor's items fit in its own capacity plus hours
lent by providers; providers lend only where territories meet, within their capacity, at most
480 h per worker to any one EI/ETTI/EITI; turnover from the market ≤ max_dependency × annual
turnover; insertion hours ≥ the social clause; lent hours ≥ min_provider_share × all hours.

The margins are stronger than strictly necessary on purpose: the shipped examples must be
comfortably feasible, not feasible by a hair.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import combinations

from coop_tender.geo import great_circle_km
from coop_tender.models import Member
from tests.examples.example_files import Example

HALL_MARGIN = 1.1  # own capacity ≥ 1.1 × demand for every group of cells, every period
TRIVIAL = 1.8  # ... but all co-contractors together declare at most 1.8 × the demand
DEPENDENCY_MARGIN = 0.9  # a member's fair share stays under 90 % of the dependency cap
PROVIDER_MARGIN = 1.5  # providers can lend 1.5 × what the min_provider_share rule requires
MIN_CHOICES = 2  # every item has at least two eligible co-contractors


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    hall_min_ratio: dict[str, float] = field(default_factory=dict)
    global_ratio: dict[str, float] = field(default_factory=dict)
    territory_ratio: dict[tuple[str, str], float] = field(default_factory=dict)


def _eligible(m: Member, trade: str, territory: str, lat: float, lon: float, max_km) -> bool:
    if m.role != "cocontractor" or m.declined:
        return False
    if trade not in m.trades or territory not in m.territories:
        return False
    return max_km is None or great_circle_km(m.lat, m.lon, lat, lon) <= max_km


def check(ex: Example) -> Report:
    report = Report()
    policy, rows = ex.policy, ex.rows
    periods = [p.id for p in ex.config.periods]
    co = ex.cocontractors
    total_hours = sum(r.hours for r in rows)
    total_value = sum((r.value for r in rows), Decimal(0))

    # Rule 2: every item has co-contractors able to take it.
    for r in rows:
        able = [
            m.id
            for m in co
            if _eligible(m, r.trade, r.territory, r.lat, r.lon, policy.max_distance_km)
        ]
        if len(able) < MIN_CHOICES:
            report.problems.append(f"site {r.site} : {len(able)} cotraitant(s) éligible(s)")

    # Rule 3 (Hall's condition on own capacity): for every group of cells (trade, territory),
    # the co-contractors able to work in at least one of them declared enough hours.
    cells: dict[tuple[str, str], list] = defaultdict(list)
    for r in rows:
        cells[(r.trade, r.territory)].append(r)

    def able_in(cell) -> set[str]:
        trade, territory = cell
        return {
            m.id
            for m in co
            if all(
                _eligible(m, trade, territory, r.lat, r.lon, policy.max_distance_km)
                for r in cells[cell]
            )
        }

    able = {cell: able_in(cell) for cell in cells}
    capacity = {m.id: m.capacity_hours for m in co}
    for p in periods:
        need = {c: sum(r.hours for r in rs if r.period == p) for c, rs in cells.items()}
        keys = [c for c in cells if need[c] > 0]
        worst = float("inf")
        for size in range(1, len(keys) + 1):
            for group in combinations(keys, size):
                demand = sum(need[c] for c in group)
                members = set().union(*(able[c] for c in group))
                declared = sum(capacity[m].get(p, 0) for m in members)
                worst = min(worst, declared / demand)
                if declared < HALL_MARGIN * demand:
                    report.problems.append(
                        f"{p}, {sorted(group)} : {declared} h déclarées pour {demand} h de travaux"
                    )
        report.hall_min_ratio[p] = worst
        declared_all = sum(capacity[m.id].get(p, 0) for m in co)
        report.global_ratio[p] = declared_all / sum(need.values())
        if report.global_ratio[p] > TRIVIAL:
            report.problems.append(f"{p} : capacité {report.global_ratio[p]:.2f} × la demande")
        for t in ex.config.territories:
            demand_t = sum(need[c] for c in cells if c[1] == t.id)
            if demand_t:
                serving = sum(m.capacity_hours.get(p, 0) for m in co if t.id in m.territories)
                report.territory_ratio[(t.id, p)] = serving / demand_t

    # Rule 6 for co-contractors: the policy's target share stays under the dependency cap.
    if policy.max_dependency is not None:
        all_capacity = sum(m.total_capacity for m in co)
        for m in co:
            if policy.target == "equal":
                share = total_value / len(co)
                if total_hours / len(co) > m.total_capacity:
                    report.problems.append(f"{m.id} : part égale hors de sa capacité")
            elif policy.target == "capacity":
                share = total_value * m.total_capacity / all_capacity
            else:
                share = total_value * Decimal(str(policy.target.get(m.id, 0)))
            cap = Decimal(str(policy.max_dependency * DEPENDENCY_MARGIN)) * m.annual_turnover
            if share > cap:
                report.problems.append(f"{m.id} : part cible {share} € > {cap} € (dépendance)")

    # Rules 4, 5, 6, 8 for providers: they can lend enough, to someone, within their caps.
    lendable_total = 0
    for a in ex.providers:
        partners = [m for m in co if set(m.territories) & set(a.territories)]
        if not partners:
            report.problems.append(f"{a.id} : aucun cotraitant sur ses territoires")
        per_company = (policy.ai_max_hours_per_worker or 10**9) * a.workers
        reachable = sum(
            a.total_capacity if m.kind == "ACI" or a.kind != "AI" else per_company for m in partners
        )
        lendable_total += min(a.total_capacity, reachable)
        if a.hourly_rate is None:
            report.problems.append(f"{a.id} : pas de tarif horaire")
        elif policy.max_dependency is not None:
            at_capacity = a.hourly_rate * a.total_capacity
            if at_capacity > Decimal(str(policy.max_dependency)) * a.annual_turnover:
                report.problems.append(f"{a.id} : {at_capacity} € à pleine capacité (dépendance)")
    needed = (policy.min_provider_share or 0) * total_hours
    if lendable_total < PROVIDER_MARGIN * needed:
        report.problems.append(f"mises à disposition possibles {lendable_total} h < {needed} h")

    # Rule 7: the social clause holds whatever the split (the lowest insertion rate suffices).
    lowest = min(m.insertion_rate for m in ex.members)
    if lowest * total_hours < ex.config.insertion_hours_min:
        report.problems.append(
            f"clause sociale : {lowest} × {total_hours} h < {ex.config.insertion_hours_min} h"
        )
    return report
