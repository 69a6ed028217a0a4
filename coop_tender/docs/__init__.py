"""The co-contracting dossier (PDF + DOCX) and the work-split workbooks, from one allocation.

`build_dossier` writes, atomically, into OUT_DIR:
    dossier/01-lettre-candidature-DC1      the candidature letter (DC1 sections A–G)
    dossier/02-DC2-<member>                one declaration per co-contractor (and sub-contractor)
    dossier/03-mise-a-disposition-<id>     a provider lending workers (schedule, 480-hour check)
    dossier/03-DC4-<id>                    or a true sub-contract (DC4)
    dossier/04-annexe-repartition-ATTRI1   the répartition annex (ATTRI1 B2)
    dossier/05-convention-de-groupement    the groupement agreement
    dossier/06-synthese-coordinateur       one page for the coordinator
each as .pdf and .docx, then repartition.xlsx and membres/<member>.xlsx. Documents of an
earlier run that this allocation no longer produces (a member who left) are removed, so the
folder never holds a stale form to sign; other files there are left alone.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from coop_tender.models import Allocation, Problem
from coop_tender.workspace import Workspace

__all__ = ["build_dossier", "dossier_command"]

_OURS = {"dossier": re.compile(r"^0[1-6]-.+\.(pdf|docx)$"), "membres": re.compile(r".+\.xlsx$")}


def build_dossier(
    workspace: Workspace,
    allocation: Allocation,
    out_dir: Path,
    *,
    problem: Problem | None = None,
) -> list[Path]:
    """Write the whole dossier and the workbooks; return the paths written, in order."""
    from coop_tender.docs import member_workbook
    from coop_tender.docs.context import build_context
    from coop_tender.docs.documents import documents
    from coop_tender.docs.docx import render_docx
    from coop_tender.docs.pdf import render_pdf
    from coop_tender.docs.workbook import workbook_bytes
    from coop_tender.files import write_atomic

    problem = problem if problem is not None else workspace.problem()
    d = build_context(problem, allocation, workspace.config)
    out_dir = Path(out_dir)
    written: list[Path] = []
    header = f"{problem.tender.buyer or ''} — réf. {problem.tender.reference}".strip(" —")
    for doc in documents(d):
        base = out_dir / "dossier" / doc.stem
        written.append(write_atomic(base.with_suffix(".pdf"), render_pdf(doc.html)))
        written.append(write_atomic(base.with_suffix(".docx"), render_docx(doc.html, header)))
    written.append(write_atomic(out_dir / "repartition.xlsx", workbook_bytes(d)))
    for c in d.cocontractors:
        path = out_dir / "membres" / f"{c.member.id}.xlsx"
        written.append(write_atomic(path, member_workbook.cocontractor_bytes(d, c)))
    for p in d.providers:
        path = out_dir / "membres" / f"{p.member.id}.xlsx"
        written.append(write_atomic(path, member_workbook.provider_bytes(d, p)))
    _remove_stale(out_dir, set(written))
    return written


def _remove_stale(out_dir: Path, written: set[Path]) -> None:
    """Delete our own documents left by an earlier run that this one did not rewrite."""
    for folder, pattern in _OURS.items():
        for path in (out_dir / folder).glob("*"):
            if path.is_file() and pattern.match(path.name) and path not in written:
                path.unlink()


def dossier_command(args: argparse.Namespace) -> int:
    """`coop-tender dossier WORKSPACE --allocation allocation.json --out DIR`."""
    from coop_tender.files import read_model

    workspace = Workspace.open(args.workspace)
    allocation = read_model(Path(args.allocation), Allocation)
    paths = build_dossier(workspace, allocation, Path(args.out))
    for path in paths:
        print(path)
    return 0
