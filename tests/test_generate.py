"""The sample-data generator: every feed in its template, real geography, valid identities, dirt at the
configured rates, a ground truth outside the inbox, the same bytes for the same seed."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date

import openpyxl
import pytest
from kopru.generate.sample import Dirt, continue_story, districts_like, generate, isas_reference, load_mahalle
from kopru.identity import is_valid_id
from kopru.ingest import contract
from kopru.ingest.stk import all_mappings

START, END = date(2024, 1, 1), date(2024, 6, 30)


@pytest.fixture(scope="module")
def delivery(tmp_path_factory):
    root = tmp_path_factory.mktemp("generated")
    generate("İstanbul/Sultangazi", 300, START, END, 5, root / "inbox")
    return root


def _csv(path, encoding="utf-8", delimiter=","):
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode(encoding)), delimiter=delimiter))


def test_same_seed_same_bytes(delivery, tmp_path):
    generate("İstanbul/Sultangazi", 300, START, END, 5, tmp_path / "inbox")
    first = {p.relative_to(delivery): p.read_bytes() for p in delivery.rglob("*") if p.is_file()}
    second = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert first == second


def test_files_written_while_the_story_runs_are_the_files_written_at_its_end(delivery, tmp_path, monkeypatch):
    """The generator writes a month's files once the simulation has passed it, and holds only what is not written
    yet (so that ten districts fit in memory): rendered in many small batches, the delivery is the same bytes, and
    after each month no event it carries is still held."""
    from kopru.generate import sample

    batches, held_after_month = [], []
    render, take = sample._render, sample.Deliveries.take

    def counted_render(jobs, out):
        batches.append(len(jobs))
        return render(jobs, out)

    def checked_take(self, events, through):
        take(self, events, through)
        held_after_month.append(through)
        assert all(day > through for feed, rows in events.items() if feed != "ngo" for day, _ in rows)

    monkeypatch.setattr(sample, "_render", counted_render)
    monkeypatch.setattr(sample.Deliveries, "take", checked_take)
    monkeypatch.setattr(sample.Deliveries, "PENDING_ROWS", 300)
    generate("İstanbul/Sultangazi", 300, START, END, 5, tmp_path / "inbox")
    first = {p.relative_to(delivery): p.read_bytes() for p in delivery.rglob("*") if p.is_file()}
    second = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert first == second
    assert len(batches) >= 4 and len(held_after_month) == 7  # six months, and the end


def test_every_feed_of_the_contract_is_delivered_with_a_contract_name(delivery):
    names = [p.name for p in (delivery / "inbox").rglob("*") if p.is_file() and not p.name.startswith(".")]
    parsed = [contract.parse_file_name(n) for n in names]
    assert all(parsed), [n for n, p in zip(names, parsed, strict=True) if p is None]
    delivered = {(p.source, p.feed) for p in parsed}
    expected = {key for key in contract.FEEDS if key[0] != "stk"}
    expected |= {("stk", m.ngo_code) for m in all_mappings()}
    assert delivered == expected


def test_ngo_templates_are_the_reference_ones(delivery):
    inbox = delivery / "inbox"
    kizilay = (inbox / "stk_kizilay_ilce_202403.csv").read_bytes()
    assert kizilay.decode("cp1254").startswith("Sıra No;T.C. Kimlik No;Adı;Soyadı;Doğum Tarihi;Mahalle;")
    with pytest.raises(UnicodeDecodeError):
        kizilay.decode("utf-8")  # really Windows-1254, Turkish letters and all
    sheet = openpyxl.load_workbook(inbox / "stk_gidabankasi_202403.xlsx").worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("TCKN", "Ad Soyad", "Doğum Yılı", "Mahalle", "Ürün", "Adet", "Teslim Tarihi")
    assert all(hasattr(row[6], "year") for row in rows[1:])  # date cells, not text
    dayanisma = _csv(inbox / "stk_dayanisma_dernegi_202403.csv")
    assert list(dayanisma[0]) == ["ad", "soyad", "dogum_yili", "mahalle", "telefon", "yardim_turu", "tutar", "tarih"]


def test_households_live_in_the_districts_real_mahalle_in_proportion(tmp_path):
    generate("İstanbul/Sultangazi", 3000, START, date(2024, 2, 29), 3, tmp_path / "inbox", Dirt.clean())
    households = _csv(tmp_path / "inbox" / "belediye_households_20240301.csv")
    mahalle = {code: population for code, _, population in load_mahalle("İstanbul/Sultangazi")}
    counts = Counter(h["mahalle_code"] for h in households)
    assert set(counts) <= set(mahalle)
    total_population = sum(mahalle.values())
    for code, population in mahalle.items():
        expected = population / total_population
        assert abs(counts[code] / len(households) - expected) < 0.03, code


def test_ten_districts_worth_is_ten_districts_mahalle_each_as_full_as_the_one(tmp_path):
    ten = districts_like("İstanbul/Sultangazi", 10)
    named = ten.split(",")
    assert len(named) == len(set(named)) == 10 and named[0] == "İstanbul/Sultangazi"
    assert all(name.startswith("İstanbul/") for name in named)
    population = {name: sum(row[2] for row in load_mahalle(name)) for name in named}
    one = population["İstanbul/Sultangazi"]
    # the nearest in population: none left out is nearer than the farthest taken
    farthest = max(abs(p - one) for p in population.values())
    everyone = {name.split("/")[1] for name in districts_like("İstanbul/Sultangazi", 39).split(",")}
    for left_out in everyone - {name.split("/")[1] for name in named}:
        assert abs(sum(row[2] for row in load_mahalle("İstanbul/" + left_out)) - one) >= farthest
    # the households go to every district's mahalle, so a mahalle holds about what it holds in a one-district story
    generate(ten, 3000, START, date(2024, 1, 31), 3, tmp_path / "inbox", Dirt.clean())
    households = _csv(tmp_path / "inbox" / "belediye_households_20240201.csv")
    district_of = {code: name for name in named for code, _, _ in load_mahalle(name)}
    per_district = Counter(district_of[h["mahalle_code"]] for h in households)
    assert set(per_district) == set(named)
    assert max(per_district.values()) < 3 * min(per_district.values())
    story = json.loads((tmp_path / "ground_truth" / "story.json").read_text(encoding="utf-8"))
    assert story["district"] == ten  # a continuation spreads its households the same way
    assert load_mahalle("İstanbul/Sultangazi, İstanbul/Sultangazi") == load_mahalle("İstanbul/Sultangazi")


@pytest.mark.parametrize(("asked", "count", "reason"), [
    ("İstanbul/Sultangazi", 40, "İstanbul has 39 districts: ask for 1 to 39, not 40"),
    ("İstanbul/Sultangazi", 0, "ask for 1 to 39, not 0"),
    ("İstanbul/Nowhere", 2, "no mahalle found for district 'İstanbul/Nowhere'"),
    ("Sultangazi", 2, "no district 'Sultangazi'"),
    ("İstanbul/Sultangazi,İstanbul/Kadıköy", 2, "name one district"),
])
def test_districts_asked_for_wrongly_are_refused_with_the_reason(asked, count, reason):
    with pytest.raises(ValueError, match=reason):
        districts_like(asked, count)


def test_the_command_line_spreads_a_story_over_districts_and_refuses_one_it_cannot(tmp_path):
    environment = {**os.environ, "KOPRU_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "kopru.cli", "generate", "--households", "40", "--districts", "3",
                           "--end", "2024-01-31", "--start", "2024-01-01", "--out", str(tmp_path / "inbox")],
                          capture_output=True, text=True, env=environment, timeout=120)
    assert done.returncode == 0, done.stderr
    story = json.loads((tmp_path / "ground_truth" / "story.json").read_text(encoding="utf-8"))
    assert story["district"] == districts_like("İstanbul/Sultangazi", 3)
    refused = subprocess.run([sys.executable, "-m", "kopru.cli", "generate", "--districts", "99", "--out",
                              str(tmp_path / "other")], capture_output=True, text=True, env=environment, timeout=120)
    assert refused.returncode == 2 and "ask for 1 to 39, not 99" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_each_aid_record_isas_takes_in_has_a_reference_of_its_own(delivery):
    """Drawn at random, ten districts' 11.9 M references met 77,000 times, each meeting a receipt turned into a new
    version of another record's; a reference is now the aid's number scrambled, one to one."""
    references = [isas_reference(f"Y{number:07d}") for number in range(1, 2_000_001)]
    assert len(set(references)) == len(references)
    assert all(len(reference) == 13 and reference[4:].isdigit() for reference in references[::9973])
    receipts = [json.loads(line) for path in (delivery / "inbox").glob("devlet_isas_alindi_*.json*")
                for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert receipts and all(r["isasRef"] == isas_reference(r["belediyeYardimNo"]) for r in receipts)
    aid = [row for path in (delivery / "inbox").glob("belediye_aid_*.csv") for row in _csv(path)]
    assert {row["isas_ref"] for row in aid if row["isas_ref"]} <= {r["isasRef"] for r in receipts}


def test_identities_are_checksum_valid_with_a_refugee_share(delivery):
    persons = _csv(sorted((delivery / "inbox").glob("belediye_persons_*.csv"))[-1])
    assert all(is_valid_id(p["tckn"]) for p in persons)
    foreign = sum(p["tckn"].startswith("99") for p in persons) / len(persons)
    assert 0.02 < foreign < 0.2


def test_ground_truth_is_outside_the_inbox_and_covers_every_ngo_row(delivery):
    truth = _csv(delivery / "ground_truth" / "stk_rows.csv")
    assert not list((delivery / "inbox").rglob("*truth*"))
    per_file = Counter((t["ngo_code"], t["delivery_month"]) for t in truth)
    for (ngo_code, month), count in per_file.items():
        name = f"stk_{ngo_code}_{month.replace('-', '')}"
        path = next((delivery / "inbox").glob(name + ".*"))
        if path.suffix == ".xlsx":
            rows = len(list(openpyxl.load_workbook(path).worksheets[0].iter_rows())) - 1
        else:
            rows = len(path.read_bytes().splitlines()) - 1
        assert rows == count, path.name
    kinds = Counter(kind for t in truth for kind in t["dirt"].split())
    assert {"id_missing", "id_mistyped", "name_variant", "mahalle_variant", "unknown_aid_word", "malformed_row"} <= set(kinds)
    assert any(t["person_id"] == "" for t in truth)  # people the municipality does not know
    resent = {p.name for p in (delivery / "inbox" / "resent").iterdir()}
    assert any(n.startswith("stk_") for n in resent) and any(n.startswith("belediye_aid_") for n in resent)


def test_clean_delivery_has_no_dirt(tmp_path):
    generate("İstanbul/Sultangazi", 100, START, END, 5, tmp_path / "inbox", Dirt.clean())
    truth = _csv(tmp_path / "ground_truth" / "stk_rows.csv")
    assert truth and all(t["dirt"] == "" and t["person_id"] for t in truth)
    assert not (tmp_path / "inbox" / "resent").exists()
    stamps = Counter(p.name.rsplit("_", 1)[1][6:8] for p in (tmp_path / "inbox").glob("belediye_aid_*.csv"))
    assert set(stamps) == {"01"}  # no next-day re-sending


def test_dirt_rates_are_configurable_and_checked():
    assert Dirt.parse(["ngo_id_missing=0.5"]).ngo_id_missing == 0.5
    with pytest.raises(ValueError, match="unknown dirt kind"):
        Dirt.parse(["typos=1"])


def _files(inbox):
    """The deliveries (not the generator's hidden marker)."""
    return {str(p.relative_to(inbox)): p.read_bytes() for p in inbox.rglob("*")
            if p.is_file() and not p.name.startswith(".")}


def test_a_story_continues_with_the_same_households_and_no_id_twice(tmp_path):
    """Deliveries to 10 July, then the next day, then to the month's end: the same as continuing to the month's end
    at once (nothing depends on how the days are cut), the same households with the same registration days, and no
    record ID of the continuation used before it."""
    stepwise, at_once = tmp_path / "stepwise" / "inbox", tmp_path / "at_once" / "inbox"
    for inbox in (stepwise, at_once):
        generate("İstanbul/Sultangazi", 120, date(2024, 5, 20), date(2024, 7, 10), 3, inbox, Dirt.clean(),
                 cadence="daily")
    before = _files(stepwise)
    next_day, story = continue_story(stepwise)
    assert story["end"] == "2024-07-11" and {n for n in next_day if not n.startswith("stk_")} == {
        f"{feed}_20240712.{ext}" for feed, ext in (
            ("belediye_households", "csv"), ("belediye_persons", "csv"), ("belediye_assessments", "csv"),
            ("belediye_aid", "csv"), ("belediye_services", "csv"), ("belediye_employment_referrals", "csv"),
            ("belediye_surveys", "csv"), ("sosyalkart_transactions", "csv"), ("devlet_sydv_yardim", "jsonl"),
            ("devlet_isas_alindi", "jsonl"), ("devlet_iskur_teklif", "jsonl"))}
    continue_story(stepwise, date(2024, 7, 31))
    continue_story(at_once, date(2024, 7, 31))
    after = _files(stepwise)
    assert after == _files(at_once)
    # every delivery of the story, by its bytes, in the marker the loader reads (kopru.ingest.origin)
    marker = json.loads((stepwise / ".kopru_generated.json").read_text(encoding="utf-8"))["files"]
    assert marker == {name: hashlib.sha256(data).hexdigest() for name, data in after.items()}
    assert {name: data for name, data in after.items() if name in before} == before  # the past is not rewritten
    assert "stk_kizilay_ilce_202407.csv" in after  # the NGOs' July, once July is over

    def registry(name):
        return {(h["household_id"], h["registered_on"]) for h in _csv(stepwise / name)}

    assert registry("belediye_households_20240801.csv") == registry("belediye_households_20240711.csv")
    earlier = {r["aid_id"] for n in before if n.startswith("belediye_aid_") for r in _csv(stepwise / n)}
    later = [r["aid_id"] for n in set(after) - set(before) if n.startswith("belediye_aid_") for r in _csv(stepwise / n)]
    assert later and not earlier & set(later) and len(later) == len(set(later))
    with pytest.raises(ValueError, match="already reaches 2024-07-31"):
        continue_story(stepwise, date(2024, 7, 20))


def test_a_monthly_story_continues_by_months_and_a_missing_story_says_so(tmp_path):
    inbox = tmp_path / "inbox"
    generate("İstanbul/Sultangazi", 60, START, END, 5, inbox)
    written, story = continue_story(inbox)
    assert story["end"] == "2024-07-31"
    assert "belediye_aid_20240801.csv" in written and "belediye_households_20240801.csv" in written
    with pytest.raises(ValueError, match="whole months"):
        continue_story(inbox, date(2024, 8, 15))
    done = subprocess.run([sys.executable, "-m", "kopru.cli", "generate", "--continue", "--out",
                           str(tmp_path / "elsewhere" / "inbox")], capture_output=True, text=True,
                          env={**os.environ, "KOPRU_HOME": str(tmp_path)}, timeout=120)
    assert done.returncode == 2 and "no story to continue" in done.stderr and "Traceback" not in done.stderr
