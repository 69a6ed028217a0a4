"""`coop-tender invite`: make the members' personal portal links (and the coordinator's).

A link is `BASE_URL/m/TOKEN`, the token random (secrets.token_urlsafe(32)) and stored only as
its SHA-256 hash, so it is shown once, here. It expires at workspace.json's capacity_deadline;
inviting a member again replaces its link (the old one stops working).
Without --member every member is invited and a last line `coordinateur BASE_URL/c/TOKEN` gives
the coordinator's page (valid until COORDINATOR_GRACE after the deadline); with --member only
those members get a new link and the coordinator's link is left as it is.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import datetime, timedelta

from coop_tender import models
from coop_tender.errors import UserError
from coop_tender.store import Store
from coop_tender.workspace import Workspace

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
COORDINATOR_LINE = "coordinateur"
COORDINATOR_GRACE = timedelta(days=90)


def invite_members(
    workspace: Workspace,
    member_ids: Sequence[str] | None = None,
    base_url: str = DEFAULT_BASE_URL,
    now: datetime | None = None,
) -> list[tuple[str, str]]:
    """(member id, personal URL) for each invited member, then the coordinator when inviting all."""
    now = now or models.now()
    deadline = workspace.config.capacity_deadline
    if deadline is None:
        raise UserError(
            f"{workspace.root} : aucune date limite de déclaration (capacity_deadline dans "
            "workspace.json) ; les liens doivent expirer, indiquez-la puis relancez"
        )
    if deadline <= now:
        raise UserError(f"la date limite de déclaration ({deadline.isoformat()}) est passée")
    base = base_url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise UserError(f"adresse du portail invalide : « {base_url} » (http:// ou https://)")
    known = [m.id for m in workspace.members()]
    if member_ids:
        from coop_tender.portal.overview import all_members

        with Store(workspace.store_url) as store:
            everyone = all_members(workspace, store)
        unknown = [m for m in member_ids if m not in everyone]
        if unknown:
            raise UserError(f"membre(s) inconnu(s) dans {workspace.root} : {', '.join(unknown)}")
        ids = list(dict.fromkeys(member_ids))
    else:
        ids = known
    if not ids:
        raise UserError(f"{workspace.root} : aucun membre à inviter (dossier members/ vide ?)")
    with Store(workspace.store_url) as store:
        lines = [(m, f"{base}/m/{store.create_invitation(m, deadline)}") for m in ids]
        if not member_ids:
            token = store.create_coordinator_token(deadline + COORDINATOR_GRACE)
            lines.append((COORDINATOR_LINE, f"{base}/c/{token}"))
    return lines


def invite_command(args: argparse.Namespace) -> int:
    """`coop-tender invite --workspace W [--member ID ...] [--base-url URL]`."""
    workspace = Workspace.open(args.workspace)
    for member_id, url in invite_members(workspace, args.member, args.base_url or DEFAULT_BASE_URL):
        print(f"{member_id} {url}")
    return 0
