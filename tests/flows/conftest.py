"""Flow tests: ONE Prefect test harness for the whole session (its start costs 10–25 s).

Only tests that ask for `prefect_harness` start it; the plain-logic tests never do.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DATA

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

EXAMPLES = DATA / "examples"


def example_names() -> list[str]:
    """colleges-93 first, then the other shipped examples."""
    names = sorted(p.name for p in EXAMPLES.glob("*") if (p / "workspace.json").is_file())
    return sorted(names, key=lambda n: n != "colleges-93")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


def copy_example(name: str, target: Path, **config: object) -> Path:
    """A writable copy of a shipped example (not marked as example), config fields replaced."""
    from coop_tender.files import write_model
    from coop_tender.workspace import CONFIG_NAME, Workspace

    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("store.sqlite*"))
    ws = Workspace.open(target)
    write_model(target / CONFIG_NAME, ws.config.model_copy(update={"example": False, **config}))
    return target
