"""The consortium's work-split workbook (repartition.xlsx): real formulas, so totals move.

Sheets: Synthèse, Par site, Par territoire et période, Mises à disposition, Répartition AE,
Paramètres. Per-member figures are SUMIFs over the site and lending lines, so a coordinator
who moves a site to another member sees every total follow.
"""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill

from coop_tender.docs.context import STATUS_LABELS, Dossier
from coop_tender.docs.sheets import EURO, HOURS, KM, PERCENT, Sheet, to_bytes
from coop_tender.models import STAGE_LABELS, ProviderMode

SITES = "'Par site'"
LENDING = "'Mises à disposition'"
COCONTRACTOR = "co-traitant"
OUTSIDE_FILL = PatternFill("solid", fgColor="F8C9C9")


def _mode_label(mode: ProviderMode) -> str:
    return "sous-traitance" if mode is ProviderMode.SOUS_TRAITANCE else "mise à disposition"


def _sites(wb: Workbook, d: Dossier) -> int:
    """'Par site': one row per site, assigned or not; returns the last data row."""
    s = Sheet(wb.create_sheet("Par site"))
    cols = ["Site", "Libellé", "Lot", "Membre", "Territoire", "Période", "Heures", "Valeur HT"]
    s.header([*cols, "Nom du membre", "Commune"])
    owner = d.allocation.member_of()
    names = {m.id: m.name for m in d.problem.members}
    order = {p.id: n for n, p in enumerate(d.tender.periods)}
    items = sorted(
        d.tender.items, key=lambda i: (i.lot, i.territory, order.get(i.period, 0), i.period, i.id)
    )
    for row, item in enumerate(items, start=2):
        who = owner.get(item.id)
        values = [item.id, item.label, item.lot, who, item.territory, item.period]
        for col, value in enumerate(values, start=1):
            s.put(row, col, value)
        s.put(row, 7, item.hours, HOURS)
        s.put(row, 8, item.value, EURO)
        s.put(row, 9, names.get(who or "", "non attribué"))
        s.put(row, 10, item.commune)
    last = len(items) + 1
    total = last + 1
    s.put(total, 1, "Total")
    s.formula(total, 7, f"=SUM(G2:G{last})", HOURS)
    s.formula(total, 8, f"=SUM(H2:H{last})", EURO)
    s.total_style(total, 10)
    s.table(last, 10)
    s.fit()
    return last


def _lending(wb: Workbook, d: Dossier) -> None:
    """'Mises à disposition': provider → co-contractor → period → hours, cost = hours × rate."""
    s = Sheet(wb.create_sheet("Mises à disposition"))
    s.header(
        [
            "Prestataire",
            "Nom du prestataire",
            "Mode",
            "Co-traitant",
            "Période",
            "Heures",
            "Taux horaire HT",
            "Coût HT",
            "Nom du co-traitant",
        ]
    )
    row = 1
    for p in d.providers:
        for line in p.lines:
            row += 1
            s.put(row, 1, p.member.id)
            s.put(row, 2, p.member.name)
            s.put(row, 3, _mode_label(p.mode))
            s.put(row, 4, line.cocontractor.id)
            s.put(row, 5, line.period.id)
            s.put(row, 6, line.hours, HOURS)
            s.put(row, 7, p.member.hourly_rate or 0, EURO)
            s.formula(row, 8, f"=F{row}*G{row}", EURO)
            s.put(row, 9, line.cocontractor.name)
    total = row + 1
    s.put(total, 1, "Total")
    s.formula(total, 6, f"=SUM(F2:F{max(row, 2)})", HOURS)
    s.formula(total, 8, f"=SUM(H2:H{max(row, 2)})", EURO)
    s.total_style(total, 9)
    s.table(row, 9)
    s.fit()


def _summary(wb: Workbook, d: Dossier) -> None:
    """'Synthèse': per member hours, value, share, target, window, insertion, distance, chart."""
    s = Sheet(wb.active)
    s.ws.title = "Synthèse"
    s.header(
        [
            "Membre",
            "Nom",
            "Rôle",
            "Heures",
            "Valeur HT",
            "Part",
            "Part cible",
            "Fenêtre min",
            "Fenêtre max",
            "Valeur cible HT",
            "Écart à la cible",
            "Heures d'insertion",
            "Distance",
            "Explication",
        ]
    )
    nc, np_ = len(d.cocontractors), len(d.providers)
    first, last_c = 2, 1 + nc
    last = 1 + nc + np_
    total_c, total_p = last + 1, last + 2
    rows = [(c.member, c.result, COCONTRACTOR) for c in d.cocontractors]
    rows += [(p.member, p.result, f"prestataire ({_mode_label(p.mode)})") for p in d.providers]
    for row, (member, result, role) in enumerate(rows, start=first):
        s.put(row, 1, member.id)
        s.put(row, 2, member.name)
        s.put(row, 3, role)
        if role == COCONTRACTOR:
            s.formula(row, 4, f"=SUMIF({SITES}!D:D,A{row},{SITES}!G:G)", HOURS)
            s.formula(row, 5, f"=SUMIF({SITES}!D:D,A{row},{SITES}!H:H)", EURO)
            s.formula(row, 6, f"=IF($E${total_c}=0,0,E{row}/$E${total_c})", PERCENT)
            s.formula(row, 10, f"=G{row}*$E${total_c}", EURO)
        else:
            s.formula(row, 4, f"=SUMIF({LENDING}!A:A,A{row},{LENDING}!F:F)", HOURS)
            s.formula(row, 5, f"=SUMIF({LENDING}!A:A,A{row},{LENDING}!H:H)", EURO)
            s.formula(row, 6, f"=IF($D${total_p}=0,0,D{row}/$D${total_p})", PERCENT)
        if result is not None:
            s.put(row, 7, result.target, PERCENT)
            s.put(row, 8, result.window[0], PERCENT)
            s.put(row, 9, result.window[1], PERCENT)
            s.formula(row, 11, f"=F{row}-G{row}", PERCENT)
            s.put(row, 12, result.insertion_hours, HOURS)
            s.put(row, 13, result.distance_km, KM)
            text = " ".join(result.explanation)
            s.put(row, 14, text)
            s.ws.cell(row, 14).alignment = Alignment(wrap_text=True, vertical="top")
            s.ws.row_dimensions[row].height = min(13 * max(1, -(-len(text) // 75)), 400)
    member_rows = f"{first}:{max(last, first)}"
    for row, label, criterion in (
        (total_c, "Total co-traitants", f'"{COCONTRACTOR}"'),
        (total_p, "Total prestataires", f'"<>{COCONTRACTOR}"'),
    ):
        s.put(row, 1, label)
        lo, hi = member_rows.split(":")
        for col, letter, fmt in ((4, "D", HOURS), (5, "E", EURO), (12, "L", HOURS)):
            s.formula(row, col, f"=SUMIF(C{lo}:C{hi},{criterion},{letter}{lo}:{letter}{hi})", fmt)
        s.total_style(row, 14)
    s.table(last, 14)
    s.fit()
    s.ws.column_dimensions["N"].width = 80  # explanations wrap at ~75 characters
    if last >= first:
        s.ws.conditional_formatting.add(
            f"A{first}:K{last}",
            FormulaRule(
                formula=[
                    f'AND($H{first}<>"",OR($F{first}<$H{first}-0.000001,'
                    f"$F{first}>$I{first}+0.000001))"
                ],
                fill=OUTSIDE_FILL,
                font=Font(color="9C0006"),
            ),
        )
    if nc:
        chart = BarChart()
        chart.type = "col"
        chart.title = "Valeur par co-traitant et valeur cible"
        chart.y_axis.title = "€ HT"
        chart.y_axis.numFmt = "#,##0"
        chart.add_data(Reference(s.ws, min_col=5, min_row=1, max_row=last_c), titles_from_data=True)
        chart.add_data(
            Reference(s.ws, min_col=10, min_row=1, max_row=last_c), titles_from_data=True
        )
        chart.set_categories(Reference(s.ws, min_col=2, min_row=first, max_row=last_c))
        chart.width, chart.height = 22, 10
        s.ws.add_chart(chart, f"B{total_p + 3}")


def _territories(wb: Workbook, d: Dossier) -> None:
    """'Par territoire et période': demand vs declared capacity vs allocated."""
    s = Sheet(wb.create_sheet("Par territoire et période"))
    s.header(
        [
            "Territoire",
            "Nom",
            "Période",
            "Heures demandées",
            "Capacité déclarée (co-traitants du territoire)",
            "Heures attribuées",
            "Valeur demandée HT",
            "Valeur attribuée HT",
            "Couverture",
        ]
    )
    names = d.territories
    order = {p.id: n for n, p in enumerate(d.tender.periods)}
    pairs = sorted(
        {(i.territory, i.period) for i in d.tender.items},
        key=lambda tp: (tp[0], order.get(tp[1], 0), tp[1]),
    )
    cocontractors = [m for m in d.problem.members if m.role.value == "cocontractor"]
    row = 1
    for territory, period in pairs:
        row += 1
        s.put(row, 1, territory)
        s.put(row, 2, names.get(territory, territory))
        s.put(row, 3, period)
        crit = f"{SITES}!E:E,A{row},{SITES}!F:F,C{row}"
        s.formula(row, 4, f"=SUMIFS({SITES}!G:G,{crit})", HOURS)
        capacity = sum(
            m.capacity_hours.get(period, 0) for m in cocontractors if territory in m.territories
        )
        s.put(row, 5, capacity, HOURS)
        s.formula(row, 6, f'=SUMIFS({SITES}!G:G,{crit},{SITES}!D:D,"<>")', HOURS)
        s.formula(row, 7, f"=SUMIFS({SITES}!H:H,{crit})", EURO)
        s.formula(row, 8, f'=SUMIFS({SITES}!H:H,{crit},{SITES}!D:D,"<>")', EURO)
        s.formula(row, 9, f'=IF(D{row}=0,"",F{row}/D{row})', PERCENT)
    total = row + 1
    s.put(total, 1, "Total")
    for col, letter, fmt in ((4, "D", HOURS), (6, "F", HOURS), (7, "G", EURO), (8, "H", EURO)):
        s.formula(total, col, f"=SUM({letter}2:{letter}{max(row, 2)})", fmt)
    s.total_style(total, 9)
    s.table(row, 9)
    s.fit()
    s.ws.column_dimensions["E"].width = 22


def _attri1(wb: Workbook, d: Dossier) -> None:
    """'Répartition AE': the ATTRI1 B2 table, amounts from the site lines."""
    s = Sheet(wb.create_sheet("Répartition AE"))
    s.header(["Membre", "Désignation du membre", "SIRET", "Nature des prestations", "Montant HT"])
    row = 1
    for c in d.cocontractors:
        row += 1
        s.put(row, 1, c.member.id)
        s.put(row, 2, c.member.name + (" (mandataire)" if c.is_mandataire else ""))
        s.put(row, 3, c.member.siret)
        s.put(row, 4, c.services)
        s.formula(row, 5, f"=SUMIF({SITES}!D:D,A{row},{SITES}!H:H)", EURO)
    total = row + 1
    s.put(total, 1, "Total")
    s.put(total, 2, "Montant total de l'offre HT")
    s.formula(total, 5, f"=SUM(E2:E{max(row, 2)})", EURO)
    s.total_style(total, 5)
    s.table(row, 5)
    s.fit()


TARGET_LABELS = {"capacity": "au prorata des heures déclarées", "equal": "parts égales"}


def _parameters(wb: Workbook, d: Dossier) -> None:
    """'Paramètres': the policy used, the solver's status, its stages and bounds."""
    s = Sheet(wb.create_sheet("Paramètres"))
    s.header(["Paramètre", "Valeur"])
    a, policy = d.allocation, d.problem.policy
    target = "parts fixées par membre"
    if isinstance(policy.target, str):
        target = TARGET_LABELS.get(policy.target, policy.target)
    facts: list[tuple[str, object, str | None]] = [
        ("Référence", d.tender.reference, None),
        ("Acheteur", d.tender.buyer, None),
        ("Groupement", d.config.groupement, None),
        ("Mandataire", d.mandataire.member.name if d.mandataire else "", None),
        ("Statut de la répartition", STATUS_LABELS.get(a.status, a.status), None),
        ("Solveur", a.solver, None),
        ("Calculée le", a.computed_at.isoformat() if a.computed_at else "", None),
        ("Valeur de tous les sites HT", a.total_value, EURO),
        ("Valeur couverte HT (offre)", a.covered_value, EURO),
        ("Heures d'insertion prévues", a.insertion_hours, HOURS),
        ("Clause sociale (heures d'insertion exigées)", d.insertion_hours_min, HOURS),
        ("Règle : part cible", target, None),
        ("Règle : tolérance d'équité", policy.fairness_tolerance, PERCENT),
        ("Règle : dépendance maximale", policy.max_dependency, PERCENT),
        ("Règle : part maximale d'un prestataire", policy.max_provider_share, PERCENT),
        ("Règle : part minimale d'un prestataire", policy.min_provider_share, PERCENT),
        ("Règle : distance maximale (km)", policy.max_distance_km, KM),
        ("Règle : heures par salarié mis à disposition", policy.ai_max_hours_per_worker, HOURS),
        ("Règle : sites imposés", len(policy.pins), None),
        ("Règle : sites interdits", len(policy.forbids), None),
    ]
    if isinstance(policy.target, dict):
        facts += [(f"Part cible de {m}", v, PERCENT) for m, v in sorted(policy.target.items())]
    row = 1
    for label, value, fmt in facts:
        row += 1
        s.put(row, 1, label)
        s.put(row, 2, "aucune" if value is None else value, fmt if value is not None else None)
    row += 2
    for col, title in enumerate(["Étape", "Statut", "Valeur", "Borne", "Unité", "Durée (s)"], 1):
        s.put(row, col, title)
        s.ws.cell(row, col).font = Font(bold=True)
    for stage in a.stages:
        row += 1
        s.put(row, 1, STAGE_LABELS.get(stage.name, stage.name))
        s.put(row, 2, STATUS_LABELS.get(stage.status, stage.status))
        s.put(row, 3, stage.value)
        s.put(row, 4, stage.bound)
        s.put(row, 5, stage.unit)
        s.put(row, 6, round(stage.seconds, 2))
    row += 2
    s.put(row, 1, "Explications")
    s.ws.cell(row, 1).font = Font(bold=True)
    for sentence in a.explanation:
        row += 1
        s.put(row, 1, sentence)
    s.ws.freeze_panes = "A2"
    s.fit()
    s.ws.column_dimensions["A"].width = 48
    s.ws.column_dimensions["B"].width = 30


def workbook_bytes(d: Dossier) -> bytes:
    """repartition.xlsx as bytes."""
    wb = Workbook()
    _summary(wb, d)
    _sites(wb, d)
    _territories(wb, d)
    _lending(wb, d)
    _attri1(wb, d)
    _parameters(wb, d)
    return to_bytes(wb)
