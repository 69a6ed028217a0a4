"""A tender workspace: one folder per tender response, and how to read a `Problem` out of it.

Layout (see DEVELOPERS.md):
    workspace.json   what the notice does not say: territories, periods, social clause hours,
                     capacity deadline, groupement form, mandataire, which lot is which territory
    notice.xml       the public notice (eForms UBL XML, or a BOAMP record .json)
    dqe.xlsx         the work items, one row per site
    policy.json      the consortium's fairness rules
    members/*.json   the members' declarations as the network knows them (one Member each)
    store.sqlite     what the portal and the flows write (declarations with history, invitations)
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field

from coop_tender.errors import UserError
from coop_tender.files import read_model, write_model
from coop_tender.models import Member, Model, Period, Policy, Problem, Tender, Territory

CONFIG_NAME = "workspace.json"


class WorkspaceConfig(Model):
    """workspace.json: the facts of a tender response that the public notice does not carry."""

    reference: str
    notice: str = "notice.xml"
    dqe: str = "dqe.xlsx"
    policy: str = "policy.json"
    members_dir: str = "members"
    territories: list[Territory] = Field(default_factory=list)
    periods: list[Period] = Field(default_factory=list)
    lot_territories: dict[str, str] = Field(default_factory=dict, description="lot id -> territory")
    insertion_hours_min: int = Field(0, ge=0, description="social clause, in insertion hours")
    capacity_deadline: AwareDatetime | None = None
    groupement: Literal["conjoint", "solidaire"] = "conjoint"
    mandataire: str | None = Field(None, description="member id of the mandataire")
    mandataire_solidaire: bool = True
    coordinator: str | None = Field(None, description="name and contact of the coordinator")
    store_url: str | None = Field(
        None, description="SQLAlchemy URL of the store; default sqlite in the workspace"
    )
    example: bool = Field(
        False, description="a shipped example: `run` copies it instead of writing into it"
    )


@dataclass(frozen=True)
class Workspace:
    """A tender workspace on disk."""

    root: Path
    config: WorkspaceConfig

    @classmethod
    def open(cls, root: str | Path) -> Workspace:
        root = Path(root)
        if not root.is_dir():
            raise UserError(f"{root} : dossier d'appel d'offres introuvable")
        return cls(root, read_model(root / CONFIG_NAME, WorkspaceConfig))

    def path(self, name: str) -> Path:
        return self.root / name

    @property
    def store_url(self) -> str:
        return self.config.store_url or f"sqlite:///{(self.root / 'store.sqlite').resolve()}"

    def tender(self) -> Tender:
        """The tender: the notice's facts, the DQE's items, and workspace.json's additions."""
        from coop_tender.ingest import read_dqe, read_notice

        notice = self.config.notice
        remote = notice.startswith(("http://", "https://"))
        tender = read_notice(notice if remote else str(self.path(notice)))
        items = read_dqe(self.path(self.config.dqe)) if self.path(self.config.dqe).exists() else []
        lots = [
            lot.model_copy(update={"territory": self.config.lot_territories.get(lot.id)})
            for lot in tender.lots
        ]
        data = tender.model_dump()
        data.update(
            reference=self.config.reference,
            lots=[lot.model_dump() for lot in lots],
            items=[i.model_dump() for i in items],
            territories=[t.model_dump() for t in self.config.territories],
            periods=[p.model_dump() for p in self.config.periods],
            insertion_hours_min=self.config.insertion_hours_min,
            capacity_deadline=self.config.capacity_deadline,
        )
        try:
            return Tender.model_validate(data)
        except ValueError as exc:
            raise UserError(f"{self.root} : l'avis et le DQE ne concordent pas : {exc}") from None

    def seed_members(self) -> list[Member]:
        """The declarations shipped in members/*.json, sorted by id."""
        folder = self.path(self.config.members_dir)
        members = [read_model(p, Member) for p in sorted(folder.glob("*.json"))]
        return sorted(members, key=lambda m: m.id)

    def members(self) -> list[Member]:
        """Every member's current declaration: the latest in the store, else the seed file."""
        by_id = {m.id: m for m in self.seed_members()}
        by_id.update(self.stored_declarations())
        return [by_id[k] for k in sorted(by_id) if not by_id[k].declined]

    def stored_declarations(self) -> dict[str, Member]:
        """Latest declaration per member in the store; empty when the store does not exist yet."""
        url = self.store_url
        if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
            return {}
        from coop_tender.store import Store

        with Store(url) as store:
            return store.latest_declarations()

    def policy(self) -> Policy:
        path = self.path(self.config.policy)
        return read_model(path, Policy) if path.exists() else Policy()

    def problem(self) -> Problem:
        """Everything the allocation engine needs, validated as one `Problem`."""
        try:
            return Problem(tender=self.tender(), members=self.members(), policy=self.policy())
        except ValueError as exc:
            raise UserError(f"{self.root} : {exc}") from None


def problem_command(args: argparse.Namespace) -> int:
    problem = Workspace.open(args.workspace).problem()
    write_model(Path(args.out), problem)
    print(args.out)
    return 0
