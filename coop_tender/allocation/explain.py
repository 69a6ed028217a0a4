"""French explanations: why items stay unassigned, and which rules make a tender infeasible.

Unassigned items are grouped by (territory, period) with the hours of work and the hours the
members covering them declared, then each global rule is lifted in turn (the solution in hand
as a hint) to see whether it is the one that blocks coverage, and by how much. An infeasible
tender gets a core of rule groups: each group alone first, then CP-SAT assumptions (a core, not
a minimal one), then removal tests with the literals fixed, which make it minimal when they
all finish. The social clause's sentence says how many insertion hours the other rules allow,
exactly when proven, else the proven bound and the best found.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from ortools.sat.python import cp_model

from coop_tender.allocation.hint import covered_of
from coop_tender.allocation.model import (
    COMPANY_KINDS,
    SCALE,
    Built,
    Data,
    build_model,
    insertion_expr,
    scaled_floor,
    whole_share_hours,
)
from coop_tender.allocation.relaxation import lp_ceiling
from coop_tender.models import MemberKind, Problem
from coop_tender.money import NNBSP, format_euros, from_cents, to_cents

if TYPE_CHECKING:
    from coop_tender.allocation.solve import Solution

RULE_LABELS = {
    "capacity": "les capacités déclarées par les cotraitants (règle 3)",
    "provider_capacity": "les capacités des prestataires (règle 4)",
    "provider_share": "la part maximale des heures prêtées à un cotraitant (règle 4)",
    "ai_480": "la règle des 480 heures par salarié d'AI et par entreprise (règle 5)",
    "dependency": "le plafond de dépendance économique (règle 6)",
    "social_clause": "la clause sociale (règle 7)",
    "min_provider_share": "la part minimale des heures confiées aux prestataires (règle 8)",
}


def rule_label(name: str) -> str:
    """A rule group's name in French (pins are named by their site and member)."""
    if name.startswith("pin:"):
        _, item, member = name.split(":", 2)
        return f"la réservation du site {item} à {member} (règle 1)"
    return RULE_LABELS.get(name, name)


# --------------------------------------------------------------------------- French figures


def fmt_int(n: float) -> str:
    """`5400` → `5 400` (narrow no-break space between thousands)."""
    text = f"{round(n):,}".replace(",", NNBSP)
    return text


def fmt_h(n: float) -> str:
    return f"{fmt_int(n)}\xa0h"


def fmt_pct(x: float) -> str:
    return f"{x * 100:.1f}".replace(".", ",") + "\xa0%"


def fmt_eur_cents(cents: int) -> str:
    return format_euros(from_cents(cents))


def territory_name(problem: Problem, territory: str) -> str:
    names = {t.id: t.name for t in problem.tender.territories}
    return names.get(territory, territory)


def period_label(problem: Problem, period: str) -> str:
    labels = {p.id: p.label for p in problem.tender.periods}
    return labels.get(period) or period


# --------------------------------------------------------------------------- partial coverage

# The global rule groups lifted one at a time to see which ones block coverage (rule 7 is not
# lifted: it can only ask for more sites, never forbid one).
LIFTED_GROUPS = (
    "capacity",
    "provider_capacity",
    "provider_share",
    "ai_480",
    "dependency",
    "min_provider_share",
)
LATER_SHARE = 1 / 3  # of the lifting time, for the groups that block no single move
MIN_TEST_SECONDS = 0.05  # below this, a CP-SAT solve cannot even finish its presolve


def _group_sentence(
    data: Data,
    territory: str,
    t: int,
    unassigned: list[int],
    taken: dict[int, int],
    lent: dict[tuple[int, int, int], int],
) -> str:
    """One (territory, period) group: work hours, declared hours, and per-item static reasons.

    A co-contractor declares its hours per period, not per territory, and the sites it gets
    count the hours lent to it as well as its own: so its sites elsewhere may exceed what it
    declared. The sentence therefore gives, as a part of the declared hours, the own hours
    still free (declared − own hours used, own = site hours − hours received), and the sites
    elsewhere separately, saying that lent hours are included.
    """
    problem, period = data.problem, data.periods[t]
    work = [
        i for i, it in enumerate(data.items) if it.territory == territory and it.period == period
    ]
    hours = sum(data.items[i].hours for i in work)
    trades = {data.items[i].trade for i in work}
    cocs = [
        k for k, m in enumerate(data.cocs) if territory in m.territories and trades & set(m.trades)
    ]
    declared = sum(data.cap[(k, t)] for k in cocs)
    members = set(cocs)
    elsewhere = sum(
        data.items[i].hours
        for i, k in taken.items()
        if k in members and data.items[i].period == period and data.items[i].territory != territory
    )
    site_hours: dict[int, int] = defaultdict(int)
    for i, k in taken.items():
        if data.items[i].period == period:
            site_hours[k] += data.items[i].hours
    received: dict[int, int] = defaultdict(int)
    lent_by: dict[int, int] = defaultdict(int)
    for (p, k, tt), h in lent.items():
        if tt == t:
            received[k] += h
            lent_by[p] += h
    free_own = sum(max(data.cap[(k, t)] - (site_hours[k] - received[k]), 0) for k in cocs)
    provs = [p for p, m in enumerate(data.provs) if territory in m.territories]
    lendable = sum(data.pcap[(p, t)] for p in provs)
    free_lendable = sum(max(data.pcap[(p, t)] - lent_by[p], 0) for p in provs)
    missing_h = sum(data.items[i].hours for i in unassigned)
    missing_v = sum(data.values[i] for i in unassigned)
    head = (
        f"{territory_name(problem, territory)}, {period_label(problem, period)} : "
        f"{fmt_h(hours)} de travaux, {fmt_h(declared)} déclarées pour cette période par les "
        f"{len(cocs)} cotraitant(s) couvrant ce territoire avec ces métiers, dont "
        f"{fmt_h(free_own)} encore libres"
    )
    if elsewhere:
        head += (
            f" (ils ont par ailleurs {fmt_h(elsewhere)} de sites dans d'autres territoires, "
            "heures prêtées par les prestataires comprises)"
        )
    if provs:
        head += f", et {fmt_h(lendable)} par les {len(provs)} prestataire(s) du territoire"
    head += (
        f" ; {len(unassigned)} site(s) non attribué(s) ({fmt_h(missing_h)}, "
        f"{fmt_eur_cents(missing_v)})"
    )
    static = [i for i in unassigned if i in data.no_member_reason]
    if static:
        reasons: dict[str, list[str]] = defaultdict(list)
        for i in static:
            reasons[data.no_member_reason[i]].append(data.items[i].id)
        parts = [
            f"{', '.join(ids[:8])}{' …' if len(ids) > 8 else ''} : {why}"
            for why, ids in reasons.items()
        ]
        head += " — " + " ; ".join(parts)
    others = len(unassigned) - len(static)
    if others:
        if free_own + free_lendable < missing_h:
            head += (
                f" — {others} site(s) faute de capacité : les heures propres encore libres et "
                "les heures prêtables restantes ne suffisent pas"
            )
        else:
            head += f" — {others} site(s) bloqué(s) par les règles globales ci-dessous"
    return head + "."


def _active_rules(b: Built) -> set[str]:
    """The rule groups whose literal enforces at least one constraint of the model.

    A group whose policy knob is off (say `max_provider_share: null`) still has a literal but
    constrains nothing: lifting it changes nothing and it can never be part of a minimal core,
    so the diagnoses skip it instead of spending a solve on it.
    """
    used: set[int] = set()
    for c in b.model.proto.constraints:
        used.update(lit if lit >= 0 else -lit - 1 for lit in c.enforcement_literal)
    return {name for name, lit in b.rules.items() if lit.index in used}


def _hint_lifted(b: Built, solution: Solution, lifted: str) -> None:
    """Hint `solution` to a solve where only `lifted` is off: it stays valid there (its rule
    literal hinted false, in line with its domain)."""
    from coop_tender.allocation.solve import hint

    hint(b, solution, frozenset({lifted}))


def _relaxation_sentences(
    problem: Problem, data: Data, solution: Solution, deadline: float, workers: int
) -> list[str]:
    """Lift each global rule in turn: the ones whose removal raises coverage are blocking.

    The model is built once and each group's literal fixed off in turn (the others on). The
    solution in hand stays valid when a rule is lifted, so it is given as a hint: the solver
    starts from the current coverage and any gain it reports is real even after a short solve.
    The gain is exact when the solve is optimal; otherwise it is "at least" the gain found and
    "at most" the proven bound minus the current coverage. A group whose gain could be neither
    found nor ruled out in the time is named in one closing sentence instead of being dropped
    silently.
    """
    started = time.perf_counter()
    b = build_model(problem, data)
    build = time.perf_counter() - started
    # Leave the report's own building time and a solve's overshoot: on 5 200 sites (0.8 s to
    # build the model), 0.12 s for the report, and one run of four ended 0.2 s past the limit.
    end = deadline - 2 * build - MIN_TEST_SECONDS
    active = _active_rules(b)
    blocking = _single_move_blocks(b, solution)
    # Groups that stop some unassigned site from being added to some eligible member come
    # first and share most of the time; the others (which can only block through combined
    # moves) share the rest.
    first = [g for g in LIFTED_GROUPS if g in active and blocking.get(g)]
    later = [g for g in LIFTED_GROUPS if g in active and not blocking.get(g)]
    covered = covered_of(data, solution.x)
    out: list[str] = []
    unknown: list[str] = []
    reserve = LATER_SHARE * (end - time.perf_counter()) if first and later else 0.0
    for n, group in enumerate(first + later):
        if n < len(first):
            budget = (end - reserve - time.perf_counter()) / (len(first) - n)
        else:
            budget = (end - time.perf_counter()) / (len(first) + len(later) - n)
        if budget < MIN_TEST_SECONDS:
            unknown.append(group)
            continue
        gain = _lifted_gain(b, solution, group, covered, budget, workers)
        if gain is None:
            unknown.append(group)
            continue
        found, most = gain
        if most <= 0:
            continue  # proven: lifting this rule covers nothing more
        if found == 0:
            unknown.append(group)
        elif found == most:
            out.append(
                f"Sans {RULE_LABELS[group]}, {fmt_eur_cents(found)} de travaux de plus "
                "seraient couverts : c'est une règle qui bloque."
            )
        else:
            out.append(
                f"Sans {RULE_LABELS[group]}, au moins {fmt_eur_cents(found)} de travaux de plus "
                f"seraient couverts (au plus {fmt_eur_cents(most)}) : c'est une règle qui bloque."
            )
    return out + _out_of_time(unknown)


def _out_of_time(unknown: list[str]) -> list[str]:
    """The closing sentence naming the rule groups whose lifting could not be measured."""
    if not unknown:
        return []
    return [
        "Le temps a manqué pour mesurer ce que couvrirait la levée de chacune de ces règles : "
        + " ; ".join(RULE_LABELS[g] for g in unknown)
        + " (relancez avec un temps plus long, --time-limit)."
    ]


def _lifted_gain(
    b: Built, solution: Solution, group: str, covered: int, seconds: float, workers: int
) -> tuple[int, int] | None:
    """Cents of coverage gained by lifting `group`: (found, proven at most); None if unknown."""
    from coop_tender.allocation.solve import fix_rules, new_solver

    fix_rules(b, {g: g != group for g in b.rules})
    b.model.clear_assumptions()
    b.model.maximize(b.covered)
    _hint_lifted(b, solution, group)
    solver = new_solver(seconds, workers)
    code = solver.solve(b.model)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    found = max(round(solver.objective_value) - covered, 0)
    if code == cp_model.OPTIMAL:
        return found, found
    return found, max(math.floor(solver.best_objective_bound + 1e-6) - covered, found)


def _single_move_blocks(b: Built, solution: Solution) -> dict[str, int]:
    """Per rule group, how many single moves (one unassigned site to one eligible member)
    would break one of its constraints at the solution in hand.

    Read from the model itself (each enforced linear row's activity and the move's
    coefficient), so it follows the rules as model.py writes them. Only an ordering
    heuristic for the lifting tests: a group that blocks no single move may still block a
    combination of moves.
    """
    from coop_tender.allocation.solve import derived_hints

    value: dict[int, int] = {v.index: solution.x.get(key, 0) for key, v in b.x.items()}
    value.update((v.index, solution.lend.get(key, 0)) for key, v in b.lend.items())
    value.update(derived_hints(b, solution))
    taken = {i for (i, _k), v in solution.x.items() if v}
    moves = {v.index for (i, _k), v in b.x.items() if i not in taken}
    group_of = {lit.index: name for name, lit in b.rules.items()}
    blocks: dict[str, int] = defaultdict(int)
    for c in b.model.proto.constraints:
        groups = {group_of.get(lit) for lit in c.enforcement_literal} - {None}
        if not groups or not c.has_linear():
            continue
        row = c.linear
        activity = sum(
            coef * value.get(var, 0) for var, coef in zip(row.vars, row.coeffs, strict=True)
        )
        lo, hi = row.domain[0], row.domain[len(row.domain) - 1]  # proto fields take no index -1
        broken = sum(
            1
            for var, coef in zip(row.vars, row.coeffs, strict=True)
            if var in moves and not lo <= activity + coef <= hi
        )
        for g in groups:
            blocks[g] += broken
    return blocks


def _no_lender_sentence(data: Data) -> list[str]:
    """The cause, first, when rule 8 asks for lent hours that no provider can lend: then no
    site at all can be assigned (the one sentence a coordinator needs before the details)."""
    share = data.problem.policy.min_provider_share
    if not share or data.lend_pairs:  # lend_pairs: shared territory, hours declared, sites
        return []
    why = (
        "le groupement n'en compte aucun"
        if not data.provs
        else "aucun n'a déclaré d'heures pour un territoire et une période où un cotraitant "
        "a des sites à prendre"
    )
    return [
        f"Aucun prestataire (AI, ETTI) ne peut prêter d'heures : {why}. Or au moins "
        f"{fmt_pct(share)} des heures attribuées doivent être prêtées par eux (règle 8) : "
        "aucun site ne peut donc être attribué. Ajoutez un prestataire au groupement ou "
        "ramenez cette part minimale (min_provider_share) à 0."
    ]


def equal_shares_sentence(data: Data) -> list[str]:
    """When rule 4's maximum and rule 8's minimum provider shares are equal, each co-contractor
    must receive exactly that share of its hours in each period, in whole hours: its site hours
    must then be a multiple of a number (10 h for 10 %), which a coordinator cannot guess from
    the two figures and which may leave sites out (hint._clear_residues)."""
    policy = data.problem.policy
    low, high = policy.min_provider_share, policy.max_provider_share
    if not low or low != high or not data.provs:
        return []
    step = whole_share_hours(scaled_floor(low))
    if step == 1:
        return []
    return [
        f"Les parts minimale (règle 8) et maximale (règle 4) des heures prêtées sont égales "
        f"({fmt_pct(low)}) : chaque cotraitant doit recevoir exactement {fmt_pct(low)} de ses "
        "heures à chaque période, en heures entières ; ses heures de sites doivent donc faire un "
        f"multiple de {step} h par période, ce qui peut laisser des sites de côté. Une part "
        "maximale un peu plus haute que la minimale lève cette contrainte."
    ]


def explain_partial(
    problem: Problem,
    data: Data,
    solution: Solution,
    deadline: float,
    workers: int,
    build_seconds: float = 0.0,
    built: Built | None = None,
) -> list[str]:
    """Sentences for items left unassigned, grouped by (territory, period); empty if all covered.
    `built` (the solve's model, built in `build_seconds`) lets the lifting tests be skipped,
    and named, when there is no time to build their own model."""
    taken = {i: k for (i, k), v in solution.x.items() if v}
    lent = {key: h for key, h in solution.lend.items() if h}
    assigned = set(taken)
    unassigned = [i for i in range(len(data.items)) if i not in assigned]
    if not unassigned:
        return []
    tidx = {p: t for t, p in enumerate(data.periods)}
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i in unassigned:
        it = data.items[i]
        groups[(it.territory, tidx[it.period])].append(i)
    total = sum(data.values[i] for i in unassigned)
    out = [
        f"{len(unassigned)} site(s) sur {len(data.items)} restent non attribués "
        f"({fmt_eur_cents(total)}) :"
    ]
    out += _no_lender_sentence(data)
    out += equal_shares_sentence(data)
    out += [
        _group_sentence(data, terr, t, its, taken, lent)
        for (terr, t), its in sorted(groups.items())
    ]
    if any(i not in data.no_member_reason for i in unassigned):
        # The tests build their own model, then keep twice its build time before the deadline.
        if (
            built is not None
            and deadline - time.perf_counter() < 3 * build_seconds + MIN_TEST_SECONDS
        ):
            out += _out_of_time([g for g in LIFTED_GROUPS if g in _active_rules(built)])
        else:
            out += _relaxation_sentences(problem, data, solution, deadline, workers)
    return out


# --------------------------------------------------------------------------- infeasibility

SINGLE_SHARE = {"social_clause": 0.25}  # of the time left, per singleton test (others: 0.05)
SINGLE_SHARE_OTHER = 0.05
ASSUMPTION_SHARE = 0.1  # of the time left, for the one-worker assumption solve
CORE_SHARE = 0.75  # of the explanation's time, for the core (the rest: the rules' figures)
FIRST_PASS_SHARE = 0.5  # the deletion filter's first pass: half the time, spread over the tests
MARGIN_SECONDS = 0.05  # kept before the deadline for writing the answer


def _solve_fixed(b: Built, on: set[str], seconds: float, workers: int) -> int:
    """Feasibility solve with the literals of `on` fixed true and all others fixed false.

    Fixed literals (unlike assumptions) let presolve remove the lifted rules' constraints and
    propagate the others fully, and no core is read, so several workers may run.
    """
    from coop_tender.allocation.solve import fix_rules, new_solver

    started = time.perf_counter()
    if "social_clause" in on and _clause_beyond_lp(b, on, LP_TEST_SHARE * seconds):
        return cp_model.INFEASIBLE
    fix_rules(b, {n: n in on for n in b.rules})
    b.model.clear_objective()
    b.model.clear_hints()
    b.model.clear_assumptions()
    return new_solver(seconds - (time.perf_counter() - started), workers).solve(b.model)


LP_TEST_SHARE = 0.3
"""Of a removal test's time, at most this for the LP ceiling that may settle it at once."""


def _clause_beyond_lp(b: Built, on: set[str], seconds: float) -> bool:
    """Whether the LP relaxation proves the social clause out of reach under the other rules
    of `on` (its ceiling of insertion hours below the clause): then `on` cannot hold."""
    from coop_tender.allocation.solve import fix_rules

    fix_rules(b, {n: n in on and n != "social_clause" for n in b.rules})
    b.model.clear_hints()
    b.model.clear_assumptions()
    b.model.maximize(insertion_expr(b))
    ceiling = lp_ceiling(b, seconds)
    b.model.clear_objective()
    return ceiling is not None and ceiling < b.data.problem.tender.insertion_hours_min * SCALE


def _solve_with(b: Built, names: list[str], seconds: float) -> tuple[int, list[str]]:
    """Feasibility solve assuming the rule literals in `names` (others free); returns the core.

    CP-SAT's `sufficient_assumptions_for_infeasibility` is a core, not a minimal one: the
    deletion filter (`_deletion_filter`) is what checks minimality.
    """
    from coop_tender.allocation.solve import free_rules, new_solver

    free_rules(b)
    b.model.clear_objective()
    b.model.clear_hints()
    b.model.clear_assumptions()
    b.model.add_assumptions([b.rules[n] for n in names])
    solver = new_solver(seconds, 1)  # cores need a single worker
    code = solver.solve(b.model)
    b.model.clear_assumptions()
    core: list[str] = []
    if code == cp_model.INFEASIBLE:
        found = set(solver.sufficient_assumptions_for_infeasibility())
        core = [n for n in names if b.rules[n].index in found]
    return code, core


def _deletion_filter(
    b: Built, start: list[str], deadline: float, workers: int
) -> tuple[list[str], bool]:
    """Shrink the infeasible set `start` to a minimal core by removal tests (literals fixed).

    Each test fixes the set without a candidate on and everything else off: infeasible, the
    candidate goes; feasible, it is needed (and stays needed as the set shrinks, since fewer
    rules are easier to hold). Pins are tested as one block first, split in halves only when
    a block is needed, so that many pins cost O(needed × log pins) tests. A test that times out
    is retried in a later pass with the time left, on what is then a smaller set (removal
    tests that end "feasible" are the hard ones while the set is large). Minimal (second
    value) when every member of the result had a test that ended "feasible".
    """
    core = list(start)
    blocks = [[n] for n in core if not n.startswith("pin:")]
    pins = [n for n in core if n.startswith("pin:")]
    if pins:
        blocks.append(pins)
    first = True
    while blocks:
        left = deadline - time.perf_counter()
        if left < MIN_TEST_SECONDS:
            break
        tests = sum(len(block) for block in blocks)
        per_test = left * (FIRST_PASS_SHARE if first else 1.0) / tests
        per_test = max(per_test, MIN_TEST_SECONDS)
        first = False
        retry: list[list[str]] = []
        stack = list(reversed(blocks))
        while stack:
            block = stack.pop()
            left = deadline - time.perf_counter()
            if left < MIN_TEST_SECONDS:
                retry.append(block)
                retry += list(reversed(stack))
                break
            trial = [n for n in core if n not in block]
            if not trial:  # no rule at all: assigning nothing is a solution
                code = cp_model.OPTIMAL
            else:
                code = _solve_fixed(b, set(trial), min(per_test, left), workers)
            if code == cp_model.INFEASIBLE:
                core = trial
            elif len(block) > 1:
                half = len(block) // 2
                stack += [block[half:], block[:half]]
            elif code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                retry.append(block)
        blocks = retry
    return core, not blocks


def minimal_core(b: Built, deadline: float, workers: int = 2) -> tuple[list[str], bool]:
    """A core of rule groups, minimal when every removal test finished (second value).

    Called once the full model is proven infeasible (the coverage stage). In order:
    1. each rule group alone (its literal fixed on, all others off): an infeasible singleton
       is a minimal core, and a fixed literal lets presolve work fully where assumptions do
       not (a 99 % social clause on 120 sites: 0.04 s fixed, > 24 s assumed). Pins are not
       tested alone: `prepare` already rejects a pin that cannot hold by itself;
    2. CP-SAT assumptions (one worker, as cores require), a short try: on small tenders it
       gives a small core at once;
    3. a deletion filter with fixed literals from that core (or from all groups) for the rest.
    Groups that constrain nothing (`_active_rules`) are left out from the start.
    """
    active = _active_rules(b)
    names = [n for n in b.rules if n in active]
    singles = sorted(
        (n for n in names if not n.startswith("pin:")), key=lambda n: n not in SINGLE_SHARE
    )
    for name in singles:
        left = deadline - time.perf_counter()
        if left < MIN_TEST_SECONDS:
            return names, False
        share = SINGLE_SHARE.get(name, SINGLE_SHARE_OTHER)
        if _solve_fixed(b, {name}, max(left * share, MIN_TEST_SECONDS), workers) == (
            cp_model.INFEASIBLE
        ):
            return [name], True
    start = names
    left = deadline - time.perf_counter()
    if left >= 2 * MIN_TEST_SECONDS and len(names) > 1:
        code, core = _solve_with(b, names, max(left * ASSUMPTION_SHARE, MIN_TEST_SECONDS))
        if code == cp_model.INFEASIBLE and core:
            start = core
    return _deletion_filter(b, start, deadline, workers)


@dataclass
class Reach:
    """The most insertion hours the other rules allow, as far as it could be proven.

    `bound` is a proven upper bound and `best` the best solution found (both × SCALE, rates
    rounded down as in the model); equal when proven optimal. `scope` says which rules held:
    "all" (every rule but the clause) or "core" (only the other rules of the core, when the
    rules without the clause cannot hold together either).
    """

    scope: str
    bound: int
    best: int

    @property
    def proven(self) -> bool:
        return self.bound == self.best


def _maximize_insertion(b: Built, on: set[str], seconds: float, workers: int) -> Reach | None:
    """Maximise insertion hours with the rules of `on` fixed on; None when nothing was found."""
    from coop_tender.allocation.solve import fix_rules, new_solver

    fix_rules(b, {n: n in on for n in b.rules})
    b.model.clear_assumptions()
    b.model.clear_hints()
    b.model.maximize(insertion_expr(b))
    started = time.perf_counter()
    ceiling = lp_ceiling(b, LP_REACH_SHARE * seconds)  # often tighter than CP-SAT's, at once
    solver = new_solver(seconds - (time.perf_counter() - started), workers)
    code = solver.solve(b.model)
    if code == cp_model.OPTIMAL:
        best = round(solver.objective_value)
        return Reach("", best, best)
    if code == cp_model.FEASIBLE:
        best = round(solver.objective_value)
        bound = math.floor(solver.best_objective_bound + 1e-6)
        if ceiling is not None:
            bound = min(bound, ceiling)
        return Reach("", max(bound, best), best)
    return None


LP_REACH_SHARE = 0.2
"""Of a reach test's time, at most this for the LP relaxation's ceiling (a 150-site tender:
CP-SAT's bound 36 682 h after 1 s, the LP's below the clause's 34 504 h in milliseconds)."""


def _max_insertion(b: Built, core: list[str], deadline: float, workers: int = 2) -> Reach | None:
    """The most insertion hours reachable under the other rules, with the time left.

    First under every other rule (what a coordinator means by "the other rules"); if those
    cannot hold together without the clause (or nothing is found in three quarters of the
    time), under the other rules of the core, which hold together since the core is minimal.
    Exact when CP-SAT proves the optimum; otherwise the proven bound and the best found.
    """
    others = {n for n in b.rules if n != "social_clause"}
    left = deadline - time.perf_counter()
    if left < MIN_TEST_SECONDS:
        return None
    reach = _maximize_insertion(b, others, left * 0.75, workers)
    if reach is not None:
        reach.scope = "all"
        return reach
    left = deadline - time.perf_counter()
    if left < MIN_TEST_SECONDS:
        return None
    reach = _maximize_insertion(b, set(core) - {"social_clause"}, left, workers)
    if reach is not None:
        reach.scope = "core"
    return reach


def fmt_scaled_h(value: int, up: bool, below: int | None = None) -> str:
    """Hours × SCALE in French, to the hundredth, rounded up (`up`) or down; whole hours plain.

    Rounding a bound up and a reached value down keeps both true. When `below` (hours × SCALE)
    is given and the value is under it, more decimals are shown until the figure stays under
    it too (never "au plus 12 h" for 11,999 h when 12 h are required).
    """
    for digits in (2, 3, 4, 5, 6):
        step = SCALE // 10**digits
        units = -(-value // step) if up else value // step
        if below is None or value >= below or units * step < below:
            break
    if units % 10**digits == 0:
        return fmt_h(units // 10**digits)
    whole, frac = divmod(units, 10**digits)
    text = f"{fmt_int(whole)},{frac:0{digits}d}".rstrip("0")
    return f"{text}\xa0h"


def _reach_text(reach: Reach | None, required: int) -> str:
    """The clause sentence's reach clause: exact, or the proven bound and the best found."""
    if reach is None:
        return (
            " ; le temps a manqué pour calculer combien d'heures d'insertion les autres règles "
            "permettent d'atteindre"
        )
    under = (
        "en respectant toutes les autres règles"
        if reach.scope == "all"
        else "avec les autres règles de cet ensemble"
    )
    bound = fmt_scaled_h(reach.bound, up=True, below=required * SCALE)
    if reach.proven and reach.best == 0:
        return f" ; aucune heure d'insertion n'est atteignable {under}"
    if reach.proven:
        return f" ; au plus {bound} sont atteignables {under}"
    best = fmt_scaled_h(reach.best, up=False)
    return (
        f" ; {under}, au plus {bound} sont atteignables (borne prouvée), et la meilleure "
        f"répartition trouvée dans le temps en atteint {best}"
    )


def rule_sentence(
    name: str, data: Data, b: Built, core: list[str], deadline: float, workers: int = 2
) -> str:
    """One rule group of a core, in plain French with its figures (the clause's reach is
    computed with the time left before `deadline`)."""
    problem, policy = data.problem, data.problem.policy
    total_h = sum(it.hours for it in data.items)
    if name.startswith("pin:"):
        _, item_id, member_id = name.split(":", 2)
        i = next(k for k, it in enumerate(data.items) if it.id == item_id)
        k = next(k for k, m in enumerate(data.cocs) if m.id == member_id)
        it, m = data.items[i], data.cocs[k]
        t = data.periods.index(it.period)
        pinned_h = sum(
            data.items[j].hours
            for j, kk in data.pins
            if kk == k and data.items[j].period == it.period
        )
        return (
            f"Le site {it.id} ({fmt_h(it.hours)}, {fmt_eur_cents(data.values[i])}) est réservé à "
            f"{m.name} (pins), qui a déclaré {fmt_h(data.cap[(k, t)])} pour "
            f"{period_label(problem, it.period)} ({fmt_h(pinned_h)} de sites réservés à ce "
            f"membre sur cette période) et un chiffre d'affaires de "
            f"{format_euros(m.annual_turnover)}."
        )
    if name == "social_clause":
        required = problem.tender.insertion_hours_min
        reach = _reach_text(_max_insertion(b, core, deadline, workers), required)
        return (
            f"La clause sociale exige {fmt_h(required)} d'insertion (règle 7){reach} "
            f"({fmt_h(total_h)} de travaux au total)."
        )
    if name == "capacity":
        declared = sum(data.cap.values())
        return (
            f"Les cotraitants ont déclaré {fmt_h(declared)} au total pour {fmt_h(total_h)} "
            "de travaux (règle 3)."
        )
    if name == "provider_capacity":
        return (
            f"Les prestataires ont déclaré {fmt_h(sum(data.pcap.values()))} à prêter au total "
            "(règle 4)."
        )
    if name == "provider_share":
        return (
            f"Au plus {fmt_pct(policy.max_provider_share or 0)} des heures d'un cotraitant "
            "peuvent lui être prêtées par les prestataires (règle 4)."
        )
    if name == "ai_480":
        ais = [p for p in data.provs if p.kind is MemberKind.AI]
        companies = [m for m in data.cocs if m.kind in COMPANY_KINDS]
        return (
            f"Une AI ne met pas plus de {fmt_h(policy.ai_max_hours_per_worker or 0)} par salarié "
            f"à disposition d'une même entreprise (règle 5) : {len(ais)} AI, "
            f"{sum(p.workers for p in ais)} salariés, {len(companies)} cotraitants concernés."
        )
    if name == "dependency":
        dep = policy.max_dependency or 0
        caps = sum(int(Decimal(str(dep)) * to_cents(m.annual_turnover)) for m in data.cocs)
        return (
            f"Aucun membre ne doit tirer plus de {fmt_pct(dep)} de son chiffre d'affaires de ce "
            f"marché (règle 6) : les cotraitants peuvent recevoir au plus {fmt_eur_cents(caps)} "
            f"ensemble, pour {fmt_eur_cents(sum(data.values))} de travaux."
        )
    if name == "min_provider_share":
        return (
            f"Au moins {fmt_pct(policy.min_provider_share or 0)} des heures attribuées doivent "
            f"être prêtées par les prestataires (règle 8), qui ont déclaré "
            f"{fmt_h(sum(data.pcap.values()))} pour {len(data.provs)} prestataire(s)."
        )
    return name


def explain_infeasible(problem: Problem, data: Data, deadline: float, workers: int) -> list[str]:
    """Name a minimal set of rules that cannot hold together, with figures.

    Three quarters of the time left go to the core when the social clause is in play (its
    reach figure needs a solve of its own), all of it otherwise; whatever the core leaves
    goes to the figures. Everything ends a little before `deadline`.
    """
    started = time.perf_counter()
    b = build_model(problem, data)
    end = deadline - MARGIN_SECONDS - (time.perf_counter() - started)
    core_end = end
    if "social_clause" in _active_rules(b):
        core_end = time.perf_counter() + CORE_SHARE * (end - time.perf_counter())
    core, minimal = minimal_core(b, core_end, workers)
    if not core:
        return [
            "Aucune répartition ne respecte toutes les règles, mais le temps a manqué pour "
            "isoler les règles en cause."
        ]
    labels = [rule_label(n) for n in core]
    qualifier = "" if minimal else " (ensemble peut-être non minimal, faute de temps)"
    out = [
        "Aucune répartition ne respecte toutes les règles. Ces règles ne peuvent pas être "
        f"tenues ensemble{qualifier} : " + " ; ".join(labels) + "."
    ]
    if minimal and len(core) > 1:
        out[0] += " Sans l'une d'elles, les autres pourraient l'être."
    out += [rule_sentence(n, data, b, core, end, workers) for n in core]
    if {"provider_share", "min_provider_share"} & set(core):
        out += equal_shares_sentence(data)
    return out
