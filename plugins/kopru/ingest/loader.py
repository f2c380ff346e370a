"""Land delivered files in the warehouse: one transaction per file, manifest and rows together.

For every file that was read: rows_in = rows_loaded + rows_quarantined + rows_duplicate (a CHECK constraint on
ingest.files holds us to it). A file that cannot be read is recorded as `rejected` and archived; the next file
goes on. Identical bytes are recorded once as `duplicate_file`; a different file for the same source, feed and
delivery date supersedes the earlier one, whose rows stay in raw history but leave "current".

Every raw table keeps versions: a row is loaded when its business key is new or its content changed, and
counted as a duplicate when the same key with the same content is already current. "Current" for a key is its
latest version among files that are not superseded.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from kopru import config
from kopru.identity import is_valid_id, pseudonym
from kopru.ingest import contract
from kopru.ingest.contract import FeedSpec
from kopru.ingest.manifest import seed_reason_codes
from kopru.ingest.readers import (
    FileRejected,
    RawRecord,
    decode,
    expected_headers,
    read_csv,
    read_jsonl,
    validate,
)

log = logging.getLogger(__name__)

LINEAGE_COLUMNS = ("_file_id", "_row_number", "_row_hash")


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

    def as_xcom(self) -> dict:
        """Counts and ids only: nothing personal goes through XCom."""
        return {k: v for k, v in self.__dict__.items()}


@dataclass
class Prepared:
    """A file read and validated, ready to land."""

    spec: FeedSpec
    rows: list[tuple] = field(default_factory=list)
    quarantine: list[tuple[int, str, str, str]] = field(default_factory=list)
    duplicates_in_file: int = 0
    rows_in: int = 0


def identity_status(value: str | None) -> str:
    if value is None or value == "":
        return "missing"
    if "e" in value.lower() and any(c.isdigit() for c in value):
        return "scientific_notation"
    if not value.isdigit() or len(value) != 11:
        return "bad_format"
    return "valid" if is_valid_id(value) else "invalid_checksum"


def raw_columns(spec: FeedSpec) -> list[tuple[str, str]]:
    """(name, type) of the raw table, in order: the contract's columns, the derived identity columns, lineage."""
    columns = [(c.name, c.pg_type) for c in spec.columns]
    for name in spec.identity_columns:
        columns += [(f"{name}_status", "text"), (f"{name}_pseudonym", "text")]
    columns += [(c.key, "text") for c in spec.keyed_columns]
    columns += [("_file_id", "bigint"), ("_row_number", "integer"), ("_row_hash", "text")]
    return columns


def ensure_raw_table(conn, spec: FeedSpec) -> None:
    table = spec.raw_table
    column_sql = ",\n    ".join(f"{name} {pg_type}" for name, pg_type in raw_columns(spec))
    key_sql = ", ".join(spec.key)
    index = table.replace(".", "_").replace("raw_", "")
    conn.execute(
        f"""
        create table if not exists {table} (
            {column_sql},
            _loaded_at timestamptz not null default now(),
            primary key (_file_id, _row_number)
        );
        create index if not exists {index}_key on {table} ({key_sql});
        """
    )


def prepare(records, spec: FeedSpec, key: bytes) -> Prepared:
    prepared = Prepared(spec)
    seen: dict[tuple, tuple[str, int]] = {}
    conflicted: set[tuple] = set()
    candidates: list[tuple[tuple, str, RawRecord, tuple]] = []
    for record in records:
        prepared.rows_in += 1
        typed, problem = validate(record, spec)
        if problem:
            prepared.quarantine.append((record.row_number, record.raw, *problem))
            continue
        assert typed is not None
        values = [typed[c.name] for c in spec.columns]
        for name in spec.identity_columns:
            value = typed[name]
            status = identity_status(value)
            values += [status, pseudonym(value, key) if status == "valid" else None]
        for column in spec.keyed_columns:
            value = typed[column.name]
            values.append(None if value is None else pseudonym(value, key, column.key))
        row_hash = hashlib.md5("\x1f".join("" if v is None else str(v) for v in values).encode()).hexdigest()
        business_key = tuple(typed[k] for k in spec.key)
        if business_key in seen:
            if seen[business_key][0] == row_hash:
                prepared.duplicates_in_file += 1
                continue
            conflicted.add(business_key)
        else:
            seen[business_key] = (row_hash, record.row_number)
        candidates.append((business_key, row_hash, record, tuple(values)))
    for business_key, row_hash, record, values in candidates:
        if business_key in conflicted:
            prepared.quarantine.append(
                (record.row_number, record.raw, "duplicate_key_in_file",
                 f"key {'/'.join(spec.key)} appears more than once with different content")
            )
        else:
            prepared.rows.append((*values, record.row_number, row_hash))
    return prepared


def read_file(data: bytes, name: contract.FileName) -> tuple[FeedSpec, object]:
    """Records of a delivered file, per its spec; STK files go through their NGO's mapping."""
    if name.source == "stk":
        from kopru.ingest import stk

        return stk.read(data, name)
    spec = contract.FEEDS.get((name.source, name.feed))
    if spec is None:
        raise FileRejected("unknown_feed", f"{name.source}/{name.feed} is not a feed of the contract")
    text = decode(data, spec.formats.encoding)
    if spec.formats.file_format == "jsonl":
        return spec, read_jsonl(text, spec)
    _, records = read_csv(text, spec.formats.delimiter, expected_headers(spec))
    return spec, records


def delivered_on(name: contract.FileName) -> date | None:
    stamp = name.stamp
    try:
        if len(stamp) == 8:
            return date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:]))
        return date(int(stamp[:4]), int(stamp[4:6]), 1)
    except ValueError:
        return None


def _has_records(data: bytes) -> bool:
    if data[:2] == b"PK":  # XLSX: a zip, compared whole
        return True
    return len([line for line in data.splitlines() if line.strip()]) > 1 or data.lstrip().startswith(b"{")


def _archive(path: Path, sha256: str) -> str:
    target = config.archive_dir() / "rejected" / f"{sha256[:16]}_{path.name}"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        shutil.copyfile(path, target)
    return str(target)


def ingest_file(conn, path: Path, key: bytes) -> FileResult:
    """Land one file in its own transaction. The caller's connection must not be in a transaction."""
    data = path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    name = contract.parse_file_name(path.name)
    source = name.source if name else "unknown"
    feed = name.feed if name else None
    delivered = delivered_on(name) if name else None
    with conn.transaction():
        # One loader at a time: superseding and de-duplication compare against what is current.
        conn.execute("select pg_advisory_xact_lock(hashtext('kopru.ingest'))")

        def record(status: str, **fields) -> int:
            columns = ["source", "feed", "file_name", "sha256", "size_bytes", "delivered_on", "status", *fields]
            values = [source, feed, path.name, sha256, len(data), delivered, status, *fields.values()]
            placeholders = ", ".join(["%s"] * len(values))
            return conn.execute(
                f"insert into ingest.files ({', '.join(columns)}) values ({placeholders}) returning file_id", values
            ).fetchone()[0]

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
            spec, records = read_file(data, name)
            prepared = prepare(records, spec, key)
        except FileRejected as rejected:
            file_id = record("rejected", reason_code=rejected.reason_code, reason=rejected.reason,
                             archived_path=_archive(path, sha256))
            log.warning("rejected %s: %s", path.name, rejected.reason_code)
            return FileResult(path.name, file_id, "rejected", source, feed,
                              reason_code=rejected.reason_code, reason=rejected.reason)

        file_id = record("loaded", rows_in=prepared.rows_in)
        conn.execute(
            """update ingest.files set status = 'superseded', superseded_by = %s
               where source = %s and feed = %s and delivered_on = %s and status = 'loaded' and file_id <> %s""",
            (file_id, source, feed, delivered, file_id),
        )
        rows_loaded = _land_rows(conn, spec, file_id, prepared.rows)
        if prepared.quarantine:
            with conn.cursor().copy(
                "copy ingest.quarantine (file_id, row_number, raw_record, reason_code, reason) from stdin"
            ) as copy:
                for row_number, raw, code, reason in prepared.quarantine:
                    copy.write_row((file_id, row_number, raw.replace("\x00", ""), code, reason))
        result = FileResult(
            path.name, file_id, "loaded", source, feed,
            rows_in=prepared.rows_in,
            rows_loaded=rows_loaded,
            rows_quarantined=len(prepared.quarantine),
            rows_duplicate=prepared.rows_in - rows_loaded - len(prepared.quarantine),
        )
        conn.execute(
            """update ingest.files set rows_loaded = %s, rows_quarantined = %s, rows_duplicate = %s
               where file_id = %s""",
            (result.rows_loaded, result.rows_quarantined, result.rows_duplicate, file_id),
        )
        return result


def _land_rows(conn, spec: FeedSpec, file_id: int, rows: list[tuple]) -> int:
    """COPY into a temporary table, then insert the rows that are not already current. Returns rows inserted."""
    ensure_raw_table(conn, spec)
    columns = [name for name, _ in raw_columns(spec)]
    content = [c for c in columns if c != "_file_id"]
    conn.execute(
        f"create temporary table incoming on commit drop as select {', '.join(content)} from {spec.raw_table} limit 0"
    )
    with conn.cursor().copy(f"copy incoming ({', '.join(content)}) from stdin") as copy:
        for row in rows:
            copy.write_row(row)
    key_match = " and ".join(f"current_row.{k} is not distinct from incoming.{k}" for k in spec.key)
    key_list = ", ".join(f"r.{k}" for k in spec.key)
    inserted = conn.execute(
        f"""
        insert into {spec.raw_table} ({', '.join(columns)})
        select {', '.join('%s' if c == '_file_id' else 'incoming.' + c for c in columns)}
        from incoming
        where not exists (
            select 1 from (
                select distinct on ({key_list}) r.*
                from {spec.raw_table} r
                join ingest.files f on f.file_id = r._file_id and f.status = 'loaded'
                where r._file_id <> %s
                order by {key_list}, f.delivered_on desc, r._file_id desc, r._row_number desc
            ) current_row
            where {key_match} and current_row._row_hash = incoming._row_hash
        )
        """,
        (file_id, file_id),
    ).rowcount
    return inserted


def _sort_key(path: Path):
    name = contract.parse_file_name(path.name)
    stamp = name.stamp.ljust(8, "0") if name else "99999999"
    return (stamp, path.name)


def inbox_files(inbox: Path) -> list[Path]:
    """The inbox's files in arrival order: its own files oldest delivery first, then each sub-folder's the same way,
    folders in name order. A file re-sent with a correction has the name of the one it corrects, so a later
    arrival has to wait in a folder of its own (the generator's `resent/`)."""

    def visible(folder: Path) -> list[Path]:
        return [p for p in folder.iterdir() if not p.name.startswith(".")]

    entries = visible(inbox)
    files = sorted((p for p in entries if p.is_file()), key=_sort_key)
    for folder in sorted(p for p in entries if p.is_dir()):
        files += sorted((p for p in visible(folder) if p.is_file()), key=_sort_key)
    return files


def ingest_inbox(inbox: Path, sources: tuple[str, ...] | None = None) -> list[FileResult]:
    """Every file of the inbox (of the given sources), oldest delivery first, each in its own transaction."""
    from kopru import warehouse

    files = inbox_files(Path(inbox))
    if sources:
        files = [p for p in files if p.name.split("_", 1)[0] in sources]
    key = config.pseudonym_key()
    results = []
    with warehouse.connect(autocommit=True) as conn:
        seed_reason_codes(conn)
        for path in files:
            try:
                results.append(ingest_file(conn, path, key))
            except Exception as error:
                # A file that breaks the loader itself must not stop the others; its transaction rolled back,
                # so it will be retried on the next run. Only the error's type is logged: database errors
                # quote row values, which may be personal.
                log.error("loading %s failed (%s); it will be retried on the next run", path.name,
                          type(error).__name__)
                results.append(FileResult(path.name, -1, "error", reason_code="loader_error"))
    return results
