"""Shared Excel layout: titles, bordered tables, widths (openpyxl)."""

from __future__ import annotations

import re

from openpyxl.styles import Alignment, Border, Font, NamedStyle, Side
from openpyxl.utils import get_column_letter

THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
TITLE = Font(bold=True, size=16)
BOLD = Font(bold=True)


def title(ws, row: int, text: str, ncols: int) -> None:
    ws.cell(row, 1, text).font = TITLE
    ws.cell(row, 1).alignment = CENTER
    if ncols > 1:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
    ws.row_dimensions[row].height = 30


def _styles(wb) -> None:
    """Register the table styles once per workbook (a named style per cell is far
    cheaper than a border, font and alignment each)."""
    if "zf_cell" in wb.named_styles:
        return
    for name, font, align in (("zf_cell", Font(), CENTER), ("zf_left", Font(), LEFT), ("zf_bold", BOLD, CENTER),
                              ("zf_bold_left", BOLD, LEFT)):
        wb.add_named_style(NamedStyle(name=name, font=font, alignment=align, border=BOX))


def header(ws, row: int, labels, *, start_col: int = 1) -> None:
    _styles(ws.parent)
    for j, label in enumerate(labels):
        ws.cell(row, start_col + j, label).style = "zf_bold"


def cells(ws, row: int, values, *, start_col: int = 1, bold: bool = False, align_left=()) -> None:
    _styles(ws.parent)
    for j, v in enumerate(values):
        left = j in align_left
        ws.cell(row, start_col + j, v).style = ("zf_bold" if bold else "zf_cell") if not left else \
            ("zf_bold_left" if bold else "zf_left")


def widths(ws, values) -> None:
    for j, w in enumerate(values, 1):
        ws.column_dimensions[get_column_letter(j)].width = w


_BAD = re.compile(r"[\[\]\*\?/\\:]")


def sheet_name(text: str, used: set) -> str:
    """A valid, unique sheet name (≤ 31 characters, no []*?/\\:)."""
    base = _BAD.sub("_", str(text))[:31] or "表"
    name, i = base, 2
    while name in used:
        suffix = f"({i})"
        name, i = base[:31 - len(suffix)] + suffix, i + 1
    used.add(name)
    return name


def period_text(start, end) -> str:
    return f"{start:%Y年%m月%d日}至{end:%Y年%m月%d日}"
