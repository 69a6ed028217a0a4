"""The lexicographic solve: coverage, turnover fairness, provider fairness, travel, in turn.

Each stage optimises one objective, then fixes it at the value reached (exactly as proven, or
as found when the time ran out) before the next, with the previous solution as a hint. The
time limit bounds all stages together; each stage gets a share of what is left.
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from coop_tender.allocation.columns import travel_columns, travel_columns_by_region
from coop_tender.allocation.figures import (
    EXCESS_STAGES,
    STAGE_UNITS,
    amounts,
    coverage_ceiling,
    exact_stage,
    fairness_floor,
    model_value,
    must_cover,
    travel_floor,
    turnover_bands,
)
from coop_tender.allocation.lns import (
    components,
    improve,
    improve_by_territory,
    improve_fairness_by_group,
)
from coop_tender.allocation.local import improve_travel, polish_fairness
from coop_tender.allocation.model import SCALE, Built, Data, build_model, insertion_expr, prepare
from coop_tender.allocation.relaxation import lp_bound, lp_ceiling_and_values, lp_values
from coop_tender.allocation.tight import TIGHT_SHARE, improve_tight, reach_floor
from coop_tender.models import Allocation, Problem, Stage

STAGE_NAMES = ("coverage", "turnover_fairness", "provider_fairness", "travel")
SHARE_OF_REMAINING = {
    "coverage": 0.5,
    "turnover_fairness": 0.4,
    "provider_fairness": 0.35,
    "travel": 1.0,
}
"""Each stage may use this share of the time left; what a stage does not use flows on (a
coverage CP-SAT proves, as on the seed, ×10 and ×40, ends the stage at once). Coverage comes
first in the order, so a partial tender gives it half: tight10 (60 s), two runs each,
28 605 820 / 28 641 947 € with 0.3, 28 660 271 / 28 665 428 € with 0.5 (ceiling 28 722 818 €),
fairness 5 165–7 217 € against 5 777–6 662 €, travel 6 806–6 868 km against 7 062–7 130 km;
tight (10 s), three runs each: 2 869 310–2 869 583 € against 2 869 419–2 870 912 €."""
MIN_STAGE_SECONDS = 0.05
VERIFY_SECONDS_PER_PAIR = 1e-5
"""Time `verified` takes per eligible pair (measured: 0.67 s for 75 000 pairs, 0.37 s for
36 480, 0.01 s for 912): the searches stop that much earlier so that their checks fit."""
POLISH_SECONDS = 0.5
"""Time the fairness polish (local.polish_fairness) gets at the end of the stage's searches
(milliseconds on 130 sites; it checks the time, chains growing fast on large regions).
Measured, 10 s runs: tight 1 894 / 1 993 € against 5 319 /
6 543 € without it; seed unchanged (12 738.5–12 739.5 €). Run before the searches instead, it
sent them elsewhere and the seed ended 2 € worse."""
FIRST_POLISH_SHARE = 0.3
"""Most of the turnover-fairness searches given to the same polish before CP-SAT's
neighbourhoods too (it stops when a worst-off member has no exchange left: 0.5–0.7 s on
tight10's 1 300 sites), which then start lower. Measured (session 24): tight10 at 60 s, where
the neighbourhoods alone ended at 3 048–8 035 € (8 runs), 3 065–3 344 € (3 runs); tight at
10 s 3 057–3 114 € against 2 861–7 185 €; dense4 at 30 s 12 817–13 057 € against 13 155–
13 286 €; the seed unchanged (its floor is reached before)."""
FLOOR_SHARE = 0.8
"""Most of the turnover-fairness search (after the stage's main solve) given to
tight.reach_floor; it stops early when a knapsack or a sub-solve fails. Measured: run before
the main solve it saved ×10 8 s, but left the ×40 regions it had no time for at the coverage
stage's allocation (14 676 € against 12 769 €)."""
TRAVEL_ANNEAL_SHARE = 0.25
"""Share of the travel search (after its main solve) given to simulated annealing (local.py),
before the narrow-band members (tight.py) and the territory neighbourhoods: the regions'
pinned re-solves start from its answer (×10: 8 100 km after the main solve, ≈ 5 000 km after
the annealing). Annealing before the main solve instead: seed 385 km against 380 km."""
LARGE_ANNEAL_SHARE = 0.7
"""The local search's share on a large tender (over LARGE_PAIRS pairs) that is one region or
has over MANY_SITES sites. One region: the narrow-band members' re-solves cover many members at
once and stall (a 2 500-site tender: 2.7 s without gain after 1.1 s of annealing that took
20.6 → 15.7 M m). Many sites: on ×80 (10 400 sites, 60 s) they gained 1.2 k km of 62.3 k km in
7 s, where the descent alone takes 67.5 k km to 43.3 k km in 4.5 s; whole solves 47.9–49.0 k km
with TRAVEL_ANNEAL_SHARE, 43.8 k km with this; ×40 (120 s) 18.4 → 18.0 k km. Not on ×10 (1 300
sites, 60 s): 3 975–4 118 km against 3 899–3 984 km."""
MANY_SITES = 2_500
"""Sites above which a many-region tender gets LARGE_ANNEAL_SHARE (measured at 1 300 sites:
worse; 5 200 and 10 400: better)."""
MIN_ANNEAL_SECONDS = 0.5
"""Time left at the end of the travel search that goes back to the annealing."""
LNS_SHARE = {"coverage": 0.6, "turnover_fairness": 0.8, "travel": 0.8}
"""Share of a stage's time given to the member-neighbourhood search after the main solve (none
when the main solve proves its stage). Coverage, tight, three seeds of a 3-s stage: CP-SAT
alone 2 863 168–2 865 133 €; 1.2 s of CP-SAT then 1.8 s of member neighbourhoods
2 869 096–2 870 921 € (bound 2 872 282 €): on a partial tender, which sites fit in the short
capacity is a knapsack across a few members at a time."""
MIN_MAIN_SECONDS = 1.0
"""The coverage main solve gets at least this (or the whole stage if shorter) before its
neighbourhoods: a 12-site tender whose coverage CP-SAT proves in 0.78 s lost the proof in 40 %
of a 1-s stage, and every later stage with it (hypothesis, tests/allocation/test_local_search)."""
FEASIBILITY_SHARE = 0.5
"""Most of the time given to finding a first valid allocation when the greedy's is not."""
CLIMB_LP_SHARE = 0.3
"""Of the climb's time, at most this for the LP relaxation, solved once: its optimum may prove
the clause out of reach before any search (a 150-site tender at 3 s: CP-SAT's climb proved
nothing in 1.4 s, HiGHS's LP settled it in 0.02 s), and its values guide the climb's first
try (`_rounded_for_clause`)."""
CLIMB_SHARE = 0.8
"""Share of that time for climbing to the social clause first, when the greedy misses it (the
climb stops as soon as the clause is reached). Bench's tight with summer capacities at 50 %:
with 0.5, `unknown` at 10 s (×1) and 20 s (×3); with 0.8, allocated at both (×3: one run of
two)."""
CLIMB_MAIN_SHARE = 0.4
"""Of the climb, the share of CP-SAT's own search before member neighbourhoods take over (the
same tender: CP-SAT alone 43 527 h of the clause's 43 866 h in 8 s; 2.4 s of it then the
neighbourhoods, 43 879 h in 5.9 s)."""
CLIMB_EXTRA_SUBSOLVERS = ("max_lp",)
"""Added to CP-SAT's workers in the climb's own search up to LARGE_PAIRS pairs: insertion hours
are a linear objective the full LP with its cuts steers well. Sweep variant 76 (300 sites, 12
periods, a 35-% clause, pins, 3 s): allocated in 1 of 4 runs without it, 4 of 4 with it (2.57–
2.65 M€); the bench's tight with summer capacities at 50 %, 5 s, a coin flip either way (3 of 6
without, 2 of 6 with), 20 s on ×3 allocated in each run of both."""
NO_START_SHARE = 0.8
"""When that search found none either, the coverage stage gets this share of the time left,
all of it for its main solve (the rest: explaining an infeasibility it may prove). Measured on
a 260-site tender with a raised social clause (20-s limit): it used to end after 12 s, its
main solve given only 40 % of a 60-% stage, with "no allocation found, rerun longer"."""
LP_START_SHARE = 0.1
"""Of the whole solve's time, at most this for the coverage LP that `lp_rounding` rounds (CLP:
0.05 s on 130 sites, 0.8 s on tight10's 1 300)."""
LP_SHARE = 0.15
"""Most of the travel stage given to its LP relaxation (relaxation.py): 0.01 s on the seed,
0.2 s on ×10, 1.7 s on ×40 and 1.5 s on a 2 500-site tender, where CP-SAT reaches no bound of
its own in time."""
LP_SECONDS_PER_PAIR = 1.5e-5
"""The LP is left out when its share of the stage is below this per eligible pair (building
and loading it alone take 0.5 s for 75 000 pairs; solving 1–1.5 s more)."""
OPEN_COVERAGE_LNS_SHARE = 0.2
"""When coverage is not proven (it may still grow in later stages, see fix_stage), the travel
stage's main CP-SAT solve gets 80 % of the stage instead of 20 %: only it adds sites, the
searches move them between members. Measured on tight (10 s, six runs each, coverage and
fairness differing from run to run): 564–707 km (mean 650) against 610–721 km (mean 675) with
the searches' usual 80 %; a 30-s CP-SAT solve alone from a 10-s run's answer: 684 → 524 km with
coverage held at least at C, 670 → 655 km with it held exactly."""
COLUMN_SHARE = 0.7
COLUMN_SECONDS_PER_MEMBER = 0.25
"""The travel stage gives at most COLUMN_SHARE of its time to column generation (columns.py:
the bound, then the dive), first, when that share gives it COLUMN_SECONDS_PER_MEMBER per
co-contractor. Measured on the seed (14 members, 2 threads; session 23, 2026-12-07): the bound
converges at 374.33 km in 3.1–3.6 s (CP-SAT proves 365.45 km), the dive then takes 0.8–1.1 s.
Whole solves of the seed: at 10 s 377.63 km, bound 374.28 km (gap 0.89 %, three runs) against
379.5–381.7 km and 365.37 km without the column phase; at 8.5 s (the bound stopped unconverged
at 374.0 km) 376.26 km; at 15 s 377.63 against 380.22 km. In session 21 the bound needed 7–8 s,
hence the former 0.65 s (and 0.01 s per pair), which kept the seed's 10-s run out of it. The
bound's box (columns.BOX_SHARE, session 25) took the phase from 6.2–7.0 s to 4.2–4.6 s, three
runs each side by side (bound 47 → 32 rounds). ×10's regions (below) then needed ≈ 4.4 s
each at pace 1.37, 3.2 s at pace 1 (0.23 s a member): 0.25 s keeps a margin; at 0.22, ×10
at 60 s ran them at pace 1.36 and 6 of 10 dives ran out of time (6 549 km)."""
COLUMN_SECONDS_PER_PAIR = 0.0037
"""And COLUMN_SECONDS_PER_PAIR per eligible pair: the pricing grows with each member's sites
(seed: 912 pairs, 3.4 s; 0.0045 before the box, scaled as above).
One column generation over ×10 (9 120 pairs), as at 120 s with 0.005: bound 3 648.8 km
against the LP's 3 580.6 km, travel 3 806 km against 3 792 km without (one run each; the master
LP took 2.6 s a solve, its dive did not finish in 22 s): region by region instead (below)."""
BUILD_SECONDS_PER_PAIR = 12e-6
"""Time building the model takes per eligible pair on the machine the column constants above
were measured on (session 23's benchmark: seed 0.011 s for 912 pairs, ×40 0.516 s for 36 480).
`pace` reads how much slower the machine runs now from this tender's own build: the column
phase is all-or-nothing (a dive that runs out of time leaves the stage's start, and the
searches had no time), so its need is scaled by it. Measured on a machine running 2–2.5×
slower (build 23–28 µs a pair, a pure-Python loop 3× slower; session 24): the seed at 10 s
gave 421–465 km with the column phase (its bound unconverged at 370 km, the dive out of time)
and 381.5–384.7 km without it (six runs). Read with garbage collection held off
(`timed_build`, session 26): 11 µs a pair on ×10, 0.100–0.103 s, on a machine whose column work
matched the constants above (seed: bound 2.96 s and dive 1.12 s in a 5.8-s share; ×10's
regions 3.6–4.4 s each), so the reference is kept."""
MIN_PACE_PAIRS = 500
"""Below this many eligible pairs, a build's fixed costs would read as a slow machine."""
REGION_COLUMN_SHARE = 1.0
"""A tender of several regions (lns.components) may give the whole travel stage to one column
generation per region (travel_columns_by_region), when each region gets what
COLUMN_SECONDS_PER_MEMBER and _PER_PAIR ask, before one over the whole tender is tried: one
master over ×10 (140 co-contractors, 9 120 pairs) took 1.8 s a solve, its bound 3 661.8 km
after 24 s and its dive out of time, 4 244 km (session 26, pace forced to 1: that path was
tried first and fitted at 49.8 s of travel); above LARGE_PAIRS a tender of several regions
never gets that one. The regions' dives beat
the searches by far there (×10 at 60 s: 3 778 km against 3 888–3 991 km), and a region that
converges early leaves its time to the others, then to the searches. Only when coverage is
total: the regions' masters leave out the covered value, so on a partial tender the dives'
sites may cover less than the stage holds and be refused after the whole stage was theirs."""
DIVE_LEND_SHARE = 0.02
"""Most of the travel stage the lent hours of the column dive's sites may take (milliseconds
on the seed)."""
LARGE_PAIRS = 4_000
LARGE_MAIN_SHARE = 0.05
"""Above LARGE_PAIRS eligible pairs the main CP-SAT solve of the fairness and travel stages
gets only this share, the searches the rest: measured on ×10 (9 120 pairs) and ×40 (36 480),
the main solves of 7–32 s improved neither stage (their bounds come from figures.py)."""
COVERAGE_SUBSOLVERS = ("max_lp", "quick_restart")
"""CP-SAT's workers for the coverage main solve up to LARGE_PAIRS pairs, when a valid start is
in hand (without one the default workers search for any allocation first): the full LP with its
cuts (`max_lp`) in place of the default one. A partial tender's coverage is a multiple
knapsack, where cuts matter; the bench's HiGHS peer, a MIP, used to win there. Measured, whole
solves at the sweep's limits (bench/sweep.py), two runs each: variant 46 0.918 / 0.932 → 0.939 /
0.949 M€ (HiGHS 0.950), 19 2.19 / 2.22 → 2.25 / 2.27 (HiGHS 2.24), 5 0.83 / 0.88 → 0.896 / 0.897
(HiGHS 0.896), 11 2.084 / 2.085 → 2.105 / 2.112 (HiGHS 2.105), and the proven bounds lower
(46: 0.979 → 0.954, 11: 2.156 → 2.119); over 22 partial variants of 0–59, the mean share of the
best value seen 0.989 → 0.994; worse: 52 1.215 → 1.203 / 1.206 M€. Above LARGE_PAIRS its LP is
too slow for the stage (variant 55, 5 648 pairs, a 3-s main solve: 1.18 → 1.06 M€)."""
LEND_ONLY_SHARE = 0.3
LARGE_LEND_ONLY_SHARE = 0.9
"""Share of the provider-fairness stage for re-optimising lent hours alone (`lend_only`, sites
fixed; it ends as soon as it is proven), the main solve getting the rest; above LARGE_PAIRS the
larger share: ×40 (36 480 pairs, 120 s), the stage's first 7.3 s left 5.6–5.8 h of excess and
the full model's main solve then used 17 s without improving on it; with 90 % the sub-model
reached 0 h in 16 s, proven, and travel had 8 s more (19 781 → 19 013 km in that pair of
runs)."""
LEND_FLOOR_SHARE = 0.5
"""Share of `lend_only`'s time for looking for lent hours with no provider excess at all, as a
feasibility problem, before minimising the excess. ×40's sub-model (6 246 variables): found in
5.3 s that way; minimising, CP-SAT had not reached 0 h after 25 s (in one whole solve, 17.7 s).
Since that search starts from the sub-model's LP point (submodel.LP_POINT_SHARE), ×40's whole
stage takes 1.6–2.2 s (three whole solves at 120 s, 0 h each; before: 6–24 s, once 15 h left)."""
LARGE_COVERAGE_LNS_SHARE = 0.9
"""Above LARGE_PAIRS, the coverage neighbourhoods get 90 % of the stage (the main solve 10 %,
at least MIN_MAIN_SECONDS): tight10 in a 29-s stage, 28 658 860 / 28 659 682 € with the usual
60 %, 28 677 485 / 28 681 235 € with 90 %; tight40 (58 s) 114 329 041 € against 114 496 939 €
(ceiling 114 891 273 €). A tender covered whole is proven as soon as it is found (CP-SAT's
bound or the ceiling is then the total): ×40's main solve finds it in 5.4 s."""
REGIONS_FAIRNESS_SHARE = 0.6
REGIONS_LNS_SHARE = 0.75
MIN_REGION_SECONDS = 2.0
"""With independent regions, turnover fairness is searched region by region (see lns.py) when
each region can get MIN_REGION_SECONDS: the stage then gets more of the time, most of it in
that search (measured: a region of ~130 sites needs 2–3 s to improve)."""

_STATUS = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.MODEL_INVALID: "unknown",
    cp_model.UNKNOWN: "unknown",
}


@dataclass
class Solution:
    """Values of the decision variables in the last solution found."""

    x: dict[tuple[int, int], int] = field(default_factory=dict)
    lend: dict[tuple[int, int, int], int] = field(default_factory=dict)


def solver_name() -> str:
    from ortools import __version__

    major_minor = ".".join(__version__.split(".")[:2])
    return f"OR-Tools CP-SAT {major_minor}"


def _set_domain(b: Built, lit: cp_model.IntVar, lo: int, hi: int) -> None:
    domain = b.model.proto.variables[lit.index].domain
    domain[0], domain[1] = lo, hi


def fix_rules(b: Built, on: dict[str, bool] | None = None) -> None:
    """Fix every rule literal (true unless `on` says otherwise) in the model's proto."""
    for name, lit in b.rules.items():
        value = 1 if (on or {}).get(name, True) else 0
        _set_domain(b, lit, value, value)


def free_rules(b: Built) -> None:
    """Make every rule literal free again (the diagnosis uses them as assumptions)."""
    for lit in b.rules.values():
        _set_domain(b, lit, 0, 1)


def _objective(b: Built, name: str) -> tuple[cp_model.LinearExprT, bool]:
    """The stage's expression and whether it is maximised."""
    return {
        "coverage": (b.covered, True),
        "turnover_fairness": (b.turnover_excess, False),
        "provider_fairness": (b.provider_excess, False),
        "travel": (b.travel, False),
    }[name]


def new_solver(seconds: float, workers: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(seconds, 0.01)
    solver.parameters.num_workers = max(1, workers)
    # OR-Tools 9.15 presolve may certify a wrong optimum on linear models with at-most-one
    # rows (google/or-tools#5293, open); measured here: a tender whose turnover fairness CP-SAT
    # "proved" at 478.93 € has a valid allocation at 9.05 € (tests/allocation/test_edges.py).
    # Switching off that one presolve family is the workaround given in the issue.
    solver.parameters.presolve_inclusion_work_limit = 0
    return solver


def read_solution(b: Built, solver: cp_model.CpSolver) -> Solution:
    return Solution(
        x={key: int(solver.value(v)) for key, v in b.x.items()},
        lend={key: int(solver.value(v)) for key, v in b.lend.items()},
    )


def derived_hints(b: Built, sol: Solution) -> dict[int, int]:
    """The values the derived variables take in `sol` (covered value, lent total, both
    excesses, rule literals), by variable index."""
    value, lent = amounts(b, sol)
    covered, total_lent = sum(value), sum(lent)
    out = {
        b.covered.index: covered,
        b.total_lent.index: total_lent,
        b.turnover_excess.index: b.fair.excess(value, covered),
        b.provider_excess.index: b.prov.excess(lent, total_lent),
    }
    out.update((lit.index, 1) for lit in b.rules.values())
    return out


def hint(
    b: Built, sol: Solution, rules_off: frozenset[str] = frozenset(), lent_total: bool = True
) -> None:
    """Give a solution as a complete hint (derived variables included) to the next solve; the
    literals of `rules_off` are hinted false (a solve with those rules lifted). Without
    `lent_total`, the lent total is left unhinted: hinted, it stalls CP-SAT's bound in the climb
    to the social clause (sweep variant 297: stuck above 17 200 h in 13 runs of 13, under the
    clause's 14 451 h in 0.6-0.9 s without it, 27 runs of 27), while the stages need it (×10
    without it, one run: turnover fairness unproven at 60 s, travel 4 357 km instead of 3 928)."""
    model = b.model
    model.clear_hints()
    for key, v in b.x.items():
        model.add_hint(v, sol.x.get(key, 0))
    for key, v in b.lend.items():
        model.add_hint(v, sol.lend.get(key, 0))
    off = {b.rules[name].index for name in rules_off}
    for index, value in derived_hints(b, sol).items():
        if index == b.total_lent.index and not lent_total:
            continue
        model.add_hint(model.get_int_var_from_proto_index(index), 0 if index in off else value)


def _values(b: Built, sol: Solution) -> list[int]:
    """Each co-contractor's covered value (cents) in a solution."""
    value = [0] * len(b.data.cocs)
    for (i, k), on in sol.x.items():
        if on:
            value[k] += b.data.values[i]
    return value


def _partial(b: Built, sol: Solution) -> bool:
    """Whether some item that has an eligible co-contractor is left unassigned."""
    taken = {i for (i, _k), v in sol.x.items() if v}
    return any(ms and i not in taken for i, ms in enumerate(b.data.eligible))


def _worst(b: Built, name: str):
    """For fairness, the co-contractor furthest outside its window in a solution."""
    if name != "turnover_fairness":
        return None

    def worst(sol: Solution) -> int:
        value = _values(b, sol)
        gaps = b.fair.gaps(value, sum(value))
        return max(range(len(gaps)), key=gaps.__getitem__)

    return worst


def lend_only(b: Built, sol: Solution, seconds: float, workers: int) -> Solution:
    """Re-optimise lent hours alone, sites fixed as in `sol`: a small sub-model CP-SAT solves
    fast, whose answer is a good hint for the provider-fairness stage. No excess at all is
    looked for first, as a feasibility problem (LEND_FLOOR_SHARE of the time). Returns `sol`
    if both fail."""
    from coop_tender.allocation.submodel import solve_free

    free = {var.index for var in b.lend.values()}
    end = time.perf_counter() + seconds
    if model_value(b, "provider_fairness", sol) > 0:
        code, result = solve_free(b, sol, free, LEND_FLOOR_SHARE * seconds, workers, at_most=0)
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return read_solution(b, result)
    code, result = solve_free(b, sol, free, max(end - time.perf_counter(), 0.05), workers)
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return read_solution(b, result)
    return sol


def _dived(
    b: Built, sol: Solution, sites: set[tuple[int, int]], seconds: float, workers: int
) -> Solution:
    """The column dive's sites (columns.py) with lent hours solved for them, if the full model
    accepts them and they travel less than `sol`; else `sol`."""
    candidate = dive_allocation(b, sol, sites, seconds, workers)
    return candidate if model_value(b, "travel", candidate) < model_value(b, "travel", sol) else sol


def dive_allocation(
    b: Built, sol: Solution, sites: set[tuple[int, int]], seconds: float, workers: int
) -> Solution:
    """The dive's sites with lent hours solved for them (from those of `sol`), if the full
    model accepts them; else `sol`."""
    candidate = Solution(x={key: int(key in sites) for key in b.x}, lend=sol.lend)
    return verified(b, lend_only(b, candidate, seconds, workers), sol, workers)


def verified(b: Built, candidate: Solution, fallback: Solution, workers: int) -> Solution:
    """`candidate` if CP-SAT accepts it on the full model (every variable fixed to it: a pure
    check, milliseconds on 130 sites), else `fallback`: what the local searches (local.py)
    return is never trusted on its own bookkeeping alone."""
    if candidate is fallback or (candidate.x == fallback.x and candidate.lend == fallback.lend):
        return fallback
    from coop_tender.allocation.submodel import solve_pinned

    code, _result = solve_pinned(b, candidate, set(), 10.0, workers)
    return candidate if code in (cp_model.OPTIMAL, cp_model.FEASIBLE) else fallback


def _better(b: Built, name: str, new: Solution, old: Solution) -> bool:
    """Whether `new` is at least as good as `old` on the stage's objective (the main solve
    may return less than its hint when it cannot repair it in time)."""
    _expr, maximise = _objective(b, name)
    a, c = model_value(b, name, new), model_value(b, name, old)
    return a >= c if maximise else a <= c


def fix_stage(b: Built, name: str, value: int, bound: int | None = None) -> None:
    """Keep a stage at the value reached: later stages may not worsen it.

    Coverage is held at least at the covered value C and at most at its proven bound (`bound`;
    exactly C when it is proven): when the coverage stage ran out of time, a later stage may
    still cover more, which only makes the answer better in the lexicographic order (tight, a
    30-s travel solve from a 10-s run's answer: 684 → 524 km with coverage open, 670 → 655 km
    with it held exactly at C).
    Turnover fairness at E* then reads "each co-contractor's value within [lo_m·C − E*,
    hi_m·C_max + E*] / unit" — exactly the fairness rows when C_max = C — added as plain bounds on
    its value (much easier for CP-SAT than the scaled rows, which stay).
    """
    b.fixed[name] = value
    if name == "coverage":
        b.covered_max = value if bound is None else max(value, bound)
        _set_domain(b, b.covered, value, b.covered_max)
        return
    expr, maximise = _objective(b, name)
    fixed = b.model.add(expr >= value) if maximise else b.model.add(expr <= value)
    fixed.with_name(f"stage_{name}_fixed")
    if name == "turnover_fairness" and "coverage" in b.fixed:
        low, high = turnover_bands(b, value)
        with_sites = {k for _i, k in b.x}
        for k, m in enumerate(b.data.cocs):
            if k in with_sites:
                b.model.add_linear_constraint(b.value_of[k], low[k], high[k]).with_name(
                    f"stage_turnover_window[{m.id}]"
                )


@dataclass
class Outcome:
    """What the staged solve produced, before it is turned into an Allocation."""

    built: Built
    stages: list[Stage]
    solution: Solution | None
    infeasible: bool


def search(
    b: Built,
    name: str,
    sol: Solution,
    end: float,
    workers: int,
    regions: list[set[int]],
    bound: int | None = None,
) -> Solution:
    """The neighbourhood searches that follow a stage's main solve (see lns.py), until `end`
    (coverage: or until it reaches its proven `bound`); turnover fairness goes region by region
    first when `regions` are given. The objective in `b.model` is the stage's, and is left so.
    The searches solve sub-models (submodel.py): the caller checks the answer on the full
    model (`verified`)."""
    expr, maximise = _objective(b, name)
    value = model_value(b, name, sol)
    if name == "travel":  # annealing (fast moves), narrow-band members, CP-SAT on territories
        many = len(b.data.items) > MANY_SITES
        large = len(b.x) > LARGE_PAIRS and (many or len(components(b)) == 1)
        share = LARGE_ANNEAL_SHARE if large else TRAVEL_ANNEAL_SHARE
        annealed = improve_travel(b, sol, time.perf_counter() + share * (end - time.perf_counter()))
        sol = verified(b, annealed, sol, workers)
        value = model_value(b, name, sol)
        tight_end = time.perf_counter() + TIGHT_SHARE * (end - time.perf_counter())
        sol, value = improve_tight(b, sol, value, tight_end, workers)
        sol = improve_by_territory(b, sol, value, end, workers)[0]
        if end - time.perf_counter() > MIN_ANNEAL_SECONDS:  # the others stalled: anneal again
            sol = verified(b, improve_travel(b, sol, end), sol, workers)
        return sol
    floor = fairness_floor(b) if name == "turnover_fairness" else None
    if floor is not None:  # a member capped by rule 6 first: exact sets of sites (tight.py)
        floor_end = time.perf_counter() + FLOOR_SHARE * (end - time.perf_counter())
        sol, value = reach_floor(b, sol, value, floor, floor_end, workers)
        if value <= floor:
            return sol
    if floor is not None and regions:  # independent regions: one at a time first
        sol, value = improve_fairness_by_group(b, sol, end, workers, regions, floor)
        b.model.minimize(expr)
        if value <= floor:
            return sol
    polish = 0.0
    if floor is not None:  # the exchanges first too: the searches start lower
        polish = POLISH_SECONDS
        first_end = time.perf_counter() + FIRST_POLISH_SHARE * (end - time.perf_counter())
        sol = verified(b, polish_fairness(b, sol, first_end), sol, workers)
        value = model_value(b, name, sol)
    lns_end = max(end - polish, time.perf_counter())
    top = bound if name == "coverage" else None
    sol = improve(b, sol, value, maximise, lns_end, workers, _worst(b, name), bound=top)[0]
    if floor is not None:  # exact exchanges where CP-SAT's neighbourhoods stalled
        sol = verified(b, polish_fairness(b, sol, max(end, lns_end + 0.05)), sol, workers)
    return sol


def feasible_start(
    b: Built, deadline: float, workers: int, short_of_clause: bool = False
) -> tuple[int, Solution | None]:
    """Any allocation that keeps every rule, searched without an objective: much faster than
    the coverage stage when the greedy hint breaks a rule (measured: 60 sites with minimum and
    maximum provider shares equal, 1.2 s, where maximising coverage found nothing in 6 s).
    When the greedy falls short of the social clause, the clause is lifted first and insertion
    hours are maximised from the greedy's until they reach it (`climb_social_clause`).
    Returns (CP-SAT status, solution or None)."""
    if short_of_clause:
        code, found = climb_social_clause(
            b, CLIMB_SHARE * (deadline - time.perf_counter()), workers
        )
        if code == cp_model.INFEASIBLE or found is not None:
            return code, found
    b.model.clear_objective()
    solver = new_solver(FEASIBILITY_SHARE * (deadline - time.perf_counter()), workers)
    code = solver.solve(b.model)
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return code, read_solution(b, solver)
    return code, None


class _Reached(cp_model.CpSolverSolutionCallback):
    """Stops the search at the first solution whose objective reaches `target`."""

    def __init__(self, target: int) -> None:
        super().__init__()
        self.target = target

    def on_solution_callback(self) -> None:
        if self.objective_value >= self.target:
            self.stop_search()


def climb_social_clause(b: Built, seconds: float, workers: int) -> tuple[int, Solution | None]:
    """With the social clause (rule 7) lifted and every other rule kept, maximise insertion
    hours until they reach the tender's minimum: that allocation keeps every rule. The LP's
    allocation rounded first (`_rounded_for_clause`; the start hinted if nearer the clause than
    the greedy's), then CP-SAT's own search, then member neighbourhoods (CLIMB_MAIN_SHARE).
    INFEASIBLE when even the lifted maximum is proven short: the search stops as soon as
    CP-SAT's bound says so (sweep variant 297: in 0.85 s, where it went on for 7 s). Measured on a
    260-site tender whose raised clause the greedy missed: a solution in under 10 s, where the
    feasibility solve found none in 45 s."""
    from coop_tender.allocation.hint import insertion_of

    lit = b.rules["social_clause"]  # made by model.add_rule7_social_clause for every tender
    target = b.data.problem.tender.insertion_hours_min * SCALE
    saved = list(b.model.proto.variables[lit.index].domain)
    _set_domain(b, lit, 0, 0)
    b.model.maximize(insertion_expr(b))
    started = time.perf_counter()
    relaxed = lp_ceiling_and_values(b, CLIMB_LP_SHARE * seconds)
    if relaxed is not None and relaxed[0] < target:  # even fractionally out of reach: proven
        _set_domain(b, lit, *saved)
        b.model.clear_objective()
        return cp_model.INFEASIBLE, None
    end = started + seconds
    rounded = None if relaxed is None else _rounded_for_clause(b, relaxed[1])
    if rounded is not None and rounded[1] >= target:  # the LP's allocation, whole: done
        _set_domain(b, lit, *saved)
        b.model.clear_objective()
        return cp_model.FEASIBLE, rounded[0]
    start = _hinted(b)
    if rounded is not None and rounded[1] > insertion_of(b.data, start.x, start.lend):
        hint(b, rounded[0], lent_total=False)  # nearer the clause than the greedy's start
    solver = new_solver(CLIMB_MAIN_SHARE * (end - time.perf_counter()), workers)
    if len(b.x) <= LARGE_PAIRS:
        solver.parameters.extra_subsolvers.extend(CLIMB_EXTRA_SUBSOLVERS)
    proven_short: list[float] = []

    def on_bound(bound: float) -> None:  # the clause out of reach is proven: no need to go on
        if bound < target - 0.5:  # integer objective, its bound a float
            proven_short.append(bound)
            solver.stop_search()

    solver.best_bound_callback = on_bound
    code = solver.solve(b.model, _Reached(target))
    found: Solution | None = None
    if proven_short:
        code = cp_model.INFEASIBLE
    elif code == cp_model.FEASIBLE and solver.objective_value < target:
        # Short of the clause: member neighbourhoods on the insertion hours (lns.improve)
        sol, value = improve(
            b,
            read_solution(b, solver),
            round(solver.objective_value),
            True,
            end,
            workers,
            bound=target,
        )
        found = sol if value >= target else None
    elif code in (cp_model.OPTIMAL, cp_model.FEASIBLE) and solver.objective_value >= target:
        found = read_solution(b, solver)
    _set_domain(b, lit, *saved)
    b.model.clear_objective()
    if found is not None:
        return cp_model.FEASIBLE, found
    if code == cp_model.INFEASIBLE or (
        code in (cp_model.OPTIMAL, cp_model.FEASIBLE) and solver.best_objective_bound < target
    ):
        return cp_model.INFEASIBLE, None
    return code, None


def _rounded_for_clause(b: Built, values: list[float]) -> tuple[Solution, int] | None:
    """The greedy placing each site where the LP relaxation of the climb (insertion hours
    maximised, rule 7 lifted; its optimal `values` by variable index) puts it, then aimed at
    the clause (hint.aim_at_clause): the allocation and its insertion hours (× SCALE), or None
    when the allocation breaks another rule the greedy does not enforce (pins, rule 8).
    Sweep variant 553 (600 sites, 5 s): 58 041 h for a clause of 55 015 h at once, where the
    greedy's start gave 53 760 h and the CP-SAT climb found nothing in time."""
    from coop_tender.allocation.hint import aim_at_clause, greedy, greedy_is_valid, insertion_of

    d = b.data
    x, lend = greedy(d, prefer={key: values[v.index] for key, v in b.x.items()})
    x, lend = aim_at_clause(d, x, lend)
    if not greedy_is_valid(d, x, lend, clause=False):
        return None
    return Solution(x=x, lend=lend), insertion_of(d, x, lend)


def _hinted(b: Built) -> Solution:
    """The allocation the model's hint holds (a start given by `hint`)."""
    hinted = b.model.proto.solution_hint
    given = dict(zip(hinted.vars, hinted.values, strict=True))
    x = {key: given.get(v.index, 0) for key, v in b.x.items()}
    return Solution(x=x, lend={key: given.get(v.index, 0) for key, v in b.lend.items()})


def lp_rounding(
    b: Built, x: dict[tuple[int, int], int], valid: bool, seconds: float
) -> tuple[dict[tuple[int, int], int], dict[tuple[int, int, int], int]] | None:
    """A start rounded from the coverage LP (the greedy placing each site where the LP puts
    it, aimed at the social clause if short), when the greedies' start `x` leaves coverable
    value out: returned if it keeps every rule and covers more (or `x` breaks a rule), else
    None. Measured on tenders unlike the benchmark's (bench/sweep.py, variants 12 and 17)
    and on tight: 6 312 890 → 6 325 023 €, 5 972 366 → 6 187 537 €, 2 851 164 → 2 864 193 €."""
    from coop_tender.allocation.hint import (
        aim_at_clause,
        covered_of,
        greedy,
        greedy_is_valid,
        insertion_of,
    )

    d = b.data
    if valid and covered_of(d, x) == d.coverable_value:
        return None
    expr, _ = _objective(b, "coverage")
    b.model.maximize(expr)
    lendable: dict[tuple[int, int], int] = {}
    for p, k, t in d.lend_pairs:
        lendable[(k, t)] = lendable.get((k, t), 0) + d.pcap[(p, t)]
    period_of = d.period_of
    too_big = frozenset(  # sites larger than all the hours the member could have: out
        v.index
        for (i, k), v in b.x.items()
        if d.items[i].hours > d.cap.get((k, period_of[i]), 0) + lendable.get((k, period_of[i]), 0)
    )
    values = lp_values(b, seconds, too_big)
    if values is None:
        return None
    lp_x, lend = greedy(d, prefer={key: values[v.index] for key, v in b.x.items()})
    if insertion_of(d, lp_x, lend) < d.problem.tender.insertion_hours_min * SCALE:
        lp_x, lend = aim_at_clause(d, lp_x, lend)
    if greedy_is_valid(d, lp_x, lend) and (not valid or covered_of(d, lp_x) > covered_of(d, x)):
        return lp_x, lend
    return None


def timed_build(problem: Problem, data: Data) -> tuple[Built, float]:
    """The model and the seconds its build took, garbage collection held off meanwhile: a
    collection landing in it made `pace` read 1.15–1.67 for the same tender on one machine
    (×10, seven processes), 1.0 every time without (build 0.100–0.103 s; session 26)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        started = time.perf_counter()
        b = build_model(problem, data)
        return b, time.perf_counter() - started
    finally:
        if enabled:
            gc.enable()


def pace(build_seconds: float, pairs: int) -> float:
    """How many times slower than the reference machine (BUILD_SECONDS_PER_PAIR) this one
    runs now, read from the model's build time; never below 1."""
    return max(1.0, build_seconds / (BUILD_SECONDS_PER_PAIR * max(pairs, MIN_PACE_PAIRS)))


def _column_need(b: Built, groups: list[set[int]], slowness: float = 1.0) -> float:
    """Seconds column generation needs for these groups of co-contractors, one after the
    other (COLUMN_SECONDS_PER_MEMBER, COLUMN_SECONDS_PER_PAIR), on a machine `slowness` times
    slower than the reference one (`pace`)."""
    pairs = Counter(k for _i, k in b.x)
    return slowness * sum(
        max(
            COLUMN_SECONDS_PER_MEMBER * len(group),
            COLUMN_SECONDS_PER_PAIR * sum(pairs[k] for k in group),
        )
        for group in groups
    )


def run_stages(
    b: Built, deadline: float, workers: int, reserve_partial: float = 0.0, slowness: float = 1.0
) -> Outcome:
    """Solve the four stages in order within `deadline` (perf_counter).

    When the coverage stage leaves coverable items unassigned, `reserve_partial` seconds are
    kept free for explaining why (the relaxation tests in explain.py). `slowness` is the
    machine's `pace`: the column phase runs only when it fits at that pace.
    """
    from coop_tender.allocation.hint import first_allocation, greedy_is_valid, insertion_of

    stages: list[Stage] = []
    bounds: dict[str, int | None] = {}  # stage -> the model's proven bound (None: none)
    seconds_of: dict[str, float] = {}
    solution: Solution | None = None
    first_x, first_lend = first_allocation(b.data)
    first_ok = greedy_is_valid(b.data, first_x, first_lend)
    guided = lp_rounding(b, first_x, first_ok, LP_START_SHARE * (deadline - time.perf_counter()))
    if guided is not None:
        (first_x, first_lend), first_ok = guided, True
    first = Solution(x=first_x, lend=first_lend)
    hint(b, first, lent_total=first_ok)
    if not first_ok:  # the greedy misses a rule: any valid allocation first, no objective
        minimum = b.data.problem.tender.insertion_hours_min * SCALE
        short = insertion_of(b.data, first_x, first_lend) < minimum
        code, found = feasible_start(b, deadline, workers, short)
        if code == cp_model.INFEASIBLE:
            stages = [Stage(name=n, status="skipped", unit=STAGE_UNITS[n]) for n in STAGE_NAMES]
            stages[0] = Stage(name="coverage", status="infeasible", unit=STAGE_UNITS["coverage"])
            return Outcome(b, stages, None, True)
        if found is not None:
            first, first_ok = found, True
            hint(b, first)
    reserve = 0.0
    regions = components(b)
    by_region = False
    relaxed: int | None = None  # the travel stage's LP bound (relaxation.py)
    for n, name in enumerate(STAGE_NAMES):
        if n == 1 and solution is not None and _partial(b, solution):
            reserve = reserve_partial
        left = deadline - time.perf_counter() - reserve
        budget = left * SHARE_OF_REMAINING[name]
        if name == "turnover_fairness" and len(regions) > 1:
            # Region by region only if each region can get a real try (else: as one whole).
            per_region = left * REGIONS_FAIRNESS_SHARE * REGIONS_LNS_SHARE / len(regions)
            by_region = per_region >= MIN_REGION_SECONDS
            if by_region:
                budget = left * REGIONS_FAIRNESS_SHARE
        if n == 0:
            budget = max(budget, min(left, 1.0))
            if not first_ok:  # no solution in hand: searching for one comes first
                budget = left * NO_START_SHARE
        unit = STAGE_UNITS[name]
        skipped = any(s.status == "skipped" for s in stages)
        if budget < MIN_STAGE_SECONDS or (n > 0 and solution is None) or skipped:
            # A stage skipped for time ends the order: a later one would optimise its own
            # objective with the skipped one unfixed (×10 in 1 s: travel ran after fairness).
            if n == 0 and first_ok:
                solution = first  # no time even for coverage: the greedy's answer is valid
            stages.append(Stage(name=name, status="skipped", unit=unit))
            continue
        expr, maximise = _objective(b, name)
        if maximise:
            b.model.maximize(expr)
        else:
            b.model.minimize(expr)
        started = time.perf_counter()
        stage_end = started + budget
        strong: int | None = None  # the column-generation bound (columns.py)
        if name == "travel" and solution is not None:
            # First, so that the time it does not need (it stops once converged) is the
            # searches'; the solution in hand gives its first columns, its dive a better start.
            generated = None
            everyone = [set(range(len(b.data.cocs)))]
            by_regions = len(regions) > 1 and must_cover(b) is not None
            if by_regions and REGION_COLUMN_SHARE * budget >= _column_need(b, regions, slowness):
                seconds = REGION_COLUMN_SHARE * budget
                generated = travel_columns_by_region(b, solution, regions, seconds, workers)
            elif (
                len(regions) == 1 or len(b.x) <= LARGE_PAIRS
            ) and COLUMN_SHARE * budget >= _column_need(b, everyone, slowness):
                generated = travel_columns(b, solution, COLUMN_SHARE * budget, workers)
            if generated is not None:
                strong = generated.bound
                if generated.sites is not None:
                    solution = _dived(
                        b, solution, generated.sites, DIVE_LEND_SHARE * budget, workers
                    )
        if name == "travel" and LP_SHARE * budget > LP_SECONDS_PER_PAIR * len(b.x):
            relaxed = lp_bound(b, LP_SHARE * budget)  # a bound where CP-SAT's may come too late
        if solution is not None:
            if name == "provider_fairness":
                share = LARGE_LEND_ONLY_SHARE if len(b.x) > LARGE_PAIRS else LEND_ONLY_SHARE
                sub = lend_only(b, solution, share * budget, workers)
                solution = verified(b, sub, solution, workers)
            hint(b, solution)
        lns_share = LNS_SHARE.get(name, 0.0) if len(b.data.cocs) > 2 else 0.0
        if n == 0 and not first_ok:
            lns_share = 0.0  # no allocation to search around: the main solve gets the stage
        if by_region and name == "turnover_fairness":
            lns_share = REGIONS_LNS_SHARE
        if lns_share and len(b.x) > LARGE_PAIRS:
            lns_share = LARGE_COVERAGE_LNS_SHARE if name == "coverage" else 1 - LARGE_MAIN_SHARE
        elif name == "travel" and (b.covered_max or 0) > b.fixed.get("coverage", 0):
            lns_share = OPEN_COVERAGE_LNS_SHARE
        main_budget = (stage_end - time.perf_counter()) * (1 - lns_share)
        if name == "coverage":  # small tenders are proven in it: keep the proof within reach
            main_budget = max(main_budget, min(stage_end - time.perf_counter(), MIN_MAIN_SECONDS))
        if name in EXCESS_STAGES and solution is not None and model_value(b, name, solution) == 0:
            # An excess is never negative: the solution in hand is proven optimal (a 2 500-site
            # tender's provider stage spent 3 s proving it again).
            bounds[name] = 0
        else:
            solver = new_solver(main_budget, workers)
            if name == "coverage" and first_ok and len(b.x) <= LARGE_PAIRS:
                solver.parameters.subsolvers.extend(COVERAGE_SUBSOLVERS)
            if n > 0 or budget < 10.0:
                # Presolve is repeated at every stage and costs seconds on large models; one pass
                # keeps most of its benefit (measured: 8 s → 4 s on 1 300 sites).
                solver.parameters.max_presolve_iterations = 1
            code = solver.solve(b.model)
            seconds = time.perf_counter() - started
            status = _STATUS.get(code, "unknown")
            if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                found = read_solution(b, solver)
                if solution is None or _better(b, name, found, solution):
                    solution = found
                bounds[name] = max(round(solver.best_objective_bound), strong or 0)
            elif solution is None and n == 0 and code == cp_model.UNKNOWN and first_ok:
                # Out of time before CP-SAT reported anything: keep the greedy answer (valid).
                solution, bounds[name] = first, None
            elif solution is not None and code == cp_model.UNKNOWN:
                bounds[name] = None  # nothing found in time: search on from the previous stage's
            else:
                stages.append(Stage(name=name, status=status, seconds=round(seconds, 3), unit=unit))
                if code == cp_model.INFEASIBLE and n == 0:
                    for rest in STAGE_NAMES[1:]:
                        stages.append(Stage(name=rest, status="skipped", unit=STAGE_UNITS[rest]))
                    return Outcome(b, stages, None, True)
                continue
        if name == "coverage" and model_value(b, name, solution) != bounds[name]:
            # CP-SAT's bound may still be the total on offer (a 5 200-site partial tender)
            ceiling = coverage_ceiling(b)
            bounds[name] = ceiling if bounds[name] is None else min(bounds[name], ceiling)
        if lns_share and model_value(b, name, solution) != bounds[name]:
            groups = regions if by_region else []
            checks = VERIFY_SECONDS_PER_PAIR * len(b.x) * (3 if name == "travel" else 2)
            end = max(stage_end - checks, time.perf_counter())
            found = search(b, name, solution, end, workers, groups, bounds[name])
            solution = verified(b, found, solution, workers)
        if strong is not None:
            bounds[name] = max(bounds[name] or 0, strong)
        seconds_of[name] = time.perf_counter() - started
        # Fix the stage at the value of the solution in hand before the next one, so that
        # later stages never worsen it (the model's integer quantity; exact, see figures.py).
        value = model_value(b, name, solution)
        covered = model_value(b, "coverage", solution)
        if name != "coverage" and covered > b.fixed.get("coverage", covered):
            fix_stage(b, "coverage", covered, b.covered_max)  # this stage covered more: kept
        fix_stage(b, name, value, bounds.get(name))
        stages.append(Stage(name=name, status="feasible", unit=unit))  # replaced below
    for name, floor in (("turnover_fairness", fairness_floor), ("travel", travel_floor)):
        if name in seconds_of:  # a solver-free bound, when CP-SAT's is weaker or missing
            bounds[name] = max(bounds[name] or 0, floor(b)) or bounds[name]
    if "travel" in seconds_of and relaxed is not None:
        bounds["travel"] = max(bounds["travel"] or 0, relaxed)
    if solution is not None:
        # Every figure is the returned solution's own, recomputed exactly.
        stages = [
            exact_stage(b, s.name, solution, bounds[s.name], seconds_of[s.name])
            if s.name in bounds
            else s
            for s in stages
        ]
    return Outcome(b, stages, solution, False)


def solve(problem: Problem, time_limit: float = 60.0, workers: int = 2) -> Allocation:
    """Allocate the tender's items and the providers' hours; never raises on infeasibility."""
    from coop_tender.allocation.explain import explain_infeasible, explain_partial
    from coop_tender.allocation.report import build_allocation, infeasible_allocation

    started = time.perf_counter()
    deadline = started + max(time_limit, 0.0)
    data = prepare(problem)
    if data.pin_problems:
        return infeasible_allocation(problem, data, [], data.pin_problems)
    b, build = timed_build(problem, data)
    fix_rules(b)
    # Keep a tail for turning the solution into figures and sentences, and for the passes over
    # the whole model still to come (the last checks, the explanation's own model), about its
    # build time each: 5 200 sites with 5 s ended at 6.2 s without them.
    tail = min(3.0, 0.03 * time_limit + 0.05) + 2 * build
    slowness = pace(build, len(b.x))
    outcome = run_stages(b, deadline - tail, workers, 0.15 * time_limit, slowness)
    if outcome.infeasible:
        sentences = explain_infeasible(problem, data, deadline, workers)
        return infeasible_allocation(problem, data, outcome.stages, sentences)
    if outcome.solution is None:
        sentences = [
            "Aucune répartition trouvée dans le temps imparti ("
            f"{time_limit:g} s) : relancez avec un temps plus long (--time-limit)."
        ]
        return infeasible_allocation(problem, data, outcome.stages, sentences, proven=False)
    extra = explain_partial(problem, data, outcome.solution, deadline, workers, build, b)
    return build_allocation(problem, data, outcome, extra, solver_name())


__all__ = ["build_model", "fix_rules", "free_rules", "run_stages", "solve"]
