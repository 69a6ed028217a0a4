"""Turning what a member typed in a cell into a value, or a French sentence saying why not.

Each parser takes a raw cell value (str, int, float, bool, date or None) and returns the
typed value or raises ValueError whose text is shown to the member after the cell address.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from coop_tender.capacity import layout as L
from coop_tender.models import MemberKind, ProviderMode, Role, check_siret

_SPACES = re.compile(r"[\s\xa0\u202f\u2009]+")
_UNITS = re.compile(r"(heures?|hrs?|h|euros?|eur|€|%|ht|ttc)$")


def show(value: object) -> str:
    """A cell value as the member sees it (1200 rather than 1200.0)."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value).replace(".", ",")
    return str(value).strip()


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def number(value: object) -> tuple[Decimal, bool]:
    """A number typed in a cell or as text ("1 200", "1200 h", "35 %", "1 234,56 €").

    Returns the number and whether a '%' sign was typed. Raises ValueError (no message)
    when it is not a number, so each caller words the error for its own kind of value.
    """
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return Decimal(value), False
    if isinstance(value, float):
        return Decimal(repr(value)), False
    if not isinstance(value, str):
        raise ValueError
    text = _SPACES.sub(" ", value).strip().lower()
    percent = "%" in text
    for _ in range(2):  # "1 234,56 € HT"
        text = _UNITS.sub("", text).strip()
    text = text.replace(" ", "").replace("'", "")
    if "," in text and "." in text:  # the last one is the decimal separator
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        text = text.replace(",", ".")
    elif re.fullmatch(r"-?\d{1,3}(\.\d{3}){2,}", text):  # 1.200.000
        text = text.replace(".", "")
    try:
        result = Decimal(text)
    except InvalidOperation:
        raise ValueError from None
    if not result.is_finite():
        raise ValueError
    return result, percent


def hours(value: object) -> int:
    try:
        amount, _ = number(value)
    except ValueError:
        raise ValueError(f"« {show(value)} » n'est pas un nombre d'heures") from None
    if amount < 0:
        raise ValueError(f"« {show(value)} » : un nombre d'heures ne peut pas être négatif")
    if amount != amount.to_integral_value():
        raise ValueError(f"« {show(value)} » : indiquez un nombre entier d'heures")
    if amount > 10_000_000:
        raise ValueError(f"« {show(value)} » : nombre d'heures trop grand")
    return int(amount)


def count(value: object) -> int:
    """A head count (staff, insertion workers)."""
    try:
        amount, _ = number(value)
    except ValueError:
        raise ValueError(f"« {show(value)} » n'est pas un nombre de personnes") from None
    if amount < 0 or amount != amount.to_integral_value():
        raise ValueError(f"« {show(value)} » : indiquez un nombre entier positif de personnes")
    if amount > 100_000:
        raise ValueError(f"« {show(value)} » : nombre de personnes trop grand")
    return int(amount)


def percent(value: object) -> float:
    """A rate typed as 35, 35 %, 0.35 or 0,35 → 0.35."""
    try:
        amount, typed_percent = number(value)
    except ValueError:
        raise ValueError(f"« {show(value)} » n'est pas un pourcentage") from None
    if typed_percent or amount > 1:
        amount = amount / 100
    if amount < 0 or amount > 1:
        raise ValueError(f"« {show(value)} » n'est pas un pourcentage entre 0 et 100")
    return float(amount)


def euros(value: object) -> Decimal:
    try:
        amount, typed_percent = number(value)
    except ValueError:
        raise ValueError(f"« {show(value)} » n'est pas un montant en euros") from None
    if typed_percent:
        raise ValueError(f"« {show(value)} » n'est pas un montant en euros")
    if amount < 0:
        raise ValueError(f"« {show(value)} » : un montant ne peut pas être négatif")
    if amount >= Decimal("1e13"):
        raise ValueError(f"« {show(value)} » : montant trop grand")
    return amount.quantize(Decimal("0.01"))


def year(value: object) -> int:
    try:
        amount, _ = number(value)
    except ValueError:
        raise ValueError(f"« {show(value)} » n'est pas une année") from None
    if amount != amount.to_integral_value() or not 1900 <= amount <= 2200:
        raise ValueError(f"« {show(value)} » n'est pas une année (par exemple 2024)")
    return int(amount)


def text(value: object, limit: int = 500) -> str:
    """Free text; a number the spreadsheet stored as a number comes back without '.0'."""
    raw = show(value)
    if len(raw) > limit:
        raise ValueError(f"texte trop long ({len(raw)} caractères, {limit} au plus)")
    return raw


def name(value: object) -> str:
    return text(value, 200)


def siret(value: object) -> str:
    raw = show(value)
    if isinstance(value, int | float) and raw.isdigit() and len(raw) < 14:
        raw = raw.zfill(14)  # a spreadsheet drops leading zeros of numbers
    return check_siret(raw)


def postcode(value: object) -> str:
    raw = _SPACES.sub("", show(value))
    if isinstance(value, int | float) and raw.isdigit() and len(raw) == 4:
        raw = raw.zfill(5)
    if not re.fullmatch(r"\d{5}", raw):
        raise ValueError(f"« {show(value)} » n'est pas un code postal (5 chiffres)")
    return raw


def phone(value: object) -> str:
    raw = show(value)
    if isinstance(value, int | float) and raw.isdigit() and len(raw) == 9:
        raw = "0" + raw  # 0148123456 typed as a number
    return raw


def email(value: object) -> str:
    raw = show(value)
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", raw):
        raise ValueError(f"« {raw} » n'est pas une adresse e-mail")
    return raw


def yes_no(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    word = L.normalize(show(value))
    if word in ("oui", "o", "x", "yes", "y", "vrai", "true", "1"):
        return True
    if word in ("non", "n", "no", "faux", "false", "0", "-"):
        return False
    raise ValueError(f"« {show(value)} » : répondez oui ou non")


_KINDS = {L.normalize(label): kind for kind, label in L.KIND_LABELS.items()} | {
    "other": MemberKind.OTHER,
    "entreprise d'insertion": MemberKind.EI,
    "atelier et chantier d'insertion": MemberKind.ACI,
    "atelier chantier d'insertion": MemberKind.ACI,
    "association intermediaire": MemberKind.AI,
    "entreprise de travail temporaire d'insertion": MemberKind.ETTI,
    "entreprise d'insertion par le travail independant": MemberKind.EITI,
    "regie de quartier": MemberKind.OTHER,
}


def kind(value: object) -> MemberKind:
    found = _KINDS.get(L.normalize(show(value)))
    if found is None:
        raise ValueError(
            f"« {show(value)} » n'est pas un type de structure reconnu "
            "(EI, ACI, AI, ETTI, EITI ou autre)"
        )
    return found


def role(value: object) -> Role:
    word = L.normalize(show(value)).replace("-", "")
    if word.startswith(("cotrait", "co trait", "mandataire")):
        return Role.COCONTRACTOR
    if word.startswith(("prestataire", "mise a disposition", "soustrait", "sous trait")):
        return Role.PROVIDER
    raise ValueError(f"« {show(value)} » n'est pas un rôle reconnu (cotraitant ou prestataire)")


def mode(value: object) -> ProviderMode:
    word = L.normalize(show(value)).replace("-", " ").replace("_", " ")
    if word.startswith(("mise a disposition", "mad")):
        return ProviderMode.MISE_A_DISPOSITION
    if word.startswith(("sous traitance", "sous traitant")):
        return ProviderMode.SOUS_TRAITANCE
    raise ValueError(
        f"« {show(value)} » n'est pas un mode reconnu (mise à disposition ou sous-traitance)"
    )
