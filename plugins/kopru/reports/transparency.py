"""The public transparency report (plan activity 5: share with the public how aid is given): the process, and the
number of families aided by mahalle and aid type in each half-year, with statistical disclosure control.

Disclosure control: no count from 1 to 10 is shown (primary suppression). Complementary suppression then hides
more cells until no combination of the published totals gives a hidden cell back: the table is audited as an
attacker would, by linear programming over every row, column and grand-total equation (hidden cells unknown and
non-negative), and every hidden cell's feasible interval must be at least PROTECTION_WIDTH wide; a cell that is
narrower gets another cell of its row or column hidden, the smallest first, and the audit runs again. Every hidden
cell is marked the same neutral way, whether small or hidden to protect another, so the mark tells nothing.
No personal data: only counts of families, from the marts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kopru import warehouse
from kopru.ingest import origin
from kopru.periods import Period, local_now

MIN_SHOWN = 11  # counts from 1 to 10 are never shown
# An attacker who solves the published equations must not pin a hidden cell down to fewer than this many values:
# the width of the range "1 to 10" that hiding a small count already concedes.
PROTECTION_WIDTH = MIN_SHOWN - 1
SUPPRESSED = "•"  # the same for a small count and for a cell hidden to protect one

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
    """Primary suppression of the small counts, the cheap complementary rule (no equation with a single hidden
    cell), then the linear-programming audit, suppressing more until every hidden cell passes it."""
    positions = [(r, c) for r in [*table.rows, None] for c in [*table.columns, None]]
    table.suppressed = {p for p in positions if 1 <= table.value(*p) < MIN_SHOWN}
    _no_lone_hidden_cell(table)
    while weak := [p for p, (low, high) in feasible_intervals(table).items() if high - low < PROTECTION_WIDTH]:
        # One more hidden cell beside each weak one (a round of LPs costs far more than a cell too many).
        for target in sorted(weak, key=_position_order):
            sharing = {q for equation in table.equations() if target in equation for q in equation}
            candidates = [q for q in sharing if q not in table.suppressed] or \
                [q for q in positions if q not in table.suppressed]
            if candidates:
                table.suppressed.add(min(candidates, key=lambda q: _suppression_cost(table, q)))
        if len(table.suppressed) == len(positions):
            break  # everything is hidden: nothing is published that could give a cell back
        _no_lone_hidden_cell(table)
    return table


def _position_order(position: tuple) -> tuple:
    return tuple("" if part is None else str(part) for part in position)


def _suppression_cost(table: Table, position: tuple) -> tuple:
    """The smallest cell that is not zero costs the least information; a zero only if nothing else is left; a
    total last."""
    value = table.value(*position)
    return (value == 0, value, position[0] is None or position[1] is None, _position_order(position))


def _no_lone_hidden_cell(table: Table) -> None:
    """No equation may have exactly one hidden cell: it would give it back by subtraction."""
    changed = True
    while changed:
        changed = False
        for equation in table.equations():
            hidden = [p for p in equation if p in table.suppressed]
            candidates = [p for p in equation if p not in table.suppressed]
            if len(hidden) == 1 and candidates:
                table.suppressed.add(min(candidates, key=lambda q: _suppression_cost(table, q)))
                changed = True


def feasible_intervals(table: Table) -> dict[tuple, tuple[float, float]]:
    """For each hidden cell, the least and greatest value it can take given everything published: two linear
    programs per cell over the table's equations, hidden cells non-negative (an attacker knows no more)."""
    import numpy as np
    from scipy.optimize import linprog

    hidden = sorted(table.suppressed, key=_position_order)
    if not hidden:
        return {}
    index = {position: i for i, position in enumerate(hidden)}
    rows, rhs = [], []
    for total, *parts in table.equations():
        coefficients, constant = np.zeros(len(hidden)), 0.0
        for sign, position in [(1.0, total), *((-1.0, part) for part in parts)]:
            if position in index:
                coefficients[index[position]] += sign
            else:
                constant -= sign * table.value(*position)
        if coefficients.any():
            rows.append(coefficients)
            rhs.append(constant)
    intervals = {}
    for position, i in index.items():
        objective = np.zeros(len(hidden))
        objective[i] = 1.0
        bounds = []
        for sense in (1.0, -1.0):
            result = linprog(sense * objective, A_eq=np.array(rows), b_eq=np.array(rhs), bounds=(0, None),
                             method="highs")
            bounds.append(sense * result.fun if result.status == 0 else (0.0 if sense > 0 else float("inf")))
        intervals[position] = (bounds[0], bounds[1])
    return intervals


def fetch(year: int) -> dict[str, Table]:
    from kopru.reports.render import mahalle_name

    with warehouse.connect(role="reporter") as conn:
        rows = conn.execute(
            """select aid.mahalle_code, aid.half_year, catalogue.name_tr, aid.aided_families
               from marts.fct_aid_mahalle_half_year aid
               join seeds.aid_type_catalogue catalogue using (aid_type)
               where aid.half_year = any(%s) and aid.mahalle_code is not null""",
            ([str(half) for half in Period(year, None).half_years],),
        ).fetchall()
    tables: dict[str, Table] = {}
    for mahalle_code, half_year, aid_name, families in rows:
        table = tables.setdefault(half_year, Table([], [], {}))
        table.cells[(mahalle_name(mahalle_code), aid_name)] = families
    for table in tables.values():
        table.rows = sorted({r for r, _ in table.cells})
        table.columns = sorted({c for _, c in table.cells})
    return {half: protect(table) for half, table in sorted(tables.items())}


def render(year: int, out_dir: Path) -> dict[str, str]:
    from kopru.reports.render import institution_names, templates, write_html_and_pdf

    tables = fetch(year)
    with warehouse.connect(role="reporter") as conn:
        sample_note = origin.SAMPLE_NOTE_TR if origin.holds_generated(conn) else None
        names = institution_names()
        institutions = [names.get(code, code) for (code,) in conn.execute(
            "select institution from marts.rpt_aid_by_institution_period where period = %s order by 1", (str(year),))]
    html = templates().get_template("kamuoyu.html.j2").render(
        year=year, tables=tables, process=PROCESS_TR, suppressed_mark=SUPPRESSED, min_shown=MIN_SHOWN,
        generated_at=local_now().strftime("%d.%m.%Y"), institutions=institutions, sample_note=sample_note,
    )
    paths = write_html_and_pdf(html, Path(out_dir), f"kamuoyu_raporu_{year}")
    _write_xlsx(paths["xlsx"], tables, sample_note)
    return {k: str(v) for k, v in paths.items()}


def _write_xlsx(path: Path, tables: dict[str, Table], sample_note: str | None) -> None:
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
    xlsx.save(book, path, sample_note)
