"""Reading a returned capacity form into a `Member`, with one French sentence per bad cell.

Sheets are found by their content (hidden metadata, section headers, labels in column A),
not by name, so a renamed sheet, blank rows or numbers typed as text still read. Any
problem rejects the whole file: the caller stores nothing.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import ValidationError

from coop_tender.capacity import layout as L
from coop_tender.capacity import parse
from coop_tender.errors import UserError, describe_validation_error
from coop_tender.geo import communes_93
from coop_tender.models import Member
from coop_tender.workspace import Workspace


def ref(cell: Cell) -> str:
    """`Capacités!B7`: how a problem names its cell."""
    return f"{cell.parent.title}!{cell.coordinate}"


@dataclass
class Scan:
    """What the sheets hold, cell by cell, before any conversion."""

    meta: dict[str, str] = field(default_factory=dict)
    identity: dict[str, Cell] = field(default_factory=dict)
    turnover: list[tuple[Cell, Cell]] = field(default_factory=list)
    periods: list[tuple[Cell, Cell]] = field(default_factory=list)
    territories: list[tuple[Cell, Cell]] = field(default_factory=list)
    trades: list[Cell] = field(default_factory=list)
    references: list[Cell] = field(default_factory=list)
    sections: set[str] = field(default_factory=set)
    problems: list[tuple[Cell | None, str]] = field(default_factory=list)


# --------------------------------------------------------------------------- opening


def load(source: Path | bytes) -> Workbook:
    """Open an xlsx from a path or bytes; anything else is a clear French `UserError`."""
    name = "le fichier" if isinstance(source, bytes) else str(source)
    if isinstance(source, bytes):
        data = source
    else:
        path = Path(source)
        if not path.is_file():
            raise UserError(f"{path} : fichier introuvable")
        if path.stat().st_size > L.MAX_BYTES:
            raise UserError(f"{path} : fichier trop volumineux (plus de 5 Mo)")
        data = path.read_bytes()
    if len(data) > L.MAX_BYTES:
        raise UserError(f"{name} : fichier trop volumineux (plus de 5 Mo)")
    not_xlsx = (
        f"{name} : ce n'est pas un classeur Excel .xlsx lisible ; enregistrez le formulaire "
        "au format « Classeur Excel (.xlsx) » et renvoyez-le"
    )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > L.MAX_UNZIPPED_BYTES:
                raise UserError(f"{name} : fichier trop volumineux une fois décompressé")
            if "xl/workbook.xml" not in archive.namelist():
                raise UserError(not_xlsx)
    except zipfile.BadZipFile:
        raise UserError(not_xlsx) from None
    try:
        return load_workbook(io.BytesIO(data), data_only=True)
    except Exception:  # openpyxl raises many kinds of error on a damaged file
        raise UserError(not_xlsx) from None


# --------------------------------------------------------------------------- scanning


def _first(ws: Worksheet) -> str:
    value = ws.cell(1, 1).value
    return str(value).strip() if value is not None else ""


def scan(wb: Workbook) -> Scan:
    """Walk every sheet once, sorting its rows into sections by the headers in column A."""
    result = Scan()
    for ws in wb.worksheets:
        first = _first(ws)
        if first == L.META_MARKER:
            for key, value in ws.iter_rows(min_row=2, max_col=2, values_only=True):
                if key is not None:
                    result.meta[str(key)] = "" if value is None else str(value)
            continue
        if first in (L.LISTS_MARKER, L.INSTRUCTIONS_TITLE):
            continue
        _scan_sheet(ws, result)
    return result


def _scan_sheet(ws: Worksheet, result: Scan) -> None:
    section: str | None = None
    for row in ws.iter_rows(min_col=1, max_col=2):
        label_cell, value_cell = row[0], row[1]
        if parse.is_blank(label_cell.value):
            if parse.is_blank(value_cell.value):
                continue
            if section == "turnover":
                result.turnover.append((label_cell, value_cell))
            elif section in ("periods", "territories"):
                what = "e période" if section == "periods" else " territoire"
                result.problems.append(
                    (
                        value_cell,
                        f"« {parse.show(value_cell.value)} » n'est rattaché à aucun{what} "
                        "(la colonne A de cette ligne est vide)",
                    )
                )
            continue
        label = L.normalize(label_cell.value)
        known = L.FIELD_BY_LABEL.get(label)
        if known is not None:
            if known.key in result.identity:
                result.problems.append(
                    (label_cell, f"la rubrique « {known.label} » apparaît deux fois")
                )
            result.identity[known.key] = value_cell
            section = "identity"
            continue
        if label in L.SECTION_BY_HEADER:
            section = L.SECTION_BY_HEADER[label]
            result.sections.add(section)
            continue
        if section == "turnover":
            result.turnover.append((label_cell, value_cell))
        elif section == "periods":
            result.periods.append((label_cell, value_cell))
        elif section == "territories":
            result.territories.append((label_cell, value_cell))
        elif section == "trades":
            result.trades.append(label_cell)
        elif section == "references":
            result.references.append(label_cell)


# --------------------------------------------------------------------------- converting


class Reader:
    """Converts a scan into Member data, collecting every problem instead of stopping."""

    def __init__(self, found: Scan, workspace: Workspace | None) -> None:
        self.found = found
        self.workspace = workspace
        self.problems: list[tuple[Cell | None, str]] = list(found.problems)
        self.cells: dict[str, Cell] = {}  # Member field -> the cell it came from
        self.failed: set[str] = set()  # Member fields already reported

    def fail(self, cell: Cell | None, message: str, key: str | None = None) -> None:
        self.problems.append((cell, message))
        if key:
            self.failed.add(key)

    def messages(self) -> list[str]:
        """Every problem as `Feuille!B7 : message`, in the order of the sheets and rows."""

        def order(problem: tuple[Cell | None, str]) -> tuple[int, int, int]:
            cell = problem[0]
            if cell is None:
                return (-1, 0, 0)
            return (cell.parent.parent.worksheets.index(cell.parent), cell.row, cell.column)

        return [
            f"{ref(cell)} : {text}" if cell is not None else text
            for cell, text in sorted(self.problems, key=order)
        ]

    def convert(
        self, cell: Cell, parser: Callable[[object], object], key: str | None = None
    ) -> object:
        try:
            return parser(cell.value)
        except ValueError as exc:
            self.fail(cell, str(exc), key)
            return None

    def allowed(self, key: str) -> list[str] | None:
        """The tender's period or territory ids: the workspace's, else the form's own."""
        if self.workspace is not None:
            items = getattr(self.workspace.config, key)
            return [i.id for i in items]
        if key in self.found.meta:
            try:
                return list(json.loads(self.found.meta[key]))
            except ValueError:
                return None
        return None

    def identity(self, data: dict) -> None:
        parsers: dict[str, Callable[[object], object]] = {
            "text": parse.text,
            "siret": parse.siret,
            "kind": parse.kind,
            "role": parse.role,
            "mode": parse.mode,
            "participate": parse.yes_no,
            "int": parse.count,
            "percent": parse.percent,
            "euros": parse.euros,
        }
        special = {
            "name": parse.name,
            "postcode": parse.postcode,
            "phone": parse.phone,
            "email": parse.email,
        }
        for spec in L.FIELDS:
            cell = self.found.identity.get(spec.key)
            if spec.key == "id":
                continue
            if cell is None:
                if spec.required:
                    self.fail(
                        None, f"rubrique « {spec.label} » introuvable dans le formulaire", spec.key
                    )
                continue
            self.cells[spec.key] = cell
            if parse.is_blank(cell.value):
                if spec.required:
                    self.fail(cell, f"case obligatoire vide ({spec.label})", spec.key)
                continue
            parser = special.get(spec.key, parsers.get(spec.kind, parse.text))
            value = self.convert(cell, parser, spec.key)
            if value is None:
                continue
            if spec.key == "participate":
                data["declined"] = not value
            else:
                data[spec.key] = value

    def member_id(self) -> str | None:
        member_id = self.found.meta.get("member_id", "").strip()
        cell = self.found.identity.get("id")
        if not member_id and cell is not None and not parse.is_blank(cell.value):
            member_id = parse.show(cell.value)
        if not member_id:
            self.fail(
                None, "identifiant du membre introuvable : utilisez le formulaire envoyé", "id"
            )
            return None
        if self.workspace is not None:
            from coop_tender.capacity.write import known_declarations

            if member_id not in known_declarations(self.workspace):
                self.fail(cell, f"le membre « {member_id} » n'est pas invité à cet appel d'offres")
        return member_id

    def tender(self) -> None:
        if self.workspace is None:
            return
        expected = self.workspace.config.reference
        got = self.found.meta.get("tender_reference", "").strip()
        if got and got != expected:
            self.fail(
                None,
                f"ce formulaire concerne l'appel d'offres « {got} », pas « {expected} »",
            )

    def turnover(self, data: dict) -> None:
        history: dict[int, object] = {}
        for year_cell, amount_cell in self.found.turnover:
            if parse.is_blank(amount_cell.value):
                continue
            if parse.is_blank(year_cell.value):
                self.fail(year_cell, "indiquez l'année de cet exercice")
                continue
            year = self.convert(year_cell, parse.year)
            amount = self.convert(amount_cell, parse.euros)
            if year is None or amount is None:
                continue
            if year in history:
                self.fail(year_cell, f"l'exercice {year} apparaît deux fois")
            history[year] = amount
        data["turnover_history"] = history

    def keyed_rows(
        self, rows: list[tuple[Cell, Cell]], key: str, what: str
    ) -> list[tuple[str, Cell]]:
        """Rows whose column A is a period or territory id, checked against the tender."""
        allowed = self.allowed(key)
        seen: set[str] = set()
        result = []
        for id_cell, value_cell in rows:
            ident = parse.show(id_cell.value)
            if allowed is not None and ident not in allowed:
                self.fail(
                    id_cell,
                    f"« {ident} » n'est pas {what} de cet appel d'offres "
                    f"(attendu : {', '.join(allowed)})",
                )
                continue
            if ident in seen:
                self.fail(id_cell, f"« {ident} » apparaît deux fois")
                continue
            seen.add(ident)
            result.append((ident, value_cell))
        return result

    def capacities(self, data: dict) -> None:
        if "periods" not in self.found.sections:
            self.fail(None, "tableau des heures par période introuvable (rubrique « Période »)")
        hours: dict[str, int] = {}
        for ident, cell in self.keyed_rows(self.found.periods, "periods", "une période"):
            if parse.is_blank(cell.value):
                continue
            value = self.convert(cell, parse.hours)
            if value is not None:
                hours[ident] = value
                self.cells[f"capacity_hours.{ident}"] = cell
        data["capacity_hours"] = hours
        served = []
        for ident, cell in self.keyed_rows(self.found.territories, "territories", "un territoire"):
            if parse.is_blank(cell.value):
                continue
            if self.convert(cell, parse.yes_no):
                served.append(ident)
        data["territories"] = served

    def lists(self, data: dict) -> None:
        trades: list[str] = []
        for cell in self.found.trades:
            trade = self.convert(cell, parse.text, "trades")
            if trade is not None and trade not in trades:
                trades.append(trade)
        data["trades"] = trades
        references = [self.convert(c, parse.text, "references") for c in self.found.references]
        data["references"] = [r for r in references if r is not None]

    def location(self, data: dict) -> None:
        """Coordinates: the previous declaration's, unless the commune changed on the form."""
        meta = self.found.meta
        commune = data.get("commune")
        same_place = commune is None or L.normalize(commune) == L.normalize(meta.get("commune", ""))
        previous = _floats(meta.get("lat"), meta.get("lon"))
        looked_up = commune_coordinates(commune) if commune else None
        coords = previous if (same_place and previous) else (looked_up or previous)
        if coords is None:
            cell = self.found.identity.get("commune")
            where = f"« {commune} » " if commune else ""
            self.fail(
                cell,
                f"commune {where}inconnue : indiquez la commune de votre siège "
                "(en Seine-Saint-Denis) pour que le réseau puisse vous situer",
            )
            self.failed |= {"lat", "lon"}
            return
        data["lat"], data["lon"] = coords

    def validate(self, data: dict) -> Member | None:
        try:
            return Member.model_validate(data)
        except ValidationError as exc:
            lines = describe_validation_error(exc)
            for err, line in zip(exc.errors(include_url=False), lines, strict=True):
                loc = [str(p) for p in err["loc"]]
                if loc and loc[0] in self.failed:
                    continue
                where = ".".join(loc)
                text = line.removeprefix(f"{where} : ") if where else line
                cell = self.cells.get(".".join(loc[:2])) or (
                    self.cells.get(loc[0]) if loc else None
                )
                label = L.FIELD_BY_KEY[loc[0]].label if loc and loc[0] in L.FIELD_BY_KEY else where
                self.fail(cell, text if cell is not None else f"{label} : {text}")
            return None


def _floats(lat: str | None, lon: str | None) -> tuple[float, float] | None:
    try:
        return (float(lat), float(lon)) if lat and lon else None
    except ValueError:
        return None


def commune_coordinates(commune: str) -> tuple[float, float] | None:
    """Latitude and longitude of a commune of the 93, by INSEE code, name or postcode."""
    wanted = L.normalize(commune).replace("-", " ")
    for row in communes_93():
        names = {row.get("insee", ""), L.normalize(row.get("nom", "")).replace("-", " ")}
        if wanted in names:
            return float(row["lat"]), float(row["lon"])
    return None


def read_form(source: Path | bytes, *, workspace: Workspace | None = None) -> Member:
    """Read a returned capacity form; raise `UserError` listing every problem, cell by cell."""
    found = scan(load(source))
    if not found.meta and not found.identity:
        raise UserError("ce fichier n'est pas un formulaire de capacités coop-tender")
    reader = Reader(found, workspace)
    data: dict = {}
    reader.tender()
    member_id = reader.member_id()
    data["id"] = member_id
    reader.identity(data)
    reader.turnover(data)
    reader.capacities(data)
    reader.lists(data)
    reader.location(data)
    member = reader.validate(data)
    problems = reader.messages()
    if problems or member is None:
        more = f" (et {len(problems) - 1} autre(s))" if len(problems) > 1 else ""
        raise UserError(
            f"formulaire refusé, {len(problems)} problème(s) : {problems[0]}{more}", problems
        )
    return member
