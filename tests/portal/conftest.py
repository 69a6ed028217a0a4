"""Portal fixtures: a tender workspace copied into tmp_path, a settable clock, links, servers."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from coop_tender.portal.app import create_app
from coop_tender.portal.invite import invite_members
from coop_tender.store import Store
from coop_tender.workspace import Workspace
from flows.stack import free_port
from tests.conftest import EXAMPLE
from tests.store.conftest import member

DEADLINE = datetime(2031, 6, 30, 18, 0, tzinfo=UTC)


def tiny_workspace(root: Path) -> Path:
    """Two territories, two periods, three members; no notice (the tender cannot be read)."""
    root.mkdir(parents=True, exist_ok=True)
    config = {
        "reference": "TEST-2031-01",
        "territories": [
            {"id": "T1", "name": "Plaine Commune"},
            {"id": "T2", "name": "Est Ensemble"},
        ],
        "periods": [{"id": "P1", "label": "Été 2031"}, {"id": "P2", "label": "Toussaint 2031"}],
        "capacity_deadline": DEADLINE.isoformat(),
    }
    (root / "workspace.json").write_text(json.dumps(config), encoding="utf-8")
    members = root / "members"
    members.mkdir()
    seeds = [
        member("ei-nord", 800, name="Peinture Nord", territories=["T1"]),
        member("aci-est", 500, name="Chantier Est", territories=["T2"], kind="ACI"),
        member(
            "ai-relais",
            300,
            name="Relais Emploi",
            kind="AI",
            role="provider",
            territories=["T1", "T2"],
            trades=[],
            hourly_rate="21.50",
        ),
    ]
    for m in seeds:
        (members / f"{m.id}.json").write_text(m.model_dump_json(indent=2), encoding="utf-8")
    return root


def example_workspace(root: Path) -> Path | None:
    """A copy of the shipped example, with a future deadline, when it exists and reads."""
    if not (EXAMPLE / "workspace.json").is_file():
        return None
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("store.sqlite*", "forms"))
    config = json.loads((root / "workspace.json").read_text(encoding="utf-8"))
    config["capacity_deadline"] = DEADLINE.isoformat()
    config["example"] = False
    config.pop("store_url", None)
    (root / "workspace.json").write_text(json.dumps(config), encoding="utf-8")
    try:
        Workspace.open(root).seed_members()
    except Exception:
        return None
    return root


@dataclass
class Clock:
    """The portal's `now`, settable by the test."""

    value: datetime

    def __call__(self) -> datetime:
        return self.value


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.open(tiny_workspace(tmp_path / "ws"))


@pytest.fixture
def clock() -> Clock:
    return Clock(DEADLINE - timedelta(days=10))


@pytest.fixture
def client(workspace: Workspace, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(workspace, now=clock), base_url="http://testserver") as c:
        yield c


@pytest.fixture
def links(workspace: Workspace, clock: Clock) -> dict[str, str]:
    """member id (and 'coordinateur') -> path of its link, e.g. /m/TOKEN."""
    lines = invite_members(workspace, base_url="http://testserver", now=clock())
    return {m: url.removeprefix("http://testserver") for m, url in lines}


def snapshot(workspace: Workspace) -> tuple:
    """What must not change when a request is refused: declarations and invitations."""
    with Store(workspace.store_url) as store:
        history = {m: len(store.declaration_history(m)) for m in store.latest()}
        return history, store.invitations(), store.declined()


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve an ASGI app with a real uvicorn on a free port of 127.0.0.1, in a thread."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def live_portal(workspace: Workspace, clock: Clock) -> Iterator[str]:
    """The tiny workspace's portal on a real uvicorn; yields its base URL."""
    with serve_app(create_app(workspace, now=clock)) as url:
        yield url
