"""The MIP peer: the same allocation model in HiGHS (highspy), the same four lexicographic stages.

Binary x[i,m] on eligible (site, co-contractor) pairs, integer lent hours y[p,m,t], the hard rules
1–8 as rows, money in cents. Each stage optimises one objective, then fixes it at the value found
(a row) before the next; the incumbent is passed on as a warm start. The total time budget is
shared by the stages as the solver does: each stage may use the time the previous ones left.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction

import highspy
import numpy as np

from bench.greedy import allocation_from
from bench.instances import eligible_pairs
from coop_tender.checker import CAPPED_KINDS, exact, target_shares
from coop_tender.geo import great_circle_km
from coop_tender.models import Allocation, MemberKind, Problem, Role, Stage
from coop_tender.money import to_cents

INF = highspy.kHighsInf
STAGES = ("coverage", "turnover_fairness", "provider_fairness", "travel")
SLICE = (0.7, 0.4, 0.5, 1)  # share of the time left that each stage may use


@dataclass
class _Model:
    """Columns and rows being built: bounds, integrality, and rows in CSR form."""

    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    integer: list[int] = field(default_factory=list)
    row_lower: list[float] = field(default_factory=list)
    row_upper: list[float] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def column(self, lower: float, upper: float, integer: bool) -> int:
        self.lower.append(lower)
        self.upper.append(upper)
        if integer:
            self.integer.append(len(self.lower) - 1)
        return len(self.lower) - 1

    def row(self, terms: dict[int, float], lower: float = -INF, upper: float = INF) -> None:
        self.starts.append(len(self.indices))
        self.indices += list(terms)
        self.values += [float(v) for v in terms.values()]
        self.row_lower.append(lower)
        self.row_upper.append(upper)


def build(problem: Problem) -> tuple[highspy.Highs, dict]:
    """The HiGHS model of rules 1–8 and the columns of the four objectives."""
    policy = problem.policy
    items = {i.id: i for i in problem.tender.items}
    members = {m.id: m for m in problem.members if not m.declined}
    providers = [m for m in members.values() if m.role is Role.PROVIDER]
    md = _Model()
    x: dict[tuple[str, str], int] = {}
    pins = {(p.item, p.member) for p in policy.pins}
    for item_id, member_id in eligible_pairs(problem):
        x[item_id, member_id] = md.column(1 if (item_id, member_id) in pins else 0, 1, True)
    periods_of = defaultdict(set)  # co-contractor -> periods with eligible sites
    for item_id, member_id in x:
        periods_of[member_id].add(items[item_id].period)
    y: dict[tuple[str, str, str], int] = {}
    for p in providers:
        for m_id, periods in periods_of.items():
            if not set(p.territories) & set(members[m_id].territories):
                continue
            for t in sorted(periods):
                if p.capacity_hours.get(t, 0) > 0:
                    y[p.id, m_id, t] = md.column(0, p.capacity_hours[t], True)
    covered = md.column(0, INF, False)  # C = Σ v x, in cents
    z = md.column(0, INF, False)  # turnover fairness excess, cents
    w = md.column(0, INF, False)  # provider fairness excess, hours

    if pins - set(x):  # a pin on an ineligible pair cannot hold
        md.row({covered: 1}, 1, 0)
    by_item = defaultdict(dict)
    site_hours = defaultdict(dict)  # (m, t) -> {x col: hours}
    site_value = defaultdict(dict)  # m -> {x col: cents}
    for (item_id, member_id), col in x.items():
        item = items[item_id]
        by_item[item_id][col] = 1
        site_hours[member_id, item.period][col] = item.hours
        site_value[member_id][col] = to_cents(item.value)
    for terms in by_item.values():
        md.row(terms, upper=1)  # rule 1
    lent_in = defaultdict(dict)
    lent_out = defaultdict(dict)
    lent_pair = defaultdict(dict)
    for (p_id, m_id, t), col in y.items():
        lent_in[m_id, t][col] = 1
        lent_out[p_id, t][col] = 1
        lent_pair[p_id, m_id][col] = 1
    for (m_id, t), terms in site_hours.items():  # rule 3
        own = members[m_id].capacity_hours.get(t, 0)
        md.row(terms | {c: -1 for c in lent_in.get((m_id, t), {})}, upper=own)
    for (p_id, t), terms in lent_out.items():  # rule 4: provider capacity
        md.row(terms, upper=members[p_id].capacity_hours.get(t, 0))
    if policy.max_provider_share is not None:  # rule 4: share cap
        share = float(exact(policy.max_provider_share))
        for (m_id, t), terms in lent_in.items():
            hours = {c: -share * h for c, h in site_hours.get((m_id, t), {}).items()}
            md.row(terms | hours, upper=0)
    if policy.ai_max_hours_per_worker is not None:  # rule 5
        for (p_id, m_id), terms in lent_pair.items():
            if members[p_id].kind is MemberKind.AI and members[m_id].kind in CAPPED_KINDS:
                md.row(terms, upper=policy.ai_max_hours_per_worker * members[p_id].workers)
    if policy.max_dependency is not None:  # rule 6
        dep = exact(policy.max_dependency)
        for m_id, terms in site_value.items():
            md.row(terms, upper=float(dep * to_cents(members[m_id].annual_turnover)))
        for p in providers:
            rate = to_cents(p.hourly_rate or 0)
            terms = {c: rate for (p_id, _), cols in lent_out.items() if p_id == p.id for c in cols}
            if terms and rate:
                md.row(terms, upper=float(dep * to_cents(p.annual_turnover)))
    insertion: dict[int, float] = defaultdict(float)  # rule 7
    for (m_id, _), terms in site_hours.items():
        for c, h in terms.items():
            insertion[c] += float(exact(members[m_id].insertion_rate)) * h
    for (p_id, m_id, _), col in y.items():
        rate_m, rate_p = members[m_id].insertion_rate, members[p_id].insertion_rate
        insertion[col] += float(exact(rate_p) - exact(rate_m))
    if problem.tender.insertion_hours_min > 0:
        md.row(dict(insertion), lower=problem.tender.insertion_hours_min)
    if policy.min_provider_share is not None:  # rule 8
        share = float(exact(policy.min_provider_share))
        terms = {c: 1.0 for c in y.values()}
        for hours in site_hours.values():
            for c, h in hours.items():
                terms[c] = -share * h
        md.row(terms, lower=0)
    md.row({**{c: v for t in site_value.values() for c, v in t.items()}, covered: -1}, 0, 0)
    tol = exact(policy.fairness_tolerance or 0)
    for m_id, t_m in target_shares(problem).items():  # stage 2: |v_m − window| ≤ z
        terms = site_value.get(m_id, {})
        md.row({**terms, covered: -float(t_m * (1 + tol)), z: -1}, upper=0)
        md.row(
            {**{c: -v for c, v in terms.items()}, covered: float(t_m * (1 - tol)), z: -1}, upper=0
        )
    total_capacity = sum(p.total_capacity for p in providers)
    if y and total_capacity:  # stage 3: providers' lent hours against their capacity shares
        lent_total = md.column(0, INF, False)
        md.row({**{c: 1.0 for c in y.values()}, lent_total: -1}, 0, 0)
        for p in providers:
            s_p = Fraction(p.total_capacity, total_capacity)
            own = {c: 1.0 for (p_id, _), cols in lent_out.items() if p_id == p.id for c in cols}
            md.row({**own, lent_total: -float(s_p * (1 + tol)), w: -1}, upper=0)
            minus = {c: -1.0 for c in own}
            md.row({**minus, lent_total: float(s_p * (1 - tol)), w: -1}, upper=0)

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    n = len(md.lower)
    h.addVars(n, np.array(md.lower), np.array(md.upper))
    if md.integer:
        h.changeColsIntegrality(
            len(md.integer),
            np.array(md.integer, dtype=np.int32),
            np.full(len(md.integer), highspy.HighsVarType.kInteger, dtype=np.uint8),
        )
    h.addRows(
        len(md.row_lower),
        np.array(md.row_lower),
        np.array(md.row_upper),
        len(md.indices),
        np.array(md.starts, dtype=np.int32),
        np.array(md.indices, dtype=np.int32),
        np.array(md.values),
    )
    travel = {
        col: great_circle_km(members[m].lat, members[m].lon, items[i].lat, items[i].lon)
        for (i, m), col in x.items()
    }
    objectives = {
        "coverage": {col: -to_cents(items[i].value) for (i, _), col in x.items()},
        "turnover_fairness": {z: 1.0},
        "provider_fairness": {w: 1.0},
        "travel": travel,
    }
    return h, {"x": x, "y": y, "n": n, "objectives": objectives, "pairs": len(x)}


def solve(problem: Problem, time_limit: float = 60.0) -> Allocation:
    """The four stages in HiGHS within `time_limit` seconds in all; an honest Allocation."""
    start = time.perf_counter()
    h, cols = build(problem)
    n = cols["n"]
    stages: list[Stage] = []
    solution = None
    for k, name in enumerate(STAGES):
        left = time_limit - (time.perf_counter() - start)
        if left <= 0.05 or (k > 0 and solution is None):
            stages.append(Stage(name=name, status="skipped"))
            continue
        h.setOptionValue("time_limit", max(0.05, left * SLICE[k]))
        costs = np.zeros(n)
        for c, v in cols["objectives"][name].items():
            costs[c] = v
        h.changeColsCost(n, np.arange(n, dtype=np.int32), costs)
        if solution is not None:
            h.setSolution(n, np.arange(n, dtype=np.int32), np.array(solution))
        t0 = time.perf_counter()
        h.run()
        seconds = time.perf_counter() - t0
        status = h.getModelStatus()
        info = h.getInfo()
        has_solution = info.primal_solution_status == 2
        if not has_solution:
            stages.append(
                Stage(
                    name=name,
                    status="infeasible"
                    if status == highspy.HighsModelStatus.kInfeasible
                    else "unknown",
                    seconds=seconds,
                )
            )
            if k == 0:
                break
            continue
        solution = list(h.getSolution().col_value)
        value, bound = info.objective_function_value, info.mip_dual_bound
        sign = -1 if name == "coverage" else 1
        stages.append(
            Stage(
                name=name,
                value=sign
                * value
                / (100 if name != "travel" and name != "provider_fairness" else 1),
                bound=sign
                * bound
                / (100 if name != "travel" and name != "provider_fairness" else 1),
                status="optimal" if status == highspy.HighsModelStatus.kOptimal else "feasible",
                seconds=seconds,
                unit={
                    "coverage": "€",
                    "turnover_fairness": "€",
                    "provider_fairness": "h",
                    "travel": "km",
                }[name],
            )
        )
        # Fix this stage's objective at the value found before the next stage.
        terms = cols["objectives"][name]
        slack = abs(value) * 1e-9 + 1e-6
        h.addRow(
            -INF,
            value + slack,
            len(terms),
            np.array(list(terms), dtype=np.int32),
            np.array([float(v) for v in terms.values()]),
        )
    if solution is None:
        return allocation_from(problem, {}, [], "infeasible", stages, "highs")
    owner = {i: m for (i, m), c in cols["x"].items() if solution[c] > 0.5}
    lent = [
        (p, m, t, round(solution[c]))
        for (p, m, t), c in cols["y"].items()
        if round(solution[c]) > 0
    ]
    proven = all(s.status == "optimal" for s in stages)
    return allocation_from(
        problem, owner, lent, "optimal" if proven else "feasible", stages, "highs"
    )
