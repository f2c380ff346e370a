"""Generated or real: which deliveries `kopru generate` wrote.

The generator lists the files it writes, by SHA-256, in a hidden marker file of the inbox (`.kopru_generated.json`;
the loader never takes a dot-file for a delivery). After a run lands an inbox, the files whose bytes match the
marker are recorded as generated (`ingest.files.is_generated`). Reports built from a warehouse holding generated data
say so on every page and sheet, and the publication gate refuses a warehouse that holds both generated and real
deliveries (`refuse_mixed_origins`): sample rows must never be counted as families.
"""

from __future__ import annotations

import json
from pathlib import Path

from psycopg.rows import tuple_row

MARKER_FILE = ".kopru_generated.json"
MARKER_MAX_BYTES = 16 << 20  # the marker of a ten-year daily story is a few MB; a larger one is not ours
SAMPLE_NOTE_TR = "ÖRNEK VERİ — gerçek kişi bilgisi içermez"


class GeneratedDataMixed(RuntimeError):
    """The warehouse holds generated and real deliveries side by side."""


def generated_hashes(inbox: Path) -> frozenset[str]:
    """The hashes the inbox's marker lists (none without a marker, or with one that is not the generator's)."""
    marker = Path(inbox) / MARKER_FILE
    if not marker.is_file() or marker.stat().st_size > MARKER_MAX_BYTES:
        return frozenset()
    try:
        files = json.loads(marker.read_text(encoding="utf-8")).get("files", {})
    except (ValueError, UnicodeDecodeError, AttributeError):
        return frozenset()
    return frozenset(value for value in files.values() if isinstance(value, str) and len(value) == 64)


def record_generated(conn, file_ids: list[int], hashes: frozenset[str]) -> int:
    """Mark the landed files whose bytes the generator wrote; how many."""
    if not hashes or not file_ids:
        return 0
    return conn.execute(
        "update ingest.files set is_generated = true where file_id = any(%s) and sha256 = any(%s) and not is_generated",
        (file_ids, sorted(hashes))).rowcount


def holds_generated(conn) -> bool:
    """Whether any delivery the warehouse holds was generated."""
    with conn.cursor(row_factory=tuple_row) as cursor:
        return bool(cursor.execute(
            "select exists (select from ingest.files where status = 'loaded' and is_generated)").fetchone()[0])


def refuse_mixed_origins(conn) -> None:
    with conn.cursor(row_factory=tuple_row) as cursor:
        generated, real = cursor.execute(
            """select count(*) filter (where is_generated), count(*) filter (where not is_generated)
               from ingest.files where status = 'loaded'""").fetchone()
    if generated and real:
        raise GeneratedDataMixed(
            f"the warehouse holds {generated} generated (sample) deliveries beside {real} real ones, and sample rows "
            "must never count as families: nothing is published until the generated ones are removed (load the real "
            "deliveries into a warehouse of their own, or restore a backup taken before the sample was loaded)")
