"""Partner NGO deliveries: each NGO's monthly file in its own template, written through its mapping file.

The mapping (data/ngo_mappings/<ngo_code>.yml) that tells the loader how to read a template also tells the
generator how to write it, so the two cannot drift apart. Rows carry the dirt real NGO lists carry (missing and
mistyped IDs, names in any case and spelling, mahalle written freely, unknown aid words, malformed rows), and the
ground truth says which municipal person each row really belongs to.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from kopru.ingest.parsers import format_date, format_decimal
from kopru.ingest.stk import NgoMapping

# Who each NGO helps and with what. An NGO mapping without a profile here is simply not generated.
NGO_PROFILES = {
    "kizilay_ilce": {
        "share_by_need_level": {1: 0.0, 2: 0.005, 3: 0.02, 4: 0.04, 5: 0.06},
        "aid": {"Gıda Kolisi": (1, (0, 0)), "Nakdi Yardım": (1, (1000, 3000)), "Kömür": (1, (1500, 3500)),
                "Giyim": (2, (300, 900)), "Kira Yardımı": (1, (2000, 5000)), "Eğitim Yardımı": (1, (500, 1500)),
                "Hijyen Paketi": (2, (0, 0))},
    },
    "gidabankasi": {
        "share_by_need_level": {1: 0.0, 2: 0.0, 3: 0.025, 4: 0.045, 5: 0.065},
        "aid": {"Gıda Kolisi": (2, None), "Temel Gıda": (3, None), "Bebek Maması": (4, None),
                "Hijyen Paketi": (1, None), "Sebze Meyve": (2, None)},
    },
    "dayanisma_dernegi": {
        "share_by_need_level": {1: 0.0, 2: 0.005, 3: 0.01, 4: 0.025, 5: 0.035},
        "aid": {"Nakdi Yardım": (1, (750, 2500)), "Gıda Kolisi": (1, (0, 0)), "Kira Yardımı": (1, (1500, 4000)),
                "Eğitim Yardımı": (1, (400, 1200)), "Giyim": (1, (250, 800))},
    },
}
UNKNOWN_AID_WORDS = ("Oyuncak", "Kırtasiye Seti", "Bayramlık")

_UPPER = str.maketrans({"i": "İ", "ı": "I"})
_LOWER = str.maketrans({"İ": "i", "I": "ı"})
_ASCII = str.maketrans({"İ": "I", "ı": "i", "Ş": "S", "ş": "s", "Ğ": "G", "ğ": "g", "Ü": "U", "ü": "u",
                        "Ö": "O", "ö": "o", "Ç": "C", "ç": "c"})


def upper_tr(text: str) -> str:
    return text.translate(_UPPER).upper()


def lower_tr(text: str) -> str:
    return text.translate(_LOWER).lower()


def ascii_tr(text: str) -> str:
    return text.translate(_ASCII)


@dataclass
class NgoRow:
    """One aid delivery an NGO lists, in its true form, plus what the delivered file made of it."""

    ngo_code: str
    delivered_on: date
    tckn: str
    first_name: str
    last_name: str
    birth_date: date
    mahalle_name: str  # official, e.g. `Cumhuriyet Mah.`
    phone: str
    aid_word: str
    quantity: int
    amount: Decimal | None
    person_id: str | None  # ground truth: None for people the municipality does not know
    household_id: str | None
    dirt: list[str] = field(default_factory=list)
    row_in_file: int = 0
    mahalle_as_written: str = ""
    tckn_as_number: bool = False  # an XLSX number cell, as a spreadsheet makes of an ID column


def _dirt_rates(dirt) -> dict[str, float]:
    return {
        "id_missing": dirt.ngo_id_missing,
        "id_mistyped": dirt.ngo_id_mistyped,
        "name_variant": dirt.ngo_name_variant,
        "name_typo": dirt.ngo_name_typo,
        "mahalle_variant": dirt.ngo_mahalle_variant,
        "unknown_aid_word": dirt.ngo_unknown_aid_word,
        "malformed_row": dirt.malformed_row,
    }


def mark_dirt(rows: list[NgoRow], rng, dirt) -> None:
    """Decide which mistakes each row will carry, at the configured rates."""
    rates = _dirt_rates(dirt)
    for row in rows:
        for kind, rate in rates.items():
            if rate and rng.random() < rate:
                row.dirt.append(kind)


def mark_every_kind_once(rows: list[NgoRow], rng, dirt) -> None:
    """Every kind with a rate above 0 on at least one of `rows`, so a small sample still exercises each."""
    for kind, rate in _dirt_rates(dirt).items():
        if rate and rows and not any(kind in row.dirt for row in rows):
            rng.choice(rows).dirt.append(kind)


def spoil(rows: list[NgoRow], rng) -> None:
    """Write the marked mistakes into the rows, as the NGO's staff would have typed them."""
    for row in rows:
        if "unknown_aid_word" in row.dirt:
            row.aid_word = rng.choice(UNKNOWN_AID_WORDS)
        if "id_mistyped" in row.dirt and "id_missing" not in row.dirt:
            position = rng.randrange(11)
            digit = str((int(row.tckn[position]) + rng.randint(1, 9)) % 10)
            row.tckn = row.tckn[:position] + digit + row.tckn[position + 1:]
        if "name_variant" in row.dirt:
            spell = rng.choice((upper_tr, ascii_tr, lower_tr, lambda s: ascii_tr(upper_tr(s))))
            row.first_name, row.last_name = spell(row.first_name), spell(row.last_name)
        if "name_typo" in row.dirt and len(row.last_name) > 3:
            position = rng.randrange(1, len(row.last_name) - 1)
            row.last_name = row.last_name[:position] + row.last_name[position + 1:]
        row.mahalle_as_written = _mahalle_as_written(row, rng)
        row.tckn_as_number = rng.random() < 0.2


def _mahalle_as_written(row: NgoRow, rng) -> str:
    bare = row.mahalle_name.removesuffix(" Mah.").strip()
    if "mahalle_variant" not in row.dirt:
        return bare
    return rng.choice((f"{upper_tr(bare)} MAH.", f"{bare} Mahallesi", upper_tr(bare), f"{bare} Mh.",
                       ascii_tr(bare)))


def _cells(row: NgoRow, mapping: NgoMapping, xlsx: bool) -> list[object]:
    formats = mapping.formats
    values: list[object] = []
    for column in mapping.columns.values():
        if column == "row_ref":
            value: object = row.row_in_file
        elif column == "tckn":
            value = "" if "id_missing" in row.dirt else row.tckn
            if xlsx and value and row.tckn_as_number and value.isdigit():
                value = int(value)
        elif column == "first_name":
            value = row.first_name
        elif column == "last_name":
            value = row.last_name
        elif column == "full_name":
            value = f"{row.first_name} {row.last_name}"
        elif column == "birth_date":
            value = row.birth_date if xlsx else format_date(row.birth_date, formats.date_format)
        elif column == "birth_year":
            value = row.birth_date.year
        elif column == "mahalle_as_written":
            value = row.mahalle_as_written
        elif column == "phone":
            value = row.phone
        elif column == "aid_word":
            value = row.aid_word
        elif column == "quantity":
            value = row.quantity
        elif column == "amount_try":
            if xlsx:
                value = float(row.amount) if row.amount is not None else None
            else:
                value = "" if row.amount is None else format_decimal(row.amount, formats.decimal_style)
        elif column == "delivered_on":
            value = row.delivered_on if xlsx else format_date(row.delivered_on, formats.date_format)
        else:
            value = ""
        values.append(value)
    return values


def _reproducible_zip(data: bytes, day: date) -> bytes:
    """The same workbook for the same seed: openpyxl stamps the save time into docProps/core.xml and every zip
    entry; put the delivery's last day there instead."""
    stamp = f"{day.isoformat()}T17:00:00Z"
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), content)
            target.writestr(zipfile.ZipInfo(info.filename, date_time=(day.year, day.month, day.day, 17, 0, 0)),
                            content, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def file_bytes(rows: list[NgoRow], mapping: NgoMapping) -> bytes:
    """The NGO's file for one month, in its template; malformed rows lose (CSV) or gain (XLSX) a field."""
    headers = list(mapping.columns)
    if mapping.formats.file_format == "xlsx":
        import openpyxl
        from openpyxl.cell import WriteOnlyCell

        workbook = openpyxl.Workbook(write_only=True)
        sheet = workbook.create_sheet("Teslimatlar")
        sheet.append(headers)
        for row in rows:
            cells: list[object] = []
            for value in _cells(row, mapping, xlsx=True):
                if isinstance(value, date):
                    value = WriteOnlyCell(sheet, value)
                    value.number_format = "DD.MM.YYYY"
                cells.append(value)
            if "malformed_row" in row.dirt:
                cells.append("not: eksik evrak")
            sheet.append(cells)
        buffer = io.BytesIO()
        workbook.save(buffer)
        return _reproducible_zip(buffer.getvalue(), max(row.delivered_on for row in rows) if rows else date(2000, 1, 1))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=mapping.formats.delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        cells = _cells(row, mapping, xlsx=False)
        writer.writerow(cells[:-1] if "malformed_row" in row.dirt else cells)
    return buffer.getvalue().encode("cp1254" if mapping.formats.encoding.lower() in ("windows-1254", "cp1254")
                                    else "utf-8")
