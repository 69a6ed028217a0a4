"""The command line speaks French to the coordinator: a busy port, a missing argument."""

from __future__ import annotations

import socket

import pytest

from coop_tender import cli
from coop_tender.workspace import Workspace


def test_busy_port_is_one_french_line_and_exit_2(
    workspace: Workspace, capsys: pytest.CaptureFixture
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        code = cli.main(["portal", "--workspace", str(workspace.root), "--port", str(port)])
    err = capsys.readouterr()
    assert code == 2
    assert f"impossible d'écouter sur 127.0.0.1:{port}" in err.err
    assert "--port" in err.err and len(err.err.strip().splitlines()) == 1
    assert "portail de" not in err.out  # nothing claims it started


def test_argument_errors_and_help_are_in_french(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "erreur : arguments obligatoires manquants : workspace, --out" in err
    assert "utilisation : coop-tender run" in err
    with pytest.raises(SystemExit):
        cli.main(["portal", "--help"])
    out = capsys.readouterr().out
    assert "afficher cette aide" in out and "adresse d'écoute" in out
    assert "show this help" not in out and "positional arguments" not in out
