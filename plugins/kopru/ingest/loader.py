"""Land delivered files in the warehouse: one transaction per file, manifest and rows together.

For every file that was read: rows_in = rows_loaded + rows_quarantined + rows_duplicate (a CHECK constraint on
ingest.files holds us to it). A file that cannot be read is recorded as `rejected` and archived; the next file
goes on. Identical bytes are recorded once as `duplicate_file`; a different file for the same source, feed and
delivery date supersedes the earlier one, whose rows stay in raw history but leave "current".

Every raw table keeps versions: a row is loaded when its business key is new or its content changed, and
counted as a duplicate when the same key with the same content is already current. "Current" for a key is its
latest version among files that are not superseded; the loader keeps it in each raw table's `_is_current` flag,
in the same transaction as the rows, and dbt's staging models read that flag (the one definition of "current").
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from kopru import config
from kopru.ingest import contract, origin
from kopru.ingest.checks import checked_select, hmac_pads, pseudonymised, sql_literal, trimmed_sql
from kopru.ingest.contract import Column, FeedSpec, Formats
from kopru.ingest.manifest import LANDING_LOCK, check_pseudonym_key
from kopru.ingest.parsers import format_date
from kopru.ingest.readers import (
    FileRejected,
    RawRecord,
    decode,
    expected_headers,
    read_csv,
    read_jsonl,
)

log = logging.getLogger(__name__)

# A raw table is analysed after a load that added more than this share of its rows (autovacuum's default).
STATISTICS_STALE_SHARE = 0.1


@dataclass
class FileResult:
    file_name: str
    file_id: int
    status: str
    source: str | None = None
    feed: str | None = None
    rows_in: int | None = None
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    reason_code: str | None = None
    reason: str | None = None
    raw_table: str | None = None  # where a loaded file's rows went
    superseded_files: int = 0  # earlier files of the same source, feed and day this one replaced
    keys_retired: int = 0  # keys a full snapshot no longer carried

    @property
    def changed_raw(self) -> bool:
        """Whether landing it changed what is current in a raw table (new versions, a correction, or keys a full
        snapshot no longer carried)."""
        return self.status == "loaded" and (self.rows_loaded > 0 or self.superseded_files > 0 or self.keys_retired > 0)

    def as_xcom(self) -> dict:
        """Counts and ids only: nothing personal goes through XCom."""
        return {k: v for k, v in self.__dict__.items()}


def raw_columns(spec: FeedSpec) -> list[tuple[str, str]]:
    """(name, type) of the raw table, in order: the contract's columns, the derived identity columns, lineage."""
    columns = [(c.name, c.pg_type) for c in spec.columns]
    for name in spec.identity_columns:
        columns += [(f"{name}_status", "text"), (f"{name}_pseudonym", "text")]
    columns += [(c.key, "text") for c in spec.keyed_columns]
    columns += [("_file_id", "bigint"), ("_row_number", "integer"), ("_row_hash", "text")]
    return columns


def _text_hash_sql(spec: FeedSpec, alias: str = "t") -> str:
    """The hash of a record as delivered (its text fields, in the contract's order): the same hash means the same
    text, which the checks would type into the same values."""
    return f"md5(row({', '.join(f'{alias}.{c.name}' for c in spec.columns)})::text)"


def _keys_of(spec: FeedSpec, alias: str) -> str:
    """The business key's columns of table alias `alias`, comma-separated."""
    return ", ".join(f"{alias}.{k}" for k in spec.key)


def _same_key(spec: FeedSpec, left: str, right: str) -> str:
    """`left` and `right` (table aliases) hold the same business key."""
    return " and ".join(f"{left}.{k} = {right}.{k}" for k in spec.key)


def _skips_unchanged_records(spec: FeedSpec) -> bool:
    """A snapshot re-delivers mostly what is current; a record delivered as the current version was (same key, same
    text) is a duplicate without being typed again. Keys must be text, compared as the checks trim them."""
    by_name = {c.name: c for c in spec.columns}
    return spec.kind == "snapshot" and all(by_name[k].pg_type == "text" for k in spec.key)


# A raw table's rows joined to their files' manifest rows go through a materialized CTE of the raw rows first: joined
# directly, a history load's statistics once had the planner cost a merge join on the file id as if it stopped after a
# few rows, over a nested loop that compared every raw row with every delivered key (a 57,609-row file against 912,259
# raw rows at 500,000 households: minutes, and a stalled history load). See decisions.md.


def current_rows_select(spec: FeedSpec) -> str:
    """The current version of each key the typed rows of `checked` bring: key, row hash, and its file's delivery day."""
    raw_keys = _keys_of(spec, "r")
    return f"""
        with current_versions as materialized (
            select {raw_keys}, r._row_hash, r._file_id from {spec.raw_table} r
            where r._is_current and ({raw_keys}) in (select {', '.join(spec.key)} from checked)
        )
        select {_keys_of(spec, "c")}, c._row_hash, f.delivered_on
        from current_versions c
        join ingest.files f on f.file_id = c._file_id"""


def _elect_current(conn, spec: FeedSpec, keys_query: str) -> None:
    """Mark, for each business key `keys_query` returns, its latest version among loaded files as the current one:
    latest delivery first, then the later file, then the later row of that file."""
    raw_keys, version_keys = _keys_of(spec, "r"), _keys_of(spec, "v")
    conn.execute(
        f"""update {spec.raw_table} r set _is_current = false
            where r._is_current and ({raw_keys}) in ({keys_query})"""
    )
    conn.execute(
        f"""with versions as materialized (
                select {raw_keys}, r._file_id, r._row_number from {spec.raw_table} r
                where ({raw_keys}) in ({keys_query})
            )
            update {spec.raw_table} r set _is_current = true
            from (
                select distinct on ({version_keys}) v._file_id, v._row_number
                from versions v
                join ingest.files f on f.file_id = v._file_id and f.status = 'loaded'
                order by {version_keys}, f.delivered_on desc, v._file_id desc, v._row_number desc
            ) latest
            where (r._file_id, r._row_number) = (latest._file_id, latest._row_number)"""
    )


@dataclass
class Stream:
    """A CSV file PostgreSQL can read itself with COPY: its text, its columns in delivered order, its delimiter."""

    text: str
    columns: list[str]
    delimiter: str

    @property
    def blank_free(self) -> bool:
        """No blank (space, tab) and no quote anywhere in the file: no value can start or end with whitespace (a
        newline or carriage return ends a record unless quoted) and COPY reads every empty value as NULL, so the
        checks need not trim (a tenth of their time on a feed of codes, amounts and dates)."""
        return not any(character in self.text for character in ' \t"')


_END_OF_COPY = re.compile(r"^\\\.\r?$", re.MULTILINE)


def read_file(data: bytes, name: contract.FileName) -> tuple[FeedSpec, Iterator[RawRecord], Stream | None]:
    """Records of a delivered file, per its spec (STK files through their NGO's mapping), and, for a contract CSV
    that PostgreSQL can read as it is, the Stream that lets COPY read it without a Python loop."""
    if name.source == "stk":
        from kopru.ingest import stk

        spec, records = stk.read(data, name)
        return spec, records, None
    spec = contract.FEEDS.get((name.source, name.feed))
    if spec is None:
        raise FileRejected("unknown_feed", f"{name.source}/{name.feed} is not a feed of the contract")
    text = decode(data, spec.formats.encoding)
    if spec.formats.file_format == "jsonl":
        return spec, read_jsonl(text, spec), None
    csv_file = read_csv(text, spec.formats.delimiter, expected_headers(spec))
    # A line holding only a backslash and a dot would end COPY's input early: such a file takes the record path.
    streamable = csv_file.names and not ("\\." in csv_file.text and _END_OF_COPY.search(csv_file.text))
    stream = Stream(csv_file.text, csv_file.names, spec.formats.delimiter) if streamable else None
    return spec, csv_file.records, stream


def _has_records(data: bytes) -> bool:
    if data[:2] == b"PK":  # XLSX: a zip, compared whole
        return True
    lines = (line for line in re.finditer(rb"[^\r\n]+", data) if line.group().strip())
    has_two = next(lines, None) is not None and next(lines, None) is not None
    return has_two or data.lstrip().startswith(b"{")


def _archive(path: Path, sha256: str) -> str:
    return _archive_bytes(path, path.name, sha256)


def _archive_bytes(path: Path, name: str, sha256: str) -> str:
    target = config.archive_dir() / "rejected" / f"{sha256[:16]}_{name}"
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not target.exists():
        shutil.copyfile(path, target)
        target.chmod(0o600)  # a rejected file holds families' data as delivered
    return str(target)


def file_sha256(path: Path) -> tuple[str, int]:
    """The file's hash and size, read in chunks: a file is hashed before anything decides it is safe to hold."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


# What reading a file can raise besides FileRejected when its bytes are hostile or broken: csv's own error, a JSON
# line nested past the parser's stack, a value no converter takes, memory. Such a file is rejected as
# `unreadable`; errors of the database or of our code are not caught here (the file is retried next run).
READ_ERRORS = (csv.Error, RecursionError, MemoryError, ValueError, OverflowError, UnicodeError)


def ingest_file(conn, path: Path, key: bytes) -> FileResult:
    """Land one file in its own transaction. The caller's connection must not be in a transaction."""
    sha256, size = file_sha256(path)
    name = contract.parse_file_name(path.name)
    source = name.source if name else "unknown"
    feed = name.feed if name else None
    delivered = name.delivered_on if name else None
    cap = config.ingest_limits().max_file_bytes(source, feed)
    try:
        with conn.transaction():
            return _ingest_file(conn, path, key, sha256, size, cap, name, delivered)
    except (FileRejected, *READ_ERRORS) as error:
        # Found while its records were framed: the transaction rolled back, and the file is recorded as rejected
        # in one of its own; the run goes on.
        rejected = error if isinstance(error, FileRejected) else \
            FileRejected("unreadable", f"the file cannot be read ({type(error).__name__})")
    file_id = reject_delivery(conn, path, path.name, rejected.reason_code, rejected.reason)
    return FileResult(path.name, file_id, "rejected", source, feed, reason_code=rejected.reason_code,
                      reason=rejected.reason)


def reject_delivery(conn, path: Path, name: str, reason_code: str, reason: str) -> int:
    """Record a delivery refused before it reached the inbox (the bytes at `path`, delivered as `name`) as rejected,
    with its bytes archived; its manifest id."""
    sha256, size = file_sha256(path)
    parsed = contract.parse_file_name(name)
    source, feed = (parsed.source, parsed.feed) if parsed else ("unknown", None)
    delivered = parsed.delivered_on if parsed else None
    with conn.transaction():
        _lock_feed(conn, source, feed)
        file_id = _record_file(conn, Path(name), sha256, size, source, feed, delivered, "rejected",
                               reason_code=reason_code, reason=reason,
                               archived_path=_archive_bytes(path, name, sha256))
    log.warning("rejected %s: %s", name, reason_code)
    return file_id


def _lock_feed(conn, source: str, feed: str | None) -> None:
    """One loader at a time per feed: superseding and de-duplication compare against what is current. And a file
    is landing until its transaction ends (manifest.landed_through_file_id waits for it)."""
    conn.execute("select pg_advisory_xact_lock_shared(hashtext(%s))", (LANDING_LOCK,))
    conn.execute("select pg_advisory_xact_lock(hashtext('kopru.ingest:' || %s || '/' || %s))", (source, feed or ""))


def _record_file(conn, path: Path, sha256: str, size: int, source: str, feed: str | None, delivered: date | None,
                 status: str, **fields) -> int:
    """The file's row in the manifest; its id."""
    columns = ["source", "feed", "file_name", "sha256", "size_bytes", "delivered_on", "status", *fields]
    values = [source, feed, path.name, sha256, size, delivered, status, *fields.values()]
    return conn.execute(
        sql.SQL("insert into ingest.files ({}) values ({}) returning file_id").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)), sql.SQL(", ").join(sql.Placeholder() * len(values))),
        values,
    ).fetchone()[0]


def _ingest_file(conn, path: Path, key: bytes, sha256: str, size: int, cap: int, name: contract.FileName | None,
                 delivered: date | None) -> FileResult:
    source = name.source if name else "unknown"
    feed = name.feed if name else None
    _lock_feed(conn, source, feed)

    def record(status: str, **fields) -> int:
        return _record_file(conn, path, sha256, size, source, feed, delivered, status, **fields)

    def rejected_file(rejected: FileRejected) -> FileResult:
        file_id = record("rejected", reason_code=rejected.reason_code, reason=rejected.reason,
                         archived_path=_archive(path, sha256))
        log.warning("rejected %s: %s", path.name, rejected.reason_code)
        return FileResult(path.name, file_id, "rejected", source, feed,
                          reason_code=rejected.reason_code, reason=rejected.reason)

    if size > cap:
        return rejected_file(FileRejected(
            "too_large", f"{size / config.MB:,.1f} MB, over the {cap / config.MB:,.0f} MB this feed may deliver"))
    data = path.read_bytes()
    # Header-only files of different days are byte-identical yet different deliveries: without records,
    # only the same source, feed and day makes a duplicate.
    earlier = conn.execute(
        """select file_id from ingest.files
           where sha256 = %s and status in ('loaded', 'superseded')
             and (%s or (source, feed, delivered_on) is not distinct from (%s, %s, %s))
           order by file_id limit 1""",
        (sha256, _has_records(data), source, feed, delivered),
    ).fetchone()
    if earlier:
        file_id = record("duplicate_file", duplicate_of=earlier[0], reason_code="duplicate_file",
                         reason=f"same bytes as file {earlier[0]}")
        return FileResult(path.name, file_id, "duplicate_file", source, feed, reason_code="duplicate_file")

    try:
        if name is None or delivered is None:
            raise FileRejected("bad_file_name", "file name does not follow the contract's pattern")
        spec, records, stream = read_file(data, name)
    except FileRejected as rejected:
        return rejected_file(rejected)

    file_id = record("loaded")
    superseded = [row[0] for row in conn.execute(
        """update ingest.files set status = 'superseded', superseded_by = %s
           where source = %s and feed = %s and delivered_on = %s and status = 'loaded' and file_id <> %s
           returning file_id""",
        (file_id, source, feed, delivered, file_id),
    )]
    if superseded:
        # The keys the superseded file made current fall back to their previous versions (if any), before
        # the correcting file's rows are compared with what is current.
        ids = ", ".join(str(int(i)) for i in superseded)
        _elect_current(conn, spec, f"select {', '.join(spec.key)} from {spec.raw_table} where _file_id in ({ids})")
    rows_in, read_problems, copied = _frame(conn, spec, records, stream)
    rows_loaded, rows_quarantined = _land(conn, spec, file_id, delivered, key, read_problems, copied)
    keys_retired = _retire_absent_keys(conn, spec, file_id, delivered) if spec.kind == "snapshot" and rows_in else 0
    result = FileResult(
        path.name, file_id, "loaded", source, feed,
        rows_in=rows_in,
        rows_loaded=rows_loaded,
        rows_quarantined=rows_quarantined,
        rows_duplicate=rows_in - rows_loaded - rows_quarantined,
        raw_table=spec.raw_table,
        superseded_files=len(superseded),
        keys_retired=keys_retired,
    )
    conn.execute(
        """update ingest.files set rows_in = %s, rows_loaded = %s, rows_quarantined = %s, rows_duplicate = %s,
                  keys_retired = %s
           where file_id = %s""",
        (result.rows_in, result.rows_loaded, result.rows_quarantined, result.rows_duplicate, keys_retired, file_id),
    )
    return result


def _retire_absent_keys(conn, spec: FeedSpec, file_id: int, delivered: date) -> int:
    """A full snapshot is the whole registry: a key it no longer carries (a household or person the case system
    deleted) is no longer current. Its current version gets a successor marked `_is_absent`, a copy of it from this
    file, so history says when it went, a re-delivery of the key is a new version, and a correction of this file
    (which supersedes it) brings the key back through _elect_current like any other version. A key is judged by
    every row of the file, quarantined ones too; an older snapshot delivered late retires nothing, and a file
    without rows is not a snapshot at all (the gate's volume check judges it)."""
    later = conn.execute(
        """select 1 from ingest.files where source = %s and feed = %s and status = 'loaded' and delivered_on > %s
           limit 1""", (spec.source, spec.feed, delivered)).fetchone()
    if later:
        return 0
    # Every record's key: a snapshot's records delivered as their current version skip typing (_land), and are
    # in delivered_text only.
    delivered_keys = "delivered_text" if _skips_unchanged_records(spec) else "checked"
    raw_keys = sql.SQL(", ").join(sql.SQL("r.{}").format(sql.Identifier(k)) for k in spec.key)
    table = sql.Identifier(*spec.raw_table.split("."))
    copied = [name for name, _ in raw_columns(spec) if name not in ("_file_id", "_row_number", "_row_hash")]
    columns = sql.SQL(", ").join(map(sql.Identifier, copied))
    from_current = sql.SQL(", ").join(sql.SQL("r.{}").format(sql.Identifier(c)) for c in copied)
    retired = conn.execute(
        sql.SQL("""
        with absent as (
            select r._file_id, r._row_number from {table} r
            where r._is_current and not r._is_absent
              and not exists (select 1 from {delivered} c where ({keys}) = ({raw_keys}))
        ),
        marked as (
            update {table} r set _is_current = false from absent
            where (r._file_id, r._row_number) = (absent._file_id, absent._row_number)
            returning r.*
        )
        insert into {table} ({columns}, _file_id, _row_number, _row_hash, _is_current, _is_absent)
        select {from_current}, %(file_id)s, -row_number() over (), 'absent', true, true from marked r
        """).format(table=table, delivered=sql.Identifier(delivered_keys),
                     keys=sql.SQL(", ").join(sql.SQL("c.{}").format(sql.Identifier(k)) for k in spec.key),
                     raw_keys=raw_keys, columns=columns, from_current=from_current),
        {"file_id": file_id},
    ).rowcount
    if retired:
        log.info("%s/%s: %d keys no longer in the full snapshot", spec.source, spec.feed, retired)
    return retired


def _quarantine_erased(conn, spec: FeedSpec, key: bytes) -> None:
    """Rows naming a person or family erased on request (kopru.privacy: their IDs' keyed pseudonyms are kept as
    tombstones) get the problem `erased`: quarantined without their content, never loaded again."""
    if conn.execute("select not exists (select from privacy.tombstones)").fetchone()[0]:
        return
    inner_pad, outer_pad = hmac_pads(key)
    for column, namespace, _ in pseudonymised(spec):
        valid = sql.SQL(" and {} = 'valid'").format(sql.Identifier(f"{column}_status")) if namespace == "person" \
            else sql.SQL("")
        conn.execute(sql.SQL(
            """update checked set _problem = {problem}
               where _problem is null and {column} is not null{valid}
                 and ingest.pseudonym({column}, {namespace}, %s, %s) in (
                     select pseudonym from privacy.tombstones where namespace = {namespace})""").format(
            problem=sql.Literal(f"{column}:erased"), column=sql.Identifier(column), valid=valid,
            namespace=sql.Literal(namespace)), (inner_pad, outer_pad))


def _value_text(value: object, column: Column, formats: Formats) -> str | None:
    """A delivered value as the text the SQL checks read: JSON values and XLSX cells rendered in the file's
    declared formats, so that one set of rules types them all."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return format_date(value.date() if isinstance(value, datetime) else value, formats.date_format)
    if isinstance(value, float):
        text = repr(value)
        return text.replace(".", ",") if column.kind == "decimal" and formats.decimal_style == "tr" else text
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _frame(conn, spec: FeedSpec, records: Iterator[RawRecord], stream: Stream | None):
    """Put the file's records, as text, into the temporary table `incoming_text`. Returns (rows_in, problems found
    while reading: (row_number, raw, reason_code, reason), the stream if COPY read it, else None).

    A CSV goes straight through COPY; if PostgreSQL finds a record it cannot frame (a field too many or too few, a
    broken quote) the COPY is undone and the file takes the record path, which names each such record."""
    text_columns = ", ".join(f"{c.name} text" for c in spec.columns)
    conn.execute(
        f"""create temporary table incoming_text (
                _row_number integer generated by default as identity, _raw text, {text_columns}
            ) on commit drop"""
    )
    if stream is not None:
        cursor = conn.cursor()
        try:
            with conn.transaction(), cursor.copy(
                f"copy incoming_text ({', '.join(stream.columns)}) from stdin "
                f"with (format csv, header true, delimiter {sql_literal(stream.delimiter)})"
            ) as copy:
                for start in range(0, len(stream.text), 1 << 20):
                    copy.write(stream.text[start:start + (1 << 20)])
            return cursor.rowcount, [], stream
        except psycopg.DataError:
            conn.execute("truncate incoming_text")
    rows_in = 0
    problems: list[tuple[int, str, str, str]] = []
    names = [c.name for c in spec.columns]
    with conn.cursor().copy(f"copy incoming_text (_row_number, _raw, {', '.join(names)}) from stdin") as copy:
        for record in records:
            rows_in += 1
            if record.problem:
                problems.append((record.row_number, record.raw, *record.problem))
                continue
            copy.write_row(_record_row(record, spec))
    return rows_in, problems, None


def _record_row(record: RawRecord, spec: FeedSpec) -> list:
    """A framed record as incoming_text's row: its number, its text, and each column's value as text (a JSON feed's
    600,000 values a minute go through here: the usual value, text without a NUL, is passed on without a call to
    _value_text or _clean)."""
    fields = record.fields or {}
    row: list = [record.row_number, _clean(record.raw)]
    for column in spec.columns:
        value = fields.get(column.name)
        if value is not None and value.__class__ is not str:
            value = _value_text(value, column, spec.formats)
        row.append(value if value is None or "\x00" not in value else _clean(value))
    return row


def _clean(text: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL bytes; a delivered NUL is dropped, the rest of the value kept."""
    return None if text is None else text.replace("\x00", "")


def _as_delivered_sql(columns: list[str], delimiter: str) -> str:
    """SQL that re-joins a record of `incoming_text t` as a CSV line in the file's delimiter, quoting as needed:
    what the quarantine shows for a record that went through COPY."""
    special = sql_literal("[" + re.escape(delimiter) + '"\r\n]')
    fields = [f"""coalesce(case when t.{n} ~ {special} then '"' || replace(t.{n}, '"', '""') || '"'
                                else t.{n} end, '')""" for n in columns]
    return (" || " + sql_literal(delimiter) + " || ").join(fields)


def _land(conn, spec: FeedSpec, file_id: int, delivered: date, key: bytes, read_problems,
          stream: Stream | None) -> tuple[int, int]:
    """Type and check `incoming_text` in SQL, quarantine what fails with its reason, and insert the rows whose
    business key is new or whose content changed. `stream`: the file COPY read, if it did. Returns (rows loaded,
    rows quarantined)."""
    # A sample of a few thousand rows is plenty for the planner to size the joins below.
    conn.execute("set local default_statistics_target = 10")
    keys = ", ".join(spec.key)
    records = "incoming_text"
    skips_unchanged = _skips_unchanged_records(spec)
    if skips_unchanged:
        trimmed_keys = ", ".join(f"{trimmed_sql(f't.{k}')} as {k}" for k in spec.key)
        conn.execute(
            f"""create temporary table delivered_text on commit drop as
                select t._row_number, {trimmed_keys}, {_text_hash_sql(spec)} as text_hash from incoming_text t"""
        )
        conn.execute("analyze delivered_text")
        # A key delivered twice takes the typed path, where repeated keys are judged.
        conn.execute(
            f"""create temporary table delivered_twice on commit drop as
                select {keys} from delivered_text group by {keys} having count(*) > 1"""
        )
        conn.execute("analyze delivered_twice")
        conn.execute(
            f"""create temporary table unchanged_records on commit drop as
                select d._row_number
                from delivered_text d
                join {spec.raw_table} r on r._is_current and r._delivered_text_hash = d.text_hash
                     and {_same_key(spec, "r", "d")}
                where not exists (select from delivered_twice w
                                  where {_same_key(spec, "w", "d")})"""
        )
        records = """(select t.* from incoming_text t
                      where not exists (select from unchanged_records u where u._row_number = t._row_number))"""
    blank_free = stream is not None and stream.blank_free
    conn.execute(f"create temporary table checked on commit drop as {checked_select(spec, records, blank_free)}")
    # Temporary tables have no statistics until analysed; without them the planner guesses nested loops.
    conn.execute("analyze checked")
    _quarantine_erased(conn, spec, key)
    # The same key twice in one file: identical rows count once, different ones are all quarantined. The repeated
    # keys are found by key alone first, so that hashes are compared for them only.
    conn.execute(
        f"""create temporary table repeated_keys on commit drop as
            select {keys}, min(_row_hash) <> max(_row_hash) as conflicting, min(_row_number) as first_row
            from checked
            where _problem is null
              and ({keys}) in (select {keys} from checked where _problem is null group by {keys} having count(*) > 1)
            group by {keys}"""
    )
    conn.execute("analyze repeated_keys")
    if read_problems:
        with conn.cursor().copy(
            "copy ingest.quarantine (file_id, row_number, raw_record, reason_code, reason) from stdin"
        ) as copy:
            for row_number, raw, code, reason in read_problems:
                copy.write_row((file_id, row_number, _clean(raw), code, reason))
    as_delivered = _as_delivered_sql(stream.columns if stream else [c.name for c in spec.columns],
                                     stream.delimiter if stream else ",")
    quarantined = conn.execute(
        f"""insert into ingest.quarantine (file_id, row_number, raw_record, reason_code, reason)
            select %(file_id)s, c._row_number,
                   case when problem.code = 'erased' then '(erased on request)'
                        else coalesce(c._raw, {as_delivered}) end,
                   problem.code,
                   problem.column_name || ': ' || coalesce(codes.description, problem.code)
            from checked c
            join incoming_text t on t._row_number = c._row_number
            cross join lateral (
                select split_part(c._problem, ':', 1) as column_name, split_part(c._problem, ':', 2) as code
            ) problem
            left join ingest.reason_codes codes on codes.reason_code = problem.code
            where c._problem is not null
            union all
            select %(file_id)s, c._row_number, coalesce(c._raw, {as_delivered}),
                   'duplicate_key_in_file', 'key {'/'.join(spec.key)} appears more than once with different content'
            from checked c
            join repeated_keys r using ({keys})
            join incoming_text t on t._row_number = c._row_number
            where c._problem is null and r.conflicting""",
        {"file_id": file_id},
    ).rowcount
    # The current version of each key the file brings, as the loader keeps it (`_is_current`, see _elect_current).
    conn.execute(f"create temporary table current_rows on commit drop as {current_rows_select(spec)}")
    conn.execute("analyze current_rows")
    # The rows to load: a new key, or a key whose content changed. A new version becomes current unless the current
    # one came with a later delivery (a file delivered out of order); on the same day the later file wins, as in
    # _elect_current. Read twice (the insert, the versions it replaces), never stored: a copy of a whole file's
    # rows costs more than the second, key-driven read.
    new_versions = f"""new_versions as (
            select c.*, coalesce(current.delivered_on <= %(delivered_on)s, true) as _becomes_current
            from checked c
            left join repeated_keys r using ({keys})
            left join current_rows current using ({keys})
            where c._problem is null
              and (r.first_row is null or (not r.conflicting and c._row_number = r.first_row))
              and current._row_hash is distinct from c._row_hash)"""
    # Keyed pseudonyms of the values the typed rows carry (a snapshot's records delivered as their current version
    # are not among them, see unchanged_records): each distinct value once, HMAC in SQL (checks.pseudonymised).
    inner_pad, outer_pad = hmac_pads(key)
    values = " union ".join(
        f"select distinct {sql_literal(namespace)}, {column} from checked where _problem is null"
        f" and {column} is not null"
        + (f" and {column}_status = 'valid'" if namespace == "person" else "")
        for column, namespace, _ in pseudonymised(spec)
    )
    if values:
        conn.execute(
            f"""create temporary table pseudonyms on commit drop as
                select namespace, value, ingest.pseudonym(value, namespace, %s, %s) as pseudonym
                from ({values}) v (namespace, value)""",
            (inner_pad, outer_pad),
        )
        conn.execute("analyze pseudonyms")
    pseudonym_joins, pseudonym_of = "", {}
    for index, (column, namespace, target) in enumerate(pseudonymised(spec)):
        pseudonym_joins += (f" left join pseudonyms p{index} on p{index}.namespace = {sql_literal(namespace)}"
                            f" and p{index}.value = c.{column}"
                            + (f" and c.{column}_status = 'valid'" if namespace == "person" else ""))
        pseudonym_of[target] = f"p{index}.pseudonym"
    columns = [name for name, _ in raw_columns(spec)]
    selected = [("%(file_id)s" if name == "_file_id" else pseudonym_of.get(name, f"c.{name}")) for name in columns]
    columns.append("_is_current")
    selected.append("c._becomes_current")
    if skips_unchanged:
        columns.append("_delivered_text_hash")
        selected.append("delivered.text_hash")
        pseudonym_joins += " join delivered_text delivered on delivered._row_number = c._row_number"
    inserted = conn.execute(
        f"""
        with {new_versions}
        insert into {spec.raw_table} ({', '.join(columns)})
        select {', '.join(selected)}
        from new_versions c{pseudonym_joins}
        """,
        {"file_id": file_id, "delivered_on": delivered},
    ).rowcount
    if skips_unchanged:
        # A record found unchanged only once typed (its text differs, its values do not): the current version is
        # known by this text from here on, and skipped without typing next time.
        conn.execute(
            f"""update {spec.raw_table} r set _delivered_text_hash = delivered.text_hash
                from checked c
                join current_rows current using ({keys})
                left join repeated_keys repeated using ({keys})
                join delivered_text delivered on delivered._row_number = c._row_number
                where c._problem is null and repeated.first_row is null and current._row_hash = c._row_hash
                  and r._is_current and {_same_key(spec, "r", "c")}
                  and r._delivered_text_hash is distinct from delivered.text_hash"""
        )
    # The versions the new ones replace as current (driven by current_rows: nothing to do for new keys).
    conn.execute(
        f"""with {new_versions}
            update {spec.raw_table} r set _is_current = false
            from current_rows replaced
            join new_versions n using ({keys})
            where n._becomes_current and r._is_current and r._file_id <> %(file_id)s
              and {_same_key(spec, "r", "replaced")}""",
        {"file_id": file_id, "delivered_on": delivered},
    )
    return inserted, len(read_problems) + quarantined


def inbox_files(inbox: Path) -> list[Path]:
    """The inbox's files in arrival order: its own files oldest delivery first, then each sub-folder's the same way,
    folders in name order. A file re-sent with a correction has the name of the one it corrects, so a later
    arrival has to wait in a folder of its own (the generator's `resent/`)."""

    def visible(folder: Path) -> list[Path]:
        return [p for p in folder.iterdir() if not p.name.startswith(".")]

    entries = visible(inbox)
    files = sorted((p for p in entries if p.is_file()), key=lambda p: contract.arrival_order(p.name))
    for folder in sorted(p for p in entries if p.is_dir()):
        files += sorted((p for p in visible(folder) if p.is_file()), key=lambda p: contract.arrival_order(p.name))
    return files


def ingest_inbox(inbox: Path, sources: tuple[str, ...] | None = None, workers: int | None = None,
                 drain: bool = False) -> list[FileResult]:
    """Every file of the inbox (of the given sources), each in its own transaction. A feed's files load in
    arrival order, one after another (a snapshot or a correction is compared with what came before it); different
    feeds share nothing, so they load side by side on `workers` connections (config.ingest_workers()), the
    largest feeds first. Results come back in arrival order. With `drain`, every file the manifest recorded leaves
    the inbox (`drain_inbox`)."""
    from concurrent.futures import ThreadPoolExecutor

    from kopru import warehouse

    files = inbox_files(Path(inbox))
    if sources:
        files = [p for p in files if contract.sender_family(p.name) in sources]
    key = config.pseudonym_key()
    feeds: dict[tuple[str, str], list[Path]] = {}
    for path in files:
        name = contract.parse_file_name(path.name)
        feeds.setdefault((name.source, name.feed) if name else ("unknown", path.name), []).append(path)
    queue = sorted(feeds.values(), key=lambda paths: -sum(p.stat().st_size for p in paths))

    def land_feed(paths: list[Path]) -> list[tuple[Path, FileResult]]:
        results = []
        with warehouse.connect(autocommit=True, role="loader") as conn:
            for path in paths:
                try:
                    results.append((path, ingest_file(conn, path, key)))
                except Exception as error:
                    # A file that breaks the loader itself must not stop the others; its transaction rolled
                    # back, so it will be retried on the next run. Only the error's type is logged: database
                    # errors quote row values, which may be personal.
                    log.error("loading %s failed (%s); it will be retried on the next run", path.name,
                              type(error).__name__)
                    results.append((path, FileResult(path.name, -1, "error", reason_code="loader_error")))
        return results

    with warehouse.connect(autocommit=True, role="loader") as conn:
        check_pseudonym_key(conn, key)
    with ThreadPoolExecutor(max_workers=workers or config.ingest_workers()) as pool:
        landed = dict(pair for batch in pool.map(land_feed, queue) for pair in batch)
    results = [landed[path] for path in files]
    with warehouse.connect(autocommit=True, role="loader") as conn:
        origin.record_generated(conn, [r.file_id for r in results if r.file_id > 0], origin.generated_hashes(inbox))
        # Fresh statistics where a load changed a table's size noticeably, so the dbt build that follows plans
        # with them rather than with autovacuum's guesses (a build right after a large first load otherwise chooses
        # nested loops). A day's few hundred rows in a table of a million change nothing the planner would see
        # (autovacuum's own threshold is a tenth of the table), and analysing it costs half a second.
        loaded: dict[str, int] = {}
        for result in results:
            if result.rows_loaded:
                loaded[result.raw_table] = loaded.get(result.raw_table, 0) + result.rows_loaded
        for table, rows in sorted(loaded.items()):
            (estimated,) = conn.execute("select reltuples from pg_class where oid = %s::regclass", (table,)).fetchone()
            if estimated < 0 or rows > STATISTICS_STALE_SHARE * estimated:
                conn.execute(f"analyze {table}")
        conn.execute("analyze ingest.files")
    if drain:
        drain_inbox(files, results)
    return results


def drain_inbox(files: list[Path], results: list[FileResult]) -> None:
    """Move each file the manifest recorded (loaded, duplicate or rejected) out of the inbox, into
    `archive/processed/<Istanbul day>/`, so that the next run reads only new deliveries instead of hashing every file
    ever delivered again. A file that failed to load stays, to be retried. A rejected file's bytes are already in
    `archive/rejected/`. A later re-delivery of the same bytes is still known by its hash in ingest.files."""
    from kopru import periods

    day_folder = config.archive_dir() / "processed" / periods.local_day().isoformat()
    for path, result in zip(files, results, strict=True):
        if result.status == "error" or not path.exists():
            continue
        if result.status == "rejected":
            path.unlink()
            continue
        day_folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = day_folder / path.name
        if target.exists():  # the same name twice in a day (a corrected file): kept apart by its hash
            target = day_folder / f"{file_sha256(path)[0][:12]}_{path.name}"
        shutil.move(path, target)
        target.chmod(0o600)
