"""scripts/build_examples.py is deterministic: a fresh run reproduces the committed examples."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from openpyxl import load_workbook

from tests.examples.example_files import EXAMPLES, NAMES, REPO


def _load_script():
    """scripts/ is not a package: load the script as a module (registered, for dataclasses)."""
    name = "coop_tender_build_examples"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / "build_examples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _cells(path: Path) -> list[list[tuple[object, str]]]:
    sheet = load_workbook(path)["DQE"]
    return [[(c.value, c.number_format) for c in row] for row in sheet.iter_rows()]


def test_generator_reproduces_the_committed_files(tmp_path):
    folders = _load_script().build_all(tmp_path)
    assert [f.name for f in folders] == NAMES
    for name in NAMES:
        fresh = {
            p.relative_to(tmp_path / name) for p in (tmp_path / name).rglob("*") if p.is_file()
        }
        committed = {
            p.relative_to(EXAMPLES / name)
            for p in (EXAMPLES / name).rglob("*")
            if p.is_file() and p.name != "store.sqlite"
        }
        assert fresh == committed, name
        for rel in sorted(fresh):
            new, old = tmp_path / name / rel, EXAMPLES / name / rel
            if rel.suffix == ".xlsx":
                assert _cells(new) == _cells(old), rel
            else:
                assert new.read_bytes() == old.read_bytes(), rel


def test_generator_is_stable_across_runs(tmp_path):
    """Two runs in a row give the same bytes, xlsx included (fixed zip timestamps)."""
    script = _load_script()
    script.build_all(tmp_path / "a")
    script.build_all(tmp_path / "b")
    for name in NAMES:
        for path in sorted((tmp_path / "a" / name).rglob("*")):
            if path.is_file():
                twin = tmp_path / "b" / name / path.relative_to(tmp_path / "a" / name)
                assert path.read_bytes() == twin.read_bytes(), path.name
