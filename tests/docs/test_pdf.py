"""The dossier's PDFs read back with pdftotext, first pages rendered to PNG for a person to see."""

from __future__ import annotations

import re
import subprocess
from decimal import Decimal
from pathlib import Path

from coop_tender.docs.french import euros_in_words
from coop_tender.money import format_euros
from tests.conftest import require_binary
from tests.docs import sample
from tests.docs.conftest import Built, pdf_text, plain

AMOUNT = re.compile(r"(\d{1,3}(?: \d{3})*,\d{2}) €")
EXPECTED_STEMS = [
    "01-lettre-candidature-DC1",
    "02-DC2-peintres",
    "02-DC2-script",
    "02-DC2-tpl",
    "02-DC2-st-nord",
    "03-mise-a-disposition-ai-est",
    "03-DC4-st-nord",
    "04-annexe-repartition-ATTRI1",
    "05-convention-de-groupement",
    "06-synthese-coordinateur",
]


def _euros(text: str) -> Decimal:
    return Decimal(text.replace(" ", "").replace(",", "."))


def _cocontractors() -> dict[str, object]:
    members = {m.id: m for m in sample.problem().members}
    return {mid: members[mid] for mid in sample.expected_values()}


def test_every_document_is_written_as_pdf_and_docx(built: Built) -> None:
    dossier = built.out / "dossier"
    for stem in EXPECTED_STEMS:
        for suffix in (".pdf", ".docx"):
            path = dossier / f"{stem}{suffix}"
            assert path in built.paths, path
            assert path.stat().st_size > 1000
    assert (dossier / "01-lettre-candidature-DC1.pdf").read_bytes().startswith(b"%PDF")
    assert built.out / "repartition.xlsx" in built.paths
    for mid in ("peintres", "script", "tpl", "ai-est", "st-nord"):
        assert built.out / "membres" / f"{mid}.xlsx" in built.paths
    assert not list(built.out.rglob("*.tmp")), "a temporary file was left behind"
    assert not (dossier / "02-DC2-ancien-membre.pdf").exists(), "stale form left to sign"
    assert not (built.out / "membres" / "ancien-membre.xlsx").exists()
    assert (dossier / "notes.txt").read_text(encoding="utf-8") == "ancien"


def test_dc1_and_attri1_list_each_member_siret_and_amount(built: Built) -> None:
    values = sample.expected_values()
    for stem in ("01-lettre-candidature-DC1", "04-annexe-repartition-ATTRI1"):
        text = pdf_text(built.out / "dossier" / f"{stem}.pdf")
        for mid, member in _cocontractors().items():
            lines = [line for line in text.splitlines() if member.siret in line]
            assert lines, f"{stem}: SIRET of {mid} missing"
            assert any(plain(format_euros(values[mid])) in line for line in lines), (
                f"{stem}: {mid}'s amount is not on its SIRET's line"
            )


def test_attri1_amounts_add_up_to_the_offer_to_the_cent(built: Built) -> None:
    text = pdf_text(built.out / "dossier" / "04-annexe-repartition-ATTRI1.pdf")
    offer = sum(sample.expected_values().values())
    sirets = [m.siret for m in _cocontractors().values()]
    rows = [line for line in text.splitlines() if any(s in line for s in sirets)]
    assert len(rows) == 3
    parsed = [_euros(AMOUNT.findall(line)[-1]) for line in rows]
    assert sum(parsed) == offer
    total_line = next(line for line in text.splitlines() if "Montant total de l'offre HT" in line)
    assert _euros(AMOUNT.findall(total_line)[-1]) == offer
    flat = " ".join(text.split())
    assert euros_in_words(offer) in flat


def test_convention_mentions_each_member_and_the_rules(built: Built) -> None:
    text = pdf_text(built.out / "dossier" / "05-convention-de-groupement.pdf")
    flat = " ".join(text.split())
    for member in _cocontractors().values():
        assert member.name in flat
    for heading in (
        "Objet",
        "Composition",
        "Mandataire",
        "Répartition des travaux et du prix",
        "Paiement",
        "Comité de pilotage",
        "Défaillance",
        "Retrait",
        "Évaluation annuelle",
        "Durée",
        "Litiges",
    ):
        assert heading in flat, heading
    assert "paie directement chaque membre" in flat
    assert "relançant le calcul de répartition sans ce membre" in flat


def test_summary_is_one_page_with_the_social_clause(built: Built) -> None:
    path = built.out / "dossier" / "06-synthese-coordinateur.pdf"
    flat = " ".join(pdf_text(path).split())
    assert "1 300 h pour 600 h exigées" in flat
    assert "clause respectée" in flat
    assert "Équité du chiffre d'affaires" in flat and "optimalité non prouvée" in flat
    assert "capacité insuffisante en été" in flat
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
    assert re.search(r"Pages:\s+1\b", info), info


def test_provider_documents_follow_the_provider_mode(built: Built) -> None:
    mad = " ".join(pdf_text(built.out / "dossier" / "03-mise-a-disposition-ai-est.pdf").split())
    assert "Contrôle de la limite de 480 heures" in mad
    assert "470 h" in mad and "conforme" in mad  # 120 + 200 + 150 hours lent
    dc4 = " ".join(pdf_text(built.out / "dossier" / "03-DC4-st-nord.pdf").split())
    ht = Decimal("32.10") * 30
    ttc = (ht * Decimal("1.2")).quantize(Decimal("0.01"))
    assert plain(format_euros(ht)) in dc4 and plain(format_euros(ttc)) in dc4
    assert euros_in_words(ttc) in dc4
    assert "bénéficie du paiement direct" in dc4  # 1 155,60 € TTC ≥ 600 €
    assert "2 mois" in dc4  # the summer period, July to August


def test_hostile_member_names_print_as_text(built: Built) -> None:
    for stem in ("01-lettre-candidature-DC1", "05-convention-de-groupement"):
        text = pdf_text(built.out / "dossier" / f"{stem}.pdf")
        assert sample.SCRIPT_NAME in text.replace("\n", "")
        assert sample.TEMPLATE_NAME in text
        assert "alert(1)" in text


def test_first_pages_render_to_png(built: Built, artifacts_dir: Path) -> None:
    require_binary("pdftoppm")
    target = artifacts_dir / "dossier"
    target.mkdir(exist_ok=True)
    for stem in EXPECTED_STEMS:
        prefix = target / stem
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "60",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(built.out / "dossier" / f"{stem}.pdf"),
                str(prefix),
            ],
            check=True,
        )
        png = prefix.with_suffix(".png")
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size > 5000
