"""Exact money: euros as `Decimal` with two places, integer cents for the solver, French display."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

CENT = Decimal("0.01")
NNBSP = "\u202f"  # French thousands separator
NBSP = "\xa0"  # between the amount and the euro sign


def to_euros(value: object) -> Decimal:
    """Parse a number of euros (int, str, Decimal or float) to a Decimal rounded to the cent.

    Floats go through `repr` so that 0.1 stays 0.10 and not 0.1000000000000000055.
    French strings ("1 234,56 €") are accepted too, because members type them.
    """
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, bool):
        raise ValueError("un montant ne peut pas être vrai/faux")
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.replace("€", "").replace("\u202f", "").replace("\xa0", "").replace(" ", "")
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"« {value} » n'est pas un montant en euros") from None
    else:
        raise ValueError(f"« {value!r} » n'est pas un montant en euros")
    if not amount.is_finite():
        raise ValueError(f"« {value} » n'est pas un montant en euros")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def to_cents(amount: Decimal) -> int:
    """Euros to integer cents (exact for amounts already rounded to the cent)."""
    return int(to_euros(amount) * 100)


def from_cents(cents: int) -> Decimal:
    """Integer cents back to euros."""
    return (Decimal(cents) / 100).quantize(CENT)


def format_euros(amount: Decimal | int | float | str) -> str:
    """French display: `1 234,56 €` (narrow no-break space as thousands separator)."""
    value = to_euros(amount)
    sign = "-" if value < 0 else ""
    units, cents = f"{abs(value):.2f}".split(".")
    groups = []
    while units:
        groups.insert(0, units[-3:])
        units = units[:-3]
    return f"{sign}{NNBSP.join(groups)},{cents}{NBSP}€"


Euros = Annotated[
    Decimal,
    BeforeValidator(to_euros),
    PlainSerializer(lambda d: str(d), return_type=str, when_used="json"),
]
"""A money field: exact to the cent, serialised in JSON as a string ("1234.50")."""
