"""Read the shipped example workspaces straight from their files, without the ingester.

The integrity and feasibility tests use these readers (openpyxl for the DQE, ElementTree for the
notice) so that they check the files themselves, independently of the code that loads them.
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from openpyxl import load_workbook

from coop_tender.files import read_model
from coop_tender.ingest.dqe import COLUMNS as DQE_COLUMNS
from coop_tender.models import Member, Policy
from coop_tender.workspace import WorkspaceConfig

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "data" / "reference"
EXAMPLES = REPO / "data" / "examples"
NAMES = ["colleges-93", "est-ensemble-espaces-verts"]
DQE_HEADERS = list(DQE_COLUMNS.values())
BBOX_93 = (48.80, 49.02, 2.28, 2.61)  # lat min, lat max, lon min, lon max of Seine-Saint-Denis
NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "efac": "http://data.europa.eu/p27/eforms-ubl-extension-aggregate-components/1",
}


@cache
def communes() -> dict[str, dict[str, str]]:
    with open(REFERENCE / "communes_93.csv", encoding="utf-8", newline="") as fh:
        return {row["insee"]: row for row in csv.DictReader(fh)}


@cache
def colleges() -> dict[str, dict[str, str]]:
    with open(REFERENCE / "colleges_publics_93.csv", encoding="utf-8", newline="") as fh:
        return {row["numero_uai"]: row for row in csv.DictReader(fh)}


@cache
def real_siae_names() -> frozenset[str]:
    with open(REFERENCE / "siae_93.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return frozenset(n.lower() for r in rows for n in (r["name"], r["brand"]) if n)


@dataclass(frozen=True)
class DqeRow:
    row: int  # spreadsheet row number
    lot: str
    site: str
    label: str
    territory: str
    commune: object  # the raw cell value (must be text)
    lat: float
    lon: float
    trade: str
    period: str
    hours: int
    value: Decimal
    formats: dict[str, str]


@dataclass(frozen=True)
class NoticeLot:
    id: str
    title: str
    value: Decimal
    currency: str
    reserved: list[str]
    weights: list[float]


@dataclass(frozen=True)
class Example:
    name: str
    folder: Path
    config: WorkspaceConfig
    raw_config: dict
    policy: Policy
    raw_policy: dict
    members: list[Member]
    headers: list[object]
    rows: list[DqeRow]
    notice: ET.Element
    lots: list[NoticeLot]

    @property
    def cocontractors(self) -> list[Member]:
        return [m for m in self.members if m.role == "cocontractor"]

    @property
    def providers(self) -> list[Member]:
        return [m for m in self.members if m.role == "provider"]

    def text(self, path: str) -> str | None:
        el = self.notice.find(path, NS)
        return el.text if el is not None else None


def read_dqe(path: Path) -> tuple[list[object], list[DqeRow]]:
    """The header row (the one holding "Site") and every row below it."""
    book = load_workbook(path)
    sheet = book["DQE"]
    rows = list(sheet.iter_rows())
    at = next(i for i, row in enumerate(rows) if any(c.value == "Site" for c in row))
    headers = [c.value for c in rows[at]]
    out = []
    for row in rows[at + 1 :]:
        values = {h: c.value for h, c in zip(headers, row, strict=False)}
        if all(v is None for v in values.values()):
            continue
        out.append(
            DqeRow(
                row=row[0].row,
                lot=values["Lot"],
                site=values["Site"],
                label=values["Libellé"],
                territory=values["Territoire"],
                commune=values["Commune"],
                lat=values["Latitude"],
                lon=values["Longitude"],
                trade=values["Corps d'état"],
                period=values["Période"],
                hours=values["Heures"],
                value=Decimal(str(values["Montant HT"])),
                formats={h: c.number_format for h, c in zip(headers, row, strict=False)},
            )
        )
    return headers, out


def notice_lots(root: ET.Element) -> list[NoticeLot]:
    lots = []
    for el in root.findall("cac:ProcurementProjectLot", NS):
        amount = el.find(
            "cac:ProcurementProject/cac:RequestedTenderTotal/cbc:EstimatedOverallContractAmount",
            NS,
        )
        reserved = [
            c.text
            for c in el.iterfind(".//cbc:TendererRequirementTypeCode", NS)
            if c.get("listName") == "reserved-procurement"
        ]
        weights = [
            float(w.text)
            for w in el.iterfind(".//efac:AwardCriterionParameter/{*}ParameterNumeric", NS)
        ]
        lots.append(
            NoticeLot(
                id=el.find("cbc:ID", NS).text,
                title=el.find("cac:ProcurementProject/cbc:Name", NS).text,
                value=Decimal(amount.text),
                currency=amount.get("currencyID"),
                reserved=reserved,
                weights=weights,
            )
        )
    return lots


def load(name: str, root: Path = EXAMPLES) -> Example:
    """Every file of one example workspace, parsed."""
    folder = root / name
    headers, rows = read_dqe(folder / "dqe.xlsx")
    notice = ET.parse(folder / "notice.xml").getroot()
    return Example(
        name=name,
        folder=folder,
        config=read_model(folder / "workspace.json", WorkspaceConfig),
        raw_config=json.loads((folder / "workspace.json").read_text(encoding="utf-8")),
        policy=read_model(folder / "policy.json", Policy),
        raw_policy=json.loads((folder / "policy.json").read_text(encoding="utf-8")),
        members=[read_model(p, Member) for p in sorted((folder / "members").glob("*.json"))],
        headers=headers,
        rows=rows,
        notice=notice,
        lots=notice_lots(notice),
    )


@cache
def shipped(name: str) -> Example:
    return load(name)
