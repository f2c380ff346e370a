"""Helpers the test modules share (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path


def land_file(folder: Path, name: str, data: bytes, extra_sql: str | None = None):
    """Write `data` as `folder/name`, land it with the loader, and return (result, {row_number: reason_code},
    rows of `extra_sql` run with the file id when the file was loaded). Asserts that the file reconciles."""
    import psycopg
    from kopru import warehouse
    from kopru.ingest.loader import ingest_file

    path = folder / name
    path.write_bytes(data)
    with psycopg.connect(warehouse.url(), autocommit=True) as conn:
        result = ingest_file(conn, path, b"test-key")
        reasons = dict(conn.execute(
            "select row_number, reason_code from ingest.quarantine where file_id = %s", (result.file_id,)
        ).fetchall())
        rows = conn.execute(extra_sql, (result.file_id,)).fetchall() if extra_sql and result.status == "loaded" else []
    if result.rows_in is not None:
        assert result.rows_in == result.rows_loaded + result.rows_quarantined + result.rows_duplicate
    return result, reasons, rows
