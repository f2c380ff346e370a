"""The unit's explanations of each indicator in an izleme report: why it deviates (sapma nedenleri), what was done
(alınan önlemler) and what it recommends (öneriler).

`kopru report --commentary-template --period P` writes `aciklama_<P>.xlsx` into the commentary folder
($KOPRU_HOME/commentary): one row per indicator with the period's value, target and achievement, and three empty
columns. The unit fills them in and puts the file back there under the same name; the period's report then merges
the explanations into its PDF, HTML and XLSX. An indicator below its target without an explanation shows
"açıklama girilmedi".

The file comes back from outside the warehouse, so it is read as a delivery is: bounded and in a child process
(kopru.ingest.workbook). It is taken whole or not at all: a file of another period, a code the plan does not have,
a text over MAX_TEXT characters or a number where text belongs refuses the file, and the report says why instead
of showing half of it. Text is merged as text (the XLSX writer never makes it a formula).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kopru import config

HEADER = ["Gösterge kodu", "Gösterge", "Dönem", "Gerçekleşme", "Hedef", "Gerçekleşme oranı (%)",
          "Sapma nedenleri", "Alınan önlemler", "Öneriler"]
TEXT_COLUMNS = {"Sapma nedenleri": "deviation", "Alınan önlemler": "measures", "Öneriler": "recommendations"}
MAX_TEXT = 1000
NOT_GIVEN = "açıklama girilmedi"


@dataclass
class Commentary:
    path: Path
    explanations: dict[str, dict[str, str]] = field(default_factory=dict)  # code → deviation/measures/recommendations
    problem: str | None = None  # why the file was refused, in one sentence


def folder() -> Path:
    path = config.kopru_home() / "commentary"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def file_for(period: str) -> Path:
    return folder() / f"aciklama_{period}.xlsx"


def write_template(period: str, out: Path | None = None) -> Path:
    """The period's workbook for the unit: its indicators pre-filled, the explanation columns empty (or kept from
    a file the unit already returned, so that a second template loses nothing)."""
    from openpyxl import Workbook
    from psycopg.rows import dict_row

    from kopru import warehouse
    from kopru.reports import xlsx

    with warehouse.connect(role="reporter") as conn:
        conn.row_factory = dict_row
        rows = conn.execute(
            """select f.indicator_code, p.name_tr, f.actual_value, f.target_value, f.achievement_pct
               from marts.fct_indicator_period f join seeds.plan_indicators p using (indicator_code)
               where f.period = %s order by f.indicator_code""", (period,)).fetchall()
    if not rows:
        raise LookupError(f"no indicator values for period {period} in the published marts")
    earlier = read(period)
    kept = earlier.explanations if earlier and not earlier.problem else {}
    book = Workbook()
    sheet = book.active
    sheet.title = "Açıklamalar"
    sheet.append(HEADER)
    xlsx.header_row(sheet)
    for row in rows:
        given = kept.get(row["indicator_code"], {})
        sheet.append([row["indicator_code"], row["name_tr"], period, _number(row["actual_value"]),
                      _number(row["target_value"]), _number(row["achievement_pct"]),
                      given.get("deviation", ""), given.get("measures", ""), given.get("recommendations", "")])
    for column, width in zip("ABCDEFGHI", (12, 48, 10, 14, 12, 14, 50, 50, 50), strict=True):
        sheet.column_dimensions[column].width = width
    path = Path(out) if out else file_for(period)
    xlsx.save(book, path)
    return path


def _number(value):
    return float(value) if value is not None else None


def read(period: str, path: Path | None = None) -> Commentary | None:
    """The unit's explanations for the period, validated whole; None when no file was returned."""
    from kopru.ingest.readers import FileRejected
    from kopru.ingest.workbook import first_sheet_rows

    path = path or file_for(period)
    if not path.is_file():
        return None
    commentary = Commentary(path)
    try:
        rows = first_sheet_rows(path.read_bytes(), config.ingest_limits().workbook)
    except FileRejected as rejected:
        commentary.problem = f"dosya okunamadı ({rejected.reason})"
        return commentary
    header = [str(cell).strip() if cell is not None else "" for cell in (rows[0] if rows else [])]
    missing = [name for name in ("Gösterge kodu", "Dönem", *TEXT_COLUMNS) if name not in header]
    if missing:
        commentary.problem = f"şu sütunlar yok: {', '.join(missing)}"
        return commentary
    known = _indicator_codes()
    for number, row in enumerate(rows[1:], start=2):
        cells = dict(zip(header, row, strict=False))  # a row may stop short of the header
        code = str(cells.get("Gösterge kodu") or "").strip()
        if not code and not any(cells.get(name) for name in TEXT_COLUMNS):
            continue
        if code not in known:
            commentary.problem = f"{number}. satırdaki gösterge kodu ({code[:20]!r}) planda yok"
            return commentary
        if str(cells.get("Dönem") or "").strip() != period:
            commentary.problem = f"{number}. satır {period} dönemine ait değil"
            return commentary
        texts = {}
        for name, key in TEXT_COLUMNS.items():
            value = cells.get(name)
            if value is not None and not isinstance(value, str):
                commentary.problem = f"{number}. satırın \"{name}\" hücresi metin değil"
                return commentary
            value = (value or "").strip()
            if len(value) > MAX_TEXT:
                commentary.problem = f"{number}. satırın \"{name}\" metni {MAX_TEXT} karakterden uzun"
                return commentary
            texts[key] = value
        commentary.explanations[code] = texts
    return commentary


def _indicator_codes() -> set[str]:
    from kopru import warehouse

    with warehouse.connect(role="reporter") as conn:
        return {code for (code,) in conn.execute("select indicator_code from seeds.plan_indicators")}
