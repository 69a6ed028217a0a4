"""What the coordinator's page shows: who answered, what is wrong, capacity against demand.

Capacity against demand uses the flow's definition, `coop_tender.coverage.coverage_rows`, so the
page and the flow's coverage check never disagree. Only members that do not decline count. In a
territory and period with work, the capacity shown is what coverage counts as usable there:
the hours of the co-contractors serving the territory with at least one trade that work needs,
plus the providers' hours serving it, capped at the policy's `max_provider_share` of the demand
(policy.json, else the `Policy` default); the shortfall is coverage's `shortfall_hours`. A
member serving several territories counts fully in each: a cell's capacity is an upper bound.
A cell without work shows 0 / 0 (nothing there needs or uses hours).

The per-period line counts each member once: the co-contractors and providers that count in at
least one cell of the period, providers' hours capped by the sum of the cells' usable provider
hours. Its shortfall is the larger of demand minus that capacity and the sum of the cells'
shortfalls (hours free in one territory do not fill another's gap), so it is certain.

When the tender cannot be read, demand is unknown (None) and so are the trades and the cap:
the capacity shown is then every declared hour of the members serving the territory (per
period: of every member), with no shortfall.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from coop_tender.coverage import CoverageRow, coverage_rows
from coop_tender.errors import UserError
from coop_tender.models import Member, Policy, Role, Tender
from coop_tender.store import Invitation, Store
from coop_tender.workspace import Workspace


@dataclass
class MemberRow:
    member: Member
    answered: bool
    last_submission: datetime | None
    source: str | None
    invitation: str  # "aucun lien", "actif", "expiré", "révoqué"
    problems: list[str] = field(default_factory=list)


@dataclass
class Cell:
    """Hours that count against the demand (None: tender unreadable) and the hours missing."""

    capacity: int
    demand: int | None
    shortfall: int = 0


@dataclass
class Totals:
    territories: list[tuple[str, str]]  # (id, name)
    periods: list[tuple[str, str]]  # (id, label)
    cells: dict[tuple[str, str], Cell]
    per_period: dict[str, Cell]
    tender_error: str | None
    policy_error: str | None = None


def all_members(workspace: Workspace, store: Store) -> dict[str, Member]:
    """Every member known: seed files, overridden by the latest stored declaration."""
    by_id = {m.id: m for m in workspace.seed_members()}
    by_id.update(store.latest_declarations())
    return dict(sorted(by_id.items()))


def _invitation_state(inv: Invitation | None, now: datetime) -> str:
    if inv is None:
        return "aucun lien"
    if inv.revoked_at is not None:
        return "révoqué"
    return "actif" if inv.valid_at(now) else "expiré"


def member_problems(member: Member, workspace: Workspace) -> list[str]:
    """What the coordinator should chase in a declaration before running the allocation."""
    if member.declined:
        return []
    config = workspace.config
    problems = []
    territories = {t.id for t in config.territories}
    periods = {p.id for p in config.periods}
    unknown = [t for t in member.territories if territories and t not in territories]
    if unknown:
        problems.append(f"territoire(s) inconnu(s) : {', '.join(unknown)}")
    if not member.territories:
        problems.append("aucun territoire desservi")
    bad_periods = [p for p in member.capacity_hours if periods and p not in periods]
    if bad_periods:
        problems.append(f"période(s) inconnue(s) : {', '.join(bad_periods)}")
    if member.total_capacity == 0:
        problems.append("aucune heure disponible déclarée")
    if member.role is Role.PROVIDER and member.hourly_rate is None:
        problems.append("tarif horaire de mise à disposition manquant")
    if member.role is Role.COCONTRACTOR and not member.trades:
        problems.append("aucun métier déclaré")
    missing = [
        label
        for name, label in (
            ("address", "adresse"),
            ("representative", "représentant"),
            ("insurance", "assurance"),
        )
        if not getattr(member, name)
    ]
    if missing:
        problems.append(f"pièces du dossier manquantes : {', '.join(missing)}")
    return problems


def member_rows(workspace: Workspace, store: Store, now: datetime) -> list[MemberRow]:
    members = all_members(workspace, store)
    latest = store.latest()
    answered = store.answered()
    invitations = store.invitations()
    rows = []
    for member_id, member in members.items():
        decl = latest.get(member_id)
        row = MemberRow(
            member=member,
            answered=member_id in answered,
            last_submission=decl.created_at
            if decl and not decl.source.startswith("seed")
            else None,
            source=decl.source if decl else None,
            invitation=_invitation_state(invitations.get(member_id), now),
            problems=member_problems(member, workspace),
        )
        refused = [e for e in store.events(member_id, limit=20) if e.what == "refused"]
        if refused and (row.last_submission is None or refused[0].at > row.last_submission):
            row.problems.insert(0, f"dernier envoi refusé : {refused[0].detail}")
        rows.append(row)
    return rows


def read_tender(workspace: Workspace) -> tuple[Tender | None, str | None]:
    """The tender, or None and a French sentence saying why it cannot be read."""
    try:
        return workspace.tender(), None
    except Exception as exc:  # a missing or unreadable notice/DQE must not break the page
        return None, f"l'avis ou le DQE ne peut pas être lu ({exc}) : la demande n'est pas affichée"


def provider_share(workspace: Workspace) -> tuple[float | None, str | None]:
    """The policy's `max_provider_share`, or the `Policy` default and why when unreadable."""
    try:
        return workspace.policy().max_provider_share, None
    except UserError as exc:
        share = Policy().max_provider_share
        cap = (
            "pas de plafond pour les heures mises à disposition"
            if share is None
            else f"heures mises à disposition plafonnées à {share * 100:g}\u202f% de la demande"
        )
        return share, f"les règles du groupement ne peuvent pas être lues ({exc}) : {cap}"


def totals(
    workspace: Workspace, members: list[Member], tender: Tender | None, error: str | None = None
) -> Totals:
    """Capacity per territory and period against the tender's demand, as coverage counts it."""
    config = workspace.config
    territories = [(t.id, t.name) for t in config.territories]
    periods = [(p.id, p.label or p.id) for p in config.periods]
    active = [m for m in members if not m.declined]
    if tender is None:
        return Totals(territories, periods, *_declared_only(active, territories, periods), error)
    share, policy_error = provider_share(workspace)
    rows = coverage_rows(tender, active, share)
    by_cell = {(r.territory, r.period): r for r in rows}
    cells = {
        (t, p): _cell(by_cell[t, p]) if (t, p) in by_cell else Cell(0, 0)
        for t, _ in territories
        for p, _ in periods
    }
    per_period = {
        p: _period_cell([r for r in rows if r.period == p], active, p) for p, _ in periods
    }
    return Totals(territories, periods, cells, per_period, error, policy_error)


def _cell(row: CoverageRow) -> Cell:
    return Cell(row.capacity_hours, row.demand_hours, row.shortfall_hours)


def _period_cell(rows: list[CoverageRow], members: list[Member], period: str) -> Cell:
    """One period over every territory, each member counted once (see the module docstring)."""
    counted = {i for r in rows for i in r.members}
    own = lent = 0
    for m in members:
        if m.id in counted:
            hours = m.capacity_hours.get(period, 0)
            if m.role is Role.COCONTRACTOR:
                own += hours
            else:
                lent += hours
    capacity = own + min(lent, sum(r.usable_provider_hours for r in rows))
    demand = sum(r.demand_hours for r in rows)
    gaps = sum(r.shortfall_hours for r in rows)
    return Cell(capacity, demand, max(demand - capacity, gaps, 0))


def _declared_only(
    members: list[Member], territories: list[tuple[str, str]], periods: list[tuple[str, str]]
) -> tuple[dict[tuple[str, str], Cell], dict[str, Cell]]:
    """Without a tender: every declared hour, demand unknown (no trade to match, no cap)."""
    cells = {
        (t, p): Cell(sum(m.capacity_hours.get(p, 0) for m in members if t in m.territories), None)
        for t, _ in territories
        for p, _ in periods
    }
    per_period = {
        p: Cell(sum(m.capacity_hours.get(p, 0) for m in members), None) for p, _ in periods
    }
    return cells, per_period
