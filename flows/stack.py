"""The shared deployment on one machine: PostgreSQL, Prefect server, a process work pool and its
worker, the `tender_response` deployment (prefect.yaml) and the member portal.

`python -m flows.stack start` (what `make serve` runs) starts everything on localhost and records
the process ids in the state folder; `python -m flows.stack stop` stops exactly those. The same
functions start the stack in the integration test (tests/flows/test_deployment.py). Workers on
other machines need only `PREFECT_API_URL` (see docs/orchestration.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _pg_bin() -> Path:
    """Debian's PostgreSQL binaries, newest version installed (or COOP_TENDER_PG_BIN)."""
    if chosen := os.environ.get("COOP_TENDER_PG_BIN"):
        return Path(chosen)
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
POOL = "coop-tender"
DEPLOYMENT = "tender-response/partage"


def prefect_env(api_url: str, home: Path, **extra: str) -> dict[str, str]:
    """Environment of a Prefect client/worker talking to the shared server."""
    env = dict(os.environ)
    env.pop("PREFECT_API_DATABASE_CONNECTION_URL", None)
    env.update(
        PREFECT_API_URL=api_url,
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        **extra,
    )
    return env


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its binaries as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _run_pg(argv: list[str], timeout: float = 60) -> None:
    """Run a PostgreSQL binary; a failure raises RuntimeError carrying its output."""
    result = subprocess.run(
        _as_postgres(argv), capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {result.stdout}\n{result.stderr}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_postgres(data: Path, port: int, throwaway: bool = False) -> None:
    """Create the cluster on first use (trust auth, UTF8, C locale), then start it on
    127.0.0.1:port, its unix socket and log beside `data`. `throwaway` skips every fsync
    and keeps the server small (test clusters that are deleted afterwards)."""
    sock = data.parent / "pg-socket"
    sock.mkdir(parents=True, exist_ok=True)
    data.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        for path in (sock, data.parent, data):
            shutil.chown(path, "postgres")
    if not (data / "PG_VERSION").exists():
        initdb = [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
        initdb += ["--encoding=UTF8", "--locale=C", *(["--no-sync"] if throwaway else [])]
        _run_pg(initdb)
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sock} "
    options += (
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        "-c max_connections=50 -c shared_buffers=32MB"
        if throwaway
        else "-c max_connections=100"
    )
    log = str(data.parent / "postgres.log")
    _run_pg([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", log, "-w", "start"])


def stop_postgres(data: Path, mode: str = "fast") -> None:
    """`pg_ctl stop` (mode fast or immediate); a cluster already stopped is no error."""
    with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
        _run_pg([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", mode, "-w", "stop"])


def create_database(server: str, name: str, exist_ok: bool = False) -> str:
    """Create database `name` on `server` (`postgres@HOST:PORT`) unless `exist_ok` and it
    exists; return `server/name`, the part of a URL after `scheme://`."""
    import psycopg

    if not name.replace("_", "").isalnum():
        raise ValueError(f"unsafe database name {name!r}")
    with psycopg.connect(f"postgresql://{server}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not (exist_ok and exists):
            conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


def start_prefect_server(database: str, port: int, home: Path, log: Path) -> subprocess.Popen:
    """`prefect server start` on 127.0.0.1:port backed by PostgreSQL (asyncpg driver)."""
    env = prefect_env(f"http://127.0.0.1:{port}/api", home)
    env.pop("PREFECT_API_URL")
    env["PREFECT_API_DATABASE_CONNECTION_URL"] = f"postgresql+asyncpg://{database}"
    return _spawn(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env,
        log,
    )


def wait_for_api(api_url: str, timeout: float = 120, process: subprocess.Popen | None = None):
    """Block until the server answers /health (or fail, saying which log to read)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the Prefect server exited with code {process.returncode}")
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"no Prefect server at {api_url} after {timeout:.0f} s")


def create_pool_and_deploy(env: dict[str, str], log: Path) -> None:
    """The process work pool (idempotent) and every deployment of prefect.yaml."""
    with log.open("a") as out:
        subprocess.run(
            [str(BIN / "prefect"), "work-pool", "create", POOL, "--type", "process", "--overwrite"],
            env=env,
            check=True,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        subprocess.run(
            [str(BIN / "prefect"), "--no-prompt", "deploy", "--all"],
            env=env,
            check=True,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )


def start_worker(env: dict[str, str], log: Path, name: str = "local") -> subprocess.Popen:
    return _spawn(
        [
            str(BIN / "prefect"),
            "worker",
            "start",
            "--pool",
            POOL,
            "--name",
            name,
            "--type",
            "process",
        ],
        env,
        log,
    )


def start_portal(workspace: Path, port: int, log: Path) -> subprocess.Popen:
    return _spawn(
        [str(BIN / "coop-tender"), "portal", "--workspace", str(workspace), "--port", str(port)],
        dict(os.environ),
        log,
    )


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """A background process in its own session, so stopping it stops its children too."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            argv,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            start_new_session=True,
        )


def stop_process(process_or_pid: subprocess.Popen | int, timeout: float = 20) -> None:
    """SIGTERM the process group we started, then SIGKILL it if it lingers."""
    pid = process_or_pid if isinstance(process_or_pid, int) else process_or_pid.pid
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if isinstance(process_or_pid, subprocess.Popen):
            if process_or_pid.poll() is not None:
                break
        else:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
        time.sleep(0.2)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    if isinstance(process_or_pid, subprocess.Popen):
        process_or_pid.wait(timeout=10)


# --------------------------------------------------------------------------- make serve / stop


def _state() -> Path:
    return Path(os.environ.get("COOP_TENDER_SERVE_DIR", REPO / ".serve")).resolve()


def _portal_workspace(state: Path, store_url: str) -> Path:
    """The portal's workspace: a copy of the example whose store is on the shared PostgreSQL."""
    from coop_tender.files import write_model
    from coop_tender.workspace import CONFIG_NAME, Workspace

    source = Path(os.environ.get("COOP_TENDER_WORKSPACE", REPO / "data/examples/colleges-93"))
    target = state / "workspaces" / source.name
    if not target.exists():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("store.sqlite*"))
    config = Workspace.open(target).config
    write_model(
        target / CONFIG_NAME, config.model_copy(update={"example": False, "store_url": store_url})
    )
    return target


def serve() -> int:
    """Start PostgreSQL, the Prefect server, the pool and worker, the deployment, the portal."""
    state = _state()
    pids_file = state / "pids.json"
    if pids_file.exists():
        print(f"Déjà démarré (voir {pids_file}) ; arrêtez d'abord avec scripts/stop.sh.")
        return 1
    pg_port = int(os.environ.get("COOP_TENDER_PG_PORT", "54329"))
    api_port = int(os.environ.get("COOP_TENDER_PREFECT_PORT", "4200"))
    portal_port = int(os.environ.get("COOP_TENDER_PORTAL_PORT", "8000"))
    api_url = f"http://127.0.0.1:{api_port}/api"
    logs = state / "logs"
    start_postgres(state / "pgdata", pg_port)
    pids: dict[str, int] = {}
    try:
        server_address = f"postgres@127.0.0.1:{pg_port}"
        prefect_db = create_database(server_address, "prefect", exist_ok=True)
        store_db = create_database(server_address, "coop", exist_ok=True)
        server = start_prefect_server(
            prefect_db, api_port, state / "prefect-server", logs / "server.log"
        )
        pids["prefect-server"] = server.pid
        wait_for_api(api_url, process=server)
        env = prefect_env(api_url, state / "prefect-client")
        create_pool_and_deploy(env, logs / "deploy.log")
        pids["worker"] = start_worker(env, logs / "worker.log").pid
        workspace = _portal_workspace(state, f"postgresql+psycopg://{store_db}")
        pids["portal"] = start_portal(workspace, portal_port, logs / "portal.log").pid
    except BaseException:
        for pid in pids.values():
            stop_process(pid)
        stop_postgres(state / "pgdata")
        raise
    pids_file.write_text(json.dumps(pids, indent=2))
    print(
        f"Serveur Prefect : http://127.0.0.1:{api_port} (interface web)\n"
        f"Portail des membres : http://127.0.0.1:{portal_port} (dossier {workspace})\n"
        f"PostgreSQL : 127.0.0.1:{pg_port} (bases prefect et coop)\n"
        f"Journaux : {logs}\n\n"
        "Lancer une réponse :\n"
        f"  PREFECT_API_URL={api_url} {BIN / 'prefect'} deployment run '{DEPLOYMENT}' \\\n"
        f"    -p workspace={workspace} -p out={state / 'out' / workspace.name}\n"
        f"Un worker sur une autre machine : PREFECT_API_URL={api_url} "
        f"prefect worker start --pool {POOL}\n"
        "Arrêter : scripts/stop.sh"
    )
    return 0


def stop() -> int:
    """Stop what `serve` started (recorded pids only), then PostgreSQL."""
    state = _state()
    pids_file = state / "pids.json"
    if pids_file.exists():
        for name, pid in json.loads(pids_file.read_text()).items():
            stop_process(pid)
            print(f"arrêté : {name} ({pid})")
        pids_file.unlink()
    if (state / "pgdata" / "postmaster.pid").exists():
        stop_postgres(state / "pgdata")
        print("arrêté : PostgreSQL")
    return 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "start"
    sys.exit({"start": serve, "stop": stop}[command]())
