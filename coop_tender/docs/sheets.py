"""Small openpyxl helpers shared by the work-split workbooks: typed cells, headers, widths."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

EURO = '#,##0.00 "€"'
HOURS = '#,##0 "h"'
PERCENT = "0.0%"
KM = '0.0 "km"'
HEADER_FILL = PatternFill("solid", fgColor="DBE4EF")
TOTAL_FILL = PatternFill("solid", fgColor="F1F4F8")
BOLD = Font(bold=True)


class Sheet:
    """A worksheet written row by row, remembering column widths."""

    def __init__(self, ws: Worksheet) -> None:
        self.ws = ws
        self.widths: dict[int, int] = {}

    def put(self, row: int, col: int, value: object, fmt: str | None = None) -> None:
        """A value (text is always text: a member's `=…` never becomes a formula)."""
        if isinstance(value, float | int | Decimal) and not isinstance(value, bool):
            cell = self.ws.cell(row, col, value)
        else:
            text = "" if value is None else str(value)
            cell = self.ws.cell(row, col, text or None)
            if text:
                cell.data_type = "s"
        if fmt:
            cell.number_format = fmt
        self._width(col, value, fmt)

    def formula(self, row: int, col: int, formula: str, fmt: str | None = None) -> None:
        cell = self.ws.cell(row, col, formula)
        if fmt:
            cell.number_format = fmt
        self._width(col, "0" * 14, None)

    def header(self, columns: list[str], row: int = 1) -> None:
        for col, title in enumerate(columns, start=1):
            self.put(row, col, title)
            cell = self.ws.cell(row, col)
            cell.font = BOLD
            cell.fill = HEADER_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    def total_style(self, row: int, last_col: int) -> None:
        for col in range(1, last_col + 1):
            cell = self.ws.cell(row, col)
            cell.font = BOLD
            cell.fill = TOTAL_FILL

    def table(self, last_row: int, last_col: int, first_row: int = 1) -> None:
        """Freeze the header, filter the data rows."""
        self.ws.freeze_panes = self.ws.cell(first_row + 1, 1)
        self.ws.auto_filter.ref = f"A{first_row}:{get_column_letter(last_col)}{max(last_row, 2)}"

    def fit(self) -> None:
        """Column widths that fit their content; printed landscape, one page wide."""
        self.ws.page_setup.orientation = "landscape"
        self.ws.page_setup.paperSize = self.ws.PAPERSIZE_A4
        self.ws.page_setup.fitToWidth = 1
        self.ws.page_setup.fitToHeight = 0
        self.ws.sheet_properties.pageSetUpPr.fitToPage = True
        for col, width in self.widths.items():
            self.ws.column_dimensions[get_column_letter(col)].width = min(max(width + 2, 8), 60)

    def _width(self, col: int, value: object, fmt: str | None) -> None:
        size = len(str(value or "")) + (4 if fmt in (EURO, HOURS) else 0)
        self.widths[col] = max(self.widths.get(col, 0), size)


def to_bytes(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
