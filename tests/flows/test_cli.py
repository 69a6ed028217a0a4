"""`coop-tender run` refuses unusable input in one French line, before starting Prefect."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coop_tender.cli import main


def test_missing_workspace_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    code = main(["run", str(tmp_path / "nulle-part"), "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "introuvable" in err
    assert not (tmp_path / "out").exists()


def test_broken_workspace_json_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "workspace.json").write_text(json.dumps({"reference": ""}) + "}")
    assert main(["run", str(tmp_path / "ws"), "--out", str(tmp_path / "out")]) == 2
    assert "workspace.json" in capsys.readouterr().err


@pytest.mark.parametrize("limit", ["0", "-5"])
def test_time_limit_must_be_positive(tmp_path: Path, capsys, limit: str) -> None:
    """Refused by the parser (coop_tender.cli.seconds), as argparse refuses: exit 2."""
    args = ["run", str(tmp_path), "--out", str(tmp_path / "o"), "--time-limit", limit]
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    assert f"--time-limit : « {limit} » n'est pas une durée" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def _copy_example(tmp_path: Path) -> Path:
    import shutil

    from tests.conftest import EXAMPLE

    target = tmp_path / "ws"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("store.sqlite*", "forms"))
    return target


def test_broken_notice_is_one_line_naming_the_users_file(tmp_path: Path, capsys) -> None:
    ws = _copy_example(tmp_path)
    notice = json.loads((ws / "workspace.json").read_text())["notice"]
    (ws / notice).write_text("<ContractNotice><pas fermé>")
    assert main(["run", str(ws), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(ws / notice) in err
    assert not (tmp_path / "out").exists()  # nothing started, nothing written


def test_bad_dqe_row_is_one_line_naming_the_users_file(tmp_path: Path, capsys) -> None:
    from openpyxl import load_workbook

    ws = _copy_example(tmp_path)
    dqe = ws / json.loads((ws / "workspace.json").read_text()).get("dqe", "dqe.xlsx")
    book = load_workbook(dqe)
    sheet = book["DQE"] if "DQE" in book.sheetnames else book.worksheets[0]
    header = next(r for r in range(1, 20) if "Site" in [c.value for c in sheet[r]])
    hours = [c.value for c in sheet[header]].index("Heures") + 1
    sheet.cell(header + 2, hours, "beaucoup")
    book.save(dqe)
    assert main(["run", str(ws), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(dqe) in err and "beaucoup" in err
