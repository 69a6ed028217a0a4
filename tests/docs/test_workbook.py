"""The work-split workbooks: formulas computed by LibreOffice equal the allocation to the cent."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from tests.docs import sample
from tests.docs.conftest import Built

SHEETS = [
    "Synthèse",
    "Par site",
    "Par territoire et période",
    "Mises à disposition",
    "Répartition AE",
    "Paramètres",
]


def cents(value: object) -> Decimal:
    assert isinstance(value, int | float), f"not a number: {value!r}"
    return Decimal(repr(value)).quantize(Decimal("0.01"))


def rows_by_key(ws, key_col: int = 1) -> dict[str, tuple]:
    return {
        str(row[key_col - 1]): row
        for row in ws.iter_rows(min_row=2, values_only=True)
        if row[key_col - 1] is not None
    }


@pytest.fixture(scope="module")
def original(built: Built) -> openpyxl.Workbook:
    return openpyxl.load_workbook(built.out / "repartition.xlsx")


@pytest.fixture(scope="module")
def computed(recalculated: dict[str, Path]) -> openpyxl.Workbook:
    return openpyxl.load_workbook(recalculated["repartition.xlsx"], data_only=True)


def test_sheets_and_real_formulas(original: openpyxl.Workbook) -> None:
    assert original.sheetnames == SHEETS
    syn = original["Synthèse"]
    assert syn["E2"].value == "=SUMIF('Par site'!D:D,A2,'Par site'!H:H)"
    assert syn["A7"].value == "Total co-traitants"
    assert str(syn["E7"].value).startswith("=SUMIF(")
    assert original["Répartition AE"]["E5"].value == "=SUM(E2:E4)"


def test_every_formula_is_computed(original: openpyxl.Workbook, computed) -> None:
    count = 0
    for ws in original:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    count += 1
                    value = computed[ws.title][cell.coordinate].value
                    assert value is not None, f"{ws.title}!{cell.coordinate} not computed"
                    assert not (isinstance(value, str) and value.startswith(("#", "Err:"))), (
                        f"{ws.title}!{cell.coordinate} = {value}"
                    )
    assert count > 40


def test_member_figures_to_the_cent(computed) -> None:
    values, hours = sample.expected_values(), sample.expected_hours()
    offer = sample.allocation().covered_value
    syn = rows_by_key(computed["Synthèse"])
    for mid, value in values.items():
        assert cents(syn[mid][4]) == value, mid
        assert syn[mid][3] == hours[mid], mid
        assert abs(syn[mid][5] - float(value / offer)) < 1e-9
    assert cents(syn["Total co-traitants"][4]) == offer
    assert syn["Total co-traitants"][3] == sum(hours.values())
    # providers: hours lent and their cost (hours × rate), computed independently here
    for pid, rate in sample.RATES.items():
        lent = sum(h for p, _, _, h in sample.LENDING if p == pid)
        assert syn[pid][3] == lent
        assert cents(syn[pid][4]) == rate * lent
    ae = rows_by_key(computed["Répartition AE"])
    for mid, value in values.items():
        assert cents(ae[mid][4]) == value
    assert cents(ae["Total"][4]) == offer
    sites = rows_by_key(computed["Par site"])
    total_all = sum(Decimal(v) for *_, v, _ in sample.ITEMS)
    assert cents(sites["Total"][7]) == total_all
    terr = rows_by_key(computed["Par territoire et période"])
    assert cents(terr["Total"][7]) == offer  # allocated value
    assert cents(terr["Total"][6]) == total_all  # demanded value
    mad = rows_by_key(computed["Mises à disposition"])
    expected_cost = sum(sample.RATES[p] * h for p, _, _, h in sample.LENDING)
    assert cents(mad["Total"][7]) == expected_cost


def test_formats_filters_chart_and_fairness_flag(original: openpyxl.Workbook) -> None:
    syn = original["Synthèse"]
    assert "€" in syn["E2"].number_format and "0.00" in syn["E2"].number_format
    assert "h" in syn["D2"].number_format
    assert syn.freeze_panes == "A2"
    assert syn.auto_filter.ref.startswith("A1:")
    assert syn.column_dimensions["B"].width >= len("Peintres Solidaires de l'Est")
    assert len(syn._charts) == 1
    rules = [r for rng in syn.conditional_formatting for r in rng.rules]
    assert rules and "$H2" in rules[0].formula[0]
    for name in SHEETS[1:5]:
        assert original[name].freeze_panes == "A2", name
        assert original[name].auto_filter.ref, name
    assert original["Par site"]["H2"].number_format == syn["E2"].number_format


def test_fairness_window_flag_matches_the_figures(original, computed) -> None:
    """The flag's rule, applied to LibreOffice's figures, flags exactly the members outside."""
    rule = next(r for rng in original["Synthèse"].conditional_formatting for r in rng.rules)
    assert rule.formula[0].startswith('AND($H2<>"",OR($F2<$H2-')
    syn = rows_by_key(computed["Synthèse"])
    flagged = {
        mid
        for mid, row in syn.items()
        if row[7] is not None and not row[7] - 1e-6 <= row[5] <= row[8] + 1e-6
    }
    offer = sum(sample.expected_values().values())
    expected = {
        mid
        for mid, value in sample.expected_values().items()
        if not (lambda lo, hi: lo <= float(value / offer) <= hi)(
            *sample.WINDOWS.get(mid, (1 / 3 - 0.02, 1 / 3 + 0.02))
        )
    }
    expected |= {"ai-est", "st-nord"}  # 94 % and 6 % of the lent hours, window 10–90 %
    assert flagged == expected == {"script", "tpl", "ai-est", "st-nord"}


def test_member_workbooks(recalculated: dict[str, Path]) -> None:
    values = sample.expected_values()
    for mid, value in values.items():
        wb = openpyxl.load_workbook(recalculated[f"{mid}.xlsx"], data_only=True)
        sites = rows_by_key(wb["Mes sites"])
        assert cents(sites["Total"][7]) == value
        assert set(sites) - {"Total"} == {i for i, *_, who in sample.ITEMS if who == mid}
        share = {row[0]: row[1] for row in wb["Ma part"].iter_rows(values_only=True)}
        assert cents(share["Montant HT"]) == value
    ai = openpyxl.load_workbook(recalculated["ai-est.xlsx"], data_only=True)
    lent = rows_by_key(ai["Mises à disposition"])
    assert lent["Total"][3] == 470
    assert cents(lent["Total"][5]) == Decimal("19.50") * 470
    check = rows_by_key(ai["Contrôle 480 h"])
    assert check["peintres"][2] == 320 and check["peintres"][5] == "oui"
