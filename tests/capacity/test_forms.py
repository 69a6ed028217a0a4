"""Capacity forms: written prefilled, filled by a "member" (openpyxl), read back identical."""

from __future__ import annotations

import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from coop_tender.capacity import layout as L
from coop_tender.capacity.forms import read_form, write_form
from coop_tender.capacity.read import commune_coordinates
from coop_tender.capacity.write import build_workbook, form_context, workbook_bytes
from coop_tender.cli import main
from coop_tender.errors import UserError
from coop_tender.files import read_model
from coop_tender.models import Member
from coop_tender.workspace import Workspace
from tests.capacity.conftest import COCONTRACTOR, CONFIG, PROVIDER
from tests.conftest import EXAMPLE

# The layout the writer produces (and the reader never relies on): Structure!B<row> per field.
ROW = {spec.key: row for row, spec in enumerate(L.FIELDS, start=5)}


def fill(path: Path, changes: dict[tuple[str, str], object], out: Path | None = None) -> Path:
    """What a member does: open the form, type in cells, save."""
    wb = load_workbook(path)
    for (sheet, coord), value in changes.items():
        wb[sheet][coord] = value
    out = out or path
    wb.save(out)
    return out


def problems_of(path: Path | bytes, **kwargs) -> list[str]:
    with pytest.raises(UserError) as info:
        read_form(path, **kwargs)
    return info.value.problems


# --------------------------------------------------------------------------- the written form


def test_form_layout(workspace: Workspace, tmp_path: Path) -> None:
    path = write_form(workspace, COCONTRACTOR.id, tmp_path / "form.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["Instructions", "Structure", "Capacités", "Métiers", "Listes", "Meta"]
    assert wb["Listes"].sheet_state == "hidden"
    assert wb["Meta"].sheet_state == "veryHidden"
    meta = {r[0]: r[1] for r in wb["Meta"].iter_rows(min_row=2, values_only=True)}
    assert meta["tender_reference"] == CONFIG["reference"]
    assert meta["member_id"] == COCONTRACTOR.id
    assert meta["form_version"] == L.FORM_VERSION
    assert "avant le 31/03/2026 à 18 h 00 (heure de Paris)" in " ".join(
        str(c.value) for c in wb["Instructions"]["A"] if c.value
    )
    assert "Ce classeur sert à déclarer" in " ".join(
        str(c) for c in wb["Instructions"]["A"] if c.value for c in [c.value]
    )

    ident = wb["Structure"]
    assert ident.protection.sheet and wb["Capacités"].protection.sheet
    assert ident["A7"].value == "Nom de la structure *" and ident["A7"].protection.locked
    assert ident["B7"].value == COCONTRACTOR.name and not ident["B7"].protection.locked
    assert ident["B5"].protection.locked  # the member id is not for the member to change
    assert ident[f"B{ROW['annual_turnover']}"].value == pytest.approx(1234567.89)
    assert "0.00" in ident[f"B{ROW['annual_turnover']}"].number_format
    assert ident[f"B{ROW['insertion_rate']}"].number_format.endswith("%")

    cap = wb["Capacités"]
    assert [cap[f"A{r}"].value for r in (5, 6, 7)] == ["2026-hiver", "2026-printemps", "2026-ete"]
    assert cap["B7"].value == 4500 and cap["B7"].number_format == "#,##0"
    assert isinstance(cap["B7"].value, int) and not cap["B7"].protection.locked
    assert cap["A4"].protection.locked and cap["A4"].value == "Période"
    assert [cap[f"A{r}"].value for r in (10, 11, 12)] == ["plaine-commune", "est-ensemble", "gpge"]
    assert [cap[f"B{r}"].value for r in (10, 11, 12)] == ["oui", "oui", "non"]
    assert "1" in cap["D10"].value  # lot 1 covers Plaine Commune

    formulas = {dv.formula1 for ws in wb.worksheets for dv in ws.data_validations.dataValidation}
    assert {"=Listes!$A$3:$A$8", "=Listes!$E$3:$E$5", "=Listes!$F$3:$F$5"} <= formulas
    lists = wb["Listes"]
    assert [lists[f"A{r}"].value for r in range(3, 9)] == [
        "EI",
        "ACI",
        "AI",
        "ETTI",
        "EITI",
        "autre",
    ]
    assert [lists[f"E{r}"].value for r in range(3, 6)] == [p["id"] for p in CONFIG["periods"]]
    assert [lists[f"G{r}"].value for r in range(3, 6)] == ["1", "2", "3"]


@pytest.mark.parametrize("member", [COCONTRACTOR, PROVIDER], ids=lambda m: m.id)
def test_unchanged_form_reads_back_identical(
    workspace: Workspace, tmp_path: Path, member: Member
) -> None:
    path = write_form(workspace, member.id, tmp_path / "form.xlsx")
    assert read_form(path, workspace=workspace) == member
    assert read_form(path.read_bytes()) == member  # without a workspace too


def test_filled_form_reads_back_as_typed(workspace: Workspace, tmp_path: Path) -> None:
    path = write_form(workspace, COCONTRACTOR.id, tmp_path / "form.xlsx")
    fill(path, FILLED_CHANGES)
    assert read_form(path, workspace=workspace) == FILLED


FILLED_CHANGES: dict[tuple[str, str], object] = {
    ("Capacités", "B5"): 1500,
    ("Capacités", "B6"): None,  # nothing declared for the spring holidays
    ("Capacités", "B7"): 5000,
    ("Capacités", "B11"): "non",
    ("Capacités", "B12"): "oui",
    ("Structure", f"B{ROW['workers']}"): 30,
    ("Structure", f"B{ROW['insertion_rate']}"): 0.4,
    ("Structure", f"B{ROW['annual_turnover']}"): 1300000.5,
    ("Structure", f"B{ROW['email']}"): "direction@peinture-solidaire.example",
    ("Structure", "A28"): 2025,
    ("Structure", "B28"): 1300000.5,
    ("Métiers", "A7"): "Sols souples",
}
FILLED = COCONTRACTOR.model_copy(
    update={
        "capacity_hours": {"2026-hiver": 1500, "2026-ete": 5000},
        "territories": ["plaine-commune", "gpge"],
        "workers": 30,
        "insertion_rate": 0.4,
        "annual_turnover": Decimal("1300000.50"),
        "email": "direction@peinture-solidaire.example",
        "turnover_history": {
            2025: Decimal("1300000.50"),
            2024: Decimal("1100000.00"),
            2023: Decimal("987654.32"),
        },
        "trades": [*COCONTRACTOR.trades, "Sols souples"],
    }
)


def test_member_declining(workspace: Workspace, tmp_path: Path) -> None:
    path = write_form(workspace, PROVIDER.id, tmp_path / "form.xlsx")
    fill(path, {("Structure", f"B{ROW['participate']}"): "Non"})
    assert read_form(path, workspace=workspace) == PROVIDER.model_copy(update={"declined": True})


def test_blank_form_for_a_new_member_uses_the_commune(workspace: Workspace, tmp_path: Path) -> None:
    """No previous declaration: the member types everything, coordinates come from the commune."""
    path = tmp_path / "form.xlsx"
    path.write_bytes(workbook_bytes(build_workbook(form_context(workspace), "nouvelle", None)))
    typed = {
        "name": "Nouvelle Régie",
        "siret": "73282932000074",
        "kind": "autre",
        "role": "cotraitant",
        "commune": "Bobigny",
        "annual_turnover": "300 000 €",
    }
    fill(path, {("Structure", f"B{ROW[k]}"): v for k, v in typed.items()})
    member = read_form(path)  # without a workspace: "nouvelle" is not among its members
    assert (member.lat, member.lon) == commune_coordinates("Bobigny")
    assert member.kind == "other" and member.annual_turnover == Decimal("300000.00")
    assert member.capacity_hours == {} and member.territories == []


def test_changed_commune_moves_the_member(workspace: Workspace, tmp_path: Path) -> None:
    path = write_form(workspace, COCONTRACTOR.id, tmp_path / "form.xlsx")
    fill(path, {("Structure", f"B{ROW['commune']}"): "93008"})  # Bobigny by INSEE code
    member = read_form(path, workspace=workspace)
    assert (member.lat, member.lon) == commune_coordinates("Bobigny") != (48.9362, 2.3574)


# --------------------------------------------------------------------------- mistakes


MISTAKES = [
    (("Capacités", "B7"), "mille", "Capacités!B7 : « mille » n'est pas un nombre d'heures"),
    (("Capacités", "B5"), -5, "Capacités!B5 : « -5 » : un nombre d'heures ne peut pas être"),
    (("Capacités", "B6"), "12,5 h", "Capacités!B6 : « 12,5 h » : indiquez un nombre entier"),
    (
        ("Structure", f"B{ROW['siret']}"),
        "73282932000075",
        f"Structure!B{ROW['siret']} : le SIRET « 73282932000075 » n'est pas valide",
    ),
    (
        ("Structure", f"B{ROW['siret']}"),
        "1234",
        f"Structure!B{ROW['siret']} : le SIRET « 1234 » doit compter 14 chiffres",
    ),
    (("Capacités", "A11"), "paris", "Capacités!A11 : « paris » n'est pas un territoire de cet"),
    (
        ("Structure", f"B{ROW['name']}"),
        None,
        f"Structure!B{ROW['name']} : case obligatoire vide (Nom de la structure)",
    ),
    (
        ("Structure", f"B{ROW['annual_turnover']}"),
        "  ",
        f"Structure!B{ROW['annual_turnover']} : case obligatoire vide",
    ),
    (
        ("Structure", f"B{ROW['insertion_rate']}"),
        150,
        f"Structure!B{ROW['insertion_rate']} : « 150 » n'est pas un pourcentage entre 0 et 100",
    ),
    (
        ("Structure", f"B{ROW['insertion_rate']}"),
        "120 %",
        f"Structure!B{ROW['insertion_rate']} : « 120 % » n'est pas un pourcentage",
    ),
    (("Capacités", "B12"), "peut-être", "Capacités!B12 : « peut-être » : répondez oui ou non"),
    (
        ("Structure", f"B{ROW['kind']}"),
        "SCOP",
        f"Structure!B{ROW['kind']} : « SCOP » n'est pas un type",
    ),
    (
        ("Structure", f"B{ROW['email']}"),
        "contact at x",
        f"Structure!B{ROW['email']} : « contact at x » n'est",
    ),
    (
        ("Structure", f"B{ROW['postcode']}"),
        "932",
        f"Structure!B{ROW['postcode']} : « 932 » n'est pas un code",
    ),
    (("Structure", "B28"), "beaucoup", "Structure!B28 : « beaucoup » n'est pas un montant"),
]


@pytest.mark.parametrize(("cell", "value", "expected"), MISTAKES, ids=[m[2][:30] for m in MISTAKES])
def test_each_mistake_is_named_in_french(
    workspace: Workspace, tmp_path: Path, cell: tuple[str, str], value: object, expected: str
) -> None:
    path = fill(write_form(workspace, COCONTRACTOR.id, tmp_path / "form.xlsx"), {cell: value})
    problems = problems_of(path, workspace=workspace)
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems


def test_every_mistake_is_reported_at_once(workspace: Workspace, tmp_path: Path) -> None:
    changes = {cell: value for cell, value, _ in MISTAKES[:3] + MISTAKES[5:9]}
    path = fill(write_form(workspace, COCONTRACTOR.id, tmp_path / "form.xlsx"), changes)
    with pytest.raises(UserError) as info:
        read_form(path, workspace=workspace)
    assert len(info.value.problems) == len(changes)
    assert str(info.value).startswith(f"formulaire refusé, {len(changes)} problème(s) : ")
    for _, _, expected in MISTAKES[:3] + MISTAKES[5:9]:
        assert any(p.startswith(expected) for p in info.value.problems), expected


def test_problems_come_in_sheet_and_row_order(workspace: Workspace, tmp_path: Path) -> None:
    changes = {
        ("Capacités", "B8"): 300,  # a value on the blank row between the two tables
        ("Structure", f"B{ROW['staff']}"): 2.5,
        ("Structure", f"B{ROW['name']}"): "x" * 250,
        ("Structure", f"B{ROW['siret']}"): None,
        ("Métiers", "A20"): "y" * 600,
    }
    path = fill(write_form(workspace, COCONTRACTOR.id, tmp_path / "form.xlsx"), changes)
    assert problems_of(path, workspace=workspace) == [
        "Structure!B7 : texte trop long (250 caractères, 200 au plus)",
        "Structure!B8 : case obligatoire vide (SIRET)",
        f"Structure!B{ROW['staff']} : « 2,5 » : indiquez un nombre entier positif de personnes",
        "Capacités!B8 : « 300 » n'est rattaché à aucune période (la colonne A de cette ligne "
        "est vide)",
        "Métiers!A20 : texte trop long (600 caractères, 500 au plus)",
    ]


def test_wrong_tender_or_member_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    path = write_form(workspace, COCONTRACTOR.id, tmp_path / "form.xlsx")
    other = json.loads((workspace.root / "workspace.json").read_text())
    other["reference"] = "AUTRE-MARCHE"
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "workspace.json").write_text(json.dumps(other))
    problems = problems_of(path, workspace=Workspace.open(tmp_path / "other"))
    assert any("concerne l'appel d'offres « TEST-2026-PEINTURE »" in p for p in problems)
    assert any("n'est pas invité" in p for p in problems)


# --------------------------------------------------------------------------- robustness


def test_renamed_sheets_blank_rows_and_numbers_as_text(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = write_form(workspace, COCONTRACTOR.id, tmp_path / "form.xlsx")
    wb = load_workbook(path)
    ident, cap = wb["Structure"], wb["Capacités"]
    ident[f"B{ROW['annual_turnover']}"] = "1 300 000,50 €"
    ident[f"B{ROW['insertion_rate']}"] = "40 %"
    ident[f"B{ROW['workers']}"] = "30"
    ident["B28"] = "1\u202f300\u202f000,50"
    cap["B5"] = "1 500"
    cap["B6"] = ""
    cap["B7"] = "5000 h"
    cap["B11"] = "Non"
    cap["B12"] = "OUI"
    wb["Métiers"]["A7"] = "Sols souples"
    ident[f"B{ROW['email']}"] = "direction@peinture-solidaire.example"
    ident["A28"] = "2025"
    cap.insert_rows(6, 2)  # blank rows inside the hours table
    cap.insert_rows(3, 1)
    ident.insert_rows(9, 3)  # and among the identity answers
    ident.title = "Ma structure"
    cap.title = "Feuil2"
    wb.save(path)
    assert read_form(path, workspace=workspace) == FILLED


@pytest.mark.parametrize(
    ("typed", "rate"), [(35, 0.35), (0.35, 0.35), ("35 %", 0.35), ("0,35", 0.35), ("35", 0.35)]
)
def test_percentages_typed_either_way(
    workspace: Workspace, tmp_path: Path, typed: object, rate: float
) -> None:
    path = write_form(workspace, PROVIDER.id, tmp_path / "form.xlsx")
    fill(path, {("Structure", f"B{ROW['insertion_rate']}"): typed})
    assert read_form(path).insertion_rate == rate


def test_not_an_xlsx_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "form.xlsx"
    text.write_text("nom;heures\nPeinture;1200\n")
    empty_zip = io.BytesIO()
    with zipfile.ZipFile(empty_zip, "w") as archive:
        archive.writestr("hello.txt", "bonjour")
    truncated = tmp_path / "truncated.xlsx"
    for source in (text, empty_zip.getvalue(), b"%PDF-1.7 not a workbook"):
        with pytest.raises(UserError, match=r"n'est pas un classeur Excel \.xlsx lisible"):
            read_form(source)
    with pytest.raises(UserError, match="introuvable"):
        read_form(tmp_path / "missing.xlsx")
    truncated.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(UserError, match="n'est pas un classeur Excel"):
        read_form(truncated)


def test_a_workbook_that_is_not_a_capacity_form(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active["A1"] = "Budget 2026"
    wb.save(tmp_path / "budget.xlsx")
    with pytest.raises(UserError, match="n'est pas un formulaire de capacités"):
        read_form(tmp_path / "budget.xlsx")


def test_oversized_file_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    big = tmp_path / "big.xlsx"
    big.write_bytes(b"PK" + b"\0" * (L.MAX_BYTES + 1))
    for source in (big, big.read_bytes()):
        with pytest.raises(UserError, match="trop volumineux"):
            read_form(source)


def test_zip_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(L, "MAX_UNZIPPED_BYTES", 1_000_000)  # the real limit is 60 MB
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"\0" * (L.MAX_UNZIPPED_BYTES + 1))
    assert len(bomb.getvalue()) < 10_000
    with pytest.raises(UserError, match="trop volumineux une fois décompressé"):
        read_form(bomb.getvalue())


# --------------------------------------------------------------------------- the commands


def test_forms_command_writes_one_form_per_member(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["forms", str(workspace.root)]) == 0
    paths = [Path(line) for line in capsys.readouterr().out.splitlines()]
    assert [p.name for p in paths] == ["capacites-ai-est.xlsx", "capacites-peinture-solidaire.xlsx"]
    assert all(p.parent == workspace.root / "forms" for p in paths)
    assert [read_form(p, workspace=workspace) for p in paths] == [PROVIDER, COCONTRACTOR]

    out = tmp_path / "out"
    assert main(["forms", str(workspace.root), "--out", str(out), "--member", "ai-est"]) == 0
    assert capsys.readouterr().out.splitlines() == [str(out / "capacites-ai-est.xlsx")]
    assert main(["forms", str(workspace.root), "--member", "inconnu"]) == 2
    assert "inconnu" in capsys.readouterr().err


def test_import_command(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = fill(write_form(workspace, COCONTRACTOR.id, tmp_path / "form.xlsx"), FILLED_CHANGES)
    out = tmp_path / "member.json"
    assert main(["import-capacity", str(path), "--out", str(out)]) == 0
    assert read_model(out, Member) == FILLED

    bad = fill(path, {("Capacités", "B7"): "mille", ("Structure", "B7"): None}, tmp_path / "b.xlsx")
    out.unlink()
    capsys.readouterr()
    assert main(["import-capacity", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("erreur : b.xlsx : formulaire refusé, 2 problème(s) : ")
    assert "Capacités!B7 : « mille » n'est pas un nombre d'heures" in err
    assert "Structure!B7 : case obligatoire vide (Nom de la structure)" in err
    assert not out.exists()


def test_import_into_the_store_keeps_the_previous_declaration_on_error(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from coop_tender.store import Store

    path = fill(write_form(workspace, COCONTRACTOR.id, tmp_path / "form.xlsx"), FILLED_CHANGES)
    ws = str(workspace.root)
    assert main(["import-capacity", str(path), "--workspace", ws]) == 0
    assert "version 1" in capsys.readouterr().out
    bad = fill(path, {("Capacités", "B5"): -3}, tmp_path / "bad.xlsx")
    assert main(["import-capacity", str(bad), "--workspace", ws]) == 2
    with Store(workspace.store_url) as store:
        assert store.latest_declarations()[COCONTRACTOR.id] == FILLED
        assert len(store.declaration_history(COCONTRACTOR.id)) == 1
    assert main(["import-capacity", str(tmp_path / "none.xlsx"), "--workspace", ws]) == 2
    assert "fichier introuvable" in capsys.readouterr().err
    # The next form is prefilled with the stored declaration.
    again = write_form(workspace, COCONTRACTOR.id, tmp_path / "again.xlsx")
    assert read_form(again, workspace=workspace) == FILLED


# --------------------------------------------------------------------------- the shipped example


def _as_on_form(member: Member, workspace: Workspace) -> Member:
    """A declaration as the form shows it: this tender's territories and periods, in its order."""
    territories = [t.id for t in workspace.config.territories if t.id in member.territories]
    periods = [p.id for p in workspace.config.periods if p.id in member.capacity_hours]
    hours = {p: member.capacity_hours[p] for p in periods}
    return member.model_copy(update={"territories": territories, "capacity_hours": hours})


@pytest.mark.skipif(not EXAMPLE.is_dir(), reason="the colleges-93 example is not built yet")
def test_example_members_round_trip(tmp_path: Path) -> None:
    workspace = Workspace.open(EXAMPLE)
    members = workspace.seed_members()
    assert len(members) >= 10
    context = form_context(workspace)
    for member in members:
        path = write_form(workspace, member.id, tmp_path / f"{member.id}.xlsx", context=context)
        assert read_form(path, workspace=workspace) == _as_on_form(member, workspace), member.id
    # A shipped example is never written into.
    had_store = (EXAMPLE / "store.sqlite").exists()
    assert main(["import-capacity", str(path), "--workspace", str(EXAMPLE)]) == 2
    assert (EXAMPLE / "store.sqlite").exists() == had_store
    # The tender's lots are listed next to their territory.
    lots = [c.value for c in load_workbook(path)["Capacités"]["D"] if c.value]
    assert any("LOT-" in str(v) for v in lots)


@pytest.mark.parametrize(
    "history",
    [{2026: "1", 2025: "2", 2024: "3"}, {2025: "2"}, {}],
    ids=["declared-2026-2024", "one-year-known", "nothing-known"],
)
def test_form_and_portal_ask_the_same_three_turnover_years(
    workspace: Workspace, history: dict[int, str]
) -> None:
    from datetime import UTC, datetime

    from coop_tender.portal.declaration import turnover_years

    member = COCONTRACTOR.model_copy(update={"turnover_history": history})
    ws = build_workbook(form_context(workspace), member.id, member)[L.SHEET_IDENTITY]
    header = next(r for r in range(1, 60) if ws.cell(r, 1).value == L.HEADER_TURNOVER)
    in_form = [ws.cell(header + k, 1).value for k in (1, 2, 3)]
    assert in_form == turnover_years(member, datetime.now(UTC).year)
    assert in_form == sorted(in_form, reverse=True) and len(set(in_form)) == 3
    assert set(history) <= set(in_form)


def test_import_into_a_shipped_example_is_refused_and_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    before = sorted(p.name for p in EXAMPLE.iterdir())
    code = main(["import-capacity", str(tmp_path / "f.xlsx"), "--workspace", str(EXAMPLE)])
    err = capsys.readouterr().err
    assert code == 2 and "exemple livré" in err and "SORTIE/workspace" in err
    assert sorted(p.name for p in EXAMPLE.iterdir()) == before  # nothing written into it
