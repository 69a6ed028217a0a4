"""HTML to PDF with WeasyPrint: the print layout lives in templates/dossier/dossier.css."""

from __future__ import annotations

from functools import cache

from weasyprint import CSS, HTML

from coop_tender.docs.documents import CSS as CSS_PATH
from coop_tender.docs.documents import TEMPLATES


@cache
def _stylesheet() -> CSS:
    return CSS(filename=str(CSS_PATH))


def render_pdf(html: str) -> bytes:
    """The PDF bytes of one rendered document."""
    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf(stylesheets=[_stylesheet()])
