"""The editable DOCX versions, read back with python-docx."""

from __future__ import annotations

from pathlib import Path

from docx import Document

from coop_tender.money import format_euros
from tests.docs import sample
from tests.docs.conftest import Built


def _text(path: Path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts += [cell.text for cell in row.cells]
    return "\n".join(parts)


def test_attri1_docx_has_members_amounts_and_total(built: Built) -> None:
    path = built.out / "dossier" / "04-annexe-repartition-ATTRI1.docx"
    text = _text(path)
    values = sample.expected_values()
    members = {m.id: m for m in sample.problem().members}
    for mid, value in values.items():
        assert members[mid].name in text
        assert members[mid].siret in text
        assert format_euros(value) in text
    assert format_euros(sum(values.values())) in text
    doc = Document(str(path))
    assert doc.paragraphs[0].style.name == "Heading 1"
    assert len(doc.tables) >= 2
    assert "2026-DEP93-042" in doc.sections[0].header.paragraphs[0].text


def test_every_docx_opens_and_escapes_nothing(built: Built) -> None:
    docs = sorted((built.out / "dossier").glob("*.docx"))
    assert len(docs) == 10
    for path in docs:
        text = _text(path)
        assert "&lt;" not in text and "&#" not in text
    dc1 = _text(built.out / "dossier" / "01-lettre-candidature-DC1.docx")
    assert sample.SCRIPT_NAME in dc1
    assert sample.TEMPLATE_NAME in dc1
    assert "G — Désignation du mandataire" in dc1
