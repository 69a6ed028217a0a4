"""The member's web form: a declaration shown as form values, and submitted values read back.

What the member types is read with the same parsers as the xlsx form (so "1 200 h", "35 %" or
"1 234,56 €" are understood alike) and validated by the `Member` model; every problem becomes a
French sentence attached to the field it concerns, and the values typed are kept for redisplay.
Fields a member does not type (id, role, coordinates…) come from its current declaration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from coop_tender.capacity.layout import dc2_years
from coop_tender.errors import describe_validation_error
from coop_tender.models import Member, MemberKind

KIND_LABELS = {
    MemberKind.EI: "Entreprise d'insertion (EI)",
    MemberKind.ACI: "Atelier et chantier d'insertion (ACI)",
    MemberKind.AI: "Association intermédiaire (AI)",
    MemberKind.ETTI: "Entreprise de travail temporaire d'insertion (ETTI)",
    MemberKind.EITI: "Entreprise d'insertion par le travail indépendant (EITI)",
    MemberKind.OTHER: "Autre",
}

TEXT_FIELDS = {
    "name": "Nom de la structure",
    "siret": "SIRET",
    "legal_form": "Forme juridique",
    "address": "Adresse",
    "postcode": "Code postal",
    "commune": "Commune",
    "representative": "Représentant légal",
    "representative_title": "Qualité du représentant",
    "email": "Courriel",
    "phone": "Téléphone",
    "insurance": "Assurance (compagnie et numéro de police)",
}
OPTIONAL_TEXT = set(TEXT_FIELDS) - {"name", "siret"}


@dataclass
class FormState:
    """What the form shows: values (as typed), errors per field, and errors about the whole."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)


def turnover_years(member: Member | None, current_year: int) -> list[int]:
    """The three years the DC2 asks the turnover of: the same as the xlsx form's."""
    return dc2_years(dict(member.turnover_history) if member else {}, current_year)


def _show_euros(value: Decimal | None) -> str:
    """`650 000,00`: how a French member writes an amount (read back by the same parser)."""
    if value is None:
        return ""
    return f"{value:,.2f}".replace(",", " ").replace(".", ",")


def values_of(member: Member, years: list[int]) -> dict[str, Any]:
    """The form values showing a declaration."""
    values: dict[str, Any] = {name: getattr(member, name) or "" for name in TEXT_FIELDS}
    values |= {
        "kind": member.kind.value,
        "trades": list(member.trades),
        "trades_other": "",
        "territories": list(member.territories),
        "workers": str(member.workers),
        "insertion_rate": f"{member.insertion_rate * 100:g}",
        "annual_turnover": _show_euros(member.annual_turnover),
        "hourly_rate": _show_euros(member.hourly_rate),
        "declined": member.declined,
    }
    values |= {f"hours:{p}": str(h) for p, h in member.capacity_hours.items()}
    values |= {f"turnover:{y}": _show_euros(member.turnover_history.get(y)) for y in years}
    return values


def _parsers() -> dict[str, Callable[[object], Any]]:
    from coop_tender.capacity import parse

    return {
        "hours": parse.hours,
        "count": parse.count,
        "percent": parse.percent,
        "euros": parse.euros,
    }


def read_form(
    form: dict[str, Any], base: Member, periods: list[str], years: list[int]
) -> tuple[Member | None, FormState]:
    """Read submitted values over `base`; the new Member, or None and the errors to show."""
    parse = _parsers()
    state = FormState(values=dict(form))
    data = base.model_dump()

    def number(name: str, kind: str, empty: Any) -> Any:
        raw = str(form.get(name, "")).strip()
        if not raw:
            return empty
        try:
            return parse[kind](raw)
        except ValueError as exc:
            state.errors[name] = str(exc)
            return empty

    for name in TEXT_FIELDS:
        raw = str(form.get(name, "")).strip()
        data[name] = raw or (None if name in OPTIONAL_TEXT else "")
        if not raw and name not in OPTIONAL_TEXT:
            state.errors[name] = "champ obligatoire : indiquez-le"
            data[name] = getattr(base, name)
    data["kind"] = form.get("kind", base.kind.value)
    other = [t.strip() for t in str(form.get("trades_other", "")).split(",") if t.strip()]
    data["trades"] = list(dict.fromkeys([*form.get("trades", []), *other]))
    data["territories"] = list(form.get("territories", []))
    hours = {p: number(f"hours:{p}", "hours", 0) for p in periods}
    kept = {p: h for p, h in base.capacity_hours.items() if p not in periods}
    data["capacity_hours"] = kept | {p: h for p, h in hours.items() if h}
    data["workers"] = number("workers", "count", 0)
    data["insertion_rate"] = number("insertion_rate", "percent", 0.0)
    turnover = number("annual_turnover", "euros", None)
    if turnover is None and "annual_turnover" not in state.errors:
        state.errors["annual_turnover"] = "indiquez le chiffre d'affaires annuel"
    data["annual_turnover"] = turnover if turnover is not None else base.annual_turnover
    data["hourly_rate"] = number("hourly_rate", "euros", None)
    history = {y: v for y, v in base.turnover_history.items() if y not in years}
    for y in years:
        amount = number(f"turnover:{y}", "euros", None)
        if amount is not None:
            history[y] = amount
    data["turnover_history"] = history
    data["declined"] = bool(form.get("declined"))

    try:
        member = Member.model_validate(data)
    except ValidationError as exc:
        for err, sentence in zip(exc.errors(), describe_validation_error(exc), strict=True):
            name = _field_name(err["loc"])
            text = sentence.split(" : ", 1)[1] if " : " in sentence and err["loc"] else sentence
            if name:
                state.errors.setdefault(name, text)
            else:
                state.general.append(text)
        return None, state
    if state.errors:
        return None, state
    return member, state


def _field_name(loc: tuple[Any, ...]) -> str | None:
    """The form field a model error location points at."""
    if not loc:
        return None
    head = str(loc[0])
    if head == "capacity_hours" and len(loc) > 1:
        return f"hours:{loc[1]}"
    if head == "turnover_history" and len(loc) > 1:
        return f"turnover:{loc[1]}"
    if head in TEXT_FIELDS or head in (
        "kind",
        "trades",
        "territories",
        "workers",
        "insertion_rate",
        "annual_turnover",
        "hourly_rate",
    ):
        return head
    return None
