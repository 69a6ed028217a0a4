"""eForms notices (UBL 2.3 XML, as published by TED and BOAMP since 2024) → `Tender`.

The parser is defensive: any notice type (cn, can, pin, veat, E1–E6, X01/X02, subco…) loads,
and what a notice lacks or gets wrong (a lot without title, a value without currency, an
empty notice) is reported as a French sentence in `Tender.warnings` rather than guessed at.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from coop_tender.errors import UserError, describe_validation_error
from coop_tender.models import AwardCriterion, Lot, LotGroup, Place, Tender

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "ext": "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2",
    "efac": "http://data.europa.eu/p27/eforms-ubl-extension-aggregate-components/1",
    "efext": "http://data.europa.eu/p27/eforms-ubl-extensions/1",
    "efbc": "http://data.europa.eu/p27/eforms-ubl-extension-basic-components/1",
}
ROOTS = {
    "urn:oasis:names:specification:ubl:schema:xsd:ContractNotice-2": "ContractNotice",
    "urn:oasis:names:specification:ubl:schema:xsd:ContractAwardNotice-2": "ContractAwardNotice",
    "urn:oasis:names:specification:ubl:schema:xsd:PriorInformationNotice-2": (
        "PriorInformationNotice"
    ),
    "http://data.europa.eu/p27/eforms-business-registration-information-notice/1": (
        "BusinessRegistrationInformationNotice"
    ),
}
"""eForms document namespaces → root element name."""

RESERVED_SIAE = {"res-ws", "res-pub-ser"}
"""BT-71 codes that open a lot to SIAE: sheltered workshops / social enterprises (L2113-12/13)."""
SOCIAL_STRATEGIC = {"soc-obj"}
"""BT-06 code meaning 'social objective'."""
PARIS = ZoneInfo("Europe/Paris")
CPV = re.compile(r"^\d{8}(-\d)?$")


def is_eforms(root: ET.Element) -> bool:
    """True when `root` is one of the eForms UBL notice documents."""
    ns, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    return ROOTS.get(ns) == local


def root_name(root: ET.Element) -> str:
    """The local name of an element (without its namespace)."""
    return root.tag.rpartition("}")[2]


# --------------------------------------------------------------------------- small readers


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = re.sub(r"\s+", " ", text).strip()
    return text or None


def _text(el: ET.Element | None, path: str) -> str | None:
    """Stripped text of the first match of `path` under `el`, None when absent or empty."""
    if el is None:
        return None
    for found in el.iterfind(path, NS):
        text = _clean(found.text)
        if text:
            return text
    return None


def _lang_text(el: ET.Element | None, path: str) -> str | None:
    """Text of a multilingual field: the French version if there is one, else the first."""
    if el is None:
        return None
    found = [(e.get("languageID") or "", _clean(e.text)) for e in el.iterfind(path, NS)]
    found = [(lang, text) for lang, text in found if text]
    for lang, text in found:
        if lang.upper() in ("FRA", "FR"):
            return text
    return found[0][1] if found else None


def _codes(el: ET.Element | None, path: str, list_name: str) -> list[str]:
    """Codes of a given codelist at `path`, without 'none' and blanks, in order, once each."""
    if el is None:
        return []
    codes: list[str] = []
    for found in el.iterfind(path, NS):
        code = _clean(found.text)
        if found.get("listName") == list_name and code and code != "none" and code not in codes:
            codes.append(code)
    return codes


def _has_empty_code(el: ET.Element, path: str, list_name: str) -> bool:
    return any(f.get("listName") == list_name and not _clean(f.text) for f in el.iterfind(path, NS))


def _ids(root: ET.Element, scheme: str) -> list[ET.Element]:
    """The cac:ProcurementProjectLot elements whose cbc:ID has this schemeName."""
    return [
        lot
        for lot in root.iterfind("cac:ProcurementProjectLot", NS)
        if (ident := lot.find("cbc:ID", NS)) is not None and ident.get("schemeName") == scheme
    ]


# --------------------------------------------------------------------------- dates


def parse_deadline(
    day: str | None, hour: str | None, where: str, warnings: list[str]
) -> datetime | None:
    """BT-131: an eForms date ('2020-02-04+02:00') and time ('10:00:00+02:00') → aware datetime.

    The time's offset wins, then the date's; with neither the notice is read in Paris time
    (and a warning says so). A date without time means the end of that day, also with a warning.
    """
    if not day:
        return None
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})(Z|[+-]\d{2}:\d{2})?", day)
    try:
        the_day = date.fromisoformat(m.group(1)) if m else None
    except ValueError:
        the_day = None
    if m is None or the_day is None:
        warnings.append(f"{where} : date limite illisible « {day} »")
        return None
    offset = m.group(2)
    the_time = time(23, 59, 59)
    if hour:
        t = re.fullmatch(r"(\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?", hour)
        try:
            the_time = time.fromisoformat(t.group(1)) if t else the_time
        except ValueError:
            t = None
        if not t:
            the_time = time(23, 59, 59)
            warnings.append(f"{where} : heure limite illisible « {hour} », 23:59 retenu")
        else:
            offset = t.group(2) or offset
    else:
        warnings.append(f"{where} : heure limite absente, 23:59 retenu")
    if offset:
        offset = "+00:00" if offset == "Z" else offset
        try:
            return datetime.fromisoformat(f"{the_day.isoformat()}T{the_time.isoformat()}{offset}")
        except ValueError:
            warnings.append(f"{where} : fuseau horaire illisible « {offset} »")
            return None
    warnings.append(f"{where} : date limite sans fuseau horaire, heure de Paris retenue")
    return datetime.combine(the_day, the_time, tzinfo=PARIS)


# --------------------------------------------------------------------------- organisations


def _organisations(root: ET.Element) -> dict[str, str]:
    """ORG-xxxx → organisation name, from efac:Organizations wherever it sits."""
    names: dict[str, str] = {}
    for org in root.iterfind(".//efac:Organization", NS):
        company = org.find("efac:Company", NS)
        if company is None:
            continue
        ident = _text(company, "cac:PartyIdentification/cbc:ID")
        name = _lang_text(company, "cac:PartyName/cbc:Name") or _lang_text(company, "cbc:Name")
        if ident and name:
            names[ident] = name
    return names


def _buyer(root: ET.Element, warnings: list[str]) -> str | None:
    """Buyer name(s): each cac:ContractingParty's ORG- reference resolved via efac:Organizations."""
    orgs = _organisations(root)
    names: list[str] = []
    for party in root.iterfind("cac:ContractingParty/cac:Party", NS):
        name = _lang_text(party, "cac:PartyName/cbc:Name")
        ref = _text(party, "cac:PartyIdentification/cbc:ID")
        if not name and ref:
            name = orgs.get(ref)
            if not name:
                warnings.append(f"acheteur {ref} : introuvable parmi les organisations de l'avis")
        if name and name not in names:
            names.append(name)
    return " ; ".join(names) or None


# --------------------------------------------------------------------------- lots


def _value(project: ET.Element | None, where: str, warnings: list[str]):
    """BT-27 estimated value and its currency; odd values are warned about, never guessed."""
    if project is None:
        return None, None
    amount = project.find("cac:RequestedTenderTotal/cbc:EstimatedOverallContractAmount", NS)
    if amount is None:
        return None, None
    text = _clean(amount.text)
    currency = _clean(amount.get("currencyID"))
    if not text:
        warnings.append(f"{where} : valeur estimée vide")
        return None, currency
    try:
        value = Decimal(text)
        if not value.is_finite() or value < 0:
            raise InvalidOperation
    except InvalidOperation:
        warnings.append(f"{where} : valeur estimée illisible « {text} »")
        return None, currency
    if not currency:
        warnings.append(
            f"{where} : valeur estimée {text} sans devise (gardée telle quelle, à vérifier)"
        )
    elif currency.upper() != "EUR":
        warnings.append(
            f"{where} : valeur estimée en {currency} et non en euros (gardée telle quelle)"
        )
    return value, currency


def _duration(project: ET.Element | None) -> str | None:
    """BT-36: '36 MONTH', or the planned start/end dates when that is what the notice gives."""
    if project is None:
        return None
    period = project.find("cac:PlannedPeriod", NS)
    if period is None:
        return None
    measure = period.find("cbc:DurationMeasure", NS)
    if measure is not None and _clean(measure.text):
        unit = measure.get("unitCode") or ""
        return f"{_clean(measure.text)} {unit}".strip()
    start, end = _text(period, "cbc:StartDate"), _text(period, "cbc:EndDate")
    if start or end:
        return f"{start or '?'}/{end or '?'}"
    return _text(period, "cbc:DescriptionCode")


def _place(project: ET.Element | None) -> Place | None:
    """Place of performance: the first cac:RealizedLocation address with anything in it."""
    if project is None:
        return None
    for address in project.iterfind("cac:RealizedLocation/cac:Address", NS):
        place = Place(
            nuts=_text(address, "cbc:CountrySubentityCode"),
            city=_text(address, "cbc:CityName"),
            postcode=_text(address, "cbc:PostalZone"),
            country=_text(address, "cac:Country/cbc:IdentificationCode"),
        )
        if any(place.model_dump().values()):
            return place
    return None


def _criteria(lot: ET.Element, where: str, warnings: list[str]) -> list[AwardCriterion]:
    """BT-539 type, BT-540 description, BT-541 weight (the first number-weight parameter)."""
    criteria: list[AwardCriterion] = []
    path = "cac:TenderingTerms/cac:AwardingTerms/cac:AwardingCriterion/"
    path += "cac:SubordinateAwardingCriterion"
    for sub in lot.iterfind(path, NS):
        weight = None
        for param in sub.iterfind(".//efac:AwardCriterionParameter", NS):
            code = param.find("efbc:ParameterCode", NS)
            number = _text(param, "efbc:ParameterNumeric")
            if code is not None and code.get("listName") == "number-weight" and number:
                try:
                    weight = float(number)
                except ValueError:
                    warnings.append(f"{where} : pondération illisible « {number} »")
                break
        criteria.append(
            AwardCriterion(
                type=_text(sub, "cbc:AwardingCriterionTypeCode"),
                name=_lang_text(sub, "cbc:Name") or _lang_text(sub, "cbc:Description"),
                weight=weight,
            )
        )
    return criteria


def _lot(el: ET.Element, number: int, kind: str, warnings: list[str]) -> Lot:
    """One cac:ProcurementProjectLot (a Lot, or a Part of a prior information notice)."""
    ident = _text(el, "cbc:ID")
    if not ident:
        ident = f"sans-identifiant-{number}"
        warnings.append(f"{kind} n° {number} : identifiant absent (appelé « {ident} »)")
    where = f"{kind} {ident}"
    project = el.find("cac:ProcurementProject", NS)
    title = _lang_text(project, "cbc:Name")
    if not title:
        warnings.append(f"{where} : titre absent")
    cpv = _text(project, "cac:MainCommodityClassification/cbc:ItemClassificationCode")
    if not cpv:
        warnings.append(f"{where} : code CPV principal absent")
    elif not CPV.match(cpv):
        warnings.append(f"{where} : code CPV « {cpv} » mal formé (8 chiffres attendus)")
    value, currency = _value(project, where, warnings)
    terms = el.find("cac:TenderingTerms", NS)
    reserved_path = "cac:TendererQualificationRequest/cac:SpecificTendererRequirement/"
    reserved_path += "cbc:TendererRequirementTypeCode"
    if terms is not None and _has_empty_code(terms, reserved_path, "reserved-procurement"):
        warnings.append(f"{where} : code de marché réservé (BT-71) vide")
    process = el.find("cac:TenderingProcess/cac:TenderSubmissionDeadlinePeriod", NS)
    deadline = None
    if process is not None:
        deadline = parse_deadline(
            _text(process, "cbc:EndDate"), _text(process, "cbc:EndTime"), where, warnings
        )
    additional = "cac:ProcurementAdditionalType/cbc:ProcurementTypeCode"
    return Lot(
        id=ident,
        title=title,
        description=_lang_text(project, "cbc:Description"),
        estimated_value=value,
        currency=currency,
        duration=_duration(project),
        place=_place(project),
        reserved=_codes(terms, reserved_path, "reserved-procurement"),
        strategic=_codes(project, additional, "strategic-procurement"),
        social=_codes(project, additional, "social-objective"),
        award_criteria=_criteria(el, where, warnings),
        submission_deadline=deadline,
    )


def _groups(root: ET.Element, lot_ids: set[str], warnings: list[str]) -> list[LotGroup]:
    """Lot groups: their titles (schemeName LotsGroup) and members (cac:LotDistribution)."""
    titles = {
        _text(g, "cbc:ID"): _lang_text(g, "cac:ProcurementProject/cbc:Name")
        for g in _ids(root, "LotsGroup")
    }
    members: dict[str, list[str]] = {}
    for group in root.iterfind("cac:TenderingTerms/cac:LotDistribution/cac:LotsGroup", NS):
        gid = _text(group, "cbc:LotsGroupID")
        if not gid:
            continue
        refs = [
            text
            for ref in group.iterfind("cac:ProcurementProjectLotReference/cbc:ID", NS)
            if (text := _clean(ref.text))
        ]
        members.setdefault(gid, []).extend(refs)
        for ref in refs:
            if ref not in lot_ids:
                warnings.append(f"groupe de lots {gid} : lot inconnu « {ref} »")
    return [
        LotGroup(id=gid, title=titles.get(gid), lots=members.get(gid, []))
        for gid in dict.fromkeys([k for k in titles if k] + list(members))
    ]


# --------------------------------------------------------------------------- the notice


def _cpv(root: ET.Element, lots: list[ET.Element]) -> tuple[str | None, list[str]]:
    """Main and additional CPV of the procedure; from the lots when the procedure has none."""
    project = root.find("cac:ProcurementProject", NS)
    main = _text(project, "cac:MainCommodityClassification/cbc:ItemClassificationCode")
    extra = [
        code
        for e in (
            project.iterfind("cac:AdditionalCommodityClassification/cbc:ItemClassificationCode", NS)
            if project is not None
            else []
        )
        if (code := _clean(e.text))
    ]
    for lot in lots:
        for path in ("cac:MainCommodityClassification", "cac:AdditionalCommodityClassification"):
            for e in lot.iterfind(f"cac:ProcurementProject/{path}/cbc:ItemClassificationCode", NS):
                code = _clean(e.text)
                if code and main is None:
                    main = code
                elif code and code != main and code not in extra:
                    extra.append(code)
    return main, list(dict.fromkeys(extra))


def _participation_deadline(lots: list[ET.Element], warnings: list[str]) -> datetime | None:
    """BT-1311 (restricted procedures): the deadline for requests to participate, when no lot
    gives a tender deadline; it is then the first date the consortium must meet."""
    found = []
    for lot in lots:
        period = lot.find("cac:TenderingProcess/cac:ParticipationRequestReceptionPeriod", NS)
        if period is not None:
            when = parse_deadline(
                _text(period, "cbc:EndDate"), _text(period, "cbc:EndTime"), "candidatures", []
            )
            if when:
                found.append(when)
    if not found:
        return None
    warnings.append(
        "pas de date limite de remise des offres (BT-131) : date limite de candidature "
        "(BT-1311) retenue"
    )
    return min(found)


def parse_eforms(root: ET.Element, source: str) -> Tender:
    """Read an eForms notice's root element into a `Tender` (warnings in French included)."""
    warnings: list[str] = []
    kind = root_name(root)
    if kind == "BusinessRegistrationInformationNotice":
        warnings.append("avis d'enregistrement d'entreprise (X01/X02) : ce n'est pas un marché")
    notice_id = _text(root, "cbc:ID")
    procedure_id = _text(root, "cbc:ContractFolderID")
    project = root.find("cac:ProcurementProject", NS)
    internal_ref = _text(project, "cbc:ID")
    title = _lang_text(project, "cbc:Name")
    buyer = _buyer(root, warnings)

    lot_elements = _ids(root, "Lot")
    lots = [_lot(el, n, "lot", warnings) for n, el in enumerate(lot_elements, 1)]
    parts = [_lot(el, n, "partie", []) for n, el in enumerate(_ids(root, "Part"), 1)]
    ids = [lot.id for lot in lots]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        warnings.append(f"lot {dup} : identifiant en double dans l'avis")
    if parts and not lots:
        warnings.append(
            f"avis de pré-information : {len(parts)} partie(s), aucun lot (pas encore un appel "
            "à concurrence)"
        )
    elif not lots and kind != "BusinessRegistrationInformationNotice":
        warnings.append("aucun lot dans l'avis")
    main_cpv, extra_cpv = _cpv(root, lot_elements)

    if not notice_id:
        warnings.append("identifiant de l'avis (notice-id) absent")
    empty_orgs = [
        org
        for org in root.iterfind(".//efac:Organization", NS)
        if not "".join(org.itertext()).strip()
    ]
    if empty_orgs:
        warnings.append(f"{len(empty_orgs)} organisation(s) vide(s) dans l'avis")
    changed = _text(root, ".//efac:Changes/efbc:ChangedNoticeIdentifier")
    if changed:
        warnings.append(
            f"avis rectificatif de l'avis {changed} : les valeurs lues sont celles après "
            "modification, à comparer avec l'avis d'origine"
        )
    if not procedure_id and kind in ("ContractNotice", "ContractAwardNotice"):
        warnings.append("identifiant de la procédure (ContractFolderID) absent")
    if not title:
        warnings.append("titre de l'avis absent")
    if not buyer and kind != "BusinessRegistrationInformationNotice":
        warnings.append("acheteur absent")
    reference = internal_ref or notice_id or procedure_id
    if not reference:
        description = _lang_text(project, "cbc:Description")
        if not (title or lots or buyer or description or main_cpv):
            raise UserError(
                f"{source} : avis eForms vide (ni identifiant, ni titre, ni acheteur, ni lot)"
            )
        reference = "sans-reference"
        warnings.append("ni référence de l'acheteur ni identifiant d'avis : « sans-reference »")

    everything = [*lots, *parts]
    procedure_terms = root.find("cac:TenderingTerms", NS)
    procedure_reserved = _codes(
        procedure_terms,
        "cac:TendererQualificationRequest/cac:SpecificTendererRequirement/"
        "cbc:TendererRequirementTypeCode",
        "reserved-procurement",
    )
    additional = "cac:ProcurementAdditionalType/cbc:ProcurementTypeCode"
    social = _codes(project, additional, "social-objective") + [
        c for lot in everything for c in lot.social
    ]
    strategic = _codes(project, additional, "strategic-procurement") + [
        c for lot in everything for c in lot.strategic
    ]
    deadline = min(
        (lot.submission_deadline for lot in lots if lot.submission_deadline), default=None
    )
    if deadline is None:
        deadline = _participation_deadline(lot_elements, warnings)
    try:
        return Tender(
            reference=reference,
            notice_id=notice_id,
            procedure_id=procedure_id,
            buyer=buyer,
            title=title,
            description=_lang_text(project, "cbc:Description"),
            cpv_main=main_cpv,
            cpv_additional=extra_cpv,
            deadline=deadline,
            reserved=bool(
                RESERVED_SIAE & {*procedure_reserved, *(c for x in everything for c in x.reserved)}
            ),
            social_clause=bool(social) or bool(SOCIAL_STRATEGIC & set(strategic)),
            lots=lots,
            lot_groups=_groups(root, set(ids), warnings),
            warnings=warnings,
            source=source,
        )
    except ValidationError as exc:
        problems = describe_validation_error(exc)
        raise UserError(f"{source} : avis eForms incohérent ({problems[0]})", problems) from None
