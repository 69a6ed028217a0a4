"""Ingesting a public tender: the notice (eForms XML or BOAMP record) and the DQE spreadsheet.

For developers — what comes in and what is taken:

- `read_notice(source)`: `source` is a file path or an http(s) URL (fetched with httpx:
  timeouts, 3 retries with exponential backoff on connection errors, timeouts and 5xx, none on
  4xx, 20 MB limit — see `fetch.py`). The format is told by the content, not the name:
  XML must be an eForms UBL notice (ContractNotice, ContractAwardNotice, PriorInformationNotice,
  BusinessRegistrationInformationNotice); JSON must be a BOAMP open-data record or a one-record
  API answer (`boamp.py`), whose `donnees` holds the eForms tree or an older French format.
- From eForms (`eforms.py`): notice id (BT-701), procedure id (BT-04), the buyer's reference
  (BT-22, becomes `Tender.reference`, else the notice id), buyer name (the ContractingParty's
  ORG- reference resolved through efac:Organizations), title, description, main and additional
  CPV (from the lots when the procedure has none), lot groups, and every lot
  (`cac:ProcurementProjectLot` with schemeName Lot): id, title, description, estimated value
  (BT-27) and its currency, duration (BT-36, e.g. "36 MONTH"), place (NUTS, city, postcode,
  country), BT-71 reserved participation, BT-06 strategic and BT-775 social codes, award
  criteria (BT-539/540/541) and the submission deadline (BT-131, time-zone aware).
  `Tender.deadline` is the earliest lot deadline (restricted procedures without BT-131: the
  BT-1311 request-to-participate deadline, with a warning); `reserved` is true when a lot (or the
  procedure) has `res-ws` or `res-pub-ser`; `social_clause` when BT-775 codes or the BT-06 code
  `soc-obj` are present. French text is preferred in multilingual notices. Parts of a prior
  information notice are not lots (they still count for `reserved`/`social_clause`).
- Nothing is guessed silently: what is missing or odd (no lot title, a value without currency
  or not in EUR, an empty id, an unknown buyer reference) becomes a French sentence in
  `Tender.warnings`; a document that is not a notice, or an empty notice, raises `UserError`.
- `read_dqe(path)`: the DQE/BPU xlsx, one site per row — format in `dqe.py`'s docstring
  (columns Lot, Site, Libellé, Territoire, Commune, Latitude, Longitude, Corps d'état, Période,
  Heures, Montant HT). All or nothing: every bad cell is listed in `UserError.problems`.
- `ingest(source, dqe)` combines both and checks that each site's lot is a lot of the notice.
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from pydantic import ValidationError

from coop_tender.errors import UserError, describe_validation_error
from coop_tender.files import write_model
from coop_tender.ingest.boamp import is_record, parse_boamp
from coop_tender.ingest.dqe import read_dqe, read_dqe_rows
from coop_tender.ingest.eforms import is_eforms, parse_eforms, root_name
from coop_tender.ingest.fetch import fetch, load
from coop_tender.models import Tender

__all__ = ["fetch", "ingest", "ingest_command", "parse_notice", "read_dqe", "read_notice"]


def read_notice(source: str, **fetch_options: float) -> Tender:
    """A public notice (path or http(s) URL; eForms XML or BOAMP JSON) as a `Tender`.

    `fetch_options` (timeout, connect_timeout, retries, backoff) tune the download of a URL.
    """
    return parse_notice(load(source, **fetch_options), source)


def parse_notice(data: bytes, source: str) -> Tender:
    """Tell eForms XML from a BOAMP JSON record by content, and read it."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if not head:
        raise UserError(f"{source} : document vide")
    if head == b"<":
        try:
            root = ET.fromstring(data)
        except ET.ParseError as exc:
            line, column = exc.position
            raise UserError(
                f"{source} : XML mal formé (ligne {line}, colonne {column}) — pas un avis lisible"
            ) from None
        if not is_eforms(root):
            raise UserError(
                f"{source} : document XML de type « {root_name(root)} », pas un avis eForms "
                "(ContractNotice, ContractAwardNotice, PriorInformationNotice)"
            )
        return parse_eforms(root, source)
    if head in (b"{", b"["):
        try:
            record = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise UserError(f"{source} : JSON illisible") from None
        if not is_record(record):
            raise UserError(f"{source} : JSON qui n'est pas un enregistrement BOAMP")
        return parse_boamp(record, source)
    raise UserError(f"{source} : ni XML ni JSON : pas un avis eForms ni un enregistrement BOAMP")


def ingest(source: str, dqe: Path | None = None, **fetch_options: float) -> Tender:
    """The notice, plus the DQE's sites when given; every site's lot must be one of the notice."""
    tender = read_notice(source, **fetch_options)
    if dqe is None:
        return tender
    rows = read_dqe_rows(Path(dqe))
    warnings = list(tender.warnings)
    if tender.lots:
        known = {lot.id for lot in tender.lots}
        bad = [
            f"{dqe} : ligne {line}, site {item.id} : lot « {item.lot} » absent de l'avis"
            for line, item in rows
            if item.lot not in known
        ]
        if bad:
            raise UserError(
                f"{bad[0]} (lots de l'avis : {', '.join(sorted(known))}) ; "
                f"{len(bad)} site(s) concerné(s)",
                bad,
            )
    else:
        warnings.append("l'avis ne déclare aucun lot : les lots du DQE ne sont pas vérifiés")
    data = tender.model_dump()
    data.update(items=[item.model_dump() for _, item in rows], warnings=warnings)
    try:
        return Tender.model_validate(data)
    except ValidationError as exc:
        problems = describe_validation_error(exc)
        raise UserError(f"{dqe} : {problems[0]}", problems) from None


def ingest_command(args: argparse.Namespace) -> int:
    """`coop-tender ingest SOURCE --out tender.json [--dqe FILE.xlsx]`."""
    tender = ingest(args.source, Path(args.dqe) if args.dqe else None)
    write_model(Path(args.out), tender)
    for warning in tender.warnings:
        print(f"attention : {warning}", file=sys.stderr)
    print(
        f"{args.out} : {len(tender.lots)} lot(s), {len(tender.items)} site(s), "
        f"{len(tender.warnings)} avertissement(s)"
    )
    return 0
