"""The robustness sweep: its tenders are reproducible and its judge catches what it claims to."""

from __future__ import annotations

from bench import greedy
from bench.sweep import judge, variant
from coop_tender.checker import check


def test_variants_are_reproducible_and_varied() -> None:
    first, again = variant(5), variant(5)
    assert first[0] == again[0] and first[2] == again[2]
    assert first[1].model_dump() == again[1].model_dump()
    sizes = {len(variant(n)[1].tender.items) for n in range(6)}
    assert len(sizes) > 2  # not the same tender six times


def test_the_judge_names_broken_rules_and_overruns() -> None:
    """The coordinator's greedy ignores the social clause and rule 8: on the first variant
    where it breaks them the judge says so (from the checker), as it does for an overrun."""
    for n in range(20):
        _, problem, limit = variant(n)
        answer = greedy.solve(problem)
        broken = check(problem, answer)
        if broken:
            break
    assert broken
    faults = judge(problem, answer, seconds=limit + 1.0, limit=limit)
    assert any(f.startswith("time:") for f in faults)
    assert sum(f.startswith("rule:") for f in faults) == len(broken)
