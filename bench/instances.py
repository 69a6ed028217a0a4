"""Benchmark instances built from the reference data of the 93 (collèges, communes, SIAE).

The seed case: the 130 public collèges are the sites, the four EPT the territories, three school
holiday periods, 14 co-contractors and the 5 AI of the 93 at their real addresses with invented
capacities (full coverage feasible but not trivial). `scaled(k)` replicates the territories k
times (shifted coordinates, renamed ids) with their members; `dense(k)` puts k copies of the
sites and members in the same territories (one region); `tight()` removes capacity from one
territory in summer so that only part of it can be covered. Everything is seeded: same figures
on every run.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from coop_tender.geo import great_circle_km
from coop_tender.models import Member, Problem, Role, luhn_ok

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference"
SEED = 2013  # the year the network started repainting the collèges

EPT = {
    "Plaine Commune": "plaine-commune",
    "Est Ensemble": "est-ensemble",
    "Grand Paris Grand Est": "gpge",
    "Paris Terres d'Envol": "pte",
}
NEIGHBOUR = {  # the second territory each member serves: around the ring of the four EPT
    "plaine-commune": "est-ensemble",
    "est-ensemble": "gpge",
    "gpge": "pte",
    "pte": "plaine-commune",
}
PERIODS = [("hiver", "Vacances d'hiver", 0.2), ("printemps", "Vacances de printemps", 0.25)]
PERIODS.append(("ete", "Vacances d'été", 0.55))
COCONTRACTORS_PER_EPT = {"plaine-commune": 4, "est-ensemble": 4, "gpge": 3, "pte": 3}
OWN_CAPACITY = 0.9  # members' own hours / demand of their home territory, per period
PROVIDER_CAPACITY = 0.25  # AI hours / demand of the whole network, per period
SHIFT = (0.25, 0.45)  # degrees between replicated copies (about 28 km by 33 km)


def _rows(name: str) -> list[dict[str, str]]:
    with (REFERENCE / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _siret(seed: str) -> str:
    """A valid SIRET from 13 digits (the Luhn key completes it)."""
    return next(seed + str(d) for d in range(10) if luhn_ok(seed + str(d)))


def seed_problem() -> Problem:
    """The seed case: 130 collèges, 14 co-contractors, 5 AI providers, 3 periods, 4 EPT."""
    rng = random.Random(SEED)
    items = []
    for row in sorted(_rows("colleges_publics_93.csv"), key=lambda r: r["numero_uai"]):
        hours = rng.randrange(250, 900, 10)
        rate = rng.randrange(3_800, 4_600)  # cents per hour
        period = rng.choices([p for p, _, _ in PERIODS], [w for _, _, w in PERIODS])[0]
        territory = EPT[row["ept_nom"]]
        items.append(
            {
                "id": row["numero_uai"],
                "lot": territory,
                "label": row["appellation_officielle"],
                "territory": territory,
                "commune": row["code_commune_cog2025"],
                "lat": float(row["latitude"]),
                "lon": float(row["longitude"]),
                "trade": "peinture",
                "period": period,
                "hours": hours,
                "value": str(Decimal(hours * rate) / 100),
            }
        )
    demand: dict[tuple[str, str], int] = defaultdict(int)
    for item in items:
        demand[item["territory"], item["period"]] += item["hours"]
    total_value = sum(Decimal(i["value"]) for i in items)

    postcode_ept = {}
    for commune in _rows("communes_93.csv"):
        for code in commune["codes_postaux"].replace("|", " ").split():
            postcode_ept[code] = EPT[commune["ept_nom"]]
    siae = sorted(_rows("siae_93.csv"), key=lambda r: r["siret"])
    members = []
    for territory, count in COCONTRACTORS_PER_EPT.items():
        pool = [
            r
            for r in siae
            if r["kind"] in ("EI", "ACI", "ETTI")
            and postcode_ept.get(r["post_code"]) == territory
            and luhn_ok(r["siret"])
        ]
        for row in rng.sample(pool, count):
            fair_share = total_value / 14
            capacity = {
                p: int(demand[territory, p] * OWN_CAPACITY / count * rng.uniform(0.8, 1.2))
                for p, _, _ in PERIODS
            }
            members.append(
                _member(row, territory, Role.COCONTRACTOR, capacity, rng, fair_share, rng.random())
            )
    network = {p: sum(h for (_, q), h in demand.items() if q == p) for p, _, _ in PERIODS}
    ai = [r for r in siae if r["kind"] == "AI"]
    for row in ai:
        territory = postcode_ept[row["post_code"]]
        capacity = {
            p: int(network[p] * PROVIDER_CAPACITY / len(ai) * rng.uniform(0.8, 1.2))
            for p, _, _ in PERIODS
        }
        members.append(_member(row, territory, Role.PROVIDER, capacity, rng, Decimal(0), 0))
    total_hours = sum(i["hours"] for i in items)
    tender = {
        "reference": "BENCH-COLLEGES-93",
        "title": "Peinture des collèges publics de la Seine-Saint-Denis",
        "insertion_hours_min": int(total_hours * 0.6),
        "lots": [{"id": t, "territory": t} for t in EPT.values()],
        "territories": [{"id": t, "name": name} for name, t in EPT.items()],
        "periods": [{"id": p, "label": label} for p, label, _ in PERIODS],
        "items": items,
    }
    policy = {"target": "capacity", "fairness_tolerance": 0.02, "max_dependency": 0.5}
    return Problem.model_validate({"tender": tender, "members": members, "policy": policy})


def _member(
    row: dict[str, str],
    territory: str,
    role: Role,
    capacity: dict[str, int],
    rng: random.Random,
    fair_share: Decimal,
    draw: float,
) -> dict:
    """A member at a real SIAE's address; one co-contractor in six is dependency-bound."""
    provider = role is Role.PROVIDER
    if provider:
        turnover = Decimal(rng.randrange(300_000, 800_000))
        territories = [territory, NEIGHBOUR[territory]]
    else:
        factor = Decimal("1.6") if draw < 1 / 6 else Decimal(rng.randrange(25, 60)) / 10
        turnover = (fair_share * factor).quantize(Decimal("1"))
        territories = [territory, NEIGHBOUR[territory]]
    return {
        "id": f"m{row['siret']}",
        "name": row["name"][:200],
        "siret": row["siret"],
        "kind": row["kind"],
        "role": role.value,
        "lat": float(row["lat"]),
        "lon": float(row["lon"]),
        "territories": territories,
        "trades": [] if provider else ["peinture"],
        "capacity_hours": capacity,
        "annual_turnover": str(turnover),
        "insertion_rate": round(rng.uniform(0.9, 1.0) if provider else rng.uniform(0.55, 0.85), 2),
        "workers": rng.randrange(10, 40) if provider else rng.randrange(8, 30),
        "hourly_rate": f"{rng.randrange(21, 25)}.00" if provider else None,
        "address": row["address_line_1"],
        "postcode": row["post_code"],
    }


def scaled(factor: int, base: Problem | None = None) -> Problem:
    """`factor` copies of the territories, sites and members, side by side on a grid."""
    base = base or seed_problem()
    if factor == 1:
        return base
    data = base.model_dump(mode="json")
    tender, members = data["tender"], data["members"]

    def rename(copy: int, ident: str) -> str:
        return f"x{copy:02d}-{ident}"

    def shift(copy: int, record: dict) -> dict:
        row, col = divmod(copy, 5)
        return record | {
            "lat": record["lat"] + row * SHIFT[0],
            "lon": record["lon"] + col * SHIFT[1],
        }

    new_tender = tender | {
        "reference": f"{tender['reference']}-X{factor}",
        "insertion_hours_min": tender["insertion_hours_min"] * factor,
        "lots": [],
        "territories": [],
        "items": [],
    }
    new_members = []
    for c in range(factor):
        new_tender["lots"] += [
            lot | {"id": rename(c, lot["id"]), "territory": rename(c, lot["territory"])}
            for lot in tender["lots"]
        ]
        new_tender["territories"] += [
            t | {"id": rename(c, t["id"]), "name": f"{t['name']} ({c + 1})"}
            for t in tender["territories"]
        ]
        new_tender["items"] += [
            shift(c, i)
            | {
                "id": rename(c, i["id"]),
                "lot": rename(c, i["lot"]),
                "territory": rename(c, i["territory"]),
            }
            for i in tender["items"]
        ]
        for m in members:
            siret = _siret(f"{(int(m['siret'][:13]) + 7_919 * c) % 10**13:013d}")
            new_members.append(
                shift(c, m)
                | {
                    "id": rename(c, m["id"]),
                    "name": f"{m['name']} ({c + 1})",
                    "siret": siret,
                    "territories": [rename(c, t) for t in m["territories"]],
                }
            )
    return Problem.model_validate(
        {"tender": new_tender, "members": new_members, "policy": data["policy"]}
    )


def dense(factor: int, base: Problem | None = None) -> Problem:
    """`factor` copies of the sites and members in the same four territories, a few hundred
    metres apart: one region (every member shares territories with others), unlike `scaled`,
    whose copies never trade a site. Each collège stands for `factor` buildings."""
    base = base or seed_problem()
    data = base.model_dump(mode="json")
    tender, members = data["tender"], data["members"]
    rng = random.Random(SEED + factor)

    def jitter(record: dict) -> dict:
        return record | {
            "lat": record["lat"] + rng.uniform(-0.004, 0.004),
            "lon": record["lon"] + rng.uniform(-0.006, 0.006),
        }

    items, new_members = [], []
    for c in range(factor):
        items += [jitter(i) | {"id": f"d{c:02d}-{i['id']}"} for i in tender["items"]]
        for m in members:
            siret = _siret(f"{(int(m['siret'][:13]) + 7_919 * c) % 10**13:013d}")
            new_members.append(
                jitter(m)
                | {"id": f"d{c:02d}-{m['id']}", "name": f"{m['name']} ({c + 1})", "siret": siret}
            )
    new_tender = tender | {
        "reference": f"{tender['reference']}-D{factor}",
        "insertion_hours_min": tender["insertion_hours_min"] * factor,
        "items": items,
    }
    return Problem.model_validate(
        {"tender": new_tender, "members": new_members, "policy": data["policy"]}
    )


def tight(base: Problem | None = None, factor: float = 0.7) -> Problem:
    """The seed case with every co-contractor at 70 % of its summer capacity.

    Summer demand then exceeds what members and AI can supply together (about 0.9 × demand), so
    only part of the summer sites can be covered: the partial-coverage case.
    """
    base = base or seed_problem()
    members = []
    for m in base.members:
        if m.role is Role.COCONTRACTOR:
            hours = dict(m.capacity_hours, ete=int(m.capacity_hours.get("ete", 0) * factor))
            m = m.model_copy(update={"capacity_hours": hours})
        members.append(m)
    return base.model_copy(update={"members": members})


def eligible_pairs(problem: Problem) -> list[tuple[str, str]]:
    """(item, co-contractor) pairs allowed by trade, territory, distance and forbids (rule 1–2)."""
    limit = problem.policy.max_distance_km
    forbidden = {(f.item, f.member) for f in problem.policy.forbids}
    by_key: dict[tuple[str, str], list[Member]] = defaultdict(list)
    for m in problem.members:
        if m.role is Role.COCONTRACTOR and not m.declined:
            for t in m.territories:
                for trade in m.trades:
                    by_key[t, trade].append(m)
    pairs = []
    for item in problem.tender.items:
        for m in by_key[item.territory, item.trade]:
            if (item.id, m.id) in forbidden:
                continue
            if limit is not None and great_circle_km(m.lat, m.lon, item.lat, item.lon) > limit:
                continue
            pairs.append((item.id, m.id))
    return pairs


INSTANCES = {
    "seed": lambda: seed_problem(),
    "seed60": lambda: seed_problem(),  # the same tender at the CLI's default time limit
    "tight": lambda: tight(),
    "x10": lambda: scaled(10),
    "x40": lambda: scaled(40),
    "tight10": lambda: tight(scaled(10)),
    "dense4": lambda: dense(4),
}
