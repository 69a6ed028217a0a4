"""BOAMP open-data records (JSON of the BOAMP records API) → `Tender`.

A record's `donnees` field is a JSON string (sometimes already parsed) holding either the
eForms tree (`{"EFORMS": {"ContractNotice": {...}}}`, XML turned into JSON: prefixed keys,
`@attribute`, `#text`, repeated elements as lists), which is rebuilt as XML and read by the
eForms parser, or one of the older French formats (FNSimple, MAPA, the pre-2019 schema with
IDENTITE/OBJET…), from which title, buyer, reference, deadline, CPV and lots are taken where
present. The record's own fields (objet, nomacheteur, datelimitereponse, idweb) fill the gaps.
"""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from coop_tender.errors import UserError, describe_validation_error
from coop_tender.ingest.eforms import NS, PARIS, parse_eforms
from coop_tender.models import Lot, Tender

EFORMS_ROOTS = {
    "ContractNotice": "urn:oasis:names:specification:ubl:schema:xsd:ContractNotice-2",
    "ContractAwardNotice": "urn:oasis:names:specification:ubl:schema:xsd:ContractAwardNotice-2",
    "PriorInformationNotice": (
        "urn:oasis:names:specification:ubl:schema:xsd:PriorInformationNotice-2"
    ),
}
RECORD_KEYS = {"idweb", "donnees", "objet", "nomacheteur", "dateparution"}


def is_record(data: Any) -> bool:
    """True when `data` looks like a BOAMP API answer or record."""
    return isinstance(data, dict) and (
        bool(RECORD_KEYS & data.keys()) or "results" in data or "records" in data
    )


def the_record(data: dict, source: str) -> dict:
    """The one record of an API answer (v2.1 `results`, v1 `records[].fields`) or the record."""
    if "results" in data or "records" in data:
        rows = data.get("results")
        if rows is None:
            rows = [r.get("fields", r) for r in data.get("records") or [] if isinstance(r, dict)]
        if not isinstance(rows, list) or len(rows) != 1 or not isinstance(rows[0], dict):
            count = len(rows) if isinstance(rows, list) else 0
            raise UserError(
                f"{source} : la réponse BOAMP contient {count} avis ; il en faut exactement un"
            )
        return rows[0]
    return data


def parse_boamp(data: dict, source: str) -> Tender:
    """Read a BOAMP record (or a one-record API answer) into a `Tender`."""
    record = the_record(data, source)
    donnees = record.get("donnees")
    if isinstance(donnees, str):
        try:
            donnees = json.loads(donnees) if donnees.strip() else None
        except json.JSONDecodeError:
            raise UserError(f"{source} : champ « donnees » du BOAMP illisible (JSON)") from None
    if donnees is not None and not isinstance(donnees, dict):
        raise UserError(f"{source} : champ « donnees » du BOAMP inattendu")
    donnees = donnees or {}
    if "EFORMS" in donnees:
        tender = _from_eforms(donnees["EFORMS"], source)
    elif donnees:
        tender = _from_french(donnees, source)
    elif record.get("objet") or record.get("idweb"):
        tender = Tender(reference="?", warnings=["enregistrement BOAMP sans « donnees »"])
    else:
        raise UserError(
            f"{source} : enregistrement BOAMP de forme inconnue (ni avis ni « donnees »)"
        )
    return _complete(tender, record, source)


# --------------------------------------------------------------------------- eForms as JSON


def _from_eforms(tree: Any, source: str) -> Tender:
    roots = [k for k in tree if k in EFORMS_ROOTS] if isinstance(tree, dict) else []
    if not roots:
        raise UserError(f"{source} : arbre eForms du BOAMP sans avis reconnu")
    root = ET.Element(f"{{{EFORMS_ROOTS[roots[0]]}}}{roots[0]}")
    _fill(root, tree[roots[0]])
    return parse_eforms(root, source)


def _qname(key: str) -> str:
    prefix, _, local = key.rpartition(":")
    return f"{{{NS[prefix]}}}{local}" if prefix in NS else local


def _fill(element: ET.Element, value: Any) -> None:
    """Rebuild XML from the JSON form of eForms: '@x' attributes, '#text', lists = repetitions."""
    if isinstance(value, dict):
        for key, child in value.items():
            if key.startswith("@"):
                element.set(key[1:], str(child))
            elif key == "#text":
                element.text = html.unescape(str(child))
            else:
                for item in child if isinstance(child, list) else [child]:
                    _fill(ET.SubElement(element, _qname(key)), item)
    elif value is not None:
        element.text = html.unescape(str(value))


# --------------------------------------------------------------------------- French formats


def _get(tree: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(tree, dict):
            return None
        tree = tree.get(key)
    return tree


def _str(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("#text")
    if value is None or isinstance(value, dict | list):
        return None
    text = html.unescape(str(value)).strip()
    return text or None


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _from_french(donnees: dict, source: str) -> Tender:
    """FNSimple / MAPA / legacy (IDENTITE, OBJET…) records: what is present, nothing guessed."""
    form = next(iter(donnees)) if len(donnees) == 1 else None
    body = donnees[form] if form in ("FNSimple", "MAPA", "FNS", "JOUE") else donnees
    if not isinstance(body, dict):
        raise UserError(f"{source} : enregistrement BOAMP de forme inconnue")
    initial = body.get("initial") if isinstance(body.get("initial"), dict) else {}
    title = _str(_get(donnees, "OBJET", "TITRE_MARCHE")) or _str(
        _get(initial, "description", "objet")
    )
    description = (
        _str(_get(donnees, "OBJET", "OBJET_COMPLET"))
        or _str(_get(initial, "natureMarche", "description"))
        or _str(_get(initial, "caracteristiques", "principales"))
    )
    buyer = _str(_get(donnees, "IDENTITE", "DENOMINATION")) or _str(
        _get(body, "organisme", "acheteurPublic")
    )
    cpv = _str(_get(donnees, "OBJET", "CPV", "PRINCIPAL")) or _str(
        _get(initial, "natureMarche", "codeCPV", "objetPrincipal", "classPrincipale")
    )
    extra = [c for v in _as_list(_get(donnees, "OBJET", "CPV", "SUPPLEMENTAIRE")) if (c := _str(v))]
    lots: list[Lot] = []
    raw_lots = _as_list(_get(donnees, "OBJET", "LOTS", "LOT")) or _as_list(
        _get(initial, "lots", "lot")
    )
    warnings: list[str] = []
    for n, raw in enumerate(raw_lots, 1):
        if not isinstance(raw, dict):
            continue
        ident = _str(raw.get("NUM_LOT")) or _str(raw.get("numLot")) or _str(raw.get("num"))
        if not ident:
            ident = str(n)
            warnings.append(f"lot n° {n} : numéro absent, « {ident} » retenu")
        label = (
            _str(raw.get("INTITULE"))
            or _str(raw.get("intitule"))
            or _str(raw.get("description"))
            or _str(raw.get("DESCRIPTION"))
        )
        if not label:
            warnings.append(f"lot {ident} : titre absent")
        lots.append(Lot(id=ident, title=label))
    try:
        return Tender(
            reference=_str(_get(donnees, "CONDITION_ADMINISTRATIVE", "REFERENCE_MARCHE")) or "?",
            buyer=buyer,
            title=title,
            description=description,
            cpv_main=cpv,
            cpv_additional=extra,
            lots=lots,
            warnings=warnings,
        )
    except ValidationError as exc:
        problems = describe_validation_error(exc)
        raise UserError(f"{source} : enregistrement BOAMP incohérent ({problems[0]})") from None


def _deadline(text: Any, warnings: list[str]) -> datetime | None:
    value = _str(text)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        warnings.append(f"date limite de réponse illisible « {value} »")
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=PARIS)


def _complete(tender: Tender, record: dict, source: str) -> Tender:
    """Fill what the notice lacks from the record's own fields; the BOAMP number as reference."""
    warnings = list(tender.warnings)
    idweb = _str(record.get("idweb")) or _str(record.get("id"))
    update: dict[str, Any] = {"source": source}
    if tender.reference in ("?", "sans-reference") or (
        tender.reference == tender.notice_id and idweb
    ):
        update["reference"] = idweb or tender.notice_id or tender.procedure_id
        if not update["reference"]:
            raise UserError(f"{source} : enregistrement BOAMP sans numéro d'avis (idweb)")
        warnings = [w for w in warnings if "sans-reference" not in w]
    fill = {
        "title": _str(record.get("objet")),
        "buyer": _str(record.get("nomacheteur")),
        "procedure_id": _str(record.get("contractfolderid")),
        "notice_id": idweb,
    }
    for field, value in fill.items():
        if value and not getattr(tender, field):
            update[field] = value
    if update.get("title"):
        warnings = [w for w in warnings if w != "titre de l'avis absent"]
    if update.get("buyer"):
        warnings = [w for w in warnings if w != "acheteur absent"]
    if tender.deadline is None:
        update["deadline"] = _deadline(record.get("datelimitereponse"), warnings)
    if _str(record.get("etat")) == "AVIS_ANNULE":
        warnings.append("avis annulé selon le BOAMP")
    update["warnings"] = warnings
    return tender.model_copy(update=update)
