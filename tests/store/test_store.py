"""The durable store on SQLite and PostgreSQL: history, tokens, atomicity, concurrency."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from coop_tender.store import Store, declarations, events, hash_token, invitations, metadata
from tests.store.conftest import member

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


def dump(store: Store) -> str:
    """Every row of every table as text: what an attacker reading the database would see."""
    lines = []
    with store.engine.connect() as conn:
        for table in metadata.sorted_tables:
            lines += [repr(tuple(row)) for row in conn.execute(select(table))]
    return "\n".join(lines)


def test_history_is_append_only_and_latest_wins(store_url: str) -> None:
    with Store(store_url) as store:
        assert store.latest_declarations() == {}
        assert store.save_declaration(member("a", 100), "seed", "import-initial") == 1
        assert store.save_declaration(member("a", 200), "portal", "a") == 2
        assert store.save_declaration(member("b", 300), "xlsx", "b") == 1
        assert store.save_declaration(member("a", 400), "xlsx", "a") == 3

        history = store.declaration_history("a")
        assert [d.version for d in history] == [1, 2, 3]
        assert [d.member.capacity_hours["P1"] for d in history] == [100, 200, 400]
        assert [d.source for d in history] == ["seed", "portal", "xlsx"]
        assert all(d.created_at.tzinfo is not None for d in history)
        assert history[0].created_at <= history[-1].created_at

        latest = store.latest_declarations()
        assert sorted(latest) == ["a", "b"]
        assert latest["a"].capacity_hours == {"P1": 400}
        assert latest["b"].capacity_hours == {"P1": 300}
        # A seed import is not an answer; portal and xlsx submissions are.
        assert store.answered() == {"a", "b"}
        assert [e.what for e in store.events("a")] == ["declaration"] * 3


def test_money_survives_exactly(store_url: str) -> None:
    with Store(store_url) as store:
        store.save_declaration(
            member("a", annual_turnover="1234567.89", turnover_history={2024: "0.10"}),
            "portal",
            "a",
        )
        got = store.latest_declarations()["a"]
    assert str(got.annual_turnover) == "1234567.89"
    assert str(got.turnover_history[2024]) == "0.10"


def test_unknown_source_refused(store_url: str) -> None:
    with Store(store_url) as store, pytest.raises(ValueError):
        store.save_declaration(member("a"), "email", "a")


def test_token_is_stored_only_as_its_hash(store_url: str) -> None:
    with Store(store_url) as store:
        token = store.create_invitation("a", NOW + timedelta(days=10))
        assert len(token) >= 43
        assert store.member_for_token(token, NOW) == "a"
        content = dump(store)
        assert token not in content
        assert hash_token(token) in content
    if store_url.startswith("sqlite:///"):
        path = Path(store_url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert token.encode() not in raw


def test_unknown_expired_and_revoked_tokens(store_url: str) -> None:
    with Store(store_url) as store:
        token = store.create_invitation("a", NOW + timedelta(days=1))
        assert store.member_for_token(token, NOW) == "a"
        assert store.member_for_token(token, NOW + timedelta(days=1)) is None  # expired
        assert store.member_for_token(token + "x", NOW) is None
        assert store.member_for_token("", NOW) is None
        assert store.member_for_token("a", NOW) is None  # a member id is not a token

        second = store.create_invitation("a", NOW + timedelta(days=1))
        assert store.member_for_token(token, NOW) is None  # re-inviting revokes the old link
        assert store.member_for_token(second, NOW) == "a"
        other = store.create_invitation("b", NOW + timedelta(days=1))

        assert store.revoke("a") == 1
        assert store.member_for_token(second, NOW) is None
        assert store.member_for_token(other, NOW) == "b"
        assert store.invitations()["a"].revoked_at is not None


def test_coordinator_token_is_not_a_member(store_url: str) -> None:
    with Store(store_url) as store:
        token = store.create_coordinator_token(NOW + timedelta(days=1))
        member_token = store.create_invitation("a", NOW + timedelta(days=1))
        assert store.is_coordinator_token(token, NOW)
        assert not store.is_coordinator_token(member_token, NOW)


def test_declined_reminders_and_secret(store_url: str) -> None:
    with Store(store_url) as store:
        store.save_declaration(member("a"), "seed", "seed")
        store.set_declined("a", True)
        assert store.latest_declarations()["a"].declined is True
        assert store.answered() == {"a"}
        store.set_declined("a", False)
        assert store.latest_declarations()["a"].declined is False
        assert store.answered() == set()

        store.record_reminder("a", NOW, "email")
        store.record_reminder("a", NOW + timedelta(days=2), "sms")
        assert store.reminders("a") == [(NOW, "email"), (NOW + timedelta(days=2), "sms")]
        assert store.reminders("b") == []

        secret = store.secret()
        assert len(secret) == 32
    with Store(store_url) as again:
        assert again.secret() == secret


def test_exception_mid_transaction_leaves_nothing(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(store_url) as store:
        store.save_declaration(member("a", 100), "portal", "a")

        def crash(*args: object, **kwargs: object) -> None:
            raise RuntimeError("crash after the insert")

        # The audit line is written after the declaration row, in the same transaction.
        monkeypatch.setattr(Store, "_log", crash)
        with pytest.raises(RuntimeError):
            store.save_declaration(member("a", 999), "portal", "a")
        with pytest.raises(RuntimeError):
            store.create_invitation("a", NOW + timedelta(days=1))
        monkeypatch.undo()

        assert [d.version for d in store.declaration_history("a")] == [1]
        assert store.latest_declarations()["a"].capacity_hours == {"P1": 100}
        with store.engine.connect() as conn:
            assert conn.execute(select(invitations)).all() == []
            assert len(conn.execute(select(events)).all()) == 1
        # The next submission takes the next version as if nothing happened.
        assert store.save_declaration(member("a", 300), "portal", "a") == 2


def test_sqlite_killed_mid_transaction_stays_readable(tmp_path: Path) -> None:
    """A process dying between insert and commit leaves a readable file and no half record."""
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    with Store(url) as store:
        store.save_declaration(member("a", 100), "portal", "a")
    script = f"""
import os
from sqlalchemy import insert
from coop_tender.store import Store, declarations
store = Store({url!r})
with store.transaction() as conn:
    conn.execute(insert(declarations).values(member_id="a", version=2, member_json="{{}}",
        source="portal", author="a", created_at=__import__("datetime").datetime.now(
            __import__("datetime").UTC)))
    os._exit(1)  # dies without commit or rollback
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, check=False)
    assert result.returncode == 1
    with sqlite3.connect(tmp_path / "store.sqlite") as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    with Store(url) as store:
        assert [d.version for d in store.declaration_history("a")] == [1]
        assert store.save_declaration(member("a", 200), "portal", "a") == 2


def test_sqlite_pragmas(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 's.sqlite'}") as store, store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


WRITER = """
import sys
from coop_tender.models import Member
from coop_tender.store import Store
from tests.store.conftest import member
with Store(sys.argv[1]) as store:
    for i in range(int(sys.argv[3])):
        store.save_declaration(member(sys.argv[2], i), "portal", sys.argv[2])
"""


def test_concurrent_writer_processes_on_sqlite(tmp_path: Path) -> None:
    """Two processes saving at once: no 'database is locked', no lost or duplicated version."""
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    Store(url).close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, "shared", "15"],
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    with Store(url) as store:
        assert [d.version for d in store.declaration_history("shared")] == list(range(1, 31))


def test_concurrent_writer_threads(store_url: str) -> None:
    """Threads of one process (the portal's case) on both backends."""
    failures: list[BaseException] = []

    def work(store: Store) -> None:
        try:
            for i in range(10):
                store.save_declaration(member("shared", i), "portal", "shared")
        except BaseException as exc:  # collected and asserted below
            failures.append(exc)

    with Store(store_url) as store:
        threads = [threading.Thread(target=work, args=(store,)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        with store.engine.connect() as conn:
            versions = conn.execute(
                select(declarations.c.version).where(declarations.c.member_id == "shared")
            ).scalars()
            assert sorted(versions) == list(range(1, 31))
