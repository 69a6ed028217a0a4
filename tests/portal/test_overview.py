"""The coordinator's totals use the flow's coverage: trades matched, provider hours capped."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from coop_tender.coverage import coverage
from coop_tender.models import Member, Problem, Tender
from coop_tender.portal import overview
from coop_tender.workspace import Workspace
from tests.conftest import DATA
from tests.store.conftest import member

EXAMPLES = sorted(p.parent for p in (DATA / "examples").glob("*/workspace.json"))


def _tender(hours: dict[str, int]) -> Tender:
    """Painting work in P1, `hours` per territory."""
    item = {"lot": "L1", "label": "Collège", "lat": 48.9, "lon": 2.4, "value": "1000"}
    return Tender(
        reference="x",
        items=[
            {
                **item,
                "id": f"s-{t}",
                "territory": t,
                "period": "P1",
                "trade": "peinture",
                "hours": h,
            }
            for t, h in hours.items()
        ],
    )


def _members() -> list[Member]:
    return [
        member("ei-nord", 800, territories=["T1"]),
        member("ev-nord", 1000, territories=["T1"], trades=["espaces-verts"]),  # wrong trade
        member("ei-retrait", 5000, territories=["T1", "T2"], declined=True),
        member("aci-est", 500, territories=["T2"], kind="ACI"),
        member(
            "ai-relais",
            600,
            kind="AI",
            role="provider",
            territories=["T1", "T2"],
            trades=[],
            hourly_rate="21.50",
        ),
    ]


def _with_policy(workspace: Workspace, text: str) -> Workspace:
    workspace.path(workspace.config.policy).write_text(text, encoding="utf-8")
    return workspace


def test_wrong_trade_and_capped_provider_hours_do_not_hide_a_shortfall(
    workspace: Workspace,
) -> None:
    ws = _with_policy(workspace, json.dumps({"max_provider_share": 0.1}))
    tender = _tender({"T1": 1000, "T2": 1000})
    totals = overview.totals(ws, _members(), tender)
    # T1: ei-nord 800; ev-nord paints nothing; ai-relais 600 h count at most 10 % of 1000 = 100.
    t1 = totals.cells["T1", "P1"]
    assert (t1.capacity, t1.demand, t1.shortfall) == (900, 1000, 100)
    # T2: aci-est 500 + ai-relais capped at 100; uncapped (500 + 600) it would look covered.
    t2 = totals.cells["T2", "P1"]
    assert (t2.capacity, t2.demand, t2.shortfall) == (600, 1000, 400)
    # Each member once: 800 + 500 co-contracted, provider 600 capped by 100 + 100 usable.
    p1 = totals.per_period["P1"]
    assert (p1.capacity, p1.demand, p1.shortfall) == (1500, 2000, 500)
    assert totals.cells["T1", "P2"] == overview.Cell(0, 0, 0)
    assert totals.policy_error is None
    # The flow's own check reports the very same shortfalls.
    active = [m for m in _members() if not m.declined]
    problem = Problem(tender=tender, members=active, policy=ws.policy())
    flow = {(r.territory, r.period): r.shortfall_hours for r in coverage(problem)}
    assert flow == {("T1", "P1"): 100, ("T2", "P1"): 400}


def test_period_shortfall_is_at_least_the_sum_of_the_territories(workspace: Workspace) -> None:
    # ei-nord's 800 h in T1 cannot fill T2's gap: the period line must not say "covered".
    totals = overview.totals(workspace, _members()[:1], _tender({"T1": 100, "T2": 600}))
    assert totals.cells["T2", "P1"].shortfall == 600
    p1 = totals.per_period["P1"]
    assert (p1.capacity, p1.demand, p1.shortfall) == (800, 700, 600)


def test_unreadable_policy_falls_back_to_the_default_share_and_says_so(
    workspace: Workspace,
) -> None:
    ws = _with_policy(workspace, "{pas du json")
    totals = overview.totals(ws, _members(), _tender({"T2": 1000}))
    # Policy() default: providers count at most 30 % of the demand.
    assert totals.cells["T2", "P1"].capacity == 500 + 300
    assert totals.policy_error and re.search(r"plafonnées à 30\s%", totals.policy_error)


def test_unreadable_tender_shows_declared_hours_and_unknown_demand(
    client: TestClient, links: dict[str, str], workspace: Workspace
) -> None:
    totals = overview.totals(workspace, workspace.seed_members(), None, "illisible")
    assert totals.cells["T1", "P1"] == overview.Cell(800 + 300, None, 0)
    assert totals.per_period["P1"] == overview.Cell(800 + 500 + 300, None, 0)
    page = client.get(links["coordinateur"]).text
    cell = re.search(r'data-cell="T1/P1">\s*([^<]*)', page)
    assert cell and re.sub(r"\s", "", cell.group(1)) == "1100/—"
    assert "la demande n'est pas connue" in page


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_totals_equal_the_flow_coverage_on_shipped_examples(example: Path, tmp_path: Path) -> None:
    root = tmp_path / example.name
    shutil.copytree(example, root, ignore=shutil.ignore_patterns("store.sqlite*", "forms"))
    ws = Workspace.open(root)
    problem = ws.problem()
    rows = coverage(problem)
    assert rows, "an example with no work checks nothing"
    totals = overview.totals(ws, ws.members(), problem.tender)
    assert totals.policy_error is None
    shown = {(t, p) for t, _ in totals.territories for p, _ in totals.periods}
    assert {(r.territory, r.period) for r in rows} <= shown
    for r in rows:
        cell = totals.cells[r.territory, r.period]
        assert (cell.capacity, cell.demand, cell.shortfall) == (
            r.cocontractor_hours + r.usable_provider_hours,
            r.demand_hours,
            r.shortfall_hours,
        )
    for p, _ in totals.periods:
        line = totals.per_period[p]
        assert line.demand == sum(r.demand_hours for r in rows if r.period == p)
        assert line.shortfall >= sum(r.shortfall_hours for r in rows if r.period == p)
