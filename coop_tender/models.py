"""The domain model: a tender, its lots and work items, the members, the policy, the allocation.

These pydantic models are the project's public interchange format: every JSON file the tool
reads or writes (tender.json, member declarations, problem.json, allocation.json) is one of
them, and `coop-tender schema` exports their JSON Schemas. Validation messages are in French
because members and coordinators read them.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from coop_tender.money import Euros


class Model(BaseModel):
    """Base of every model: unknown fields are refused so that a typo never goes unnoticed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --------------------------------------------------------------------------- identifiers


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum used by SIREN/SIRET numbers."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def check_siret(value: str) -> str:
    """A SIRET is 14 digits passing the Luhn check (La Poste's SIRETs, 356000000xxxxx, sum to 5)."""
    siret = value.replace(" ", "").replace("\xa0", "")
    if len(siret) != 14 or not siret.isdigit():
        raise ValueError(f"le SIRET « {value} » doit compter 14 chiffres")
    la_poste = siret.startswith("356000000") and sum(int(c) for c in siret) % 5 == 0
    if not (luhn_ok(siret) or la_poste):
        raise ValueError(f"le SIRET « {value} » n'est pas valide (clé de contrôle fausse)")
    return siret


Siret = Annotated[str, AfterValidator(check_siret)]
Ident = Annotated[
    str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")
]
Hours = Annotated[int, Field(ge=0, le=10_000_000)]
Rate = Annotated[float, Field(ge=0, le=1)]


# --------------------------------------------------------------------------- the tender


class Period(Model):
    """A period of work (a school holiday, a month); capacity is declared per period."""

    id: Ident
    label: str = ""
    start: date | None = None
    end: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"période {self.id} : la fin précède le début")
        return self


class Territory(Model):
    """A territory the tender is split by (for the 93: the four EPT)."""

    id: Ident
    name: str
    communes: list[str] = Field(default_factory=list, description="INSEE codes of its communes")


class Place(Model):
    """Place of performance (BT-5071 NUTS, BT-5131 city, BT-5121 postcode)."""

    nuts: str | None = None
    city: str | None = None
    postcode: str | None = None
    country: str | None = None


class AwardCriterion(Model):
    """One award criterion (BT-539 type, BT-540 description, BT-541 weight)."""

    type: str | None = None
    name: str | None = None
    weight: float | None = None


class Lot(Model):
    """A lot of the tender (cac:ProcurementProjectLot with schemeName Lot)."""

    id: str
    title: str | None = None
    description: str | None = None
    estimated_value: Euros | None = None
    currency: str | None = None
    duration: str | None = Field(None, description="as in the notice, e.g. '36 MONTH'")
    place: Place | None = None
    reserved: list[str] = Field(default_factory=list, description="BT-71 codes, e.g. res-ws")
    strategic: list[str] = Field(default_factory=list, description="BT-06 codes")
    social: list[str] = Field(default_factory=list, description="BT-775 codes")
    award_criteria: list[AwardCriterion] = Field(default_factory=list)
    submission_deadline: AwareDatetime | None = None
    territory: str | None = Field(None, description="the tender territory this lot covers, if any")


class LotGroup(Model):
    """A group of lots (schemeName LotsGroup)."""

    id: str
    title: str | None = None
    lots: list[str] = Field(default_factory=list)


class WorkItem(Model):
    """One site or task: what a co-contractor takes whole (a collège to repaint)."""

    id: Ident
    lot: str
    label: str
    territory: str
    commune: str | None = Field(None, description="INSEE code of the commune")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    trade: str
    period: str
    hours: Annotated[int, Field(gt=0, le=1_000_000)]
    value: Euros

    @field_validator("value")
    @classmethod
    def _positive(cls, v):
        if v <= 0:
            raise ValueError("la valeur d'un site doit être positive")
        return v


class Tender(Model):
    """A public tender as the consortium answers it: the notice's facts plus the work items."""

    reference: str = Field(description="the buyer's reference or the notice id")
    notice_id: str | None = None
    procedure_id: str | None = None
    buyer: str | None = None
    title: str | None = None
    description: str | None = None
    cpv_main: str | None = None
    cpv_additional: list[str] = Field(default_factory=list)
    deadline: AwareDatetime | None = Field(None, description="tender submission deadline")
    capacity_deadline: AwareDatetime | None = Field(
        None, description="deadline for members to declare their capacities"
    )
    reserved: bool = Field(False, description="reserved to SIAE (BT-71 res-ws / L2113-13)")
    social_clause: bool = False
    insertion_hours_min: Hours = 0
    lots: list[Lot] = Field(default_factory=list)
    lot_groups: list[LotGroup] = Field(default_factory=list)
    territories: list[Territory] = Field(default_factory=list)
    periods: list[Period] = Field(default_factory=list)
    items: list[WorkItem] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list, description="what ingestion found wrong")
    source: str | None = None

    @model_validator(mode="after")
    def _items_consistent(self) -> Tender:
        problems: list[str] = []
        seen: set[str] = set()
        for item in self.items:
            if item.id in seen:
                problems.append(f"site {item.id} : identifiant en double")
            seen.add(item.id)
        if self.lots:
            lots = {lot.id for lot in self.lots}
            problems += [
                f"site {i.id} : lot inconnu « {i.lot} »" for i in self.items if i.lot not in lots
            ]
        if self.territories:
            known = {t.id for t in self.territories}
            problems += [
                f"site {i.id} : territoire inconnu « {i.territory} »"
                for i in self.items
                if i.territory not in known
            ]
        if self.periods:
            known = {p.id for p in self.periods}
            problems += [
                f"site {i.id} : période inconnue « {i.period} »"
                for i in self.items
                if i.period not in known
            ]
        if problems:
            raise ValueError("; ".join(problems[:20]))
        return self


# --------------------------------------------------------------------------- members


class MemberKind(StrEnum):
    EI = "EI"  # entreprise d'insertion
    ACI = "ACI"  # atelier et chantier d'insertion
    AI = "AI"  # association intermédiaire
    ETTI = "ETTI"  # entreprise de travail temporaire d'insertion
    EITI = "EITI"  # entreprise d'insertion par le travail indépendant
    OTHER = "other"


class Role(StrEnum):
    COCONTRACTOR = "cocontractor"  # signs the contract, takes sites whole
    PROVIDER = "provider"  # lends hours (mise à disposition) to co-contractors


class ProviderMode(StrEnum):
    """What a provider does for a co-contractor, which decides its dossier document."""

    MISE_A_DISPOSITION = "mise_a_disposition"  # the AI's legal activity: schedule + 480 h check
    SOUS_TRAITANCE = "sous_traitance"  # a true sub-contract: DC4


class Member(Model):
    """A member structure's declaration for one tender: who it is and what it can take on."""

    id: Ident
    name: Annotated[str, Field(min_length=1, max_length=200)]
    siret: Siret
    kind: MemberKind
    role: Role
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    territories: list[str] = Field(default_factory=list)
    trades: list[str] = Field(default_factory=list)
    capacity_hours: dict[str, Hours] = Field(default_factory=dict, description="period -> hours")
    annual_turnover: Euros
    insertion_rate: Rate = 0.0
    workers: Annotated[int, Field(ge=0, le=100_000)] = 0
    hourly_rate: Euros | None = Field(None, description="providers: price of one lent hour")
    provider_mode: ProviderMode | None = None
    # What the dossier needs (DC1/DC2); optional for the solver.
    legal_form: str | None = None
    address: str | None = None
    postcode: str | None = None
    commune: str | None = Field(None, description="INSEE code or name of its base commune")
    email: str | None = None
    phone: str | None = None
    representative: str | None = None
    representative_title: str | None = None
    insurance: str | None = None
    turnover_history: dict[int, Euros] = Field(default_factory=dict, description="year -> turnover")
    staff: Annotated[int, Field(ge=0)] | None = None
    references: list[str] = Field(default_factory=list)
    declined: bool = Field(False, description="the member declined to take part in this tender")

    @field_validator("annual_turnover")
    @classmethod
    def _turnover_positive(cls, v):
        if v < 0:
            raise ValueError("le chiffre d'affaires ne peut pas être négatif")
        return v

    @model_validator(mode="after")
    def _provider_fields(self) -> Member:
        if self.role is Role.PROVIDER and self.provider_mode is None:
            self.provider_mode = (
                ProviderMode.MISE_A_DISPOSITION
                if self.kind in (MemberKind.AI, MemberKind.ETTI)
                else ProviderMode.SOUS_TRAITANCE
            )
        return self

    @property
    def total_capacity(self) -> int:
        return sum(self.capacity_hours.values())


# --------------------------------------------------------------------------- policy and problem


class Pin(Model):
    item: str
    member: str


class Policy(Model):
    """The consortium's fairness and solidarity rules. A null or absent field means no such rule."""

    target: Literal["capacity", "equal"] | dict[str, float] = "capacity"
    fairness_tolerance: Annotated[float, Field(ge=0, le=1)] | None = 0.02
    max_dependency: Annotated[float, Field(gt=0)] | None = 0.5
    max_provider_share: Annotated[float, Field(ge=0, le=1)] | None = 0.3
    min_provider_share: Annotated[float, Field(ge=0, le=1)] | None = 0.1
    max_distance_km: Annotated[float, Field(gt=0)] | None = None
    ai_max_hours_per_worker: Annotated[int, Field(ge=0)] | None = Field(
        480, description="the 480-hour rule: an AI lends at most this per worker to one company"
    )
    pins: list[Pin] = Field(default_factory=list)
    forbids: list[Pin] = Field(default_factory=list)

    @field_validator("target")
    @classmethod
    def _shares(cls, v):
        if isinstance(v, dict):
            if any(s < 0 for s in v.values()):
                raise ValueError("une part cible ne peut pas être négative")
            if sum(v.values()) <= 0:
                raise ValueError("les parts cibles doivent avoir une somme positive")
        return v


class Problem(Model):
    """What the allocation engine solves: the tender with its items, the members, the policy."""

    tender: Tender
    members: list[Member]
    policy: Policy = Field(default_factory=Policy)

    @model_validator(mode="after")
    def _references(self) -> Problem:
        problems: list[str] = []
        ids = [m.id for m in self.members]
        dupes = {i for i in ids if ids.count(i) > 1}
        problems += [f"membre {i} : identifiant en double" for i in sorted(dupes)]
        known_members = set(ids)
        known_items = {i.id for i in self.tender.items}
        for rule in ("pins", "forbids"):
            for p in getattr(self.policy, rule):
                if p.item not in known_items:
                    problems.append(f"{rule} : site inconnu « {p.item} »")
                if p.member not in known_members:
                    problems.append(f"{rule} : membre inconnu « {p.member} »")
        if isinstance(self.policy.target, dict):
            problems += [
                f"target : membre inconnu « {m} »"
                for m in self.policy.target
                if m not in known_members
            ]
        if self.tender.territories:
            known = {t.id for t in self.tender.territories}
            for m in self.members:
                problems += [
                    f"membre {m.id} : territoire inconnu « {t} »"
                    for t in m.territories
                    if t not in known
                ]
        if self.tender.periods:
            known = {p.id for p in self.tender.periods}
            for m in self.members:
                problems += [
                    f"membre {m.id} : période inconnue « {p} »"
                    for p in m.capacity_hours
                    if p not in known
                ]
        if problems:
            raise ValueError("; ".join(problems[:20]))
        return self


# --------------------------------------------------------------------------- the allocation


class Assignment(Model):
    item: str
    member: str


class ProviderHours(Model):
    """Hours a provider lends to a co-contractor in one period."""

    provider: str
    member: str
    period: str
    hours: Hours


class Stage(Model):
    """One stage of the lexicographic objective, reported honestly."""

    name: Literal["coverage", "turnover_fairness", "provider_fairness", "travel"]
    value: float | None = None
    bound: float | None = None
    status: Literal["optimal", "feasible", "infeasible", "unknown", "skipped"]
    seconds: float = 0.0
    unit: str = ""


STAGE_LABELS = {
    "coverage": "Couverture des sites",
    "turnover_fairness": "Équité du chiffre d'affaires",
    "provider_fairness": "Équité des heures mises à disposition",
    "travel": "Déplacements",
}
"""Each stage's name as coordinators read it (summary sentences, dossier, workbook)."""


class MemberResult(Model):
    """Per-member figures of an allocation, with the sentences that explain them."""

    member: str
    name: str = ""
    role: Role
    hours: Hours = Field(0, description="co-contractors: hours of their sites; providers: lent")
    own_hours: Hours = Field(0, description="co-contractors: site hours minus hours lent to them")
    lent_hours: Hours = Field(0, description="co-contractors: received; providers: lent")
    value: Euros = Field(description="turnover from this market")
    share: float = Field(0, description="share of covered value (co-contractors) or lent hours")
    target: float = Field(0, description="target share")
    window: tuple[float, float] = Field((0.0, 0.0), description="fairness window on the share")
    excess: float = Field(0, description="how far outside the window (euros or hours)")
    insertion_hours: float = 0
    distance_km: float = 0
    dependency: float = Field(0, description="turnover from this market / annual turnover")
    items: list[str] = Field(default_factory=list)
    explanation: list[str] = Field(default_factory=list)


class Allocation(Model):
    """The engine's answer: who does which site, which AI hours go to whom, and why."""

    status: Literal["optimal", "feasible", "infeasible", "unknown"] = Field(
        description="unknown: no allocation found in the time given, none proven impossible"
    )
    assignments: list[Assignment] = Field(default_factory=list)
    provider_hours: list[ProviderHours] = Field(default_factory=list)
    unassigned: list[str] = Field(default_factory=list)
    stages: list[Stage] = Field(default_factory=list)
    members: list[MemberResult] = Field(default_factory=list)
    explanation: list[str] = Field(default_factory=list)
    total_value: Euros = Field(0, description="value of all items")
    covered_value: Euros = Field(0, description="value of assigned items")
    insertion_hours: float = 0
    insertion_hours_min: int = 0
    computed_at: AwareDatetime | None = None
    solver: str = ""

    def member_of(self) -> dict[str, str]:
        """item id -> member id."""
        return {a.item: a.member for a in self.assignments}


SCHEMAS: dict[str, type[BaseModel]] = {
    "tender": Tender,
    "member": Member,
    "policy": Policy,
    "problem": Problem,
    "allocation": Allocation,
}
"""The public interchange formats, by name, as exported by `coop-tender schema`."""


def now() -> datetime:
    """The current time, time-zone aware (UTC)."""
    from datetime import UTC

    return datetime.now(UTC)
