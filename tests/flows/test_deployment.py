"""The shared deployment for real: PostgreSQL, a Prefect server on it, a process work pool and
its worker, the deployment of prefect.yaml, and two tenders run at the same time through it —
plus a third tender whose members have not answered yet: its run invites them (store on the
same PostgreSQL server), ends, and schedules its own next check instead of holding the worker.

Everything started here is stopped in `finally` blocks, also when the test fails.
"""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coop_tender.checker import check
from coop_tender.files import read_model
from coop_tender.models import Allocation, Problem
from flows import stack
from tests.flows.conftest import EXAMPLES, copy_example, example_names
from tests.pg import create_database, require_postgres, temporary_postgres

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

RUN_TIMEOUT = 200


def _wait_for_runs(client, ids: list, timeout: float) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [client.read_flow_run(i) for i in ids]
        if all(r.state and r.state.is_final() for r in runs):
            return runs
        time.sleep(2)
    raise TimeoutError(f"flow runs not finished after {timeout} s: {[r.state for r in runs]}")


def test_two_tenders_run_concurrently_on_server_postgres_and_worker(tmp_path: Path) -> None:
    require_postgres()
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    logs = tmp_path / "logs"
    port = stack.free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    started = time.monotonic()
    with temporary_postgres() as url:
        prefect_db = create_database(url, "prefect").split("://", 1)[1]
        server = stack.start_prefect_server(prefect_db, port, tmp_path / "server-home", logs / "s")
        worker = None
        try:
            stack.wait_for_api(api_url, timeout=120, process=server)
            env = stack.prefect_env(api_url, tmp_path / "client-home")
            stack.create_pool_and_deploy(env, logs / "deploy.log")
            worker = stack.start_worker(env, logs / "worker.log")
            names = example_names()[:2]
            outs = {name: tmp_path / "out" / name for name in names}
            waiting = copy_example(
                names[1],
                tmp_path / "en-attente",
                capacity_deadline=datetime.now(UTC) + timedelta(days=2),
                store_url=url,  # the store beside Prefect's database
            )
            params = [
                {"workspace": str(EXAMPLES / name), "out": str(outs[name]), "time_limit": 8}
                for name in names
            ]
            params.append(
                {"workspace": str(waiting), "out": str(tmp_path / "out-wait"), "poll_seconds": 3600}
            )
            with temporary_settings({PREFECT_API_URL: api_url}):
                ids = [
                    run_deployment(stack.DEPLOYMENT, parameters=p, timeout=0, as_subflow=False).id
                    for p in params
                ]
                with get_client(sync_client=True) as client:
                    runs = _wait_for_runs(client, ids, RUN_TIMEOUT)
                    scheduled = [
                        r
                        for r in client.read_flow_runs(limit=50)
                        if r.state.is_scheduled() and r.parameters["workspace"] == str(waiting)
                    ]
            states = [r.state.type.value for r in runs]
            assert states == ["COMPLETED"] * 3, _logs(logs)
            runs = runs[:2]
            _check_waiting(waiting, tmp_path / "out-wait", scheduled)
            starts = [r.start_time for r in runs]
            ends = [r.end_time for r in runs]
            assert max(starts) < min(ends), "the two tenders must have run at the same time"
            for name in names:
                out = outs[name]
                allocation = read_model(out / "allocation.json", Allocation)
                problem = read_model(out / "problem.json", Problem)
                assert allocation.assignments
                assert check(problem, allocation) == []
                dossier = list((out / "dossier").rglob("*.pdf"))
                assert dossier, f"no dossier for {name}"
        finally:
            if worker is not None:
                stack.stop_process(worker)
            stack.stop_process(server)
    print(f"deployment test: {time.monotonic() - started:.0f} s")
    assert server.poll() is not None and (worker is None or worker.poll() is not None)
    shutil.rmtree(tmp_path / "out", ignore_errors=True)


def _check_waiting(workspace: Path, out: Path, scheduled: list) -> None:
    """The waiting tender: invited on PostgreSQL, no allocation, exactly one next check."""
    from coop_tender.store import Store
    from coop_tender.workspace import Workspace

    ws = Workspace.open(workspace)
    with Store(ws.store_url) as store:
        assert set(store.invitations()) >= {m.id for m in ws.seed_members()}
        assert store.answered() == set()
    assert not (out / "allocation.json").exists()
    assert len(list((out / "outbox").glob("invitation-*.txt"))) == len(ws.seed_members())
    assert len(scheduled) == 1, "a waiting run schedules exactly one next check"
    delay = scheduled[0].expected_start_time - datetime.now(UTC)
    assert timedelta(minutes=50) < delay <= timedelta(hours=1)
    assert scheduled[0].parameters["poll_seconds"] == 3600


def _logs(folder: Path) -> str:
    return "\n".join(f"== {p.name}\n{p.read_text()[-3000:]}" for p in sorted(folder.glob("*")))
