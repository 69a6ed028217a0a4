"""Run the allocation benchmark: our CP-SAT solver against the greedy and HiGHS, same budget.

`python -m bench.run [--only seed] [--skip-x40] [--time-limit S] [--repeat N] [--profile]` (also
`make bench`, and `make bench-median` for three runs of ours). For each instance: model building
time against the number of eligible pairs, then each method's time, stages (value, bound, gap,
status), coverage, worst fairness excess, travel and the checker's violations. With `--repeat N`
our solver runs N times: the tables show its median run (in the objective's order) and the range
of the N runs. Writes bench/results.md and bench/results.json and prints the table.
"""

from __future__ import annotations

import argparse
import cProfile
import inspect
import io
import json
import multiprocessing
import os
import platform
import pstats
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path

from bench import greedy
from bench.instances import INSTANCES, eligible_pairs
from coop_tender.checker import check, fairness_excess
from coop_tender.files import write_atomic
from coop_tender.geo import great_circle_km
from coop_tender.models import Allocation, Problem

HERE = Path(__file__).resolve().parent
BUDGET = {
    "seed": 10.0,
    "seed60": 60.0,
    "tight": 10.0,
    "x10": 60.0,
    "x40": 120.0,
    "tight10": 60.0,
    "dense4": 30.0,
}
TARGETS = {"seed": ("≤ 10 s", 0.01), "x10": ("≤ 60 s", 0.02)}


def our_solver() -> tuple[Callable[..., Allocation], Callable[[Problem], float]] | None:
    """The project's solver and a function timing its model build (garbage collection held
    off, as solve() does), if they exist yet."""
    try:
        from coop_tender.allocation import solve
        from coop_tender.allocation.model import prepare
        from coop_tender.allocation.solve import timed_build
    except ImportError:
        return None
    return solve, lambda problem: timed_build(problem, prepare(problem))[1]


def travel_km(problem: Problem, allocation: Allocation) -> float:
    """Total base-to-site distance of an allocation, recomputed (not the solver's figure)."""
    items = {i.id: i for i in problem.tender.items}
    members = {m.id: m for m in problem.members}
    return sum(
        great_circle_km(
            members[a.member].lat, members[a.member].lon, items[a.item].lat, items[a.item].lon
        )
        for a in allocation.assignments
        if a.item in items and a.member in members
    )


def summary(problem: Problem, allocation: Allocation, seconds: float) -> dict:
    """The figures the table compares, all recomputed independently of the method."""
    excess = fairness_excess(problem, allocation)
    total = sum((i.value for i in problem.tender.items), Decimal(0))
    owner = allocation.member_of()
    covered = sum((i.value for i in problem.tender.items if i.id in owner), Decimal(0))
    violations = check(problem, allocation)
    return {
        "seconds": round(seconds, 2),
        "status": (
            "no solution in time"
            if allocation.stages and allocation.stages[0].status == "unknown"
            else allocation.status
        ),
        "coverage": float(covered / total) if total else 0.0,
        "covered_value": str(covered),
        "unassigned": len(allocation.unassigned),
        "worst_excess": str(max(excess.values(), default=Decimal(0))),
        "travel_km": round(travel_km(problem, allocation), 2),
        "violations": len(violations),
        "violation_samples": violations[:5],
        "stages": [
            {
                "name": s.name,
                "status": s.status,
                "seconds": round(s.seconds, 2),
                "value": s.value,
                "bound": s.bound,
                "gap": gap(s.value, s.bound),
            }
            for s in allocation.stages
        ],
    }


def gap(value: float | None, bound: float | None) -> float | None:
    """Relative gap |value − bound| / |value| (0 when both are 0), None when unknown."""
    if value is None or bound is None:
        return None
    if value == bound:
        return 0.0
    return abs(value - bound) / max(abs(value), 1e-9)


def median_run(runs: list[dict]) -> dict:
    """The middle run in the objective's order (coverage, then fairness, then travel): one
    whole allocation's figures, not a mix of several runs'."""
    ranked = sorted(
        runs, key=lambda r: (-r["coverage"], Decimal(r["worst_excess"]), r["travel_km"])
    )
    return ranked[(len(ranked) - 1) // 2]


def spread(r: dict) -> str:
    """Range of our runs' coverage, worst excess and travel ("" for a single run)."""
    runs = r.get("runs", [])
    if len(runs) < 2:
        return ""
    cover = [x["coverage"] for x in runs]
    excess = [float(x["worst_excess"]) for x in runs]
    travel = [x["travel_km"] for x in runs]
    return (
        f"{len(runs)} runs: {_pct(min(cover))}–{_pct(max(cover))}, "
        f"{_fmt(min(excess), 0)}–{_fmt(max(excess), 0)} €, "
        f"{_fmt(min(travel), 0)}–{_fmt(max(travel), 0)} km"
    )


def run_instance(name: str, time_limit: float, profile: bool, repeat: int = 1) -> dict:
    """Every method on one instance, in this process, with the same time budget (ours
    `repeat` times)."""
    t0 = time.perf_counter()
    problem = INSTANCES[name]()
    result: dict = {
        "instance": name,
        "items": len(problem.tender.items),
        "members": len(problem.members),
        "eligible_pairs": len(eligible_pairs(problem)),
        "generate_seconds": round(time.perf_counter() - t0, 2),
        "time_limit": time_limit,
        "methods": {},
    }
    ours = our_solver()
    if ours is not None:
        solve, build_seconds = ours
        from coop_tender.allocation.solve import pace

        built = build_seconds(problem)
        result["build_seconds"] = round(built, 3)
        # solve.pace, which decides whether the column phase fits, as solve() reads it.
        result["pace"] = round(pace(built, result["eligible_pairs"]), 2)
        kwargs = {"time_limit": time_limit}
        if "workers" in inspect.signature(solve).parameters:
            kwargs["workers"] = 2
        runs = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            allocation = solve(problem, **kwargs)
            runs.append(summary(problem, allocation, time.perf_counter() - t0))
        result["methods"]["ours"] = median_run(runs)
        if repeat > 1:
            result["runs"] = runs
        if profile:
            from coop_tender.allocation.model import build_model

            result["profile"] = {
                "build_model": profiled(lambda: build_model(problem)),
                "solve": profiled(lambda: solve(problem, **kwargs)),
            }
    allocation, seconds = highs_isolated(problem, time_limit)
    result["methods"]["highs"] = summary(problem, allocation, seconds)
    t0 = time.perf_counter()
    allocation = greedy.solve(problem)
    result["methods"]["greedy"] = summary(problem, allocation, time.perf_counter() - t0)
    result["ratios"] = ratios(result["methods"])
    return result


def _highs(problem: Problem, time_limit: float, conn: Connection) -> None:
    """The HiGHS peer in the child, timed there (imports excluded); sends (allocation, seconds)."""
    from bench import highs_peer

    t0 = time.perf_counter()
    allocation = highs_peer.solve(problem, time_limit)
    conn.send((allocation, time.perf_counter() - t0))
    conn.close()


def highs_isolated(problem: Problem, time_limit: float) -> tuple[Allocation, float]:
    """Run the HiGHS peer in a fresh child process, while this one waits, then kill the child.

    ortools and highspy both ship a `libhighs.so.1` of different versions: in one process the
    second to load resolves its symbols against the first's copy and fails to import. So the
    peer runs alone in a spawned child (same machine, same budget, one after the other). The
    child is killed once it has answered: a HiGHS stage that overran its time limit may still
    be computing in a thread there, and must not steal CPU from the next method.
    """
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_highs, args=(problem, time_limit, send))
    child.start()
    send.close()
    try:
        return receive.recv()
    finally:
        child.kill()
        child.join()


def profiled(call: Callable[[], object]) -> str:
    """The 15 costliest functions (cumulative time) of one call."""
    profiler = cProfile.Profile()
    profiler.runcall(call)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(15)
    return out.getvalue()


def ratios(methods: dict) -> dict:
    """Greedy's worst fairness excess over ours, HiGHS's travel over ours."""
    out: dict = {}
    ours = methods.get("ours")
    if not ours:
        return out
    mine = Decimal(ours["worst_excess"])
    theirs = Decimal(methods["greedy"]["worst_excess"])
    out["greedy_over_ours_excess"] = float(theirs / mine) if mine else ("inf" if theirs else 1.0)
    if ours["travel_km"] and methods["highs"]["travel_km"]:
        out["highs_over_ours_travel"] = round(methods["highs"]["travel_km"] / ours["travel_km"], 4)
    for method in ("ours", "highs"):
        travel = [s for s in methods[method]["stages"] if s["name"] == "travel"]
        if travel and travel[0]["gap"] is not None:
            out[f"{method}_travel_gap"] = travel[0]["gap"]
    return out


def _fmt(value: float | None, places: int = 2) -> str:
    return "–" if value is None else f"{value:,.{places}f}".replace(",", " ")


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f} %"


def readme_table(results: list[dict]) -> list[str]:
    """One row per instance: the figures the issue's targets are about."""
    repeated = any(r.get("runs") for r in results)
    lines = [
        "| instance | budget | ours: time | coverage | worst fairness excess: ours "
        "(greedy / ours) | travel: ours (HiGHS / ours) | travel gap to our bound | violations |"
        + (" ours: range |" if repeated else ""),
        "|---|---|---|---|---|---|---|---|" + ("---|" if repeated else ""),
    ]
    for r in results:
        ours, q = r["methods"].get("ours"), r.get("ratios", {})
        if not ours:
            continue
        excess = q.get("greedy_over_ours_excess")
        shown = excess if isinstance(excess, str) else _fmt(excess, 1) + " ×"
        violations = sum(m["violations"] for m in r["methods"].values())
        violations += sum(x["violations"] for x in r.get("runs", []))
        cover = [s["gap"] for s in ours["stages"] if s["name"] == "coverage" and s["gap"]]
        gap = f" (gap {_pct(cover[0])})" if cover else ""  # coverage not proven: to its bound
        lines.append(
            f"| {r['instance']} ({r['items']} sites) | {r['time_limit']:g} s "
            f"| {_fmt(ours['seconds'], 1)} s | {_pct(ours['coverage'])}{gap} "
            f"| {_fmt(float(ours['worst_excess']), 0)} € ({shown}) "
            f"| {_fmt(ours['travel_km'], 0)} km ({_fmt(q.get('highs_over_ours_travel'), 2)} ×) "
            f"| {_pct(q.get('ours_travel_gap'))} | {violations} |"
            + (f" {spread(r)} |" if repeated else "")
        )
    return lines


def _pace_line(results: list[dict]) -> list[str]:
    paces = [f"{r['instance']} {r['pace']:g}×" for r in results if r.get("pace") is not None]
    if not paces:
        return []
    return [
        "Machine pace at each instance's model build (× the engine's reference, never below 1;",
        f"solve.pace): {', '.join(paces)}.",
    ]


def markdown(results: list[dict], machine: str, when: str, load: str) -> str:
    """The results as Markdown tables: the README row per instance, a summary, per-stage."""
    lines = [
        "# Allocation benchmark results",
        "",
        f"Run {when} on {machine}; load average before the run: {load}.",
        *_pace_line(results),
        "Same time budget for CP-SAT (ours) and HiGHS (HiGHS runs in a child process, see",
        "docs/performance.md). Every figure below is recomputed from the allocation (checker,",
        "fairness excess, travel), not taken from the method's own report.",
        "",
        "## README table",
        "",
        *readme_table(results),
        "",
        "## All methods",
        "",
        "| instance | sites | members | eligible pairs | build (s) | method | time (s) | status "
        "| coverage | worst fairness excess (€) | travel (km) | violations |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for method, m in r["methods"].items():
            lines.append(
                f"| {r['instance']} (budget {r['time_limit']:g} s) | {r['items']} | {r['members']} "
                f"| {r['eligible_pairs']} | {_fmt(r.get('build_seconds'), 3)} | {method} "
                f"| {_fmt(m['seconds'])} | {m['status']} | {_pct(m['coverage'])} "
                f"| {_fmt(float(m['worst_excess']))} | {_fmt(m['travel_km'], 1)} "
                f"| {m['violations']} |"
            )
    lines += [
        "",
        "## Stages",
        "",
        "| instance | method | stage | time (s) | value | bound | gap | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for method, m in r["methods"].items():
            for s in m["stages"]:
                lines.append(
                    f"| {r['instance']} | {method} | {s['name']} | {_fmt(s['seconds'])} "
                    f"| {_fmt(s['value'])} | {_fmt(s['bound'])} | {_pct(s['gap'])} "
                    f"| {s['status']} |"
                )
    lines += [
        "",
        "## Ratios",
        "",
        "| instance | greedy / ours worst excess | HiGHS / ours travel | travel gap: ours "
        "| travel gap: HiGHS |",
    ]
    lines.append("|---|---|---|---|---|")
    for r in results:
        q = r.get("ratios", {})
        excess = q.get("greedy_over_ours_excess")
        shown = excess if isinstance(excess, str) else _fmt(excess, 1) + " ×"
        lines.append(
            f"| {r['instance']} | {shown if excess is not None else '–'} "
            f"| {_fmt(q.get('highs_over_ours_travel'), 4)} | {_pct(q.get('ours_travel_gap'))} "
            f"| {_pct(q.get('highs_travel_gap'))} |"
        )
    samples = [
        (r["instance"], method, v)
        for r in results
        for method, m in r["methods"].items()
        for v in m["violation_samples"][:2]
    ]
    if samples:
        lines += ["", "## Violations found by the checker (samples)", ""]
        lines += [f"- {i} / {method}: {v}" for i, method, v in samples]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(INSTANCES), help="run one instance")
    parser.add_argument("--skip-x40", action="store_true", help="leave out the ×40 instance")
    parser.add_argument("--time-limit", type=float, help="budget per method (default by size)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of ours (median shown)")
    parser.add_argument("--profile", action="store_true", help="cProfile build_model and solve")
    parser.add_argument("--out", type=Path, default=HERE, help="where results.md/json go")
    args = parser.parse_args(argv)
    names = (
        [args.only] if args.only else [n for n in INSTANCES if not (args.skip_x40 and n == "x40")]
    )
    if our_solver() is None:
        print("coop_tender.allocation.solve is not available yet: peers only.")
    machine = f"{platform.machine()}, {_cores()} cores, Python {platform.python_version()}"
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1 / 5 / 15 min)"
    results = []
    for name in names:
        budget = args.time_limit or BUDGET[name]
        print(f"… {name} (budget {budget:g} s)", flush=True)
        results.append(run_instance(name, budget, args.profile, max(1, args.repeat)))
    table = markdown(results, machine, when, load)
    write_atomic(args.out / "results.md", table)
    document = {"machine": machine, "run_at": when, "load_before": load, "results": results}
    write_atomic(args.out / "results.json", json.dumps(document, indent=2, ensure_ascii=False))
    print(table)
    for r in results:
        for label, text in r.get("profile", {}).items():
            print(f"--- profile {r['instance']} {label}\n{text}")
    return 0


def _cores() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    raise SystemExit(main())
