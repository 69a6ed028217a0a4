"""The capacity form's layout, shared by the writer and the reader: sheets, labels, choices.

The reader finds everything by these labels and section headers, never by fixed cell
addresses, so a form with a renamed sheet or extra blank rows still reads.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from coop_tender.models import MemberKind, ProviderMode, Role

FORM_VERSION = "1"
META_MARKER = "coop-tender:formulaire-capacites"
LISTS_MARKER = "Listes des choix (ne pas modifier)"
INSTRUCTIONS_TITLE = "Formulaire de capacités — mode d'emploi"
MAX_BYTES = 5 * 1024 * 1024
MAX_UNZIPPED_BYTES = 60 * 1024 * 1024

SHEET_INSTRUCTIONS = "Instructions"
SHEET_IDENTITY = "Structure"
SHEET_CAPACITY = "Capacités"
SHEET_TRADES = "Métiers"
SHEET_LISTS = "Listes"
SHEET_META = "Meta"

FieldKind = Literal[
    "id", "text", "siret", "kind", "role", "mode", "participate", "int", "percent", "euros"
]


@dataclass(frozen=True)
class Field:
    """One labelled answer of the identity sheet: label in column A, answer in column B."""

    key: str
    label: str
    kind: FieldKind
    required: bool = False
    help: str = ""


FIELDS: tuple[Field, ...] = (
    Field("id", "Identifiant dans le réseau", "id", help="Rempli par le réseau, ne pas modifier."),
    Field(
        "participate",
        "Participe à cette réponse (oui/non)",
        "participate",
        help="Répondez « non » si votre structure ne souhaite pas participer cette fois.",
    ),
    Field("name", "Nom de la structure", "text", required=True),
    Field("siret", "SIRET", "siret", required=True, help="14 chiffres, sans espace."),
    Field("kind", "Type de structure", "kind", required=True, help="EI, ACI, AI, ETTI, EITI…"),
    Field(
        "role",
        "Rôle dans le groupement",
        "role",
        required=True,
        help="Cotraitant : signe le marché et prend des sites entiers. "
        "Prestataire : met des heures à disposition des cotraitants (AI, ETTI).",
    ),
    Field(
        "provider_mode",
        "Mode d'intervention (prestataires)",
        "mode",
        help="Seulement pour un prestataire : mise à disposition ou sous-traitance.",
    ),
    Field("legal_form", "Forme juridique", "text", help="Association, SARL, SCOP, SAS…"),
    Field("address", "Adresse", "text"),
    Field("postcode", "Code postal", "text", help="5 chiffres."),
    Field("commune", "Commune", "text"),
    Field("representative", "Représentant légal (nom)", "text"),
    Field("representative_title", "Qualité du représentant", "text", help="Président, gérant…"),
    Field("email", "E-mail", "text"),
    Field("phone", "Téléphone", "text"),
    Field("insurance", "Assurance (compagnie et n° de contrat)", "text"),
    Field("staff", "Effectif total (salariés)", "int"),
    Field("workers", "Salariés en insertion", "int"),
    Field("insertion_rate", "Taux d'insertion (%)", "percent", help="Par exemple 35 %."),
    Field(
        "annual_turnover",
        "Chiffre d'affaires annuel (€)",
        "euros",
        required=True,
        help="Dernier exercice clos, en euros.",
    ),
    Field(
        "hourly_rate",
        "Taux horaire d'une heure mise à disposition (€)",
        "euros",
        help="Seulement pour une association intermédiaire ou un prestataire.",
    ),
)
FIELD_BY_KEY = {f.key: f for f in FIELDS}

# Section headers (column A of a header row), normalised, and the section they open.
HEADER_IDENTITY = "Rubrique"
HEADER_TURNOVER = "Exercice"
HEADER_PERIODS = "Période"
HEADER_TERRITORIES = "Territoire"
HEADER_TRADES = "Métier"
HEADER_REFERENCES = "Référence"
Section = Literal["identity", "turnover", "periods", "territories", "trades", "references"]

KIND_LABELS: dict[MemberKind, str] = {
    MemberKind.EI: "EI",
    MemberKind.ACI: "ACI",
    MemberKind.AI: "AI",
    MemberKind.ETTI: "ETTI",
    MemberKind.EITI: "EITI",
    MemberKind.OTHER: "autre",
}
ROLE_LABELS: dict[Role, str] = {Role.COCONTRACTOR: "cotraitant", Role.PROVIDER: "prestataire"}
MODE_LABELS: dict[ProviderMode, str] = {
    ProviderMode.MISE_A_DISPOSITION: "mise à disposition",
    ProviderMode.SOUS_TRAITANCE: "sous-traitance",
}
YES, NO = "oui", "non"


def normalize(text: object) -> str:
    """Lower case, no accents, no '*', single spaces: how labels and choices are compared."""
    raw = unicodedata.normalize("NFKD", str(text))
    raw = "".join(c for c in raw if not unicodedata.combining(c))
    raw = raw.replace("*", " ").replace("’", "'").replace("\xa0", " ").replace("\u202f", " ")
    return re.sub(r"\s+", " ", raw).strip().lower()


SECTION_BY_HEADER: dict[str, Section] = {
    normalize(HEADER_IDENTITY): "identity",
    normalize(HEADER_TURNOVER): "turnover",
    normalize(HEADER_PERIODS): "periods",
    normalize(HEADER_TERRITORIES): "territories",
    normalize(HEADER_TRADES): "trades",
    normalize("Métiers"): "trades",
    normalize(HEADER_REFERENCES): "references",
    normalize("Références"): "references",
}
FIELD_BY_LABEL: dict[str, Field] = {normalize(f.label): f for f in FIELDS}


def dc2_years(known: Iterable[int], current_year: int) -> list[int]:
    """The three years whose turnover the DC2 asks, newest first: those of the member's last
    declaration when it has some (a tender answered in January still speaks of the years its
    members declared), else the three years before `current_year`; the form and the portal
    both use this, so a member sees the same years in either."""
    years = sorted(set(known), reverse=True)[:3] or [current_year - 1]
    while len(years) < 3:
        years.append(min(years) - 1)
    return years
