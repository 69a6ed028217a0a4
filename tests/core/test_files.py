"""Atomic writes: whole files, usual permissions, private ones for secrets."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from coop_tender.files import write_atomic


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_written_files_follow_the_umask_and_secrets_stay_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        shared = write_atomic(tmp_path / "dossier" / "lettre.pdf", b"%PDF-1.7")
        secret = write_atomic(tmp_path / "outbox" / "lien.txt", "https://…", private=True)
    finally:
        os.umask(old)
    assert _mode(shared) == 0o644 and shared.read_bytes() == b"%PDF-1.7"
    assert _mode(secret) == 0o600 and secret.read_text() == "https://…"


def test_a_rewrite_replaces_the_whole_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "allocation.json"
    write_atomic(target, "x" * 10_000)
    write_atomic(target, "court")
    assert target.read_text() == "court"
    assert [p.name for p in tmp_path.iterdir()] == ["allocation.json"]
