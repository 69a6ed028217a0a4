"""A greedy first solution, given to CP-SAT as a hint so that the first stage starts from a full,
usually feasible allocation instead of searching for one (bin packing with lent hours is where
CP-SAT otherwise spends its first seconds).

Items go, largest first (by hours, by value or by value per hour: the best of the three is
kept), to the eligible co-contractor furthest below its target share that can take them with
its own hours, else with the fewest hours borrowed from providers; then lent hours are raised
until the minimum provider share (rule 8) holds, sites the providers cannot back left out
(`_trim_for_rule8`). When that start falls short of the social clause (rule 7),
`aim_at_clause` raises its insertion hours. Same integer arithmetic as the model, so a hint
that looks feasible here is feasible there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from coop_tender.allocation.model import (
    SCALE,
    Data,
    ai_hours_cap,
    dependency_cap,
    scaled_ceil,
    scaled_floor,
    whole_share_hours,
)
from coop_tender.money import to_cents


class _State:
    """Running totals of the greedy: hours, lent hours, money, provider capacities."""

    def __init__(self, data: Data) -> None:
        policy = data.problem.policy
        self.d = data
        self.hours: dict[tuple[int, int], int] = defaultdict(int)  # (k, t)
        self.received: dict[tuple[int, int], int] = defaultdict(int)  # (k, t)
        self.total_hours = self.total_received = 0  # their sums, kept by place and give
        self.lend: dict[tuple[int, int, int], int] = defaultdict(int)  # (p, k, t)
        self.lent_to: dict[tuple[int, int], list[int]] = defaultdict(list)  # (k, t) -> p, 1st lent
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
        self.period_of = data.period_of
        self.insertion = [scaled_floor(m.insertion_rate) for m in data.cocs]
        self.prov_insertion = [scaled_floor(m.insertion_rate) for m in data.provs]

    def place(self, i: int, k: int, sign: int = 1) -> None:
        """Site i joins co-contractor k (sign −1: leaves it): its hours, value, dependency room."""
        h, v = self.d.items[i].hours, self.d.values[i]
        self.hours[(k, self.period_of[i])] += sign * h
        self.total_hours += sign * h
        self.value[k] += sign * v
        if self.dep_left[k] is not None:
            self.dep_left[k] -= sign * v

    def own_room(self, k: int, t: int) -> int:
        """Hours of its own k may still put in t (capacity minus own hours on its sites)."""
        return self.d.cap[(k, t)] - (self.hours[(k, t)] - self.received[(k, t)])

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
        if (p, k, t) not in self.lend:
            self.lent_to[(k, t)].append(p)
        self.lend[(p, k, t)] += hours
        self.pair[(p, k)] += hours
        self.received[(k, t)] += hours
        self.total_received += hours
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


ORDERS = ("hours", "value", "value_per_hour")  # the greedy's site orders, largest first


def _site_key(data: Data, order: str) -> Callable[[int], float]:
    """Sort key of site i for `order` (negated: largest first)."""
    if order == "hours":
        return lambda i: -data.items[i].hours
    if order == "value":
        return lambda i: -data.values[i]
    return lambda i: -data.values[i] / data.items[i].hours


def greedy(
    data: Data,
    insertion_first: bool = False,
    order: str = "hours",
    prefer: dict[tuple[int, int], float] | None = None,
) -> tuple[dict[tuple[int, int], int], dict[tuple[int, int, int], int]]:
    """A first allocation: x per eligible pair, lent hours per (provider, member, period).
    Pinned sites first, then the others by `order` (see ORDERS). With `insertion_first`, each
    site goes to the member with the highest insertion rate first (for a social clause the
    usual order misses). With `prefer` (an LP relaxation's value per pair: `lp_rounding`),
    sites the LP takes most whole come first, each to the member the LP gives it most."""
    st = _State(data)
    x: dict[tuple[int, int], int] = {}
    pinned = dict(data.pins)
    key = _site_key(data, order)
    lp = prefer or {}
    mass = [round(sum(lp.get((i, k), 0.0) for k in ks), 3) for i, ks in enumerate(data.eligible)]
    order_ = sorted(range(len(data.items)), key=lambda i: (i not in pinned, -mass[i], key(i)))
    total_value = sum(data.values) or 1
    for i in order_:
        candidates = [pinned[i]] if i in pinned else data.eligible[i]
        _place(data, st, x, i, candidates, total_value, lp, insertion_first)
    if _raise_lending(data, st) > 0:
        removed = _trim_for_rule8(data, st, x, pinned)
        if _raise_lending(data, st) > 0:  # still short: a fuller hint serves CP-SAT better
            for i, k in removed:
                st.place(i, k)
                x[(i, k)] = 1
    return x, {key: h for key, h in st.lend.items() if h}


def _place(
    data: Data,
    st: _State,
    x: dict[tuple[int, int], int],
    i: int,
    candidates: list[int],
    total_value: int,
    lp: dict[tuple[int, int], float],
    insertion_first: bool,
) -> bool:
    """Site i to the best of `candidates` that can take it — within its dependency cap, with
    its own hours, else borrowing within rule 4, the providers' capacity and the 480 h — by
    the LP's preference, fewest borrowed hours, (insertion rate,) furthest below target,
    nearest; False when none can."""
    t, h, v = st.period_of[i], data.items[i].hours, data.values[i]
    best = None
    for k in candidates:
        if st.dep_left[k] is not None and st.dep_left[k] < v:
            continue
        need = max(0, h - max(st.own_room(k, t), 0))
        if need and (st.share_room(k, t, h) < need or not st.borrow(k, t, need, dry=True)):
            continue
        fill = (st.value[k] + v) / (data.targets[k] * total_value + 1)
        rank = (
            -round(lp.get((i, k), 0.0), 3),
            need,
            -st.insertion[k] if insertion_first else 0,
            fill,
            data.dist_km[(i, k)],
        )
        if best is None or rank < best[0]:
            best = (rank, k, need)
    if best is None:
        return False
    _, k, need = best
    if need:
        st.borrow(k, t, need, dry=False)
    st.place(i, k)
    x[(i, k)] = 1
    return True


def _rule8_missing(data: Data, st: _State, hours: int = 0, lent: int = 0) -> int:
    """Lent hours still missing for rule 8's minimum share (≤ 0: it holds), with `hours` more
    site hours and `lent` fewer lent hours than now."""
    share = data.problem.policy.min_provider_share
    if not share:
        return 0
    required = -(-(scaled_ceil(share) * (st.total_hours + hours)) // SCALE)
    return required - st.total_received + lent


def _trim_for_rule8(
    data: Data, st: _State, x: dict[tuple[int, int], int], pinned: dict[int, int]
) -> list[tuple[int, int]]:
    """Leave out sites until the providers' hours can make up rule 8's share: more sites than
    they can back would break it (the greedy fills capacity without counting it). First, least
    value per hour first, each site whose removal lowers the hours still missing, the hours lent
    to its member beyond rule 4's share afterwards given back; then `_clear_residues`. Pinned
    sites stay. Returns the sites left out, which the greedy puts back when rule 8 still fails
    (a fuller hint for CP-SAT to repair). Measured on an 80-site tender with 4 small AI
    (bench/sweep.py, variant 5): the greedy's 1 216 375 € broke rule 8, the coverage LP allows
    897 714 €."""
    placed = sorted(
        ((i, k) for (i, k), on in x.items() if on and i not in pinned),
        key=lambda ik: data.values[ik[0]] / data.items[ik[0]].hours,
    )
    removed: list[tuple[int, int]] = []
    for i, k in placed:
        missing = _rule8_missing(data, st)
        if missing <= 0:
            return removed
        t, h = st.period_of[i], data.items[i].hours
        back = max(0, -st.share_room(k, t, -h))
        if _rule8_missing(data, st, -h, back) < missing:
            _leave_out(data, st, x, i, k, back)
            removed.append((i, k))
    if _rule8_missing(data, st) > 0:
        removed += _clear_residues(data, st, x, pinned)
    return removed


RESIDUE_WORK = 200_000
"""Most steps (sites × residues) `_clear_residues` takes: milliseconds for 10 residues."""


def _clear_residues(
    data: Data, st: _State, x: dict[tuple[int, int], int], pinned: dict[int, int]
) -> list[tuple[int, int]]:
    """When rule 4's share caps each member's lent hours at a fraction of its site hours that is
    not whole (10 % of 1 287 h: 128 h, not 128.7), those fractions are lost to rule 8; with the
    minimum share equal to the maximum, every member's hours must be a multiple of 10 in each
    period. For the members at their cap, least value per lost fraction first, leave out the
    sites of least value whose hours make the rest such a multiple (a small subset-sum over
    the residues), until rule 8 holds. Measured on sweep variants 134 and 139 (both shares at
    10 %): no valid start, and no allocation found in 3 s / 20 s, before it."""
    if not st.share:
        return []
    modulus = whole_share_hours(st.share)
    by_member: dict[tuple[int, int], list[int]] = defaultdict(list)
    for (i, k), on in x.items():
        if on and i not in pinned:
            by_member[(k, st.period_of[i])].append(i)
    options = []
    work = 0
    for (k, t), sites in sorted(by_member.items()):
        hours = st.hours[(k, t)]
        lost = st.share * hours % SCALE
        if not lost or st.share_room(k, t, 0) > 0:
            continue  # no fraction lost, or not at its cap: nothing gained there
        work += modulus * len(sites)
        if work > RESIDUE_WORK:
            break
        subset = _cheapest_residue(data, sites, hours % modulus, modulus)
        if subset is not None:
            cost = sum(data.values[i] for i in subset)
            options.append((cost / lost, k, subset))
    removed = []
    for _score, k, subset in sorted(options):
        if _rule8_missing(data, st) <= 0:
            break
        for i in subset:
            back = max(0, -st.share_room(k, st.period_of[i], -data.items[i].hours))
            _leave_out(data, st, x, i, k, back)
            removed.append((i, k))
    return removed


def _cheapest_residue(data: Data, sites: list[int], residue: int, modulus: int) -> list[int] | None:
    """The sites of least total value whose hours add up to `residue` modulo `modulus`
    (dynamic programming over the residues); None when no subset does."""
    best: dict[int, tuple[int, list[int]]] = {0: (0, [])}
    for i in sites:
        h, v = data.items[i].hours % modulus, data.values[i]
        for r, (cost, subset) in list(best.items()):
            r2 = (r + h) % modulus
            if r2 not in best or cost + v < best[r2][0]:
                best[r2] = (cost + v, [*subset, i])
    found = best.get(residue)
    return None if found is None or not found[1] else found[1]


def _leave_out(
    data: Data, st: _State, x: dict[tuple[int, int], int], i: int, k: int, back: int
) -> None:
    """Site i leaves co-contractor k, which gives `back` lent hours back to its providers."""
    t = st.period_of[i]
    lenders = sorted(st.lent_to[(k, t)], key=lambda p: -st.lend[(p, k, t)])  # stable: 1st lent
    for p in lenders:
        if back <= 0:
            break
        h = st.lend[(p, k, t)]
        if h > 0:
            take = min(h, back)
            st.give(p, k, t, -take)
            back -= take
    st.place(i, k, -1)
    del x[(i, k)]


def _raise_lending(data: Data, st: _State) -> int:
    """Lend more (in place of members' own hours) until rule 8's minimum share holds;
    returns the hours still missing (≤ 0: it holds)."""
    missing = _rule8_missing(data, st)
    if missing <= 0:
        return missing
    for (k, t), _h in sorted(st.hours.items(), key=lambda kv: -kv[1]):
        if missing <= 0:
            return missing
        room = min(st.share_room(k, t, 0), missing)
        for p in st.lenders[(k, t)]:
            take = min(room, st.can_lend(p, k, t))
            if take > 0:
                st.give(p, k, t, take)
                room -= take
                missing -= take
    return missing


def greedy_is_valid(
    data: Data,
    x: dict[tuple[int, int], int],
    lend: dict[tuple[int, int, int], int],
    clause: bool = True,
) -> bool:
    """Whether the greedy answer also meets what the greedy does not enforce by construction:
    every pin placed, the social clause (rule 7; not checked without `clause`) and the minimum
    provider share (rule 8)."""
    placed = {i: k for (i, k), v in x.items() if v}
    if any(placed.get(i) != k for i, k in data.pins):
        return False
    if clause and insertion_of(data, x, lend) < data.problem.tender.insertion_hours_min * SCALE:
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


def first_allocation(
    data: Data,
) -> tuple[dict[tuple[int, int], int], dict[tuple[int, int, int], int]]:
    """The best start the greedies give (a few milliseconds each).

    The greedy in each site order of ORDERS, each aimed at the social clause when it misses
    it (`aim_at_clause`): of those that keep every rule, the one covering most value (ties: the
    first order). Where sites' prices per hour differ, the order decides coverage: on a
    300-site tender with scarce capacity, 1 684 717 € by hours, 1 912 327 € by value. If none
    keeps every rule, the greedy that gives each site to the highest insertion rate first,
    aimed too, else the answer with most insertion hours (a 260-site tender with a raised
    clause: only that one reaches it, and CP-SAT then needs no search for a start). A start
    that meets the clause but misses a pin or rule 8 is preferred to one that misses it."""
    minimum = data.problem.tender.insertion_hours_min * SCALE
    starts, valid = [], []
    for order in ORDERS:
        x, lend = greedy(data, order=order)
        if insertion_of(data, x, lend) < minimum:
            x, lend = aim_at_clause(data, x, lend)
        starts.append((x, lend))
        if greedy_is_valid(data, x, lend):
            valid.append((x, lend))
            if covered_of(data, x) == data.coverable_value:
                break  # every site that has an eligible member: no order does better
    if valid:
        return max(valid, key=lambda start: covered_of(data, start[0]))
    reaching = [start for start in starts if insertion_of(data, *start) >= minimum]
    if reaching:  # the clause holds, a pin or rule 8 does not: CP-SAT searches from here
        return max(reaching, key=lambda start: covered_of(data, start[0]))
    other = aim_at_clause(data, *greedy(data, insertion_first=True))
    if greedy_is_valid(data, *other):
        return other
    return max([*starts, other], key=lambda t: insertion_of(data, *t))


def covered_of(data: Data, x: dict[tuple[int, int], int]) -> int:
    """Cents of value an allocation covers."""
    return sum(data.values[i] for (i, _k), on in x.items() if on)


def aim_at_clause(
    data: Data, x: dict[tuple[int, int], int], lend: dict[tuple[int, int, int], int]
) -> tuple[dict[tuple[int, int], int], dict[tuple[int, int, int], int]]:
    """The greedy answer with more insertion hours (rule 7), for a tender whose social clause
    it misses: providers lend hours in place of the members' own where their insertion rate
    is higher, then sites move to eligible members with a higher rate and room of their own,
    largest gain first, until the clause holds or no such step is left. Every other rule the
    greedy keeps by construction still holds; coverage is unchanged, fairness may suffer (the
    stages that follow restore it)."""
    target = data.problem.tender.insertion_hours_min * SCALE
    missing = target - insertion_of(data, x, lend)
    if missing <= 0:
        return x, lend
    st = _replay(data, x, lend)
    x = dict(x)
    missing = _lend_for_insertion(data, st, missing)
    if missing > 0:
        missing = _move_for_insertion(data, st, x, missing)
        _lend_for_insertion(data, st, missing)  # members that took sites may borrow more
    return x, {key: h for key, h in st.lend.items() if h}


def _replay(
    data: Data, x: dict[tuple[int, int], int], lend: dict[tuple[int, int, int], int]
) -> _State:
    """The greedy's running totals for a given allocation."""
    st = _State(data)
    for (i, k), on in x.items():
        if on:
            st.place(i, k)
    for (p, k, t), h in lend.items():
        st.give(p, k, t, h)
    return st


def _lend_for_insertion(data: Data, st: _State, missing: int) -> int:
    """Lend hours where the provider's insertion rate beats the member's; returns what is
    still missing (× SCALE)."""
    if missing <= 0:
        return missing
    rate, prate = st.insertion, st.prov_insertion
    steps = sorted(
        ((prate[p] - rate[k], p, k, t) for p, k, t in data.lend_pairs if prate[p] > rate[k]),
        reverse=True,
    )
    for gain, p, k, t in steps:
        if missing <= 0:
            break
        own = st.hours[(k, t)] - st.received[(k, t)]
        hours = min(st.share_room(k, t, 0), st.can_lend(p, k, t), own, -(-missing // gain))
        if hours > 0:
            st.give(p, k, t, hours)
            missing -= gain * hours
    return missing


def _move_for_insertion(data: Data, st: _State, x: dict[tuple[int, int], int], missing: int) -> int:
    """Move unpinned sites to eligible members with a higher insertion rate and room of their
    own (capacity, dependency cap), the one losing them keeping rule 4's share; returns what is
    still missing (× SCALE)."""
    rate = st.insertion
    pinned = {i for i, _k in data.pins}
    owner = {i: k for (i, k), on in x.items() if on and i not in pinned}
    steps = sorted(
        (
            (data.items[i].hours * (rate[k2] - rate[k]), i, k2)
            for i, k in owner.items()
            for k2 in data.eligible[i]
            if rate[k2] > rate[k]
        ),
        reverse=True,
    )
    for gain, i, k2 in steps:
        if missing <= 0:
            break
        k = owner[i]
        gain = data.items[i].hours * (rate[k2] - rate[k])  # the owner may have changed since
        if gain <= 0 or not _can_move(data, st, i, k, k2):
            continue
        st.place(i, k, -1)
        st.place(i, k2)
        del x[(i, k)]
        x[(i, k2)] = 1
        owner[i] = k2
        missing -= gain
    return missing


def _can_move(data: Data, st: _State, i: int, k: int, k2: int) -> bool:
    """Whether k2 can take site i from k with its own hours (capacity, dependency cap), k
    still keeping the hours lent to it within rule 4 afterwards."""
    t, h, v = st.period_of[i], data.items[i].hours, data.values[i]
    if st.own_room(k2, t) < h or (st.dep_left[k2] is not None and st.dep_left[k2] < v):
        return False
    return st.share_room(k, t, -h) >= 0
