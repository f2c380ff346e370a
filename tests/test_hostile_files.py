"""Files an attacker made: each is rejected or quarantined with its reason, the loader's process stays alive and its
memory bounded, the other files of the run still land, and nothing is lost (every hostile file is archived)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from support import land_file

GIDABANKASI_HEADER = ["TCKN", "Ad Soyad", "Doğum Yılı", "Mahalle", "Ürün", "Adet", "Teslim Tarihi"]


def _workbook(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def far_cell_workbook(declares_dimension: bool) -> bytes:
    """A few KB: the NGO's header and one cell at XFD1048576, with the sheet's <dimension> saying so, or left out
    (then only the parser's own allocation of the whole rectangle, hundreds of GB, finds it)."""
    source = zipfile.ZipFile(io.BytesIO(_workbook([GIDABANKASI_HEADER])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "xl/worksheets/sheet1.xml":
                text = re.sub(r'<dimension ref="[^"]*"\s*/>',
                              '<dimension ref="A1:XFD1048576"/>' if declares_dimension else "", data.decode())
                data = text.replace("</sheetData>", '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t>'
                                                    "</is></c></row></sheetData>").encode()
            target.writestr(entry, data)
    return out.getvalue()


def shared_strings_bomb(inflated_mb: int) -> bytes:
    """A workbook whose shared strings inflate to `inflated_mb` MB from about a thousandth of that."""
    source = zipfile.ZipFile(io.BytesIO(_workbook([GIDABANKASI_HEADER])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            if entry.filename != "xl/sharedStrings.xml":
                target.writestr(entry, source.read(entry))
        with target.open("xl/sharedStrings.xml", "w", force_zip64=True) as strings:
            strings.write(b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                          b'main"><si><t>')
            chunk = b"A" * (1 << 20)
            for _ in range(inflated_mb):
                strings.write(chunk)
            strings.write(b"</t></si></sst>")
    return out.getvalue()


@pytest.fixture
def folder(tmp_path, warehouse_url):
    return tmp_path


def _archived(db, file_id: int) -> Path:
    (path,) = db.execute("select archived_path from ingest.files where file_id = %s", (file_id,)).fetchone()
    return Path(path)


@pytest.mark.parametrize("declares_dimension", [True, False])
def test_a_workbook_with_a_cell_at_xfd1048576_is_rejected_and_archived(folder, db, declares_dimension):
    data = far_cell_workbook(declares_dimension)
    assert len(data) < 8_000
    result, _, _ = land_file(folder, f"stk_gidabankasi_20290{7 + declares_dimension}.xlsx", data)
    assert (result.status, result.reason_code) == ("rejected", "unsafe_archive")
    assert ("declares 17,179,869,184 cells" if declares_dimension else "more than 2,048 MB") in result.reason
    archived = _archived(db, result.file_id)
    assert archived.read_bytes() == data and archived.stat().st_mode & 0o777 == 0o600


def test_a_zip_bomb_is_rejected_before_it_is_inflated(folder, db):
    data = shared_strings_bomb(1024)
    assert len(data) < 2 << 20  # 1 GB of shared strings in under 2 MB
    result, _, _ = land_file(folder, "stk_gidabankasi_202906.xlsx", data)
    assert (result.status, result.reason_code) == ("rejected", "unsafe_archive")
    assert "inflates to 1,024 MB" in result.reason


def test_an_entry_that_inflates_a_thousandfold_is_rejected_even_below_the_size_cap(folder):
    result, _, _ = land_file(folder, "stk_gidabankasi_202905.xlsx", shared_strings_bomb(50))
    assert (result.status, result.reason_code) == ("rejected", "unsafe_archive")
    assert re.search(r"inflates [0-9,]+-fold", result.reason)


def test_a_single_line_csv_of_200_mb_is_rejected_as_unreadable(folder, db):
    data = b"household_id," + b"x" * (200 << 20)
    result, _, _ = land_file(folder, "belediye_aid_20290301.csv", data)
    assert (result.status, result.reason_code) == ("rejected", "unreadable")
    assert result.reason == "line 1 is 209,715,213 characters long (at most 4,194,304)"
    assert _archived(db, result.file_id).stat().st_size == len(data)


def test_a_file_over_its_feeds_size_cap_is_rejected_unread(folder, tmp_path, monkeypatch, db):
    limits = tmp_path / "limits.yml"
    limits.write_text((Path(__file__).parents[1] / "plugins/kopru/data/ingest_limits.yml").read_text()
                      .replace("  stk: 20", "  stk: 20\n  belediye/aid: 1"))
    monkeypatch.setenv("KOPRU_INGEST_LIMITS", str(limits))
    data = b"aid_id\n" + b"A1\n" * 700_000  # 2.1 MB
    result, _, _ = land_file(folder, "belediye_aid_20290302.csv", data)
    assert (result.status, result.reason_code) == ("rejected", "too_large")
    assert result.reason == "2.0 MB, over the 1 MB this feed may deliver"
    # Another feed keeps the default cap.
    result, _, _ = land_file(folder, "belediye_surveys_20290302.csv", data)
    assert result.reason_code == "unknown_column"


def test_a_json_line_nested_past_the_parsers_stack_is_quarantined_and_the_rest_loads(folder):
    good = {"isasRef": "ISAS-HOSTILE-1", "belediyeYardimNo": "Y-HOSTILE-1", "tcKimlikNo": "10000000146",
            "alinmaZamani": "2025-03-01T10:00:00", "durum": "kabul", "redNedeni": None}
    lines = [json.dumps(good), "[" * 200_000 + "]" * 200_000, '{"isasRef": 1' + "0" * 5000 + "}"]
    result, reasons, _ = land_file(folder, "devlet_isas_alindi_20290301.jsonl", "\n".join(lines).encode())
    assert result.status == "loaded" and result.rows_loaded == 1
    assert reasons == {2: "malformed_row", 3: "malformed_row"}


def test_json_values_that_are_not_plain_text_are_typed_as_their_text(folder):
    """An escaped NUL is dropped from a value (PostgreSQL text cannot hold it), the rest of the value kept; a number,
    a boolean or an object where the contract has text is checked as its JSON text, never passed on as it came."""
    base = {"belediyeYardimNo": "Y-HOSTILE-2", "tcKimlikNo": "10000000146", "alinmaZamani": "2025-03-01T10:00:00",
            "redNedeni": None}
    lines = [json.dumps({**base, "isasRef": "ISAS-\u0000NUL", "durum": "kabul"}),
             json.dumps({**base, "isasRef": "ISAS-BOOL", "durum": True}),
             json.dumps({**base, "isasRef": "ISAS-OBJECT", "durum": {"kabul": 1}}),
             json.dumps({**base, "isasRef": 12345, "durum": "kabul"})]
    result, reasons, rows = land_file(
        folder, "devlet_isas_alindi_20290302.jsonl", "\n".join(lines).encode(),
        "select isas_ref from raw.devlet__isas_alindi where _file_id = %s order by _row_number")
    assert result.status == "loaded" and rows == [("ISAS-NUL",), ("12345",)]
    assert reasons == {2: "bad_enum", 3: "bad_enum"}


@pytest.mark.parametrize("name", ["belediye_aid_20250201.csv\n", "belediye_aid_٢٠٢٥٠٢٠١.csv",
                                  "stk_kizilay_ilce_202502.csv.exe", "x_belediye_aid_20250201.csv"])
def test_a_name_must_match_its_pattern_entirely(folder, name):
    result, _, _ = land_file(folder, name, b"aid_id\n")
    assert (result.status, result.reason_code) == ("rejected", "bad_file_name")


def test_a_run_of_hostile_files_stays_alive_and_bounded_and_lands_the_good_ones(tmp_path, warehouse_url, db):
    """`kopru ingest` over an inbox of every attack above and a good file, as its own process: it exits 0, its
    peak memory stays far below what the attacks would take, every hostile file is rejected, the good one lands;
    a second run does the same and loads nothing twice."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "stk_gidabankasi_203001.xlsx").write_bytes(far_cell_workbook(declares_dimension=False))
    (inbox / "stk_gidabankasi_203002.xlsx").write_bytes(far_cell_workbook(declares_dimension=True))
    (inbox / "stk_gidabankasi_203003.xlsx").write_bytes(shared_strings_bomb(1024))
    (inbox / "belediye_aid_20300401.csv").write_bytes(b"household_id," + b"x" * (200 << 20))
    (inbox / "devlet_isas_alindi_20300401.jsonl").write_bytes(b"[" * 100_000)
    good = _workbook([GIDABANKASI_HEADER, ["10000000146", "Ayşe YILMAZ", 1980, "Cumhuriyet", "Gıda Kolisi", 1,
                                          datetime(2030, 4, 15)]])
    (inbox / "stk_gidabankasi_203004.xlsx").write_bytes(good)
    measure = ("import resource, subprocess, sys; run = subprocess.run(sys.argv[1:]); "
               "print(run.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    kopru = str(Path(sys.executable).with_name("kopru"))
    for attempt in (1, 2):
        done = subprocess.run([sys.executable, "-c", measure, kopru, "ingest", "--inbox", str(inbox), "--keep-files"],
                              capture_output=True, text=True, env=os.environ, timeout=300)
        exit_code, peak_kb = map(int, done.stdout.strip().splitlines()[-1].split())
        assert exit_code == 0, done.stderr[-2000:]
        print(f"run {attempt}: peak memory of the loader and its workbook readers {peak_kb / 1024:,.0f} MB")
        assert peak_kb < 1_000_000, f"peak memory {peak_kb / 1024:,.0f} MB"
        statuses = dict(db.execute(
            """select file_name, status || coalesce(':' || reason_code, '') from ingest.files
               where file_id = (select max(file_id) from ingest.files f where f.file_name = ingest.files.file_name)
                 and file_name like any(array['stk_gidabankasi_20300_.xlsx', 'belediye_aid_20300401.csv',
                                                  'devlet_isas_alindi_20300401.jsonl'])""").fetchall())
        assert statuses == {
            "stk_gidabankasi_203001.xlsx": "rejected:unsafe_archive",
            "stk_gidabankasi_203002.xlsx": "rejected:unsafe_archive",
            "stk_gidabankasi_203003.xlsx": "rejected:unsafe_archive",
            "belediye_aid_20300401.csv": "rejected:unreadable",
            "devlet_isas_alindi_20300401.jsonl": "loaded" if attempt == 1 else "duplicate_file:duplicate_file",
            "stk_gidabankasi_203004.xlsx": "loaded" if attempt == 1 else "duplicate_file:duplicate_file",
        }, attempt
    (rows,) = db.execute("""select count(*) from raw.stk__aid_rows r join ingest.files f on f.file_id = r._file_id
                            where f.file_name = 'stk_gidabankasi_203004.xlsx'""").fetchone()
    assert rows == 1
