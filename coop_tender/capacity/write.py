"""Writing a member's capacity form: one xlsx, prefilled, with drop-downs and locked labels."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from coop_tender.capacity import layout as L
from coop_tender.errors import UserError
from coop_tender.files import write_atomic
from coop_tender.models import Lot, Member, Period, Territory
from coop_tender.workspace import Workspace

HOURS_FORMAT = "#,##0"
EUROS_FORMAT = '#,##0.00\\ "€"'
PERCENT_FORMAT = "0.0%"
DATE_FORMAT = "DD/MM/YYYY"
INPUT_FILL = PatternFill("solid", fgColor="FFF7D6")
HEADER_FILL = PatternFill("solid", fgColor="DDE7F0")
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
UNLOCKED = Protection(locked=False)
EXTRA_LIST_ROWS = 8
PARIS = ZoneInfo("Europe/Paris")


@dataclass
class FormContext:
    """What a form needs to know about the tender: only workspace.json, plus the notice if any."""

    reference: str
    periods: list[Period]
    territories: list[Territory]
    lots: list[Lot] = field(default_factory=list)
    trades: list[str] = field(default_factory=list)
    deadline: datetime | None = None


def known_declarations(workspace: Workspace) -> dict[str, Member]:
    """Every declaration the network has (seed files, then the store's latest), declined too."""
    by_id = {m.id: m for m in workspace.seed_members()}
    with contextlib.suppress(ImportError):  # the store module is optional for forms
        by_id.update(workspace.stored_declarations())
    return by_id


def form_context(workspace: Workspace) -> FormContext:
    """The tender facts a form shows; the notice is read only for lots and trades, if it loads."""
    config = workspace.config
    lots = [Lot(id=lot, territory=terr) for lot, terr in sorted(config.lot_territories.items())]
    trades: set[str] = set()
    try:
        tender = workspace.tender()
    except (UserError, ImportError, FileNotFoundError):
        tender = None
    if tender is not None:
        lots = tender.lots or lots
        trades |= {item.trade for item in tender.items}
    for member in known_declarations(workspace).values():
        trades |= set(member.trades)
    return FormContext(
        reference=config.reference,
        periods=list(config.periods),
        territories=list(config.territories),
        lots=lots,
        trades=sorted(trades),
        deadline=config.capacity_deadline,
    )


def write_form(
    workspace: Workspace,
    member_id: str,
    path: Path,
    previous: Member | None = None,
    *,
    context: FormContext | None = None,
) -> Path:
    """Write the capacity form of one invited member to `path`, prefilled with what we know.

    `context` (from `form_context`) saves re-reading the notice when writing many forms.
    """
    return write_atomic(Path(path), form_bytes(workspace, member_id, previous, context=context))


def form_bytes(
    workspace: Workspace,
    member_id: str,
    previous: Member | None = None,
    *,
    context: FormContext | None = None,
) -> bytes:
    """The xlsx of `write_form` as bytes (for the portal's download)."""
    if previous is None:
        previous = known_declarations(workspace).get(member_id)
        if previous is None:
            raise UserError(
                f"membre inconnu « {member_id} » : aucune déclaration dans {workspace.root}"
            )
    ctx = context or form_context(workspace)
    return workbook_bytes(build_workbook(ctx, member_id, previous))


def workbook_bytes(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def build_workbook(ctx: FormContext, member_id: str, previous: Member | None) -> Workbook:
    """The whole form: instructions, identity, capacities, trades, hidden lists and metadata."""
    wb = Workbook()
    instructions = wb.active
    instructions.title = L.SHEET_INSTRUCTIONS
    ranges = _lists_sheet(wb.create_sheet(L.SHEET_LISTS), ctx)
    _instructions_sheet(instructions, ctx, member_id, previous)
    _identity_sheet(wb.create_sheet(L.SHEET_IDENTITY, 1), ranges, member_id, previous)
    _capacity_sheet(wb.create_sheet(L.SHEET_CAPACITY, 2), ranges, ctx, previous)
    _trades_sheet(wb.create_sheet(L.SHEET_TRADES, 3), ranges, previous)
    _meta_sheet(wb.create_sheet(L.SHEET_META), ctx, member_id, previous)
    wb.active = 1
    return wb


# --------------------------------------------------------------------------- helpers


def _input(cell, value: object = None, number_format: str | None = None) -> None:
    """An answer cell: unlocked, highlighted, typed."""
    cell.value = value
    cell.protection = UNLOCKED
    cell.fill = INPUT_FILL
    if number_format:
        cell.number_format = number_format


def _header(ws: Worksheet, row: int, labels: list[str]) -> None:
    for col, label in enumerate(labels, start=1):
        cell = ws.cell(row, col, label)
        cell.font = BOLD
        cell.fill = HEADER_FILL


def _title(ws: Worksheet, title: str, subtitle: str) -> None:
    ws["A1"] = title
    ws["A1"].font = TITLE
    ws["A2"] = subtitle
    ws["A2"].alignment = Alignment(wrap_text=False)


def _protect(ws: Worksheet, widths: list[int]) -> None:
    """Lock everything but the answer cells; members may still resize and add rows."""
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.protection.insertRows = False


def _list_validation(ws: Worksheet, formula: str, strict: bool = True) -> DataValidation:
    dv = DataValidation(type="list", formula1=formula, allow_blank=True)
    dv.errorTitle = "Valeur non prévue"
    dv.error = "Choisissez une valeur dans la liste déroulante."
    dv.errorStyle = "stop" if strict else "warning"
    dv.showErrorMessage = True
    ws.add_data_validation(dv)
    return dv


def _euros(value: object) -> float | None:
    return None if value is None else float(value)


# --------------------------------------------------------------------------- sheets


def _lists_sheet(ws: Worksheet, ctx: FormContext) -> dict[str, str]:
    """The hidden sheet of drop-down choices; returns each list's range formula."""
    columns = {
        "kinds": list(L.KIND_LABELS.values()),
        "roles": list(L.ROLE_LABELS.values()),
        "modes": list(L.MODE_LABELS.values()),
        "yesno": [L.YES, L.NO],
        "periods": [p.id for p in ctx.periods],
        "territories": [t.id for t in ctx.territories],
        "lots": [lot.id for lot in ctx.lots],
        "trades": ctx.trades,
    }
    titles = {
        "kinds": "Types de structure",
        "roles": "Rôles",
        "modes": "Modes",
        "yesno": "Oui/Non",
        "periods": "Périodes",
        "territories": "Territoires",
        "lots": "Lots",
        "trades": "Métiers",
    }
    ws["A1"] = L.LISTS_MARKER
    ranges: dict[str, str] = {}
    for col, (key, values) in enumerate(columns.items(), start=1):
        letter = get_column_letter(col)
        ws.cell(2, col, titles[key]).font = BOLD
        for row, value in enumerate(values, start=3):
            ws.cell(row, col, value)
        last = max(3, 2 + len(values))
        ranges[key] = f"={L.SHEET_LISTS}!${letter}$3:${letter}${last}"
    ws.sheet_state = "hidden"
    ws.protection.sheet = True
    return ranges


def _instructions_sheet(
    ws: Worksheet, ctx: FormContext, member_id: str, previous: Member | None
) -> None:
    name = previous.name if previous else member_id
    deadline = (
        ctx.deadline.astimezone(PARIS).strftime("%d/%m/%Y à %H h %M")
        if ctx.deadline
        else "la date indiquée"
    )
    lines = [
        (L.INSTRUCTIONS_TITLE, TITLE),
        (f"Appel d'offres : {ctx.reference}", BOLD),
        (f"Structure : {name} (identifiant {member_id})", BOLD),
        ("", None),
        ("Ce classeur sert à déclarer ce que votre structure peut prendre en charge.", None),
        ("Il est prérempli avec ce que le réseau sait déjà de vous : vérifiez et corrigez.", None),
        ("Remplissez seulement les cases jaunes ; les autres sont protégées.", None),
        ("", None),
        ("Onglet « Structure » : identité, SIRET, représentant, assurance, chiffre d'affaires "
         "des trois derniers exercices (pour le DC2).", None),
        ("Onglet « Capacités » : heures disponibles pour chaque période (nombre entier, "
         "par exemple 1200) et, pour chaque territoire, oui ou non.", None),
        ("Onglet « Métiers » : un métier par ligne (liste déroulante ou texte libre), "
         "puis vos références (un chantier comparable par ligne).", None),
        ("", None),
        ("Les montants sont en euros (1234,56) ; le taux d'insertion en pourcentage (35 %).", None),
        ("Ne renommez pas les rubriques de la colonne A et ne supprimez pas les onglets cachés.",
         None),
        (f"Renvoyez le fichier au coordinateur ou déposez-le sur le portail avant le {deadline}"
         " (heure de Paris).", None),
        ("Si une case pose problème, le réseau vous dira laquelle et pourquoi.", None),
    ]  # fmt: skip
    for row, (text, font) in enumerate(lines, start=1):
        cell = ws.cell(row, 1, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if font:
            cell.font = font
    ws.column_dimensions["A"].width = 110
    ws.protection.sheet = True


def _identity_value(member: Member | None, spec: L.Field, member_id: str) -> object:
    if spec.key == "id":
        return member_id
    if spec.key == "participate":
        return L.NO if member and member.declined else L.YES
    if member is None:
        return None
    value = getattr(member, spec.key)
    if value is None:
        return None
    if spec.kind == "kind":
        return L.KIND_LABELS[value]
    if spec.kind == "role":
        return L.ROLE_LABELS[value]
    if spec.kind == "mode":
        return L.MODE_LABELS[value]
    if spec.kind == "euros":
        return _euros(value)
    return value


def _identity_sheet(
    ws: Worksheet, ranges: dict[str, str], member_id: str, previous: Member | None
) -> None:
    _title(ws, "Votre structure", "Les rubriques marquées * sont obligatoires.")
    _header(ws, 4, [L.HEADER_IDENTITY, "Votre réponse", "Aide"])
    choices = {
        "kind": _list_validation(ws, ranges["kinds"]),
        "role": _list_validation(ws, ranges["roles"]),
        "mode": _list_validation(ws, ranges["modes"]),
        "participate": _list_validation(ws, ranges["yesno"]),
    }
    formats = {"int": HOURS_FORMAT, "euros": EUROS_FORMAT, "percent": PERCENT_FORMAT}
    row = 5
    for spec in L.FIELDS:
        ws.cell(row, 1, spec.label + (" *" if spec.required else ""))
        value = _identity_value(previous, spec, member_id)
        cell = ws.cell(row, 2)
        if spec.kind == "id":
            cell.value = value
        else:
            text = spec.kind in ("text", "siret")
            _input(cell, value, "@" if text else formats.get(spec.kind))
        if spec.kind in choices:
            choices[spec.kind].add(cell)
        ws.cell(row, 3, spec.help).alignment = Alignment(wrap_text=True)
        row += 1
    # The DC2 asks for the last three years' turnover.
    row += 1
    _header(ws, row, [L.HEADER_TURNOVER, "Chiffre d'affaires (€)", "Aide"])
    ws.cell(row, 3, "Les trois derniers exercices clos (pour le DC2).")
    history = dict(previous.turnover_history) if previous else {}
    this_year = datetime.now(UTC).year
    for offset, year in enumerate(L.dc2_years(history, this_year), start=1):
        _input(ws.cell(row + offset, 1), year, "0")
        _input(ws.cell(row + offset, 2), _euros(history.get(year)), EUROS_FORMAT)
    _protect(ws, [48, 40, 70])


def _capacity_sheet(
    ws: Worksheet, ranges: dict[str, str], ctx: FormContext, previous: Member | None
) -> None:
    _title(
        ws,
        "Vos capacités pour cet appel d'offres",
        "Heures : un nombre entier par période. Territoires : oui ou non.",
    )
    _header(ws, 4, [L.HEADER_PERIODS, "Heures disponibles", "Libellé", "Du", "Au"])
    period_dv = _list_validation(ws, ranges["periods"])
    hours = previous.capacity_hours if previous else {}
    row = 5
    for period in ctx.periods:
        period_dv.add(ws.cell(row, 1, period.id))
        _input(ws.cell(row, 2), hours.get(period.id), HOURS_FORMAT)
        ws.cell(row, 3, period.label)
        for col, day in ((4, period.start), (5, period.end)):
            if isinstance(day, date):
                ws.cell(row, col, day).number_format = DATE_FORMAT
        row += 1
    row += 1
    _header(ws, row, [L.HEADER_TERRITORIES, "Desservi (oui/non)", "Nom", "Lots"])
    territory_dv = _list_validation(ws, ranges["territories"])
    yes_dv = _list_validation(ws, ranges["yesno"])
    served = set(previous.territories) if previous else set()
    for territory in ctx.territories:
        row += 1
        territory_dv.add(ws.cell(row, 1, territory.id))
        cell = ws.cell(row, 2)
        _input(cell, L.YES if territory.id in served else L.NO)
        yes_dv.add(cell)
        ws.cell(row, 3, territory.name)
        lots = [lot for lot in ctx.lots if lot.territory == territory.id]
        ws.cell(row, 4, ", ".join(f"{lot.id} {lot.title or ''}".strip() for lot in lots))
    _protect(ws, [24, 22, 40, 14, 14])


def _trades_sheet(ws: Worksheet, ranges: dict[str, str], previous: Member | None) -> None:
    _title(
        ws,
        "Vos métiers et vos références",
        "Un métier par ligne (liste ou texte libre) ; "
        "une référence (chantier comparable) par ligne.",
    )
    trades = list(previous.trades) if previous else []
    refs = list(previous.references) if previous else []
    _header(ws, 4, [L.HEADER_TRADES])
    trade_dv = _list_validation(ws, ranges["trades"], strict=False)
    row = 4
    for i in range(len(trades) + EXTRA_LIST_ROWS):
        row += 1
        cell = ws.cell(row, 1)
        _input(cell, trades[i] if i < len(trades) else None, "@")
        trade_dv.add(cell)
    row += 2
    _header(ws, row, [L.HEADER_REFERENCES])
    for i in range(len(refs) + EXTRA_LIST_ROWS):
        row += 1
        _input(ws.cell(row, 1), refs[i] if i < len(refs) else None, "@")
    _protect(ws, [90])


def _meta_sheet(ws: Worksheet, ctx: FormContext, member_id: str, previous: Member | None) -> None:
    """Hidden facts the reader needs: which tender and member, the coordinates, the choices."""
    rows = {
        "form_version": L.FORM_VERSION,
        "tender_reference": ctx.reference,
        "member_id": member_id,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "lat": repr(previous.lat) if previous else "",
        "lon": repr(previous.lon) if previous else "",
        "commune": (previous.commune or "") if previous else "",
        "periods": json.dumps([p.id for p in ctx.periods]),
        "territories": json.dumps([t.id for t in ctx.territories]),
    }
    ws["A1"] = L.META_MARKER
    for row, (key, value) in enumerate(rows.items(), start=2):
        ws.cell(row, 1, key)
        ws.cell(row, 2, value).number_format = "@"
    ws.sheet_state = "veryHidden"
    ws.protection.sheet = True
