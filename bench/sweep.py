"""Robustness sweep: tenders unlike the benchmark's, drawn from the real SIAE directory.

Each variant is one French département: its SIAE (the national directory when `../shared` is
beside the checkout, else the 93's) are the members at their real addresses, the sites are
jittered SIAE addresses, split into 1–5 zones (territories); 1–12 periods, 1–3 trades of the
marketplace taxonomy, 15–600 sites, capacities from scarce to generous, random policies (targets,
tolerances, dependency, provider shares, distance caps, pins, forbids, social clauses). Every
answer is judged by the independent checker, not by the solver's bookkeeping:

    python -m bench.sweep --count 40            # variants 0..39
    python -m bench.sweep --first 17 --count 1  # one variant again

A variant fails when solve() raises, a rule is broken, the time limit is overrun by more than
half a second, a stage reports a bound on the wrong side of its value, "optimal" is claimed with
a stage unproven, or sites are left out without an explanation. Failing problems are written to
out/sweep/ for replay (`coop-tender allocate out/sweep/variant-N.json`). Exit 1 on any failure.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import math
import random
import sys
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from bench import greedy
from bench.run import highs_isolated, summary
from coop_tender.checker import check
from coop_tender.files import write_model
from coop_tender.models import Allocation, Problem, luhn_ok

ROOT = Path(__file__).resolve().parents[1]
FRANCE = ROOT.parent / "shared" / "data" / "reference" / "siae_france.csv"
LOCAL = ROOT / "data" / "reference" / "siae_93.csv"
SECTORS = ROOT / "data" / "reference" / "lemarche_0c_sectors.json"
RATES = {
    "ACI": (0.6, 1.0),
    "EI": (0.3, 0.8),
    "ETTI": (0.5, 1.0),
    "EITI": (0.5, 1.0),
    "AI": (0.7, 1.0),
}
OVERRUN = 0.5  # seconds over the limit tolerated (reading, reporting)
_solve = importlib.import_module("coop_tender.allocation.solve").solve


def _directory() -> dict[str, list[dict[str, str]]]:
    """SIAE with a valid SIRET and coordinates, by département (at least 20 of them)."""
    path = FRANCE if FRANCE.exists() else LOCAL
    with path.open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if luhn_ok(r["siret"]) and r["lat"] and r["lon"]]
    by_dep: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_dep[row["department"]].append(row)
    return {
        d: sorted(rs, key=lambda r: r["siret"]) for d, rs in sorted(by_dep.items()) if len(rs) >= 20
    }


def _trades() -> list[str]:
    return sorted(s["fields"]["slug"] for s in json.loads(SECTORS.read_text(encoding="utf-8")))


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Flat-earth km, enough to find the nearest zone centre."""
    return math.hypot((a[0] - b[0]) * 111.0, (a[1] - b[1]) * 111.0 * math.cos(math.radians(a[0])))


def _able(item: dict, members: list[dict], rng: random.Random) -> list[str]:
    """Co-contractors with the site's trade and territory: nine pins in ten go to one of them."""
    if rng.random() < 0.1:
        return []
    return [
        m["id"]
        for m in members
        if m["role"] == "cocontractor"
        and item["trade"] in m["trades"]
        and item["territory"] in m["territories"]
    ]


def variant(n: int) -> tuple[str, Problem, float]:
    """Variant n: a description, the problem and the time limit (same figures on every run)."""
    rng = random.Random(1000 + n)
    directory = _directory()
    dep = rng.choice(sorted(directory))
    siae = directory[dep]
    where = [(float(r["lat"]), float(r["lon"])) for r in siae]
    zones = rng.randint(1, 5)
    centres = rng.sample(where, zones)

    def zone(point: tuple[float, float]) -> str:
        return f"Z{min(range(zones), key=lambda z: _km(point, centres[z])) + 1}"

    periods = [f"2027-{m:02d}" for m in range(1, rng.choice([1, 2, 3, 4, 6, 12]) + 1)]
    trades = rng.sample(_trades(), rng.randint(1, 3))
    n_sites = rng.choice([15, 40, 80, 150, 300, 600])
    items = []
    for k in range(n_sites):
        base = rng.choice(where)
        lat, lon = base[0] + rng.uniform(-0.03, 0.03), base[1] + rng.uniform(-0.04, 0.04)
        hours = rng.randrange(20, 900)
        cents = hours * rng.randrange(2_500, 6_000) + rng.randrange(100)
        items.append(
            {
                "id": f"SITE-{k:04d}",
                "lot": zone((lat, lon)),
                "label": f"Bâtiment {k}",
                "territory": zone((lat, lon)),
                "lat": round(lat, 6),
                "lon": round(lon, 6),
                "trade": rng.choice(trades),
                "period": rng.choice(periods),
                "hours": hours,
                "value": str(Decimal(cents) / 100),
            }
        )
    demand: dict[tuple[str, str], int] = defaultdict(int)
    for it in items:
        demand[it["territory"], it["period"]] += it["hours"]
    total_value = sum(Decimal(i["value"]) for i in items)
    total_hours = sum(i["hours"] for i in items)

    companies = [r for r in siae if r["kind"] in ("EI", "ACI", "ETTI", "EITI")]
    lenders = [r for r in siae if r["kind"] in ("AI", "ETTI")]
    cos = rng.sample(companies, min(len(companies), rng.randint(2, 30)))
    prs = rng.sample(lenders, min(len(lenders), rng.randint(1, 6) if rng.random() < 0.85 else 0))
    prs = [r for r in prs if r not in cos]
    tightness = rng.choice([0.5, 0.9, 1.2, 2.0])
    all_zones = sorted({i["territory"] for i in items} | {f"Z{z + 1}" for z in range(zones)})
    members = []
    for k, row in enumerate(cos + prs):
        provider = k >= len(cos)
        home = zone((float(row["lat"]), float(row["lon"])))
        served = sorted({home, *rng.sample(all_zones, rng.randint(0, len(all_zones)))})
        capacity = {}
        for p in periods:
            if rng.random() < 0.1:
                continue  # this period not declared: no capacity
            need = sum(demand[z, p] for z in served)
            share = 0.25 / max(len(prs), 1) if provider else tightness * len(served) / len(cos)
            capacity[p] = int(need * share * rng.uniform(0.5, 1.5) / max(len(served), 1))
        fair = total_value / len(cos)
        turnover = fair * Decimal(rng.choice(["0.3", "1", "2", "5", "20"]))
        members.append(
            {
                "id": f"{'PR' if provider else 'CO'}{k:02d}",
                "name": row["name"][:200] or f"Structure {k}",
                "siret": row["siret"],
                "kind": row["kind"],
                "role": "provider" if provider else "cocontractor",
                "lat": float(row["lat"]),
                "lon": float(row["lon"]),
                "territories": served,
                "trades": [] if provider else rng.sample(trades, rng.randint(1, len(trades))),
                "capacity_hours": capacity,
                "annual_turnover": str(turnover.quantize(Decimal("0.01"))),
                "insertion_rate": round(rng.uniform(*RATES[row["kind"]]), 2),
                "workers": rng.randint(0, 40),
                "hourly_rate": f"{rng.randint(18, 30)}.50" if provider else None,
            }
        )
    desc = [f"dep {dep}", f"{n_sites} sites", f"{len(cos)}+{len(prs)} members"]
    desc += [f"{len(periods)}p", f"{len(trades)}t", f"{zones}z", f"cap×{tightness}"]
    policy: dict[str, object] = {"target": rng.choice(["capacity", "capacity", "equal", "dict"])}
    if policy["target"] == "dict":
        policy["target"] = {m["id"]: rng.randint(1, 5) / 10 for m in members if m["id"][:2] == "CO"}
    for name, choices in (
        ("fairness_tolerance", [0.0, 0.02, 0.1, None]),
        ("max_dependency", [0.3, 0.5, 1.0, None]),
        ("max_provider_share", [0.1, 0.3, 0.5, None]),
        ("min_provider_share", [0.0, 0.05, 0.1, None]),
        ("max_distance_km", [None, None, 10.0, 25.0, 60.0]),
        ("ai_max_hours_per_worker", [20, 480, None]),
    ):
        if rng.random() < 0.5:
            policy[name] = rng.choice(choices)
            desc.append(f"{name}={policy[name]}")
    co_ids = [m["id"] for m in members if m["role"] == "cocontractor"]
    if rng.random() < 0.2:
        policy["pins"] = [
            {"item": it["id"], "member": rng.choice(_able(it, members, rng) or co_ids)}
            for it in rng.sample(items, 3)
        ]
        desc.append("pins")
    if rng.random() < 0.3:
        policy["forbids"] = [
            {"item": it["id"], "member": rng.choice(co_ids)}
            for it in rng.sample(items, min(10, n_sites))
        ]
        desc.append("forbids")
    social = rng.choice([0, 0.1, 0.2, 0.35, 0.5])
    desc.append(f"clause {social:.0%}")
    tender = {
        "reference": f"SWEEP-{n}",
        "title": f"Entretien des bâtiments publics ({dep})",
        "insertion_hours_min": int(total_hours * social),
        "lots": [{"id": z, "territory": z} for z in all_zones],
        "territories": [{"id": z, "name": f"Zone {z[1:]}"} for z in all_zones],
        "periods": [{"id": p} for p in periods],
        "items": items,
    }
    problem = {"tender": tender, "members": members, "policy": policy}
    return " ".join(desc), Problem.model_validate(problem), rng.choice([3.0, 5.0, 10.0, 20.0])


def judge(problem: Problem, allocation: Allocation, seconds: float, limit: float) -> list[str]:
    """What is wrong with this answer (empty when nothing is)."""
    faults = [f"rule: {v}" for v in check(problem, allocation)]
    if seconds > limit + OVERRUN:
        faults.append(f"time: {seconds:.2f} s for a limit of {limit:.0f} s")
    for stage in allocation.stages:
        if stage.value is None or stage.bound is None:
            continue
        wrong = stage.value > stage.bound + 1e-6 if stage.name == "coverage" else False
        wrong |= stage.name != "coverage" and stage.value < stage.bound - 1e-6
        if wrong:
            faults.append(f"bound: {stage.name} value {stage.value} bound {stage.bound}")
    if allocation.status == "optimal" and any(s.status != "optimal" for s in allocation.stages):
        faults.append("status: optimal with a stage unproven")
    if (allocation.unassigned or allocation.status == "infeasible") and not allocation.explanation:
        faults.append("explanation: sites left out, nothing said")
    json.loads(allocation.model_dump_json())  # what the CLI writes must serialise
    return faults


def versus(problem: Problem, ours: Allocation, peer: Allocation) -> str:
    """Where ours is better or worse than a peer's answer in the objective's order (coverage,
    fairness, travel), figures recomputed from both ("peer invalid" if it breaks a rule)."""
    if check(problem, peer):
        return "peer invalid"
    a, b = summary(problem, ours, 0.0), summary(problem, peer, 0.0)
    steps = (
        ("coverage", Decimal(b["covered_value"]) - Decimal(a["covered_value"]), Decimal("0.01")),
        ("fairness", Decimal(a["worst_excess"]) - Decimal(b["worst_excess"]), Decimal("0.01")),
        ("travel", Decimal(str(a["travel_km"])) - Decimal(str(b["travel_km"])), Decimal("0.05")),
    )
    figures = (
        f"(ours {a['covered_value']} €, {a['worst_excess']} €, {a['travel_km']} km; "
        f"peer {b['covered_value']} €, {b['worst_excess']} €, {b['travel_km']} km)"
    )
    for name, worse_by, tie in steps:
        if worse_by > tie:
            return f"worse on {name} {figures}"
        if worse_by < -tie:
            return f"better on {name} {figures}"
    return f"same {figures}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--peers", action="store_true", help="also run the greedy and HiGHS")
    args = parser.parse_args(argv)
    failed = 0
    verdicts: dict[str, int] = defaultdict(int)
    comparisons: dict[tuple[str, str], int] = defaultdict(int)
    for n in range(args.first, args.first + args.count):
        desc, problem, limit = variant(n)
        start = time.perf_counter()
        try:
            allocation = _solve(problem, time_limit=limit)
            seconds = time.perf_counter() - start
            faults = judge(problem, allocation, seconds, limit)
        except Exception as error:  # the sweep reports every crash
            seconds, faults, allocation = (
                time.perf_counter() - start,
                [f"exception: {error!r}"],
                None,
            )
        status = allocation.status if allocation else "crash"
        verdicts[status] += 1
        left = len(allocation.unassigned) if allocation else "-"
        print(
            f"{n:3d} {limit:4.0f} s {seconds:6.2f} s {status:10s} left {left!s:>4} "
            f"{'FAIL' if faults else 'ok  '} | {desc}",
            flush=True,
        )
        if args.peers and allocation and allocation.status in ("optimal", "feasible"):
            for name, peer in (
                ("greedy", greedy.solve(problem)),
                ("highs", highs_isolated(problem, limit)[0]),
            ):
                verdict = versus(problem, allocation, peer)
                comparisons[name, verdict.split(" (")[0]] += 1
                print(f"      vs {name}: {verdict}", flush=True)
        for fault in faults[:5]:
            print(f"      {fault}", flush=True)
        if faults:
            failed += 1
            out = ROOT / "out" / "sweep" / f"variant-{n}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            write_model(out, problem)
    print(
        f"{args.count} variants, {failed} failed; "
        + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items()))
    )
    for (name, verdict), count in sorted(comparisons.items()):
        print(f"ours vs {name}: {verdict} {count}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
