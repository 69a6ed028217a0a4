"""One small workbook per member (membres/<id>.xlsx): its own sites and schedule, or for a
provider its lending schedule with the 480-hour check; totals are formulas."""

from __future__ import annotations

from openpyxl import Workbook

from coop_tender.docs.context import Dossier, MemberView, ProviderView
from coop_tender.docs.sheets import EURO, HOURS, PERCENT, Sheet, to_bytes


def _share(wb: Workbook, d: Dossier, name: str, result, value_formula: str) -> None:
    s = Sheet(wb.create_sheet("Ma part"))
    s.header(["", "Valeur"])
    rows: list[tuple[str, object, str | None]] = [
        ("Membre", name, None),
        ("Consultation", f"{d.tender.reference} — {d.tender.title or ''}", None),
        ("Groupement", d.config.groupement, None),
        ("Mandataire", d.mandataire.member.name if d.mandataire else "", None),
    ]
    for n, (label, value, fmt) in enumerate(rows, start=2):
        s.put(n, 1, label)
        s.put(n, 2, value, fmt)
    n = len(rows) + 2
    s.put(n, 1, "Montant HT")
    s.formula(n, 2, value_formula, EURO)
    if result is not None:
        for label, value, fmt in (
            ("Part", result.share, PERCENT),
            ("Part cible", result.target, PERCENT),
            ("Fenêtre d'équité (min)", result.window[0], PERCENT),
            ("Fenêtre d'équité (max)", result.window[1], PERCENT),
            ("Heures d'insertion", result.insertion_hours, HOURS),
        ):
            n += 1
            s.put(n, 1, label)
            s.put(n, 2, value, fmt)
        n += 1
        s.put(n, 1, "Pourquoi cette part")
        for sentence in result.explanation:
            n += 1
            s.put(n, 1, sentence)
    s.fit()
    s.ws.column_dimensions["A"].width = 40
    s.ws.column_dimensions["B"].width = 40


def cocontractor_bytes(d: Dossier, c: MemberView) -> bytes:
    """A co-contractor's workbook: its sites, the hours lent to it, its share."""
    wb = Workbook()
    s = Sheet(wb.active)
    s.ws.title = "Mes sites"
    s.header(["Site", "Libellé", "Lot", "Territoire", "Commune", "Période", "Heures", "Valeur HT"])
    for row, item in enumerate(c.items, start=2):
        for col, value in enumerate(
            [item.id, item.label, item.lot, item.territory, item.commune, item.period], start=1
        ):
            s.put(row, col, value)
        s.put(row, 7, item.hours, HOURS)
        s.put(row, 8, item.value, EURO)
    last = len(c.items) + 1
    s.put(last + 1, 1, "Total")
    s.formula(last + 1, 7, f"=SUM(G2:G{last})", HOURS)
    s.formula(last + 1, 8, f"=SUM(H2:H{last})", EURO)
    s.total_style(last + 1, 8)
    s.table(last, 8)
    s.fit()

    received = Sheet(wb.create_sheet("Heures reçues"))
    received.header(["Prestataire", "Mode", "Période", "Heures", "Taux horaire HT", "Coût HT"])
    row = 1
    for p in d.providers:
        for line in p.lines:
            if line.cocontractor.id != c.member.id:
                continue
            row += 1
            received.put(row, 1, p.member.name)
            received.put(row, 2, p.mode.value.replace("_", " "))
            received.put(row, 3, line.period.label or line.period.id)
            received.put(row, 4, line.hours, HOURS)
            received.put(row, 5, p.member.hourly_rate or 0, EURO)
            received.formula(row, 6, f"=D{row}*E{row}", EURO)
    received.put(row + 1, 1, "Total")
    received.formula(row + 1, 4, f"=SUM(D2:D{max(row, 2)})", HOURS)
    received.formula(row + 1, 6, f"=SUM(F2:F{max(row, 2)})", EURO)
    received.total_style(row + 1, 6)
    received.table(row, 6)
    received.fit()
    _share(wb, d, c.member.name, c.result, f"='Mes sites'!H{last + 1}")
    return to_bytes(wb)


def provider_bytes(d: Dossier, p: ProviderView) -> bytes:
    """A provider's workbook: hours lent per co-contractor and period, the 480-hour check."""
    wb = Workbook()
    s = Sheet(wb.active)
    s.ws.title = "Mises à disposition"
    s.header(["Co-traitant", "Nom", "Période", "Heures", "Taux horaire HT", "Coût HT"])
    for row, line in enumerate(p.lines, start=2):
        s.put(row, 1, line.cocontractor.id)
        s.put(row, 2, line.cocontractor.name)
        s.put(row, 3, line.period.label or line.period.id)
        s.put(row, 4, line.hours, HOURS)
        s.put(row, 5, p.member.hourly_rate or 0, EURO)
        s.formula(row, 6, f"=D{row}*E{row}", EURO)
    last = len(p.lines) + 1
    s.put(last + 1, 1, "Total")
    s.formula(last + 1, 4, f"=SUM(D2:D{last})", HOURS)
    s.formula(last + 1, 6, f"=SUM(F2:F{last})", EURO)
    s.total_style(last + 1, 6)
    s.table(last, 6)
    s.fit()

    check = Sheet(wb.create_sheet("Contrôle 480 h"))
    check.header(["Co-traitant", "Nom", "Heures", "Salariés", "Plafond", "Conforme"])
    for row, t in enumerate(p.totals, start=2):
        check.put(row, 1, t.cocontractor.id)
        check.put(row, 2, t.cocontractor.name)
        check.formula(
            row, 3, f"=SUMIF('Mises à disposition'!A:A,A{row},'Mises à disposition'!D:D)", HOURS
        )
        check.put(row, 4, t.workers)
        if t.limit is None:
            check.put(row, 5, "sans objet")
            check.put(row, 6, "oui")
        else:
            check.put(row, 5, t.limit, HOURS)
            check.formula(row, 6, f'=IF(C{row}<=E{row},"oui","non")')
    check.table(len(p.totals) + 1, 6)
    check.fit()
    _share(wb, d, p.member.name, p.result, f"='Mises à disposition'!F{last + 1}")
    return to_bytes(wb)
