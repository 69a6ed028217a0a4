"""A throw-away PostgreSQL 15 cluster for tests, self-contained (reusable by any test area).

    from tests.pg import temporary_postgres, require_postgres

    require_postgres()                      # fails in CI, skips locally, if binaries are missing
    with temporary_postgres() as url:       # postgresql+psycopg://postgres@127.0.0.1:PORT/coop
        ...

It runs `initdb` in a fresh temporary directory, starts the server on a free loopback port (TCP
127.0.0.1 only, unix socket inside the temporary directory, trust authentication), creates a
database, yields its SQLAlchemy URL, then stops the server and removes the directory, also when
the block raises. As root (PostgreSQL refuses to run as root) the binaries run as the OS user
`postgres` through `runuser`; as any other user they run directly.
`create_database(url, name)` adds another database to the same cluster (cheap per-test isolation).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

PG_BIN = Path(os.environ.get("COOP_TENDER_PG_BIN", "/usr/lib/postgresql/15/bin"))


def require_postgres() -> Path:
    """The PostgreSQL binaries folder; missing binaries fail in CI and skip locally."""
    from tests.conftest import require_binary

    require_binary(str(PG_BIN / "initdb"))  # shutil.which accepts a full path
    require_binary(str(PG_BIN / "pg_ctl"))
    return PG_BIN


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(argv: list[str]) -> list[str]:
    """Run as the `postgres` OS user when we are root (initdb and postgres refuse root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def _run(argv: list[str], timeout: float = 60) -> None:
    result = subprocess.run(
        _as_postgres(argv), capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {result.stdout}\n{result.stderr}")


@contextmanager
def temporary_postgres(database: str = "coop") -> Iterator[str]:
    """Start a private PostgreSQL cluster; yield `postgresql+psycopg://postgres@127.0.0.1:P/DB`."""
    tmp = Path(tempfile.mkdtemp(prefix="coop-tender-pg-"))
    data, sock = tmp / "data", tmp / "socket"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
        shutil.chown(sock, "postgres")
    port = _free_port()
    started = False
    try:
        _run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sock} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=50 -c shared_buffers=32MB"
        )
        _run(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(tmp / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        started = True
        base = f"postgresql+psycopg://postgres@127.0.0.1:{port}"
        create_database(f"{base}/postgres", database)
        yield f"{base}/{database}"
    finally:
        if started:
            with suppress(RuntimeError, subprocess.TimeoutExpired):
                _run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(tmp, ignore_errors=True)


def create_database(url: str, name: str) -> str:
    """Create database `name` on the cluster of `url`; return the URL of the new database."""
    import psycopg

    if not name.replace("_", "").isalnum():
        raise ValueError(f"unsafe database name {name!r}")
    base = url.rsplit("/", 1)[0]
    dsn = base.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"
