"""The editable DOCX version of a document, converted from the same rendered HTML as the PDF.

Only the small HTML vocabulary the dossier templates use is understood: h1–h3, p, ul/li,
table/tr/th/td (with colspan), strong/em, br, and the classes `no-docx` (skipped) and
`page-break`. Text is unescaped by the parser, so member text lands in Word exactly as typed.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from docx import Document as new_document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.text.paragraph import Paragraph

_VOID = {"br", "meta", "link", "img", "hr"}
_SPACES = re.compile(r"[ \t\r\n\f]+")  # not \s: French non-breaking spaces stay


@dataclass
class _Cell:
    runs: list[tuple[str, bool, bool]] = field(default_factory=list)
    header: bool = False
    numeric: bool = False
    span: int = 1


class _Converter(HTMLParser):
    def __init__(self, document) -> None:
        super().__init__(convert_charrefs=True)
        self.doc = document
        self.par: Paragraph | None = None
        self.bold = 0
        self.italic = 0
        self.skip = 0
        self.rows: list[list[_Cell]] | None = None
        self.cell: _Cell | None = None
        self.effects: list[tuple[str, bool, bool]] = []
        styles = document.styles  # looked up once: python-docx's lookup by name is slow
        self.styles = {name: styles[name] for name in ("List Bullet", "Table Grid")}
        self.styles.update({f"h{n}": styles[f"Heading {n}"] for n in (1, 2, 3, 4)})

    # -- structure
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if self.skip:
            self.skip += tag not in _VOID
            return
        if "no-docx" in classes or tag in ("title", "style", "script", "head"):
            self.skip = 1
            return
        if "page-break" in classes:
            self.doc.add_page_break()
        if tag in ("h1", "h2", "h3", "h4"):
            self.par = self.doc.add_paragraph(style=self.styles[tag])
        elif tag == "p":
            self.par = self.doc.add_paragraph()
        elif tag == "li":
            self.par = self.doc.add_paragraph(style=self.styles["List Bullet"])
        elif tag == "table":
            self.rows = []
        elif tag == "tr" and self.rows is not None:
            self.rows.append([])
        elif tag in ("td", "th") and self.rows is not None:
            span = int(dict(attrs).get("colspan") or 1)
            self.cell = _Cell(header=tag == "th", numeric="num" in classes, span=span)
            self.rows[-1].append(self.cell)
        elif tag == "br":
            self._text("\n")
        if tag in _VOID:
            return
        bold = tag in ("strong", "b") or (tag == "tr" and "total" in classes)
        italic = tag == "em" or "words" in classes
        self.bold += bold
        self.italic += italic
        self.effects.append((tag, bold, italic))

    def handle_endtag(self, tag: str) -> None:
        if self.skip:
            self.skip -= 1
            return
        if tag in ("h1", "h2", "h3", "h4", "p", "li"):
            self.par = None
        elif tag in ("td", "th"):
            self.cell = None
        elif tag == "table" and self.rows is not None:
            self._emit_table(self.rows)
            self.rows = None
        while self.effects:
            opened, bold, italic = self.effects.pop()
            self.bold -= bold
            self.italic -= italic
            if opened == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        self._text(_SPACES.sub(" ", data))

    # -- text
    def _text(self, text: str) -> None:
        if self.cell is not None:
            bold = bool(self.bold) or self.cell.header
            self.cell.runs.append((text, bold, bool(self.italic)))
            return
        if self.rows is not None:
            return  # whitespace between cells
        if self.par is None:
            if not text.strip():
                return
            self.par = self.doc.add_paragraph()
        if not self.par.runs:
            text = text.lstrip()
        if text == "\n":
            self.par.add_run().add_break()
        elif text:
            run = self.par.add_run(text)
            run.bold = bool(self.bold) or None
            run.italic = bool(self.italic) or None

    def _emit_table(self, rows: list[list[_Cell]]) -> None:
        rows = [r for r in rows if r]
        if not rows:
            return
        width = max(sum(c.span for c in r) for r in rows)
        table = self.doc.add_table(rows=len(rows), cols=width)
        table.style = self.styles["Table Grid"]
        for r, row in enumerate(rows):
            cells = table.rows[r].cells  # once per row: table.cell() is linear in the table size
            col = 0
            for cell in row:
                target = cells[col]
                if cell.span > 1:
                    target = target.merge(cells[min(col + cell.span, width) - 1])
                _fill(target.paragraphs[0], cell)
                col += cell.span
        self.doc.add_paragraph()


def _fill(par: Paragraph, cell: _Cell) -> None:
    first = True
    for text, bold, italic in cell.runs:
        if text == "\n":
            par.add_run().add_break()
            first = True
            continue
        if first:
            text = text.lstrip()
        if not text:
            continue
        first = False
        run = par.add_run(text)
        run.bold = bold or None
        run.italic = italic or None
        run.font.size = Pt(8.5)
    if cell.numeric:
        par.alignment = WD_ALIGN_PARAGRAPH.RIGHT


def _page_number_footer(document, header_text: str) -> None:
    section = document.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21)
    section.left_margin = section.right_margin = Cm(1.8)
    section.top_margin, section.bottom_margin = Cm(2.2), Cm(2)
    section.header.paragraphs[0].text = header_text
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    footer.add_run("Page ")
    run = footer.add_run()
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)


def render_docx(html: str, header_text: str) -> bytes:
    """The DOCX bytes of one rendered document."""
    document = new_document()
    style = document.styles["Normal"]
    style.font.name = "DejaVu Sans"
    style.font.size = Pt(9.5)
    _page_number_footer(document, header_text)
    converter = _Converter(document)
    converter.feed(html)
    converter.close()
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
