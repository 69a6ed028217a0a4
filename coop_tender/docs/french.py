"""French display for the dossier: amounts, hours, percentages, dates and amounts in words."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from coop_tender.geo import communes_93
from coop_tender.money import NBSP, NNBSP, format_euros, to_euros

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)

PARIS = ZoneInfo("Europe/Paris")
_UNITS = [
    "zéro",
    "un",
    "deux",
    "trois",
    "quatre",
    "cinq",
    "six",
    "sept",
    "huit",
    "neuf",
    "dix",
    "onze",
    "douze",
    "treize",
    "quatorze",
    "quinze",
    "seize",
    "dix-sept",
    "dix-huit",
    "dix-neuf",
]
_TENS = {2: "vingt", 3: "trente", 4: "quarante", 5: "cinquante", 6: "soixante"}


def euros(amount: Decimal | int | float | str | None) -> str:
    """`1 234,56 €`, or an em dash when there is no amount."""
    return "—" if amount is None else format_euros(amount)


def integer(value: float | int) -> str:
    """A whole number with French thousands separators: `12 480`."""
    text = f"{round(value):,}"
    return text.replace(",", NNBSP)


def hours(value: float | int) -> str:
    """`1 234 h`."""
    return f"{integer(value)}{NBSP}h"


def percent(value: float, digits: int = 1) -> str:
    """`12,5 %` from 0.125."""
    return f"{value * 100:.{digits}f}".replace(".", ",") + f"{NBSP}%"


def decimal_fr(value: float, digits: int = 1) -> str:
    """`12,5` from 12.5."""
    return f"{value:,.{digits}f}".replace(",", NNBSP).replace(".", ",")


def date_fr(value: date | datetime | None) -> str:
    """`22 novembre 2026` (and `1er` for the first of the month); an em dash when absent."""
    if value is None:
        return "—"
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(PARIS)
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {MONTHS[value.month - 1]} {value.year}"


def datetime_fr(value: datetime | None) -> str:
    """`15 janvier 2027 à 12 h 00`, in Paris time (the buyer's clock)."""
    if value is None:
        return "—"
    if value.tzinfo is not None:
        value = value.astimezone(PARIS)
    return f"{date_fr(value)} à {value.hour}{NBSP}h{NBSP}{value.minute:02d}"


def _below_100(n: int) -> str:
    if n < 20:
        return _UNITS[n]
    tens, unit = divmod(n, 10)
    if tens in (7, 9):  # soixante-dix…, quatre-vingt-dix…
        base = "soixante" if tens == 7 else "quatre-vingt"
        if tens == 7 and unit == 1:
            return "soixante et onze"
        return f"{base}-{_UNITS[10 + unit]}"
    if tens == 8:
        return "quatre-vingts" if unit == 0 else f"quatre-vingt-{_UNITS[unit]}"
    if unit == 0:
        return _TENS[tens]
    if unit == 1:
        return f"{_TENS[tens]} et un"
    return f"{_TENS[tens]}-{_UNITS[unit]}"


def _below_1000(n: int, final: bool) -> str:
    """Words for 0 < n < 1000; `final` when nothing follows (cents take an s only then)."""
    hundreds, rest = divmod(n, 100)
    parts = []
    if hundreds:
        if hundreds == 1:
            parts.append("cent")
        else:
            plural = rest == 0 and final
            parts.append(f"{_UNITS[hundreds]} cent{'s' if plural else ''}")
    if rest:
        text = _below_100(rest)
        if not final and text.endswith("quatre-vingts"):
            text = text[:-1]  # quatre-vingt mille
        parts.append(text)
    return " ".join(parts)


def number_in_words(n: int) -> str:
    """A whole number in French words (traditional spelling): 1234 → `mille deux cent…`."""
    if n < 0:
        return "moins " + number_in_words(-n)
    if n == 0:
        return "zéro"
    parts = []
    for size, singular, plural in (
        (1_000_000_000, "milliard", "milliards"),
        (1_000_000, "million", "millions"),
    ):
        count, n = divmod(n, size)
        if count:
            parts.append(f"{number_in_words(count)} {singular if count == 1 else plural}")
    thousands, n = divmod(n, 1000)
    if thousands:
        parts.append("mille" if thousands == 1 else f"{_below_1000(thousands, False)} mille")
    if n:
        parts.append(_below_1000(n, True))
    return " ".join(parts)


def euros_in_words(amount: Decimal | int | float | str) -> str:
    """`mille deux cent trente-quatre euros et cinquante-six centimes`."""
    value = to_euros(amount)
    sign = "moins " if value < 0 else ""
    cents_total = int(abs(value) * 100)
    units, cents = divmod(cents_total, 100)
    words = number_in_words(units)
    if units in (0, 1):
        text = f"{words} euro"
    elif words.endswith(("million", "millions", "milliard", "milliards")):
        text = f"{words} d'euros"
    else:
        text = f"{words} euros"
    if cents:
        text += f" et {number_in_words(cents)} centime{'s' if cents > 1 else ''}"
    return sign + text


def commune(value: str | None) -> str:
    """A commune as an address shows it: its name for an INSEE code we know, else as given."""
    if not value:
        return ""
    code = value.strip()
    return next((row["nom"] for row in communes_93() if row["insee"] == code), value)
