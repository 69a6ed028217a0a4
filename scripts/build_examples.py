"""Build the shipped example tender workspaces (data/examples/) from the reference data.

Two examples, each a complete workspace (workspace.json, notice.xml, dqe.xlsx, policy.json,
members/*.json, README.md):

- ``colleges-93``: the Département de la Seine-Saint-Denis repaints its 130 public collèges
  (4 lots = the 4 EPT, reserved to SIAE, social clause); 14 co-contractors and 5 AI.
- ``est-ensemble-espaces-verts``: the EPT Est Ensemble buys green-space upkeep and cleaning
  around 40 sports facilities (2 lots by trade, 2 sub-areas); 6 co-contractors and 2 AI.

Sites, communes and coordinates come from data/reference/ (real public data); members, their
names, SIRETs, addresses, phones and capacities are invented. Every random choice comes from a
seeded `random.Random`, and the xlsx files get fixed timestamps, so re-running the script gives
byte-identical files.

    .venv/bin/python scripts/build_examples.py [--out data/examples]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import random
import re
import unicodedata
import uuid
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from coop_tender.files import write_atomic
from coop_tender.ingest.dqe import COLUMNS as DQE_COLUMNS
from coop_tender.models import Member, Period, Policy, Territory, luhn_ok
from coop_tender.workspace import WorkspaceConfig

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "data" / "reference"
EXAMPLES = REPO / "data" / "examples"

PARIS_WINTER = timezone(timedelta(hours=1))  # CET; every date below falls in winter time
FIXED_TIME = (2026, 12, 1, 0, 0, 0)  # zip entry timestamps, for byte-identical xlsx
SIREN_PREFIX = "99999"  # fictional SIRENs: 99999 + 3 serial digits + Luhn key
NUTS_93 = "FR106"
DQE_HEADERS = list(DQE_COLUMNS.values())
"""The DQE columns, by the exact names the ingester (coop_tender.ingest.dqe) looks for."""

CENT = Decimal("0.01")


# --------------------------------------------------------------------------- reference data


@dataclass(frozen=True)
class Commune:
    insee: str
    name: str
    ept: str
    postcode: str
    lat: float
    lon: float
    population: int


def load_communes() -> dict[str, Commune]:
    """The 39 communes of the 93 by INSEE code (communes_93.csv)."""
    with open(REFERENCE / "communes_93.csv", encoding="utf-8", newline="") as fh:
        return {
            row["insee"]: Commune(
                insee=row["insee"],
                name=row["nom"],
                ept=row["ept_nom"],
                postcode=row["codes_postaux"].split("|")[0],
                lat=float(row["lat"]),
                lon=float(row["lon"]),
                population=int(row["population_municipale"]),
            )
            for row in csv.DictReader(fh)
        }


def load_colleges() -> list[dict[str, str]]:
    """The 130 public collèges of the 93 (colleges_publics_93.csv), sorted by UAI."""
    with open(REFERENCE / "colleges_publics_93.csv", encoding="utf-8", newline="") as fh:
        return sorted(csv.DictReader(fh), key=lambda r: r["numero_uai"])


# --------------------------------------------------------------------------- small helpers


def euros(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def luhn_complete(digits: str) -> str:
    """`digits` followed by the one digit that makes the whole pass the Luhn check."""
    return next(digits + str(d) for d in range(10) if luhn_ok(digits + str(d)))


def fictional_siret(serial: int) -> str:
    """A SIRET that passes the Luhn check but is fictional: SIREN 99999xxxK, NIC 0001K."""
    siren = luhn_complete(f"{SIREN_PREFIX}{serial:03d}")
    return luhn_complete(f"{siren}0001")


def jitter(rng: random.Random, lat: float, lon: float, km: float) -> tuple[float, float]:
    """A point at most `km` from (lat, lon), rounded to 6 decimals (about 0.1 m)."""
    r, a = km * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    dlat = r * math.cos(a) / 111.2
    dlon = r * math.sin(a) / (111.2 * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lon + dlon, 6)


def round_up(hours: float, step: int = 10) -> int:
    return int(math.ceil(hours / step) * step)


def dump_json(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


# --------------------------------------------------------------------------- the DQE rows


@dataclass(frozen=True)
class Row:
    """One DQE row: one site (work item)."""

    lot: str
    site: str
    label: str
    territory: str
    commune: str
    lat: float
    lon: float
    trade: str
    period: str
    hours: int
    value: Decimal


def demand(rows: list[Row]) -> dict[tuple[str, str], dict[str, int]]:
    """Hours per (trade, territory) cell and period."""
    cells: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        cells[(r.trade, r.territory)][r.period] += r.hours
    return {c: dict(p) for c, p in cells.items()}


# --------------------------------------------------------------------------- members


@dataclass
class MemberSpec:
    """What the example fixes by hand for a member; the rest is drawn from the seeded RNG."""

    id: str
    name: str
    kind: str
    commune: str  # INSEE code
    territories: list[str]
    trades: list[str]
    legal_form: str
    representative: str
    representative_title: str
    role: str = "cocontractor"
    capacity: dict[str, int] = field(default_factory=dict)


def plan_capacities(
    specs: list[MemberSpec],
    cells: dict[tuple[str, str], dict[str, int]],
    periods: list[str],
    ratio: float,
    home: dict[str, str],
    rng: random.Random,
    any_trade: bool = False,
) -> None:
    """Give each spec capacity hours per period so that, per cell and period, the members able
    to work there declared together about `ratio` × the demand of that cell (before the overlap
    of members serving several cells, which adds more). The member's home territory weighs more.
    """

    def weight(s: MemberSpec, territory: str) -> float:
        if home[s.id] != territory:
            return rng.uniform(0.2, 0.35)
        return rng.uniform(1.0, 1.3) if len(s.territories) == 1 else rng.uniform(0.5, 0.75)

    weights = {(s.id, t): weight(s, t) for s in specs for t in s.territories}
    for s in specs:
        s.capacity = {p: 0 for p in periods}
    planned: dict[str, dict[str, float]] = {s.id: defaultdict(float) for s in specs}
    for (trade, territory), hours in sorted(cells.items()):
        able = [s for s in specs if territory in s.territories and (any_trade or trade in s.trades)]
        total_weight = sum(weights[(s.id, territory)] for s in able)
        for s in able:
            for p in periods:
                share = weights[(s.id, territory)] / total_weight
                planned[s.id][p] += ratio * hours.get(p, 0) * share
    for s in specs:
        s.capacity = {p: max(round_up(planned[s.id][p]), 10) for p in periods}


def plan_equal_capacities(
    specs: list[MemberSpec],
    cells: dict[tuple[str, str], dict[str, int]],
    periods: list[str],
    ratio: tuple[float, float],
    rng: random.Random,
) -> None:
    """For an "equal" policy: each member declares about `ratio` × an equal share of all the
    hours, spread over the periods like the demand of the cells (trade, territory) it can serve.
    """
    share = sum(sum(p.values()) for p in cells.values()) / len(specs)
    for s in specs:
        mine = [h for (t, terr), h in cells.items() if t in s.trades and terr in s.territories]
        by_period = {p: sum(h.get(p, 0) for h in mine) for p in periods}
        total = sum(by_period.values()) or 1
        wanted = share * rng.uniform(*ratio)
        s.capacity = {p: max(round_up(wanted * by_period[p] / total), 10) for p in periods}


STREETS = [
    "rue des Ateliers",
    "allée des Compagnons",
    "rue de la Solidarité",
    "impasse des Peintres",
    "rue du Chantier",
    "passage des Artisans",
    "rue de l'Entraide",
    "avenue des Métiers",
    "rue des Coopérateurs",
    "sentier des Jardiniers",
]

REFERENCES = {
    "peinture": [
        "Remise en peinture de {n} écoles élémentaires à {commune} ({year}).",
        "Peinture des circulations et des salles de classe d'un collège à {commune} ({year}).",
        "Rénovation des halls et cages d'escalier de {n} résidences d'un bailleur social "
        "à {commune} ({year}).",
    ],
    "nettoyage": [
        "Nettoyage de fin de chantier de {n} équipements municipaux à {commune} ({year}).",
        "Entretien des abords de {n} gymnases à {commune} ({year}).",
    ],
    "second-oeuvre": [
        "Petits travaux de second œuvre (plâtrerie, sols) dans {n} crèches à {commune} ({year}).",
    ],
    "espaces-verts": [
        "Entretien des espaces verts de {n} stades à {commune} ({year}).",
        "Tonte, taille et désherbage sans produit phytosanitaire de {n} parcs à {commune} "
        "({year}).",
    ],
}

INSURERS = "Mutuelle fictive des chantiers solidaires"


def make_member(
    spec: MemberSpec,
    serial: int,
    rng: random.Random,
    communes: dict[str, Commune],
    share_value: Decimal,
) -> Member:
    """A complete, validated Member from its spec: fictional identity, invented figures.

    `share_value` is the value this member would get if the market were split by declared
    capacity; its annual turnover is drawn 2.4–3.6 times larger so that the dependency rule
    (market turnover ≤ 50 % of annual turnover) holds comfortably at that share.
    """
    commune = communes[spec.commune]
    lat, lon = jitter(rng, commune.lat, commune.lon, 1.2)
    provider = spec.role == "provider"
    total = sum(spec.capacity.values())
    if provider:
        hourly_rate = euros(rng.uniform(18, 22))
        insertion_rate = round(rng.uniform(0.9, 1.0), 2)
        workers = rng.randint(25, 60)
        # an AI's turnover is its whole year of mises à disposition, this market or not
        turnover = Decimal(round(float(workers * hourly_rate) * rng.uniform(320, 480), -3))
    else:
        hourly_rate = None
        low, high = (0.5, 0.9) if spec.kind == "ACI" else (0.3, 0.6)
        insertion_rate = round(rng.uniform(low, high), 2)
        workers = max(6, math.ceil(total / rng.uniform(420, 560)))
        turnover = Decimal(round(float(share_value) * rng.uniform(2.4, 3.6), -3))
    turnover = euros(turnover)
    y2025 = euros(round(float(turnover) / rng.uniform(1.01, 1.08), -2))
    y2024 = euros(round(float(y2025) / rng.uniform(0.98, 1.07), -2))
    references = []
    for trade in spec.trades[:2] if not provider else []:
        template = rng.choice(REFERENCES[trade])
        references.append(
            template.format(
                n=rng.randint(2, 9),
                commune=communes[rng.choice(sorted(communes))].name,
                year=rng.choice([2023, 2024, 2025]),
            )
        )
    if provider:
        references = [
            f"Mise à disposition de {rng.randint(30, 90)} salariés en parcours d'insertion "
            f"auprès de collectivités et d'entreprises de Seine-Saint-Denis ({year})."
            for year in (2024, 2025)
        ]
    return Member(
        id=spec.id,
        name=spec.name,
        siret=fictional_siret(serial),
        kind=spec.kind,
        role=spec.role,
        lat=lat,
        lon=lon,
        territories=spec.territories,
        trades=spec.trades,
        capacity_hours=spec.capacity,
        annual_turnover=turnover,
        insertion_rate=insertion_rate,
        workers=workers,
        hourly_rate=hourly_rate,
        provider_mode="mise_a_disposition" if provider else None,
        legal_form=spec.legal_form,
        address=f"{rng.randint(2, 180)} {rng.choice(STREETS)}",
        postcode=commune.postcode,
        commune=commune.insee,
        email=f"contact@{spec.id}.example.org",
        phone=f"01 99 00 {serial % 100:02d} {rng.randint(10, 99):02d}",
        representative=spec.representative,
        representative_title=spec.representative_title,
        insurance=(
            f"Responsabilité civile professionnelle{'' if provider else ' et décennale'} — "
            f"{INSURERS}, contrat n° FIC-{serial:04d}-{rng.randint(1000, 9999)}"
        ),
        turnover_history={2024: y2024, 2025: y2025, 2026: turnover},
        staff=workers + rng.randint(2, 8),
        references=references,
    )


def build_members(
    cocontractors: list[MemberSpec],
    providers: list[MemberSpec],
    rows: list[Row],
    communes: dict[str, Commune],
    rng: random.Random,
    first_serial: int,
) -> list[Member]:
    """Members for specs whose capacities are already planned (see `plan_capacities`)."""
    total_value = sum(r.value for r in rows)
    total_capacity = sum(sum(s.capacity.values()) for s in cocontractors)
    members = []
    for n, spec in enumerate([*cocontractors, *providers]):
        share = total_value * sum(spec.capacity.values()) / total_capacity
        members.append(make_member(spec, first_serial + n, rng, communes, share))
    return members


# --------------------------------------------------------------------------- the notice


@dataclass(frozen=True)
class Organisation:
    id: str
    name: str
    street: str
    city: str
    postcode: str
    company_id: str
    email: str
    phone: str
    website: str


@dataclass(frozen=True)
class LotSpec:
    id: str
    title: str
    description: str
    value: Decimal
    cpv: str
    city: str
    postcode: str
    reserved: str  # BT-71 code: res-ws or none
    criteria: list[tuple[str, str, int]]  # (BT-539 type, name, weight %)
    execution_conditions: str  # BT-70


@dataclass(frozen=True)
class NoticeSpec:
    internal_id: str
    title: str
    description: str
    cpv: str
    cpv_additional: list[str]
    nature: str  # works | services
    buyer: Organisation
    review_body: Organisation
    issue_date: date
    deadline: datetime
    start: date
    months: int
    strategic_note: str  # BT-777
    lots: list[LotSpec]
    buyer_legal_type: str  # BT-11: ra (regional authority), la (local authority)


def _x(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def _org_xml(org: Organisation) -> str:
    return f"""\
						<efac:Organization>
							<efac:Company>
								<cbc:WebsiteURI>{_x(org.website)}</cbc:WebsiteURI>
								<cac:PartyIdentification>
									<cbc:ID schemeName="organization">{org.id}</cbc:ID>
								</cac:PartyIdentification>
								<cac:PartyName>
									<cbc:Name languageID="FRA">{_x(org.name)}</cbc:Name>
								</cac:PartyName>
								<cac:PostalAddress>
									<cbc:StreetName>{_x(org.street)}</cbc:StreetName>
									<cbc:CityName>{_x(org.city)}</cbc:CityName>
									<cbc:PostalZone>{org.postcode}</cbc:PostalZone>
									<cbc:CountrySubentityCode listName="nuts">{NUTS_93}</cbc:CountrySubentityCode>
									<cac:Country>
										<cbc:IdentificationCode listName="country">FRA</cbc:IdentificationCode>
									</cac:Country>
								</cac:PostalAddress>
								<cac:PartyLegalEntity>
									<cbc:CompanyID>{_x(org.company_id)}</cbc:CompanyID>
								</cac:PartyLegalEntity>
								<cac:Contact>
									<cbc:Telephone>{_x(org.phone)}</cbc:Telephone>
									<cbc:ElectronicMail>{_x(org.email)}</cbc:ElectronicMail>
								</cac:Contact>
							</efac:Company>
						</efac:Organization>
"""  # noqa: E501


def _criterion_xml(kind: str, name: str, weight: int) -> str:
    return f"""\
					<cac:SubordinateAwardingCriterion>
						<ext:UBLExtensions>
							<ext:UBLExtension>
								<ext:ExtensionContent>
									<efext:EformsExtension>
										<efac:AwardCriterionParameter>
											<efbc:ParameterCode listName="number-weight">per-exa</efbc:ParameterCode>
											<efbc:ParameterNumeric>{weight}</efbc:ParameterNumeric>
										</efac:AwardCriterionParameter>
									</efext:EformsExtension>
								</ext:ExtensionContent>
							</ext:UBLExtension>
						</ext:UBLExtensions>
						<cbc:AwardingCriterionTypeCode listName="award-criterion-type">{kind}</cbc:AwardingCriterionTypeCode>
						<cbc:Name languageID="FRA">{_x(name)}</cbc:Name>
						<cbc:Description languageID="FRA">{_x(name)} : {weight} %.</cbc:Description>
					</cac:SubordinateAwardingCriterion>
"""  # noqa: E501


def _lot_xml(lot: LotSpec, n: NoticeSpec) -> str:
    criteria = "".join(_criterion_xml(*c) for c in lot.criteria)
    deadline_day = n.deadline.strftime("%Y-%m-%d") + "+01:00"
    deadline_time = n.deadline.strftime("%H:%M:%S") + "+01:00"
    return f"""\
	<cac:ProcurementProjectLot>
		<cbc:ID schemeName="Lot">{lot.id}</cbc:ID>
		<cac:TenderingTerms>
			<cac:TendererQualificationRequest>
				<!-- BT-71 Reserved Participation -->
				<cac:SpecificTendererRequirement>
					<cbc:TendererRequirementTypeCode listName="reserved-procurement">{lot.reserved}</cbc:TendererRequirementTypeCode>
				</cac:SpecificTendererRequirement>
			</cac:TendererQualificationRequest>
			<cac:TendererQualificationRequest>
				<cac:SpecificTendererRequirement>
					<cbc:TendererRequirementTypeCode listName="selection-criteria-source">epo-procurement-document</cbc:TendererRequirementTypeCode>
				</cac:SpecificTendererRequirement>
			</cac:TendererQualificationRequest>
			<cac:ContractExecutionRequirement>
				<!-- BT-70 Terms of performance -->
				<cbc:ExecutionRequirementCode listName="conditions">performance</cbc:ExecutionRequirementCode>
				<cbc:Description languageID="FRA">{_x(lot.execution_conditions)}</cbc:Description>
			</cac:ContractExecutionRequirement>
			<cac:ContractExecutionRequirement>
				<cbc:ExecutionRequirementCode listName="reserved-execution">no</cbc:ExecutionRequirementCode>
			</cac:ContractExecutionRequirement>
			<cac:ContractExecutionRequirement>
				<cbc:ExecutionRequirementCode listName="einvoicing">required</cbc:ExecutionRequirementCode>
			</cac:ContractExecutionRequirement>
			<cac:AwardingTerms>
				<!-- BT-539 type, BT-734 name, BT-5421/BT-541 weight -->
				<cac:AwardingCriterion>
{criteria}				</cac:AwardingCriterion>
			</cac:AwardingTerms>
			<cac:TenderRecipientParty>
				<cbc:EndpointID>{_x(n.buyer.website)}</cbc:EndpointID>
				<cac:PartyIdentification>
					<cbc:ID schemeName="organization">{n.buyer.id}</cbc:ID>
				</cac:PartyIdentification>
			</cac:TenderRecipientParty>
			<cac:TenderValidityPeriod>
				<cbc:DurationMeasure unitCode="MONTH">4</cbc:DurationMeasure>
			</cac:TenderValidityPeriod>
			<cac:AppealTerms>
				<cac:AppealReceiverParty>
					<cac:PartyIdentification>
						<cbc:ID schemeName="organization">{n.review_body.id}</cbc:ID>
					</cac:PartyIdentification>
				</cac:AppealReceiverParty>
			</cac:AppealTerms>
			<cac:Language>
				<cbc:ID>FRA</cbc:ID>
			</cac:Language>
		</cac:TenderingTerms>
		<cac:TenderingProcess>
			<cbc:SubmissionMethodCode listName="esubmission">required</cbc:SubmissionMethodCode>
			<cbc:GovernmentAgreementConstraintIndicator>true</cbc:GovernmentAgreementConstraintIndicator>
			<cac:TenderSubmissionDeadlinePeriod>
				<!-- BT-131 Deadline Receipt Tenders -->
				<cbc:EndDate>{deadline_day}</cbc:EndDate>
				<cbc:EndTime>{deadline_time}</cbc:EndTime>
			</cac:TenderSubmissionDeadlinePeriod>
			<cac:ContractingSystem>
				<cbc:ContractingSystemTypeCode listName="framework-agreement">none</cbc:ContractingSystemTypeCode>
			</cac:ContractingSystem>
		</cac:TenderingProcess>
		<cac:ProcurementProject>
			<cbc:ID schemeName="InternalID">{_x(n.internal_id)}-{lot.id}</cbc:ID>
			<!-- BT-21 Title, BT-24 Description -->
			<cbc:Name languageID="FRA">{_x(lot.title)}</cbc:Name>
			<cbc:Description languageID="FRA">{_x(lot.description)}</cbc:Description>
			<cbc:ProcurementTypeCode listName="contract-nature">{n.nature}</cbc:ProcurementTypeCode>
			<cac:ProcurementAdditionalType>
				<!-- BT-06 Strategic Procurement, BT-777 its description -->
				<cbc:ProcurementTypeCode listName="strategic-procurement">soc-obj</cbc:ProcurementTypeCode>
				<cbc:ProcurementType languageID="FRA">{_x(n.strategic_note)}</cbc:ProcurementType>
			</cac:ProcurementAdditionalType>
			<cac:ProcurementAdditionalType>
				<!-- BT-775 Social Procurement: employment opportunities for disadvantaged persons -->
				<cbc:ProcurementTypeCode listName="social-objective">opp</cbc:ProcurementTypeCode>
			</cac:ProcurementAdditionalType>
			<cac:RequestedTenderTotal>
				<!-- BT-27 Estimated Value: the sum of this lot's rows in the DQE -->
				<cbc:EstimatedOverallContractAmount currencyID="EUR">{lot.value}</cbc:EstimatedOverallContractAmount>
			</cac:RequestedTenderTotal>
			<cac:MainCommodityClassification>
				<cbc:ItemClassificationCode listName="cpv">{lot.cpv}</cbc:ItemClassificationCode>
			</cac:MainCommodityClassification>
			<cac:RealizedLocation>
				<cbc:Description languageID="FRA">La liste des sites figure au détail quantitatif estimatif (DQE) du lot.</cbc:Description>
				<cac:Address>
					<!-- BT-5131 City, BT-5121 Post Code, BT-5071 NUTS -->
					<cbc:CityName>{_x(lot.city)}</cbc:CityName>
					<cbc:PostalZone>{lot.postcode}</cbc:PostalZone>
					<cbc:CountrySubentityCode listName="nuts">{NUTS_93}</cbc:CountrySubentityCode>
					<cac:Country>
						<cbc:IdentificationCode listName="country">FRA</cbc:IdentificationCode>
					</cac:Country>
				</cac:Address>
			</cac:RealizedLocation>
			<cac:PlannedPeriod>
				<!-- BT-536 Start Date, BT-36 Duration -->
				<cbc:StartDate>{n.start.isoformat()}+01:00</cbc:StartDate>
				<cbc:DurationMeasure unitCode="MONTH">{n.months}</cbc:DurationMeasure>
			</cac:PlannedPeriod>
		</cac:ProcurementProject>
	</cac:ProcurementProjectLot>
"""  # noqa: E501


def notice_xml(n: NoticeSpec) -> str:
    """An eForms contract notice (UBL ContractNotice, SDK 1.x, subtype 16) in French."""
    key = f"coop-tender example {n.internal_id}"
    notice_id = uuid.uuid5(uuid.NAMESPACE_URL, key + " notice")
    folder_id = uuid.uuid5(uuid.NAMESPACE_URL, key + " procedure")
    total = sum(lot.value for lot in n.lots)
    organisations = _org_xml(n.buyer) + _org_xml(n.review_body)
    additional = "".join(
        f"""\
		<cac:AdditionalCommodityClassification>
			<cbc:ItemClassificationCode listName="cpv">{code}</cbc:ItemClassificationCode>
		</cac:AdditionalCommodityClassification>
"""
        for code in n.cpv_additional
    )
    lots = "".join(_lot_xml(lot, n) for lot in n.lots)
    return f"""\
<?xml version="1.0" encoding="UTF-8"?>
<!-- Avis de marché fictif écrit par le projet coop-tender pour son exemple (eForms SDK 1.x).
     Ce n'est pas un avis publié : acheteur réel, consultation imaginaire. -->
<ContractNotice xmlns="urn:oasis:names:specification:ubl:schema:xsd:ContractNotice-2" xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2" xmlns:ext="urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2" xmlns:efac="http://data.europa.eu/p27/eforms-ubl-extension-aggregate-components/1" xmlns:efbc="http://data.europa.eu/p27/eforms-ubl-extension-basic-components/1" xmlns:efext="http://data.europa.eu/p27/eforms-ubl-extensions/1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
	<ext:UBLExtensions>
		<ext:UBLExtension>
			<ext:ExtensionContent>
				<efext:EformsExtension>
					<efac:NoticeSubType>
						<cbc:SubTypeCode listName="notice-subtype">16</cbc:SubTypeCode>
					</efac:NoticeSubType>
					<efac:Organizations>
{organisations}					</efac:Organizations>
				</efext:EformsExtension>
			</ext:ExtensionContent>
		</ext:UBLExtension>
	</ext:UBLExtensions>
	<cbc:UBLVersionID>2.3</cbc:UBLVersionID>
	<cbc:CustomizationID>eforms-sdk-1.15</cbc:CustomizationID>
	<!-- BT-701 Notice Identifier, BT-04 Procedure Identifier -->
	<cbc:ID schemeName="notice-id">{notice_id}</cbc:ID>
	<cbc:ContractFolderID>{folder_id}</cbc:ContractFolderID>
	<cbc:IssueDate>{n.issue_date.isoformat()}+01:00</cbc:IssueDate>
	<cbc:IssueTime>10:00:00+01:00</cbc:IssueTime>
	<cbc:VersionID>01</cbc:VersionID>
	<cbc:RegulatoryDomain>32014L0024</cbc:RegulatoryDomain>
	<cbc:NoticeTypeCode listName="competition">cn-standard</cbc:NoticeTypeCode>
	<cbc:NoticeLanguageCode>FRA</cbc:NoticeLanguageCode>
	<cac:ContractingParty>
		<cbc:BuyerProfileURI>{_x(n.buyer.website)}</cbc:BuyerProfileURI>
		<cac:ContractingPartyType>
			<cbc:PartyTypeCode listName="buyer-legal-type">{n.buyer_legal_type}</cbc:PartyTypeCode>
		</cac:ContractingPartyType>
		<cac:ContractingActivity>
			<cbc:ActivityTypeCode listName="authority-activity">gen-pub</cbc:ActivityTypeCode>
		</cac:ContractingActivity>
		<cac:Party>
			<cac:PartyIdentification>
				<cbc:ID schemeName="organization">{n.buyer.id}</cbc:ID>
			</cac:PartyIdentification>
		</cac:Party>
	</cac:ContractingParty>
	<cac:TenderingTerms>
		<cac:TendererQualificationRequest>
			<cac:SpecificTendererRequirement>
				<cbc:TendererRequirementTypeCode listName="exclusion-grounds-source">epo-procurement-document</cbc:TendererRequirementTypeCode>
			</cac:SpecificTendererRequirement>
		</cac:TendererQualificationRequest>
		<cac:LotDistribution>
			<cbc:MaximumLotsAwardedNumeric>{len(n.lots)}</cbc:MaximumLotsAwardedNumeric>
			<cbc:MaximumLotsSubmittedNumeric>{len(n.lots)}</cbc:MaximumLotsSubmittedNumeric>
		</cac:LotDistribution>
	</cac:TenderingTerms>
	<cac:TenderingProcess>
		<cbc:ProcedureCode listName="procurement-procedure-type">open</cbc:ProcedureCode>
		<cac:ProcessJustification>
			<cbc:ProcessReasonCode listName="accelerated-procedure">false</cbc:ProcessReasonCode>
		</cac:ProcessJustification>
	</cac:TenderingProcess>
	<cac:ProcurementProject>
		<!-- BT-22 Internal Identifier, BT-21 Title, BT-24 Description -->
		<cbc:ID schemeName="InternalID">{_x(n.internal_id)}</cbc:ID>
		<cbc:Name languageID="FRA">{_x(n.title)}</cbc:Name>
		<cbc:Description languageID="FRA">{_x(n.description)}</cbc:Description>
		<cbc:ProcurementTypeCode listName="contract-nature">{n.nature}</cbc:ProcurementTypeCode>
		<cac:RequestedTenderTotal>
			<cbc:EstimatedOverallContractAmount currencyID="EUR">{total}</cbc:EstimatedOverallContractAmount>
		</cac:RequestedTenderTotal>
		<cac:MainCommodityClassification>
			<!-- BT-262 Main Classification Code -->
			<cbc:ItemClassificationCode listName="cpv">{n.cpv}</cbc:ItemClassificationCode>
		</cac:MainCommodityClassification>
{additional}		<cac:RealizedLocation>
			<cac:Address>
				<cbc:CountrySubentityCode listName="nuts">{NUTS_93}</cbc:CountrySubentityCode>
				<cac:Country>
					<cbc:IdentificationCode listName="country">FRA</cbc:IdentificationCode>
				</cac:Country>
			</cac:Address>
		</cac:RealizedLocation>
	</cac:ProcurementProject>
{lots}</ContractNotice>
"""  # noqa: E501


# --------------------------------------------------------------------------- file writers


def write_workspace_json(folder: Path, config: WorkspaceConfig) -> None:
    """workspace.json: what the notice does not say (territories, periods, social clause...)."""
    write_atomic(folder / "workspace.json", config.model_dump_json(indent=2, exclude_none=True))


def write_policy(folder: Path, policy: Policy) -> None:
    """policy.json: the consortium's fairness rules."""
    write_atomic(folder / "policy.json", dump_json(policy.model_dump(mode="json")))


def write_members(folder: Path, members: list[Member]) -> None:
    """members/<id>.json: one declaration per member (stale files from a previous run removed)."""
    directory = folder / "members"
    directory.mkdir(parents=True, exist_ok=True)
    keep = {f"{m.id}.json" for m in members}
    for old in directory.glob("*.json"):
        if old.name not in keep:
            old.unlink()
    for m in members:
        write_atomic(directory / f"{m.id}.json", m.model_dump_json(indent=2, exclude_none=True))


def write_notice(folder: Path, notice: NoticeSpec) -> None:
    """notice.xml: the eForms contract notice."""
    write_atomic(folder / "notice.xml", notice_xml(notice))


def write_dqe(folder: Path, title: str, rows: list[Row]) -> None:
    """dqe.xlsx: sheet "DQE", a title row, the header row, one row per site; fixed timestamps."""
    wb = Workbook()
    ws = wb.active
    ws.title = "DQE"
    ws["A1"] = title
    ws["A1"].font = Font(bold=True, size=12)
    ws.append(DQE_HEADERS)
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    formats = {5: "@", 6: "0.000000", 7: "0.000000", 10: "#,##0", 11: '#,##0.00 "€"'}
    for r in rows:
        values = [r.lot, r.site, r.label, r.territory, r.commune, r.lat, r.lon, r.trade]
        ws.append([*values, r.period, r.hours, r.value])
        for col, fmt in formats.items():
            ws.cell(row=ws.max_row, column=col).number_format = fmt
    widths = [11, 12, 52, 16, 10, 12, 12, 15, 16, 9, 14]
    for col, width in enumerate(widths, 1):
        ws.column_dimensions[chr(64 + col)].width = width
    ws.freeze_panes = "A3"
    ws.auto_filter.ref = f"A2:K{ws.max_row}"
    fixed = datetime(*FIXED_TIME)
    wb.properties.creator = "coop-tender (scripts/build_examples.py)"
    wb.properties.created = fixed
    buffer = io.BytesIO()
    wb.save(buffer)
    write_atomic(folder / "dqe.xlsx", _normalise_zip(buffer.getvalue(), fixed))


def _normalise_zip(data: bytes, when: datetime) -> bytes:
    """Rewrite an xlsx with fixed entry timestamps and a fixed 'modified' date (openpyxl stamps
    the save time), so that the same content gives the same bytes."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + stamp.encode() + rb"\g<2>",
                    content,
                )
            entry = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, content)
    return out.getvalue()


def write_readme(folder: Path, text: str) -> None:
    """README.md (French): what the example is, and that its members are fictional."""
    write_atomic(folder / "README.md", text)


def fmt_int(n: int | Decimal) -> str:
    return f"{n:,}".replace(",", "\u202f")


def fmt_eur(d: Decimal) -> str:
    units, cents = f"{d:.2f}".split(".")
    return f"{fmt_int(int(units))},{cents}\u00a0€"


def capacity_table(
    rows: list[Row],
    members: list[Member],
    periods: list[Period],
    cells: list[tuple[str, str]],
    names: dict[str, str],
) -> str:
    """A Markdown table: demand vs declared co-contractor capacity per cell and period."""
    need = demand(rows)
    lines = [
        "| métier | territoire | période | heures de travaux | capacité déclarée | ratio |",
        "|---|---|---|---:|---:|---:|",
    ]
    for trade, territory in cells:
        for p in periods:
            hours = need.get((trade, territory), {}).get(p.id, 0)
            cap = sum(
                m.capacity_hours.get(p.id, 0)
                for m in members
                if m.role == "cocontractor" and territory in m.territories and trade in m.trades
            )
            ratio = f"{cap / hours:.2f}".replace(".", ",") if hours else "–"
            lines.append(
                f"| {trade} | {names[territory]} | {p.label} | {fmt_int(hours)} | "
                f"{fmt_int(cap)} | {ratio} |"
            )
    return "\n".join(lines)


def members_table(members: list[Member], communes: dict[str, Commune]) -> str:
    lines = [
        "| id | nom (fictif) | type | rôle | commune | territoires | métiers | heures déclarées |",
        "|---|---|---|---|---|---|---|---:|",
    ]
    for m in members:
        role = "cotraitant" if m.role == "cocontractor" else "mise à disposition"
        lines.append(
            f"| `{m.id}` | {m.name} | {m.kind} | {role} | {communes[m.commune].name} | "
            f"{', '.join(m.territories)} | {', '.join(m.trades)} | "
            f"{fmt_int(m.total_capacity)} |"
        )
    return "\n".join(lines)


FICTION_NOTE = f"""\
## Ce qui est réel, ce qui est inventé

- **Réel** : les sites et leurs coordonnées, les communes et leurs codes INSEE, les territoires
  (données publiques copiées dans `data/reference/`, voir son README pour les sources et
  licences).
- **Inventé** : l'avis de marché (l'acheteur existe, cette consultation non), les heures et
  montants du DQE, et **tous les membres** : leurs noms sont fictifs (aucune structure réelle ne
  porte ces noms à notre connaissance) et leurs capacités, chiffres d'affaires, effectifs et
  références sont imaginés. Ne les attribuez pas à des organisations réelles.
- Les SIRET sont fictifs : ils commencent par `{SIREN_PREFIX}` (préfixe non attribué à notre
  connaissance) et ne sont construits que pour passer la clé de Luhn. Les adresses sont
  imaginaires (dans une commune réelle), les courriels en `example.org`, les téléphones dans la
  tranche `01 99 00 xx xx` que l'ARCEP réserve aux œuvres de fiction.
- Les coordonnées des membres sont celles du centre de leur commune, décalées au hasard
  (graine fixe) d'au plus 1,2 km.

Ce dossier est régénéré à l'identique par `scripts/build_examples.py` ; ne le modifiez pas à la
main. `coop-tender run` le copie dans le dossier de sortie et n'écrit jamais dedans.
"""


# --------------------------------------------------------------------------- shared by both


REVIEW_BODY = Organisation(
    id="ORG-0002",
    name="Tribunal administratif de Montreuil",
    street="7 rue Catherine Puig",
    city="Montreuil",
    postcode="93100",
    company_id="n/a",
    email="greffe@example.org",
    phone="+33 1 99 00 93 00",
    website="https://montreuil.tribunal-administratif.fr",
)
"""The review body of every example: both buyers are in the 93."""


def award_criteria(price: int, technical: int, insertion: int) -> list[tuple[str, str, int]]:
    """The three award criteria of both examples, with their weights (%)."""
    return [
        ("price", "Prix des prestations", price),
        ("quality", "Valeur technique", technical),
        ("quality", "Performance en matière d'insertion professionnelle", insertion),
    ]


def lot_values(rows: list[Row]) -> dict[str, Decimal]:
    """The estimated value of each lot: the sum of its DQE rows."""
    values: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        values[r.lot] += r.value
    return values


def example_config(
    notice: NoticeSpec, territories: list[Territory], periods: list[Period], hours_min: int, **terms
) -> WorkspaceConfig:
    """workspace.json of an example: the notice's reference, a solidary mandataire, `terms`."""
    return WorkspaceConfig(
        reference=notice.internal_id,
        territories=territories,
        periods=periods,
        insertion_hours_min=hours_min,
        mandataire_solidaire=True,
        example=True,
        **terms,
    )


def example_policy(target: str, max_distance_km: float | None) -> Policy:
    """policy.json of an example: the same limits, a different target and distance."""
    return Policy(
        target=target,
        fairness_tolerance=0.05,
        max_dependency=0.5,
        max_provider_share=0.3,
        min_provider_share=0.1,
        max_distance_km=max_distance_km,
        pins=[],
        forbids=[],
    )


def write_example(
    folder: Path,
    config: WorkspaceConfig,
    notice: NoticeSpec,
    rows: list[Row],
    policy: Policy,
    members: list[Member],
    readme: str,
) -> None:
    """Every file of one example workspace."""
    write_workspace_json(folder, config)
    write_notice(folder, notice)
    write_dqe(folder, f"Détail quantitatif estimatif — {notice.title}", rows)
    write_policy(folder, policy)
    write_members(folder, members)
    write_readme(folder, readme)


def lots_table(rows: list[Row], notice: NoticeSpec, label: dict[str, str]) -> str:
    """The README's table rows: one per lot (`label` names its object), then the total."""
    lines = [
        f"| {lot.id} | {label[lot.id]} | "
        f"{sum(1 for r in rows if r.lot == lot.id)} | "
        f"{fmt_int(sum(r.hours for r in rows if r.lot == lot.id))} | {fmt_eur(lot.value)} |"
        for lot in notice.lots
    ]
    total_hours = sum(r.hours for r in rows)
    total_value = sum(r.value for r in rows)
    lines.append(
        f"| **total** | | **{len(rows)}** | **{fmt_int(total_hours)}** | "
        f"**{fmt_eur(total_value)}** |"
    )
    return "\n".join(lines)


def periods_list(periods: list[Period]) -> str:
    return "\n".join(
        f"- `{p.id}` : {p.label}, du {p.start:%d/%m/%Y} au {p.end:%d/%m/%Y}" for p in periods
    )


# --------------------------------------------------------------------------- colleges-93

EPT = [
    # id, name as in the data, lot id, the EPT's seat (city of the place of performance)
    ("plaine-commune", "Plaine Commune", "LOT-0001", "93066"),
    ("est-ensemble", "Est Ensemble", "LOT-0002", "93063"),
    ("gpge", "Grand Paris Grand Est", "LOT-0003", "93051"),
    ("pte", "Paris Terres d'Envol", "LOT-0004", "93005"),
]
COLLEGES_PERIODS = [
    Period(
        id="2027-02",
        label="Vacances d'hiver 2027",
        start=date(2027, 2, 6),
        end=date(2027, 2, 21),
    ),
    Period(
        id="2027-04",
        label="Vacances de printemps 2027",
        start=date(2027, 4, 3),
        end=date(2027, 4, 18),
    ),
    Period(id="2027-07", label="Été 2027", start=date(2027, 7, 3), end=date(2027, 8, 31)),
]
COLLEGES_SEED = 9313


def colleges_rows(rng: random.Random, communes: dict[str, Commune]) -> list[Row]:
    """One DQE row per public collège: summer for most, school holidays for some."""
    by_name = {name: (tid, lot) for tid, name, lot, _ in EPT}
    colleges = load_colleges()
    periods: dict[str, str] = {}
    for name in by_name:  # per EPT: about 12 % in winter, 18 % in spring, the rest in summer
        uais = [c["numero_uai"] for c in colleges if c["ept_nom"] == name]
        rng.shuffle(uais)
        winter, spring = round(0.12 * len(uais)), round(0.18 * len(uais))
        for i, uai in enumerate(uais):
            periods[uai] = (
                "2027-02" if i < winter else "2027-04" if i < winter + spring else "2027-07"
            )
    rows = []
    for c in colleges:
        territory, lot = by_name[c["ept_nom"]]
        commune = communes[c["code_commune_cog2025"]]
        assert commune.ept == c["ept_nom"], c["numero_uai"]
        period = periods[c["numero_uai"]]
        hours = rng.randint(20, 90) * 10
        price = euros(rng.uniform(42, 48))
        rows.append(
            Row(
                lot=lot,
                site=c["numero_uai"],
                label=f"{c['appellation_officielle']} ({c['libelle_commune']})",
                territory=territory,
                commune=commune.insee,
                lat=round(float(c["latitude"]), 6),
                lon=round(float(c["longitude"]), 6),
                trade="peinture",
                period=period,
                hours=hours,
                value=(price * hours).quantize(CENT),
            )
        )
    return sorted(rows, key=lambda r: (r.lot, r.site))


def colleges_specs() -> tuple[list[MemberSpec], list[MemberSpec], dict[str, str]]:
    """The 14 co-contractors and 5 AI (fictional names), and each one's home territory."""
    pc, ee, gpge, pte = (t[0] for t in EPT)
    asso = "Association loi 1901"
    co = [
        MemberSpec("pinceaux-solidaires", "Pinceaux Solidaires", "EI", "93066", [pc, pte],
                   ["peinture", "second-oeuvre"], "SAS", "Nadia Benali", "Présidente"),
        MemberSpec("couleurs-de-la-plaine", "Atelier Couleurs de la Plaine", "ACI", "93001",
                   [pc, ee], ["peinture", "nettoyage"], asso, "Karim Haddad", "Directeur"),
        MemberSpec("regie-mille-facades", "Régie de quartier Mille Façades", "ACI", "93072",
                   [pc], ["peinture", "nettoyage"], asso, "Sylvie Moreau", "Directrice"),
        MemberSpec("badigeon-et-compagnie", "Badigeon & Compagnie", "EI", "93031", [pc],
                   ["peinture"], "SARL", "Thomas Lefèvre", "Gérant"),
        MemberSpec("ateliers-du-mur-blanc", "Les Ateliers du Mur Blanc", "ACI", "93048",
                   [ee, gpge], ["peinture"], asso, "Fatou Diop", "Directrice"),
        MemberSpec("nuancier-solidaire", "Nuancier Solidaire", "EI", "93055", [ee],
                   ["peinture", "second-oeuvre"], "SCIC SAS", "Julien Marchand",
                   "Directeur général"),
        MemberSpec("rouleau-et-pigment", "Rouleau et Pigment", "EI", "93008", [ee, pc],
                   ["peinture"], "SAS", "Amina Traoré", "Présidente"),
        MemberSpec("chantier-lumiere-de-l-est", "Chantier-école Lumière de l'Est", "ACI",
                   "93053", [ee], ["peinture", "nettoyage"], asso, "Paul Nguyen", "Directeur"),
        MemberSpec("peintures-partagees", "Peintures Partagées", "EI", "93051", [gpge],
                   ["peinture", "second-oeuvre"], "SAS", "Claire Dubois", "Présidente"),
        MemberSpec("ateliers-marne-et-couleurs", "Ateliers Marne et Couleurs", "ACI", "93050",
                   [gpge, ee], ["peinture"], asso, "Mehdi Belkacem", "Directeur"),
        MemberSpec("regie-des-coteaux-fleuris", "Régie de quartier des Coteaux Fleuris", "EI",
                   "93014", [gpge, pte], ["peinture", "nettoyage"], asso, "Isabelle Roux",
                   "Directrice"),
        MemberSpec("aquarelle-insertion", "Aquarelle Insertion", "EI", "93005", [pte],
                   ["peinture"], "SARL", "Olivier Petit", "Gérant"),
        MemberSpec("chantiers-solidaires-du-sausset", "Les Chantiers Solidaires du Sausset",
                   "ACI", "93071", [pte], ["peinture", "nettoyage"], asso, "Rachida Amrani",
                   "Directrice"),
        MemberSpec("gouache-et-truelle", "Gouache et Truelle", "EI", "93007", [pte, gpge],
                   ["peinture", "second-oeuvre"], "SCOP SARL", "Antoine Girard", "Gérant"),
    ]  # fmt: skip
    ai = [
        MemberSpec("boussole-emploi", "Boussole Emploi", "AI", "93066", [pc], ["peinture"],
                   asso, "Hélène Martin", "Directrice", role="provider"),
        MemberSpec("cap-mission-est", "Cap Mission Est", "AI", "93048", [ee, pc],
                   ["peinture"], asso, "Samir Ouali", "Directeur", role="provider"),
        MemberSpec("nouvel-elan-services", "Nouvel Élan Services", "AI", "93032", [gpge],
                   ["peinture"], asso, "Catherine Blanc", "Directrice", role="provider"),
        MemberSpec("cerf-volant-emploi", "Cerf-Volant Emploi", "AI", "93073", [pte, gpge],
                   ["peinture"], asso, "Youssef Kaci", "Directeur", role="provider"),
        MemberSpec("pont-levis-emploi", "Pont-Levis Emploi", "AI", "93029", [pte, ee],
                   ["peinture"], asso, "Marie Lambert", "Directrice", role="provider"),
    ]  # fmt: skip
    home = {s.id: s.territories[0] for s in [*co, *ai]}
    return co, ai, home


def colleges_notice(rows: list[Row], communes: dict[str, Commune], hours_min: int) -> NoticeSpec:
    values = lot_values(rows)
    counts = Counter(r.lot for r in rows)
    conditions = (
        "Clause sociale d'insertion (article L2112-2 du code de la commande publique) : le "
        f"titulaire réserve au moins {hours_min} heures de travail, sur l'ensemble des lots, à "
        "des personnes éloignées de l'emploi en parcours d'insertion."
    )
    lots = [
        LotSpec(
            id=lot,
            title=f"Lot {n} — {name} : remise en peinture des collèges publics",
            description=(
                f"Travaux de remise en peinture (murs, plafonds, menuiseries intérieures) de "
                f"{counts[lot]} collèges publics situés sur le territoire de l'établissement "
                f"public territorial {name}, réalisés pendant les vacances scolaires de 2027. "
                "Sites, périodes et quantités au DQE."
            ),
            value=values[lot],
            cpv="45442100",
            city=communes[seat].name,
            postcode=communes[seat].postcode,
            reserved="res-ws",
            criteria=award_criteria(40, 40, 20),
            execution_conditions=conditions,
        )
        for n, (_, name, lot, seat) in enumerate(EPT, 1)
    ]
    return NoticeSpec(
        internal_id="CD93-2027-PEINTURE-COLLEGES",
        title="Remise en peinture des collèges publics de la Seine-Saint-Denis (2027)",
        description=(
            "Travaux de remise en peinture des 130 collèges publics du département, en quatre "
            "lots correspondant aux quatre établissements publics territoriaux. Marché réservé "
            "aux structures d'insertion par l'activité économique (article L2113-13 du code de "
            "la commande publique), assorti d'une clause sociale d'insertion. Les travaux ont "
            "lieu pendant les vacances scolaires (zone C)."
        ),
        cpv="45442100",
        cpv_additional=["45442110", "45442120"],
        nature="works",
        buyer=Organisation(
            id="ORG-0001",
            name="Département de la Seine-Saint-Denis",
            street="Hôtel du Département, esplanade Jean-Moulin",
            city="Bobigny Cedex",
            postcode="93006",
            company_id="229300082",
            email="commande-publique@example.org",
            phone="+33 1 99 00 93 93",
            website="https://marches.example.org/seine-saint-denis",
        ),
        review_body=REVIEW_BODY,
        issue_date=date(2026, 12, 1),
        deadline=datetime(2027, 1, 15, 12, 0, tzinfo=PARIS_WINTER),
        start=date(2027, 2, 1),
        months=12,
        strategic_note=(
            "Marché réservé aux SIAE (L2113-13) avec clause sociale d'insertion : heures "
            "d'insertion minimales fixées au cahier des clauses administratives particulières."
        ),
        lots=lots,
        buyer_legal_type="ra",
    )


def build_colleges_93(out: Path) -> None:
    """data/examples/colleges-93: the motivating case (130 collèges, 4 EPT, 14 + 5 members)."""
    folder = out / "colleges-93"
    communes = load_communes()
    rows = colleges_rows(random.Random(COLLEGES_SEED), communes)
    periods = [p.id for p in COLLEGES_PERIODS]
    cells = demand(rows)
    hours_min = round_up(sum(r.hours for r in rows) * 0.11, 100)
    co, ai, home = colleges_specs()
    rng = random.Random(COLLEGES_SEED + 1)
    plan_capacities(co, cells, periods, 1.15, home, rng)
    plan_capacities(ai, cells, periods, 0.2, home, rng, any_trade=True)
    members = build_members(co, ai, rows, communes, rng, first_serial=101)
    territories = [
        Territory(
            id=tid,
            name=name,
            communes=sorted(c.insee for c in communes.values() if c.ept == name),
        )
        for tid, name, _, _ in EPT
    ]
    notice = colleges_notice(rows, communes, hours_min)
    config = example_config(
        notice,
        territories,
        COLLEGES_PERIODS,
        hours_min,
        lot_territories={lot: tid for tid, _, lot, _ in EPT},
        capacity_deadline=datetime(2027, 1, 6, 18, 0, tzinfo=PARIS_WINTER),
        groupement="conjoint",
        mandataire="pinceaux-solidaires",
        coordinator="Coordination du réseau SIAE 93 (fictive) — coordination@example.org",
    )
    readme = colleges_readme(rows, members, communes, config, notice)
    write_example(folder, config, notice, rows, example_policy("capacity", None), members, readme)


def colleges_readme(
    rows: list[Row],
    members: list[Member],
    communes: dict[str, Commune],
    config: WorkspaceConfig,
    notice: NoticeSpec,
) -> str:
    names = {t.id: t.name for t in config.territories}
    label = {lot: names[territory] for lot, territory in config.lot_territories.items()}
    cells = [("peinture", t.id) for t in config.territories]
    return f"""\
# Exemple : remise en peinture des collèges publics de la Seine-Saint-Denis

Le cas qui a fait naître coop-tender. Depuis 2013, un réseau de structures d'insertion par
l'activité économique (SIAE) de Seine-Saint-Denis repeint les collèges du département : 14 SIAE
(entreprises d'insertion, ateliers et chantiers d'insertion, régies de quartier) répondent
ensemble, en groupement momentané d'entreprises, et les 5 associations intermédiaires (AI) du
département travaillent avec elles en mise à disposition de personnel.

Ce dossier est un **espace de réponse complet** à une consultation imaginaire du Département de
la Seine-Saint-Denis, construite sur ce modèle :

- `notice.xml` — l'avis de marché (eForms, en français) : {len(notice.lots)} lots = les 4
  établissements publics territoriaux (EPT), marché réservé aux SIAE (article L2113-13, code
  eForms `res-ws`), clause sociale d'insertion, critères prix 40 %, valeur technique 40 %,
  insertion 20 %, date limite de remise des offres le {notice.deadline:%d/%m/%Y à %H h %M}.
- `dqe.xlsx` — le détail quantitatif estimatif : les {len(rows)} collèges publics (code UAI,
  commune, coordonnées réelles), avec des heures et des montants **inventés**.
- `workspace.json` — ce que l'avis ne dit pas : territoires, périodes, heures d'insertion
  exigées ({fmt_int(config.insertion_hours_min)} h), date limite des déclarations de capacité
  ({config.capacity_deadline:%d/%m/%Y à %H h %M}), groupement {config.groupement} avec pour
  mandataire (solidaire) `{config.mandataire}`.
- `policy.json` — les règles d'équité du groupement (parts cibles proportionnelles aux capacités
  déclarées, tolérance 5 %, dépendance économique ≤ 50 %, mise à disposition entre 10 % et 30 %).
- `members/` — les déclarations de 14 cotraitants et 5 AI (**fictifs**).

## Les lots

| lot | territoire | collèges | heures | montant HT estimé |
|---|---|---:|---:|---:|
{lots_table(rows, notice, label)}

Périodes (vacances scolaires de la zone C ; dates indicatives, à vérifier sur le calendrier
officiel) :

{periods_list(config.periods)}

## Les membres

{members_table(members, communes)}

## Demande et capacités déclarées

Par territoire et par période, les heures de travaux et la capacité déclarée par les
cotraitants qui couvrent ce territoire (un cotraitant qui couvre deux territoires compte dans
les deux). Les AI ajoutent des heures mises à disposition (au plus 30 % des heures de chaque
cotraitant).

{capacity_table(rows, members, config.periods, cells, names)}

{FICTION_NOTE}"""


# --------------------------------------------------------------------------- est-ensemble

EE_AREAS = [
    # id, name, communes (INSEE)
    (
        "ee-nord",
        "Est Ensemble nord (canal de l'Ourcq)",
        ["93008", "93010", "93053", "93055", "93061"],
    ),
    ("ee-sud", "Est Ensemble sud (plateau et coteaux)", ["93006", "93045", "93048", "93063"]),
]
EE_PERIODS = [
    Period(
        id="2027-printemps",
        label="Printemps 2027 (mars à juin)",
        start=date(2027, 3, 1),
        end=date(2027, 6, 30),
    ),
    Period(
        id="2027-automne",
        label="Automne 2027 (septembre à novembre)",
        start=date(2027, 9, 1),
        end=date(2027, 11, 30),
    ),
]
EE_SEED = 9357
EE_SITES_PER_COMMUNE = {
    "93048": 7,  # Montreuil
    "93055": 5,  # Pantin
    "93008": 5,  # Bobigny
    "93010": 5,  # Bondy
    "93053": 4,  # Noisy-le-Sec
    "93006": 4,  # Bagnolet
    "93063": 4,  # Romainville
    "93045": 3,  # Les Lilas
    "93061": 3,  # Le Pré-Saint-Gervais
}
EE_KINDS = {
    "espaces-verts": ["Stade", "Parc des sports", "Terrain de football", "Complexe sportif"],
    "nettoyage": ["Gymnase", "Piscine", "Salle omnisports", "Halle des sports"],
}
EE_DEDICATEES = [
    "Jean-Jaurès", "Auguste-Delaune", "Paul-Éluard", "Léo-Lagrange", "Pierre-de-Coubertin",
    "Louise-Michel", "Nelson-Mandela", "Alice-Milliat", "Colette-Besson", "Suzanne-Lenglen",
    "Jesse-Owens", "Marie-Paradis", "Joséphine-Baker", "Gisèle-Halimi", "Lucie-Aubrac",
    "Micheline-Ostermeyer", "Jacques-Anquetil", "Youri-Gagarine", "Marcel-Cerdan", "Jean-Bouin",
    "Simone-Veil", "Guy-Môquet", "Marie-Curie", "Frida-Kahlo", "Rosa-Parks", "Angela-Davis",
    "Marie-José-Pérec", "Teddy-Riner", "Christine-Arron", "Raymond-Kopa", "Marius-Trésor",
    "Jean-Moulin", "Georges-Brassens", "Barbara", "Édith-Piaf", "Aimé-Césaire", "Olympe-de-Gouges",
    "Victor-Hugo", "George-Sand", "Romain-Rolland",
]  # fmt: skip
EE_LOTS = {"espaces-verts": "LOT-0001", "nettoyage": "LOT-0002"}


def est_ensemble_rows(rng: random.Random, communes: dict[str, Commune]) -> list[Row]:
    """About 40 sports facilities around the commune centroids, one trade each.

    Trades alternate within each commune and, per (sector, trade), about 55 % of the sites are
    done in spring and the rest in autumn, so that no cell of the demand is empty or lopsided.
    """
    area_of = {insee: aid for aid, _, insees in EE_AREAS for insee in insees}
    dedicatees = list(EE_DEDICATEES)
    rng.shuffle(dedicatees)
    trades = list(EE_LOTS)
    sites: list[tuple[str, str, str]] = []  # (site id, commune, trade)
    for insee, count in EE_SITES_PER_COMMUNE.items():
        first = rng.randrange(2)
        for k in range(count):
            sites.append((f"EE-{len(sites) + 1:03d}", insee, trades[(first + k) % 2]))
    period_of: dict[str, str] = {}
    for area, _, _ in EE_AREAS:
        for trade in trades:
            group = [sid for sid, insee, t in sites if area_of[insee] == area and t == trade]
            rng.shuffle(group)
            spring = round(0.55 * len(group))
            for i, sid in enumerate(group):
                period_of[sid] = EE_PERIODS[0].id if i < spring else EE_PERIODS[1].id
    rows = []
    for sid, insee, trade in sites:
        commune = communes[insee]
        kind = rng.choice(EE_KINDS[trade])
        lat, lon = jitter(rng, commune.lat, commune.lon, 1.1)
        if trade == "espaces-verts":
            hours, price = rng.randint(12, 42) * 10, euros(rng.uniform(34, 39))
        else:
            hours, price = rng.randint(10, 36) * 10, euros(rng.uniform(30, 34))
        rows.append(
            Row(
                lot=EE_LOTS[trade],
                site=sid,
                label=f"{kind} {dedicatees.pop()} ({commune.name})",
                territory=area_of[insee],
                commune=insee,
                lat=lat,
                lon=lon,
                trade=trade,
                period=period_of[sid],
                hours=hours,
                value=(price * hours).quantize(CENT),
            )
        )
    return sorted(rows, key=lambda r: (r.lot, r.site))


def est_ensemble_specs() -> tuple[list[MemberSpec], list[MemberSpec], dict[str, str]]:
    """6 co-contractors and 2 AI (fictional names, not those of colleges-93)."""
    north, south = EE_AREAS[0][0], EE_AREAS[1][0]
    asso = "Association loi 1901"
    ev, net = "espaces-verts", "nettoyage"
    co = [
        MemberSpec("semeurs-de-l-est", "Les Semeurs de l'Est", "ACI", "93010", [north],
                   [ev], asso, "Bintou Camara", "Directrice"),
        MemberSpec("verdure-et-lien", "Verdure et Lien", "EI", "93048", [south, north],
                   [ev, net], "SAS", "François Henry", "Président"),
        MemberSpec("clair-horizon-proprete", "Clair Horizon Propreté", "EI", "93055",
                   [north], [net], "SARL", "Leïla Mansouri", "Gérante"),
        MemberSpec("sentinelles-vertes-des-coteaux", "Sentinelles Vertes des Coteaux", "ACI",
                   "93063", [south], [ev], asso, "Hugo Fontaine", "Directeur"),
        MemberSpec("eclat-solidaire", "Éclat Solidaire", "ACI", "93006", [south],
                   [net], asso, "Aïcha Bensaïd", "Directrice"),
        MemberSpec("regie-grand-angle", "Régie de quartier Grand Angle", "EI", "93053",
                   [north], [net, ev], asso, "Marc Olivier", "Directeur"),
    ]  # fmt: skip
    ai = [
        MemberSpec("semaphore-emploi", "Sémaphore Emploi", "AI", "93008", [north, south],
                   [ev, net], asso, "Nathalie Perrin", "Directrice", role="provider"),
        MemberSpec("lanterne-emploi-services", "Lanterne Emploi Services", "AI", "93048",
                   [south], [ev, net], asso, "Ibrahim Koné", "Directeur", role="provider"),
    ]  # fmt: skip
    home = {s.id: s.territories[0] for s in [*co, *ai]}
    return co, ai, home


def est_ensemble_notice(rows: list[Row], communes: dict[str, Commune], hours_min: int):
    values = lot_values(rows)
    conditions = (
        "Clause sociale d'insertion (article L2112-2 du code de la commande publique) : au moins "
        f"{hours_min} heures de travail réservées, sur l'ensemble des lots, à des personnes en "
        "parcours d'insertion."
    )
    criteria = award_criteria(50, 30, 20)
    seat = communes["93063"]
    lots = [
        LotSpec(
            id="LOT-0001",
            title="Lot 1 — Entretien des espaces verts des équipements sportifs",
            description=(
                "Tonte, taille, désherbage sans produit phytosanitaire et ramassage des déchets "
                "verts aux abords des stades et terrains de sport du territoire. Sites et "
                "quantités au DQE."
            ),
            value=values["LOT-0001"],
            cpv="77310000",
            city=seat.name,
            postcode=seat.postcode,
            reserved="none",
            criteria=criteria,
            execution_conditions=conditions,
        ),
        LotSpec(
            id="LOT-0002",
            title="Lot 2 — Nettoyage des abords des équipements sportifs",
            description=(
                "Nettoyage des parvis, parkings et cheminements des gymnases, piscines et salles "
                "de sport du territoire. Sites et quantités au DQE."
            ),
            value=values["LOT-0002"],
            cpv="90910000",
            city=seat.name,
            postcode=seat.postcode,
            reserved="none",
            criteria=criteria,
            execution_conditions=conditions,
        ),
    ]
    return NoticeSpec(
        internal_id="EE-2027-EV-NETTOYAGE",
        title=(
            "Entretien des espaces verts et nettoyage des abords des équipements sportifs "
            "d'Est Ensemble (2027)"
        ),
        description=(
            "Entretien des espaces verts et nettoyage des abords d'une quarantaine "
            "d'équipements sportifs des neuf communes d'Est Ensemble, en deux lots par métier. "
            "Marché ouvert à tous les opérateurs, assorti d'une clause sociale d'insertion."
        ),
        cpv="77310000",
        cpv_additional=["90910000", "77314000"],
        nature="services",
        buyer=Organisation(
            id="ORG-0001",
            name="Établissement public territorial Est Ensemble",
            street="100 avenue Gaston-Roussel",
            city="Romainville",
            postcode="93230",
            company_id="200057875",
            email="marches-publics@example.org",
            phone="+33 1 99 00 93 57",
            website="https://marches.example.org/est-ensemble",
        ),
        review_body=REVIEW_BODY,
        issue_date=date(2026, 12, 15),
        deadline=datetime(2027, 1, 29, 12, 0, tzinfo=PARIS_WINTER),
        start=date(2027, 3, 1),
        months=12,
        strategic_note=(
            "Clause sociale d'insertion : heures d'insertion minimales fixées au cahier des "
            "clauses administratives particulières."
        ),
        lots=lots,
        buyer_legal_type="la",
    )


def build_est_ensemble(out: Path) -> None:
    """data/examples/est-ensemble-espaces-verts: another buyer, other sites, other members."""
    folder = out / "est-ensemble-espaces-verts"
    communes = load_communes()
    rows = est_ensemble_rows(random.Random(EE_SEED), communes)
    periods = [p.id for p in EE_PERIODS]
    cells = demand(rows)
    hours_min = round_up(sum(r.hours for r in rows) * 0.10, 50)
    co, ai, home = est_ensemble_specs()
    rng = random.Random(EE_SEED + 1)
    plan_equal_capacities(co, cells, periods, (1.2, 1.4), rng)
    plan_capacities(ai, cells, periods, 0.2, home, rng)
    members = build_members(co, ai, rows, communes, rng, first_serial=201)
    territories = [
        Territory(id=aid, name=name, communes=sorted(insees)) for aid, name, insees in EE_AREAS
    ]
    notice = est_ensemble_notice(rows, communes, hours_min)
    config = example_config(
        notice,
        territories,
        EE_PERIODS,
        hours_min,
        lot_territories={},
        capacity_deadline=datetime(2027, 1, 20, 18, 0, tzinfo=PARIS_WINTER),
        groupement="solidaire",
        mandataire="verdure-et-lien",
        coordinator="Coordination des SIAE d'Est Ensemble (fictive) — coordination@example.org",
    )
    readme = est_ensemble_readme(rows, members, communes, config, notice)
    write_example(folder, config, notice, rows, example_policy("equal", 8), members, readme)


def est_ensemble_readme(
    rows: list[Row],
    members: list[Member],
    communes: dict[str, Commune],
    config: WorkspaceConfig,
    notice: NoticeSpec,
) -> str:
    names = {t.id: t.name for t in config.territories}
    label = {lot.id: lot.title.split(" — ")[1] for lot in notice.lots}
    areas = "\n".join(
        f"- `{t.id}` : {t.name} — {', '.join(communes[c].name for c in t.communes)}"
        for t in config.territories
    )
    cells = [(trade, t.id) for trade in EE_LOTS for t in config.territories]
    return f"""\
# Exemple : espaces verts et nettoyage des équipements sportifs d'Est Ensemble

Un second cas, différent du premier, pour vérifier que l'outil ne dépend pas de l'exemple des
collèges : un autre acheteur (l'établissement public territorial Est Ensemble), d'autres sites
(une quarantaine d'équipements sportifs, **placés au hasard** autour du centre des neuf communes
d'Est Ensemble, avec des noms plausibles mais inventés), deux métiers, deux périodes, et un autre
groupement de 6 cotraitants et 2 associations intermédiaires (**fictifs**).

Ce qui change par rapport à `colleges-93` :

- les lots sont **par métier** (lot 1 espaces verts, lot 2 nettoyage), pas par territoire ; le
  territoire est découpé en deux secteurs choisis par le groupement ;
- le marché **n'est pas réservé** aux SIAE (code eForms `none`) mais porte une clause sociale ;
- la politique d'équité vise des **parts égales** (`target: "equal"`) et limite la distance
  entre la base d'un cotraitant et ses sites à **8 km** ;
- le groupement est **solidaire**, mandataire `{config.mandataire}`.

## Les lots

| lot | objet | sites | heures | montant HT estimé |
|---|---|---:|---:|---:|
{lots_table(rows, notice, label)}

Heures d'insertion exigées : {fmt_int(config.insertion_hours_min)} h. Date limite de remise des
offres : {notice.deadline:%d/%m/%Y à %H h %M} ; déclarations de capacité attendues avant le
{config.capacity_deadline:%d/%m/%Y à %H h %M}.

Secteurs :

{areas}

Périodes :

{periods_list(config.periods)}

## Les membres

{members_table(members, communes)}

## Demande et capacités déclarées

{capacity_table(rows, members, config.periods, cells, names)}

{FICTION_NOTE}"""


# --------------------------------------------------------------------------- main


def build_all(out: Path = EXAMPLES) -> list[Path]:
    """Write both examples under `out`; returns their folders."""
    build_colleges_93(out)
    build_est_ensemble(out)
    return [out / "colleges-93", out / "est-ensemble-espaces-verts"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=EXAMPLES, help="default: data/examples")
    args = parser.parse_args(argv)
    for folder in build_all(args.out):
        print(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
