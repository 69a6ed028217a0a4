"""Integer fairness windows: exact when the common denominator fits, else rounded inward with a
conservative bound (checked against exact rational arithmetic)."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from coop_tender.allocation.model import exact_excess, fairness_windows

TOL = Fraction(2, 100)


@given(st.lists(st.integers(1, 10_000), min_size=2, max_size=6), st.data())
def test_exact_windows_give_the_exact_excess(caps: list[int], data: st.DataObject) -> None:
    shares = [Fraction(c, sum(caps)) for c in caps]
    amounts = data.draw(st.lists(st.integers(0, 10**9), min_size=len(caps), max_size=len(caps)))
    w = fairness_windows(shares, TOL, 10**10)
    assert w.exact
    assert Fraction(w.excess(amounts, sum(amounts)), w.unit) == exact_excess(shares, TOL, amounts)


@given(st.lists(st.integers(1, 10**6), min_size=2, max_size=6), st.data())
def test_coarse_windows_overstate_and_bound_conservatively(
    weights: list[int], data: st.DataObject
) -> None:
    # Shares with large coprime denominators and a huge total force the coarse fallback.
    shares = [Fraction(wt, sum(weights)) * Fraction(10**9 + 7, 10**9 + 9) for wt in weights]
    total_max = 10**15
    w = fairness_windows(shares, TOL, total_max)
    amounts = data.draw(
        st.lists(st.integers(0, 10**14), min_size=len(shares), max_size=len(shares))
    )
    real = exact_excess(shares, TOL, amounts)
    model = w.excess(amounts, sum(amounts))
    if not w.exact:
        assert Fraction(model, w.unit) >= real  # the model never understates an excess
        assert w.real_bound(model, total_max) <= real  # its bound never overstates the optimum
    else:
        assert Fraction(model, w.unit) == real
