"""Partner NGO files through their mapping files: the three reference templates, and what goes wrong with them."""

from __future__ import annotations

import io
import shutil
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from kopru import config
from support import land_file

KIZILAY_HEADER = "Sıra No;T.C. Kimlik No;Adı;Soyadı;Doğum Tarihi;Mahalle;Yardım Türü;Miktar;Tutar (TL);Teslim Tarihi\n"
VALID_TCKN = "10000000146"


STK_ROWS = """select row_in_file, tckn, tckn_status, first_name, last_name, birth_date, birth_year,
                     mahalle_as_written, aid_word, aid_type, quantity, amount_try, delivered_on
              from raw.stk__aid_rows where _file_id = %s order by row_in_file"""


def land(folder, name: str, data: bytes):
    return land_file(folder, name, data, STK_ROWS)


def xlsx(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_kizilay_windows_1254_semicolons_turkish_numbers(tmp_path, warehouse_url):
    body = (KIZILAY_HEADER
            + f"1;{VALID_TCKN};AYŞE;ŞAHİN;01.02.1980;CUMHURİYET MAH.;Gıda Kolisi;1;1.250,50;05.03.2031\n"
            + "2;12345678901;ali;Sahin;15.06.1975;Cumhuriyet;nakdi yardim;1;750,00;06.03.2031\n")
    result, reasons, rows = land(tmp_path, "stk_kizilay_ilce_203103.csv", body.encode("cp1254"))
    assert (result.status, result.rows_loaded, reasons) == ("loaded", 2, {})
    first, second = rows
    assert first[1:] == (VALID_TCKN, "valid", "AYŞE", "ŞAHİN", date(1980, 2, 1), None, "CUMHURİYET MAH.",
                         "Gıda Kolisi", "gida", 1, Decimal("1250.50"), date(2031, 3, 5))
    # A mistyped ID is kept, flagged, never used for matching; the aid word matched despite case and ASCII.
    assert (second[2], second[9], second[11]) == ("invalid_checksum", "nakdi", Decimal("750.00"))


def test_kizilay_file_sent_as_utf8_is_rejected_not_read_as_mojibake(tmp_path, warehouse_url):
    body = KIZILAY_HEADER + f"1;{VALID_TCKN};AYŞE;ŞAHİN;01.02.1980;Cumhuriyet;Gıda Kolisi;1;1.250,50;05.03.2031\n"
    result, _, _ = land(tmp_path, "stk_kizilay_ilce_203104.csv", body.encode("utf-8"))
    assert (result.status, result.reason_code) == ("rejected", "undecodable")


def test_gidabankasi_xlsx_date_cells_number_ids_and_full_names(tmp_path, warehouse_url):
    data = xlsx([
        ["TCKN", "Ad Soyad", "Doğum Yılı", "Mahalle", "Ürün", "Adet", "Teslim Tarihi"],
        [int(VALID_TCKN), "Ayşe Nur YILMAZ", 1980, "Cumhuriyet Mahallesi", "Gıda Kolisi", 2, datetime(2031, 3, 7)],
        ["", "Mehmet Kaya", 1972, "Gazi", "Bebek Maması", 1, 45292],  # an Excel serial typed as a number
        [None, "Ali Veli", 1990, "Gazi", "Gıda Kolisi", 1, datetime(2031, 3, 9), "fazla hücre"],
    ])
    result, reasons, rows = land(tmp_path, "stk_gidabankasi_203103.xlsx", data)
    assert (result.status, result.rows_loaded, reasons) == ("loaded", 2, {3: "malformed_row"})
    first, second = rows
    assert (first[1], first[2], first[3], first[4], first[6]) == (VALID_TCKN, "valid", "Ayşe Nur", "YILMAZ", 1980)
    assert (first[10], first[11], first[12]) == (2, None, date(2031, 3, 7))
    assert (second[2], second[9], second[12]) == ("missing", "bebek", date(2024, 1, 1))


def test_workbook_rows_are_those_openpyxl_reads(tmp_path):
    """The loader reads workbooks with calamine (ten times faster); the rows must be the ones openpyxl, which the
    mapping rules were written against, reads: ints, floats, dates with and without a time, IDs as numbers and as
    text, empty cells inside and after a row, booleans, Turkish text."""
    from datetime import time

    from kopru.ingest.stk import read_xlsx_rows

    rows = [
        ["TCKN", "Ad Soyad", "Doğum Yılı", "Tutar", "Teslim", "Saat", "Onay", None],
        [int(VALID_TCKN), "Ayşe Nur YILMAZ", 1980, 1250.5, datetime(2031, 3, 7), datetime(2031, 3, 7, 14, 30), True],
        [VALID_TCKN, "İĞÜŞÖÇ ığüşöç", 1972.0, 0.1, date(2031, 3, 8), time(9, 15), False],
        [None, "", -3, 1e-7, 45292, "05.03.2031", None, "fazla hücre"],
        [12345678901234567, "  boşluklu  ", 0, -1250.75, None, None, None],
    ]
    data = xlsx(rows)
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    expected = [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]

    def trimmed(row):
        while row and row[-1] is None:
            row = row[:-1]
        return [(type(cell), cell) for cell in row]

    assert [trimmed(row) for row in read_xlsx_rows(data)] == [trimmed(row) for row in expected]


def test_dayanisma_utf8_without_ids(tmp_path, warehouse_url):
    body = ("ad,soyad,dogum_yili,mahalle,telefon,yardim_turu,tutar,tarih\n"
            "Zeynep,Çelik,1985,Yayla,05321234567,Kira Yardımı,1250.50,14/03/2031\n"
            "Zeynep,Çelik,1985,Yayla,05321234567,Kira Yardımı,\"1.250,50\",14/03/2031\n")
    result, reasons, rows = land(tmp_path, "stk_dayanisma_dernegi_203103.csv", body.encode())
    assert (result.status, result.rows_loaded, reasons) == ("loaded", 1, {2: "ambiguous_number"})
    assert rows[0][2] == "missing" and rows[0][9:] == ("kira", None, Decimal("1250.50"), date(2031, 3, 14))


def test_unknown_aid_word_quarantines_the_row(tmp_path, warehouse_url):
    body = KIZILAY_HEADER + f"1;{VALID_TCKN};Ayşe;Şahin;01.02.1980;Gazi;Oyuncak;1;100,00;05.03.2031\n"
    result, reasons, _ = land(tmp_path, "stk_kizilay_ilce_203105.csv", body.encode("cp1254"))
    assert (result.rows_loaded, reasons) == (0, {1: "unknown_aid_type"})


def test_unknown_ngo_and_wrong_extension_reject_the_file_and_archive_it(tmp_path, warehouse_url):
    result, _, _ = land(tmp_path, "stk_bilinmeyen_dernek_203103.csv", b"ad,soyad\nA,B\n")
    assert (result.status, result.reason_code) == ("rejected", "unknown_ngo")
    assert list((config.archive_dir() / "rejected").glob("*stk_bilinmeyen_dernek_203103.csv"))
    result, _, _ = land(tmp_path, "stk_gidabankasi_203106.csv", b"TCKN\n1\n")
    assert (result.status, result.reason_code) == ("rejected", "bad_file_name")


def test_broken_xlsx_is_unreadable(tmp_path, warehouse_url):
    result, _, _ = land(tmp_path, "stk_gidabankasi_203107.xlsx", b"PK\x03\x04 not really a workbook")
    assert (result.status, result.reason_code) == ("rejected", "unreadable")


def test_adding_an_ngo_is_adding_a_mapping_file(tmp_path, warehouse_url, monkeypatch):
    mappings = tmp_path / "mappings"
    shutil.copytree(config.ngo_mappings_dir(), mappings)
    (mappings / "mahalle_kadin_koop.yml").write_text(
        """ngo_code: mahalle_kadin_koop
institution_name: Mahalle Kadın Kooperatifi
file: {format: csv, encoding: utf-8, delimiter: "|", decimal_style: tr, date_format: dmy_dot}
columns: {Kimlik: tckn, İsim Soyisim: full_name, Mahalle: mahalle_as_written, Destek: aid_word,
          Tutar: amount_try, Tarih: delivered_on}
aid_types: {Market Çeki: gida}
""", encoding="utf-8")
    monkeypatch.setenv("KOPRU_NGO_MAPPINGS", str(mappings))
    body = f"kimlik|isim soyisim|MAHALLE|destek|tutar|tarih\n{VALID_TCKN}|Elif Su Demir|Gazi|MARKET ÇEKİ|1.000,00|02.03.2031\n"
    result, reasons, rows = land(tmp_path, "stk_mahalle_kadin_koop_203103.csv", body.encode())
    assert (result.status, result.rows_loaded, reasons) == ("loaded", 1, {})
    assert (rows[0][3], rows[0][4], rows[0][9], rows[0][11]) == ("Elif Su", "Demir", "gida", Decimal("1000.00"))


@pytest.mark.parametrize("broken, reason", [
    ("columns: {A: no_such_column}", "no_such_column"),
    ("aid_types: {Çay: cay}", "aid-type catalogue"),
])
def test_a_broken_mapping_rejects_the_file_with_the_reason(tmp_path, warehouse_url, monkeypatch, broken, reason):
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    (mappings / "bozuk.yml").write_text(
        "ngo_code: bozuk\nfile: {format: csv}\n"
        + ("columns: {Ad: full_name, Tur: aid_word, Tarih: delivered_on}\n" if "columns" not in broken else "")
        + broken + "\n", encoding="utf-8")
    monkeypatch.setenv("KOPRU_NGO_MAPPINGS", str(mappings))
    result, _, _ = land(tmp_path, f"stk_bozuk_2031{len(broken) % 12 + 1:02d}.csv", b"Ad,Tur,Tarih\nA B,X,01.01.2031\n")
    assert (result.status, result.reason_code) == ("rejected", "bad_mapping")
    assert reason in result.reason
