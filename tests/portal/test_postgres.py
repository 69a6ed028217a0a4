"""The portal on the shared deployment's backend: the same code with a PostgreSQL store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from coop_tender.portal.app import create_app
from coop_tender.portal.invite import invite_members
from coop_tender.store import Store
from coop_tender.workspace import Workspace
from tests.portal.conftest import Clock, tiny_workspace
from tests.portal.test_security import csrf_of, good_form


@pytest.mark.postgres
def test_submission_stored_in_postgres(
    postgres_cluster: str,
    tmp_path: Path,
    clock: Clock,
) -> None:
    root = tiny_workspace(tmp_path / "ws")
    config = json.loads((root / "workspace.json").read_text(encoding="utf-8"))
    config["store_url"] = postgres_cluster
    (root / "workspace.json").write_text(json.dumps(config), encoding="utf-8")
    workspace = Workspace.open(root)
    links = dict(invite_members(workspace, base_url="http://testserver", now=clock()))
    link = links["aci-est"].removeprefix("http://testserver")
    try:
        with TestClient(create_app(workspace, now=clock)) as client:
            csrf = csrf_of(client.get(link).text)
            wrong = client.post(f"{link}/declaration", data=good_form("1.x"))
            assert wrong.status_code == 403
            response = client.post(
                f"{link}/declaration",
                data=good_form(csrf, name="Chantier Est", territories="T2"),
                follow_redirects=False,
            )
            assert response.status_code == 303
        assert not (root / "store.sqlite").exists()
        members = {m.id: m for m in workspace.members()}
        assert members["aci-est"].capacity_hours == {"P1": 900, "P2": 400}
        with Store(postgres_cluster) as store:
            assert store.answered() == {"aci-est"}
            assert [d.source for d in store.declaration_history("aci-est")] == ["portal"]
    finally:
        from sqlalchemy import create_engine

        from coop_tender.store import metadata

        engine = create_engine(postgres_cluster)
        metadata.drop_all(engine)
        engine.dispose()
