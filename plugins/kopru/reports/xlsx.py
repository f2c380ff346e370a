"""What every XLSX output of Köprü shares: the header style, and a save in which no delivered text is a formula.

openpyxl stores any string that begins with `=` as a formula, so a delivered value such as
`=HYPERLINK("http://…"&A2,"…")` (a mahalle name, an ISAS rejection reason) would become a live formula in the
directorate's workbook. `save` writes every text cell as text, whatever it begins with.
"""

from __future__ import annotations

from pathlib import Path


def header_row(sheet) -> None:
    from openpyxl.styles import Font, PatternFill

    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="0B4F6C")


def save(book, path: Path, sample_note: str | None = None) -> None:
    """Save `book` with every string cell typed as a string (never a formula); the file is readable by its owner
    only, as every output that may carry a family's detail. `sample_note`: said on every sheet, beside its header
    and in its printed header, when the figures come from generated data."""
    from openpyxl.styles import Font

    for sheet in book.worksheets:
        if sample_note:
            note = sheet.cell(1, sheet.max_column + 1, sample_note)
            note.font = Font(bold=True, color="B3261E")
            sheet.oddHeader.center.text = sample_note
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.data_type != "s":
                    cell.data_type = "s"
    book.save(path)
    Path(path).chmod(0o600)
