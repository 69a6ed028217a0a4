"""A small tender workspace for the capacity-form tests: workspace.json and two members only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coop_tender.files import write_model
from coop_tender.models import Member
from coop_tender.workspace import Workspace

CONFIG = {
    "reference": "TEST-2026-PEINTURE",
    "territories": [
        {"id": "plaine-commune", "name": "Plaine Commune"},
        {"id": "est-ensemble", "name": "Est Ensemble"},
        {"id": "gpge", "name": "Grand Paris Grand Est"},
    ],
    "periods": [
        {
            "id": "2026-hiver",
            "label": "Vacances d'hiver",
            "start": "2026-02-14",
            "end": "2026-03-02",
        },
        {"id": "2026-printemps", "label": "Vacances de printemps"},
        {"id": "2026-ete", "label": "Été", "start": "2026-07-04", "end": "2026-08-31"},
    ],
    "lot_territories": {"1": "plaine-commune", "2": "est-ensemble", "3": "gpge"},
    "capacity_deadline": "2026-03-31T18:00:00+02:00",
}

COCONTRACTOR = Member(
    id="peinture-solidaire",
    name="Peinture Solidaire 93",
    siret="73282932000074",
    kind="EI",
    role="cocontractor",
    lat=48.9362,
    lon=2.3574,
    territories=["plaine-commune", "est-ensemble"],
    trades=["Peinture & Revêtement des murs", "Nettoyage"],
    capacity_hours={"2026-hiver": 1200, "2026-printemps": 800, "2026-ete": 4500},
    annual_turnover="1234567.89",
    insertion_rate=0.35,
    workers=24,
    legal_form="SAS",
    address="12 rue de la République",
    postcode="93200",
    commune="Saint-Denis",
    email="contact@peinture-solidaire.example",
    phone="0148000000",
    representative="Awa Diallo",
    representative_title="Présidente",
    insurance="MAIF n° 123456",
    turnover_history={2025: "1234567.89", 2024: "1100000", 2023: "987654.32"},
    staff=31,
    references=["Collège Jean Jaurès, Saint-Denis (2024)", "Groupe scolaire Anatole France"],
)

PROVIDER = Member(
    id="ai-est",
    name="AI Est",
    siret="44306184100047",
    kind="AI",
    role="provider",
    lat=48.8638,
    lon=2.4485,
    territories=["est-ensemble"],
    trades=["Peinture & Revêtement des murs"],
    capacity_hours={"2026-ete": 2000},
    annual_turnover="250000",
    insertion_rate=1.0,
    workers=40,
    hourly_rate="21.50",
    commune="Montreuil",
)


def make_workspace(root: Path) -> Workspace:
    """A tender workspace with only workspace.json and members/: no notice, no DQE."""
    root.mkdir(parents=True)
    (root / "workspace.json").write_text(json.dumps(CONFIG), encoding="utf-8")
    for member in (COCONTRACTOR, PROVIDER):
        write_model(root / "members" / f"{member.id}.json", member)
    return Workspace.open(root)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path / "ws")


@pytest.fixture(scope="module")
def module_workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return make_workspace(tmp_path_factory.mktemp("capacity") / "ws")
