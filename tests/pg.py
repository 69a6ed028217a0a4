"""A throw-away PostgreSQL 15 cluster for tests, self-contained (reusable by any test area).

    from tests.pg import temporary_postgres, require_postgres

    require_postgres()                      # fails in CI, skips locally, if binaries are missing
    with temporary_postgres() as url:       # postgresql+psycopg://postgres@127.0.0.1:PORT/coop
        ...

It starts a cluster with flows.stack (the same code as `make serve`: initdb, trust authentication,
TCP 127.0.0.1 only, unix socket beside the data; as root the binaries run as the OS user
`postgres`) in a fresh temporary directory on a free loopback port, without fsync; creates a
database, yields its SQLAlchemy URL, then stops the server and removes the directory, also when
the block raises. `create_database(url, name)` adds another database to the same cluster (cheap
per-test isolation).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flows import stack
from flows.stack import PG_BIN

SCHEME = "postgresql+psycopg://"


def require_postgres() -> Path:
    """The PostgreSQL binaries folder; missing binaries fail in CI and skip locally."""
    from tests.conftest import require_binary

    require_binary(str(PG_BIN / "initdb"))  # shutil.which accepts a full path
    require_binary(str(PG_BIN / "pg_ctl"))
    return PG_BIN


@contextmanager
def temporary_postgres(database: str = "coop") -> Iterator[str]:
    """Start a private PostgreSQL cluster; yield `postgresql+psycopg://postgres@127.0.0.1:P/DB`."""
    data = Path(tempfile.mkdtemp(prefix="coop-tender-pg-")) / "data"
    started = False
    try:
        port = stack.free_port()
        stack.start_postgres(data, port, throwaway=True)
        started = True
        yield SCHEME + stack.create_database(f"postgres@127.0.0.1:{port}", database)
    finally:
        if started:
            stack.stop_postgres(data, mode="immediate")
        shutil.rmtree(data.parent, ignore_errors=True)


def create_database(url: str, name: str) -> str:
    """Create database `name` on the cluster of `url`; return the URL of the new database."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{stack.create_database(rest.rsplit('/', 1)[0], name)}"
