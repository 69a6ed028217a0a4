"""Integrity of the shipped example workspaces, checked from their files (openpyxl, XML)."""

from __future__ import annotations

import importlib.util
from collections import Counter
from datetime import datetime
from decimal import Decimal

import pytest

from coop_tender.geo import great_circle_km
from coop_tender.models import luhn_ok
from tests.examples import example_files as ef
from tests.examples.example_files import BBOX_93, DQE_HEADERS, NAMES, shipped

COLLEGES = "colleges-93"
EST_ENSEMBLE = "est-ensemble-espaces-verts"
EPT_IDS = {
    "plaine-commune": "Plaine Commune",
    "est-ensemble": "Est Ensemble",
    "gpge": "Grand Paris Grand Est",
    "pte": "Paris Terres d'Envol",
}
INGEST_MISSING = importlib.util.find_spec("coop_tender.ingest") is None
needs_ingest = pytest.mark.skipif(
    INGEST_MISSING, reason="coop_tender.ingest (the notice/DQE ingester) is not there yet"
)


@pytest.fixture(params=NAMES)
def ex(request) -> ef.Example:
    return shipped(request.param)


# --------------------------------------------------------------------------- files and config


def test_workspace_files_present(ex):
    for name in ("workspace.json", "notice.xml", "dqe.xlsx", "policy.json", "README.md"):
        assert (ex.folder / name).is_file(), name
    readme = (ex.folder / "README.md").read_text(encoding="utf-8")
    assert "fictifs" in readme and "inventé" in readme


def test_workspace_config(ex):
    cfg = ex.config
    assert ex.raw_config["example"] is True
    assert cfg.reference
    ids = {m.id for m in ex.cocontractors}
    assert cfg.mandataire in ids, "the mandataire must be a co-contractor"
    territory_ids = [t.id for t in cfg.territories]
    assert len(set(territory_ids)) == len(territory_ids)
    seen: set[str] = set()
    for t in cfg.territories:
        assert t.communes, t.id
        assert set(t.communes) <= set(ef.communes()), t.id
        assert not seen & set(t.communes), "a commune in two territories"
        seen |= set(t.communes)
    assert len({p.id for p in cfg.periods}) == len(cfg.periods)
    for p in cfg.periods:
        assert p.label and p.start and p.end and p.start <= p.end
    lots = {lot.id for lot in ex.lots}
    assert set(cfg.lot_territories) <= lots
    assert set(cfg.lot_territories.values()) <= set(territory_ids)
    deadline = datetime.fromisoformat(
        ex.text(
            "cac:ProcurementProjectLot/cac:TenderingProcess/cac:TenderSubmissionDeadlinePeriod/cbc:EndDate"
        )[:10]
        + "T"
        + ex.text(
            "cac:ProcurementProjectLot/cac:TenderingProcess/cac:TenderSubmissionDeadlinePeriod/cbc:EndTime"
        )
    )
    assert cfg.capacity_deadline is not None and cfg.capacity_deadline.year == 2027
    assert cfg.capacity_deadline < deadline
    total = sum(r.hours for r in ex.rows)
    assert 0.08 * total <= cfg.insertion_hours_min <= 0.13 * total


# --------------------------------------------------------------------------- the DQE


def test_dqe_layout(ex):
    assert ex.headers == DQE_HEADERS
    for r in ex.rows:
        assert isinstance(r.commune, str), f"row {r.row}: Commune must be text"
        assert r.formats["Commune"] == "@"
        assert r.formats["Montant HT"] != "General" and r.formats["Heures"] != "General"
        assert isinstance(r.hours, int) and r.hours > 0
        assert r.value > 0 and r.value == r.value.quantize(Decimal("0.01"))


def test_dqe_items_are_consistent(ex):
    sites = [r.site for r in ex.rows]
    assert len(sites) == len(set(sites))
    territory_of = {c: t.id for t in ex.config.territories for c in t.communes}
    periods = {p.id for p in ex.config.periods}
    lots = {lot.id for lot in ex.lots}
    lat_min, lat_max, lon_min, lon_max = BBOX_93
    for r in ex.rows:
        assert r.commune in ef.communes(), r.site
        assert territory_of[r.commune] == r.territory, r.site
        assert lat_min <= r.lat <= lat_max and lon_min <= r.lon <= lon_max, r.site
        assert r.period in periods and r.lot in lots, r.site
        assert ef.communes()[r.commune]["nom"] in r.label or r.trade == "peinture", r.site


def test_dqe_totals_match_notice_to_the_cent(ex):
    by_lot: Counter = Counter()
    for r in ex.rows:
        by_lot[r.lot] += r.value
    assert {lot.id: lot.value for lot in ex.lots} == dict(by_lot)
    assert all(lot.currency == "EUR" for lot in ex.lots)
    procedure_total = Decimal(
        ex.text(
            "cac:ProcurementProject/cac:RequestedTenderTotal/cbc:EstimatedOverallContractAmount"
        )
    )
    assert procedure_total == sum(by_lot.values())


def test_colleges_items_are_the_130_colleges():
    ex = shipped(COLLEGES)
    colleges = ef.colleges()
    assert len(ex.rows) == 130
    assert {r.site for r in ex.rows} == set(colleges)
    names = {t.id: t.name for t in ex.config.territories}
    assert names == EPT_IDS
    for r in ex.rows:
        c = colleges[r.site]
        assert r.commune == c["code_commune_cog2025"]
        assert names[r.territory] == c["ept_nom"] == ef.communes()[r.commune]["ept_nom"]
        assert (
            abs(r.lat - float(c["latitude"])) < 1e-5 and abs(r.lon - float(c["longitude"])) < 1e-5
        )
        assert c["appellation_officielle"] in r.label
        assert r.trade == "peinture" and 200 <= r.hours <= 900
        assert Decimal(42) <= r.value / r.hours <= Decimal(48)
    by_period = Counter(r.period for r in ex.rows)
    assert by_period["2027-07"] > by_period["2027-04"] + by_period["2027-02"]
    assert by_period["2027-02"] > 0 and by_period["2027-04"] > 0
    for t in ex.config.territories:
        expected = {i for i, c in ef.communes().items() if c["ept_nom"] == t.name}
        assert set(t.communes) == expected
    assert ex.config.lot_territories == {
        "LOT-0001": "plaine-commune",
        "LOT-0002": "est-ensemble",
        "LOT-0003": "gpge",
        "LOT-0004": "pte",
    }
    assert [p.id for p in ex.config.periods] == ["2027-02", "2027-04", "2027-07"]
    assert ex.config.groupement == "conjoint" and ex.config.mandataire_solidaire


def test_est_ensemble_sites():
    ex = shipped(EST_ENSEMBLE)
    assert 35 <= len(ex.rows) <= 45
    est_ensemble = {i for i, c in ef.communes().items() if c["ept_nom"] == "Est Ensemble"}
    assert {r.commune for r in ex.rows} == est_ensemble
    assert {r.trade for r in ex.rows} == {"espaces-verts", "nettoyage"}
    assert len(ex.lots) == 2 and len(ex.config.periods) == 2 and len(ex.config.territories) == 2
    for r in ex.rows:  # within 1.5 km of the commune's centroid
        c = ef.communes()[r.commune]
        assert great_circle_km(r.lat, r.lon, float(c["lat"]), float(c["lon"])) <= 1.5
    assert len({r.lot for r in ex.rows if r.trade == "nettoyage"}) == 1


# --------------------------------------------------------------------------- the notice


def test_notice_is_a_french_eforms_contract_notice(ex):
    root = ex.notice
    assert (
        root.tag == "{urn:oasis:names:specification:ubl:schema:xsd:ContractNotice-2}ContractNotice"
    )
    assert ex.text("cbc:NoticeLanguageCode") == "FRA"
    assert ex.text("cbc:CustomizationID").startswith("eforms-sdk-1.")
    buyer_ref = ex.text("cac:ContractingParty/cac:Party/cac:PartyIdentification/cbc:ID")
    assert buyer_ref.startswith("ORG-")
    for lot in ex.lots:
        assert lot.title and lot.value > 0
        assert sum(lot.weights) == 100


def test_colleges_notice():
    ex = shipped(COLLEGES)
    assert (
        ex.text("cac:ProcurementProject/cac:MainCommodityClassification/cbc:ItemClassificationCode")
        == "45442100"
    )
    assert [lot.id for lot in ex.lots] == ["LOT-0001", "LOT-0002", "LOT-0003", "LOT-0004"]
    assert all(lot.reserved == ["res-ws"] for lot in ex.lots)
    assert all(lot.weights == [40, 40, 20] for lot in ex.lots)
    for lot in ex.lots:
        assert EPT_IDS[ex.config.lot_territories[lot.id]] in lot.title


@needs_ingest
@pytest.mark.parametrize(
    ("name", "lots", "buyer", "reserved"),
    [
        (COLLEGES, 4, "Département de la Seine-Saint-Denis", True),
        (EST_ENSEMBLE, 2, "Établissement public territorial Est Ensemble", False),
    ],
)
def test_notice_loads_with_the_ingester(name, lots, buyer, reserved):
    from coop_tender.ingest import read_notice

    tender = read_notice(str(ef.EXAMPLES / name / "notice.xml"))
    assert tender.warnings == []
    assert len(tender.lots) == lots
    assert tender.buyer == buyer
    assert tender.reserved is reserved
    assert tender.social_clause
    assert tender.deadline is not None and tender.deadline.year == 2027
    assert all(lot.estimated_value and lot.currency == "EUR" for lot in tender.lots)
    assert all(lot.place and lot.place.nuts == "FR106" for lot in tender.lots)


@needs_ingest
@pytest.mark.parametrize("name", NAMES)
def test_workspace_builds_a_problem(name):
    from coop_tender.workspace import Workspace

    ex = shipped(name)
    problem = Workspace.open(ex.folder).problem()
    assert len(problem.tender.items) == len(ex.rows)
    assert {i.id for i in problem.tender.items} == {r.site for r in ex.rows}
    assert len(problem.members) == len(ex.members)
    assert problem.tender.insertion_hours_min == ex.config.insertion_hours_min
    assert sum(i.value for i in problem.tender.items) == sum(lot.value for lot in ex.lots)


# --------------------------------------------------------------------------- the members


def test_member_counts_and_kinds():
    co = shipped(COLLEGES)
    assert len(co.cocontractors) == 14 and len(co.providers) == 5
    assert {m.kind for m in co.cocontractors} == {"EI", "ACI"}
    assert sum("Régie de quartier" in m.name for m in co.cocontractors) >= 2
    ee = shipped(EST_ENSEMBLE)
    assert len(ee.cocontractors) == 6 and len(ee.providers) == 2
    assert not {m.id for m in co.members} & {m.id for m in ee.members}
    assert not {m.siret for m in co.members} & {m.siret for m in ee.members}


def test_members_are_valid_and_fictional(ex):
    territories = {t.id for t in ex.config.territories}
    territory_of = {c: t.id for t in ex.config.territories for c in t.communes}
    periods = {p.id for p in ex.config.periods}
    sirets = [m.siret for m in ex.members]
    assert len(set(sirets)) == len(sirets)
    for m in ex.members:
        assert (ex.folder / "members" / f"{m.id}.json").is_file()
        assert luhn_ok(m.siret) and luhn_ok(m.siret[:9]) and m.siret.startswith("99999")
        assert m.name.lower() not in ef.real_siae_names(), m.name
        assert m.commune in ef.communes(), m.id
        c = ef.communes()[m.commune]
        assert great_circle_km(m.lat, m.lon, float(c["lat"]), float(c["lon"])) <= 1.5, m.id
        assert m.postcode in c["codes_postaux"].split("|")
        assert set(m.territories) <= territories and territory_of[m.commune] in m.territories
        assert 1 <= len(m.territories) <= 3
        assert set(m.capacity_hours) == periods and all(h > 0 for h in m.capacity_hours.values())
        assert m.email.endswith(".example.org") and m.phone.startswith("01 99 00 ")
        assert set(m.turnover_history) == {2024, 2025, 2026}
        assert m.annual_turnover == m.turnover_history[2026] > 0
        assert m.workers > 0 and m.staff >= m.workers
        assert m.legal_form and m.representative and m.insurance and m.references
        if m.role == "provider":
            assert m.kind == "AI" and m.provider_mode == "mise_a_disposition"
            assert Decimal(18) <= m.hourly_rate <= Decimal(22)
        else:
            assert m.hourly_rate is None
            low, high = (0.5, 0.9) if m.kind == "ACI" else (0.3, 0.6)
            assert low <= m.insertion_rate <= high, m.id
        if ex.name == COLLEGES:
            assert "peinture" in m.trades


def test_policies():
    assert shipped(COLLEGES).raw_policy == {
        "target": "capacity",
        "fairness_tolerance": 0.05,
        "max_dependency": 0.5,
        "max_provider_share": 0.3,
        "min_provider_share": 0.1,
        "max_distance_km": None,
        "ai_max_hours_per_worker": 480,
        "pins": [],
        "forbids": [],
    }
    ee = shipped(EST_ENSEMBLE).policy
    assert ee.target == "equal" and ee.max_distance_km == 8
