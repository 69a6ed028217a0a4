"""The DQE/BPU spreadsheet (xlsx): one row per site (work item), read all-or-nothing.

Format (what `scripts/` example builder writes; any spreadsheet laid out so is accepted):

- the sheet named "DQE" if there is one, else the first sheet;
- the header row is the first row, among the first 20, holding a cell "Site";
- columns are found by their header, compared without case or accents (a trailing unit in
  brackets is ignored: "Montant HT (€)" is "Montant HT"); extra columns are ignored, any order:

  =============  ==========================================================  ========
  header         content                                                     required
  =============  ==========================================================  ========
  Lot            lot id as in the notice (text)                              yes
  Site           the item id: letters, digits, - _ . : (unique)              yes
  Libellé        label of the site                                           yes
  Territoire     territory id                                                yes
  Commune        INSEE code (5 characters; a number is zero-padded)          no
  Latitude       decimal degrees, -90..90 ("48,9" accepted)                  yes
  Longitude      decimal degrees, -180..180                                  yes
  Corps d'état   trade id, e.g. "peinture"                                   yes
  Période        period id, e.g. "2027-07" (a date cell gives "AAAA-MM")    yes
  Heures         whole hours > 0 ("1 200" accepted)                          yes
  Montant HT     euros > 0, exact ("12 500,50 €" accepted)                   yes
  =============  ==========================================================  ========

- blank rows are skipped; a formula cell must carry its computed value (saved by a spreadsheet).

Every bad cell is reported as `feuille « DQE », ligne 12, colonne « Heures » : « mille » n'est
pas un nombre d'heures` in `UserError.problems`; nothing is returned unless every row is good.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from coop_tender.errors import UserError, describe_validation_error
from coop_tender.models import WorkItem
from coop_tender.money import to_euros

HEADER_SEARCH_ROWS = 20
MAX_LISTED = 30
"""Problems named in the one-line error (all are kept in `UserError.problems`)."""
COLUMNS: dict[str, str] = {
    "lot": "Lot",
    "id": "Site",
    "label": "Libellé",
    "territory": "Territoire",
    "commune": "Commune",
    "lat": "Latitude",
    "lon": "Longitude",
    "trade": "Corps d'état",
    "period": "Période",
    "hours": "Heures",
    "value": "Montant HT",
}
"""WorkItem field → the column header in the spreadsheet."""
OPTIONAL = {"commune"}
IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")
INSEE = re.compile(r"^(\d{5}|2[AB]\d{3})$")


def normalize(header: Any) -> str:
    """Header comparison key: no accents, no case, single spaces, no trailing '(unit)'."""
    text = unicodedata.normalize("NFKD", str(header or "")).replace("’", "'")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"\s*\([^)]*\)\s*$", "", text)
    return re.sub(r"\s+", " ", text).strip()


class CellError(ValueError):
    """A cell's value is not what its column needs; the message is the French explanation."""


# --------------------------------------------------------------------------- cell readers


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        raise CellError(f"« {value} » est une date, pas un texte")
    return re.sub(r"\s+", " ", str(value)).strip()


def _ident(value: Any) -> str:
    text = _text(value)
    if not IDENT.match(text) or len(text) > 80:
        raise CellError(
            f"« {text} » n'est pas un identifiant valide (lettres, chiffres, - _ . : ; sans espace)"
        )
    return text


def _commune(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer():
        text = str(int(value)).zfill(5)
    else:
        text = _text(value).replace(" ", "").upper()
    if not INSEE.match(text):
        raise CellError(f"« {value} » n'est pas un code INSEE de commune (5 caractères)")
    return text


def _period(value: Any) -> str:
    if isinstance(value, datetime | date):
        return f"{value:%Y-%m}" if value.day == 1 else f"{value:%Y-%m-%d}"
    return _ident(value)


def _number(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int | float):
        return Decimal(repr(value))
    text = str(value).replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    return Decimal(text.replace(",", "."))


def _degrees(low: int, high: int, what: str) -> Callable[[Any], float]:
    def read(value: Any) -> float:
        try:
            number = _number(value)
            if not number.is_finite():
                raise ValueError
        except (ValueError, ArithmeticError):
            raise CellError(f"« {value} » n'est pas une {what} en degrés décimaux") from None
        if not low <= number <= high:
            raise CellError(f"« {value} » n'est pas une {what} (entre {low} et {high})")
        return float(number)

    return read


def _hours(value: Any) -> int:
    try:
        number = _number(value)
        if not number.is_finite():
            raise ValueError
    except (ValueError, ArithmeticError):
        raise CellError(f"« {value} » n'est pas un nombre d'heures") from None
    if number != number.to_integral_value():
        raise CellError(f"« {value} » : le nombre d'heures doit être entier")
    if number <= 0:
        raise CellError(f"« {value} » : le nombre d'heures doit être positif")
    return int(number)


def _euros(value: Any) -> Decimal:
    try:
        amount = to_euros(value)
    except ValueError:
        raise CellError(f"« {value} » n'est pas un montant en euros") from None
    if amount <= 0:
        raise CellError(f"« {value} » : le montant doit être positif")
    return amount


READERS: dict[str, Callable[[Any], Any]] = {
    "lot": _text,
    "id": _ident,
    "label": _text,
    "territory": _ident,
    "commune": _commune,
    "lat": _degrees(-90, 90, "latitude"),
    "lon": _degrees(-180, 180, "longitude"),
    "trade": _ident,
    "period": _period,
    "hours": _hours,
    "value": _euros,
}


# --------------------------------------------------------------------------- the sheet


def _open(path: Path, data_only: bool):
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        return load_workbook(path, read_only=True, data_only=data_only)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise UserError(f"{path} : ce n'est pas un classeur Excel (.xlsx) lisible") from None


def _sheet(workbook):
    return workbook["DQE"] if "DQE" in workbook.sheetnames else workbook.worksheets[0]


def read_dqe_rows(path: Path) -> list[tuple[int, WorkItem]]:
    """Every site of the DQE with its spreadsheet row number; `UserError` listing all bad cells."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path} : fichier DQE introuvable")
    if path.is_dir():
        raise UserError(f"{path} : c'est un dossier, pas un fichier DQE")
    values_book, formula_book = _open(path, True), _open(path, False)
    try:
        sheet = _sheet(values_book)
        formulas = list(_sheet(formula_book).iter_rows(values_only=True))
        rows = list(sheet.iter_rows(values_only=True))
        name = sheet.title
    finally:
        values_book.close()
        formula_book.close()
    where = f"feuille « {name} »"

    header_at = next(
        (
            i
            for i, row in enumerate(rows[:HEADER_SEARCH_ROWS])
            if any(normalize(c) == "site" for c in row)
        ),
        None,
    )
    if header_at is None:
        raise UserError(
            f"{path} : {where} : pas de ligne d'en-tête (une cellule « Site » dans les "
            f"{HEADER_SEARCH_ROWS} premières lignes)"
        )
    wanted = {normalize(label): field for field, label in COLUMNS.items()}
    columns: dict[str, int] = {}
    headers: dict[str, str] = {}
    for col, cell in enumerate(rows[header_at]):
        field = wanted.get(normalize(cell))
        if field and field not in columns:
            columns[field] = col
            headers[field] = str(cell).strip()
    missing = [COLUMNS[f] for f in COLUMNS if f not in columns and f not in OPTIONAL]
    if missing:
        names = ", ".join(f"« {m} »" for m in missing)
        raise UserError(
            f"{path} : {where}, ligne {header_at + 1} : colonne(s) manquante(s) : {names}"
        )

    problems: list[str] = []
    items: list[tuple[int, WorkItem]] = []
    seen: dict[str, int] = {}
    for index in range(header_at + 1, len(rows)):
        row = rows[index]
        line = index + 1
        cells = {f: row[c] if c < len(row) else None for f, c in columns.items()}
        raw_formulas = formulas[index] if index < len(formulas) else ()
        if all(_blank(v) for v in cells.values()) and not any(
            isinstance(raw_formulas[c], str) and raw_formulas[c].startswith("=")
            for c in columns.values()
            if c < len(raw_formulas)
        ):
            continue
        data: dict[str, Any] = {}
        row_problems: list[str] = []
        for field, value in cells.items():
            at = f"{where}, ligne {line}, colonne « {headers[field]} »"
            column = columns[field]
            formula = raw_formulas[column] if column < len(raw_formulas) else None
            if _blank(value):
                if isinstance(formula, str) and formula.startswith("="):
                    row_problems.append(
                        f"{at} : formule sans valeur calculée ({formula}) ; ouvrez le fichier "
                        "dans un tableur et enregistrez-le"
                    )
                elif field not in OPTIONAL:
                    row_problems.append(f"{at} : cellule vide")
                continue
            try:
                data[field] = READERS[field](value)
            except CellError as exc:
                row_problems.append(f"{at} : {exc}")
        site = data.get("id")
        if site is not None:
            if site in seen:
                row_problems.append(
                    f"{where}, ligne {line}, colonne « {headers['id']} » : site « {site} » en "
                    f"double (déjà ligne {seen[site]})"
                )
            else:
                seen[site] = line
        if row_problems:
            problems += row_problems
            continue
        try:
            items.append((line, WorkItem(**data)))
        except ValidationError as exc:
            problems += describe_validation_error(exc, prefix=f"{where}, ligne {line}, ")
    if problems:
        shown = " ; ".join(problems[:MAX_LISTED])
        more = (
            f" ; … et {len(problems) - MAX_LISTED} autre(s)" if len(problems) > MAX_LISTED else ""
        )
        raise UserError(
            f"{path} : {len(problems)} problème(s) dans le DQE, rien n'a été chargé : "
            f"{shown}{more}",
            problems,
        )
    if not items:
        raise UserError(f"{path} : {where} : aucun site sous la ligne d'en-tête")
    return items


def read_dqe(path: Path) -> list[WorkItem]:
    """The work items of a DQE/BPU xlsx, all or nothing (format: the module docstring)."""
    return [item for _, item in read_dqe_rows(path)]
