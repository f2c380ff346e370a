"""The public transparency report (plan activity 5: share with the public how aid is given): the process, and the
number of families aided by mahalle and aid type in each half-year, with statistical disclosure control.

Disclosure control: no cell between 1 and 10 is shown (primary suppression), and complementary suppression makes
sure no published total can give a suppressed cell back: in every row and column (totals included) that has a
suppressed cell, at least two cells are suppressed, so no single equation has a single unknown. No personal data:
only counts of families, from the marts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kopru import warehouse
from kopru.periods import local_now

MIN_SHOWN = 11  # counts from 1 to 10 are never shown
SUPPRESSED = "<11"

PROCESS_TR = [
    ("Başvuru", "Aileler Sosyal Destek Hizmetleri Müdürlüğüne, e-Belediye üzerinden veya muhtarlık aracılığıyla "
                "başvurur; başvuru hane kaydı olarak açılır."),
    ("İnceleme", "Sosyal inceleme görevlisi haneyi ziyaret eder; gelir, kira, hane büyüklüğü ve özel durumlarla "
                 "0–100 arası ihtiyaç puanı ve 1–5 ihtiyaç düzeyi belirlenir. İnceleme düzenli olarak yenilenir."),
    ("Karar ve yardım", "Yardım türü ve sıklığı ihtiyaç düzeyine göre belirlenir: sosyal kart, gıda, yakacak, "
                        "eğitim, kira, sağlık yardımları ve Sosyal Market."),
    ("Kurumlar arası işbirliği", "Devlet (SYDV) ve ortak sivil toplum kuruluşlarının yardımları aynı aileyle "
                                 "eşleştirilir; mükerrer yardım ve yardım alamayan ihtiyaç sahipleri izlenir."),
    ("Kayıt", "Her belediye yardımı Bütünleşik Sosyal Yardım Bilgi Sistemine (ISAS) girilir."),
    ("İstihdam", "Çalışabilir durumdaki yararlanıcılar İŞKUR'a yönlendirilir; geçerli mazereti olmadan üç kez iş "
                 "teklifini reddedenlerin yardımı bir yıl boyunca kademeli olarak azaltılır."),
]


@dataclass
class Table:
    """Counts with row and column totals; `suppressed` holds (row, column) positions, totals included as
    (row, None), (None, column) and (None, None)."""

    rows: list[str]
    columns: list[str]
    cells: dict[tuple[str, str], int]
    suppressed: set = field(default_factory=set)

    def value(self, row, column) -> int:
        if row is None and column is None:
            return sum(self.cells.values())
        if row is None:
            return sum(self.cells.get((r, column), 0) for r in self.rows)
        if column is None:
            return sum(self.cells.get((row, c), 0) for c in self.columns)
        return self.cells.get((row, column), 0)

    def equations(self) -> list[list[tuple]]:
        """Each published total with the positions it sums: [total position, part positions…]."""
        equations = [[(row, None)] + [(row, c) for c in self.columns] for row in self.rows]
        equations += [[(None, column)] + [(r, column) for r in self.rows] for column in self.columns]
        equations.append([(None, None)] + [(r, None) for r in self.rows])
        equations.append([(None, None)] + [(None, c) for c in self.columns])
        return equations

    def shown(self, row, column):
        return SUPPRESSED if (row, column) in self.suppressed else self.value(row, column)


def protect(table: Table) -> Table:
    positions = [(r, c) for r in [*table.rows, None] for c in [*table.columns, None]]
    table.suppressed = {p for p in positions if 1 <= table.value(*p) < MIN_SHOWN}
    changed = True
    while changed:
        changed = False
        for equation in table.equations():
            hidden = [p for p in equation if p in table.suppressed]
            if len(hidden) != 1:
                continue
            candidates = [p for p in equation if p not in table.suppressed]
            if not candidates:
                continue
            # The smallest cell that is not zero costs the least information; a zero only if nothing else is left.
            candidates.sort(key=lambda p: (table.value(*p) == 0, table.value(*p), p[1] is None or p[0] is None))
            table.suppressed.add(candidates[0])
            changed = True
    return table


def fetch(year: int) -> dict[str, Table]:
    with warehouse.connect() as conn:
        rows = conn.execute(
            """select households.mahalle_name, aid.half_year, catalogue.name_tr, count(distinct aid.household_key)
               from marts.fct_aid aid
               join marts.dim_household households using (household_key)
               join seeds.aid_type_catalogue catalogue using (aid_type)
               where aid.half_year like %s
               group by 1, 2, 3""",
            (f"{year}-H%",),
        ).fetchall()
    tables: dict[str, Table] = {}
    for mahalle, half_year, aid_name, families in rows:
        table = tables.setdefault(half_year, Table([], [], {}))
        table.cells[(mahalle, aid_name)] = families
    for table in tables.values():
        table.rows = sorted({r for r, _ in table.cells})
        table.columns = sorted({c for _, c in table.cells})
    return {half: protect(table) for half, table in sorted(tables.items())}


def render(year: int, out_dir: Path) -> dict[str, str]:
    from kopru.reports.render import templates, write_html_and_pdf

    tables = fetch(year)
    html = templates().get_template("kamuoyu.html.j2").render(
        year=year, tables=tables, process=PROCESS_TR, suppressed_mark=SUPPRESSED, min_shown=MIN_SHOWN,
        generated_at=local_now().strftime("%d.%m.%Y"),
    )
    paths = write_html_and_pdf(html, Path(out_dir), f"kamuoyu_raporu_{year}")
    _write_xlsx(paths["xlsx"], tables)
    return {k: str(v) for k, v in paths.items()}


def _write_xlsx(path: Path, tables: dict[str, Table]) -> None:
    from openpyxl import Workbook

    from kopru.reports import xlsx

    book = Workbook()
    book.remove(book.active)
    for half_year, table in tables.items():
        sheet = book.create_sheet(half_year)
        sheet.append(["Mahalle", *table.columns, "Toplam"])
        xlsx.header_row(sheet)
        for row in table.rows:
            sheet.append([row, *(table.shown(row, c) for c in table.columns), table.shown(row, None)])
        sheet.append(["Toplam", *(table.shown(None, c) for c in table.columns), table.shown(None, None)])
        sheet.column_dimensions["A"].width = 24
    xlsx.save(book, path)
