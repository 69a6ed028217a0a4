"""The benchmark's repeated runs: the median run is one whole run, in the objective's order."""

from __future__ import annotations

from bench.run import median_run, readme_table, spread


def _run(coverage: float, excess: str, travel: float) -> dict:
    return {
        "coverage": coverage,
        "worst_excess": excess,
        "travel_km": travel,
        "seconds": 1.0,
        "violations": 0,
        "stages": [],
    }


def test_median_run_follows_the_objective_order() -> None:
    """Coverage first, then fairness, then travel: the run with less travel but worse fairness
    ranks below, and the middle of three is a run, not a mix of figures."""
    best = _run(0.95, "100.00", 900.0)
    middle = _run(0.95, "200.00", 400.0)
    worst = _run(0.94, "50.00", 300.0)
    assert median_run([worst, best, middle]) is middle
    assert median_run([best, worst]) is best  # an even count: the better of the two middle ones


def test_spread_and_table_show_the_range_of_the_runs() -> None:
    runs = [_run(0.95, "100.00", 900.0), _run(0.94, "50.00", 300.0), _run(0.95, "200.00", 400)]
    result = {
        "instance": "seed",
        "items": 130,
        "time_limit": 10.0,
        "methods": {"ours": median_run(runs)},
        "runs": runs,
    }
    assert spread(result) == "3 runs: 94.00 %–95.00 %, 50–200 €, 300–900 km"
    assert spread({"runs": runs[:1]}) == ""
    header, _rule, row = readme_table([result])
    assert header.endswith("ours: range |")
    assert row.endswith("| 3 runs: 94.00 %–95.00 %, 50–200 €, 300–900 km |")
    assert "200 €" in row and "400 km" in row  # the median run's own figures
