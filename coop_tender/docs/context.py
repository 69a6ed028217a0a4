"""One view-model of a tender response, built from the tender, the members and the allocation.

Every document and workbook reads the same `Dossier`, so a figure is computed once: each
co-contractor's amount is the sum of its sites' values (exact Decimals), and the offer is their
sum, which must equal the allocation's covered value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from coop_tender.errors import UserError
from coop_tender.models import (
    Allocation,
    Lot,
    Member,
    MemberResult,
    Period,
    Problem,
    ProviderMode,
    Role,
    Stage,
    Tender,
    WorkItem,
)
from coop_tender.money import CENT, to_euros
from coop_tender.workspace import WorkspaceConfig

VAT_RATE = Decimal("0.20")
"""VAT on sub-contracted services unless the tender states otherwise."""
DIRECT_PAYMENT_THRESHOLD = Decimal("600")
"""A sub-contractor is paid directly by the buyer from 600 € TTC (code de la commande publique)."""

KIND_LABELS = {
    "EI": "entreprise d'insertion (EI)",
    "ACI": "atelier et chantier d'insertion (ACI)",
    "AI": "association intermédiaire (AI)",
    "ETTI": "entreprise de travail temporaire d'insertion (ETTI)",
    "EITI": "entreprise d'insertion par le travail indépendant (EITI)",
    "other": "autre structure",
}
STATUS_LABELS = {
    "optimal": "optimal (prouvé)",
    "feasible": "réalisable, optimalité non prouvée",
    "infeasible": "infaisable",
    "unknown": "inconnu (temps écoulé)",
    "skipped": "non exécuté",
}


@dataclass
class MemberView:
    """A co-contractor as the documents show it."""

    member: Member
    result: MemberResult | None
    items: list[WorkItem]
    value: Decimal
    hours: int
    lots: list[str]
    services: str
    is_mandataire: bool = False

    @property
    def share(self) -> float:
        return self.result.share if self.result else 0.0

    @property
    def dependency(self) -> float | None:
        if self.result and self.result.dependency:
            return self.result.dependency
        turnover = self.member.annual_turnover
        return float(self.value / turnover) if turnover else None

    @property
    def turnover_rows(self) -> list[tuple[int, Decimal]]:
        """The last three years of declared turnover, most recent first."""
        return sorted(self.member.turnover_history.items(), reverse=True)[:3]


@dataclass
class LendLine:
    """Hours a provider lends to one co-contractor in one period, and their cost."""

    cocontractor: Member
    period: Period
    hours: int
    cost: Decimal


@dataclass
class LendTotal:
    """A provider's hours for one co-contractor over the contract, with the 480-hour check."""

    cocontractor: Member
    hours: int
    cost: Decimal
    workers: int
    limit: int | None
    workers_needed: int

    @property
    def within_limit(self) -> bool:
        return self.limit is None or self.hours <= self.limit

    @property
    def cost_ttc(self) -> Decimal:
        return (self.cost * (1 + VAT_RATE)).quantize(CENT)

    @property
    def direct_payment(self) -> bool:
        return self.cost_ttc >= DIRECT_PAYMENT_THRESHOLD


@dataclass
class ProviderView:
    """A provider (AI, ETTI, sub-contractor) and what it does for the co-contractors."""

    member: Member
    result: MemberResult | None
    mode: ProviderMode
    lines: list[LendLine]
    totals: list[LendTotal]
    hours: int
    cost: Decimal
    duration_months: int | None

    @property
    def document(self) -> str:
        """File stem of its dossier document."""
        if self.mode is ProviderMode.SOUS_TRAITANCE:
            return f"03-DC4-{self.member.id}"
        return f"03-mise-a-disposition-{self.member.id}"


@dataclass
class LotView:
    lot: Lot
    value: Decimal
    sites: int
    members: list[str]


@dataclass
class Dossier:
    """Everything the documents and workbooks print, computed once."""

    problem: Problem
    allocation: Allocation
    config: WorkspaceConfig
    lots: list[LotView]
    cocontractors: list[MemberView]
    providers: list[ProviderView]
    idle: list[Member]
    mandataire: MemberView | None
    offer: Decimal
    generated: date
    unassigned: list[WorkItem] = field(default_factory=list)

    @property
    def tender(self) -> Tender:
        return self.problem.tender

    @property
    def periods(self) -> dict[str, Period]:
        return {p.id: p for p in self.tender.periods}

    @property
    def territories(self) -> dict[str, str]:
        return {t.id: t.name for t in self.tender.territories}

    @property
    def stages(self) -> list[Stage]:
        return self.allocation.stages

    @property
    def insertion_ok(self) -> bool:
        return self.allocation.insertion_hours >= self.insertion_hours_min

    @property
    def insertion_hours_min(self) -> int:
        return self.tender.insertion_hours_min or self.allocation.insertion_hours_min

    @property
    def solidaire(self) -> bool:
        return self.config.groupement == "solidaire"

    @property
    def outside(self) -> list[tuple[str, MemberResult]]:
        """(name, result) of each member whose share falls outside its fairness window."""
        views = [(c.member.name, c.result) for c in self.cocontractors]
        views += [(p.member.name, p.result) for p in self.providers]
        return [(name, r) for name, r in views if r is not None and outside_window(r)]


def outside_window(result: MemberResult) -> bool:
    """Whether a member's share is outside its window (no window: never)."""
    low, high = result.window
    if (low, high) == (0.0, 0.0):
        return False
    return not low - 1e-6 <= result.share <= high + 1e-6


def _period(problem: Problem, period_id: str) -> Period:
    for p in problem.tender.periods:
        if p.id == period_id:
            return p
    return Period(id=period_id, label=period_id)


def _services(items: list[WorkItem], lots: dict[str, Lot]) -> str:
    """`peinture — lot 1 (3 sites), lot 2 (1 site)`."""
    trades = sorted({i.trade for i in items})
    per_lot: dict[str, int] = {}
    for i in items:
        per_lot[i.lot] = per_lot.get(i.lot, 0) + 1
    parts = [f"lot {lot} ({n} site{'s' if n > 1 else ''})" for lot, n in sorted(per_lot.items())]
    return f"{', '.join(trades).capitalize()} — {', '.join(parts)}"


def _months(problem: Problem, periods: list[str]) -> int | None:
    """Months covered by the periods (start of the first to end of the last), else the lots'."""
    spans = [p for p in (_period(problem, pid) for pid in periods) if p.start and p.end]
    if spans:
        start = min(p.start for p in spans if p.start)
        end = max(p.end for p in spans if p.end)
        return max(1, (end.year - start.year) * 12 + end.month - start.month + 1)
    for lot in problem.tender.lots:
        match = re.match(r"(\d+)\s*MONTH", lot.duration or "")
        if match:
            return int(match.group(1))
    return None


def _check_references(problem: Problem, allocation: Allocation) -> None:
    items = {i.id for i in problem.tender.items}
    members = {m.id: m for m in problem.members}
    problems = [f"site inconnu « {a.item} »" for a in allocation.assignments if a.item not in items]
    problems += [
        f"membre inconnu « {a.member} »" for a in allocation.assignments if a.member not in members
    ]
    problems += [
        f"membre inconnu « {h.provider} »"
        for h in allocation.provider_hours
        if h.provider not in members
    ]
    problems += [
        f"membre inconnu « {h.member} »"
        for h in allocation.provider_hours
        if h.member not in members
    ]
    if problems:
        raise UserError(
            "l'allocation ne correspond pas à ce dossier : " + "; ".join(problems[:5]), problems
        )


def build_context(
    problem: Problem, allocation: Allocation, config: WorkspaceConfig, today: date | None = None
) -> Dossier:
    """Assemble the view-model; raise `UserError` if the allocation does not fit the problem."""
    _check_references(problem, allocation)
    members = {m.id: m for m in problem.members}
    results = {r.member: r for r in allocation.members}
    items = {i.id: i for i in problem.tender.items}
    lots = {lot.id: lot for lot in problem.tender.lots}
    owner = allocation.member_of()

    cocontractors: list[MemberView] = []
    idle: list[Member] = []
    for m in problem.members:
        if m.role is not Role.COCONTRACTOR:
            continue
        mine = [items[i] for i, who in owner.items() if who == m.id]
        mine.sort(key=lambda i: (i.lot, i.period, i.id))
        if not mine:
            idle.append(m)
            continue
        cocontractors.append(
            MemberView(
                member=m,
                result=results.get(m.id),
                items=mine,
                value=sum((i.value for i in mine), Decimal("0.00")),
                hours=sum(i.hours for i in mine),
                lots=sorted({i.lot for i in mine}),
                services=_services(mine, lots),
                is_mandataire=m.id == config.mandataire,
            )
        )
    if not cocontractors:
        why = " ".join(allocation.explanation[:3])
        raise UserError(
            f"l'allocation n'attribue aucun site (statut {allocation.status}) : pas de dossier "
            f"à produire. {why}".strip()
        )
    offer = sum((c.value for c in cocontractors), Decimal("0.00"))
    if allocation.covered_value and to_euros(allocation.covered_value) != offer:
        raise UserError(
            f"l'allocation annonce {allocation.covered_value} € couverts mais ses sites totalisent "
            f"{offer} € : elle ne correspond pas à ce dossier"
        )

    limit_per_worker = problem.policy.ai_max_hours_per_worker
    providers: list[ProviderView] = []
    for m in problem.members:
        rows = [h for h in allocation.provider_hours if h.provider == m.id and h.hours > 0]
        if m.role is not Role.PROVIDER or not rows:
            continue
        rate = m.hourly_rate or Decimal("0.00")
        period_order = {p.id: n for n, p in enumerate(problem.tender.periods)}
        rows.sort(key=lambda h: (h.member, period_order.get(h.period, 0), h.period))
        lines = [
            LendLine(members[h.member], _period(problem, h.period), h.hours, rate * h.hours)
            for h in rows
        ]
        totals = []
        for cid in dict.fromkeys(h.member for h in rows):
            mine = [line for line in lines if line.cocontractor.id == cid]
            hrs = sum(line.hours for line in mine)
            is_mad = m.provider_mode is ProviderMode.MISE_A_DISPOSITION
            limit = limit_per_worker * m.workers if (is_mad and limit_per_worker) else None
            totals.append(
                LendTotal(
                    cocontractor=members[cid],
                    hours=hrs,
                    cost=sum((line.cost for line in mine), Decimal("0.00")),
                    workers=m.workers,
                    limit=limit,
                    workers_needed=math.ceil(hrs / limit_per_worker) if limit_per_worker else 0,
                )
            )
        providers.append(
            ProviderView(
                member=m,
                result=results.get(m.id),
                mode=m.provider_mode or ProviderMode.MISE_A_DISPOSITION,
                lines=lines,
                totals=totals,
                hours=sum(line.hours for line in lines),
                cost=sum((line.cost for line in lines), Decimal("0.00")),
                duration_months=_months(problem, [h.period for h in rows]),
            )
        )

    lot_views = []
    for lot in problem.tender.lots or [Lot(id=i.lot) for i in problem.tender.items[:1]]:
        lot_items = [i for i in problem.tender.items if i.lot == lot.id and i.id in owner]
        if not lot_items:
            continue
        who = sorted({owner[i.id] for i in lot_items})
        lot_views.append(
            LotView(
                lot=lot,
                value=sum((i.value for i in lot_items), Decimal("0.00")),
                sites=len(lot_items),
                members=[members[w].name for w in who],
            )
        )
    mandataire = next((c for c in cocontractors if c.is_mandataire), None)
    if config.mandataire and mandataire is None:
        if config.mandataire not in members:
            raise UserError(f"workspace.json : mandataire inconnu « {config.mandataire} »")
        raise UserError(
            f"workspace.json : le mandataire « {config.mandataire} » n'est pas co-traitant "
            "dans cette allocation"
        )
    if mandataire is None and cocontractors:
        mandataire = max(cocontractors, key=lambda c: (c.value, c.member.id))
        mandataire.is_mandataire = True
    return Dossier(
        problem=problem,
        allocation=allocation,
        config=config,
        lots=lot_views,
        cocontractors=cocontractors,
        providers=providers,
        idle=idle,
        mandataire=mandataire,
        offer=offer,
        generated=today or datetime.now(ZoneInfo("Europe/Paris")).date(),
        unassigned=[i for i in problem.tender.items if i.id not in owner],
    )
