"""The flows' plain logic, without Prefect: coverage per territory and period, reminder rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from coop_tender.coverage import coverage, coverage_rows, shortfall_sentences
from coop_tender.models import Member, Policy, Problem, Tender, Territory, WorkItem
from flows.waiting import AnswerStatus, due_reminders
from tests.strategies import siret_from

NOW = datetime(2027, 3, 1, 12, tzinfo=UTC)


def _member(i: int, role: str, territories: list[str], hours: dict[str, int]) -> Member:
    return Member(
        id=f"m{i}",
        name=f"Structure {i}",
        siret=siret_from(f"{i:013d}"),
        kind="EI" if role == "cocontractor" else "AI",
        role=role,
        lat=48.9,
        lon=2.4,
        territories=territories,
        trades=["peinture"],
        capacity_hours=hours,
        annual_turnover="100000",
        hourly_rate=None if role == "cocontractor" else "20",
    )


def _item(i: int, territory: str, period: str, hours: int) -> WorkItem:
    return WorkItem(
        id=f"s{i}",
        lot="1",
        label=f"site {i}",
        territory=territory,
        lat=48.9,
        lon=2.4,
        trade="peinture",
        period=period,
        hours=hours,
        value="1000",
    )


def _problem() -> Problem:
    tender = Tender(
        reference="T",
        territories=[Territory(id="A", name="Plaine"), Territory(id="B", name="Est")],
        items=[
            _item(1, "A", "p1", 300),
            _item(2, "A", "p1", 200),
            _item(3, "B", "p1", 400),
            _item(4, "B", "p2", 100),
        ],
    )
    members = [
        _member(1, "cocontractor", ["A"], {"p1": 600}),
        _member(2, "cocontractor", ["A", "B"], {"p1": 100, "p2": 100}),
        _member(3, "provider", ["B"], {"p1": 1000}),
    ]
    return Problem(tender=tender, members=members, policy=Policy(max_provider_share=0.25))


def test_coverage_counts_demand_and_capacity_per_territory_and_period() -> None:
    rows = {(r.territory, r.period): r for r in coverage(_problem())}
    assert set(rows) == {("A", "p1"), ("B", "p1"), ("B", "p2")}
    a = rows["A", "p1"]
    assert (a.demand_hours, a.cocontractor_hours, a.shortfall_hours) == (500, 700, 0)
    b = rows["B", "p1"]
    # 400 h asked, 100 h from m2, the provider's 1000 h count at most 25 % of 400 = 100 h.
    assert (b.cocontractor_hours, b.provider_hours, b.shortfall_hours) == (100, 1000, 200)
    assert b.members == ["m2", "m3"]
    assert rows["B", "p2"].shortfall_hours == 0


def test_coverage_rows_need_no_problem_and_cap_providers_only_with_a_share() -> None:
    problem = _problem()
    rows = coverage_rows(problem.tender, problem.members, 0.25)
    assert rows == coverage(problem)
    b = {(r.territory, r.period): r for r in rows}["B", "p1"]
    assert (b.usable_provider_hours, b.capacity_hours) == (100, 200)
    # No cap: the provider's 1000 h all count and B p1 is covered.
    uncapped = {
        (r.territory, r.period): r for r in coverage_rows(problem.tender, problem.members, None)
    }
    assert (uncapped["B", "p1"].usable_provider_hours, uncapped["B", "p1"].shortfall_hours) == (
        1000,
        0,
    )
    # A co-contractor without the trade asked does not count.
    gardener = problem.members[1].model_copy(update={"trades": ["espaces-verts"]})
    rows = coverage_rows(problem.tender, [problem.members[0], gardener], 0.25)
    assert {(r.territory, r.period): r.cocontractor_hours for r in rows}["A", "p1"] == 600


def test_shortfall_sentences_name_territory_period_and_hours() -> None:
    sentences = shortfall_sentences(coverage(_problem()))
    assert len(sentences) == 1
    assert sentences[0].startswith("Est, p1 : 400 h de travaux")
    assert "il manque 200 h" in sentences[0]


def _status(now: datetime = NOW, deadline: datetime | None = NOW + timedelta(days=3)):
    return AnswerStatus(
        invited=["a", "b", "c", "d"],
        answered=["a"],
        declined=["b"],
        deadline=deadline,
        now=now,
    )


def test_reminders_only_to_silent_members_within_limits() -> None:
    status = _status()
    assert status.missing == ["c", "d"]
    last = {"c": NOW - timedelta(days=3), "d": NOW - timedelta(hours=1)}
    assert due_reminders(status, last, {}, 2, timedelta(days=2)) == ["c"]
    assert due_reminders(status, last, {"c": 2}, 2, timedelta(days=2)) == []
    assert due_reminders(status, last, {}, 2, timedelta(0)) == ["c", "d"]


def test_no_reminder_after_the_deadline() -> None:
    status = _status(deadline=NOW - timedelta(minutes=1))
    assert status.deadline_passed
    assert due_reminders(status, {}, {}, 5, timedelta(0)) == []
