"""Travel local search: simulated annealing over site moves, site swaps and lent-hours moves,
keeping every rule of the model with the model's own integers.

Runs in the travel stage between CP-SAT's main solve and its territory neighbourhoods (solve.py).
Coverage, the turnover windows fixed by stage 2 and the provider-fairness value fixed by stage 3
all hold at every step, so the result is a valid hint for CP-SAT, and the final answer is checked
independently as always.

Lent hours follow the work: when a site moves from member a to member c in period t, hours a
provider lent to a in t move to c if c now needs them (same provider, when it lends to both),
and the rest is given back to providers or taken from those with hours to spare, within their
capacity per period, the 480-hour rule, their dependency cap and their fairness window. A third
kind of step changes which provider lends a member's hours (travel unchanged), which frees a
provider where another member will need it. Measured on the seed case with the turnover windows
lifted: 393 km without that step, 351.9 km with it (CP-SAT's proven optimum: 351.6 km).
"""

from __future__ import annotations

import math
import random
import time
from collections import defaultdict

from coop_tender.allocation.lns import neighbours
from coop_tender.allocation.model import (
    SCALE,
    Built,
    ai_hours_cap,
    dependency_cap,
    scaled_ceil,
    scaled_floor,
)
from coop_tender.money import to_cents

SWAP_SHARE = 0.35
"""Share of annealing site steps that swap two sites between two members."""
CHAIN_SHARE = 0.3
"""Share of annealing site steps that move a site from a to c and one from a third member to
a (the one at the low end of its window can give a site only if it gets one back)."""
ANNEAL_SHARE = 0.9
"""Share of improve_travel's time spent annealing; a descent (improving moves only) ends it."""
MIN_STEPS_PER_SITE = 30
"""Annealing stops early (its best, the start, kept) when its pace, measured on its first steps,
gives fewer steps than this per movable site in its time: it would only wander from a descent's
local optimum (seed: 40 steps a site, 504–511 km, where descending alone gives 472 km)."""
LEND_STEP_SHARE = 0.2
"""Share of annealing steps that change which provider lends hours (travel unchanged)."""


class TravelSearch:
    """An allocation's running totals, and site moves that keep it within the model's rules."""

    def __init__(self, b: Built, sol) -> None:
        d = self.d = b.data
        self.b = b
        self.dist = b.dist
        tidx = {p: t for t, p in enumerate(d.periods)}
        self.period = [tidx[it.period] for it in d.items]
        self.item_hours = [it.hours for it in d.items]
        self.pinned = {i for i, _k in d.pins}
        policy = d.problem.policy
        self.share = (
            None if policy.max_provider_share is None else scaled_floor(policy.max_provider_share)
        )
        self.dep = [dependency_cap(policy, m) for m in d.cocs]
        self.prate = [0 if m.hourly_rate is None else to_cents(m.hourly_rate) for m in d.provs]
        self.pdep = [dependency_cap(policy, m) for m in d.provs]
        self.rate = [scaled_floor(m.insertion_rate) for m in d.cocs]
        self.prov_rate = [scaled_floor(m.insertion_rate) for m in d.provs]
        self.cap480: dict[tuple[int, int], int] = {}  # (provider, co-contractor) -> rule 5
        for p, k, _t in b.lend:
            cap = ai_hours_cap(policy, d.provs[p], d.cocs[k])
            if cap is not None:
                self.cap480[(p, k)] = cap
        self.partner_list = [sorted(ks) for ks in neighbours(b)]  # co-contractor -> partners
        self.lenders: dict[tuple[int, int], list[int]] = defaultdict(list)  # (k, t) -> providers
        for p, k, t in sorted(b.lend):
            self.lenders[(k, t)].append(p)
        min_share = policy.min_provider_share
        self.min_share = scaled_ceil(min_share) if min_share else 0
        self.minimum = d.problem.tender.insertion_hours_min * SCALE
        self.e_prov = b.fixed.get("provider_fairness")
        self.load(sol)

    def load(self, sol) -> None:
        """Set the running totals from a solution."""
        d, b = self.d, self.b
        self.touched: set[int] = set()  # co-contractors changed since `descend` last looked
        self.owner: dict[int, int] = {i: k for (i, k), v in sol.x.items() if v}
        self.items_of: dict[int, set[int]] = defaultdict(set)
        self.hours: dict[tuple[int, int], int] = defaultdict(int)
        self.value = [0] * len(d.cocs)
        for i, k in self.owner.items():
            self.items_of[k].add(i)
            self.hours[(k, self.period[i])] += self.item_hours[i]
            self.value[k] += d.values[i]
        self.lend = {key: sol.lend.get(key, 0) for key in b.lend}
        self.recv: dict[tuple[int, int], int] = defaultdict(int)
        self.plent: dict[tuple[int, int], int] = defaultdict(int)  # (p, t) -> hours lent
        self.ptotal = [0] * len(d.provs)
        self.used480: dict[tuple[int, int], int] = defaultdict(int)
        for (p, k, t), h in self.lend.items():
            self.recv[(k, t)] += h
            self.plent[(p, t)] += h
            self.ptotal[p] += h
            if (p, k) in self.cap480:
                self.used480[(p, k)] += h
        self.total_lent = sum(self.ptotal)
        self.total_hours = sum(self.item_hours[i] for i in self.owner)
        e = b.fixed.get("turnover_fairness")  # windows fixed by stage 2 (see solve.fix_stage)
        self.low, self.high = (None, None) if e is None else b.fair.bounds_at(e, sum(self.value))
        own = sum(self.rate[k] * (h - self.recv[(k, t)]) for (k, t), h in self.hours.items())
        lent = sum(self.prov_rate[p] * h for p, h in enumerate(self.ptotal))
        self.social = own + lent
        self.travel = sum(self.dist[(i, k)] for i, k in self.owner.items())

    # ------------------------------------------------------------------ rules

    def lent_range(self, k: int, t: int, new_hours: int) -> tuple[int, int]:
        """Hours co-contractor k may receive in period t with `new_hours` of sites (rule 3,
        rule 4's share); an empty range (lo > hi) when no amount works."""
        cap = self.d.cap.get((k, t), 0)
        if not self.lenders.get((k, t)):
            return (0, 0) if new_hours <= cap else (1, 0)
        hi = new_hours if self.share is None else min(new_hours, self.share * new_hours // SCALE)
        return max(0, new_hours - cap), hi

    def value_ok(self, k: int, new: int) -> bool:
        """Co-contractor k's turnover `new` keeps rule 6 and the window fixed by stage 2."""
        if self.dep[k] is not None and new > self.dep[k]:
            return False
        return self.low is None or self.low[k] <= new <= self.high[k]

    def providers_ok(self, dtotal: dict[int, int]) -> bool:
        """Rules 6 and 8 and the provider-fairness value, after providers' totals change."""
        if not dtotal:
            return True
        total = self.total_lent + sum(dtotal.values())
        if SCALE * total < self.min_share * self.total_hours:
            return False
        for p, dh in dtotal.items():
            cap = self.pdep[p]
            if cap is not None and self.prate[p] * (self.ptotal[p] + dh) > cap:
                return False
        if self.e_prov is None:
            return True
        w, e = self.b.prov, self.e_prov
        changed = total != self.total_lent
        for p in range(len(self.ptotal)) if changed else dtotal:
            lent = self.ptotal[p] + dtotal.get(p, 0)
            if w.lo[p] * total - w.unit * lent > e or w.unit * lent - w.hi[p] * total > e:
                return False
        return True

    # ------------------------------------------------------------------ lent hours

    def _take(self, k: int, t: int, amount: int, delta: dict, dtotal: dict) -> int:
        """Plan `amount` more hours lent to k in t by providers with hours to spare, those
        furthest below their share first; returns what could not be found."""
        providers = self.lenders.get((k, t), ())
        for p in sorted(providers, key=lambda p: self.ptotal[p] + dtotal.get(p, 0)):
            if amount == 0:
                break
            room = self.d.pcap[(p, t)] - self.plent[(p, t)] - _sum_period(delta, p, t)
            cap = self.cap480.get((p, k))
            if cap is not None:
                room = min(room, cap - self.used480[(p, k)] - _sum_pair(delta, p, k))
            take = min(max(room, 0), amount)
            if take:
                delta[(p, k, t)] = delta.get((p, k, t), 0) + take
                dtotal[p] = dtotal.get(p, 0) + take
                amount -= take
        return amount

    def _give_back(self, k: int, t: int, amount: int, delta: dict, dtotal: dict) -> int:
        """Plan `amount` fewer hours lent to k in t, from the providers furthest above their
        share first; returns what could not be given back."""
        providers = self.lenders.get((k, t), ())
        for p in sorted(providers, key=lambda p: -(self.ptotal[p] + dtotal.get(p, 0))):
            if amount == 0:
                break
            give = min(self.lend[(p, k, t)] + delta.get((p, k, t), 0), amount)
            if give > 0:
                delta[(p, k, t)] = delta.get((p, k, t), 0) - give
                dtotal[p] = dtotal.get(p, 0) - give
                amount -= give
        return amount

    def _transfer(self, src: int, dst: int, t: int, amount: int, delta: dict) -> int:
        """Plan up to `amount` hours moved from src's lenders to dst, same provider and period
        (providers' totals unchanged); returns the hours moved."""
        moved = 0
        for p in self.lenders.get((src, t), ()):
            if moved == amount:
                break
            if (p, dst, t) not in self.lend:
                continue
            room = self.lend[(p, src, t)] + delta.get((p, src, t), 0)
            cap = self.cap480.get((p, dst))
            if cap is not None:
                room = min(room, cap - self.used480[(p, dst)] - _sum_pair(delta, p, dst))
            step = min(max(room, 0), amount - moved)
            if step:
                delta[(p, src, t)] = delta.get((p, src, t), 0) - step
                delta[(p, dst, t)] = delta.get((p, dst, t), 0) + step
                moved += step
        return moved

    def plan(self, moves: list[tuple[int, int, int]]):
        """Check site moves (item, from, to) and plan the lent hours that follow them; returns
        (changes of lent hours, change of insertion hours × SCALE) or None when a rule would
        break."""
        dv: dict[int, int] = {}
        values = self.d.values
        for i, src, dst in moves:  # turnover windows first: most moves stop here, cheaply
            dv[src] = dv.get(src, 0) - values[i]
            dv[dst] = dv.get(dst, 0) + values[i]
        for k, change in dv.items():
            if not self.value_ok(k, self.value[k] + change):
                return None
        dh: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))  # t -> k -> h
        for i, src, dst in moves:
            t, h = self.period[i], self.item_hours[i]
            dh[t][src] -= h
            dh[t][dst] += h
        delta: dict[tuple[int, int, int], int] = {}
        dtotal: dict[int, int] = {}
        social = 0
        for t, changes in dh.items():
            members = list(changes)
            new = {k: self.hours[(k, t)] + changes[k] for k in members}
            ranges = {k: self.lent_range(k, t, new[k]) for k in members}
            if any(lo > hi for lo, hi in ranges.values()):
                return None
            lent = {k: self.recv[(k, t)] for k in members}
            # Lent hours follow the work: from members that must (or may) receive fewer to
            # members that must receive more, same provider; the rest from or to providers.
            for dst in members:
                for src in members:
                    lo_d, hi_d = ranges[dst]
                    lo_s, hi_s = ranges[src]
                    want = max(lo_d - lent[dst], lent[src] - hi_s, 0)
                    want = min(want, lent[src] - lo_s, hi_d - lent[dst])
                    if src != dst and want > 0:
                        moved = self._transfer(src, dst, t, want, delta)
                        lent[src] -= moved
                        lent[dst] += moved
            for k in members:
                lo, hi = ranges[k]
                if lent[k] < lo and self._take(k, t, lo - lent[k], delta, dtotal):
                    return None
                if lent[k] > hi and self._give_back(k, t, lent[k] - hi, delta, dtotal):
                    return None
                received = sum(v for (_p, kk, tt), v in delta.items() if kk == k and tt == t)
                social += self.rate[k] * (changes[k] - received)
        if not self.providers_ok({p: v for p, v in dtotal.items() if v}):
            return None
        social += sum(self.prov_rate[p] * v for p, v in dtotal.items())
        if self.minimum and self.social + social < self.minimum:
            return None
        return delta, social

    # ------------------------------------------------------------------ applying

    def apply(self, moves: list[tuple[int, int, int]], delta: dict, social: int) -> None:
        """Apply site moves (item, from, to) and the planned changes of lent hours."""
        touched = self.touched
        for i, src, dst in moves:
            t, h, v = self.period[i], self.item_hours[i], self.d.values[i]
            touched.add(src)
            touched.add(dst)
            self.hours[(src, t)] -= h
            self.hours[(dst, t)] += h
            self.value[src] -= v
            self.value[dst] += v
            self.owner[i] = dst
            self.items_of[src].discard(i)
            self.items_of[dst].add(i)
            self.travel += self.dist[(i, dst)] - self.dist[(i, src)]
        for (p, k, t), v in delta.items():
            if not v:
                continue
            touched.add(k)
            self.lend[(p, k, t)] += v
            self.recv[(k, t)] += v
            self.plent[(p, t)] += v
            self.ptotal[p] += v
            self.total_lent += v
            if (p, k) in self.cap480:
                self.used480[(p, k)] += v
        self.social += social

    def solution(self, cls):
        return self._solution_of(self.owner, self.lend, cls)

    def _solution_of(self, owner: dict[int, int], lend: dict, cls):
        x = dict.fromkeys(self.b.x, 0)
        for i, k in owner.items():
            x[(i, k)] = 1
        return cls(x=x, lend=dict(lend))

    # ------------------------------------------------------------------ neighbourhoods

    def try_item(self, i: int) -> bool:
        """Move site i to a nearer member, alone or swapped with one of that member's sites;
        applies the first change that shortens travel."""
        a, values, dist = self.owner[i], self.d.values, self.dist
        d_ia, v_i = dist[(i, a)], values[i]
        for c in sorted(self.d.eligible[i], key=lambda c: dist[(i, c)]):
            gain = d_ia - dist[(i, c)]
            if gain <= 0:
                return False
            plan = self.plan([(i, a, c)])
            if plan is not None:
                self.apply([(i, a, c)], *plan)
                return True
            for j in list(self.items_of[c]):
                if j in self.pinned or (j, a) not in dist:
                    continue
                if gain + dist[(j, c)] - dist[(j, a)] <= 0:
                    continue
                change = values[j] - v_i  # a gains it, c loses it: both windows must hold
                if not (
                    self.value_ok(a, self.value[a] + change)
                    and self.value_ok(c, self.value[c] - change)
                ):
                    continue
                plan = self.plan([(i, a, c), (j, c, a)])
                if plan is not None:
                    self.apply([(i, a, c), (j, c, a)], *plan)
                    return True
        return False

    def descend(self, deadline: float) -> None:
        """Apply moves and swaps that shorten travel until none is left or `deadline`.

        After a first pass over every site, a pass tries only the sites whose member or
        candidate members changed in the last one (most of a large tender stays as it was); a
        pass over every site again confirms that nothing is left (lent hours and the
        providers' rules are shared, so a change elsewhere may still open a move)."""
        touched: set[int] | None = None  # None: every site
        while time.perf_counter() < deadline:
            self.touched = set()
            order = sorted(self.owner, key=lambda i: -self.dist[(i, self.owner[i])])
            for i in order:
                if i in self.pinned:
                    continue
                if touched is not None and touched.isdisjoint(self.d.eligible[i]):
                    continue  # neither its member (one of the eligible) nor a candidate changed
                self.try_item(i)
                if time.perf_counter() > deadline:
                    return
            if not self.touched and touched is None:
                return  # a pass over every site changed nothing: a local optimum
            touched = self.touched or None

    def movable_sites(self) -> list[int]:
        """The assigned sites a step may move: not pinned, with another eligible member."""
        return [i for i in self.owner if i not in self.pinned and len(self.d.eligible[i]) > 1]

    def random_step(self, rng: random.Random, temperature: float) -> None:
        """One annealing step: a random site i to a random other eligible member c, alone,
        swapped with one of c's sites, or with a site of a third member coming to i's member
        in exchange; kept if it shortens travel, or lengthens it by Δ metres with probability
        exp(−Δ / temperature)."""
        i = self.movable[rng.randrange(len(self.movable))]
        ms = self.d.eligible[i]
        a, c = self.owner[i], ms[rng.randrange(len(ms))]
        if c == a:
            return
        moves = [(i, a, c)]
        kind = rng.random()
        if kind < SWAP_SHARE + CHAIN_SHARE:
            # a site j comes back to a: from c (a swap) or from a third member (a chain)
            e = c
            if kind >= SWAP_SHARE:
                partners = self.partner_list[a]
                e = partners[rng.randrange(len(partners))]
                if e in (a, c):
                    return
            others = self.items_of[e]
            if not others:
                return
            j = rng.choice(tuple(others))
            if j in self.pinned or (j, a) not in self.dist:
                return
            moves.append((j, e, a))
        change = sum(self.dist[(x, dst)] - self.dist[(x, src)] for x, src, dst in moves)
        if change > 0 and rng.random() >= math.exp(-change / temperature):
            return
        plan = self.plan(moves)
        if plan is not None:
            self.apply(moves, *plan)

    def random_lend_step(self, rng: random.Random) -> None:
        """Change which provider lends some of a member's hours in a period: travel is the same,
        but it frees a provider's hours where another member may need them later."""
        k, t = self.lend_slots[rng.randrange(len(self.lend_slots))]
        providers = self.lenders[(k, t)]
        p, q = rng.sample(providers, 2)
        have = self.lend[(p, k, t)]
        if not have:
            return
        room = self.d.pcap[(q, t)] - self.plent[(q, t)]
        cap = self.cap480.get((q, k))
        if cap is not None:
            room = min(room, cap - self.used480[(q, k)])
        if room <= 0:
            return
        step = rng.randint(1, min(have, room))
        if not self.providers_ok({p: -step, q: step}):
            return
        social = (self.prov_rate[q] - self.prov_rate[p]) * step
        if self.minimum and self.social + social < self.minimum:
            return
        self.apply([], {(p, k, t): -step, (q, k, t): step}, social)

    def anneal(self, deadline: float, seed: int = 0, hot: float = 5000.0, cold: float = 50.0):
        """Simulated annealing until `deadline`, cooling from `hot` to `cold` metres; ends on
        the best allocation seen at its pace checks (every 256 steps) or the last, if better."""
        from coop_tender.allocation.solve import Solution

        rng = random.Random(seed)
        self.movable = self.movable_sites()
        self.lend_slots = [key for key, ps in self.lenders.items() if len(ps) > 1]
        if not self.movable and not self.lend_slots:
            return
        start = time.perf_counter()
        span = max(deadline - start, 1e-6)
        # The best state is copied at the pace checks only (owners and lent hours, not the whole
        # solution): copying every new best cost 90 % of the steps on 5 200 sites.
        best, kept = self.travel, (dict(self.owner), dict(self.lend))
        temperature, steps = hot, 0
        while True:
            steps += 1
            if steps % 256 == 0:
                if self.travel < best:
                    best, kept = self.travel, (dict(self.owner), dict(self.lend))
                now = time.perf_counter()
                if now >= deadline:
                    break
                if steps == 2048 and steps * span < MIN_STEPS_PER_SITE * len(self.movable) * (
                    now - start
                ):
                    break  # too few steps for this many sites: the time is better used elsewhere
                progress = (now - start) / span
                temperature = hot * (cold / hot) ** progress
            if self.lend_slots and (not self.movable or rng.random() < LEND_STEP_SHARE):
                self.random_lend_step(rng)
            else:
                self.random_step(rng, temperature)
        if self.travel > best:
            self.load(self._solution_of(*kept, Solution))


def _sum_period(delta: dict, p: int, t: int) -> int:
    return sum(v for (pp, _k, tt), v in delta.items() if pp == p and tt == t)


def _sum_pair(delta: dict, p: int, k: int) -> int:
    return sum(v for (pp, kk, _t), v in delta.items() if pp == p and kk == k)


def improve_travel(b: Built, sol, deadline: float):
    """Local search on travel (see module docstring): a descent to a local optimum first,
    annealing from it with the time left, a last descent; returns a solution of the same type.

    Descending first matters on large tenders, where annealing gets few steps per site (×80,
    10 400 sites, 2.75 s from 67 488 km: annealing then descending 62 748–62 937 km, descending
    alone 44 617 km); on the seed the descent takes 0.04 s."""
    search = TravelSearch(b, sol)
    search.descend(deadline)
    now = time.perf_counter()
    search.anneal(now + ANNEAL_SHARE * (deadline - now))
    search.descend(deadline)
    return search.solution(type(sol))


def polish_fairness(b: Built, sol, deadline: float):
    """Lower the worst turnover excess by site moves, swaps and chains: for each co-contractor
    at the worst excess, the exchange with partners that brings it strictly below it while
    every member it touches stays below (lent hours following, all rules kept), shortest travel
    first; repeated until one of them has none left, or `deadline`. Cheap (milliseconds on
    the seed case), and exact to the cent where CP-SAT's neighbourhoods stall on a subset sum.
    Returns a solution of the same type (the same one if nothing improved)."""
    search = TravelSearch(b, sol)
    w, covered = b.fair, sum(search.value)
    improved = False
    while time.perf_counter() < deadline:
        gaps = w.gaps(search.value, covered)
        target = max(gaps) - 1
        if target < 0:
            break
        search.low, search.high = w.bounds_at(target, covered)
        stuck = False
        for k in (k for k, g in enumerate(gaps) if g > target):
            if search.low[k] <= search.value[k] <= search.high[k]:
                continue  # brought inside by an earlier exchange of this round
            best = None
            for n, moves in enumerate(_exchanges(search, k)):
                if n % 1024 == 1023 and time.perf_counter() > deadline:
                    break  # chains grow with the square of a member's partners and sites
                change = sum(b.dist[(i, dst)] - b.dist[(i, src)] for i, src, dst in moves)
                if best is not None and change >= best[0]:
                    continue
                plan = search.plan(moves)
                if plan is not None:
                    best = (change, moves, plan)
            if best is None:
                stuck = True
                break
            search.apply(best[1], *best[2])
            improved = True
        if stuck:
            break
    return search.solution(type(sol)) if improved else sol


def _exchanges(search: TravelSearch, k: int):
    """Site moves that bring k inside its window: a site out of or into k, a swap of a site of
    k with one of a partner, or a chain (a site of k to c, a site of e to k), as lists of
    (item, from, to); filtered on k's new value (the cheap part of a plan)."""
    pinned, dist, values = search.pinned, search.dist, search.d.values
    value, low, high = search.value[k], search.low[k], search.high[k]
    partners = [c for c in search.partner_list[k] if c != k]
    mine = {
        c: [i for i in search.items_of[k] if i not in pinned and (i, c) in dist] for c in partners
    }
    theirs = {
        c: [j for j in search.items_of[c] if j not in pinned and (j, k) in dist] for c in partners
    }
    for c in partners:
        for i in mine[c]:
            if low <= value - values[i] <= high:
                yield [(i, k, c)]
        for j in theirs[c]:
            if low <= value + values[j] <= high:
                yield [(j, c, k)]
    for c in partners:
        for e in partners:
            for i in mine[c]:
                for j in theirs[e]:
                    if low <= value - values[i] + values[j] <= high:
                        yield [(i, k, c), (j, e, k)]
