"""`coop-tender run WORKSPACE --out OUT_DIR`: the whole tender flow with Prefect's embedded server.

No server to start: Prefect runs a temporary server in this process (ephemeral mode). Its home
(database, logs, cached results) is private to the output folder unless PREFECT_HOME is set, and
its start-up timeout is raised for small machines. Both must be set before prefect is imported.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from coop_tender.errors import UserError


def prepare_prefect_environment(out: Path) -> None:
    """Private Prefect home and a patient start-up, unless the caller chose otherwise."""
    if "PREFECT_HOME" not in os.environ and "PREFECT_API_URL" not in os.environ:
        home = out / ".prefect"
        home.mkdir(parents=True, exist_ok=True)
        os.environ["PREFECT_HOME"] = str(home)
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")


def run_command(args: argparse.Namespace) -> int:
    """Run `tender_response` on WORKSPACE, write everything into OUT, say where (in French)."""
    workspace = Path(args.workspace)
    out = Path(args.out).resolve()
    if not workspace.is_dir():
        raise UserError(f"{workspace} : dossier d'appel d'offres introuvable")
    from coop_tender.workspace import Workspace

    # A broken workspace.json, notice or DQE is the user's to fix: say it in one line, naming
    # the user's own file, before Prefect starts (whose task logs would show tracebacks).
    Workspace.open(workspace).tender()
    out.mkdir(parents=True, exist_ok=True)
    prepare_prefect_environment(out)

    from flows.tender_response import tender_response
    from flows.waiting import DEFAULT_PORTAL_URL

    started = time.monotonic()
    print(f"Réponse à l'appel d'offres : {workspace} → {out} (Prefect, serveur intégré)")
    state = tender_response(
        workspace=str(workspace.resolve()),
        out=str(out),
        time_limit=args.time_limit,
        wait=not args.no_wait,
        portal_url=getattr(args, "portal_url", None) or DEFAULT_PORTAL_URL,
        return_state=True,
    )
    if state.is_failed():
        try:
            state.result()
        except UserError:
            raise
        except Exception as exc:
            raise UserError(f"le flux a échoué : {exc}") from None
    summary = state.result()
    seconds = time.monotonic() - started
    if summary["status"] == "waiting":
        print(
            f"En attente de {len(summary['missing'])} membre(s) : {', '.join(summary['missing'])}."
            f" Relancez la commande pour vérifier de nouveau ({seconds:.0f} s)."
        )
        return 0
    print(f"Terminé en {seconds:.0f} s. Résultats dans {out} :")
    print(f"  répartition       : {summary['allocation']} ({summary['allocation_status']})")
    print(f"  dossier à signer  : {out / 'dossier'} ({len(summary['files'])} fichiers en tout)")
    print(f"  classeurs         : {out / 'repartition.xlsx'} et {out / 'membres'}")
    print(f"  messages          : {out / 'outbox'}")
    if summary["missing"]:
        print(f"  sans réponse      : {', '.join(summary['missing'])}")
    return 0
