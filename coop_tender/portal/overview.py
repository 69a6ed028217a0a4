"""What the coordinator's page shows: who answered, what is wrong, capacity against demand.

Capacity per territory and period counts each member's hours for a period in every territory it
serves (a member serving two territories can work in either): it is what *could* go there, an
upper bound. The per-period line counts each member once, so a shortfall there is certain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from coop_tender.models import Member, Role, Tender
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
    capacity: int
    demand: int | None

    @property
    def shortfall(self) -> int:
        return max(0, (self.demand or 0) - self.capacity)


@dataclass
class Totals:
    territories: list[tuple[str, str]]  # (id, name)
    periods: list[tuple[str, str]]  # (id, label)
    cells: dict[tuple[str, str], Cell]
    per_period: dict[str, Cell]
    tender_error: str | None


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


def totals(
    workspace: Workspace, members: list[Member], tender: Tender | None, error: str | None = None
) -> Totals:
    """Declared capacity per territory and period against the tender's demand (if readable)."""
    config = workspace.config
    territories = [(t.id, t.name) for t in config.territories]
    periods = [(p.id, p.label or p.id) for p in config.periods]
    active = [m for m in members if not m.declined]
    cells: dict[tuple[str, str], Cell] = {}
    for t, _ in territories:
        for p, _ in periods:
            capacity = sum(m.capacity_hours.get(p, 0) for m in active if t in m.territories)
            demand = None
            if tender is not None:
                demand = sum(i.hours for i in tender.items if i.territory == t and i.period == p)
            cells[t, p] = Cell(capacity, demand)
    per_period = {
        p: Cell(
            sum(m.capacity_hours.get(p, 0) for m in active),
            None if tender is None else sum(i.hours for i in tender.items if i.period == p),
        )
        for p, _ in periods
    }
    return Totals(territories, periods, cells, per_period, error)
