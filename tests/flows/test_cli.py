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
    args = ["run", str(tmp_path), "--out", str(tmp_path / "o"), "--time-limit", limit]
    assert main(args) == 2
    assert "--time-limit" in capsys.readouterr().err
