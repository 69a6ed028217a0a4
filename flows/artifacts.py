"""What the coordinator sees in the Prefect UI: tables and markdown built from the results.

The builders are plain functions (rows and markdown text); `publish_*` call Prefect's artifact
API and must run inside a flow or task. Keys are per tender so the UI keeps each tender's history.
"""

from __future__ import annotations

import re
from pathlib import Path

from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)

from coop_tender.coverage import CoverageRow
from coop_tender.models import Allocation, Role
from coop_tender.money import format_euros


def artifact_key(kind: str, reference: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    slug = re.sub(r"[^a-z0-9]+", "-", reference.lower()).strip("-")
    return f"{kind}-{slug}"[:100]


def allocation_rows(allocation: Allocation) -> list[dict[str, object]]:
    """One row per member: hours, turnover, share against target, why."""
    rows = []
    for m in allocation.members:
        rows.append(
            {
                "membre": m.member,
                "nom": m.name,
                "rôle": "cotraitant" if m.role is Role.COCONTRACTOR else "mise à disposition",
                "sites": len(m.items),
                "heures": m.hours,
                "montant": format_euros(m.value),
                "part": f"{m.share:.1%}",
                "cible": f"{m.target:.1%}",
                "heures d'insertion": round(m.insertion_hours),
                "explication": " ".join(m.explanation),
            }
        )
    return rows


def coverage_rows(rows: list[CoverageRow]) -> list[dict[str, object]]:
    """One row per territory and period: demand, declared capacity, shortfall."""
    return [
        {
            "territoire": r.territory_name,
            "période": r.period,
            "heures demandées": r.demand_hours,
            "heures des cotraitants": r.cocontractor_hours,
            "heures mises à disposition": r.provider_hours,
            "manque": r.shortfall_hours,
            "membres": ", ".join(r.members),
        }
        for r in rows
    ]


STATUS_FR = {
    "optimal": "optimale (prouvée)",
    "feasible": "réalisable (non prouvée optimale)",
    "infeasible": "impossible",
    "unknown": "non trouvée dans le temps imparti",
}


def explanation_markdown(reference: str, allocation: Allocation) -> str:
    """The solver's answer in French: status, coverage, stages, and every explanation."""
    lines = [
        f"# Répartition — {reference}",
        "",
        f"- Statut : **{STATUS_FR.get(allocation.status, allocation.status)}**",
        f"- Montant couvert : {format_euros(allocation.covered_value)} sur "
        f"{format_euros(allocation.total_value)}",
        f"- Heures d'insertion : {allocation.insertion_hours:.0f} h "
        f"(clause sociale : {allocation.insertion_hours_min} h)",
        f"- Sites non attribués : {len(allocation.unassigned)}",
        "",
        "## Étapes de l'optimisation",
        "",
        "| étape | valeur | borne | statut | secondes |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {s.name} | {s.value} | {s.bound} | {s.status} | {s.seconds:.1f} |"
        for s in allocation.stages
    ]
    lines += ["", "## Explications", ""]
    lines += [f"- {e}" for e in allocation.explanation] or ["- (aucune)"]
    return "\n".join(lines) + "\n"


def files_markdown(reference: str, out: Path, files: list[Path]) -> str:
    """Where the consortium finds its dossier: every produced file with its path."""
    lines = [f"# Dossier — {reference}", "", f"Dossier de sortie : `{out}`", ""]
    for path in sorted(files):
        try:
            shown = path.relative_to(out)
        except ValueError:
            shown = path
        lines.append(f"- [{shown}]({path.resolve().as_uri()})")
    return "\n".join(lines) + "\n"


def publish_table(kind: str, reference: str, rows: list[dict[str, object]], what: str) -> None:
    create_table_artifact(
        key=artifact_key(kind, reference), table=rows, description=f"{what} — {reference}"
    )


def publish_markdown(kind: str, reference: str, text: str, what: str) -> None:
    create_markdown_artifact(
        key=artifact_key(kind, reference), markdown=text, description=f"{what} — {reference}"
    )


def start_progress(what: str, reference: str) -> str:
    """A progress artifact (0 %) for a long step; returns its id for `set_progress`."""
    return str(create_progress_artifact(0.0, description=f"{what} — {reference}"))


def set_progress(artifact_id: str, percent: float) -> None:
    update_progress_artifact(artifact_id, max(0.0, min(100.0, percent)))
