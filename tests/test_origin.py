"""Sample data can never pass for real data: what `kopru generate` wrote is recorded as generated, every report page
and sheet built from it says so, and a warehouse that mixes generated and real deliveries publishes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import psycopg
import pytest


def test_generated_deliveries_are_recorded_and_a_mix_with_real_ones_is_never_published(warehouse_url, tmp_path):
    from kopru import warehouse
    from kopru.generate.sample import generate
    from kopru.ingest.loader import ingest_inbox
    from kopru.ingest.origin import MARKER_FILE, GeneratedDataMixed
    from kopru.quality.gate import run_gate

    inbox = tmp_path / "inbox"
    generate("İstanbul/Sultangazi", 40, date(2024, 1, 1), date(2024, 2, 29), 3, inbox)
    lines = (inbox / "belediye_aid_20240201.csv").read_text(encoding="utf-8").splitlines()
    with warehouse.scratch_database("kopru_origin", warehouse_url) as url:
        ingest_inbox(inbox, drain=True)
        assert (inbox / MARKER_FILE).exists()  # a dot-file: never taken for a delivery, never drained
        with psycopg.connect(url) as conn:
            origins = conn.execute("select is_generated, count(*) from ingest.files where status = 'loaded' "
                                   "group by 1").fetchall()
        assert len(origins) == 1 and origins[0][0] is True and origins[0][1] > 20
        # a real delivery: bytes the generator never wrote, in an inbox without its marker
        real = tmp_path / "real"
        real.mkdir()
        first_row = lines[1].split(",")
        first_row[0] = "Y9999999"
        (real / "belediye_aid_20240302.csv").write_text("\n".join([lines[0], ",".join(first_row)]) + "\n",
                                                        encoding="utf-8")
        assert [r.status for r in ingest_inbox(real)] == ["loaded"]
        with pytest.raises(GeneratedDataMixed, match="generated .*beside 1 real"):
            run_gate()
        done = subprocess.run([sys.executable, "-m", "kopru.cli", "publish"], capture_output=True, text=True,
                              env={**os.environ, "KOPRU_WAREHOUSE_URL": url}, timeout=300)
        assert done.returncode == 2 and "sample rows must never count as families" in done.stderr
        assert "Traceback" not in done.stderr
