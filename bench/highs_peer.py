"""The MIP peer: the same allocation model in HiGHS (highspy), the same four lexicographic stages.

Binary x[i,m] on eligible (site, co-contractor) pairs, integer lent hours y[p,m,t], the hard
rules 1–8 as rows without big-M, money in cents. Each stage optimises one objective, then
fixes it at the value found (a column bound) before the next. Stage 1 starts from the greedy's
solution when the checker finds it valid, each later stage from the previous one's. The total
budget is shared by the stages as our solver shares it.
"""

from __future__ import annotations

import threading
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
# Share of the time left that each stage may use: the same as our solver's SHARE_OF_REMAINING
# (coop_tender/allocation/solve.py), travel taking the rest.
SLICE = (0.3, 0.4, 0.35, 1.0)
TAIL = 0.08  # share of the budget kept back: HiGHS overshoots its time limit a little
GRACE = 0.3  # seconds past a time limit before we stop waiting for HiGHS


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
        "coverage": {covered: -1.0},  # C = Σ v x by its row: one column, not a dense objective
        "turnover_fairness": {z: 1.0},
        "provider_fairness": {w: 1.0},
        "travel": travel,
    }
    # Each stage's value is then fixed by a bound on its one column (no dense extra row).
    fixes = {"coverage": covered, "turnover_fairness": z, "provider_fairness": w}
    return h, {"x": x, "y": y, "n": n, "objectives": objectives, "fix": fixes, "pairs": len(x)}


def configure(h: highspy.Highs, threads: int = 2) -> None:
    """Options of a fair, exact MIP: exact gap 0, presolve on, both cores, a fixed seed."""
    for option, value in {
        "output_flag": False,
        "mip_rel_gap": 0.0,
        "mip_abs_gap": 1e-6,
        "presolve": "on",
        "threads": threads,
        "random_seed": 0,
    }.items():
        h.setOptionValue(option, value)


class Deadline:
    """Interrupts HiGHS at a wall-clock deadline: its own time limit is not checked during the
    root node's cut loop, which overran it by minutes on the ×10 fairness stage."""

    def __init__(self, h: highspy.Highs) -> None:
        self.at = float("inf")
        h.cbMipInterrupt += self.check
        h.cbSimplexInterrupt += self.check

    def check(self, event: object) -> None:
        # Always set the flag: HiGHS keeps it between runs, so it must be cleared too.
        event.interrupt(time.perf_counter() > self.at)  # type: ignore[attr-defined]


def mip_start(problem: Problem, cols: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """The greedy's decisions as a sparse start (x and y only), if the checker finds no fault.

    HiGHS completes a sparse start by solving the LP with the integer columns fixed, which gives
    the continuous columns (covered value, fairness excesses). A start that breaks a rule (the
    greedy ignores the social clause) would be rejected anyway, so it is not given.
    """
    from bench.greedy import solve as greedy_solve
    from coop_tender.checker import check

    allocation = greedy_solve(problem)
    if check(problem, allocation):
        return None
    values = {c: 0.0 for c in cols["x"].values()} | {c: 0.0 for c in cols["y"].values()}
    for a in allocation.assignments:
        col = cols["x"].get((a.item, a.member))
        if col is None:
            return None
        values[col] = 1.0
    for ph in allocation.provider_hours:
        col = cols["y"].get((ph.provider, ph.member, ph.period))
        if col is None:
            return None
        values[col] += ph.hours
    index = np.array(sorted(values), dtype=np.int32)
    return index, np.array([values[c] for c in index.tolist()])


UNIT = {"coverage": "€", "turnover_fairness": "€", "provider_fairness": "h", "travel": "km"}
SCALE = {"coverage": -100, "turnover_fairness": 100, "provider_fairness": 1, "travel": 1}


def _value(cols: dict, name: str, solution: list[float]) -> float:
    """A stage's objective at a solution, in the stage's unit."""
    return sum(v * solution[c] for c, v in cols["objectives"][name].items()) / SCALE[name]


def _stages(
    h: highspy.Highs,
    cols: dict,
    first: tuple[np.ndarray, np.ndarray] | None,
    start: float,
    time_limit: float,
    progress: _Progress,
) -> None:
    """The four lexicographic stages; each finished stage is recorded in `progress`."""
    deadline = Deadline(h)
    n = cols["n"]
    stages = progress.stages
    solution: list[float] | None = None
    for k, name in enumerate(STAGES):
        left = time_limit * (1 - TAIL) - (time.perf_counter() - start)
        if left <= 0.05 or (k > 0 and solution is None):
            stages.append(Stage(name=name, status="skipped"))
            continue
        h.setOptionValue("time_limit", max(0.05, left * SLICE[k]))
        deadline.at = time.perf_counter() + max(0.05, left * SLICE[k]) + GRACE
        costs = np.zeros(n)
        for c, v in cols["objectives"][name].items():
            costs[c] = v
        h.changeColsCost(n, np.arange(n, dtype=np.int32), costs)
        if solution is not None:
            h.setSolution(n, np.arange(n, dtype=np.int32), np.array(solution))
        elif first is not None:
            h.setSolution(len(first[0]), first[0], first[1])
        t0 = time.perf_counter()
        progress.running, progress.since = name, t0
        h.run()
        progress.running = None
        seconds = time.perf_counter() - t0
        status = h.getModelStatus()
        info = h.getInfo()
        if info.primal_solution_status != 2:
            infeasible = status == highspy.HighsModelStatus.kInfeasible
            stages.append(
                Stage(name=name, status="infeasible" if infeasible else "unknown", seconds=seconds)
            )
            if k == 0:
                return
            continue
        solution = list(h.getSolution().col_value)
        progress.solution = solution
        value, bound = info.objective_function_value, info.mip_dual_bound
        stages.append(
            Stage(
                name=name,
                value=value / SCALE[name],
                bound=bound / SCALE[name],
                status="optimal" if status == highspy.HighsModelStatus.kOptimal else "feasible",
                seconds=seconds,
                unit=UNIT[name],
            )
        )
        # Fix this stage's value before the next (lexicographic), as a bound on its column:
        # covered ≥ C*, z ≤ Z*, w ≤ W*. Travel is last and needs no fixing.
        if name in cols["fix"]:
            col, slack = cols["fix"][name], abs(value) * 1e-9 + 1e-6
            if name == "coverage":
                h.changeColBounds(col, -value - slack, INF)
            else:
                h.changeColBounds(col, 0, value + slack)


@dataclass
class _Progress:
    """What the stage thread has done so far, read by `solve` if HiGHS overruns."""

    stages: list[Stage] = field(default_factory=list)
    solution: list[float] | None = None
    running: str | None = None
    since: float = 0.0


def solve(problem: Problem, time_limit: float = 60.0, threads: int = 2) -> Allocation:
    """The four stages in HiGHS within `time_limit` seconds in all; an honest Allocation.

    Stage 1 starts from the greedy's solution when it respects the rules; each later stage
    starts from the previous stage's solution, which stays feasible once that stage's value is
    fixed, so every stage has an incumbent from its first second. HiGHS does not check its time
    limit (nor our interrupt) inside its root rounding heuristic, which ran for minutes at ×10:
    the stages therefore run in a thread, and at the budget (plus GRACE) the stage still running
    is reported as stopped, with the incumbent it started from and no bound.
    """
    start = time.perf_counter()
    h, cols = build(problem)
    configure(h, threads)
    first = mip_start(problem, cols)
    progress = _Progress()
    worker = threading.Thread(
        target=_stages, args=(h, cols, first, start, time_limit, progress), daemon=True
    )
    worker.start()
    worker.join(max(0.0, time_limit - (time.perf_counter() - start)) + GRACE)
    stages, solution = list(progress.stages), progress.solution
    if worker.is_alive() and progress.running is not None:
        name = progress.running
        value = None if solution is None else _value(cols, name, solution)
        status = "unknown" if solution is None else "feasible"
        seconds = time.perf_counter() - progress.since
        stages.append(
            Stage(name=name, status=status, value=value, seconds=seconds, unit=UNIT[name])
        )
        stages += [Stage(name=n, status="skipped") for n in STAGES[len(stages) :]]
    if solution is None:  # "infeasible" only when HiGHS proved it, not when time ran out
        proven = bool(stages) and stages[0].status == "infeasible"
        status = "infeasible" if proven else "unknown"
        return allocation_from(problem, {}, [], status, stages, "highs")
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
