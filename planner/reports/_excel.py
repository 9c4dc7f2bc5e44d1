"""Shared Excel layout: titles, bordered tables, widths (openpyxl)."""

from __future__ import annotations

import re

from openpyxl.styles import Alignment, Border, Font, Side
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


def header(ws, row: int, labels, *, start_col: int = 1) -> None:
    for j, label in enumerate(labels):
        c = ws.cell(row, start_col + j, label)
        c.font, c.alignment, c.border = BOLD, CENTER, BOX


def cells(ws, row: int, values, *, start_col: int = 1, bold: bool = False, align_left=()) -> None:
    for j, v in enumerate(values):
        c = ws.cell(row, start_col + j, v)
        c.border = BOX
        c.alignment = LEFT if j in align_left else CENTER
        if bold:
            c.font = BOLD


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
