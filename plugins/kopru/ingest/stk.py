"""Partner NGO files: each NGO's template is read through its mapping file (data/ngo_mappings/<ngo_code>.yml).

Every template lands in one raw table, `raw.stk__aid_rows`, whose columns the mapping names; the NGO's own aid
words are mapped to the aid-type catalogue here, so a word the mapping does not know quarantines its row.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, cached_property
from pathlib import Path

import yaml

from kopru import config
from kopru.ingest import contract, workbook
from kopru.ingest.contract import AID_TYPES, STK_AID_ROWS, FeedSpec, Formats, fold_turkish, normalise_header
from kopru.ingest.parsers import ParseError, excel_serial_to_date
from kopru.ingest.readers import FileRejected, RawRecord, decode, match_header, read_csv

log = logging.getLogger(__name__)

# Columns a mapping may fill: the raw table's columns less those the loader derives from the file name and
# the mapping itself.
MAPPABLE_COLUMNS = tuple(
    c.name for c in STK_AID_ROWS.columns if c.name not in ("ngo_code", "delivery_month", "row_in_file", "aid_type")
)
FILE_FORMATS = ("csv", "xlsx")
DECIMAL_STYLES = ("tr", "dot")
DATE_FORMATS = ("dmy_dot", "dmy_slash", "iso")


@dataclass(frozen=True)
class NgoMapping:
    ngo_code: str
    institution_name: str
    formats: Formats
    columns: dict[str, str]  # delivered header → raw column
    aid_words: dict[str, str]  # the NGO's aid word, as it writes it → catalogue aid type

    @property
    def spec(self) -> FeedSpec:
        return dataclasses.replace(STK_AID_ROWS, formats=self.formats)

    @cached_property
    def _folded_aid_words(self) -> dict[str, str]:
        return {_fold_word(word): aid_type for word, aid_type in self.aid_words.items()}

    def aid_type(self, word: str | None) -> str | None:
        return None if word is None else self._folded_aid_words.get(_fold_word(word))


def _fold_word(word: str) -> str:
    return " ".join(fold_turkish(str(word)).split())


def parse_mapping(document: dict, ngo_code: str) -> NgoMapping:
    """A mapping document → NgoMapping, or FileRejected('bad_mapping') saying what is wrong with it."""

    def bad(reason: str) -> FileRejected:
        return FileRejected("bad_mapping", f"mapping for {ngo_code}: {reason}")

    if not isinstance(document, dict):
        raise bad("not a YAML mapping")
    if document.get("ngo_code") != ngo_code:
        raise bad(f"ngo_code says {document.get('ngo_code')!r}")
    file = document.get("file") or {}
    file_format = file.get("format")
    if file_format not in FILE_FORMATS:
        raise bad(f"file.format must be one of {', '.join(FILE_FORMATS)}")
    decimal_style = file.get("decimal_style", "dot")
    date_format = file.get("date_format", "dmy_dot")
    if decimal_style not in DECIMAL_STYLES:
        raise bad(f"file.decimal_style must be one of {', '.join(DECIMAL_STYLES)}")
    if date_format not in DATE_FORMATS:
        raise bad(f"file.date_format must be one of {', '.join(DATE_FORMATS)}")
    columns = document.get("columns") or {}
    unknown = sorted(set(columns.values()) - set(MAPPABLE_COLUMNS))
    if unknown:
        raise bad(f"columns map to {', '.join(map(str, unknown))}, which raw.stk__aid_rows does not have")
    targets = set(columns.values())
    if len(targets) != len(columns):
        raise bad("two headers map to the same column")
    if not {"aid_word", "delivered_on"} <= targets:
        raise bad("aid_word and delivered_on must be mapped")
    if "full_name" not in targets and not {"first_name", "last_name"} <= targets:
        raise bad("map either full_name or both first_name and last_name")
    aid_words = {str(word): aid_type for word, aid_type in (document.get("aid_types") or {}).items()}
    wrong = sorted(set(aid_words.values()) - set(AID_TYPES))
    if wrong:
        raise bad(f"aid_types map to {', '.join(map(str, wrong))}, not in the aid-type catalogue")
    formats = Formats(
        encoding=file.get("encoding", "utf-8"),
        delimiter=file.get("delimiter", ","),
        decimal_style=decimal_style,
        date_format=date_format,
        file_format=file_format,
    )
    return NgoMapping(ngo_code, document.get("institution_name", ngo_code), formats, dict(columns), aid_words)


def load_mapping(ngo_code: str, mappings_dir: Path | None = None) -> NgoMapping:
    return _load_mapping(ngo_code, mappings_dir or config.ngo_mappings_dir())


@cache
def _load_mapping(ngo_code: str, mappings_dir: Path) -> NgoMapping:
    if not contract.NGO_CODE.fullmatch(ngo_code):
        raise FileRejected("bad_mapping", "an NGO code is lower-case ASCII letters, digits and _ only")
    path = mappings_dir / f"{ngo_code}.yml"
    if not path.is_file():
        raise FileRejected("unknown_ngo", f"no mapping file {path.name} for NGO {ngo_code!r}")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise FileRejected("bad_mapping", f"mapping for {ngo_code} is not valid YAML") from error
    return parse_mapping(document, ngo_code)


def all_mappings(mappings_dir: Path | None = None) -> list[NgoMapping]:
    """Every NGO's mapping. A file whose name is no NGO code is not a mapping: it is left out, with a warning."""
    folder = mappings_dir or config.ngo_mappings_dir()
    paths = sorted(folder.glob("*.yml"))
    for path in paths:
        if not contract.NGO_CODE.fullmatch(path.stem):
            log.warning("ignored %r in the NGO mappings: a mapping's name is its NGO code ([a-z0-9_]+)", path.name)
    return [load_mapping(path.stem, folder) for path in paths if contract.NGO_CODE.fullmatch(path.stem)]


def split_full_name(full_name: str | None) -> tuple[str | None, str | None]:
    """`Ayşe Nur YILMAZ` → (`Ayşe Nur`, `YILMAZ`): the NGO writes the surname last."""
    parts = (full_name or "").split()
    if not parts:
        return None, None
    if len(parts) == 1:
        return None, parts[0]
    return " ".join(parts[:-1]), parts[-1]


def _xlsx_cell(value: object, column: str) -> object:
    """A cell as the raw column wants it: IDs as digit text, date cells as dates, other numbers as they are."""
    if value is None:
        return None
    if column == "tckn" and isinstance(value, int | float) and not isinstance(value, bool):
        # A numeric cell holds an 11-digit number exactly; only a non-integral value would have lost digits.
        return str(int(value)) if float(value).is_integer() else repr(value)
    if column in ("birth_date", "delivered_on") and isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return excel_serial_to_date(value)
        except ParseError:
            return str(value)
    return value


def _xlsx_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    return str(value)


def _calamine_cell(value: object) -> object:
    """A cell as openpyxl gives it, from calamine: a number without a fraction is an int (XLSX has one number type;
    `1` and `1.0` are the same cell) unless it is written with an exponent (from 1e16 on), an empty cell None, a
    date cell at midnight a datetime."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return int(value)
    if value == "":
        return None
    if type(value) is date:
        return datetime(value.year, value.month, value.day)
    return value


def read_xlsx_rows(data: bytes) -> list[list]:
    """The first sheet's rows, values only, as openpyxl reads them. Read with calamine (Rust; openpyxl's XML parsing
    is ten times slower), in a child process held to the ingest limits (`kopru.ingest.workbook`)."""
    rows = workbook.first_sheet_rows(data, config.ingest_limits().workbook)
    return [[_calamine_cell(cell) for cell in row] for row in rows]


def read_xlsx(data: bytes, expected: dict[str, str]) -> Iterator[RawRecord]:
    rows = read_xlsx_rows(data)
    while rows and all(cell is None or str(cell).strip() == "" for cell in rows[-1]):
        rows.pop()
    if not rows:
        return iter(())
    header = rows[0]
    while header and header[-1] is None:
        header = header[:-1]
    names = match_header([_xlsx_text(cell) for cell in header], expected)

    def records() -> Iterator[RawRecord]:
        for index, row in enumerate(rows[1:], start=1):
            extra = [cell for cell in row[len(names):] if cell is not None and str(cell).strip()]
            cells = (row + [None] * len(names))[: len(names)]
            raw = json.dumps(dict(zip(names, map(_xlsx_text, cells), strict=True)), ensure_ascii=False)
            if extra:
                yield RawRecord(index, raw, None, ("malformed_row", f"{len(extra)} values beyond the header's columns"))
                continue
            yield RawRecord(index, raw, {name: _xlsx_cell(cell, name) for name, cell in zip(names, cells, strict=True)})

    return records()


def read(data: bytes, name: contract.FileName, mappings_dir: Path | None = None) -> tuple[FeedSpec, Iterator]:
    """Records of an NGO file, in the columns of raw.stk__aid_rows, per the NGO's mapping."""
    mapping = load_mapping(name.ngo, mappings_dir)
    if name.extension != mapping.formats.file_format:
        raise FileRejected(
            "bad_file_name", f"{name.ngo} delivers {mapping.formats.file_format}, this file is .{name.extension}"
        )
    expected = {normalise_header(header): column for header, column in mapping.columns.items()}
    if mapping.formats.file_format == "xlsx":
        records = read_xlsx(data, expected)
    else:
        text = decode(data, mapping.formats.encoding)
        records = read_csv(text, mapping.formats.delimiter, expected).records
    delivery_month = name.delivery_month
    return mapping.spec, _mapped(records, mapping, delivery_month)


def _mapped(records: Iterator[RawRecord], mapping: NgoMapping, delivery_month: str) -> Iterator[RawRecord]:
    for record in records:
        if record.fields is not None:
            fields = record.fields
            word = fields.get("aid_word")
            word_text = None if word is None or str(word).strip() == "" else str(word).strip()
            aid_type = mapping.aid_type(word_text)
            if word_text is not None and aid_type is None:
                record.problem = ("unknown_aid_type", f"aid word not in the {mapping.ngo_code} mapping")
            fields["aid_type"] = aid_type
            if "full_name" in fields:
                fields["first_name"], fields["last_name"] = split_full_name(
                    None if fields["full_name"] is None else str(fields["full_name"])
                )
            fields.update(ngo_code=mapping.ngo_code, delivery_month=delivery_month, row_in_file=record.row_number)
        yield record
