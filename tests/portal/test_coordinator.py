"""The coordinator's page, its link actions, the totals, the invite command and xlsx uploads."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from coop_tender.cli import main
from coop_tender.models import Tender
from coop_tender.portal import overview
from coop_tender.portal.invite import invite_members
from coop_tender.store import Store
from coop_tender.workspace import Workspace
from tests.portal.conftest import DEADLINE, Clock, snapshot
from tests.portal.test_security import csrf_of, good_form


def test_coordinator_sees_answers_problems_and_notice_error(
    client: TestClient, links: dict[str, str], workspace: Workspace
) -> None:
    page = client.get(links["coordinateur"])
    assert page.status_code == 200
    assert "0 structure(s) sur 3 ont répondu" in page.text
    # the tiny workspace has no notice: the totals still render, with a French notice
    assert "l&#39;avis ou le DQE ne peut pas être lu" in page.text
    # a seed without address/representative/insurance is flagged
    assert "pièces du dossier manquantes" in page.text

    link = links["ei-nord"]
    client.post(f"{link}/declaration", data=good_form(csrf_of(client.get(link).text)))
    page = client.get(links["coordinateur"])
    assert "1 structure(s) sur 3 ont répondu" in page.text
    row = re.search(r'<tr data-member="ei-nord">(.*?)</tr>', page.text, re.S)
    assert row and "a répondu" in row.group(1) and "formulaire en ligne" in row.group(1)
    assert "<small>portal" not in row.group(1)  # the source in French, not its code
    # T1/P1: ei-nord now declares 900 (was 800) and ai-relais 300 serves T1 as well
    cell = re.search(r'data-cell="T1/P1">\s*([^<]*)', page.text)
    assert cell and re.sub(r"\D", "", cell.group(1).split("/")[0]) == "1200"


def test_refused_xlsx_shows_as_a_problem(
    client: TestClient, links: dict[str, str], workspace: Workspace
) -> None:
    link = links["aci-est"]
    csrf = csrf_of(client.get(link).text)
    client.post(f"{link}/xlsx", data={"csrf": csrf}, files={"file": ("a.xlsx", b"nope", "x/y")})
    page = client.get(links["coordinateur"]).text
    row = re.search(r'<tr data-member="aci-est">(.*?)</tr>', page, re.S)
    assert row and "dernier envoi refusé" in row.group(1)


def test_totals_show_a_shortfall(workspace: Workspace) -> None:
    members = workspace.seed_members()
    item = {
        "lot": "L1",
        "label": "Collège",
        "commune": None,
        "lat": 48.9,
        "lon": 2.4,
        "trade": "peinture",
        "value": "1000",
    }
    tender = Tender(
        reference="x",
        items=[
            {**item, "id": "a", "territory": "T1", "period": "P1", "hours": 1000},
            {**item, "id": "b", "territory": "T2", "period": "P1", "hours": 2000},
        ],
    )
    totals = overview.totals(workspace, members, tender)
    # T1 P1: ei-nord 800 + ai-relais 300 = 1100 >= 1000; T2 P1: aci-est 500 + ai-relais 300
    assert totals.cells["T1", "P1"].capacity == 1100
    assert totals.cells["T1", "P1"].shortfall == 0
    assert totals.cells["T2", "P1"].capacity == 800
    assert totals.cells["T2", "P1"].shortfall == 1200
    assert totals.per_period["P1"].capacity == 1600  # each member once
    assert totals.per_period["P1"].shortfall == 1400
    assert totals.cells["T1", "P2"].demand == 0


def test_coordinator_regenerates_and_revokes_links(
    client: TestClient, links: dict[str, str], workspace: Workspace
) -> None:
    coordinator = links["coordinateur"]
    csrf = csrf_of(client.get(coordinator).text)
    old = links["ei-nord"]
    assert client.post(f"{coordinator}/lien/ei-nord", data={}).status_code == 403
    assert client.get(old).status_code == 200
    page = client.post(f"{coordinator}/lien/ei-nord", data={"csrf": csrf})
    assert page.status_code == 200
    new = re.search(r"http://testserver(/m/[A-Za-z0-9_\-]+)", page.text)
    assert new
    assert client.get(old).status_code == 404
    assert client.get(new.group(1)).status_code == 200

    assert client.post(f"{coordinator}/revoquer/ei-nord", data={"csrf": csrf}).status_code == 200
    assert client.get(new.group(1)).status_code == 404
    # a member's own CSRF value does not work on the coordinator's forms
    member_csrf = csrf_of(client.get(links["aci-est"]).text)
    before = snapshot(workspace)
    response = client.post(f"{coordinator}/revoquer/aci-est", data={"csrf": member_csrf})
    assert response.status_code == 403
    assert snapshot(workspace) == before
    assert client.post(f"{coordinator}/lien/inconnu", data={"csrf": csrf}).status_code == 404


def test_invite_command(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["invite", "--workspace", str(workspace.root), "--base-url", "https://portail.example/"]
    )
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    ids = [line.split()[0] for line in lines]
    assert ids == ["aci-est", "ai-relais", "ei-nord", "coordinateur"]
    for line in lines[:-1]:
        assert re.fullmatch(r"\S+ https://portail\.example/m/[A-Za-z0-9_\-]{43}", line)
    assert re.fullmatch(r"coordinateur https://portail\.example/c/[A-Za-z0-9_\-]{43}", lines[-1])

    assert main(["invite", "-w", str(workspace.root), "--member", "ei-nord"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("ei-nord http://127.0.0.1:8000/m/")
    with Store(workspace.store_url) as store:
        token = line.rsplit("/", 1)[1]
        assert store.member_for_token(token, DEADLINE - timedelta(days=1)) == "ei-nord"

    assert main(["invite", "-w", str(workspace.root), "--member", "personne"]) == 2
    assert "membre(s) inconnu(s)" in capsys.readouterr().err


def test_invite_refuses_without_deadline(workspace: Workspace) -> None:
    from coop_tender.errors import UserError

    config = workspace.config.model_copy(update={"capacity_deadline": None})
    with pytest.raises(UserError, match="aucune date limite"):
        invite_members(Workspace(workspace.root, config))
    with pytest.raises(UserError, match="est passée"):
        invite_members(workspace, now=DEADLINE + timedelta(seconds=1))


def test_xlsx_upload_round_trip(
    client: TestClient, links: dict[str, str], workspace: Workspace, clock: Clock
) -> None:
    forms = pytest.importorskip("coop_tender.capacity.forms")
    seed = {m.id: m for m in workspace.seed_members()}["aci-est"]
    data = forms.form_bytes(workspace, "aci-est", seed)
    link = links["aci-est"]
    csrf = csrf_of(client.get(link).text)
    response = client.post(
        f"{link}/xlsx",
        data={"csrf": csrf},
        files={"file": ("capacites.xlsx", data, "application/octet-stream")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[-2000:]
    with Store(workspace.store_url) as store:
        (decl,) = store.declaration_history("aci-est")
    assert decl.source == "xlsx" and decl.author == "aci-est"
    assert decl.member.capacity_hours == seed.capacity_hours
    assert decl.member.siret == seed.siret

    # another member's form sent with my link is refused, nothing stored
    before = snapshot(workspace)
    other = forms.form_bytes(
        workspace, "ei-nord", {m.id: m for m in workspace.seed_members()}["ei-nord"]
    )
    response = client.post(
        f"{link}/xlsx", data={"csrf": csrf}, files={"file": ("x.xlsx", other, "application/zip")}
    )
    assert response.status_code == 422
    assert "autre structure" in response.text
    assert snapshot(workspace) == before


def test_portal_command_serves_the_workspace(workspace: Workspace) -> None:
    """`coop-tender portal` in its own process answers on the chosen port."""
    import subprocess
    import sys
    import time

    import httpx

    from tests.portal.conftest import free_port

    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "coop_tender.cli",
            "portal",
            "--workspace",
            str(workspace.root),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "portal did not start"
                time.sleep(0.2)
        assert response.status_code == 200
        assert "Portail des capacités" in response.text
        assert httpx.get(f"http://127.0.0.1:{port}/m/abc", timeout=2).status_code == 404
    finally:
        proc.terminate()
        proc.wait(10)
