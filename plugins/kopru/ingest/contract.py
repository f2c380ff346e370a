"""The feed contract (`feeds/README.md`, the document the sources deliver to, kept beside this repository) as data:
one FeedSpec per feed, with typed columns.

A column's name is the same from the inbox file to the raw table (`belediye_aid_20240131.csv` column `amount_try` →
`raw.belediye__aid.amount_try` → dbt staging …): the raw tables' migrations follow these specs, and
tests/test_schema.py fails when a spec changes without a migration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

AID_TYPES = (
    "nakdi", "gida", "yakacak", "egitim", "kira", "saglik", "kart", "sosyal_market",
    "giyim", "bebek", "hijyen", "diger",
)
MUNICIPAL_AID_TYPES = AID_TYPES[:8]


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text | integer | decimal | date | timestamp | boolean | enum | identity
    required: bool = False
    values: tuple[str, ...] = ()  # for enum
    source_name: str | None = None  # the name in the delivered file, when it differs (devlet camelCase)
    minimum: float | None = None
    maximum: float | None = None
    # A municipal id that marts may carry only as a keyed pseudonym: the raw table gets `<key>` beside it.
    key: str | None = None

    @property
    def pg_type(self) -> str:
        return {
            "text": "text",
            "enum": "text",
            "identity": "text",
            "integer": "integer",
            "decimal": "numeric(14,2)",
            "date": "date",
            "timestamp": "timestamp",
            "boolean": "boolean",
        }[self.kind]


@dataclass(frozen=True)
class Formats:
    encoding: str = "utf-8"
    delimiter: str = ","
    decimal_style: str = "dot"
    date_format: str = "iso"
    timestamp_format: str = "iso"
    file_format: str = "csv"  # csv | jsonl | xlsx


@dataclass(frozen=True)
class FeedSpec:
    source: str
    feed: str
    kind: str  # snapshot | append
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    formats: Formats = field(default_factory=Formats)

    @property
    def raw_table(self) -> str:
        return f"raw.{self.source}__{self.feed}"

    @property
    def keyed_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.key)

    @property
    def identity_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.kind == "identity")

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name: str, kind: str = "text", required: bool = False, **kw) -> Column:
    return Column(name, kind, required, **kw)


BELEDIYE = Formats()
SOSYALKART = Formats(encoding="utf-8-sig", delimiter=";", decimal_style="tr", timestamp_format="dmy_dot")
DEVLET = Formats(file_format="jsonl")

FEEDS: dict[tuple[str, str], FeedSpec] = {}


def _register(spec: FeedSpec) -> None:
    FEEDS[(spec.source, spec.feed)] = spec


_register(FeedSpec("belediye", "households", "snapshot", ("household_id",), (
    _c("household_id", required=True, key="household_key"),
    _c("head_tckn", "identity"),
    _c("mahalle_code", required=True),
    _c("mahalle_name"),
    _c("address_line"),
    _c("phone"),
    _c("household_size", "integer", minimum=1, maximum=30),
    _c("registered_on", "date", required=True),
    _c("status", "enum", required=True, values=("active", "closed")),
    _c("closed_reason"),
    _c("protection_status", "enum", values=("none", "temporary", "international")),
    _c("updated_at", "timestamp", required=True),
), BELEDIYE))

_register(FeedSpec("belediye", "persons", "snapshot", ("person_id",), (
    _c("person_id", required=True, key="person_key"),
    _c("household_id", required=True, key="household_key"),
    _c("tckn", "identity"),
    _c("first_name"),
    _c("last_name"),
    _c("birth_date", "date"),
    _c("sex", "enum", values=("K", "E")),
    _c("relation", "enum", values=("head", "spouse", "child", "parent", "other")),
    _c("disability_pct", "integer", minimum=0, maximum=100),
    _c("is_student", "boolean"),
    _c("school_level", "enum", values=("none", "preschool", "primary", "secondary", "high", "university")),
    _c("employable", "boolean"),
    _c("employment_status", "enum", values=("employed", "unemployed", "not_in_labour_force")),
    _c("updated_at", "timestamp", required=True),
), BELEDIYE))

_register(FeedSpec("belediye", "assessments", "append", ("assessment_id",), (
    _c("assessment_id", required=True),
    _c("household_id", required=True, key="household_key"),
    _c("visit_date", "date", required=True),
    _c("assessor_id"),
    _c("monthly_income_try", "decimal", minimum=0),
    _c("monthly_rent_try", "decimal", minimum=0),
    _c("need_score", "integer", required=True, minimum=0, maximum=100),
    _c("need_level", "integer", required=True, minimum=1, maximum=5),
    _c("next_visit_due", "date"),
), BELEDIYE))

_register(FeedSpec("belediye", "aid", "append", ("aid_id",), (
    _c("aid_id", required=True),
    _c("household_id", required=True, key="household_key"),
    _c("person_id", key="person_key"),
    _c("aid_type", "enum", required=True, values=MUNICIPAL_AID_TYPES),
    _c("channel", "enum", required=True, values=("kart", "ayni", "banka")),
    _c("amount_try", "decimal", minimum=0),
    _c("quantity", "integer", minimum=0),
    _c("delivered_on", "date", required=True),
    _c("isas_ref"),
    _c("isas_entered_on", "date"),
), BELEDIYE))

_register(FeedSpec("belediye", "services", "append", ("service_id",), (
    _c("service_id", required=True),
    _c("household_id", required=True, key="household_key"),
    _c("person_id", key="person_key"),
    _c("service_type", "enum", required=True, values=(
        "psikososyal", "cocuk_koruma", "egitim_destek", "yasli_bakim", "engelli_destek", "aile_danismanlik")),
    _c("provider_unit", "enum", values=("kadin_aile", "sosyal_destek", "partner")),
    _c("opened_on", "date", required=True),
    _c("closed_on", "date"),
    _c("outcome"),
), BELEDIYE))

_register(FeedSpec("belediye", "employment_referrals", "append", ("referral_id",), (
    _c("referral_id", required=True),
    _c("person_id", required=True, key="person_key"),
    _c("tckn", "identity"),
    _c("referred_on", "date", required=True),
    _c("channel", "enum", values=("iskur", "istihdam_merkezi")),
    _c("program"),
    _c("referred_by"),
), BELEDIYE))

_register(FeedSpec("belediye", "surveys", "append", ("response_id",), (
    _c("response_id", required=True),
    _c("survey_wave", required=True),
    _c("responded_on", "date", required=True),
    _c("household_id", key="household_key"),
    _c("channel", "enum", values=("telefon", "yuzyuze", "web")),
    _c("q_satisfaction", "integer", minimum=1, maximum=5),
    _c("q_fairness", "integer", minimum=1, maximum=5),
    _c("comment"),
), BELEDIYE))

_register(FeedSpec("sosyalkart", "transactions", "append", ("islem_no",), (
    _c("islem_no", required=True),
    _c("kart_no"),
    _c("hane_no", required=True, key="household_key"),
    _c("islem_zamani", "timestamp", required=True),
    _c("isyeri_kategorisi"),
    _c("tutar", "decimal", required=True),
    _c("islem_tipi", "enum", required=True, values=("harcama", "iade", "yukleme")),
), SOSYALKART))

_register(FeedSpec("devlet", "sydv_yardim", "append", ("kayit_no",), (
    _c("kayit_no", required=True, source_name="kayitNo"),
    _c("tc_kimlik_no", "identity", source_name="tcKimlikNo"),
    _c("program_kodu", required=True, source_name="programKodu"),
    _c("program_adi", source_name="programAdi"),
    _c("tutar", "decimal", source_name="tutar", minimum=0),
    _c("odeme_tarihi", "date", required=True, source_name="odemeTarihi"),
    _c("donem", source_name="donem"),
), DEVLET))

_register(FeedSpec("devlet", "isas_alindi", "append", ("isas_ref",), (
    _c("isas_ref", required=True, source_name="isasRef"),
    _c("belediye_yardim_no", required=True, source_name="belediyeYardimNo"),
    _c("tc_kimlik_no", "identity", source_name="tcKimlikNo"),
    _c("alinma_zamani", "timestamp", required=True, source_name="alinmaZamani"),
    _c("durum", "enum", required=True, values=("kabul", "red"), source_name="durum"),
    _c("red_nedeni", source_name="redNedeni"),
), DEVLET))

_register(FeedSpec("devlet", "iskur_teklif", "append", ("teklif_no",), (
    _c("teklif_no", required=True, source_name="teklifNo"),
    _c("tc_kimlik_no", "identity", source_name="tcKimlikNo"),
    _c("teklif_tarihi", "date", required=True, source_name="teklifTarihi"),
    _c("isyeri", source_name="isyeri"),
    _c("pozisyon", source_name="pozisyon"),
    _c("sonuc", "enum", values=("kabul", "ret", "gelmedi"), source_name="sonuc"),
    _c("gecerli_mazeret", "boolean", source_name="gecerliMazeret"),
    _c("sonuc_tarihi", "date", source_name="sonucTarihi"),
), DEVLET))


# Partner NGOs deliver in their own templates; each NGO's mapping (data/ngo_mappings/<ngo_code>.yml) says which of
# its headers fills which of these columns, and with which encoding, delimiter and formats (kopru.ingest.stk).
# A row is identified by its place in the month's file: a corrected file for the month supersedes the whole file.
STK_AID_ROWS = FeedSpec("stk", "aid_rows", "append", ("ngo_code", "delivery_month", "row_in_file"), (
    _c("ngo_code", required=True),
    _c("delivery_month", required=True),  # YYYY-MM from the file name
    _c("row_in_file", "integer", required=True),
    _c("row_ref"),
    _c("tckn", "identity"),
    _c("first_name"),
    _c("last_name"),
    _c("full_name"),
    _c("birth_date", "date"),
    _c("birth_year", "integer", minimum=1900, maximum=2100),
    _c("mahalle_as_written"),
    _c("phone"),
    _c("aid_word", required=True),
    _c("aid_type", "enum", required=True, values=AID_TYPES),
    _c("quantity", "integer", minimum=0),
    _c("amount_try", "decimal", minimum=0),
    _c("delivered_on", "date", required=True),
))
_register(STK_AID_ROWS)


# File names: belediye_<feed>_<YYYYMMDD>.csv, sosyalkart_transactions_<YYYYMMDD>.csv,
# devlet_<feed>_<YYYYMMDD>.jsonl, stk_<ngo_code>_<YYYYMM>.<csv|xlsx>
# The whole name must match (fullmatch: `$` alone would accept a trailing newline), in ASCII digits only (`\d`
# would take any script's digits, and int() reads them).
_NAME = re.compile(
    r"(?P<source>belediye|sosyalkart|devlet)_(?P<feed>[a-z_]+)_(?P<date>[0-9]{8})\.(?P<ext>csv|jsonl)"
    r"|stk_(?P<ngo>[a-z0-9_]+)_(?P<month>[0-9]{6})\.(?P<stk_ext>csv|xlsx)"
)
# An NGO's code names its mapping file, its files and, as a value, rows of SQL: lower-case ASCII and digits only.
NGO_CODE = re.compile(r"[a-z0-9_]+")


@dataclass(frozen=True)
class FileName:
    """A delivered file's name as the contract reads it. For an NGO file (`stk_<ngo>_<YYYYMM>`), `feed` is the NGO's
    code, as the manifest records it."""

    source: str
    feed: str
    stamp: str  # YYYYMMDD, or YYYYMM for an NGO's month, as in the name
    extension: str

    @property
    def ngo(self) -> str | None:
        return self.feed if self.source == "stk" else None

    @property
    def delivered_on(self) -> date | None:
        """The delivery day the name says; for a monthly NGO file, the month's last day, the earliest day the month's
        list can be complete. None for a day no calendar has (20240231)."""
        try:
            if len(self.stamp) == 8:
                return date(int(self.stamp[:4]), int(self.stamp[4:6]), int(self.stamp[6:]))
            first = date(int(self.stamp[:4]), int(self.stamp[4:6]), 1)
        except ValueError:
            return None
        return date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(days=1)

    @property
    def delivery_month(self) -> str:
        """`YYYY-MM`: the month an NGO file lists."""
        return f"{self.stamp[:4]}-{self.stamp[4:6]}"


def parse_file_name(name: str) -> FileName | None:
    """The name's parts, or None when it does not follow the contract."""
    match = _NAME.fullmatch(name)
    if not match:
        return None
    if match.group("ngo"):
        return FileName("stk", match.group("ngo"), match.group("month"), match.group("stk_ext"))
    return FileName(match.group("source"), match.group("feed"), match.group("date"), match.group("ext"))


def arrival_order(name: str) -> tuple[str, str]:
    """Files of a folder in the order they were delivered: by the day (or month) in their name, then by name; names
    outside the contract last."""
    parsed = parse_file_name(name)
    return (parsed.stamp.ljust(8, "0") if parsed else "99999999", name)


def sender_family(name: str) -> str:
    """The source family a file belongs to by its name's first word, even when the rest of the name is bad: that
    family's ingest records it as rejected (`bad_file_name`) rather than no one seeing it."""
    return name.split("_", 1)[0]


TURKISH_FOLD = str.maketrans({
    "İ": "i", "I": "i", "ı": "i", "Ş": "s", "ş": "s", "Ğ": "g", "ğ": "g",
    "Ü": "u", "ü": "u", "Ö": "o", "ö": "o", "Ç": "c", "ç": "c",
})


def fold_turkish(text: str) -> str:
    """Turkish-aware case and letter folding (İ/I/ı/i → i, ş → s, …), applied before lower()."""
    return text.translate(TURKISH_FOLD).lower()


def normalise_header(text: str) -> str:
    """`  T.C. Kimlik No ` → `t_c_kimlik_no`; `Household ID` → `household_id`; `Doğum Tarihi` → `dogum_tarihi`."""
    folded = fold_turkish(text.replace("\ufeff", "").strip())
    return re.sub(r"[^a-z0-9]+", "_", folded).strip("_")
