"""`coop-tender ingest`: tender.json written and read back; exit code 2 and one line on errors."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from coop_tender.cli import main
from coop_tender.files import read_model
from coop_tender.models import Tender
from tests.ingest.helpers import EFORMS
from tests.ingest.test_dqe import ROW_A, ROW_B, write


def test_ingest_writes_tender_json(tmp_path: Path, capsys):
    out = tmp_path / "out" / "tender.json"
    dqe = write(tmp_path, [ROW_A, ROW_B])
    code = main(["ingest", str(EFORMS / "cn_24_minimal.xml"), "--out", str(out), "--dqe", str(dqe)])
    assert code == 0
    tender = read_model(out, Tender)
    assert tender.reference == "f42be27e-09cf-4f0e-a745-63ec689631e6"
    assert [i.id for i in tender.items] == ["C-0931", "C-0932"]
    assert json.loads(out.read_text())["items"][0]["value"] == "18500.50"
    assert "1 lot(s), 2 site(s)" in capsys.readouterr().out


def test_warnings_go_to_stderr_in_french(tmp_path: Path, capsys):
    out = tmp_path / "tender.json"
    assert main(["ingest", str(EFORMS / "E6_minimal.xml"), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "attention : lot LOT-0001 : titre absent" in err


def _fails(capsys, args: list[str], words: str) -> None:
    assert main(args) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("erreur : ")
    assert words in lines[0]
    assert "Traceback" not in captured.err


def test_missing_file(tmp_path: Path, capsys):
    out = tmp_path / "tender.json"
    _fails(capsys, ["ingest", str(tmp_path / "absent.xml"), "--out", str(out)], "introuvable")
    assert not out.exists()


def test_broken_xml(tmp_path: Path, capsys):
    broken = tmp_path / "avis.xml"
    broken.write_text("<ContractNotice><cbc:ID>", encoding="utf-8")
    _fails(capsys, ["ingest", str(broken), "--out", str(tmp_path / "t.json")], "XML mal formé")


def test_bad_url(tmp_path: Path, capsys, closed_port: int, monkeypatch: pytest.MonkeyPatch):
    # the real fetch with its retries, only with short pauses so that the test stays fast
    monkeypatch.setattr(importlib.import_module("coop_tender.ingest.fetch"), "BACKOFF", 0.01)
    url = f"http://127.0.0.1:{closed_port}/avis.xml"
    _fails(capsys, ["ingest", url, "--out", str(tmp_path / "t.json")], "connexion impossible")


def test_bad_dqe_row(tmp_path: Path, capsys):
    dqe = write(tmp_path, [[*ROW_A[:9], "mille", ROW_A[10]]])
    out = tmp_path / "tender.json"
    args = ["ingest", str(EFORMS / "cn_24_minimal.xml"), "--out", str(out), "--dqe", str(dqe)]
    _fails(capsys, args, "ligne 2, colonne « Heures » : « mille » n'est pas un nombre d'heures")
    assert not out.exists()
