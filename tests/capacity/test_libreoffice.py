"""Forms opened and re-saved by LibreOffice, as a member's office suite would, read the same."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

from coop_tender.capacity.forms import read_form, write_form
from coop_tender.errors import UserError
from coop_tender.workspace import Workspace
from tests.capacity.conftest import COCONTRACTOR, PROVIDER
from tests.capacity.test_forms import FILLED, FILLED_CHANGES, fill
from tests.conftest import require_binary

BAD_CHANGES = {("Capacités", "B7"): "mille", ("Structure", "B8"): "1234"}


@pytest.fixture(scope="module")
def resaved(module_workspace: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write the forms, fill some, and have LibreOffice re-save them all in one start."""
    soffice = require_binary("soffice")
    src = tmp_path_factory.mktemp("forms")
    out = tmp_path_factory.mktemp("resaved")
    profile = tmp_path_factory.mktemp("lo-profile")
    for member in (COCONTRACTOR, PROVIDER):
        write_form(module_workspace, member.id, src / f"{member.id}.xlsx")
    fill(src / f"{COCONTRACTOR.id}.xlsx", FILLED_CHANGES, src / "filled.xlsx")
    fill(src / f"{COCONTRACTOR.id}.xlsx", BAD_CHANGES, src / "bad.xlsx")
    files = sorted(str(p) for p in src.glob("*.xlsx"))
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            *files,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert sorted(p.name for p in out.glob("*.xlsx")) == sorted(Path(f).name for f in files)
    return out


@pytest.mark.parametrize("member", [COCONTRACTOR, PROVIDER], ids=lambda m: m.id)
def test_resaved_form_reads_back_identical(
    resaved: Path, module_workspace: Workspace, member
) -> None:
    assert read_form(resaved / f"{member.id}.xlsx", workspace=module_workspace) == member


def test_filled_then_resaved_form_reads_as_typed(
    resaved: Path, module_workspace: Workspace
) -> None:
    assert read_form(resaved / "filled.xlsx", workspace=module_workspace) == FILLED


def test_resaved_form_keeps_protection_lists_and_hidden_sheets(resaved: Path) -> None:
    wb = load_workbook(resaved / f"{COCONTRACTOR.id}.xlsx")
    assert wb["Structure"].protection.sheet and wb["Capacités"].protection.sheet
    assert wb["Listes"].sheet_state != "visible" and wb["Meta"].sheet_state != "visible"
    assert wb["Capacités"].data_validations.dataValidation
    assert not wb["Capacités"]["B7"].protection.locked


def test_resaved_mistakes_still_name_their_cells(
    resaved: Path, module_workspace: Workspace
) -> None:
    with pytest.raises(UserError) as info:
        read_form(resaved / "bad.xlsx", workspace=module_workspace)
    assert info.value.problems == [
        "Structure!B8 : le SIRET « 1234 » doit compter 14 chiffres",
        "Capacités!B7 : « mille » n'est pas un nombre d'heures",
    ]
