"""The CP-SAT model of the allocation: eligible pairs, lent hours, one function per rule group.

Every hard rule group (capacity, provider capacity, provider share, the 480-hour rule,
dependency, social clause, minimum provider share, each pin) is enforced by its own Boolean
literal, so that the same model serves the normal solve (literals fixed to true) and the
diagnosis of an infeasible tender (literals as CP-SAT assumptions). Fractional policy numbers
are turned into integers by scaling, always rounded in the direction that keeps the rule true
with the real, unrounded numbers (see docs/allocation.md).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import cached_property

from ortools.sat.python import cp_model

from coop_tender.geo import great_circle_km
from coop_tender.models import Member, MemberKind, Policy, Problem, Role, WorkItem
from coop_tender.money import to_cents

SCALE = 1_000_000
"""Denominator used to make rates and shares integer in the hard rules."""
FAIR_INT_LIMIT = 2**60
"""Largest magnitude a fairness row may reach (CP-SAT works in 64-bit integers)."""
DIST_UNIT_KM = 0.001
"""Travel is counted in metres (each pair's distance rounded to the metre)."""

COMPANY_KINDS = {MemberKind.EI, MemberKind.ETTI, MemberKind.EITI, MemberKind.OTHER}
"""Kinds to which the 480-hour rule applies when an AI lends them hours (not ACI)."""

RULE_GROUPS = (
    "capacity",
    "provider_capacity",
    "provider_share",
    "ai_480",
    "dependency",
    "social_clause",
    "min_provider_share",
)
"""Hard rule groups with one enforcement literal each (pins get one literal per pin)."""


# --------------------------------------------------------------------------- exact rounding


def exact(x: float) -> Fraction:
    """A float as the decimal number its text says (0.3 is 3/10, not the binary 0.2999…)."""
    return Fraction(Decimal(repr(x)))


def scaled_floor(x: float, scale: int = SCALE) -> int:
    """Largest k with k/scale <= x (a cap: the model never allows more than the rule)."""
    return math.floor(exact(x) * scale)


def scaled_ceil(x: float, scale: int = SCALE) -> int:
    """Smallest k with k/scale >= x (a floor: the model never asks less than the rule)."""
    return math.ceil(exact(x) * scale)


def whole_share_hours(share: int) -> int:
    """The fewest hours of which `share` (scaled by SCALE) is a whole number of hours: 10 for
    10 %, 4 for 25 %, 1 for none. Rule 4's cap on lent hours is floored to whole hours, so a
    member whose hours are not a multiple of it loses a fraction (hint._clear_residues)."""
    return SCALE // math.gcd(share, SCALE)


def floor_times(x: float, amount: int) -> int:
    """floor(x * amount) exactly: the largest integer a cap of x × amount allows."""
    return math.floor(exact(x) * amount)


def dependency_cap(policy: Policy, member: Member) -> int | None:
    """Rule 6: the most cents `member` may earn from this market (None: no such rule)."""
    if policy.max_dependency is None:
        return None
    return floor_times(policy.max_dependency, to_cents(member.annual_turnover))


def ai_hours_cap(policy: Policy, provider: Member, member: Member) -> int | None:
    """Rule 5: the most hours `provider` may lend `member` over the contract; None when the
    480-hour rule does not apply (not an AI, lending to an association, or no such rule)."""
    per_worker = policy.ai_max_hours_per_worker
    if per_worker is None or provider.kind is not MemberKind.AI:
        return None
    return per_worker * provider.workers if member.kind in COMPANY_KINDS else None


# --------------------------------------------------------------------------- data


@dataclass
class Data:
    """The problem reduced to indices: who may take what, capacities, targets, distances."""

    problem: Problem
    items: list[WorkItem]
    cocs: list[Member]
    provs: list[Member]
    periods: list[str]
    eligible: list[list[int]]  # item index -> co-contractor indices
    dist_km: dict[tuple[int, int], float]
    no_member_reason: dict[int, str]  # item index -> why no co-contractor may take it
    pins: list[tuple[int, int]]  # (item, co-contractor) pins on eligible pairs
    pin_problems: list[str]  # French sentences: pins that cannot hold whatever the solver does
    lend_pairs: list[tuple[int, int, int]]  # (provider, co-contractor, period index)
    values: list[int]  # cents per item
    targets: list[float]  # co-contractor target shares (display)
    prov_targets: list[float]  # provider target shares (display)
    shares: list[Fraction]  # co-contractor target shares, exact
    prov_shares: list[Fraction]  # provider target shares, exact
    cap: dict[tuple[int, int], int]  # (co-contractor, period) -> hours
    pcap: dict[tuple[int, int], int]  # (provider, period) -> hours
    items_of: dict[tuple[int, int], list[int]] = field(default_factory=dict)  # (m, t) -> items

    @cached_property
    def period_of(self) -> list[int]:
        """Period index of each item."""
        index = {p: t for t, p in enumerate(self.periods)}
        return [index[it.period] for it in self.items]

    @cached_property
    def coverable_value(self) -> int:
        """Cents of the sites some co-contractor may take: the most any allocation covers."""
        return sum(v for v, able in zip(self.values, self.eligible, strict=True) if able)


def _targets(problem: Problem, cocs: list[Member]) -> list[Fraction]:
    """t_m exactly: capacity shares, equal shares, or the policy's dict normalised (missing
    members: 0); equal shares when every weight is 0."""
    target = problem.policy.target
    n = len(cocs)
    if n == 0:
        return []
    if target == "equal":
        raw = [Fraction(1)] * n
    elif target == "capacity":
        raw = [Fraction(m.total_capacity) for m in cocs]
    else:
        raw = [exact(target.get(m.id, 0)) for m in cocs]
    total = sum(raw)
    return [r / total for r in raw] if total else [Fraction(1, n)] * n


def _capacity_shares(members: list[Member]) -> list[Fraction]:
    caps = [Fraction(m.total_capacity) for m in members]
    total = sum(caps)
    return [c / total for c in caps] if total else [Fraction(0)] * len(members)


def _why_nobody(item: WorkItem, cocs: list[Member], problem: Problem, forbidden: set) -> str:
    """The first rule, in the order trade → territory → distance → forbids, that leaves no one."""
    with_trade = [m for m in cocs if item.trade in m.trades]
    if not with_trade:
        return f"aucun cotraitant n'a le métier « {item.trade} »"
    serving = [m for m in with_trade if item.territory in m.territories]
    if not serving:
        return f"aucun cotraitant ayant le métier « {item.trade} » ne couvre ce territoire"
    limit = problem.policy.max_distance_km
    if limit is not None:
        near = [m for m in serving if great_circle_km(m.lat, m.lon, item.lat, item.lon) <= limit]
        if not near:
            best = min(great_circle_km(m.lat, m.lon, item.lat, item.lon) for m in serving)
            return f"le cotraitant le plus proche est à {best:.1f} km".replace(
                ".", ","
            ) + f" (distance maximale {limit:g} km)".replace(".", ",")
    return "les seuls cotraitants possibles en sont exclus par la politique (forbids)"


def prepare(problem: Problem) -> Data:
    """Eligibility (rule 2 and forbids), pins, lending pairs and targets, in linear time."""
    items = list(problem.tender.items)
    active = [m for m in problem.members if not m.declined]
    cocs = [m for m in active if m.role is Role.COCONTRACTOR]
    provs = [m for m in active if m.role is Role.PROVIDER]
    periods = sorted({it.period for it in items})
    pidx = {p: k for k, p in enumerate(periods)}
    coc_idx = {m.id: k for k, m in enumerate(cocs)}
    item_idx = {it.id: k for k, it in enumerate(items)}
    policy = problem.policy
    forbidden = {(f.item, f.member) for f in policy.forbids}

    # Candidates by (trade, territory): avoids an items × members loop.
    by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
    for k, m in enumerate(cocs):
        for trade in set(m.trades):
            for terr in set(m.territories):
                by_key[(trade, terr)].append(k)

    eligible: list[list[int]] = []
    dist_km: dict[tuple[int, int], float] = {}
    reasons: dict[int, str] = {}
    items_of: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, it in enumerate(items):
        ok = []
        for k in by_key.get((it.trade, it.territory), ()):
            m = cocs[k]
            d = great_circle_km(m.lat, m.lon, it.lat, it.lon)
            if policy.max_distance_km is not None and d > policy.max_distance_km:
                continue
            if (it.id, m.id) in forbidden:
                continue
            ok.append(k)
            dist_km[(i, k)] = d
            items_of[(k, pidx[it.period])].append(i)
        eligible.append(ok)
        if not ok:
            reasons[i] = _why_nobody(it, cocs, problem, forbidden)

    pins: list[tuple[int, int]] = []
    pin_problems: list[str] = []
    pinned_to: dict[str, str] = {}
    names = {m.id: m.name for m in problem.members}
    for pin in policy.pins:
        label = f"Le site {pin.item} est réservé à {names.get(pin.member, pin.member)}"
        if pin.item in pinned_to and pinned_to[pin.item] != pin.member:
            pin_problems.append(
                f"{label}, mais aussi à {names.get(pinned_to[pin.item], pinned_to[pin.item])} :"
                " un site ne va qu'à un seul cotraitant (règle 1)."
            )
            continue
        pinned_to[pin.item] = pin.member
        i = item_idx[pin.item]
        it = items[i]
        member = next(m for m in problem.members if m.id == pin.member)
        if member.declined:
            pin_problems.append(f"{label}, qui a décliné cet appel d'offres.")
        elif member.role is not Role.COCONTRACTOR:
            pin_problems.append(f"{label}, qui est prestataire et ne prend pas de site (règle 1).")
        elif (pin.item, pin.member) in forbidden:
            pin_problems.append(f"{label}, mais ce même couple est interdit (forbids).")
        elif coc_idx[pin.member] not in eligible[i]:
            pin_problems.append(
                f"{label}, qui ne peut pas le prendre : " + _pin_reason(it, member, problem)
            )
        else:
            pins.append((i, coc_idx[pin.member]))

    shares, prov_shares = _targets(problem, cocs), _capacity_shares(provs)
    prov_terr = [set(p.territories) for p in provs]
    lend_pairs = []
    for k, m in enumerate(cocs):
        terr = set(m.territories)
        for p, prov in enumerate(provs):
            if not (terr & prov_terr[p]):
                continue
            for t, period in enumerate(periods):
                if prov.capacity_hours.get(period, 0) > 0 and items_of.get((k, t)):
                    lend_pairs.append((p, k, t))

    return Data(
        problem=problem,
        items=items,
        cocs=cocs,
        provs=provs,
        periods=periods,
        eligible=eligible,
        dist_km=dist_km,
        no_member_reason=reasons,
        pins=pins,
        pin_problems=pin_problems,
        lend_pairs=lend_pairs,
        values=[to_cents(it.value) for it in items],
        targets=[float(s) for s in shares],
        prov_targets=[float(s) for s in prov_shares],
        shares=shares,
        prov_shares=prov_shares,
        cap={
            (k, t): m.capacity_hours.get(p, 0)
            for k, m in enumerate(cocs)
            for t, p in enumerate(periods)
        },
        pcap={
            (k, t): m.capacity_hours.get(p, 0)
            for k, m in enumerate(provs)
            for t, p in enumerate(periods)
        },
        items_of=dict(items_of),
    )


def _pin_reason(item: WorkItem, member: Member, problem: Problem) -> str:
    if item.trade not in member.trades:
        return f"il n'a pas le métier « {item.trade} » (règle 2)."
    if item.territory not in member.territories:
        return f"il ne couvre pas le territoire {item.territory} (règle 2)."
    d = great_circle_km(member.lat, member.lon, item.lat, item.lon)
    limit = problem.policy.max_distance_km
    return f"il est à {d:.1f} km du site, au-delà de {limit:g} km (règle 2).".replace(".", ",", 1)


# --------------------------------------------------------------------------- the model


@dataclass
class Built:
    """The CP-SAT model with handles on its variables, expressions and rule literals."""

    data: Data
    model: cp_model.CpModel
    x: dict[tuple[int, int], cp_model.IntVar]  # (item, co-contractor) -> assigned
    lend: dict[tuple[int, int, int], cp_model.IntVar]  # (provider, co-contractor, period) -> h
    rules: dict[str, cp_model.IntVar]  # rule group -> enforcement literal
    covered: cp_model.IntVar  # cents of assigned items
    total_lent: cp_model.IntVar
    turnover_excess: cp_model.IntVar  # 1/fair.unit cents
    provider_excess: cp_model.IntVar  # 1/prov.unit hours
    travel: cp_model.LinearExpr  # units of 100 m
    value_of: list[cp_model.LinearExpr]  # co-contractor -> cents
    hours_of: dict[tuple[int, int], cp_model.LinearExpr]  # (co-contractor, period) -> hours
    received: dict[tuple[int, int], list[cp_model.IntVar]]  # (m, t) -> lend vars into m
    lent_by: list[list[cp_model.IntVar]]  # provider -> its lend vars
    fair: Windows | None = None  # co-contractors' turnover windows (cents)
    prov: Windows | None = None  # providers' lent-hours windows (hours)
    dist: dict[tuple[int, int], int] = field(default_factory=dict)  # pair -> metres
    fixed: dict[str, int] = field(default_factory=dict)  # stage name -> value it is fixed at
    group_excess: list[cp_model.IntVar] = field(default_factory=list)  # lns.group_excess_vars
    covered_max: int | None = None  # the coverage stage's proven bound once it is fixed


def _sum(terms: list) -> cp_model.LinearExpr:
    """A flat sum (Python's sum() nests expressions, quadratic on long lists)."""
    return cp_model.LinearExpr.sum(terms) if terms else 0


def _rule(b: Built, name: str) -> cp_model.IntVar:
    lit = b.model.new_bool_var(f"rule:{name}")
    b.rules[name] = lit
    return lit


def add_variables(b: Built) -> None:
    """x[i,m] for eligible pairs only; lent hours only where a provider may lend to a member."""
    d, model = b.data, b.model
    for i, ms in enumerate(d.eligible):
        for k in ms:
            b.x[(i, k)] = model.new_bool_var(f"x[{d.items[i].id},{d.cocs[k].id}]")
    for p, k, t in d.lend_pairs:
        hours = sum(d.items[i].hours for i in d.items_of[(k, t)])
        ub = min(d.pcap[(p, t)], hours)  # rule literals, not bounds, carry the policy caps
        var = model.new_int_var(0, ub, f"lend[{d.provs[p].id},{d.cocs[k].id},{d.periods[t]}]")
        b.lend[(p, k, t)] = var
        b.received.setdefault((k, t), []).append(var)
        b.lent_by[p].append(var)
    for (k, t), its in d.items_of.items():
        b.hours_of[(k, t)] = cp_model.LinearExpr.weighted_sum(
            [b.x[(i, k)] for i in its], [d.items[i].hours for i in its]
        )


def add_rule1_assignment(b: Built) -> None:
    """Rule 1: each item to at most one co-contractor."""
    d = b.data
    for i, ms in enumerate(d.eligible):
        if len(ms) > 1:
            b.model.add_at_most_one(b.x[(i, k)] for k in ms).with_name(
                f"rule1_one_member[{d.items[i].id}]"
            )


def add_pins(b: Built) -> None:
    """Rule 1: pins hold (one literal per pin, so a diagnosis can name it)."""
    d = b.data
    for i, k in d.pins:
        lit = _rule(b, f"pin:{d.items[i].id}:{d.cocs[k].id}")
        b.model.add(b.x[(i, k)] == 1).only_enforce_if(lit).with_name(
            f"rule1_pin[{d.items[i].id},{d.cocs[k].id}]"
        )


def add_rule3_capacity(b: Built) -> None:
    """Rule 3: per period, a member's site hours ≤ its capacity + hours lent to it.

    Also, structurally, hours lent to a member never exceed its site hours in the period.
    """
    d, lit = b.data, _rule(b, "capacity")
    for (k, t), hours in b.hours_of.items():
        received = b.received.get((k, t), [])
        name = f"[{d.cocs[k].id},{d.periods[t]}]"
        b.model.add(hours <= d.cap[(k, t)] + _sum(received)).only_enforce_if(lit).with_name(
            f"rule3_capacity{name}"
        )
        if received:
            b.model.add(_sum(received) <= hours).with_name(f"lent_within_hours{name}")


def add_rule4_providers(b: Built) -> None:
    """Rule 4: a provider lends at most its capacity per period; lent ≤ share × assigned hours."""
    d = b.data
    lit = _rule(b, "provider_capacity")
    per_period: dict[tuple[int, int], list] = defaultdict(list)
    for (p, _k, t), var in b.lend.items():
        per_period[(p, t)].append(var)
    for (p, t), vars_ in per_period.items():
        b.model.add(_sum(vars_) <= d.pcap[(p, t)]).only_enforce_if(lit).with_name(
            f"rule4_provider_capacity[{d.provs[p].id},{d.periods[t]}]"
        )
    share = d.problem.policy.max_provider_share
    lit = _rule(b, "provider_share")
    if share is None:
        return
    s = scaled_floor(share)
    for (k, t), received in b.received.items():
        b.model.add(SCALE * _sum(received) <= s * b.hours_of[(k, t)]).only_enforce_if(
            lit
        ).with_name(f"rule4_provider_share[{d.cocs[k].id},{d.periods[t]}]")


def add_rule5_ai_480(b: Built) -> None:
    """Rule 5: an AI lends at most N h per worker over the contract to any one company."""
    d = b.data
    lit = _rule(b, "ai_480")
    policy = d.problem.policy
    pairs: dict[tuple[int, int], list] = defaultdict(list)
    for (p, k, _t), var in b.lend.items():
        if ai_hours_cap(policy, d.provs[p], d.cocs[k]) is not None:
            pairs[(p, k)].append(var)
    for (p, k), vars_ in pairs.items():
        cap = ai_hours_cap(policy, d.provs[p], d.cocs[k])
        b.model.add(_sum(vars_) <= cap).only_enforce_if(lit).with_name(
            f"rule5_ai_480[{d.provs[p].id},{d.cocs[k].id}]"
        )


def add_rule6_dependency(b: Built) -> None:
    """Rule 6: turnover from this market ≤ max_dependency × annual turnover (exact cents)."""
    d = b.data
    lit = _rule(b, "dependency")
    policy = d.problem.policy
    if policy.max_dependency is None:
        return
    for k, m in enumerate(d.cocs):
        cap = dependency_cap(policy, m)
        b.model.add(b.value_of[k] <= cap).only_enforce_if(lit).with_name(
            f"rule6_dependency[{m.id}]"
        )
    for p, m in enumerate(d.provs):
        rate = to_cents(m.hourly_rate) if m.hourly_rate is not None else 0
        if rate and b.lent_by[p]:
            cap = dependency_cap(policy, m)
            b.model.add(rate * _sum(b.lent_by[p]) <= cap).only_enforce_if(lit).with_name(
                f"rule6_dependency[{m.id}]"
            )


def insertion_expr(b: Built) -> cp_model.LinearExpr:
    """Insertion hours × SCALE, each rate rounded down (never overstates the social clause)."""
    d = b.data
    terms, coefs = [], []
    for (k, t), hours in b.hours_of.items():
        r = scaled_floor(d.cocs[k].insertion_rate)
        if r:
            terms.append(hours)
            coefs.append(r)
            for var in b.received.get((k, t), []):
                terms.append(var)
                coefs.append(-r)
    for (p, _k, _t), var in b.lend.items():
        r = scaled_floor(d.provs[p].insertion_rate)
        if r:
            terms.append(var)
            coefs.append(r)
    if not terms:  # keep an expression, so that `>= minimum` stays a constraint
        return cp_model.LinearExpr.weighted_sum([b.covered], [0])
    return cp_model.LinearExpr.weighted_sum(terms, coefs)


def add_rule7_social_clause(b: Built) -> None:
    """Rule 7: insertion hours ≥ the tender's minimum."""
    minimum = b.data.problem.tender.insertion_hours_min
    lit = _rule(b, "social_clause")
    if minimum > 0:
        b.model.add(insertion_expr(b) >= minimum * SCALE).only_enforce_if(lit).with_name(
            "rule7_social_clause"
        )


def add_rule8_min_provider_share(b: Built) -> None:
    """Rule 8: total lent hours ≥ min_provider_share × total assigned hours."""
    d = b.data
    lit = _rule(b, "min_provider_share")
    share = d.problem.policy.min_provider_share
    if share is None or share == 0:
        return
    s = scaled_ceil(share)
    total_hours = cp_model.LinearExpr.weighted_sum(
        list(b.x.values()), [d.items[i].hours for i, _ in b.x]
    )
    b.model.add(SCALE * b.total_lent >= s * total_hours).only_enforce_if(lit).with_name(
        "rule8_min_provider_share"
    )
    top = d.problem.policy.max_provider_share
    if top is None or scaled_floor(top) != s:
        return
    # Minimum and maximum shares equal: rule 8 holds only if each co-contractor's rule-4 share
    # is met exactly in each period. Said outright, CP-SAT sees that hours come in whole
    # multiples (sweep variant 275: no allocation in 10 s without it).
    both = [lit, b.rules["provider_share"]]
    for (k, t), hours in b.hours_of.items():
        name = f"[{d.cocs[k].id},{d.periods[t]}]"
        received = _sum(b.received.get((k, t), []))
        equal = b.model.add(SCALE * received == s * hours).with_name(f"rule8_equal_shares{name}")
        equal.only_enforce_if(both)  # returns None for several literals (OR-Tools 9.15)


@dataclass
class Windows:
    """Fairness windows as integers: member j's window is [lo[j], hi[j]] / unit × total.

    With `exact`, unit is the common denominator of every t_j(1 ± tol), so that the excess
    variable (in 1/unit of a cent or an hour) is the exact worst excess of the solution. When
    that denominator would overflow 64-bit rows, a coarser unit is used with windows rounded
    inward (the model's excess is then an upper bound of the real one, see `real_bound`).
    """

    unit: int
    lo: list[int]
    hi: list[int]
    exact: bool

    def gaps(self, amounts: list[int], total: int) -> list[int]:
        """Each one's distance outside its window (in 1/unit; 0 inside), `total` shared out."""
        return [
            max(0, lo * total - self.unit * v, self.unit * v - hi * total)
            for lo, hi, v in zip(self.lo, self.hi, amounts, strict=True)
        ]

    def excess(self, amounts: list[int], total: int) -> int:
        """The model's worst excess (in 1/unit) of these amounts: what the rows force."""
        return max(self.gaps(amounts, total), default=0)

    def bounds_at(self, excess: int, total: int) -> tuple[list[int], list[int]]:
        """Each one's allowed amounts when the worst excess is `excess` (1/unit), as [low, high]
        per member: its window widened by the excess, nothing tighter, low never below 0."""
        low = [max(-((excess - lo * total) // self.unit), 0) for lo in self.lo]
        high = [(excess + hi * total) // self.unit for hi in self.hi]
        return low, high

    def real_bound(self, bound: int, total_max: int) -> Fraction:
        """A valid lower bound of the real worst excess from the model's proven bound."""
        if self.exact:
            return Fraction(bound, self.unit)
        # Rounding each window end inward by < 1/unit changes a row by < total / unit.
        return max(Fraction(0), Fraction(bound - total_max, self.unit))


def fairness_windows(shares: list[Fraction], tol: Fraction, total_max: int) -> Windows:
    """Integer windows for shares t_j: exact when the common denominator fits in 64 bits."""
    los = [s * (1 - tol) for s in shares]
    his = [s * (1 + tol) for s in shares]
    unit = 1
    for f in los + his:
        unit = math.lcm(unit, f.denominator)
    limit = FAIR_INT_LIMIT // (3 * max(total_max, 1))
    if unit <= limit:
        return Windows(unit, [int(f * unit) for f in los], [int(f * unit) for f in his], True)
    unit = max(limit, 1)
    return Windows(
        unit,
        [math.ceil(f * unit) for f in los],
        [math.floor(f * unit) for f in his],
        False,
    )


def exact_excess(shares: list[Fraction], tol: Fraction, amounts: list[int]) -> Fraction:
    """The real worst excess of `amounts` outside [t_j(1−tol), t_j(1+tol)] × their sum."""
    total = sum(amounts)
    worst = Fraction(0)
    for s, v in zip(shares, amounts, strict=True):
        worst = max(worst, s * (1 - tol) * total - v, v - s * (1 + tol) * total)
    return worst


def tolerance(problem: Problem) -> Fraction:
    return exact(problem.policy.fairness_tolerance or 0)


def add_turnover_fairness(b: Built) -> None:
    """Objective 2: turnover_excess ≥ each co-contractor's distance outside its window.

    Rows are `E ≥ lo·covered − unit·V_m` and `E ≥ unit·V_m − hi·covered` (linear because
    `covered` is one variable); E is in 1/unit of a cent.
    """
    d, model = b.data, b.model
    total = sum(d.values)
    b.fair = w = fairness_windows(d.shares, tolerance(d.problem), total)
    b.turnover_excess = model.new_int_var(0, w.unit * total, "turnover_excess")
    for k, (lo, hi) in enumerate(zip(w.lo, w.hi, strict=True)):
        v, name = b.value_of[k], d.cocs[k].id
        model.add(b.turnover_excess >= lo * b.covered - w.unit * v).with_name(
            f"fair_turnover_low[{name}]"
        )
        model.add(b.turnover_excess >= w.unit * v - hi * b.covered).with_name(
            f"fair_turnover_high[{name}]"
        )


def add_provider_fairness(b: Built) -> None:
    """Objective 3: provider_excess ≥ each provider's distance outside its lent-hours window."""
    d, model = b.data, b.model
    total = sum(it.hours for it in d.items)
    b.prov = w = fairness_windows(d.prov_shares, tolerance(d.problem), total)
    b.provider_excess = model.new_int_var(0, w.unit * total, "provider_excess")
    for p, (lo, hi) in enumerate(zip(w.lo, w.hi, strict=True)):
        lent, name = _sum(b.lent_by[p]), d.provs[p].id
        model.add(b.provider_excess >= lo * b.total_lent - w.unit * lent).with_name(
            f"fair_provider_low[{name}]"
        )
        model.add(b.provider_excess >= w.unit * lent - hi * b.total_lent).with_name(
            f"fair_provider_high[{name}]"
        )


def add_travel(b: Built) -> None:
    """Objective 4: total base-to-site distance, each pair rounded to the metre."""
    d = b.data
    pairs = list(b.x.items())
    b.dist = {key: round(d.dist_km[key] / DIST_UNIT_KM) for key, _ in pairs}
    b.travel = cp_model.LinearExpr.weighted_sum(
        [v for _, v in pairs], [b.dist[k] for k, _ in pairs]
    )


def build_model(problem: Problem, data: Data | None = None) -> Built:
    """Build the whole CP-SAT model (all rule groups, all objective terms); linear in the pairs."""
    d = data or prepare(problem)
    model = cp_model.CpModel()
    model.name = f"allocation {problem.tender.reference}"
    total_cents = sum(d.values)
    total_hours = sum(it.hours for it in d.items)
    b = Built(
        data=d,
        model=model,
        x={},
        lend={},
        rules={},
        covered=model.new_int_var(0, total_cents, "covered_cents"),
        total_lent=model.new_int_var(0, total_hours, "total_lent_hours"),
        turnover_excess=None,  # set by add_turnover_fairness
        provider_excess=None,  # set by add_provider_fairness
        travel=0,
        value_of=[],
        hours_of={},
        received={},
        lent_by=[[] for _ in d.provs],
    )
    add_variables(b)
    by_member: list[list[int]] = [[] for _ in d.cocs]
    for i, k in b.x:
        by_member[k].append(i)
    b.value_of = [
        cp_model.LinearExpr.weighted_sum([b.x[(i, k)] for i in its], [d.values[i] for i in its])
        for k, its in enumerate(by_member)
    ]
    model.add(
        b.covered
        == cp_model.LinearExpr.weighted_sum(list(b.x.values()), [d.values[i] for i, _ in b.x])
    ).with_name("def_covered")
    model.add(b.total_lent == _sum(list(b.lend.values()))).with_name("def_total_lent")
    add_rule1_assignment(b)
    add_pins(b)
    add_rule3_capacity(b)
    add_rule4_providers(b)
    add_rule5_ai_480(b)
    add_rule6_dependency(b)
    add_rule7_social_clause(b)
    add_rule8_min_provider_share(b)
    add_turnover_fairness(b)
    add_provider_fairness(b)
    add_travel(b)
    return b
