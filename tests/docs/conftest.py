"""Shared, session-scoped builds: WeasyPrint and LibreOffice are slow, so each runs once."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from coop_tender.docs import build_dossier
from tests.conftest import require_binary
from tests.docs import sample


@dataclass
class Built:
    out: Path
    paths: list[Path]


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("dossier")
    # what an earlier run left: a member who has since left, and the coordinator's own notes
    for name in (
        "dossier/02-DC2-ancien-membre.pdf",
        "membres/ancien-membre.xlsx",
        "dossier/notes.txt",
    ):
        (root / "out" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "out" / name).write_text("ancien", encoding="utf-8")
    paths = build_dossier(
        sample.workspace(root / "ws"), sample.allocation(), root / "out", problem=sample.problem()
    )
    return Built(root / "out", paths)


def pdf_text(path: Path) -> str:
    """pdftotext -layout, with French non-breaking spaces turned into plain spaces."""
    require_binary("pdftotext")
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return text.replace("\u202f", " ").replace("\xa0", " ")


def plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


@pytest.fixture(scope="session")
def recalculated(built: Built, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every produced workbook after LibreOffice computed its formulas, by file name."""
    files = [built.out / "repartition.xlsx", *sorted((built.out / "membres").glob("*.xlsx"))]
    out_dir = tmp_path_factory.mktemp("recalculated")
    return {f.name: p for f, p in zip(files, recalculate(files, out_dir), strict=True)}


def recalculate(files: list[Path], out_dir: Path) -> list[Path]:
    """Let LibreOffice (headless, private profile) compute every formula; return its copies."""
    require_binary("soffice")
    profile = out_dir / "lo-profile"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={profile.resolve().as_uri()}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out_dir),
            *map(str, files),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    converted = [out_dir / f.name for f in files]
    missing = [p.name for p in converted if not p.exists()]
    assert not missing, f"LibreOffice did not convert {missing}"
    return converted
