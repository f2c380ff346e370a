"""Frame a delivered file into records: a reader never loses a row. Every data record comes out either with its
fields (column name → delivered value) or with the problem that kept it from being framed (a malformed row), and a
file that cannot be read at all raises FileRejected. Typing and checking the values is done in bulk in SQL
(`kopru.ingest.checks`)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass

from kopru.ingest.contract import FeedSpec, normalise_header


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


@dataclass
class CsvFile:
    names: list[str]  # column names, in the order the file delivers them
    records: Iterator[RawRecord]
    text: str  # the file's text without trailing blank lines


def _without_trailing_blank_lines(text: str) -> str:
    """Trailing blank lines are formatting, not records: what follows the last line's end goes (as
    `re.sub(r"\\n\\s*\\Z", "\\n", text)` would do, without a regex scan or a copy of the whole file)."""
    content_end = len(text)
    while content_end and text[content_end - 1].isspace():
        content_end -= 1
    line_end = text.find("\n", content_end)
    if line_end < 0 or line_end + 1 == len(text):
        return text
    return text[: line_end + 1]


# The longest physical line a CSV may have: csv's own limit is 128 KiB a field, and no contract or NGO template has
# more than a few dozen fields. A longer line is refused before it is copied out of the file's text.
MAX_LINE_CHARS = 4 << 20


def _lines(text: str) -> Iterator[str]:
    """The text's lines (with their ends), each checked against MAX_LINE_CHARS before it is sliced out."""
    start, number = 0, 0
    while start < len(text):
        number += 1
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        if end - start > MAX_LINE_CHARS:
            raise FileRejected("unreadable", f"line {number} is {end - start:,} characters long "
                                             f"(at most {MAX_LINE_CHARS:,})")
        yield text[start:end]
        start = end


def _unreadable(error: csv.Error, line: int) -> FileRejected:
    # csv's messages name the problem, never a value: "field larger than field limit (131072)".
    return FileRejected("unreadable", f"not readable as CSV at line {line}: {error}")


def read_csv(text: str, delimiter: str, expected: dict[str, str]) -> CsvFile:
    """The header is matched at once; the records are framed lazily, as they are consumed. A file csv cannot frame
    (a field over csv's limit of 128 KiB, as in a single-line file of hundreds of MB) is FileRejected('unreadable'),
    also when that happens while its records are consumed."""
    text = _without_trailing_blank_lines(text)
    if not text.strip():
        return CsvFile([], iter(()), "")
    reader = csv.reader(_lines(text), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as error:
        raise _unreadable(error, reader.line_num) from error
    names = match_header(header, expected)
    ends_with_newline = text.endswith(("\n", "\r"))

    def rows() -> Iterator[tuple[list[str], bool]]:
        """Each row, and whether it is the file's last (one row of look-ahead)."""
        try:
            previous = next(reader, None)
            while previous is not None:
                following = next(reader, None)
                yield previous, following is None
                previous = following
        except csv.Error as error:
            raise _unreadable(error, reader.line_num) from error

    def records() -> Iterator[RawRecord]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator="")
        for index, (row, is_last) in enumerate(rows(), start=1):
            buffer.seek(0)
            buffer.truncate()
            writer.writerow(row)
            raw = buffer.getvalue()
            if len(row) != len(names):
                if is_last and not ends_with_newline and len(row) < len(names):
                    yield RawRecord(index, raw, None, ("truncated_row", "last line ends before its last column"))
                else:
                    yield RawRecord(
                        index, raw, None,
                        ("malformed_row", f"{len(row)} fields where the header has {len(names)}"),
                    )
                continue
            yield RawRecord(index, raw, dict(zip(names, row, strict=True)))

    return CsvFile(names, records(), text)


def read_jsonl(text: str, spec: FeedSpec) -> Iterator[RawRecord]:
    by_source_name = {c.source_name or c.name: c.name for c in spec.columns}
    known = by_source_name.keys()
    decode_line = json.JSONDecoder().decode  # what json.loads calls, without its per-call checks
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    for index, line in enumerate(lines, start=1):
        try:
            obj = decode_line(line)
        except (ValueError, RecursionError) as error:
            # ValueError: not JSON, or a number of more digits than Python converts; RecursionError: nested
            # deeper than the parser's stack allows. The line is quarantined, the file goes on.
            problem = "nested too deeply" if isinstance(error, RecursionError) else "not a JSON object"
            yield RawRecord(index, line, None, ("malformed_row", problem))
            continue
        if obj.__class__ is not dict:
            yield RawRecord(index, line, None, ("malformed_row", "not a JSON object"))
            continue
        if not known >= obj.keys():
            unknown = sorted(obj.keys() - known)
            yield RawRecord(index, line, None, ("unknown_column", f"keys not in the contract: {', '.join(unknown)}"))
            continue
        yield RawRecord(index, line, {by_source_name[k]: v for k, v in obj.items()})


def expected_headers(spec: FeedSpec) -> dict[str, str]:
    return {normalise_header(c.name): c.name for c in spec.columns}
