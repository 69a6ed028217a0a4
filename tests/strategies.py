"""Hypothesis strategies for small random allocation problems (for the solver and checker tests).

`problems()` draws valid `Problem`s: 2–25 sites, 2–8 co-contractors, 0–3 providers, 1–3 periods,
1–3 territories, 1–2 trades, policies with some null fields, sometimes pins and forbids, and
capacities from generous to tight so that full, partial and infeasible cases all occur.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from coop_tender.models import Problem, luhn_ok

TRADES = ("peinture", "sols")
CENTRE = (48.91, 2.45)  # Seine-Saint-Denis


def siret_from(digits: str) -> str:
    """13 digits completed by the Luhn key digit into a valid SIRET."""
    return next(digits + str(d) for d in range(10) if luhn_ok(digits + str(d)))


@st.composite
def sirets(draw: st.DrawFn) -> str:
    """A valid SIRET (14 digits, Luhn key)."""
    return siret_from(draw(st.text("0123456789", min_size=13, max_size=13)))


def _coordinates(draw: st.DrawFn) -> tuple[float, float]:
    lat = CENTRE[0] + draw(st.integers(-800, 800)) / 10_000
    lon = CENTRE[1] + draw(st.integers(-1_500, 1_500)) / 10_000
    return lat, lon


def _subset(draw: st.DrawFn, pool: list[str]) -> list[str]:
    """A non-empty subset of pool, in pool order."""
    chosen = draw(st.sets(st.sampled_from(pool), min_size=1, max_size=len(pool)))
    return [x for x in pool if x in chosen]


def _maybe(draw: st.DrawFn, strategy: st.SearchStrategy, null_chance: int = 4) -> object:
    """The drawn value, or None about once in `null_chance` draws."""
    return None if draw(st.integers(0, null_chance - 1)) == 0 else draw(strategy)


@st.composite
def problems(
    draw: st.DrawFn,
    max_items: int = 25,
    max_members: int = 8,
    max_providers: int = 3,
) -> Problem:
    """A valid random Problem of small size."""
    periods = [f"P{k}" for k in range(1, draw(st.integers(1, 3)) + 1)]
    territories = [f"T{k}" for k in range(1, draw(st.integers(1, 3)) + 1)]
    trades = list(TRADES[: draw(st.integers(1, 2))])

    items = []
    for k in range(draw(st.integers(2, max(2, max_items)))):
        lat, lon = _coordinates(draw)
        hours = draw(st.integers(20, 400))
        cents = hours * draw(st.integers(3_000, 5_000)) + draw(st.integers(0, 99))
        territory = draw(st.sampled_from(territories))
        items.append(
            {
                "id": f"S{k:02d}",
                "lot": f"L-{territory}",
                "label": f"Site {k}",
                "territory": territory,
                "lat": lat,
                "lon": lon,
                "trade": draw(st.sampled_from(trades)),
                "period": draw(st.sampled_from(periods)),
                "hours": hours,
                "value": str(Decimal(cents) / 100),
            }
        )
    demand = {p: sum(i["hours"] for i in items if i["period"] == p) for p in periods}
    total_hours = sum(demand.values())
    total_value = sum(Decimal(i["value"]) for i in items)

    n_co = draw(st.integers(2, max(2, max_members)))
    n_pr = draw(st.integers(0, max_providers))
    tightness = draw(st.sampled_from([0.4, 0.8, 1.0, 1.3, 2.0]))  # own capacity / demand overall
    members = []
    for k in range(n_co + n_pr):
        provider = k >= n_co
        lat, lon = _coordinates(draw)
        capacity = {}
        for p in periods:
            if draw(st.integers(0, 5)) == 0:
                continue  # no declaration for this period: zero capacity
            scale = tightness / n_co if not provider else 0.3 / max(n_pr, 1)
            capacity[p] = int(demand[p] * scale * draw(st.integers(50, 200)) / 100)
        turnover = total_value * Decimal(draw(st.integers(5, 400))) / 100
        members.append(
            {
                "id": f"{'PR' if provider else 'CO'}{k:02d}",
                "name": f"Structure {k}",
                "siret": draw(sirets()),
                "kind": draw(
                    st.sampled_from(["AI", "ETTI"] if provider else ["EI", "ACI", "ETTI"])
                ),
                "role": "provider" if provider else "cocontractor",
                "lat": lat,
                "lon": lon,
                "territories": _subset(draw, territories),
                "trades": [] if provider else _subset(draw, trades),
                "capacity_hours": capacity,
                "annual_turnover": str(turnover.quantize(Decimal("0.01"))),
                "insertion_rate": draw(st.integers(0, 100)) / 100,
                "workers": draw(st.integers(0, 30)),
                "hourly_rate": f"{draw(st.integers(18, 30))}.50" if provider else None,
            }
        )

    co_ids = [m["id"] for m in members if m["role"] == "cocontractor"]
    target: object = draw(st.sampled_from(["capacity", "equal", "dict"]))
    if target == "dict":
        target = {m: draw(st.integers(1, 5)) / 10 for m in co_ids}
    item_ids = [i["id"] for i in items]
    pair = st.fixed_dictionaries(
        {"item": st.sampled_from(item_ids), "member": st.sampled_from(co_ids)}
    )
    pins = []
    if draw(st.integers(0, 3)) == 0:  # pins, mostly on pairs allowed by trade and territory
        for item in draw(st.lists(st.sampled_from(items), max_size=2, unique_by=lambda i: i["id"])):
            able = [
                m["id"]
                for m in members
                if m["role"] == "cocontractor"
                and item["trade"] in m["trades"]
                and item["territory"] in m["territories"]
            ]
            pins.append({"item": item["id"], "member": draw(st.sampled_from(able or co_ids))})
    forbids = draw(st.lists(pair, max_size=3)) if draw(st.integers(0, 2)) == 0 else []
    min_share = st.sampled_from([0.0, 0.05, 0.1])
    policy = {
        "target": target,
        "fairness_tolerance": _maybe(draw, st.sampled_from([0.0, 0.02, 0.1])),
        "max_dependency": _maybe(draw, st.sampled_from([0.3, 0.5, 1.0])),
        "max_provider_share": _maybe(draw, st.sampled_from([0.1, 0.3, 0.5])),
        "min_provider_share": _maybe(draw, min_share) if n_pr else _maybe(draw, st.just(0.0), 2),
        "max_distance_km": _maybe(draw, st.sampled_from([8.0, 15.0, 40.0]), 2),
        "ai_max_hours_per_worker": _maybe(draw, st.sampled_from([20, 100, 480])),
        "pins": pins,
        "forbids": forbids,
    }
    insertion = draw(st.sampled_from([0, 0, 0, 0.05, 0.2, 0.4]))
    tender = {
        "reference": "TEST-HYPOTHESIS",
        "insertion_hours_min": int(total_hours * insertion),
        "lots": [{"id": f"L-{t}"} for t in territories],
        "territories": [{"id": t, "name": f"Territoire {t}"} for t in territories],
        "periods": [{"id": p} for p in periods],
        "items": items,
    }
    return Problem.model_validate({"tender": tender, "members": members, "policy": policy})
