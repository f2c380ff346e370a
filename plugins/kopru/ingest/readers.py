"""Read a delivered file into records, and validate each record against its FeedSpec.

A reader never loses a row: every data record comes out either as typed values or as a `Rejected` row
carrying its reason code, and a file that cannot be read at all raises FileRejected.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from kopru.ingest import parsers
from kopru.ingest.contract import Column, FeedSpec, Formats, normalise_header
from kopru.ingest.parsers import ParseError


class FileRejected(Exception):
    def __init__(self, reason_code: str, reason: str):
        super().__init__(reason)
        self.reason_code = reason_code
        self.reason = reason


@dataclass
class RawRecord:
    row_number: int  # 1-based position among the file's data records (the header is not counted)
    raw: str  # the record as delivered (re-joined with the file's delimiter for CSV)
    fields: dict[str, object] | None  # column name → delivered value; None when the record is malformed
    problem: tuple[str, str] | None = None  # (reason_code, reason) found while reading


def decode(data: bytes, encoding: str) -> str:
    """Strict decoding in the declared encoding; a BOM is tolerated on UTF-8. Never a latin-1 fallback."""
    codec = {"utf-8": "utf-8-sig", "utf-8-sig": "utf-8-sig", "windows-1254": "cp1254", "cp1254": "cp1254"}.get(
        encoding.lower()
    )
    if codec is None:
        raise FileRejected("unsupported_encoding", f"encoding {encoding!r} is not one the contract allows")
    if codec == "cp1254" and not data.isascii() and _is_utf8(data):
        # Windows-1254 would decode these bytes too, into mojibake (`ÅžAHÄ°N`); refuse rather than guess.
        raise FileRejected("undecodable", f"declared {encoding} but the bytes are UTF-8")
    try:
        return data.decode(codec)
    except UnicodeDecodeError as error:
        raise FileRejected(
            "undecodable", f"bytes at offset {error.start} are not valid {encoding}"
        ) from error


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def match_header(delivered: list[str], expected: dict[str, str]) -> list[str]:
    """Map delivered headers to column names. `expected` maps normalised header → column name.

    Forgiving of case, spacing, Turkish/ASCII spelling and a BOM; strict about unknown and missing columns.
    """
    names: list[str] = []
    unknown = []
    for header in delivered:
        key = normalise_header(header)
        if key not in expected:
            unknown.append(header.strip())
            continue
        names.append(expected[key])
    if unknown:
        raise FileRejected("unknown_column", f"columns not in the contract: {', '.join(unknown)}")
    if len(set(names)) != len(names):
        raise FileRejected("duplicate_column", "a column appears twice in the header")
    missing = [column for column in expected.values() if column not in names]
    if missing:
        raise FileRejected("missing_column", f"columns missing from the header: {', '.join(sorted(set(missing)))}")
    return names


def read_csv(text: str, delimiter: str, expected: dict[str, str]) -> tuple[list[str], Iterator[RawRecord]]:
    lines = text.splitlines(keepends=True)
    while lines and not lines[-1].strip():
        lines.pop()  # trailing blank lines are formatting, not records
    if not lines:
        return [], iter(())
    reader = csv.reader(io.StringIO("".join(lines)), delimiter=delimiter)
    header = next(reader)
    names = match_header(header, expected)
    ends_with_newline = lines[-1].endswith(("\n", "\r"))

    def records() -> Iterator[RawRecord]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator="")
        rows = list(reader)
        for index, row in enumerate(rows, start=1):
            buffer.seek(0)
            buffer.truncate()
            writer.writerow(row)
            raw = buffer.getvalue()
            if len(row) != len(names):
                is_last = index == len(rows)
                if is_last and not ends_with_newline and len(row) < len(names):
                    yield RawRecord(index, raw, None, ("truncated_row", "last line ends before its last column"))
                else:
                    yield RawRecord(
                        index, raw, None,
                        ("malformed_row", f"{len(row)} fields where the header has {len(names)}"),
                    )
                continue
            yield RawRecord(index, raw, dict(zip(names, row, strict=True)))

    return names, records()


def read_jsonl(text: str, spec: FeedSpec) -> Iterator[RawRecord]:
    by_source_name = {c.source_name or c.name: c.name for c in spec.columns}
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    for index, line in enumerate(lines, start=1):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            yield RawRecord(index, line, None, ("malformed_row", "not a JSON object"))
            continue
        if not isinstance(obj, dict):
            yield RawRecord(index, line, None, ("malformed_row", "not a JSON object"))
            continue
        unknown = sorted(set(obj) - set(by_source_name))
        if unknown:
            yield RawRecord(index, line, None, ("unknown_column", f"keys not in the contract: {', '.join(unknown)}"))
            continue
        yield RawRecord(index, line, {by_source_name[k]: v for k, v in obj.items()})


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    return str(value)


def convert(column: Column, value: object, formats: Formats) -> object:
    """One delivered value → its typed value, or ParseError. JSON values and XLSX cells arrive already typed."""
    if column.kind == "identity":
        text = _as_text(value)
        return None if text is None else parsers.parse_identity_text(text)
    text = _as_text(value)
    if text is None:
        if column.required:
            raise ParseError("missing_required", f"{column.name} is required")
        return None
    kind = column.kind
    if kind in ("text",):
        return text
    if kind == "enum":
        if text not in column.values:
            raise ParseError("bad_enum", f"{column.name} is not one of {', '.join(column.values)}")
        return text
    if kind == "integer":
        number = value if isinstance(value, int) and not isinstance(value, bool) else parsers.parse_integer(text)
        _check_range(column, number)
        return number
    if kind == "decimal":
        if isinstance(value, bool):
            raise ParseError("bad_number", f"{column.name} is not a number")
        if isinstance(value, int | float):
            number = parsers.parse_decimal(repr(value) if isinstance(value, float) else str(value), "dot")
        else:
            number = parsers.parse_decimal(text, formats.decimal_style)
        _check_range(column, number)
        return number
    if kind == "date":
        if isinstance(value, datetime):  # an XLSX date cell
            return value.date()
        if isinstance(value, date):
            return value
        return parsers.parse_date(text, formats.date_format)
    if kind == "timestamp":
        return parsers.parse_timestamp(text, formats.timestamp_format)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        return parsers.parse_boolean(text)
    raise ValueError(f"unknown column kind {kind}")


def _check_range(column: Column, number) -> None:
    if column.minimum is not None and number < column.minimum:
        raise ParseError("out_of_range", f"{column.name} is below {column.minimum}")
    if column.maximum is not None and number > column.maximum:
        raise ParseError("out_of_range", f"{column.name} is above {column.maximum}")


def validate(record: RawRecord, spec: FeedSpec) -> tuple[dict[str, object] | None, tuple[str, str] | None]:
    """Typed values, or the first problem (reason_code, reason). Missing optional columns become NULL."""
    if record.problem:
        return None, record.problem
    assert record.fields is not None
    typed: dict[str, object] = {}
    for column in spec.columns:
        try:
            typed[column.name] = convert(column, record.fields.get(column.name), spec.formats)
        except ParseError as error:
            if column.kind == "identity":
                # An unreadable ID keeps its row: the identifier is marked invalid, never used for matching.
                typed[column.name] = _as_text(record.fields.get(column.name))
                continue
            return None, (error.reason_code, f"{column.name}: {error}")
    return typed, None


def expected_headers(spec: FeedSpec) -> dict[str, str]:
    return {normalise_header(c.name): c.name for c in spec.columns}
