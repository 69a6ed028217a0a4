"""The tender-response flow end to end on Prefect's test harness (one per session).

On the Seine-Saint-Denis example: one full run (outputs, artifacts, the example untouched). On
the second example: a first run whose dossier step fails (its output folder is blocked by a
file), a second that succeeds without solving again (the solve comes from the cache), a third
that changes nothing (idempotence). The
allocations go through the independent checker; artifacts are read back through the client.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from coop_tender.checker import check
from coop_tender.files import read_model
from coop_tender.models import Allocation, Problem
from coop_tender.money import format_euros
from tests.flows.conftest import EXAMPLES, example_names

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]

TIME_LIMIT = 6.0


def _run(workspace: Path, out: Path, **params: Any):
    from flows.tender_response import tender_response

    return tender_response(
        workspace=str(workspace), out=str(out), time_limit=TIME_LIMIT, return_state=True, **params
    )


def _snapshot(out: Path) -> dict[str, Any]:
    from coop_tender.store import COORDINATOR, Store
    from coop_tender.workspace import Workspace

    ws = Workspace.open(out / "workspace")
    with Store(ws.store_url) as store:
        events = [e for e in store.events(limit=10_000) if e.what == "invitation"]
        invitations = [e for e in events if e.member_id != COORDINATOR]
        assert len(events) - len(invitations) == 1, "one coordinator link, never two"
        reminders = sum(len(store.reminders(m.id)) for m in ws.seed_members())
    return {
        "allocation": (out / "allocation.json").read_text(),
        "problem": (out / "problem.json").read_text(),
        "outbox": sorted(p.name for p in (out / "outbox").iterdir()),
        "dossier": sorted(str(p.relative_to(out)) for p in (out / "dossier").rglob("*")),
        "invitations": len(invitations),
        "reminders": reminders,
        "solves": (out / "solves.jsonl").read_text().splitlines(),
    }


@pytest.fixture(scope="module")
def colleges(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One full run on the Seine-Saint-Denis example (130 sites, 19 members)."""
    out = tmp_path_factory.mktemp("colleges") / "out"
    example = EXAMPLES / "colleges-93"
    before = sorted(str(p) for p in example.rglob("*"))
    state = _run(example, out)
    return {
        "out": out,
        "state": state,
        "snapshot": _snapshot(out),
        "example_before": before,
        "example_after": sorted(str(p) for p in example.rglob("*")),
    }


def test_chain_writes_a_valid_allocation_and_the_dossier(colleges: dict[str, Any]) -> None:
    out = colleges["out"]
    assert colleges["state"].is_completed()
    summary = colleges["state"].result()
    assert summary["status"] == "done"
    assert summary["missing"] == []
    allocation = read_model(out / "allocation.json", Allocation)
    problem = read_model(out / "problem.json", Problem)
    assert allocation.assignments
    assert check(problem, allocation) == []
    files = [Path(f) for f in summary["files"]]
    assert files and all(f.is_file() and f.stat().st_size > 0 for f in files)
    assert {f.suffix for f in files} >= {".pdf", ".xlsx"}
    assert all(f.is_relative_to(out) for f in files)
    assert list((out / "dossier").glob("01-*.pdf")) and (out / "repartition.xlsx").is_file()
    assert len(list((out / "forms").glob("*.xlsx"))) == len(problem.members)
    assert colleges["snapshot"]["invitations"] == len(problem.members)
    assert "/c/" in (out / "outbox" / "lien-coordinateur.txt").read_text()
    invitation = next((out / "outbox").glob("invitation-*.txt")).read_text()
    assert "http://127.0.0.1:8000/m/" in invitation
    message = (out / "outbox" / "groupement-dossier.txt").read_text()
    assert str(out / "dossier") in message
    for result in allocation.members:  # each member is told its share and why
        text = (out / "outbox" / f"repartition-{result.member}.txt").read_text()
        assert format_euros(result.value) in text
        assert all(sentence in text for sentence in result.explanation)
        assert str(out / "membres" / f"{result.member}.xlsx") in text


def test_shipped_example_is_never_written(colleges: dict[str, Any]) -> None:
    assert colleges["example_before"] == colleges["example_after"]
    assert (colleges["out"] / "workspace" / "store.sqlite").is_file()


def test_artifacts_are_published(colleges: dict[str, Any]) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.artifacts import artifact_key

    reference = json.loads(colleges["snapshot"]["problem"])["tender"]["reference"]
    kinds = ("repartition", "couverture", "explications", "dossier")
    keys = {kind: artifact_key(kind, reference) for kind in kinds}
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=list(keys.values())))
        )
        progress = client.read_artifacts(limit=200)
    by_key: dict[str, Any] = {}
    for artifact in found:
        by_key.setdefault(artifact.key, artifact)
    assert set(by_key) == set(keys.values())
    table = json.loads(by_key[keys["repartition"]].data)
    allocation = read_model(colleges["out"] / "allocation.json", Allocation)
    assert {row["membre"] for row in table} == {m.member for m in allocation.members}
    assert by_key[keys["repartition"]].type == "table"
    coverage_table = json.loads(by_key[keys["couverture"]].data)
    assert {"territoire", "période", "manque"} <= set(coverage_table[0])
    assert "Répartition" in by_key[keys["explications"]].data
    assert "dossier/" in by_key[keys["dossier"]].data
    assert any(a.type == "progress" and a.data == 100.0 for a in progress)


@pytest.mark.parametrize("name", example_names()[1:2])
def test_second_example_retry_from_cache_and_idempotence(name: str, tmp_path: Path) -> None:
    """Run 1: the dossier step fails (its folder is blocked by a file). Run 2: it succeeds and
    the allocation comes from the cache (no second solve). Run 3: nothing changes."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "dossier").write_text("un fichier qui bloque le dossier")
    first = _run(EXAMPLES / name, out, wait=False)
    assert first.is_failed()
    assert (out / "allocation.json").is_file()
    (out / "dossier").unlink()
    second = _run(EXAMPLES / name, out, wait=False)
    assert second.is_completed()
    snapshot = _snapshot(out)
    assert len(snapshot["solves"]) == 1, "the re-run must take the allocation from the cache"
    third = _run(EXAMPLES / name, out, wait=False)
    assert third.is_completed()
    assert _snapshot(out) == snapshot, "a re-run must neither change nor duplicate anything"
    summary = third.result()
    allocation = read_model(out / "allocation.json", Allocation)
    problem = read_model(out / "problem.json", Problem)
    assert problem.tender.reference != "CD93-2027-PEINTURE-COLLEGES"
    assert allocation.assignments
    assert check(problem, allocation) == []
    assert all(Path(f).is_file() for f in summary["files"])
    assert snapshot["invitations"] == len(problem.members)


def test_invitation_links_open_the_members_own_page(colleges: dict[str, Any]) -> None:
    """The links the flow wrote into the outbox work on the portal, each for its own member."""
    import re

    from fastapi.testclient import TestClient

    from coop_tender.portal.app import create_app
    from coop_tender.workspace import Workspace

    out = colleges["out"]
    ws = Workspace.open(out / "workspace")
    names = {m.id: m.name for m in ws.seed_members()}
    member_id = sorted(names)[0]
    text = (out / "outbox" / f"invitation-{member_id}.txt").read_text()
    path = re.search(r"http://127\.0\.0\.1:8000(/m/\S+)", text).group(1)
    with TestClient(create_app(ws)) as client:
        page = client.get(path)
        assert page.status_code == 200
        assert names[member_id] in page.text
        assert client.get(path[:-3] + "xyz").status_code in (403, 404)
