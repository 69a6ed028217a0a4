"""BOAMP open-data records: eForms inside `donnees`, older French formats, unknown shapes.

The records are built after the shapes in shared/data/reference/boamp_record_shapes_from_fixtures
.json (reduced real records, Etalab 2.0), plus full eForms notices turned into BOAMP's JSON form.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from lxml import etree

from coop_tender.errors import UserError
from coop_tender.ingest import parse_notice, read_notice
from tests.ingest.helpers import EFORMS, count_lots, to_boamp_json

EFORMS_RECORD = {
    "idweb": "26-90291",
    "id": "26_90291",
    "objet": "Collecte et traitement de dechets",
    "nomacheteur": "Centre de soutien technique et administratif",
    "dateparution": "2026-09-19",
    "datelimitereponse": "2026-10-15T12:00:00+00:00",
    "perimetre": "DIRECTIVE-81",
    "nature": "APPEL_OFFRE",
    "etat": "INITIAL",
    "donnees": json.dumps(
        {
            "EFORMS": {
                "ContractNotice": {
                    "cac:ProcurementProject": {
                        "cbc:Description": {
                            "@languageID": "FRA",
                            "#text": "Collecte de dechets dangereux",
                        },
                        "cac:MainCommodityClassification": {
                            "cbc:ItemClassificationCode": {"@listName": "cpv", "#text": "90500000"}
                        },
                    },
                    "ext:UBLExtensions": {
                        "efac:Organizations": {
                            "efac:Organization": {
                                "efac:Company": {"cbc:Name": "Ministere des Armees"}
                            }
                        }
                    },
                }
            }
        }
    ),
}

FNSIMPLE_RECORD = {
    "idweb": "26-89664",
    "objet": "Rehabilitation du batiment de la Police Municipale",
    "nomacheteur": "Commune de Beaucaire",
    "dateparution": "2026-09-16",
    "datelimitereponse": None,
    "perimetre": "FNSimple",
    "nature": "APPEL_OFFRE",
    "donnees": json.dumps(
        {
            "FNSimple": {
                "initial": {
                    "natureMarche": {
                        "codeCPV": {"objetPrincipal": {"classPrincipale": "45000000"}},
                        "description": "Travaux pour la rehabilitation du batiment",
                    },
                    "lots": {
                        "lot": [
                            {
                                "codeCPV": {"objetPrincipal": {"classPrincipale": "45262500"}},
                                "description": "Maconneries",
                            },
                            {"numLot": "2", "description": "Peinture"},
                        ]
                    },
                }
            }
        }
    ),
}

LEGACY_RECORD = {
    "idweb": "16-88033",
    "objet": "Travaux de voirie",
    "nomacheteur": "Commune de Digne",
    "dateparution": "2016-06-15",
    "datelimitereponse": "2016-07-01T12:00:00",
    "perimetre": "CMP-2006",
    "donnees": json.dumps(
        {
            "IDENTITE": {"DENOMINATION": "Commune de Digne-les-Bains"},
            "OBJET": {
                "OBJET_COMPLET": "Travaux de voirie communale",
                "CPV": {"PRINCIPAL": "45233141", "SUPPLEMENTAIRE": ["45233142"]},
                "LOTS": {"LOT": [{"NUM_LOT": "1", "INTITULE": "Chaussées"}]},
            },
            "CONDITION_ADMINISTRATIVE": {"REFERENCE_MARCHE": "2016-VOI-07"},
        }
    ),
}

MAPA_RECORD = {
    "idweb": "26-79114",
    "objet": "Assurance Dommage Ouvrage (DO) et Assurance Tous Risques Chantier (TRC)",
    "nomacheteur": "CA MULHOUSE ALSACE AGGLOMERATION",
    "datelimitereponse": "2026-09-15T12:00:00+00:00",
    "donnees": {
        "MAPA": {
            "organisme": {"acheteurPublic": "CA Mulhouse Alsace Agglomération"},
            "initial": {
                "description": {"objet": "Réhabilitation du centre nautique"},
                "caracteristiques": {"principales": "Assurance dommages ouvrage de l'opération."},
            },
        }
    },
}


def _load(record: object) -> object:
    return parse_notice(json.dumps(record).encode(), "avis.json")


def test_eforms_record_reduced():
    tender = _load(EFORMS_RECORD)
    assert tender.reference == "26-90291"
    assert tender.notice_id == "26-90291"
    assert tender.title == "Collecte et traitement de dechets"
    assert tender.buyer == "Centre de soutien technique et administratif"
    assert tender.description == "Collecte de dechets dangereux"
    assert tender.cpv_main == "90500000"
    assert tender.deadline == datetime(2026, 10, 15, 12, tzinfo=UTC)
    assert "aucun lot dans l'avis" in tender.warnings


@pytest.mark.parametrize(
    "name", ["cn_24_maximal.xml", "cn_24_FRA_comments.xml", "can_24_maximal.xml"]
)
def test_full_eforms_notice_inside_a_record_reads_like_the_xml(name: str):
    path = EFORMS / name
    root = etree.parse(str(path)).getroot()
    local = etree.QName(root).localname
    record = {"idweb": "24-12345", "donnees": json.dumps({"EFORMS": {local: to_boamp_json(root)}})}
    from_json = _load(record)
    from_xml = read_notice(str(path))
    assert len(from_json.lots) == count_lots(path)
    assert from_json.lots == from_xml.lots
    assert from_json.buyer == from_xml.buyer
    assert from_json.cpv_main == from_xml.cpv_main
    assert from_json.deadline == from_xml.deadline
    assert from_json.reserved == from_xml.reserved


def test_fnsimple_record():
    tender = _load(FNSIMPLE_RECORD)
    assert tender.reference == "26-89664"
    assert tender.title == "Rehabilitation du batiment de la Police Municipale"
    assert tender.buyer == "Commune de Beaucaire"
    assert tender.cpv_main == "45000000"
    assert [(lot.id, lot.title) for lot in tender.lots] == [("1", "Maconneries"), ("2", "Peinture")]
    assert tender.deadline is None
    assert any("lot n° 1 : numéro absent" in w for w in tender.warnings)


def test_legacy_record():
    tender = _load(LEGACY_RECORD)
    assert tender.reference == "2016-VOI-07"  # the buyer's own reference
    assert tender.notice_id == "16-88033"
    assert tender.buyer == "Commune de Digne-les-Bains"
    assert tender.title == "Travaux de voirie"
    assert tender.cpv_main == "45233141" and tender.cpv_additional == ["45233142"]
    assert [(lot.id, lot.title) for lot in tender.lots] == [("1", "Chaussées")]
    assert tender.deadline is not None and tender.deadline.tzinfo is not None


def test_mapa_record_with_parsed_donnees_inside_an_api_answer():
    tender = _load({"total_count": 1, "results": [MAPA_RECORD]})
    assert tender.reference == "26-79114"
    assert tender.buyer == "CA Mulhouse Alsace Agglomération"
    assert tender.title == "Réhabilitation du centre nautique"
    assert tender.deadline == datetime(2026, 9, 15, 12, tzinfo=UTC)


def test_legacy_v1_api_answer():
    tender = _load({"nhits": 1, "records": [{"recordid": "x", "fields": LEGACY_RECORD}]})
    assert tender.reference == "2016-VOI-07"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"total_count": 2, "results": [MAPA_RECORD, LEGACY_RECORD]}, "2 avis"),
        ({"total_count": 0, "results": []}, "0 avis"),
        ({"idweb": "1", "donnees": "{pas du json"}, "« donnees »"),
        ({"idweb": "1", "donnees": json.dumps({"EFORMS": {"Autre": {}}})}, "sans avis reconnu"),
        ({"dateparution": "2026-01-01", "donnees": None}, "forme inconnue"),
        ({"idweb": "1", "donnees": json.dumps(["liste"])}, "inattendu"),
    ],
)
def test_unknown_shapes_fail_clearly(data: dict, words: str):
    with pytest.raises(UserError) as err:
        _load(data)
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_record_file_detected_by_content_not_extension(tmp_path):
    path = tmp_path / "avis.xml"  # JSON content, misleading extension
    path.write_text(json.dumps(LEGACY_RECORD), encoding="utf-8")
    assert read_notice(str(path)).reference == "2016-VOI-07"
