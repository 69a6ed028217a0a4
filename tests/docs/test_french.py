"""French display: amounts in words as the forms ask, dates, hours."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from coop_tender.docs.french import date_fr, euros_in_words, hours, number_in_words, percent


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("1234.56", "mille deux cent trente-quatre euros et cinquante-six centimes"),
        ("1", "un euro"),
        ("0.01", "zéro euro et un centime"),
        ("21", "vingt et un euros"),
        ("71", "soixante et onze euros"),
        ("80", "quatre-vingts euros"),
        ("81", "quatre-vingt-un euros"),
        ("91", "quatre-vingt-onze euros"),
        ("200", "deux cents euros"),
        ("201", "deux cent un euros"),
        ("80000", "quatre-vingt mille euros"),
        ("200000", "deux cent mille euros"),
        ("1000000", "un million d'euros"),
        ("2300000.10", "deux millions trois cent mille euros et dix centimes"),
        (
            "75829.20",
            "soixante-quinze mille huit cent vingt-neuf euros et vingt centimes",
        ),
    ],
)
def test_amounts_in_words(amount: str, words: str) -> None:
    assert euros_in_words(Decimal(amount)) == words


def test_number_in_words_large() -> None:
    assert number_in_words(1_001_017) == "un million mille dix-sept"
    assert number_in_words(3_000_000_000) == "trois milliards"


def test_dates_hours_percent() -> None:
    assert date_fr(date(2026, 11, 22)) == "22 novembre 2026"
    assert date_fr(date(2027, 8, 1)) == "1er août 2027"
    assert date_fr(None) == "—"
    assert hours(12480) == "12\u202f480\xa0h"
    assert percent(0.125) == "12,5\xa0%"


def test_deadline_is_shown_in_paris_time() -> None:
    from datetime import UTC, datetime

    from coop_tender.docs.french import datetime_fr

    # 23:30 UTC on 14 January is already the 15th in Paris
    assert (
        datetime_fr(datetime(2027, 1, 14, 23, 30, tzinfo=UTC)) == "15 janvier 2027 à 0\xa0h\xa030"
    )
    assert date_fr(datetime(2027, 1, 14, 23, 30, tzinfo=UTC)) == "15 janvier 2027"
