"""The `forms` and `import-capacity` commands, and the public API of the capacity forms."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from coop_tender.capacity.read import read_form
from coop_tender.capacity.write import form_bytes, form_context, known_declarations, write_form
from coop_tender.errors import UserError
from coop_tender.files import write_model
from coop_tender.workspace import Workspace

__all__ = ["form_bytes", "forms_command", "import_command", "read_form", "write_form"]

IMPORT_AUTHOR = "coop-tender import-capacity"


def forms_command(args: argparse.Namespace) -> int:
    """`coop-tender forms WORKSPACE [--out DIR] [--member ID ...]`: one xlsx per member."""
    workspace = Workspace.open(args.workspace)
    out = Path(args.out) if args.out else workspace.path("forms")
    known = known_declarations(workspace)
    if args.member:
        unknown = [m for m in args.member if m not in known]
        if unknown:
            raise UserError(f"membre(s) inconnu(s) dans {workspace.root} : {', '.join(unknown)}")
        ids = list(dict.fromkeys(args.member))
    else:
        ids = [m.id for m in workspace.members()]
    if not ids:
        raise UserError(f"{workspace.root} : aucun membre à inviter")
    context = form_context(workspace)
    for member_id in ids:
        target = out / f"capacites-{member_id}.xlsx"
        print(write_form(workspace, member_id, target, known[member_id], context=context))
    return 0


def import_command(args: argparse.Namespace) -> int:
    """`coop-tender import-capacity FILE [--workspace W] [--out member.json]`.

    A form with any problem is refused whole (exit 2, every problem on the one error line);
    nothing is written and the previous declaration stays.
    """
    workspace = Workspace.open(args.workspace) if args.workspace else None
    if workspace is not None and workspace.config.example:
        raise UserError(
            f'{workspace.root} est marqué comme exemple livré ("example": true dans '
            "workspace.json) : on n'y enregistre rien. Utilisez la copie que `coop-tender run` "
            'en fait (SORTIE/workspace), ou mettez "example": false dans votre propre copie'
        )
    path = Path(args.file)
    try:
        member = read_form(path, workspace=workspace)
    except UserError as exc:
        if exc.problems:
            raise UserError(
                f"{path.name} : formulaire refusé, {len(exc.problems)} problème(s) : "
                + " ; ".join(exc.problems),
                exc.problems,
            ) from None
        raise
    if args.out:
        write_model(Path(args.out), member)
        print(args.out)
    if workspace is not None:
        from coop_tender.store import Store

        with Store(workspace.store_url) as store:
            version = store.save_declaration(member, "xlsx", f"{IMPORT_AUTHOR} ({path.name})")
        print(f"déclaration de {member.id} enregistrée (version {version})")
    if not args.out and workspace is None:
        sys.stdout.write(member.model_dump_json(indent=2) + "\n")
    return 0
