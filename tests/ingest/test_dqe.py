"""The DQE/BPU xlsx reader: good files, every kind of bad cell, all-or-nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from coop_tender.errors import UserError
from coop_tender.ingest import ingest, read_dqe
from coop_tender.ingest.dqe import COLUMNS as DQE_COLUMNS
from tests.ingest.helpers import EFORMS

HEADER = list(DQE_COLUMNS.values())
ROW_A = ["LOT-0000", "C-0931", "Collège Jean Moulin", "T1", "93001", 48.91, 2.38, "peinture",
         "2027-07", 420, 18500.5]  # fmt: skip
ROW_B = ["LOT-0000", "C-0932", "Collège Iqbal Masih", "T1", "93066", 48.93, 2.35, "peinture",
         "2027-08", 300, 12000]  # fmt: skip


def write(tmp_path: Path, rows: list[list], *, header=HEADER, sheet="DQE", before=()) -> Path:
    book = Workbook()
    ws = book.active
    ws.title = sheet
    for line in before:
        ws.append(line)
    ws.append(header)
    for row in rows:
        ws.append(row)
    path = tmp_path / "dqe.xlsx"
    book.save(path)
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(UserError) as err:
        read_dqe(path)
    assert "\n" not in str(err.value)
    return err.value.problems


def test_good_dqe(tmp_path: Path):
    items = read_dqe(write(tmp_path, [ROW_A, ROW_B]))
    assert [i.id for i in items] == ["C-0931", "C-0932"]
    a = items[0]
    assert a.lot == "LOT-0000" and a.label == "Collège Jean Moulin" and a.territory == "T1"
    assert a.commune == "93001" and a.trade == "peinture" and a.period == "2027-07"
    assert a.lat == pytest.approx(48.91) and a.lon == pytest.approx(2.38)
    assert a.hours == 420
    assert a.value == Decimal("18500.50")


def test_flexible_headers_order_title_rows_blank_rows_and_typed_text(tmp_path: Path):
    header = ["montant ht (€)", "HEURES", "periode", "corps d’etat", "longitude", "latitude",
              "commune", "territoire", "libelle", "site", "lot", "Remarque"]  # fmt: skip
    rows = [
        [
            "1 200,50 €",
            "1 200",
            "2027-07",
            "peinture",
            "2,38",
            "48,91",
            1001,
            "T1",
            "Collège A",
            "C-1",
            "LOT-0000",
            "ignorée",
        ],
        [None] * 12,
        ["", "  ", None, None, None, None, None, None, None, None, None, None],
        [
            "900",
            12.0,
            "2027-08",
            "peinture",
            2.4,
            48.9,
            "93066",
            "T2",
            "Collège B",
            "C-2",
            "LOT-0000",
            None,
        ],
    ]
    path = write(tmp_path, rows, header=header, sheet="Feuil1", before=[["DQE collèges 93"], []])
    items = read_dqe(path)
    assert [i.id for i in items] == ["C-1", "C-2"]
    assert items[0].value == Decimal("1200.50")
    assert items[0].hours == 1200
    assert items[0].commune == "01001"  # a number cell keeps its leading zero
    assert items[0].lat == pytest.approx(48.91)
    assert items[1].hours == 12


def test_the_sheet_named_dqe_wins(tmp_path: Path):
    book = Workbook()
    book.active.title = "Lisez-moi"
    book.active.append(["Site", "autre chose"])
    ws = book.create_sheet("DQE")
    ws.append(HEADER)
    ws.append(ROW_A)
    path = tmp_path / "dqe.xlsx"
    book.save(path)
    assert [i.id for i in read_dqe(path)] == ["C-0931"]


def test_every_bad_cell_is_reported_and_nothing_loaded(tmp_path: Path):
    bad_hours = [*ROW_A[:9], "mille", ROW_A[10]]
    bad_many = ["LOT-0000", "C-3", "", "T1", "930", 95, 2.3, "peinture", "2027-07", 12.5, "cher"]
    duplicate = list(ROW_A)
    path = write(tmp_path, [ROW_B, bad_hours, bad_many, duplicate])
    problems = problems_of(path)
    assert (
        "feuille « DQE », ligne 3, colonne « Heures » : « mille » n'est pas un nombre d'heures"
        in problems
    )
    line4 = [p for p in problems if "ligne 4," in p]
    assert any("colonne « Libellé » : cellule vide" in p for p in line4)
    assert any("colonne « Commune »" in p and "code INSEE" in p for p in line4)
    assert any("colonne « Latitude »" in p and "entre -90 et 90" in p for p in line4)
    assert any("colonne « Heures »" in p and "entier" in p for p in line4)
    assert any("colonne « Montant HT »" in p and "montant en euros" in p for p in line4)
    assert any("ligne 5" in p and "en double (déjà ligne 3)" in p for p in problems)
    with pytest.raises(UserError) as err:
        read_dqe(path)
    assert f"{len(problems)} problème(s)" in str(err.value)
    assert "rien n'a été chargé" in str(err.value)
    # The one line a coordinator reads names every problem, so all are fixed in one go.
    assert all(p in str(err.value) for p in problems) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        (9, 0, "doit être positif"),
        (9, -5, "doit être positif"),
        (9, True, "n'est pas un nombre d'heures"),
        (10, "-3", "doit être positif"),
        (6, "est", "longitude"),
        (1, "C 12", "identifiant valide"),
        (8, "juillet 2027", "identifiant valide"),
    ],
)
def test_single_bad_cell(tmp_path: Path, column: int, value, words: str):
    row = list(ROW_A)
    row[column] = value
    (problem,) = problems_of(write(tmp_path, [row]))
    assert f"colonne « {HEADER[column]} »" in problem and words in problem


def test_missing_column(tmp_path: Path):
    header = [h for h in HEADER if h != "Heures"]
    row = [v for h, v in zip(HEADER, ROW_A, strict=True) if h != "Heures"]
    with pytest.raises(UserError, match="colonne\\(s\\) manquante\\(s\\) : « Heures »"):
        read_dqe(write(tmp_path, [row], header=header))


def test_commune_column_is_optional(tmp_path: Path):
    header = [h for h in HEADER if h != "Commune"]
    row = [v for h, v in zip(HEADER, ROW_A, strict=True) if h != "Commune"]
    (item,) = read_dqe(write(tmp_path, [row], header=header))
    assert item.commune is None


def test_no_header_row(tmp_path: Path):
    with pytest.raises(UserError, match="pas de ligne d'en-tête"):
        read_dqe(write(tmp_path, [ROW_A], header=["Lieu", "Heures"]))


def test_no_site_at_all(tmp_path: Path):
    with pytest.raises(UserError, match="aucun site"):
        read_dqe(write(tmp_path, []))


def test_formula_without_cached_value(tmp_path: Path):
    row = list(ROW_A)
    row[9] = "=200+220"  # openpyxl writes the formula without a computed value
    (problem,) = problems_of(write(tmp_path, [row]))
    assert "ligne 2, colonne « Heures » : formule sans valeur calculée (=200+220)" in problem


def test_not_an_xlsx(tmp_path: Path):
    path = tmp_path / "dqe.xlsx"
    path.write_text("Lot;Site\n1;C-1\n", encoding="utf-8")
    with pytest.raises(UserError, match="pas un classeur Excel"):
        read_dqe(path)


def test_missing_dqe(tmp_path: Path):
    with pytest.raises(UserError, match="introuvable"):
        read_dqe(tmp_path / "absent.xlsx")


def test_ingest_combines_notice_and_dqe(tmp_path: Path):
    tender = ingest(str(EFORMS / "cn_24_minimal.xml"), write(tmp_path, [ROW_A, ROW_B]))
    assert [i.id for i in tender.items] == ["C-0931", "C-0932"]
    assert [lot.id for lot in tender.lots] == ["LOT-0000"]


def test_ingest_refuses_sites_of_unknown_lots(tmp_path: Path):
    other = ["LOT-0009", *ROW_B[1:]]
    with pytest.raises(UserError) as err:
        ingest(str(EFORMS / "cn_24_minimal.xml"), write(tmp_path, [ROW_A, other]))
    assert "ligne 3, site C-0932 : lot « LOT-0009 » absent de l'avis" in str(err.value)
    assert "LOT-0000" in str(err.value)
    assert len(err.value.problems) == 1
