"""What every XLSX output of Köprü shares: the header style, and a save in which no delivered text is a formula.

openpyxl stores any string that begins with `=` as a formula, so a delivered value such as
`=HYPERLINK("http://…"&A2,"…")` (a mahalle name, an ISAS rejection reason) would become a live formula in the
directorate's workbook. `save` writes every text cell as text, whatever it begins with.
"""

from __future__ import annotations

from pathlib import Path


def _style_header(cell) -> None:
    from openpyxl.styles import Font, PatternFill

    cell.font = Font(bold=True, color="FFFFFF")
    cell.fill = PatternFill("solid", fgColor="0B4F6C")


def _style_note(cell) -> None:
    from openpyxl.styles import Font

    cell.font = Font(bold=True, color="B3261E")


def header_row(sheet) -> None:
    for cell in sheet[1]:
        _style_header(cell)


def save(book, path: Path, sample_note: str | None = None) -> None:
    """Save `book` with every string cell typed as a string (never a formula); the file is readable by its owner
    only, as every output that may carry a family's detail. `sample_note`: said on every sheet, beside its header
    and in its printed header, when the figures come from generated data."""
    for sheet in book.worksheets:
        if sample_note:
            _style_note(sheet.cell(1, sheet.max_column + 1, sample_note))
            sheet.oddHeader.center.text = sample_note
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.data_type != "s":
                    cell.data_type = "s"
    book.save(path)
    Path(path).chmod(0o600)


EXCEL_ROWS = 1_048_576  # the most rows a sheet holds, its header included


class StreamedBook:
    """A workbook written row by row (openpyxl's write-only mode), so that memory stays bounded however long a list
    is: a sheet whose rows pass Excel's limit goes on in continuation sheets ("… (2)"), each with its header. Every
    text is typed as text (never a formula), numbers with decimals as `#,##0.00`, days as `DD.MM.YYYY`; the file is
    readable by its owner only; `sample_note` is said on every sheet, as `save` does."""

    def __init__(self, sample_note: str | None = None, rows_per_sheet: int = EXCEL_ROWS - 1):
        from openpyxl import Workbook

        self.book = Workbook(write_only=True)
        self.sample_note = sample_note
        self.rows_per_sheet = rows_per_sheet

    def sheet(self, title: str, header: list[str], rows, widths: list[float] | None = None) -> int:
        """Write `rows` (any iterable of lists) under `header`; returns how many sheets it took."""
        sheets, current, written = 0, None, 0
        for row in rows:
            if current is None or written == self.rows_per_sheet:
                sheets += 1
                current = self._new_sheet(title if sheets == 1 else f"{title} ({sheets})", header, widths)
                written = 0
            current.append([self._cell(current, value) for value in row])
            written += 1
        if current is None:
            self._new_sheet(title, header, widths)
            sheets = 1
        return sheets

    def _new_sheet(self, title: str, header: list[str], widths: list[float] | None):
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.utils import get_column_letter

        sheet = self.book.create_sheet(title)
        for index, width in enumerate(widths or [18] * len(header), start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        cells = []
        for text in header:
            cell = WriteOnlyCell(sheet, value=text)
            _style_header(cell)
            cells.append(cell)
        if self.sample_note:
            note = WriteOnlyCell(sheet, value=self.sample_note)
            _style_note(note)
            cells.append(note)
            sheet.oddHeader.center.text = self.sample_note
        sheet.append(cells)
        return sheet

    @staticmethod
    def _cell(sheet, value):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            cell.data_type = "s"
        elif isinstance(value, float):
            cell.number_format = "#,##0.00"
        elif hasattr(value, "year"):
            cell.number_format = "DD.MM.YYYY"
        return cell

    def write_to(self, path: Path) -> None:
        self.book.save(path)
        Path(path).chmod(0o600)
