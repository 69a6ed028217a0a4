"""The allocation engine: who takes which site, which provider hours go to whom, and why.

`solve(problem, time_limit, workers)` runs the lexicographic CP-SAT solve (coverage, turnover
fairness, provider fairness, travel) and returns an `Allocation` with French explanations;
`allocate_command` is the `coop-tender allocate` sub-command. See docs/allocation.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from coop_tender.allocation.model import build_model
from coop_tender.allocation.solve import solve
from coop_tender.files import read_model, write_model
from coop_tender.models import Problem
from coop_tender.money import format_euros

_STATUS_FR = {
    "optimal": "optimale",
    "feasible": "valable (optimalité non prouvée)",
    "infeasible": "impossible",
    "unknown": "non trouvée",
}


def allocate_command(args: argparse.Namespace) -> int:
    """`coop-tender allocate problem.json --out allocation.json [--time-limit S]`.

    Exit 0 whenever allocation.json is written, whatever its status; a broken problem.json
    raises UserError (one line, exit 2) before anything is written.
    """
    problem = read_model(Path(args.problem), Problem)
    time_limit = float(getattr(args, "time_limit", None) or 60.0)
    allocation = solve(problem, time_limit=time_limit)
    write_model(Path(args.out), allocation)
    if allocation.status in ("infeasible", "unknown"):
        reason = allocation.explanation[0] if allocation.explanation else ""
        print(f"Répartition {_STATUS_FR[allocation.status]} : {reason} → {args.out}")
    else:
        print(
            f"Répartition {_STATUS_FR[allocation.status]} : "
            f"{len(allocation.assignments)} site(s) attribué(s) sur "
            f"{len(allocation.assignments) + len(allocation.unassigned)}, "
            f"{format_euros(allocation.covered_value)} sur {format_euros(allocation.total_value)}"
            f" → {args.out}"
        )
    return 0


__all__ = ["allocate_command", "build_model", "solve"]
