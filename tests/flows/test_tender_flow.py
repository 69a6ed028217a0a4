"""The tender-response flow end to end on Prefect's test harness (one per session).

On the Seine-Saint-Denis example: a first run whose dossier step fails (its output folder is
blocked by a file), a second that succeeds without solving again (the solve comes from the
cache), a third that changes nothing (idempotence). On the second example: one full run. The
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
from tests.flows.conftest import EXAMPLES, example_names

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]

TIME_LIMIT = 10.0


def _run(workspace: Path, out: Path, **params: Any):
    from flows.tender_response import tender_response

    return tender_response(
        workspace=str(workspace), out=str(out), time_limit=TIME_LIMIT, return_state=True, **params
    )


def _snapshot(out: Path) -> dict[str, Any]:
    from coop_tender.store import Store
    from coop_tender.workspace import Workspace

    ws = Workspace.open(out / "workspace")
    with Store(ws.store_url) as store:
        invitations = [e for e in store.events(limit=10_000) if e.what == "invitation"]
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
    out = tmp_path_factory.mktemp("colleges") / "out"
    out.mkdir()
    example = EXAMPLES / "colleges-93"
    before = sorted(str(p) for p in example.rglob("*"))
    (out / "dossier").write_text("un fichier qui bloque le dossier")
    first = _run(example, out)
    (out / "dossier").unlink()
    second = _run(example, out)
    return {
        "out": out,
        "states": (first, second),
        "snapshot": _snapshot(out),
        "example_before": before,
        "example_after": sorted(str(p) for p in example.rglob("*")),
    }


def test_failed_dossier_step_is_retried_without_solving_again(colleges: dict[str, Any]) -> None:
    first, second = colleges["states"]
    assert first.is_failed()
    assert second.is_completed()
    solves = colleges["snapshot"]["solves"]
    assert len(solves) == 1, "the second run must take the allocation from the cache"
    assert json.loads(solves[0])["key"]


def test_chain_writes_a_valid_allocation_and_the_dossier(colleges: dict[str, Any]) -> None:
    out = colleges["out"]
    summary = colleges["states"][1].result()
    assert summary["status"] == "done"
    assert summary["missing"] == []
    allocation = read_model(out / "allocation.json", Allocation)
    problem = read_model(out / "problem.json", Problem)
    assert allocation.assignments
    assert check(problem, allocation) == []
    files = [Path(f) for f in summary["files"]]
    assert files and all(f.is_file() and f.stat().st_size > 0 for f in files)
    assert {f.suffix for f in files} >= {".pdf", ".xlsx"}
    assert all(f.is_relative_to(out / "dossier") for f in files)
    assert len(list((out / "forms").glob("*.xlsx"))) == len(problem.members)
    message = (out / "outbox" / "groupement-dossier.txt").read_text()
    assert str(out / "dossier") in message


def test_shipped_example_is_never_written(colleges: dict[str, Any]) -> None:
    assert colleges["example_before"] == colleges["example_after"]
    assert (colleges["out"] / "workspace" / "store.sqlite").is_file()


def test_artifacts_are_published(colleges: dict[str, Any]) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.artifacts import artifact_key

    reference = json.loads(colleges["snapshot"]["problem"])["tender"]["reference"]
    keys = {kind: artifact_key(kind, reference) for kind in ("repartition", "couverture")}
    keys |= {kind: artifact_key(kind, reference) for kind in ("explications", "dossier")}
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
    assert "Répartition" in by_key[keys["explications"]].data
    assert "dossier/" in by_key[keys["dossier"]].data
    assert any(a.type == "progress" and a.data == 100.0 for a in progress)


@pytest.mark.parametrize("name", example_names()[1:2])
def test_second_example_twice_gives_the_same_outputs(name: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = _run(EXAMPLES / name, out, wait=False)
    assert first.is_completed()
    snapshot = _snapshot(out)
    second = _run(EXAMPLES / name, out, wait=False)
    assert second.is_completed()
    assert _snapshot(out) == snapshot, "a re-run must neither change nor duplicate anything"
    summary = second.result()
    allocation = read_model(out / "allocation.json", Allocation)
    problem = read_model(out / "problem.json", Problem)
    assert problem.tender.reference != "CD93-2027-PEINTURE-COLLEGES"
    assert allocation.assignments
    assert check(problem, allocation) == []
    assert all(Path(f).is_file() for f in summary["files"])
    assert snapshot["invitations"] == len(problem.members)
    assert len(snapshot["solves"]) == 1
