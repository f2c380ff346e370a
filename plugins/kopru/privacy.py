"""What the data-protection law (KVKK, Law 6698) asks of the warehouse: erasure on request, and the audit of it.

`erase(tckn, reason, requested_by)` removes a person, and the family they head, from everything Köprü holds about
them: every raw table's history (by national ID, by the municipal household and person records, and the NGO rows
the linkage attached to them), the quarantine, the archived copies of delivered and rejected files, and, through
a full rebuild and publication, the marts. It keeps:

- tombstones (`privacy.tombstones`): keyed pseudonyms of the erased IDs and records, never the IDs, so that a later
  delivery of the same person is quarantined with reason `erased` instead of loaded again;
- an audit row (`privacy.erasures`): when, who, why and how many rows, without the ID;
- what must stay for legal reasons as aggregates: the reports already published (`archive/reports/`).

Erasure holds every feed's loader lock and the build lock, so nothing is loaded, built or published beside it.
"""

from __future__ import annotations

import getpass
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from psycopg import sql

from kopru import config

log = logging.getLogger(__name__)

_TCKN = re.compile(r"[0-9]{11}")


class ErasureRefused(Exception):
    """An erasure request that cannot be carried out as asked; the message says why."""


@dataclass
class Erasure:
    erasure_id: int
    persons: int
    households: int
    rows_erased: dict[str, int] = field(default_factory=dict)
    quarantine_rows_erased: int = 0
    archived_files_scrubbed: int = 0
    published: bool = False

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def erase(tckn: str, reason: str, requested_by: str | None = None, rebuild: bool = True) -> Erasure:
    """Erase the person with this national ID (and, when they head a household, the family) from raw history,
    quarantine, archives and marts; keep tombstones and an audit row. `rebuild=False` leaves the marts to the
    next scheduled build (tests of the raw side)."""
    from kopru import warehouse

    tckn = tckn.strip()
    if not _TCKN.fullmatch(tckn):
        raise ErasureRefused("a national ID (TCKN or YKN) is 11 digits")
    if not reason.strip():
        raise ErasureRefused("an erasure needs its reason (--reason), for the audit record")
    requested_by = (requested_by or getpass.getuser()).strip()
    key = config.pseudonym_key()
    with warehouse.marts_build_lock(), warehouse.connect(role="loader") as conn:
        _lock_every_feed(conn)
        held = _what_is_held(conn, tckn)
        rows_erased = _erase_raw_rows(conn, held)
        quarantine_rows = _erase_quarantine(conn, held.tokens)
        erasure_id = conn.execute(
            """insert into privacy.erasures (requested_by, reason, persons, households, rows_erased,
                                             quarantine_rows_erased, archived_files_scrubbed, published)
               values (%s, %s, %s, %s, %s, %s, 0, false) returning erasure_id""",
            (requested_by, reason.strip(), len(held.tckns), len(held.household_ids), json.dumps(rows_erased),
             quarantine_rows),
        ).fetchone()[0]
        _keep_tombstones(conn, erasure_id, held, key)
        conn.commit()
    scrubbed = scrub_archives(held.tokens)
    erasure = Erasure(erasure_id, len(held.tckns), len(held.household_ids), rows_erased, quarantine_rows, scrubbed)
    if rebuild:
        erasure.published = _rebuild_and_publish()
    with warehouse.connect(role="loader") as conn:
        conn.execute("update privacy.erasures set archived_files_scrubbed = %s, published = %s where erasure_id = %s",
                     (scrubbed, erasure.published, erasure_id))
        conn.commit()
    log.info("erasure %s: %s raw rows, %s quarantined rows, %s archived files", erasure_id,
             sum(rows_erased.values()), quarantine_rows, scrubbed)
    return erasure


@dataclass
class Held:
    """The erased person's (or family's) identifiers in clear, found in the raw tables: used in this transaction
    only, never stored."""

    tckns: set[str]
    person_ids: set[str]
    household_ids: set[str]
    aid_ids: set[str]

    @property
    def tokens(self) -> set[str]:
        return self.tckns | self.person_ids | self.household_ids | self.aid_ids


def _lock_every_feed(conn) -> None:
    """The loader's lock of every feed (an NGO's files are a feed of their own), in one order."""
    from kopru.ingest.contract import FEEDS
    from kopru.ingest.loader import _lock_feed
    from kopru.ingest.stk import all_mappings

    for source, feed in [*FEEDS, *(("stk", mapping.ngo_code) for mapping in all_mappings())]:
        _lock_feed(conn, source, feed)


def _what_is_held(conn, tckn: str) -> Held:
    """The person's IDs; when they head a household (in any version), the whole family's."""
    households = {h for (h,) in conn.execute(
        "select distinct household_id from raw.belediye__households where head_tckn = %s", (tckn,))}
    members = conn.execute(
        """select distinct person_id, tckn from raw.belediye__persons
           where tckn = %s or household_id = any(%s)""", (tckn, list(households))).fetchall()
    person_ids = {p for p, _ in members}
    tckns = {tckn} | {t for _, t in members if t}
    aid_ids = {a for (a,) in conn.execute(
        "select distinct aid_id from raw.belediye__aid where household_id = any(%s) or person_id = any(%s)",
        (list(households), list(person_ids)))}
    return Held(tckns, person_ids, households, aid_ids)


def _erase_raw_rows(conn, held: Held) -> dict[str, int]:
    """Delete every version of every raw row that names them; re-elect the current version of the keys touched
    (an NGO row's key is its place in a month's file, which an earlier file may have held for someone else).
    Each file's `rows_erased` counts its rows taken out."""
    from kopru.ingest.contract import FEEDS, STK_AID_ROWS

    values = {"person": list(held.tckns), "person_key": list(held.person_ids),
              "household_key": list(held.household_ids)}
    counts: dict[str, int] = {}
    for spec in [*FEEDS.values(), STK_AID_ROWS]:
        conditions = [sql.SQL("{} = any({})").format(sql.Identifier(name), sql.Literal(values["person"]))
                      for name in spec.identity_columns]
        conditions += [sql.SQL("{} = any({})").format(sql.Identifier(c.name), sql.Literal(values[c.key]))
                       for c in spec.keyed_columns]
        if (spec.source, spec.feed) == ("devlet", "isas_alindi"):
            conditions.append(sql.SQL("belediye_yardim_no = any({})").format(sql.Literal(list(held.aid_ids))))
        if spec.source == "stk":
            conditions.append(_linked_ngo_rows(conn, held))
        taken = _take_out(conn, spec, sql.SQL(" or ").join(conditions))
        if taken:
            counts[spec.raw_table] = taken
    return counts


def _take_out(conn, spec, condition: sql.Composable) -> int:
    """Delete the raw rows of `spec` that meet `condition`; count them in their files' `rows_erased`, and re-elect
    the current version of the keys they held (the versions left, if any). Returns how many rows went."""
    from kopru.ingest.loader import _elect_current

    schema, table = spec.raw_table.split(".")
    deleted = conn.execute(sql.SQL(
        """with deleted as (delete from {table} where {condition} returning *)
           select _file_id, {key} from deleted""").format(
        table=sql.Identifier(schema, table), condition=condition,
        key=sql.SQL(", ").join(map(sql.Identifier, spec.key)))).fetchall()
    if not deleted:
        return 0
    per_file: dict[int, int] = {}
    for row in deleted:
        per_file[row[0]] = per_file.get(row[0], 0) + 1
    with conn.cursor() as cursor:
        cursor.executemany("update ingest.files set rows_erased = rows_erased + %s where file_id = %s",
                           [(rows, file_id) for file_id, rows in per_file.items()])
    keys = sql.SQL(" union ").join(sql.SQL("select {}").format(sql.SQL(", ").join(map(sql.Literal, key)))
                                   for key in {row[1:] for row in deleted})
    _elect_current(conn, spec, keys.as_string(conn))
    return len(deleted)


def _linked_ngo_rows(conn, held: Held) -> sql.Composable:
    """NGO rows the linkage attached to them by name (rows without a usable ID), from the last build's linkage,
    which the transformer owns: looked up as the transformer, deleted from raw as the loader."""
    from kopru import warehouse
    from kopru.identity import pseudonym

    key = config.pseudonym_key()
    with warehouse.connect(role="transformer") as linkage:
        if linkage.execute("select to_regclass('staging.int_ngo_rows__linked')").fetchone()[0] is None:
            return sql.SQL("false")
        rows = linkage.execute(
            """select ngo_code, delivery_month, row_in_file from staging.int_ngo_rows__linked
               where person_key = any(%s) or household_key = any(%s)""",
            ([pseudonym(p, key, "person_key") for p in held.person_ids],
             [pseudonym(h, key, "household_key") for h in held.household_ids])).fetchall()
    if not rows:
        return sql.SQL("false")
    return sql.SQL("(ngo_code, delivery_month, row_in_file) in ({})").format(
        sql.SQL(", ").join(sql.SQL("({}, {}, {})").format(*map(sql.Literal, row)) for row in rows))


def _token_pattern(tokens: set[str]) -> str:
    """A regular expression (PostgreSQL's and Python's alike) matching any token as a whole field."""
    return r"(^|[^0-9A-Za-z])(" + "|".join(sorted(map(re.escape, tokens))) + r")([^0-9A-Za-z]|$)"


def _erase_quarantine(conn, tokens: set[str]) -> int:
    if not tokens:
        return 0
    return conn.execute("delete from ingest.quarantine where raw_record ~ %s", (_token_pattern(tokens),)).rowcount


def _keep_tombstones(conn, erasure_id: int, held: Held, key: bytes) -> None:
    from kopru.identity import is_valid_id, pseudonym

    tombstones = [("person", pseudonym(t, key, "person")) for t in held.tckns if is_valid_id(t)]
    tombstones += [("person_key", pseudonym(p, key, "person_key")) for p in held.person_ids]
    tombstones += [("household_key", pseudonym(h, key, "household_key")) for h in held.household_ids]
    with conn.cursor() as cursor:
        cursor.executemany(
            """insert into privacy.tombstones (namespace, pseudonym, erasure_id) values (%s, %s, %s)
               on conflict do nothing""", [(namespace, value, erasure_id) for namespace, value in tombstones])


def scrub_archives(tokens: set[str]) -> int:
    """Take every line (CSV, JSON Lines) or row (XLSX) naming them out of the archived copies of delivered and
    rejected files; returns how many files changed. Published reports (aggregates) are kept as they are."""
    if not tokens:
        return 0
    pattern = re.compile(_token_pattern(tokens).encode())
    scrubbed = 0
    for folder in ("processed", "rejected"):
        for path in sorted((config.archive_dir() / folder).rglob("*")):
            if path.is_file() and _scrub_file(path, pattern):
                scrubbed += 1
    return scrubbed


def _scrub_file(path: Path, pattern: re.Pattern) -> bool:
    if path.suffix.lower() == ".xlsx":
        return _scrub_workbook(path, pattern)
    data = path.read_bytes()
    if not pattern.search(data):
        return False
    kept = b"".join(line for line in data.splitlines(keepends=True) if not pattern.search(line))
    _replace(path, kept)
    return True


def _scrub_workbook(path: Path, pattern: re.Pattern) -> bool:
    from openpyxl import load_workbook

    from kopru.reports import xlsx

    book = load_workbook(path)
    changed = False
    for sheet in book.worksheets:
        for index in range(sheet.max_row, 0, -1):
            if any(cell.value is not None and pattern.search(str(cell.value).encode()) for cell in sheet[index]):
                sheet.delete_rows(index)
                changed = True
    if changed:
        partial = path.with_name(f".{path.name}.part")
        xlsx.save(book, partial)
        partial.replace(path)
    return changed


def _replace(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.part")
    partial.write_bytes(data)
    partial.chmod(0o600)
    partial.replace(path)


def _rebuild_and_publish() -> bool:
    """A full rebuild of the marts without them, through the publication gate; then a second, ordinary build, which
    rewrites the tables the swap handed back to `marts_build` from the marts that held them. False when the gate
    blocked (the published marts then keep them until the next publication, and the operator is told)."""
    from kopru import transform
    from kopru.quality.gate import BUILD_SCHEMA, QualityGateBlocked, run_gate

    transform.build(marts_schema=BUILD_SCHEMA, full_refresh=True, unit_tests=False)
    try:
        run_gate()
    except QualityGateBlocked:
        log.warning("the rebuilt marts were not published (a critical check failed): the published marts still "
                    "hold the erased rows until the next publication")
        return False
    transform.build(marts_schema=BUILD_SCHEMA, unit_tests=False)
    return True


def apply_retention(as_of, rebuild: bool = True) -> dict:
    """Purge what is older than its retention (config.retention()) as of the Istanbul day `as_of`: the raw rows and
    quarantined records of files delivered before the cut-off, and archived files older than `archive_years`; then
    rebuild and publish the marts in full, so that nothing purged lives on in them. Recorded in
    privacy.retention_runs."""
    from datetime import timedelta

    from kopru import warehouse
    from kopru.ingest.contract import FEEDS, STK_AID_ROWS

    policy = config.retention()

    def cut_off(years: float):
        return as_of - timedelta(days=round(365.25 * years))

    purged: dict[str, int] = {}
    with warehouse.marts_build_lock(), warehouse.connect(role="loader") as conn:
        _lock_every_feed(conn)
        quarantine = 0
        for spec in [*FEEDS.values(), STK_AID_ROWS]:
            feeds = conn.execute(
                "select distinct source, feed from ingest.files where source = %s and (%s or feed = %s)",
                (spec.source, spec.source == "stk", spec.feed)).fetchall()
            for source, feed in feeds:
                old_files = [f for (f,) in conn.execute(
                    "select file_id from ingest.files where source = %s and feed = %s and delivered_on < %s",
                    (source, feed, cut_off(policy.raw_years_of(source, feed))))]
                if not old_files:
                    continue
                quarantine += conn.execute("delete from ingest.quarantine where file_id = any(%s)",
                                           (old_files,)).rowcount
                taken = _take_out(conn, spec, sql.SQL("_file_id = any({})").format(sql.Literal(old_files)))
                if taken:
                    purged[spec.raw_table] = purged.get(spec.raw_table, 0) + taken
        archived = _purge_archives(cut_off(policy.archive_years))
        conn.execute(
            """insert into privacy.retention_runs (as_of, rows_purged, quarantine_rows_purged, archived_files_purged)
               values (%s, %s, %s, %s)""", (as_of, json.dumps(purged), quarantine, archived))
        conn.commit()
    published = _rebuild_and_publish() if rebuild and purged else None
    return {"as_of": str(as_of), "rows_purged": purged, "quarantine_rows_purged": quarantine,
            "archived_files_purged": archived, "published": published}


def _purge_archives(before) -> int:
    """Archived files delivered before the day `before`: processed ones by their day folder, rejected ones by the
    day they were archived."""
    from datetime import date, datetime

    purged = 0
    processed = config.archive_dir() / "processed"
    for folder in sorted(processed.glob("*")) if processed.exists() else []:
        try:
            day = date.fromisoformat(folder.name)
        except ValueError:
            continue
        if day < before:
            for path in folder.rglob("*"):
                if path.is_file():
                    path.unlink()
                    purged += 1
            for leftover in sorted(folder.rglob("*"), reverse=True):
                leftover.rmdir()
            folder.rmdir()
    for path in (config.archive_dir() / "rejected").glob("*"):
        if path.is_file() and datetime.fromtimestamp(path.stat().st_mtime).date() < before:
            path.unlink()
            purged += 1
    return purged
