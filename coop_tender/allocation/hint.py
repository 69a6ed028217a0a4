"""A greedy first solution, given to CP-SAT as a hint so that the first stage starts from a full,
usually feasible allocation instead of searching for one (bin packing with lent hours is where
CP-SAT otherwise spends its first seconds).

Items go, largest first, to the eligible co-contractor furthest below its target share that can
take them with its own hours, else with the fewest hours borrowed from providers; then lent
hours are raised until the minimum provider share (rule 8) holds. Same integer arithmetic as
the model, so a hint that looks feasible here is feasible there.
"""

from __future__ import annotations

from collections import defaultdict

from coop_tender.allocation.model import (
    SCALE,
    Data,
    ai_hours_cap,
    dependency_cap,
    scaled_ceil,
    scaled_floor,
)
from coop_tender.money import to_cents


class _State:
    """Running totals of the greedy: hours, lent hours, money, provider capacities."""

    def __init__(self, data: Data) -> None:
        policy = data.problem.policy
        self.d = data
        self.hours: dict[tuple[int, int], int] = defaultdict(int)  # (k, t)
        self.received: dict[tuple[int, int], int] = defaultdict(int)  # (k, t)
        self.lend: dict[tuple[int, int, int], int] = defaultdict(int)  # (p, k, t)
        self.pair: dict[tuple[int, int], int] = defaultdict(int)  # (p, k) over the contract
        self.value = [0] * len(data.cocs)
        self.prov_left = dict(data.pcap)
        self.share = (
            scaled_floor(policy.max_provider_share)
            if policy.max_provider_share is not None
            else None
        )
        self.dep_left = [dependency_cap(policy, m) for m in data.cocs]
        self.rate = [
            to_cents(m.hourly_rate) if m.hourly_rate is not None else 0 for m in data.provs
        ]
        self.prov_money_left = [dependency_cap(policy, m) for m in data.provs]
        self.policy = policy
        self.lenders: dict[tuple[int, int], list[int]] = defaultdict(list)  # (k, t) -> providers
        for p, k, t in data.lend_pairs:
            self.lenders[(k, t)].append(p)

    def can_lend(self, p: int, k: int, t: int) -> int:
        """Hours provider p may still lend to k in period t (capacity, 480 h, dependency)."""
        room = self.prov_left[(p, t)]
        cap = ai_hours_cap(self.policy, self.d.provs[p], self.d.cocs[k])
        if cap is not None:
            room = min(room, cap - self.pair[(p, k)])
        money = self.prov_money_left[p]
        if money is not None and self.rate[p]:
            room = min(room, money // self.rate[p])
        return max(room, 0)

    def share_room(self, k: int, t: int, extra_hours: int) -> int:
        """More hours that may be lent to k in t if its site hours grow by `extra_hours`."""
        total = self.hours[(k, t)] + extra_hours
        cap = total if self.share is None else min(total, self.share * total // SCALE)
        return cap - self.received[(k, t)]

    def give(self, p: int, k: int, t: int, hours: int) -> None:
        self.lend[(p, k, t)] += hours
        self.pair[(p, k)] += hours
        self.received[(k, t)] += hours
        self.prov_left[(p, t)] -= hours
        if self.prov_money_left[p] is not None:
            self.prov_money_left[p] -= hours * self.rate[p]

    def borrow(self, k: int, t: int, need: int, dry: bool) -> bool:
        """Borrow `need` hours for k in t from its providers, most available first."""
        offers = sorted(((self.can_lend(p, k, t), p) for p in self.lenders[(k, t)]), reverse=True)
        if sum(h for h, _ in offers) < need:
            return False
        if not dry:
            for h, p in offers:
                take = min(h, need)
                if take:
                    self.give(p, k, t, take)
                need -= take
        return True


def greedy(data: Data) -> tuple[dict[tuple[int, int], int], dict[tuple[int, int, int], int]]:
    """A first allocation: x per eligible pair, lent hours per (provider, member, period)."""
    st = _State(data)
    tidx = {p: t for t, p in enumerate(data.periods)}
    x: dict[tuple[int, int], int] = {}
    pinned = dict(data.pins)
    order = sorted(range(len(data.items)), key=lambda i: (i not in pinned, -data.items[i].hours))
    total_value = sum(data.values) or 1
    for i in order:
        it, v = data.items[i], data.values[i]
        t, h = tidx[it.period], it.hours
        best = None
        candidates = [pinned[i]] if i in pinned else data.eligible[i]
        for k in candidates:
            if st.dep_left[k] is not None and st.dep_left[k] < v:
                continue
            own_room = data.cap[(k, t)] - (st.hours[(k, t)] - st.received[(k, t)])
            need = max(0, h - max(own_room, 0))
            if need and (st.share_room(k, t, h) < need or not st.borrow(k, t, need, dry=True)):
                continue
            fill = (st.value[k] + v) / (data.targets[k] * total_value + 1)
            key = (need, fill, data.dist_km[(i, k)])
            if best is None or key < best[0]:
                best = (key, k, need)
        if best is None:
            continue
        _, k, need = best
        if need:
            st.borrow(k, t, need, dry=False)
        st.hours[(k, t)] += h
        st.value[k] += v
        if st.dep_left[k] is not None:
            st.dep_left[k] -= v
        x[(i, k)] = 1
    _raise_lending(data, st)
    return x, {key: h for key, h in st.lend.items() if h}


def _raise_lending(data: Data, st: _State) -> None:
    """Lend more (in place of members' own hours) until rule 8's minimum share holds."""
    share = data.problem.policy.min_provider_share
    if not share:
        return
    s = scaled_ceil(share)
    total_hours = sum(st.hours.values())
    missing = -(-(s * total_hours) // SCALE) - sum(st.received.values())
    for (k, t), _h in sorted(st.hours.items(), key=lambda kv: -kv[1]):
        if missing <= 0:
            return
        room = min(st.share_room(k, t, 0), missing)
        for p in st.lenders[(k, t)]:
            take = min(room, st.can_lend(p, k, t))
            if take > 0:
                st.give(p, k, t, take)
                room -= take
                missing -= take


def greedy_is_valid(
    data: Data, x: dict[tuple[int, int], int], lend: dict[tuple[int, int, int], int]
) -> bool:
    """Whether the greedy answer also meets what the greedy does not enforce by construction:
    every pin placed, the social clause (rule 7) and the minimum provider share (rule 8)."""
    placed = {i: k for (i, k), v in x.items() if v}
    if any(placed.get(i) != k for i, k in data.pins):
        return False
    if insertion_of(data, x, lend) < data.problem.tender.insertion_hours_min * SCALE:
        return False
    share = data.problem.policy.min_provider_share
    if share:
        hours = sum(data.items[i].hours for i in placed)
        return SCALE * sum(lend.values()) >= scaled_ceil(share) * hours
    return True


def insertion_of(
    data: Data, x: dict[tuple[int, int], int], lend: dict[tuple[int, int, int], int]
) -> int:
    """Insertion hours × SCALE of an allocation, as model.insertion_expr counts them."""
    received: dict[int, int] = defaultdict(int)
    lent: dict[int, int] = defaultdict(int)
    for (p, k, _t), h in lend.items():
        received[k] += h
        lent[p] += h
    hours: dict[int, int] = defaultdict(int)
    for (i, k), v in x.items():
        if v:
            hours[k] += data.items[i].hours
    return sum(
        scaled_floor(m.insertion_rate) * (hours[k] - received[k]) for k, m in enumerate(data.cocs)
    ) + sum(scaled_floor(m.insertion_rate) * lent[p] for p, m in enumerate(data.provs))
