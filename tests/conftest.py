"""Suite-wide set-up: each test session gets its own Prefect home, and helpers for system tools."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
EXAMPLE = DATA / "examples" / "colleges-93"
EXAMPLE_EE = DATA / "examples" / "est-ensemble-espaces-verts"
SHARED = REPO.parent / "shared" / "data"
ARTIFACTS = REPO / "test-artifacts"

# Before anything imports prefect: a private, throw-away Prefect home for this session,
# and enough time for the embedded server to start on a 2-core machine.
_prefect_home = tempfile.mkdtemp(prefix="coop-tender-prefect-")
os.environ["PREFECT_HOME"] = _prefect_home
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.pop("PREFECT_API_URL", None)
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def require_binary(name: str) -> str:
    """Path of a system program the test needs; in CI its absence is a failure, not a skip."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed (run `make system-deps`)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests keep what a person may want to look at after the run (screenshots, PNGs)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[str]:
    """One throw-away PostgreSQL cluster for the whole session (about 2 s to start)."""
    from tests.pg import require_postgres, temporary_postgres

    require_postgres()
    with temporary_postgres() as url:
        yield url
