"""Waiting for members on the harness: a late submission is picked up while the stage polls;
reminders respect their limits and the deadline; a member who declined is never reminded."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coop_tender.store import Store
from coop_tender.workspace import Workspace
from tests.flows.conftest import copy_example, example_names

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]


def _workspace(tmp_path: Path, deadline: datetime) -> tuple[Workspace, list[str]]:
    """A copy of an example where every member but the last two has answered."""
    root = copy_example(example_names()[-1], tmp_path / "ws", capacity_deadline=deadline)
    ws = Workspace.open(root)
    members = ws.seed_members()
    with Store(ws.store_url) as store:
        for member in members[:-2]:
            store.save_declaration(member, source="portal", author="test")
    return ws, [m.id for m in members[-2:]]


def _collect(ws: Workspace, out: Path, **params: object) -> dict:
    from flows.tender_response import collect_declarations

    return collect_declarations(str(ws.root), str(out), **params)


def test_a_submission_arriving_while_waiting_is_picked_up(tmp_path: Path) -> None:
    ws, (late, declining) = _workspace(tmp_path, datetime.now(UTC) + timedelta(hours=1))
    member = {m.id: m for m in ws.seed_members()}[late]
    with Store(ws.store_url) as store:
        store.set_declined(declining, True)

    def submit() -> None:
        time.sleep(2.0)
        with Store(ws.store_url) as store:
            store.save_declaration(member, source="portal", author="membre en retard")

    thread = threading.Thread(target=submit)
    started = time.monotonic()
    thread.start()
    result = _collect(
        ws,
        tmp_path / "out",
        poll_seconds=0.2,
        max_wait_seconds=60,
        max_reminders=2,
        reminder_interval_hours=0.0001,  # 0.36 s: several polls, at most two reminders
    )
    thread.join()
    assert time.monotonic() - started < 30
    assert result["outcome"] == "complete"
    assert result["missing"] == []
    assert declining in result["declined"] and late in result["answered"]
    with Store(ws.store_url) as store:
        assert 1 <= len(store.reminders(late)) <= 2
        assert store.reminders(declining) == []
    outbox = sorted(p.name for p in (tmp_path / "out" / "outbox").iterdir())
    assert outbox[0] == f"relance-{late}-1.txt"
    assert all(late in name for name in outbox)
    assert "Relance n° 1" in (tmp_path / "out" / "outbox" / outbox[0]).read_text()


def test_after_the_deadline_no_wait_and_no_reminder(tmp_path: Path) -> None:
    ws, missing = _workspace(tmp_path, datetime.now(UTC) - timedelta(minutes=1))
    result = _collect(ws, tmp_path / "out", poll_seconds=0.1, reminder_interval_hours=0)
    assert result["outcome"] == "deadline"
    assert result["missing"] == missing
    assert not (tmp_path / "out" / "outbox").exists()


def test_waiting_budget_spent_ends_the_run_as_waiting(tmp_path: Path) -> None:
    ws, missing = _workspace(tmp_path, datetime.now(UTC) + timedelta(days=5))
    for _ in range(2):  # the second check must not remind again (interval not elapsed)
        result = _collect(ws, tmp_path / "out", max_wait_seconds=0, reminder_interval_hours=48)
        assert result["outcome"] == "waiting"
        assert result["missing"] == missing
    with Store(ws.store_url) as store:
        assert [len(store.reminders(m)) for m in missing] == [1, 1]
