"""Coverage of the tender's demand by the members' declared capacity, per territory and period.

A plain function (no Prefect) so that it is tested alone and the flow only calls it: it tells
the coordinator, before the solver runs, where the declared hours cannot cover the work.
"""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel, Field, computed_field

from coop_tender.models import Member, Problem, Role, Tender


class CoverageRow(BaseModel):
    """Demand against declared capacity in one territory and one period (hours)."""

    territory: str
    territory_name: str
    period: str
    demand_hours: int
    cocontractor_hours: int
    provider_hours: int = Field(description="every provider hour declared, before the policy cap")
    usable_provider_hours: int = Field(description="the provider hours that count: capped")
    members: list[str]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def capacity_hours(self) -> int:
        """The hours that count against the demand: co-contractors' plus usable providers'."""
        return self.cocontractor_hours + self.usable_provider_hours

    @computed_field  # type: ignore[prop-decorator]
    @property
    def shortfall_hours(self) -> int:
        return max(0, self.demand_hours - self.capacity_hours)

    @property
    def covered(self) -> bool:
        return self.shortfall_hours == 0


def coverage(problem: Problem) -> list[CoverageRow]:
    """One row per (territory, period) with work: the hours asked and the hours declared."""
    return coverage_rows(problem.tender, problem.members, problem.policy.max_provider_share)


def coverage_rows(
    tender: Tender, members: list[Member], max_provider_share: float | None
) -> list[CoverageRow]:
    """One row per (territory, period) with work, sorted, without needing a validated `Problem`.

    Capacity counts every member serving the territory with hours in the period; co-contractors
    only with at least one trade the work there needs (providers lend workers to any trade). A
    member serving several territories counts fully in each (an upper bound: the solver shares it
    out). Providers' hours count at most `max_provider_share` of the demand (None: no cap), as the
    policy caps what they may lend into a co-contractor. The portal shows the same figures.
    """
    demand: dict[tuple[str, str], int] = defaultdict(int)
    trades: dict[tuple[str, str], set[str]] = defaultdict(set)
    for item in tender.items:
        demand[item.territory, item.period] += item.hours
        trades[item.territory, item.period].add(item.trade)
    names = {t.id: t.name for t in tender.territories}
    rows = []
    for (territory, period), hours in sorted(demand.items()):
        own = lent = 0
        who: list[str] = []
        for m in members:
            if territory not in m.territories or not m.capacity_hours.get(period):
                continue
            if m.role is Role.COCONTRACTOR:
                if not trades[territory, period] & set(m.trades):
                    continue
                own += m.capacity_hours[period]
            else:
                lent += m.capacity_hours[period]
            who.append(m.id)
        rows.append(
            CoverageRow(
                territory=territory,
                territory_name=names.get(territory, territory),
                period=period,
                demand_hours=hours,
                cocontractor_hours=own,
                provider_hours=lent,
                usable_provider_hours=usable_provider_hours(lent, hours, max_provider_share),
                members=who,
            )
        )
    return rows


def usable_provider_hours(lent: int, demand: int, max_provider_share: float | None) -> int:
    """Providers' hours that may count against `demand`: at most the policy's share of it."""
    return lent if max_provider_share is None else min(lent, int(demand * max_provider_share))


def shortfall_sentences(rows: list[CoverageRow]) -> list[str]:
    """French sentences for the coordinator, one per territory and period not covered."""
    return [
        f"{r.territory_name}, {r.period} : {r.demand_hours} h de travaux, "
        f"{r.cocontractor_hours} h déclarées par les cotraitants qui couvrent ce territoire"
        f" et {r.provider_hours} h par les structures de mise à disposition — "
        f"il manque {r.shortfall_hours} h"
        for r in rows
        if r.shortfall_hours
    ]
