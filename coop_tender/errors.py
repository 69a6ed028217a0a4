"""Errors a user can act on. The CLI prints them on one line and exits with code 2; no traceback."""

from __future__ import annotations

from pydantic import ValidationError

EXIT_USAGE = 2


class UserError(Exception):
    """A problem with what the user gave us (a file, a URL, a cell), stated so they can fix it.

    `problems` holds every individual problem when there are several (e.g. each bad DQE row);
    `str(error)` is the one-line summary.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


_FRENCH = {
    "missing": "champ obligatoire manquant",
    "extra_forbidden": "champ inconnu",
    "int_parsing": "n'est pas un nombre entier",
    "int_type": "n'est pas un nombre entier",
    "int_from_float": "doit être un nombre entier",
    "float_parsing": "n'est pas un nombre",
    "float_type": "n'est pas un nombre",
    "decimal_parsing": "n'est pas un montant",
    "greater_than_equal": "est trop petit (minimum {ge})",
    "greater_than": "doit être supérieur à {gt}",
    "less_than_equal": "est trop grand (maximum {le})",
    "less_than": "doit être inférieur à {lt}",
    "string_too_short": "ne peut pas être vide",
    "string_too_long": "est trop long",
    "string_pattern_mismatch": "contient des caractères non autorisés",
    "enum": "n'est pas une valeur permise ({expected})",
    "literal_error": "n'est pas une valeur permise ({expected})",
    "date_parsing": "n'est pas une date (AAAA-MM-JJ)",
    "date_from_datetime_parsing": "n'est pas une date (AAAA-MM-JJ)",
    "datetime_parsing": "n'est pas une date et heure",
    "timezone_aware": "doit préciser le fuseau horaire",
    "list_type": "doit être une liste",
    "dict_type": "doit être un tableau de valeurs",
    "bool_parsing": "doit être oui ou non",
    "json_invalid": "n'est pas du JSON valide",
}


def describe_validation_error(error: ValidationError, prefix: str = "") -> list[str]:
    """Turn a pydantic ValidationError into French sentences, one per problem, naming the field."""
    lines = []
    for err in error.errors(include_url=False):
        where = ".".join(str(part) for part in err["loc"])
        template = _FRENCH.get(err["type"])
        if err["type"] in ("value_error", "assertion_error"):
            text = str(err.get("ctx", {}).get("error", err["msg"]))
        elif template:
            try:
                text = template.format(**err.get("ctx", {}))
            except (KeyError, IndexError):
                text = template
            value = err.get("input")
            if isinstance(value, str | int | float) and err["type"] not in ("missing",):
                text = f"« {value} » {text}"
        else:
            text = err["msg"]
        lines.append(f"{prefix}{where} : {text}" if where else f"{prefix}{text}")
    return lines
