"""Sample deliveries of every feed of the contract, deterministic for a seed.

Households are spread over the real mahalle of the configured district (or districts) in proportion to population.
By default append feeds are delivered monthly (the first day of the next month) and the snapshot feeds (households,
persons) once per half-year end and at the end of the period, which is what the half-year reports need. With the
`daily` cadence every feed but the NGOs' comes every day, as the contract has it in production (the replay,
kopru.replay, lands them day by day); the loader stores only changed rows, so the cadence changes volume, not
meaning.
"""

from __future__ import annotations

import csv
import dataclasses
import gc
import io
import itertools
import json
import multiprocessing
import os
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from kopru.config import PACKAGE_DATA
from kopru.generate.ngo import NGO_PROFILES, NgoRow, file_bytes, mark_dirt, mark_every_kind_once, spoil
from kopru.identity import check_digits
from kopru.ingest import contract
from kopru.ingest.parsers import format_decimal
from kopru.ingest.stk import all_mappings

FEMALE = ["Ayşe", "Fatma", "Emine", "Hatice", "Zeynep", "Elif", "Meryem", "Şerife", "Zehra", "Sultan", "Hanife",
          "Merve", "Özlem", "Büşra", "Esra", "Gülsüm", "İrem", "Yasemin", "Nur", "Çiğdem", "Songül", "Dilek"]
MALE = ["Mehmet", "Mustafa", "Ahmet", "Ali", "Hüseyin", "Hasan", "İbrahim", "İsmail", "Osman", "Yusuf", "Murat",
        "Ömer", "Ramazan", "Halil", "Süleyman", "Abdullah", "Mahmut", "Recep", "Şükrü", "Çetin", "Gökhan", "Uğur"]
SURNAMES = ["Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Yıldırım", "Öztürk", "Aydın", "Özdemir",
            "Arslan", "Doğan", "Kılıç", "Aslan", "Çetin", "Kara", "Koç", "Kurt", "Özkan", "Şimşek", "Polat",
            "Öz", "Korkmaz", "Çakır", "Erdoğan", "Ünal", "Güneş", "Aktaş", "Bulut", "Işık"]
REFUGEE_SURNAMES = ["Alhamad", "Alali", "Hasan", "Mohammad", "Alahmad", "Ibrahim", "Khalil", "Othman"]

AID_WEIGHTS = {"gida": 30, "nakdi": 15, "yakacak": 10, "egitim": 8, "kira": 6, "saglik": 5, "kart": 20,
               "sosyal_market": 6}
AID_TYPE_LIST = list(AID_WEIGHTS)
AID_CUM_WEIGHTS = list(itertools.accumulate(AID_WEIGHTS.values()))
AID_CHANNEL = {"gida": "ayni", "yakacak": "ayni", "sosyal_market": "ayni", "kart": "kart", "nakdi": "banka",
               "kira": "banka", "egitim": "banka", "saglik": "banka"}
AID_AMOUNT = {"nakdi": (1500, 4000), "kira": (3000, 7000), "egitim": (1000, 2500), "saglik": (800, 3000),
              "kart": (1000, 3000), "gida": (600, 1500), "yakacak": (2000, 5000), "sosyal_market": (300, 900)}
# ISAS gives each record it takes in a reference of its own. Drawn at random, nine-digit references met each other as
# the birthday bound says (790 pairs in a district's 1.2 M, 77,000 in ten districts' 11.9 M), and each such pair made
# one aid record's receipt a new version of another's. A reference is the aid's number scrambled: the stride is
# coprime with the span (2^8·3^2·5^8), so distinct numbers give distinct references, in no order.
ISAS_REF_SPAN = 9 * 10**8
ISAS_REF_STRIDE = 7**10


def isas_reference(aid_id: str) -> str:
    """The ISAS reference of the municipal aid record `aid_id` (Y and its number)."""
    return f"ISAS{10**8 + int(aid_id[1:]) * ISAS_REF_STRIDE % ISAS_REF_SPAN}"


SERVICE_TYPES = ["psikososyal", "cocuk_koruma", "egitim_destek", "yasli_bakim", "engelli_destek",
                 "aile_danismanlik"]
SYDV_PROGRAMS = [("GIDA", "Gıda Yardımı"), ("YAKACAK", "Yakacak Yardımı"), ("NAKDI", "Nakdi Yardım"),
                 ("SARTLI_EGITIM", "Şartlı Eğitim Yardımı"), ("ENGELLI", "Engelli Aylığı"),
                 ("YASLI", "Yaşlı Aylığı"), ("DOGALGAZ", "Doğalgaz Tüketim Desteği")]


class GenerationRefused(ValueError):
    """Sample deliveries that cannot be written as asked (an unknown district or dirt kind, a story that cannot
    continue): the message says why."""


@dataclass(frozen=True)
class Dirt:
    """Rates of the mistakes real deliveries carry. Every kind with a rate above 0 appears at least once, so a
    small sample still exercises each of them; `Dirt.clean()` turns them all off."""

    ngo_id_missing: float = 0.10  # of NGO rows from templates that carry an ID
    ngo_id_mistyped: float = 0.04
    ngo_name_variant: float = 0.35  # ŞAHİN / Sahin / şahin
    ngo_name_typo: float = 0.02  # a letter dropped from the surname
    ngo_mahalle_variant: float = 0.5  # CUMHURİYET MAH. / Cumhuriyet Mahallesi / …
    ngo_unknown_aid_word: float = 0.004
    ngo_outsider: float = 0.08  # NGO recipients the municipality does not know
    malformed_row: float = 0.003  # NGO rows with a field missing (CSV) or one too many (XLSX)
    redelivered_file: float = 0.02  # monthly files sent again, identical, the next day
    corrected_file: float = 0.02  # monthly files re-sent with a correction (into the inbox's resent/ folder)

    @classmethod
    def clean(cls) -> Dirt:
        return cls(**{name: 0.0 for name in cls.__dataclass_fields__})

    @classmethod
    def parse(cls, settings: list[str]) -> Dirt:
        """`["ngo_id_missing=0.2", "malformed_row=0"]` → Dirt with those rates changed."""
        changes = {}
        for setting in settings:
            name, _, value = setting.partition("=")
            if name not in cls.__dataclass_fields__:
                raise GenerationRefused(f"unknown dirt kind {name!r}; known: {', '.join(cls.__dataclass_fields__)}")
            changes[name] = float(value)
        return cls(**changes)


@dataclass
class Person:
    person_id: str
    household_id: str
    tckn: str
    first_name: str
    last_name: str
    birth_date: date
    sex: str
    relation: str
    disability_pct: int
    employable: bool
    employment_status: str


@dataclass
class Household:
    household_id: str
    mahalle_code: str
    mahalle_name: str
    address_line: str
    phone: str
    registered_on: date
    protection_status: str
    persons: list[Person] = field(default_factory=list)
    closed_on: date | None = None
    need_score: int = 50

    def active_on(self, day: date) -> bool:
        return self.registered_on <= day and (self.closed_on is None or day < self.closed_on)


def _districts_of(district: str) -> list[tuple[str, str]]:
    """(il, ilçe) of each district named; `district` is one `İl/İlçe` or several, comma-separated."""
    named = []
    for part in district.split(","):
        il, slash, ilce = part.partition("/")
        if not slash or not il.strip() or not ilce.strip():
            raise GenerationRefused(f"no district {part.strip()!r} (expected `İl/İlçe`, e.g. İstanbul/Sultangazi; "
                                    "several separated by commas)")
        named.append((il.strip(), ilce.strip()))
    return list(dict.fromkeys(named))  # a district named twice is not twice as full


MahalleByDistrict = dict[tuple[str, str], list[tuple[str, str, int]]]  # (il, ilçe) → (code, name, population)


def _mahalle_by_district() -> MahalleByDistrict:
    by_district: MahalleByDistrict = {}
    with open(PACKAGE_DATA / "mahalle_population_2024.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_district.setdefault((row["il"], row["ilce"]), []).append(
                (row["mahalle_code"], row["mahalle"], int(row["population"])))
    return by_district


def _mahalle_of(by_district: MahalleByDistrict, il: str, ilce: str) -> list[tuple[str, str, int]]:
    if (il, ilce) not in by_district:
        raise GenerationRefused(f"no mahalle found for district {il + '/' + ilce!r} "
                                "(expected `İl/İlçe`, e.g. İstanbul/Sultangazi)")
    return by_district[il, ilce]


def load_mahalle(district: str) -> list[tuple[str, str, int]]:
    """(code, name, population) of the mahalle of the district, or of each of several comma-separated ones."""
    by_district = _mahalle_by_district()
    return [row for il, ilce in _districts_of(district) for row in _mahalle_of(by_district, il, ilce)]


def districts_like(district: str, count: int) -> str:
    """The district and the `count` − 1 others of its province nearest to it in population, comma-separated.

    Ten districts' worth of households is ten districts' mahalle, each about as full as the one: put into one
    district's mahalle, every mahalle is ten times as full, and the linkage's blocks, which grow with the square of
    a mahalle's people, measure a district that cannot exist (500,000 households in a district of 532,802 people)."""
    named = _districts_of(district)
    if len(named) != 1:
        raise GenerationRefused(f"districts like {district!r}: name one district to find the others like it")
    (il, ilce), = named
    by_district = _mahalle_by_district()
    _mahalle_of(by_district, il, ilce)  # an unknown district is refused as the generator refuses it
    population = {name: sum(row[2] for row in rows) for (province, name), rows in by_district.items()
                  if province == il}
    if not 1 <= count <= len(population):
        raise GenerationRefused(f"{il} has {len(population)} districts: ask for 1 to {len(population)}, "
                                f"not {count}")
    others = sorted((name for name in population if name != ilce),
                    key=lambda name: (abs(population[name] - population[ilce]), name))
    return ",".join(f"{il}/{name}" for name in [ilce, *others[: count - 1]])


def month_starts(start: date, end: date):
    day = date(start.year, start.month, 1)
    while day <= end:
        yield day
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


class Generator:
    def __init__(self, district: str, households: int, start: date, end: date, seed: int,
                 dirt: Dirt | None = None, registry_end: date | None = None, referral_rate: float = 0.012):
        """Events from `start` to `end`; the households registered up to `registry_end` (default `end`). A
        story continued to a later `end` keeps its `registry_end`, and so its households and their IDs.
        `referral_rate`: the monthly chance that an unemployed, employable person is referred to employment."""
        self.rng = random.Random(seed)
        self._random = self.rng.random
        self.seed = seed
        self.dirt = dirt or Dirt()
        self.mappings = {m.ngo_code: m for m in all_mappings() if m.ngo_code in NGO_PROFILES}
        self.district = district
        self.start, self.end = start, end
        self.registry_end = registry_end or end
        self.referral_rate = referral_rate
        self.mahalle = load_mahalle(district)
        # summed once: choices(weights=…) would sum them again on every draw
        self.mahalle_cum_weights = list(itertools.accumulate(m[2] for m in self.mahalle))
        self.n_households = households
        self._ids: set[str] = set()
        self.households: list[Household] = []
        self.counters: dict[str, int] = {}

    def _int(self, low: int, high: int) -> int:
        """random.randint without its argument checks: the generator draws millions of these."""
        return low + int(self._random() * (high - low + 1))

    def next_id(self, prefix: str) -> str:
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}{self.counters[prefix]:07d}"

    def identity(self, foreign: bool) -> str:
        while True:
            if foreign:
                first = "99" + "".join(str(self._int(0, 9)) for _ in range(7))
            else:
                first = str(self._int(1, 9)) + "".join(str(self._int(0, 9)) for _ in range(8))
            number = first + check_digits(first)
            if number not in self._ids and (foreign or not number.startswith("99")):
                self._ids.add(number)
                return number

    def _day_between(self, low: date, high: date) -> date:
        return low + timedelta(days=self._int(0, max(0, (high - low).days)))

    def build_registry(self) -> None:
        rng = self.rng
        for _ in range(self.n_households):
            code, name, _pop = rng.choices(self.mahalle, cum_weights=self.mahalle_cum_weights)[0]
            refugee = rng.random() < 0.08
            # most of the caseload is registered before the period, the rest joins during it
            registered = (self._day_between(self.start - timedelta(days=730), self.start - timedelta(days=1))
                          if rng.random() < 0.8 else
                          self._day_between(self.start, max(self.start, self.registry_end - timedelta(days=60))))
            household = Household(
                household_id=self.next_id("H"),
                mahalle_code=code,
                mahalle_name=name,
                address_line=f"{rng.choice(['Atatürk', 'Cumhuriyet', 'Fatih', 'Gül', 'Lale'])} Sk. No:"
                f"{self._int(1, 120)} D:{self._int(1, 20)}",
                phone=f"05{self._int(30, 59)}{self._int(1000000, 9999999)}",
                registered_on=registered,
                protection_status=rng.choice(["temporary"] * 9 + ["international"]) if refugee else "none",
                need_score=max(0, min(100, int(rng.gauss(58, 18)))),
            )
            if rng.random() < 0.12:
                # a closure after the period is not seen in it, and happens when the story is continued
                household.closed_on = self._day_between(registered + timedelta(days=90),
                                                        self.registry_end + timedelta(200))
            surname = rng.choice(REFUGEE_SURNAMES if refugee else SURNAMES)
            size = rng.choices([1, 2, 3, 4, 5, 6, 7, 8], [6, 12, 20, 25, 18, 10, 6, 3])[0]
            head_female = rng.random() < 0.3
            ref = self.start
            head_age = self._int(24, 75)
            roles = ["head"] + (["spouse"] if size > 1 and rng.random() < 0.8 else [])
            roles += ["child"] * (size - len(roles))
            if size >= 4 and rng.random() < 0.15:
                roles[-1] = "parent"
            for role in roles:
                if role == "head":
                    sex, age = ("K" if head_female else "E"), head_age
                elif role == "spouse":
                    sex, age = ("E" if head_female else "K"), max(18, head_age + self._int(-6, 4))
                elif role == "parent":
                    sex, age = rng.choice("KE"), head_age + self._int(20, 30)
                else:
                    sex, age = rng.choice("KE"), self._int(0, min(25, max(0, head_age - 18)))
                birth = ref - timedelta(days=age * 365 + self._int(0, 364))
                adult = 18 <= age < 65
                employable = adult and rng.random() < 0.55
                household.persons.append(Person(
                    person_id=self.next_id("P"),
                    household_id=household.household_id,
                    tckn=self.identity(refugee),
                    first_name=rng.choice(FEMALE if sex == "K" else MALE),
                    last_name=surname,
                    birth_date=birth,
                    sex=sex,
                    relation=role,
                    disability_pct=rng.choice([0] * 18 + [40, 60, 90]),
                    employable=employable,
                    employment_status=("unemployed" if rng.random() < 0.7 else "employed") if employable
                    else "not_in_labour_force",
                ))
            self.households.append(household)

    @staticmethod
    def need_level(score: int) -> int:
        return min(5, 1 + score // 20)

    def simulate(self, month_over: Callable[[dict, date], None] | None = None) -> dict[str, list[tuple[date, dict]]]:
        """Every event of every append feed up to the end, with the date it happened.

        Month by month, from a random stream of their own: the events of a month depend only on the registry and
        the months before it, so a story continued to a later end repeats its past exactly (same events, same
        IDs). Consequences that fall after the end (an ISAS receipt, an offer, a card purchase) are drawn all the
        same and left out at the end, for the same reason."""
        self.rng = rng = random.Random(f"{self.seed}:events")
        self._random = rng.random
        events: dict[str, list[tuple[date, dict]]] = {k: [] for k in (
            "assessments", "aid", "services", "employment_referrals", "surveys", "isas_alindi", "iskur_teklif",
            "sydv_yardim", "transactions", "ngo")}
        ngo_shares = [(code, NGO_PROFILES[code]["share_by_need_level"]) for code in sorted(self.mappings)]
        aid_chance = {1: 0.03, 2: 0.1, 3: 0.35, 4: 0.6, 5: 0.8}
        next_visit = {h.household_id: max(h.registered_on, self.start) for h in self.households}
        referred: set[str] = set()
        for month in month_starts(self.start, self.end):
            month_end = next_month(month) - timedelta(days=1)
            ngo_rows_before = len(events["ngo"])
            for household in self.households:
                if not household.active_on(month_end):
                    continue
                if next_visit[household.household_id] <= month_end:
                    visit = max(next_visit[household.household_id], month)
                    household.need_score = max(0, min(100, household.need_score + int(rng.gauss(-2, 8))))
                    level = self.need_level(household.need_score)
                    due = visit + timedelta(days=rng.choice([180, 270, 365]))
                    events["assessments"].append((visit, {
                        "assessment_id": self.next_id("A"), "household_id": household.household_id,
                        "visit_date": visit.isoformat(), "assessor_id": f"U{self._int(1, 25):03d}",
                        "monthly_income_try":
                            f"{max(0, 30000 - household.need_score * 280 + self._int(-2000, 2000))}.00",
                        "monthly_rent_try": f"{rng.choice([0, 0, 4000, 6000, 8000, 10000])}.00",
                        "need_score": household.need_score, "need_level": level,
                        "next_visit_due": due.isoformat()})
                    )
                    # some assessments are done late: the overdue flag must find them
                    next_visit[household.household_id] = due + timedelta(days=rng.choice([0, 0, 0, 30, 120]))
                level = self.need_level(household.need_score)
                if rng.random() < aid_chance[level]:
                    self._aid(household, month, month_end, events)
                for ngo_code, shares in ngo_shares:
                    if rng.random() < shares[level]:
                        self._ngo_aid(ngo_code, household, month, month_end, events)
                if rng.random() < 0.02 + 0.01 * level:
                    person = rng.choice(household.persons)
                    opened = self._day_between(month, month_end)
                    closed = opened + timedelta(days=self._int(7, 120))
                    events["services"].append((opened, {
                        "service_id": self.next_id("S"), "household_id": household.household_id,
                        "person_id": person.person_id, "service_type": rng.choice(SERVICE_TYPES),
                        "provider_unit": rng.choice(["kadin_aile", "kadin_aile", "sosyal_destek", "partner"]),
                        "opened_on": opened.isoformat(),
                        # the month's file knows only what happened before it was written
                        "closed_on": closed.isoformat() if closed < next_month(month) else "",
                        "outcome": rng.choice(["tamamlandi", "devam", "yonlendirildi"])
                        if closed < next_month(month) else ""}))
                for person in household.persons:
                    if (person.employable and person.employment_status == "unemployed"
                            and person.person_id not in referred and rng.random() < self.referral_rate):
                        referred.add(person.person_id)
                        self._referral(person, self._day_between(month, month_end), events)
                if household.protection_status == "none" and rng.random() < 0.15 * level / 5:
                    person = household.persons[0]
                    code, title = rng.choice(SYDV_PROGRAMS + [("OZEL_PROGRAM_X", "İl Özel Programı")])
                    paid = self._day_between(month, month_end)
                    events["sydv_yardim"].append((paid, {
                        "kayitNo": self.next_id("SYDV"), "tcKimlikNo": person.tckn, "programKodu": code,
                        "programAdi": title, "tutar": float(self._int(500, 3000)), "odemeTarihi": paid.isoformat(),
                        "donem": f"{month.year}-{month.month:02d}"}))
            self._ngo_outsiders(month, month_end, len(events["ngo"]) - ngo_rows_before, events)
            if month.month in SURVEY_MONTHS:
                self._survey_wave(month, events)
            if month_over:
                month_over(events, month_end)
        return {feed: [(day, row) for day, row in rows if self.start <= day <= self.end]
                for feed, rows in events.items()}

    def _ngo_aid(self, ngo_code: str, household: Household, month: date, month_end: date, events,
                 person: Person | None = None) -> None:
        rng = self.rng
        if person is None:
            adults = [p for p in household.persons if (month - p.birth_date).days >= 18 * 365]
            person = household.persons[0] if rng.random() < 0.7 or not adults else rng.choice(adults)
        word = rng.choice(list(NGO_PROFILES[ngo_code]["aid"]))
        quantity, amount_range = NGO_PROFILES[ngo_code]["aid"][word]
        amount = None  # in-kind aid: a parcel has no amount
        if amount_range is not None and amount_range[1]:
            amount = Decimal(self._int(*amount_range) // 50 * 50)
        delivered = self._day_between(month, month_end)
        events["ngo"].append((delivered, NgoRow(
            ngo_code=ngo_code, delivered_on=delivered, tckn=person.tckn, first_name=person.first_name,
            last_name=person.last_name, birth_date=person.birth_date, mahalle_name=household.mahalle_name,
            phone=household.phone, aid_word=word, quantity=self._int(1, quantity), amount=amount,
            person_id=person.person_id if household.household_id else None,
            household_id=household.household_id or None)))

    def _ngo_outsiders(self, month: date, month_end: date, ngo_rows: int, events) -> None:
        """People an NGO helps whom the municipality has never registered: they must stay unlinked."""
        rng = self.rng
        for _ in range(ngo_rows):
            if not (self.dirt.ngo_outsider and rng.random() < self.dirt.ngo_outsider):
                continue
            ngo_code = rng.choice(sorted(self.mappings))
            code, name, _pop = rng.choices(self.mahalle, cum_weights=self.mahalle_cum_weights)[0]
            sex = rng.choice("KE")
            stranger = Household("", code, name, "", f"05{self._int(30, 59)}{self._int(1000000, 9999999)}",
                                 self.start, "none")
            person = Person("", "", self.identity(False), rng.choice(FEMALE if sex == "K" else MALE),
                            rng.choice(SURNAMES), self.start - timedelta(days=self._int(20 * 365, 70 * 365)),
                            sex, "head", 0, False, "not_in_labour_force")
            self._ngo_aid(ngo_code, stranger, month, month_end, events, person)

    def _aid(self, household: Household, month: date, month_end: date, events) -> None:
        rng = self.rng
        aid_type = rng.choices(AID_TYPE_LIST, cum_weights=AID_CUM_WEIGHTS)[0]
        delivered = self._day_between(month, month_end)
        low, high = AID_AMOUNT[aid_type]
        amount = Decimal(self._int(low, high)) + Decimal(rng.choice([0, 50])) / 100
        aid_id = self.next_id("Y")
        entered = rng.random() < 0.93
        isas_ref = ""
        if entered:
            self._random()  # the draw the reference once was: every later draw of the story stays where it was
            isas_ref = isas_reference(aid_id)
        entered_on = delivered + timedelta(days=self._int(0, 20))
        person = household.persons[0]
        events["aid"].append((delivered, {
            "aid_id": aid_id, "household_id": household.household_id,
            "person_id": person.person_id if rng.random() < 0.7 else "",
            "aid_type": aid_type, "channel": AID_CHANNEL[aid_type], "amount_try": f"{amount:.2f}",
            "quantity": 1 if aid_type in ("gida", "yakacak", "sosyal_market") else "",
            # the month's file shows an ISAS entry only if it was made before the file was written
            "delivered_on": delivered.isoformat(), "isas_ref": isas_ref if entered_on < next_month(month) else "",
            "isas_entered_on": entered_on.isoformat() if entered and entered_on < next_month(month) else ""}))
        if entered:
            accepted = rng.random() < 0.95
            events["isas_alindi"].append((entered_on, {
                "isasRef": isas_ref, "belediyeYardimNo": aid_id, "tcKimlikNo": person.tckn,
                "alinmaZamani": f"{entered_on.isoformat()}T{self._int(8, 17):02d}:{self._int(0, 59):02d}:00",
                "durum": "kabul" if accepted else "red",
                "redNedeni": None if accepted else rng.choice(["Kimlik doğrulanamadı", "Mükerrer kayıt",
                                                               "Eksik adres bilgisi"])}))
        if aid_type == "kart":
            stamp = datetime.combine(delivered, datetime.min.time()) + timedelta(hours=9)
            events["transactions"].append((delivered, {
                "islem_no": self.next_id("T"), "kart_no": f"6034********{self._int(1000, 9999)}",
                "hane_no": household.household_id, "islem_zamani": stamp, "isyeri_kategorisi": "",
                "tutar": amount, "islem_tipi": "yukleme"}))
            spent = Decimal(0)
            for _ in range(self._int(1, 4)):
                part = (amount - spent) * Decimal(self._int(20, 60)) / 100
                part = part.quantize(Decimal("0.01"))
                spent += part
                when = stamp + timedelta(days=self._int(0, 25), hours=self._int(0, 9))
                events["transactions"].append((when.date(), {
                    "islem_no": self.next_id("T"), "kart_no": f"6034********{self._int(1000, 9999)}",
                    "hane_no": household.household_id, "islem_zamani": when,
                    "isyeri_kategorisi": rng.choice(["market", "giyim", "kirtasiye", "eczane"]),
                    "tutar": part, "islem_tipi": "harcama"}))

    def _referral(self, person: Person, referred_on: date, events) -> None:
        rng = self.rng
        events["employment_referrals"].append((referred_on, {
            "referral_id": self.next_id("R"), "person_id": person.person_id, "tckn": person.tckn,
            "referred_on": referred_on.isoformat(), "channel": rng.choice(["iskur", "istihdam_merkezi"]),
            "program": rng.choice(["Meslek edindirme", "İşbaşı eğitim", "Doğrudan yerleştirme"]),
            "referred_by": f"U{self._int(1, 25):03d}"}))
        # Some people refuse every offer: the three-refusal rule must catch them.
        refuser = rng.random() < 0.15
        offered = referred_on
        for _ in range(self._int(1, 5)):
            offered = offered + timedelta(days=self._int(15, 60))
            outcome = rng.choice(["ret", "gelmedi"]) if refuser else rng.choice(["kabul", "ret", "gelmedi", "ret"])
            outcome_on = offered + timedelta(days=self._int(1, 10))
            # İŞKUR reports an offer once its outcome is known
            events["iskur_teklif"].append((outcome_on, {
                "teklifNo": self.next_id("K"), "tcKimlikNo": person.tckn, "teklifTarihi": offered.isoformat(),
                "isyeri": rng.choice(["Tekstil AŞ", "Lojistik Ltd", "Gıda San.", "Temizlik Hizm."]),
                "pozisyon": rng.choice(["Operatör", "Depo elemanı", "Temizlik personeli", "Satış danışmanı"]),
                "sonuc": outcome, "gecerliMazeret": (not refuser) and outcome != "kabul" and rng.random() < 0.3,
                "sonucTarihi": outcome_on.isoformat()}))
            if outcome == "kabul":
                break

    def _survey_wave(self, month: date, events) -> None:
        """The satisfaction survey of the half-year, fielded from the 15th of its month."""
        rng = self.rng
        day = date(month.year, month.month, 15)
        active = [h for h in self.households if h.active_on(day)]
        wave = f"{month.year}-H{1 + (month.month > 6)}"
        for household in rng.sample(active, min(len(active), max(5, len(active) // 20))):
            anonymous = rng.random() < 0.3
            events["surveys"].append((day, {
                "response_id": self.next_id("Q"), "survey_wave": wave,
                "responded_on": self._day_between(day, day + timedelta(days=10)).isoformat(),
                "household_id": "" if anonymous else household.household_id,
                "channel": rng.choice(["telefon", "yuzyuze", "web"]),
                "q_satisfaction": rng.choices([1, 2, 3, 4, 5], [3, 4, 9, 40, 44])[0],
                "q_fairness": rng.choices([1, 2, 3, 4, 5], [4, 5, 10, 42, 39])[0],
                "comment": ""}))


SURVEY_MONTHS = (5, 11)


def _contract_columns(feed: str) -> list[str]:
    """A municipal feed's columns in the contract's order: the generator writes what the contract says."""
    return [column.name for column in contract.FEEDS[("belediye", feed)].columns]


HOUSEHOLD_COLUMNS = _contract_columns("households")
PERSON_COLUMNS = _contract_columns("persons")
APPEND_COLUMNS = {feed: _contract_columns(feed)
                  for feed in ("assessments", "aid", "services", "employment_referrals", "surveys")}


def _csv_bytes(columns: list[str], rows: list[dict], delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return buffer.getvalue().encode(encoding)


# the ages at which a person's schooling state can change (see _school_level)
SCHOOL_LEVEL_STARTS = (3, 6, 10, 14, 18, 23)


def _school_level(age: int) -> tuple[bool, str]:
    if age < 3:
        return False, "none"
    for limit, level in ((6, "preschool"), (10, "primary"), (14, "secondary"), (18, "high"), (23, "university")):
        if age < limit:
            return True, level
    return False, "none"


def _calendar_month(day: date) -> tuple[int, int]:
    return day.year, day.month


def _bucketed(events: list[tuple[date, object]], period_of: Callable[[date], object]) -> dict:
    """The events' rows by the period (`period_of` their day) whose file carries them."""
    buckets: dict = {}
    for day, row in events:
        buckets.setdefault(period_of(day), []).append(row)
    return buckets


RESENT_FOLDER = "resent"  # later arrivals: a corrected file has the same name as the one it corrects
TRUTH_COLUMNS = ["ngo_code", "delivery_month", "row_in_file", "person_id", "household_id", "dirt"]


CADENCES = ("monthly", "daily")


def _file_rng(gen: Generator, name: str) -> random.Random:
    """The draws that spoil or re-send one file: its own stream, so a file is the same whichever window writes it."""
    return random.Random(f"{gen.seed}:{name}")


class Deliveries:
    """The delivery files of a story, written while it is simulated (`take` after each month, then `finish`).

    `monthly`: each append feed once a month (the file of 1 February carries January), the registry snapshots at
    each half-year's end and at the end. `daily`: as the contract has it in production, each append feed every day
    (the file of 2 January carries 1 January, empty when nothing happened) and a full snapshot of the registry every
    day. The NGOs deliver monthly either way (under `daily`, once their month is over). Only the days after `since`
    are written (default: from the start).

    A period's append files are written as soon as the simulation has passed its end: an event's consequences (an
    ISAS receipt, an offer, a card purchase) fall on or after the day it happened, so no later month adds to them.
    Only the months not yet written and the NGOs' rows are held, so a ten-district story fits in memory. What is
    decided across files (a corrected or re-sent file where none came by chance, the NGOs' dirt, the snapshots) is
    decided at the end; every draw that spoils or re-sends a file is that file's own (`_file_rng`), so the files are
    the same whenever they are written."""

    PENDING_ROWS = 3_000_000  # rows rendered at once, on forked workers: about 2 GB of rows held

    def __init__(self, gen: Generator, out: Path, truth_dir: Path, cadence: str = "monthly",
                 since: date | None = None):
        if cadence not in CADENCES:
            raise GenerationRefused(f"cadence is one of {', '.join(CADENCES)}")
        out.mkdir(parents=True, exist_ok=True)
        self.gen, self.out, self.truth_dir, self.since = gen, out, truth_dir, since
        self.first = max(gen.start, since + timedelta(days=1)) if since else gen.start
        self.daily = cadence == "daily"
        # A first delivery shows every kind of dirt at least once, so a small sample exercises each; what follows
        # has it at its rates only.
        self.at_least_once = since is None
        self.file_period_of = (lambda day: day) if self.daily else _calendar_month
        if self.daily:
            self.snapshot_days = [self.first + timedelta(days=i) for i in range((gen.end - self.first).days + 1)]
            self.periods = list(self.snapshot_days)
        else:  # at each half-year end and at the end of the period
            self.snapshot_days = sorted({d for y in range(self.first.year, gen.end.year + 1)
                                         for d in (date(y, 6, 30), date(y, 12, 31)) if self.first <= d <= gen.end}
                                        | {gen.end})
            self.periods = list(month_starts(self.first, gen.end))
        self.periods.reverse()  # popped from the end, earliest first
        self.jobs: list[tuple[str, Callable[..., bytes], tuple]] = []
        self.pending_rows = 0
        self.written: dict[str, int] = {}
        self.appended: list[str] = []  # the append files, in order: candidates for a re-sending
        self.corrected: set[str] = set()  # files a corrected copy was sent of (resent/…)
        self.busiest_aid: tuple[object, list[dict]] | None = None  # the window's period with most aid rows

    def _period_over(self, period: date, through: date) -> bool:
        return (period if self.daily else next_month(period) - timedelta(days=1)) <= through

    def take(self, events: dict[str, list[tuple[date, object]]], through: date) -> None:
        """Write the append files of the periods that end on or before `through`, taking the events they carry (and
        any before the window) out of `events`; the NGOs' rows stay until `finish`."""
        gen = self.gen
        ready: dict[str, dict] = {}
        for feed, rows in events.items():
            if feed == "ngo":
                continue
            ready[feed] = _bucketed([(day, row) for day, row in rows if gen.start <= day <= min(through, gen.end)],
                                    self.file_period_of)
            rows[:] = [(day, row) for day, row in rows if day > through]
        for key, rows in ready["aid"].items():  # in the order the periods first appear, so a tie keeps the first
            if key >= self.file_period_of(self.first) and (self.busiest_aid is None
                                                           or len(rows) > len(self.busiest_aid[1])):
                self.busiest_aid = (key, rows)
        while self.periods and self._period_over(self.periods[-1], through):
            self._append_jobs(self.periods.pop(), ready)
        if self.pending_rows >= self.PENDING_ROWS:
            self._render()

    def _append_jobs(self, period: date, ready: dict[str, dict]) -> None:
        """The append deliveries of one period; a few are sent again the next day, byte for byte, and a few
        corrected later."""
        key = self.file_period_of(period)
        stamp = (period + timedelta(days=1) if self.daily else next_month(period)).strftime("%Y%m%d")
        for feed, columns in APPEND_COLUMNS.items():
            rows = ready[feed].get(key, [])
            name = f"belediye_{feed}_{stamp}.csv"
            self._job(name, _csv_bytes, (columns, rows), len(rows))
            self.appended.append(name)
            rng = _file_rng(self.gen, name)
            if feed == "aid" and rows and rng.random() < self.gen.dirt.corrected_file:
                self._job(f"{RESENT_FOLDER}/{name}", _csv_bytes, (columns, _corrected(rows, rng)), len(rows))
                self.corrected.add(name)
        name = f"sosyalkart_transactions_{stamp}.csv"
        cards = ready["transactions"].get(key, [])
        self._job(name, _card_bytes, (cards,), len(cards))
        self.appended.append(name)
        for feed in ("sydv_yardim", "isas_alindi", "iskur_teklif"):
            name = f"devlet_{feed}_{stamp}.jsonl"
            rows = ready[feed].get(key, [])
            self._job(name, _jsonl_bytes, (rows,), len(rows))
            self.appended.append(name)

    def _job(self, name: str, function: Callable[..., bytes], args: tuple, rows: int) -> None:
        self.jobs.append((name, function, args))
        self.pending_rows += rows

    def _render(self) -> None:
        self.written.update(_render(self.jobs, self.out))
        self.jobs, self.pending_rows = [], 0

    def finish(self, events: dict[str, list[tuple[date, object]]]) -> dict[str, int]:
        """The rest: what `take` has not written, the snapshots, the NGOs' files, the corrected and re-sent copies,
        and the NGO rows' ground truth. Returns the files written (name → bytes)."""
        gen = self.gen
        self.take(events, gen.end)
        for day in self.snapshot_days:
            stamp = (day + timedelta(days=1)).strftime("%Y%m%d")
            self._job(f"belediye_households_{stamp}.csv", _snapshot_households, (gen.households, day), 0)
            self._job(f"belediye_persons_{stamp}.csv", _snapshot_persons, (gen.households, day, gen.seed), 0)
        if self.at_least_once and gen.dirt.corrected_file and self.busiest_aid and not self.corrected:
            busiest, rows = self.busiest_aid
            delivered = busiest + timedelta(days=1) if self.daily else next_month(date(*busiest, 1))
            name = f"belediye_aid_{delivered:%Y%m%d}.csv"
            self._job(f"{RESENT_FOLDER}/{name}", _csv_bytes,
                      (APPEND_COLUMNS["aid"], _corrected(rows, _file_rng(gen, name))), len(rows))
            self.corrected.add(name)
        if self.daily:  # an NGO's month is delivered once it is over
            ngo_months = [m for m in month_starts(gen.start, gen.end)
                          if self.first <= next_month(m) - timedelta(days=1) <= gen.end]
        else:
            ngo_months = [m for m in month_starts(gen.start, gen.end) if self.first <= max(m, gen.start)]
        truth = _ngo_jobs(gen, _bucketed(events["ngo"], _calendar_month), ngo_months, self.jobs,
                          self.at_least_once)
        self._render()
        self._resend()
        self.truth_dir.mkdir(parents=True, exist_ok=True)
        truth_file = self.truth_dir / "stk_rows.csv"
        if self.since and truth_file.exists():  # a continued story: its new rows after the earlier ones
            truth_file.write_bytes(truth_file.read_bytes() + _csv_bytes(TRUTH_COLUMNS, truth).split(b"\n", 1)[1])
        else:
            truth_file.write_bytes(_csv_bytes(TRUTH_COLUMNS, truth))
        return self.written

    def _resend(self) -> None:
        written, out = self.written, self.out
        resend = [name for name in self.appended if written[name] > 200 and name not in self.corrected
                  and _file_rng(self.gen, f"again:{name}").random() < self.gen.dirt.redelivered_file]
        candidates = [name for name in self.appended if name.startswith("belediye_aid_") and name not in self.corrected]
        if self.at_least_once and self.gen.dirt.redelivered_file and not resend and candidates:
            resend = [max(candidates, key=written.get)]
        for name in resend:
            if self.daily:  # the next day's name is that day's own file: the copy arrives as a re-sending
                copy = f"{RESENT_FOLDER}/{name}"
            else:
                parsed = contract.parse_file_name(name)
                copy = (f"{parsed.source}_{parsed.feed}_{parsed.delivered_on + timedelta(days=1):%Y%m%d}"
                        f".{parsed.extension}")
            (out / copy).parent.mkdir(parents=True, exist_ok=True)
            (out / copy).write_bytes((out / name).read_bytes())
            written[copy] = written[name]


_JOBS: list = []  # the jobs of the running _render, inherited by forked workers instead of pickled to them


def _render_one(index: int) -> tuple[str, bytes]:
    name, function, args = _JOBS[index]
    return name, function(*args)


def _memory_kb(path: str, field_name: str) -> int | None:
    """A `kB` figure of a /proc file (Linux); None where there is none."""
    try:
        with open(path, encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _render_workers() -> int:
    """Processes to render the files on: the cores, unless forked copies of this process would not fit in memory.
    A fork shares the simulated story only until the worker touches it, and reading Python objects touches them, so
    each worker can come to hold a copy; a ten-district story is several GB."""
    cores = min(os.cpu_count() or 1, 4)
    resident, available = _memory_kb("/proc/self/status", "VmRSS"), _memory_kb("/proc/meminfo", "MemAvailable")
    if resident is None or available is None:
        return cores
    return max(1, min(cores, int(0.8 * available / resident)))


def _render(jobs: list, out: Path) -> dict[str, int]:
    global _JOBS
    written: dict[str, int] = {}

    def save(name: str, data: bytes) -> None:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
        written[name] = len(data)

    workers = _render_workers()
    if workers == 1 or len(jobs) < 8 or "fork" not in multiprocessing.get_all_start_methods():
        for name, function, args in jobs:
            save(name, function(*args))
        return written
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    _JOBS = jobs
    try:
        # An executor, not a multiprocessing.Pool: a worker that dies (a fork of a process with threads can) breaks
        # the executor, which says so, where a Pool waits forever on the queue lock the dead worker held.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            for name, data in pool.map(_render_one, range(len(jobs)), chunksize=4):
                save(name, data)
    except BrokenProcessPool:
        for name, function, args in jobs:
            if name not in written:
                save(name, function(*args))
    finally:
        _JOBS = []
    return written


def _card_bytes(rows: list[dict]) -> bytes:
    cards = sorted(rows, key=lambda r: r["islem_zamani"])
    card_rows = [{**r, "islem_zamani": r["islem_zamani"].strftime("%d.%m.%Y %H:%M:%S"),
                  "tutar": format_decimal(r["tutar"], "tr")} for r in cards]
    spec = contract.FEEDS[("sosyalkart", "transactions")]
    return _csv_bytes([column.name for column in spec.columns], card_rows, delimiter=spec.formats.delimiter,
                      encoding=spec.formats.encoding)


def _jsonl_bytes(rows: list[dict]) -> bytes:
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    return ("\n".join(lines) + ("\n" if lines else "")).encode()


def _corrected(rows: list[dict], rng) -> list[dict]:
    """The same deliveries with one amount put right, as a municipality re-sends a file it fixed."""
    fixed = [dict(row) for row in rows]
    row = rng.choice(fixed)
    row["amount_try"] = f"{Decimal(row['amount_try'] or '0') + Decimal('100.00'):.2f}"
    return fixed


def _ngo_jobs(gen: Generator, ngo_buckets, months: list[date], jobs: list, at_least_once: bool) -> list[dict]:
    """One job per NGO and month of `months`, the ground truth of every row, and a few corrected re-sendings
    (`at_least_once`: every kind of dirt, and one corrected file, appear)."""
    files = []
    for month in months:
        month_rows = ngo_buckets.get((month.year, month.month), [])
        for ngo_code, mapping in sorted(gen.mappings.items()):
            ngo_rows = sorted((r for r in month_rows if r.ngo_code == ngo_code), key=lambda r: r.delivered_on)
            if ngo_rows:
                name = f"stk_{ngo_code}_{month:%Y%m}.{mapping.formats.file_format}"
                rng = _file_rng(gen, name)
                mark_dirt(ngo_rows, rng, gen.dirt)
                files.append((month, ngo_code, mapping, name, ngo_rows, rng))
    if at_least_once:
        mark_every_kind_once([row for *_, rows, _rng in files for row in rows], random.Random(f"{gen.seed}:dirt"),
                             gen.dirt)
    truth = []
    corrected_any = not at_least_once
    for month, ngo_code, mapping, name, ngo_rows, rng in files:
        spoil(ngo_rows, rng)
        for number, row in enumerate(ngo_rows, start=1):
            row.row_in_file = number
            truth.append({"ngo_code": ngo_code, "delivery_month": f"{month:%Y-%m}", "row_in_file": number,
                          "person_id": row.person_id or "", "household_id": row.household_id or "",
                          "dirt": " ".join(row.dirt)})
        jobs.append((name, file_bytes, (ngo_rows, mapping)))
        first_chance = not corrected_any and ngo_code == "kizilay_ilce" and len(ngo_rows) > 3
        if rng.random() < gen.dirt.corrected_file or (gen.dirt.corrected_file and first_chance):
            corrected_any = True
            fixed = list(ngo_rows)
            index = rng.randrange(len(fixed))
            # the NGO found it handed out one more than it listed
            fixed[index] = dataclasses.replace(fixed[index], quantity=fixed[index].quantity + 1)
            jobs.append((f"{RESENT_FOLDER}/{name}", file_bytes, (fixed, mapping)))
    return truth


def _snapshot_households(households: list[Household], day: date) -> bytes:
    rows = []
    for h in households:
        if h.registered_on > day:
            continue
        closed = h.closed_on is not None and h.closed_on <= day
        rows.append((h.household_id, h.persons[0].tckn, h.mahalle_code, h.mahalle_name, h.address_line, h.phone,
                     len(h.persons), h.registered_on.isoformat(), "closed" if closed else "active",
                     "ihtiyac_kalmadi" if closed else "", h.protection_status,
                     f"{(h.closed_on if closed else h.registered_on).isoformat()}T18:00:00"))
    return _csv_rows(HOUSEHOLD_COLUMNS, rows)


def _school_state(person: Person, day: date, seed: int) -> tuple[bool, str, date]:
    """(in school, level, the day this state began) on `day`. A child out of school stays out for the whole
    level (one draw per person and level), so a snapshot row changes only when the person's state does."""
    age = (day - person.birth_date).days // 365
    student, level = _school_level(age)
    began_at_age = max((limit for limit in SCHOOL_LEVEL_STARTS if limit <= age), default=0)
    if student and zlib.crc32(f"{seed}:{person.person_id}:{level}".encode()) % 100 < 6:
        student = False  # children out of school: the A4 link is about finding them
    return student, level if student else "none", person.birth_date + timedelta(days=365 * began_at_age)


def _snapshot_persons(households: list[Household], day: date, seed: int) -> bytes:
    rows = []
    for h in households:
        if h.registered_on > day:
            continue
        for p in h.persons:
            student, level, since = _school_state(p, day, seed)
            # updated_at: when the record last changed, as the case-management system stamps it
            updated_at = f"{max(since, h.registered_on).isoformat()}T18:00:00"
            rows.append((p.person_id, p.household_id, p.tckn, p.first_name, p.last_name, p.birth_date.isoformat(),
                         p.sex, p.relation, p.disability_pct, "true" if student else "false", level,
                         "true" if p.employable else "false", p.employment_status, updated_at))
    return _csv_rows(PERSON_COLUMNS, rows)


def _csv_rows(columns: list[str], rows: list[tuple]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def default_truth_dir(out: Path) -> Path:
    """Beside the inbox, never in it: the loader must not see the answers."""
    return Path(out).resolve().parent / "ground_truth"


STORY_FILE = "story.json"  # beside the ground truth: what `continue_story` needs to go on where `generate` stopped


def generate(district: str, households: int, start: date, end: date, seed: int, out: Path,
             dirt: Dirt | None = None, truth_dir: Path | None = None, cadence: str = "monthly",
             referral_rate: float = 0.012) -> dict[str, int]:
    truth_dir = Path(truth_dir) if truth_dir else default_truth_dir(out)
    story = {"district": district, "households": households, "start": start.isoformat(),
             "registry_end": end.isoformat(), "end": end.isoformat(), "seed": seed,
             "dirt": dataclasses.asdict(dirt or Dirt()), "cadence": cadence, "referral_rate": referral_rate}
    return _write_story(story, Path(out), truth_dir, since=None)


def continue_story(out: Path, end: date | None = None, truth_dir: Path | None = None) -> tuple[dict[str, int], dict]:
    """The deliveries that follow the ones `generate` (or an earlier continuation) wrote for the same district:
    the same households and IDs, the days after the story's end up to `end` (default: one more day, or one more
    month for a monthly story). Returns the files written and the story."""
    truth_dir = Path(truth_dir) if truth_dir else default_truth_dir(out)
    try:
        story = json.loads((truth_dir / STORY_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GenerationRefused(f"no story to continue: {truth_dir / STORY_FILE} does not exist "
                                "(write the first deliveries with `kopru generate`)") from None
    written_through = date.fromisoformat(story["end"])
    monthly = story["cadence"] == "monthly"
    if end is None:
        end = next_month(next_month(written_through)) - timedelta(days=1) if monthly else written_through + timedelta(1)
    if end <= written_through:
        raise GenerationRefused(f"the story already reaches {written_through}: continue it to a later day")
    if monthly and (next_month(written_through) - timedelta(days=1) != written_through
                    or next_month(end) - timedelta(days=1) != end):
        raise GenerationRefused(f"a monthly story continues by whole months: it ends on {written_through}, and "
                                f"the new end {end} must be a month's last day (or write it with --cadence daily)")
    story["end"] = end.isoformat()
    written = _write_story(story, Path(out), truth_dir, since=written_through)
    return written, story


def _write_story(story: dict, out: Path, truth_dir: Path, since: date | None) -> dict[str, int]:
    # Millions of small objects that live until the end: the cyclic collector would only re-scan them.
    collecting = gc.isenabled()
    gc.disable()
    try:
        gen = Generator(story["district"], story["households"], date.fromisoformat(story["start"]),
                        date.fromisoformat(story["end"]), story["seed"], Dirt(**story["dirt"]),
                        registry_end=date.fromisoformat(story["registry_end"]), referral_rate=story["referral_rate"])
        gen.build_registry()
        deliveries = Deliveries(gen, out, truth_dir, story["cadence"], since)
        written = deliveries.finish(gen.simulate(month_over=deliveries.take))
    finally:
        if collecting:
            gc.enable()
    (truth_dir / STORY_FILE).write_text(json.dumps(story, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    mark_generated(out, written)
    return written


def mark_generated(out: Path, written) -> None:
    """List the files just written (names relative to `out`), by hash, in the inbox's hidden marker
    (kopru.ingest.origin): the loader records them as generated, so reports say "sample data" and a warehouse never
    mixes them with real deliveries."""
    from kopru.ingest.loader import file_sha256
    from kopru.ingest.origin import MARKER_FILE

    marker = out / MARKER_FILE
    listed = json.loads(marker.read_text(encoding="utf-8"))["files"] if marker.exists() else {}
    listed.update({name: file_sha256(out / name)[0] for name in sorted(written)})
    document = {"written_by": "kopru generate", "files": dict(sorted(listed.items()))}
    marker.write_text(json.dumps(document, indent=0) + "\n", encoding="utf-8")
