"""The whole dossier for the shipped Seine-Saint-Denis example, through the CLI (slow: solver,
WeasyPrint for ~25 documents, LibreOffice)."""

from __future__ import annotations

import re
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from coop_tender.cli import main
from coop_tender.files import write_model
from coop_tender.models import Allocation, Problem, Role
from coop_tender.money import format_euros
from tests.conftest import EXAMPLE, require_binary
from tests.docs.conftest import pdf_text, plain, recalculate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[Problem, Allocation, Path]:
    if not (EXAMPLE / "workspace.json").exists():
        pytest.skip("the colleges-93 example is not there yet")
    from coop_tender.allocation import solve
    from coop_tender.checker import check
    from coop_tender.workspace import Workspace

    problem = Workspace.open(EXAMPLE).problem()
    allocation = solve(problem, time_limit=10)
    assert check(problem, allocation) == []
    root = tmp_path_factory.mktemp("example")
    write_model(root / "allocation.json", allocation)
    started = time.perf_counter()
    code = main(
        ["dossier", str(EXAMPLE), "--allocation", str(root / "allocation.json"), "--out", str(root)]
    )
    print(f"dossier for colleges-93 built in {time.perf_counter() - started:.1f} s")
    assert code == 0
    return problem, allocation, root


def _values(problem: Problem, allocation: Allocation) -> dict[str, Decimal]:
    """Each co-contractor's amount, summed here from the sites (not by the code under test)."""
    item_value = {i.id: i.value for i in problem.tender.items}
    out: dict[str, Decimal] = {}
    for a in allocation.assignments:
        out[a.member] = out.get(a.member, Decimal("0")) + item_value[a.item]
    return out


def test_example_dossier_documents(example) -> None:
    problem, allocation, root = example
    values = _values(problem, allocation)
    members = {m.id: m for m in problem.members}
    cocontractors = [m for m in problem.members if m.role is Role.COCONTRACTOR and m.id in values]
    for m in cocontractors:
        assert (root / "dossier" / f"02-DC2-{m.id}.pdf").exists()
        assert (root / "membres" / f"{m.id}.xlsx").exists()
    for provider in {h.provider for h in allocation.provider_hours if h.hours}:
        mode = members[provider].provider_mode
        stem = "03-DC4" if mode == "sous_traitance" else "03-mise-a-disposition"
        assert (root / "dossier" / f"{stem}-{provider}.pdf").exists()
    dc1 = pdf_text(root / "dossier" / "01-lettre-candidature-DC1.pdf")
    attri1 = pdf_text(root / "dossier" / "04-annexe-repartition-ATTRI1.pdf")
    for m in cocontractors:
        for text in (dc1, attri1):
            line = next(line for line in text.splitlines() if m.siret in line)
            assert plain(format_euros(values[m.id])) in line, m.id
    amounts = [
        Decimal(
            re.findall(r"(\d{1,3}(?: \d{3})*,\d{2}) €", line)[-1].replace(" ", "").replace(",", ".")
        )
        for line in attri1.splitlines()
        if any(m.siret in line for m in cocontractors)
    ]
    assert len(amounts) == len(cocontractors)
    assert sum(amounts) == sum(values.values()) == allocation.covered_value
    synthese = root / "dossier" / "06-synthese-coordinateur.pdf"
    info = subprocess.run(["pdfinfo", str(synthese)], capture_output=True, text=True).stdout
    assert re.search(r"Pages:\s+1\b", info), "the coordinator's summary must fit on one page"
    flat = " ".join(pdf_text(synthese).split())
    assert re.search(r"pour [\d ]+ h exigées", flat)


def test_example_workbook_formulas(example, artifacts_dir: Path) -> None:
    require_binary("soffice")
    problem, allocation, root = example
    values = _values(problem, allocation)
    (converted,) = recalculate([root / "repartition.xlsx"], root / "lo")
    ws = openpyxl.load_workbook(converted, data_only=True)["Synthèse"]
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True) if r[0]}
    for mid, value in values.items():
        assert Decimal(repr(rows[mid][4])).quantize(Decimal("0.01")) == value, mid
    total = Decimal(repr(rows["Total co-traitants"][4])).quantize(Decimal("0.01"))
    assert total == allocation.covered_value
    require_binary("pdftoppm")
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(root / "dossier" / "06-synthese-coordinateur.pdf"),
            str(artifacts_dir / "dossier-colleges-93-synthese"),
        ],
        check=True,
    )
