"""A small hand-made tender and a valid allocation for the dossier tests (no solver involved).

2 lots, 3 co-contractors (two with hostile names), 1 AI lending workers, 1 sub-contractor.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from coop_tender.models import Allocation, Member, Problem, Tender
from coop_tender.workspace import Workspace, WorkspaceConfig

SCRIPT_NAME = "<script>alert(1)</script>"
TEMPLATE_NAME = "{{ 7*7 }}"


def siret(prefix: str) -> str:
    """A Luhn-valid SIRET from its first 13 digits."""
    for last in "0123456789":
        candidate = prefix + last
        total = 0
        for i, ch in enumerate(reversed(candidate)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return candidate
    raise AssertionError(prefix)


ITEMS = [
    # id, lot, territory, period, hours, value, member
    ("c-101", "1", "est", "hiver", 320, "12345.67", "peintres"),
    ("c-102", "1", "est", "ete", 410, "15890.10", "peintres"),
    ("c-103", "1", "est", "ete", 150, "6001.99", "tpl"),
    ("c-201", "2", "nord", "hiver", 280, "11111.11", "script"),
    ("c-202", "2", "nord", "ete", 505, "20480.35", "script"),
    ("c-203", "2", "nord", "ete", 260, "9999.98", "tpl"),
    ("c-204", "2", "nord", "ete", 120, "4321.00", None),  # left unassigned
]
LENDING = [  # provider, co-contractor, period, hours
    ("ai-est", "peintres", "hiver", 120),
    ("ai-est", "peintres", "ete", 200),
    ("ai-est", "tpl", "ete", 150),
    ("st-nord", "script", "ete", 30),
]
WINDOWS = {"peintres": (0.35, 0.40)}  # 37.2 % falls inside; the others fall outside theirs
RATES = {"ai-est": Decimal("19.50"), "st-nord": Decimal("32.10")}


def member(mid: str, name: str, kind: str, role: str, n: int, **kw: object) -> Member:
    data: dict = dict(
        id=mid,
        name=name,
        siret=siret(f"8{n}12345670{n}00"[:13]),
        kind=kind,
        role=role,
        lat=48.9,
        lon=2.45,
        territories=["est", "nord"],
        trades=["peinture"],
        capacity_hours={"hiver": 600, "ete": 900},
        annual_turnover="480000",
        insertion_rate=0.6,
        workers=4,
        legal_form="Association loi 1901" if kind in ("ACI", "AI") else "SAS",
        address=f"{n} rue de la République",
        postcode="93100",
        commune="Montreuil",
        email=f"contact@{mid}.example.org",
        phone="01 48 00 00 0" + str(n),
        representative=f"Dominique Exemple{n}",
        representative_title="directrice",
        insurance="MAIF, contrat RC pro n° 123",
        turnover_history={2023: "410000", 2024: "455000", 2025: "480000"},
        staff=25,
        references=["Collèges du 93, peinture des salles de classe (2019-2024)"],
    )
    data.update(kw)
    return Member.model_validate(data)


def problem() -> Problem:
    tender = Tender.model_validate(
        dict(
            reference="2026-DEP93-042",
            buyer="Département de la Seine-Saint-Denis",
            title="Travaux de peinture dans les collèges",
            deadline="2026-12-15T12:00:00+01:00",
            reserved=True,
            social_clause=True,
            insertion_hours_min=600,
            lots=[
                dict(id="1", title="Est Ensemble", duration="24 MONTH", territory="est"),
                dict(id="2", title="Plaine Commune", duration="24 MONTH", territory="nord"),
            ],
            territories=[
                dict(id="est", name="Est Ensemble"),
                dict(id="nord", name="Plaine Commune"),
            ],
            periods=[
                dict(
                    id="hiver", label="Vacances d'hiver 2027", start="2027-02-13", end="2027-03-01"
                ),
                dict(id="ete", label="Été 2027", start="2027-07-05", end="2027-08-31"),
            ],
            items=[
                dict(
                    id=i,
                    lot=lot,
                    label=f"Collège {i.upper()}",
                    territory=t,
                    commune="93048",
                    lat=48.9,
                    lon=2.45,
                    trade="peinture",
                    period=p,
                    hours=h,
                    value=v,
                )
                for i, lot, t, p, h, v, _ in ITEMS
            ],
        )
    )
    members = [
        member("peintres", "Peintres Solidaires de l'Est", "EI", "cocontractor", 1),
        member("script", SCRIPT_NAME, "ACI", "cocontractor", 2),
        member("tpl", TEMPLATE_NAME, "EI", "cocontractor", 3),
        member("ai-est", "AI Est Emploi", "AI", "provider", 4, hourly_rate="19.50", workers=2),
        member(
            "st-nord",
            "Nord Finitions",
            "EI",
            "provider",
            5,
            hourly_rate="32.10",
            provider_mode="sous_traitance",
        ),
    ]
    return Problem(tender=tender, members=members)


def expected_values() -> dict[str, Decimal]:
    """Value per co-contractor, computed here from the table above (not by the code under test)."""
    out: dict[str, Decimal] = {}
    for *_, _hours, value, who in ITEMS:
        if who:
            out[who] = out.get(who, Decimal("0")) + Decimal(value)
    return out


def expected_hours() -> dict[str, int]:
    out: dict[str, int] = {}
    for *_, hours, _value, who in ITEMS:
        if who:
            out[who] = out.get(who, 0) + hours
    return out


def allocation() -> Allocation:
    values, hours = expected_values(), expected_hours()
    covered = sum(values.values())
    total = sum(Decimal(v) for *_, v, _ in ITEMS)
    members = []
    for mid, name in (("peintres", "Peintres"), ("script", SCRIPT_NAME), ("tpl", TEMPLATE_NAME)):
        share = float(values[mid] / covered)
        members.append(
            dict(
                member=mid,
                name=name,
                role="cocontractor",
                hours=hours[mid],
                value=values[mid],
                share=share,
                target=1 / 3,
                window=WINDOWS.get(mid, (1 / 3 - 0.02, 1 / 3 + 0.02)),
                insertion_hours=round(hours[mid] * 0.6),
                distance_km=4.2,
                dependency=float(values[mid] / 480000),
                items=[i for i, *_, who in ITEMS if who == mid],
                explanation=[f"Part de {name} : calculée sur sa capacité déclarée."],
            )
        )
    lent = {p: sum(h for q, _, _, h in LENDING if q == p) for p in RATES}
    for pid in RATES:
        members.append(
            dict(
                member=pid,
                role="provider",
                hours=lent[pid],
                lent_hours=lent[pid],
                value=RATES[pid] * lent[pid],
                share=lent[pid] / sum(lent.values()),
                target=0.5,
                window=(0.1, 0.9),
                explanation=["Heures mises à disposition selon la capacité déclarée."],
            )
        )
    return Allocation.model_validate(
        dict(
            status="feasible",
            assignments=[dict(item=i, member=who) for i, *_, who in ITEMS if who],
            provider_hours=[
                dict(provider=p, member=m, period=per, hours=h) for p, m, per, h in LENDING
            ],
            unassigned=[i for i, *_, who in ITEMS if not who],
            stages=[
                dict(name="coverage", value=6, bound=6, status="optimal", unit="sites"),
                dict(
                    name="turnover_fairness",
                    value=1234.5,
                    bound=1000.0,
                    status="feasible",
                    unit="€",
                    seconds=2.5,
                ),
                dict(name="travel", status="skipped"),
            ],
            members=members,
            explanation=["Un site n'a pas pu être attribué : capacité insuffisante en été."],
            total_value=total,
            covered_value=covered,
            insertion_hours=1300,
            insertion_hours_min=600,
            solver="hand-made",
        )
    )


def workspace(root: Path, **config: object) -> Workspace:
    cfg = dict(reference="2026-DEP93-042", groupement="conjoint", mandataire="peintres")
    cfg.update(config)
    return Workspace(root, WorkspaceConfig.model_validate(cfg))
