"""eForms ingestion on every SDK example (CC BY 4.0), plus targeted checks of extracted fields."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from coop_tender.errors import UserError
from coop_tender.ingest import parse_notice, read_notice
from coop_tender.ingest.eforms import parse_deadline
from tests.ingest.helpers import CAC, CBC, EFORMS, count_lots

FILES = sorted(EFORMS.glob("*.xml"))
VALID = [p for p in FILES if not p.name.startswith("INVALID_")]
INVALID = [p for p in FILES if p.name.startswith("INVALID_")]


def test_all_sdk_examples_are_here():
    assert len(FILES) == 84
    assert len(INVALID) == 12
    assert (EFORMS / "LICENSE-CC-BY-4.0.txt").is_file()


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_notice_loads_with_every_lot(path: Path):
    tender = read_notice(str(path))
    assert len(tender.lots) == count_lots(path)
    assert tender.reference
    assert tender.source == str(path)
    assert len({lot.id for lot in tender.lots}) == len(tender.lots)
    for lot in tender.lots:
        if lot.estimated_value is not None:
            assert lot.estimated_value >= 0
            assert lot.currency or any("sans devise" in w for w in tender.warnings)
        if lot.submission_deadline is not None:
            assert lot.submission_deadline.tzinfo is not None
    if tender.deadline is not None:
        assert tender.deadline.tzinfo is not None
    for lot in tender.lots:
        if not lot.title:
            assert f"lot {lot.id} : titre absent" in tender.warnings


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_notice_fails_cleanly_or_says_what_is_wrong(path: Path):
    try:
        tender = read_notice(str(path))
    except UserError as exc:
        message = str(exc)
        assert "\n" not in message
        assert str(path) in message
        assert "vide" in message
        return
    assert tender.warnings, "an INVALID notice must not load silently"
    assert len(tender.lots) == count_lots(path)  # no lot silently dropped


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("INVALID_cn_24_stage-1.xml", "lot sans-identifiant-1 : titre absent"),
        ("INVALID_cn_24_stage-2.xml", "code de marché réservé (BT-71) vide"),
        ("INVALID_cn_24_multiple.xml", "organisation(s) vide(s)"),
        ("INVALID_change-cn_24_FRA_comments.xml", "avis rectificatif"),
        ("INVALID_can_24_stage-1.xml", "acheteur absent"),
    ],
)
def test_invalid_notice_warning_names_the_problem(name: str, expected: str):
    tender = read_notice(str(EFORMS / name))
    assert any(expected in w for w in tender.warnings), tender.warnings


def test_contract_notice_maximal_fields():
    tender = read_notice(str(EFORMS / "cn_24_maximal.xml"))
    assert tender.reference == "2023-P-0001"  # the buyer's reference (BT-22)
    assert tender.notice_id == "14549263-b47b-4e59-96a1-2d0d13e19343"
    assert tender.procedure_id == "aff2863e-b4cc-4e91-baba-b3b85f709117"
    assert tender.buyer == "Financial Adinistration for ..."  # ORG-0001 resolved
    assert tender.cpv_main == "79710000"
    assert "79720000" in tender.cpv_additional
    assert [lot.id for lot in tender.lots] == ["LOT-0001", "LOT-0002"]
    assert tender.lot_groups[0].id == "GLO-0001"
    assert tender.lot_groups[0].lots == ["LOT-0001", "LOT-0002"]
    lot = tender.lots[0]
    assert lot.estimated_value == Decimal("9999999.99")
    assert lot.currency == "EUR"
    assert lot.reserved == ["res-pub-ser"]
    assert lot.social == ["acc-all"]
    assert lot.strategic == ["env-imp"]
    assert [(c.type, c.weight) for c in lot.award_criteria] == [("cost", 60.0), ("quality", 40.0)]
    assert lot.place is not None and lot.place.city == "Luxembourg"
    assert lot.submission_deadline is None  # restricted procedure: no BT-131 in the lot...
    # ...so the tender's deadline is the request-to-participate deadline (BT-1311), with a warning
    assert tender.deadline == datetime(2023, 5, 22, 20, 59, 32, tzinfo=timezone(timedelta(hours=1)))
    assert any("BT-1311" in w for w in tender.warnings)
    assert tender.reserved is True
    assert tender.social_clause is True


def test_contract_notice_minimal_fields():
    tender = read_notice(str(EFORMS / "cn_24_minimal.xml"))
    assert tender.reference == tender.notice_id == "f42be27e-09cf-4f0e-a745-63ec689631e6"
    assert tender.buyer == "Publications Office of the European Union"
    (lot,) = tender.lots
    assert lot.id == "LOT-0000"
    assert lot.duration == "48 MONTH"
    assert lot.place is not None and lot.place.nuts == "FRD22" and lot.place.country == "FRA"
    assert lot.estimated_value is None  # no value in the notice: loads, nothing invented
    assert tender.deadline == datetime(2020, 2, 4, 8, 0, tzinfo=UTC)
    assert tender.reserved is False and tender.social_clause is False
    assert tender.warnings == []


def test_french_notice_prefers_french_text():
    tender = read_notice(str(EFORMS / "cn_24_FRA_comments.xml"))
    assert tender.buyer == "Rouen Habitat"
    assert tender.deadline == datetime(2019, 6, 24, 16, 0, tzinfo=UTC)
    names = {c.name for lot in tender.lots for c in lot.award_criteria}
    assert {"Prix", "Qualité"} <= names


def test_reserved_to_sheltered_workshops():
    reserved = [p for p in VALID if b">res-ws<" in p.read_bytes()]
    assert reserved
    for path in reserved:
        assert read_notice(str(path)).reserved is True


# --------------------------------------------------------------------------- built notices


def _minimal() -> etree._Element:
    return etree.parse(str(EFORMS / "cn_24_minimal.xml")).getroot()


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def _lot_project(root: etree._Element) -> etree._Element:
    return root.find(f"{{{CAC}}}ProcurementProjectLot/{{{CAC}}}ProcurementProject")


def _set_value(root: etree._Element, amount: str, currency: str | None) -> None:
    project = _lot_project(root)
    total = etree.SubElement(project, f"{{{CAC}}}RequestedTenderTotal")
    value = etree.SubElement(total, f"{{{CBC}}}EstimatedOverallContractAmount")
    value.text = amount
    if currency:
        value.set("currencyID", currency)


def test_hundred_lots_load():
    root = _minimal()
    lot = root.find(f"{{{CAC}}}ProcurementProjectLot")
    for n in range(1, 100):
        clone = copy.deepcopy(lot)
        clone.find(f"{{{CBC}}}ID").text = f"LOT-{n:04d}"
        root.append(clone)
    tender = parse_notice(_bytes(root), "cent-lots.xml")
    assert len(tender.lots) == 100
    assert len({lot.id for lot in tender.lots}) == 100


def test_value_in_euros_is_exact():
    root = _minimal()
    _set_value(root, "1234567.89", "EUR")
    tender = parse_notice(_bytes(root), "avis.xml")
    assert tender.lots[0].estimated_value == Decimal("1234567.89")
    assert tender.warnings == []


def test_value_without_currency_is_warned():
    root = _minimal()
    _set_value(root, "500000", None)
    tender = parse_notice(_bytes(root), "avis.xml")
    assert tender.lots[0].currency is None
    assert any("sans devise" in w for w in tender.warnings)


def test_value_in_other_currency_is_kept_with_warning():
    root = _minimal()
    _set_value(root, "500000", "GBP")
    tender = parse_notice(_bytes(root), "avis.xml")
    assert tender.lots[0].estimated_value == Decimal("500000")
    assert tender.lots[0].currency == "GBP"
    assert any("GBP" in w and "euros" in w for w in tender.warnings)


def test_unreadable_value_is_warned_not_invented():
    root = _minimal()
    _set_value(root, "beaucoup", "EUR")
    tender = parse_notice(_bytes(root), "avis.xml")
    assert tender.lots[0].estimated_value is None
    assert any("illisible" in w for w in tender.warnings)


def test_duplicate_lot_ids_are_warned():
    root = _minimal()
    root.append(copy.deepcopy(root.find(f"{{{CAC}}}ProcurementProjectLot")))
    tender = parse_notice(_bytes(root), "avis.xml")
    assert any("en double" in w for w in tender.warnings)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "vide"),
        (b"<ContractNotice><oops></ContractNotice>", "XML mal formé"),
        (b'<?xml version="1.0"?><html><body/></html>', "« html », pas un avis eForms"),
        (b"%PDF-1.4 binary", "ni XML ni JSON"),
        (b'{"foo": 1}', "pas un enregistrement BOAMP"),
        (b"{not json", "JSON illisible"),
    ],
)
def test_wrong_documents_fail_with_one_french_line(data: bytes, words: str):
    with pytest.raises(UserError) as err:
        parse_notice(data, "avis")
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_file():
    with pytest.raises(UserError, match="fichier introuvable"):
        read_notice("/nonexistent/avis.xml")


@pytest.mark.parametrize(
    ("day", "hour", "expected", "warning"),
    [
        ("2027-01-15+01:00", "12:00:00+01:00", datetime(2027, 1, 15, 11, tzinfo=UTC), None),
        (
            "2027-01-15Z",
            None,
            datetime(2027, 1, 15, 23, 59, 59, tzinfo=UTC),
            "heure limite absente",
        ),
        ("2027-07-15", "12:00:00", datetime(2027, 7, 15, 10, tzinfo=UTC), "heure de Paris"),
        ("2027-13-45+01:00", "12:00:00+01:00", None, "date limite illisible"),
        (
            "2027-01-15+01:00",
            "25:99:00+01:00",
            datetime(2027, 1, 15, 22, 59, 59, tzinfo=UTC),
            "heure limite illisible",
        ),
        ("2027-01-15+25:00", "12:00:00", None, "fuseau horaire illisible"),
    ],
)
def test_deadline_parsing(day, hour, expected, warning):
    warnings: list[str] = []
    assert parse_deadline(day, hour, "lot 1", warnings) == expected
    assert (warning is None and not warnings) or any(warning in w for w in warnings)


def test_mutated_notices_never_crash():
    """Garble random elements of the SDK examples: a Tender or a UserError, nothing else."""
    rng = random.Random(7)
    for _ in range(150):
        path = rng.choice(FILES)
        root = etree.parse(str(path)).getroot()
        elements = [e for e in root.iter() if isinstance(e.tag, str) and e is not root]
        for _ in range(rng.randint(1, 5)):
            element = rng.choice(elements)
            if rng.random() < 0.4 and element.getparent() is not None:
                element.getparent().remove(element)
            else:
                element.text = rng.choice(["", "x", "-1", "NaN", "1e999", "2020-13-45+01:00"])
                for key in element.attrib:
                    element.attrib[key] = rng.choice(["", "XYZ", "Lot"])
        try:
            tender = parse_notice(_bytes(root), path.name)
        except UserError as exc:
            assert "\n" not in str(exc)
        else:
            assert tender.reference
