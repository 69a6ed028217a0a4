"""The greedy peer: the split a coordinator does by hand in a spreadsheet.

Pinned sites first, then by decreasing value, each site goes to the nearest eligible co-contractor
with enough own capacity left in its period and room under its dependency cap; failing that, to
the nearest one that can make up the difference with AI hours (within the share cap, the AI's
capacity and the 480-hour rule). A last pass lends AI hours until the network's minimum share
is met. It ignores fairness and the insertion clause; the checker reports what it breaks.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

from bench.instances import eligible_pairs
from coop_tender.checker import CAPPED_KINDS, exact
from coop_tender.geo import great_circle_km
from coop_tender.models import (
    Allocation,
    Assignment,
    MemberKind,
    MemberResult,
    Problem,
    ProviderHours,
    Role,
    Stage,
)

Lending = tuple[str, str, str, int]  # provider, co-contractor, period, hours


def allocation_from(
    problem: Problem,
    owner: dict[str, str],
    lent: list[Lending],
    status: str,
    stages: list[Stage],
    solver: str,
) -> Allocation:
    """An Allocation with its totals and per-member figures computed from the decisions."""
    items = {i.id: i for i in problem.tender.items}
    merged: dict[tuple[str, str, str], int] = defaultdict(int)
    for p, m, t, h in lent:
        merged[p, m, t] += h
    received: dict[str, int] = defaultdict(int)
    given: dict[str, int] = defaultdict(int)
    for (p, m, _), h in merged.items():
        received[m] += h
        given[p] += h
    results = []
    for m in problem.members:
        mine = sorted(i for i, o in owner.items() if o == m.id)
        if m.role is Role.COCONTRACTOR:
            hours = sum(items[i].hours for i in mine)
            value = sum((items[i].value for i in mine), Decimal(0))
            results.append(
                MemberResult(
                    member=m.id,
                    role=m.role,
                    hours=hours,
                    own_hours=max(0, hours - received[m.id]),
                    lent_hours=received[m.id],
                    value=value,
                    items=mine,
                )
            )
        else:
            value = Decimal(given[m.id]) * (m.hourly_rate or Decimal(0))
            results.append(
                MemberResult(
                    member=m.id, role=m.role, hours=given[m.id], lent_hours=given[m.id], value=value
                )
            )
    return Allocation(
        status=status,
        assignments=[Assignment(item=i, member=m) for i, m in sorted(owner.items())],
        provider_hours=[
            ProviderHours(provider=p, member=m, period=t, hours=h)
            for (p, m, t), h in sorted(merged.items())
        ],
        unassigned=[i for i in items if i not in owner],
        stages=stages,
        members=results,
        total_value=sum((i.value for i in items.values()), Decimal(0)),
        covered_value=sum((items[i].value for i in owner), Decimal(0)),
        insertion_hours_min=problem.tender.insertion_hours_min,
        solver=solver,
    )


def solve(problem: Problem) -> Allocation:
    """The coordinator's greedy split (no time limit: it is instantaneous)."""
    policy = problem.policy
    items = {i.id: i for i in problem.tender.items}
    members = {m.id: m for m in problem.members}
    providers = [m for m in problem.members if m.role is Role.PROVIDER and not m.declined]
    candidates: dict[str, list[str]] = defaultdict(list)
    for i, m in eligible_pairs(problem):
        candidates[i].append(m)
    pins = {p.item: p.member for p in policy.pins}
    own_left = {(m.id, t): h for m in members.values() for t, h in m.capacity_hours.items()}
    prov_left = {(p.id, t): h for p in providers for t, h in p.capacity_hours.items()}
    dep = exact(policy.max_dependency) if policy.max_dependency is not None else None
    room = {
        m.id: dep * Fraction(m.annual_turnover) if dep is not None else Fraction(10**15)
        for m in members.values()
    }
    share = exact(policy.max_provider_share) if policy.max_provider_share is not None else None
    per_worker = policy.ai_max_hours_per_worker
    hours_in: dict[tuple[str, str], int] = defaultdict(int)  # (m, t) -> site hours
    lent_in: dict[tuple[str, str], int] = defaultdict(int)
    pair_lent: dict[tuple[str, str], int] = defaultdict(int)
    lent: list[Lending] = []

    def lenders(m_id: str, t: str) -> list[tuple[str, int]]:
        """Providers that may lend to m in period t, with how much each still can."""
        out = []
        for p in providers:
            if not set(p.territories) & set(members[m_id].territories):
                continue
            can = prov_left.get((p.id, t), 0)
            capped = p.kind is MemberKind.AI and members[m_id].kind in CAPPED_KINDS
            if capped and per_worker is not None:
                can = min(can, per_worker * p.workers - pair_lent[p.id, m_id])
            if can > 0:
                out.append((p.id, can))
        return out

    def borrow(m_id: str, t: str, need: int, site_hours: int) -> list[Lending] | None:
        """Lendings covering `need` hours for m in t (with `site_hours` more hours), or None."""
        cap = need if share is None else int(share * (hours_in[m_id, t] + site_hours))
        cap -= lent_in[m_id, t] if share is not None else 0
        if cap < need:
            return None
        plan, rest = [], need
        for p_id, can in lenders(m_id, t):
            take = min(can, rest)
            plan.append((p_id, m_id, t, take))
            rest -= take
            if rest == 0:
                return plan
        return None

    def apply(plan: list[Lending]) -> None:
        for p_id, m_id, t, h in plan:
            prov_left[p_id, t] -= h
            lent_in[m_id, t] += h
            pair_lent[p_id, m_id] += h
            lent.append((p_id, m_id, t, h))

    owner: dict[str, str] = {}
    order = sorted(items.values(), key=lambda i: (i.id not in pins, -i.value, i.id))
    for item in order:
        names = [pins[item.id]] if item.id in pins else candidates[item.id]
        near = sorted(
            (m for m in names if item.id in pins or m in candidates[item.id]),
            key=lambda m: great_circle_km(members[m].lat, members[m].lon, item.lat, item.lon),
        )
        chosen = None
        for m_id in near:  # own capacity first
            if own_left.get((m_id, item.period), 0) >= item.hours and room[m_id] >= item.value:
                chosen, plan = m_id, []
                break
        if chosen is None:  # then the nearest that can borrow the difference
            for m_id in near:
                if room[m_id] < item.value:
                    continue
                need = item.hours - max(0, own_left.get((m_id, item.period), 0))
                plan = borrow(m_id, item.period, need, item.hours)
                if plan is not None:
                    chosen = m_id
                    break
        if chosen is None:
            continue
        owner[item.id] = chosen
        used = item.hours - sum(h for *_, h in plan)
        own_left[chosen, item.period] = own_left.get((chosen, item.period), 0) - used
        hours_in[chosen, item.period] += item.hours
        room[chosen] -= Fraction(item.value)
        apply(plan)

    if policy.min_provider_share is not None:  # the network's commitment to its AI
        needed = exact(policy.min_provider_share) * sum(hours_in.values())
        for (m_id, t), hours in sorted(hours_in.items()):
            for p_id, can in lenders(m_id, t):
                missing = needed - sum(lent_in.values())
                if missing <= 0:
                    break
                cap = hours if share is None else int(share * hours)
                take = min(can, cap - lent_in[m_id, t], int(missing) + 1)
                if take > 0:
                    apply([(p_id, m_id, t, take)])
    return allocation_from(problem, owner, lent, "feasible", [], "greedy")
