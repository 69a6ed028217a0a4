"""The dossier's documents as HTML: one Jinja2 environment (autoescaped) and the list to render.

Member text only ever reaches the templates as data, so a name like `{{ 7*7 }}` or `<script>`
prints as typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from coop_tender.docs import french
from coop_tender.docs.context import (
    KIND_LABELS,
    STATUS_LABELS,
    VAT_RATE,
    Dossier,
    ProviderView,
    outside_window,
)
from coop_tender.models import STAGE_LABELS, Member, Period, ProviderMode

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "dossier"
CSS = TEMPLATES / "dossier.css"


@dataclass
class Document:
    """One document of the dossier: its file stem, title and rendered HTML."""

    stem: str
    title: str
    html: str


def _stage_figure(value: float | None, unit: str) -> str:
    """A stage's value or bound: euros as euros, anything else with its unit."""
    if value is None:
        return "—"
    if unit.strip() in ("€", "EUR", "euros"):
        return french.euros(Decimal(repr(value)))
    return f"{french.decimal_fr(value)} {unit}".strip()


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        euros=french.euros,
        words=french.euros_in_words,
        hours=french.hours,
        percent=french.percent,
        number=french.decimal_fr,
        date_fr=french.date_fr,
        datetime_fr=french.datetime_fr,
        commune=french.commune,
    )
    env.globals.update(
        kind_label=lambda kind: KIND_LABELS.get(str(kind), str(kind)),
        stage_label=lambda name: STAGE_LABELS.get(name, name),
        status_label=lambda status: STATUS_LABELS.get(status, status),
        period_label=lambda p: p.label or p.id,
        stage_figure=_stage_figure,
        outside_window=outside_window,
        vat=float(VAT_RATE),
    )
    return env


def _render(template: str, d: Dossier, title: str, subtitle: str, **extra: object) -> str:
    return (
        environment()
        .get_template(template)
        .render(d=d, doc_title=title, doc_subtitle=subtitle, compact=False, **extra)
    )


def _periods_of(p: ProviderView, cocontractor: Member) -> str:
    periods: list[Period] = [
        line.period for line in p.lines if line.cocontractor.id == cocontractor.id
    ]
    return ", ".join(dict.fromkeys(period.label or period.id for period in periods))


def documents(d: Dossier) -> list[Document]:
    """Every document of the dossier, in the order of its file names."""
    reference = f"Consultation {d.tender.reference}"
    territories = d.territories
    docs = [
        Document(
            "01-lettre-candidature-DC1",
            "Lettre de candidature (DC1)",
            _render(
                "dc1.html",
                d,
                "Lettre de candidature — groupement d'opérateurs économiques",
                f"{reference} — structure du formulaire DC1, sections A à G",
            ),
        )
    ]
    dc2_members: list[tuple[Member, object, object]] = [
        (c.member, c, None) for c in d.cocontractors
    ]
    dc2_members += [
        (p.member, None, p) for p in d.providers if p.mode is ProviderMode.SOUS_TRAITANCE
    ]
    for member, c, provider in dc2_members:
        docs.append(
            Document(
                f"02-DC2-{member.id}",
                f"Déclaration du candidat (DC2) — {member.name}",
                _render(
                    "dc2.html",
                    d,
                    f"Déclaration du candidat — {member.name}",
                    f"{reference} — structure du formulaire DC2",
                    m=member,
                    c=c,
                    provider=provider,
                    turnover_rows=sorted(member.turnover_history.items(), reverse=True)[:3],
                    territory_names=lambda ids: ", ".join(territories.get(t, t) for t in ids),
                ),
            )
        )
    for p in d.providers:
        if p.mode is ProviderMode.SOUS_TRAITANCE:
            title = f"Déclaration de sous-traitance (DC4) — {p.member.name}"
            html = _render(
                "dc4.html",
                d,
                title,
                f"{reference} — structure du formulaire DC4",
                p=p,
                periods_of=_periods_of,
            )
        else:
            title = f"Mise à disposition de personnel — {p.member.name}"
            html = _render(
                "mise_a_disposition.html",
                d,
                title,
                f"{reference} — calendrier des heures et contrôle des 480 heures",
                p=p,
                limit_per_worker=d.problem.policy.ai_max_hours_per_worker,
            )
        docs.append(Document(p.document, title, html))
    docs += [
        Document(
            "04-annexe-repartition-ATTRI1",
            "Annexe de répartition (ATTRI1 B2)",
            _render(
                "attri1.html",
                d,
                "Acte d'engagement — annexe de répartition des prestations",
                f"{reference} — structure de l'ATTRI1, section B2 "
                f"(groupement {d.config.groupement})",
            ),
        ),
        Document(
            "05-convention-de-groupement",
            "Convention de groupement",
            _render(
                "convention.html",
                d,
                f"Convention de groupement {d.config.groupement}",
                f"{reference} — {d.tender.buyer or ''}",
            ),
        ),
        Document(
            "06-synthese-coordinateur",
            "Synthèse pour la coordination",
            environment()
            .get_template("synthese.html")
            .render(
                d=d,
                outside=d.outside,
                doc_title="Synthèse de la répartition",
                doc_subtitle=f"{reference} — pour la coordination du réseau",
                compact=True,
            ),
        ),
    ]
    return docs
