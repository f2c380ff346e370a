"""Sample deliveries of every feed of the contract, deterministic for a seed.

Households are spread over the real mahalle of the configured district in proportion to population. Append
feeds are delivered monthly (the first day of the next month); the snapshot feeds (households, persons) once per
half-year end and at the end of the period, which is what the half-year reports need. In production the
municipal snapshots arrive daily; the loader stores only changed rows, so the cadence changes volume, not meaning.
"""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from kopru.config import PACKAGE_DATA
from kopru.identity import check_digits

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
AID_CHANNEL = {"gida": "ayni", "yakacak": "ayni", "sosyal_market": "ayni", "kart": "kart", "nakdi": "banka",
               "kira": "banka", "egitim": "banka", "saglik": "banka"}
AID_AMOUNT = {"nakdi": (1500, 4000), "kira": (3000, 7000), "egitim": (1000, 2500), "saglik": (800, 3000),
              "kart": (1000, 3000), "gida": (600, 1500), "yakacak": (2000, 5000), "sosyal_market": (300, 900)}
SERVICE_TYPES = ["psikososyal", "cocuk_koruma", "egitim_destek", "yasli_bakim", "engelli_destek",
                 "aile_danismanlik"]
SYDV_PROGRAMS = [("GIDA", "Gıda Yardımı"), ("YAKACAK", "Yakacak Yardımı"), ("NAKDI", "Nakdi Yardım"),
                 ("SARTLI_EGITIM", "Şartlı Eğitim Yardımı"), ("ENGELLI", "Engelli Aylığı"),
                 ("YASLI", "Yaşlı Aylığı"), ("DOGALGAZ", "Doğalgaz Tüketim Desteği")]


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


def load_mahalle(district: str) -> list[tuple[str, str, int]]:
    """(code, name, population) of the district's mahalle; district is `İl/İlçe`."""
    il, ilce = (part.strip() for part in district.split("/", 1))
    rows = []
    with open(PACKAGE_DATA / "mahalle_population_2024.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["il"] == il and row["ilce"] == ilce:
                rows.append((row["mahalle_code"], row["mahalle"], int(row["population"])))
    if not rows:
        raise ValueError(f"no mahalle found for district {district!r} (expected `İl/İlçe`, e.g. İstanbul/Sultangazi)")
    return rows


def month_starts(start: date, end: date):
    day = date(start.year, start.month, 1)
    while day <= end:
        yield day
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


class Generator:
    def __init__(self, district: str, households: int, start: date, end: date, seed: int):
        self.rng = random.Random(seed)
        self.district = district
        self.start, self.end = start, end
        self.mahalle = load_mahalle(district)
        self.n_households = households
        self._ids: set[str] = set()
        self.households: list[Household] = []
        self.counters: dict[str, int] = {}

    def next_id(self, prefix: str) -> str:
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}{self.counters[prefix]:07d}"

    def identity(self, foreign: bool) -> str:
        while True:
            if foreign:
                first = "99" + "".join(str(self.rng.randint(0, 9)) for _ in range(7))
            else:
                first = str(self.rng.randint(1, 9)) + "".join(str(self.rng.randint(0, 9)) for _ in range(8))
            number = first + check_digits(first)
            if number not in self._ids and (foreign or not number.startswith("99")):
                self._ids.add(number)
                return number

    def _day_between(self, low: date, high: date) -> date:
        return low + timedelta(days=self.rng.randint(0, max(0, (high - low).days)))

    def build_registry(self) -> None:
        rng = self.rng
        weights = [m[2] for m in self.mahalle]
        for _ in range(self.n_households):
            code, name, _pop = rng.choices(self.mahalle, weights)[0]
            refugee = rng.random() < 0.08
            registered = self._day_between(self.start - timedelta(days=730), self.end - timedelta(days=60))
            household = Household(
                household_id=self.next_id("H"),
                mahalle_code=code,
                mahalle_name=name,
                address_line=f"{rng.choice(['Atatürk', 'Cumhuriyet', 'Fatih', 'Gül', 'Lale'])} Sk. No:"
                f"{rng.randint(1, 120)} D:{rng.randint(1, 20)}",
                phone=f"05{rng.randint(30, 59)}{rng.randint(1000000, 9999999)}",
                registered_on=registered,
                protection_status=rng.choice(["temporary"] * 9 + ["international"]) if refugee else "none",
                need_score=max(0, min(100, int(rng.gauss(58, 18)))),
            )
            if rng.random() < 0.12:
                household.closed_on = self._day_between(registered + timedelta(days=90), self.end + timedelta(200))
                if household.closed_on > self.end:
                    household.closed_on = None
            surname = rng.choice(REFUGEE_SURNAMES if refugee else SURNAMES)
            size = rng.choices([1, 2, 3, 4, 5, 6, 7, 8], [6, 12, 20, 25, 18, 10, 6, 3])[0]
            head_female = rng.random() < 0.3
            ref = self.start
            head_age = rng.randint(24, 75)
            roles = ["head"] + (["spouse"] if size > 1 and rng.random() < 0.8 else [])
            roles += ["child"] * (size - len(roles))
            if size >= 4 and rng.random() < 0.15:
                roles[-1] = "parent"
            for role in roles:
                if role == "head":
                    sex, age = ("K" if head_female else "E"), head_age
                elif role == "spouse":
                    sex, age = ("E" if head_female else "K"), max(18, head_age + rng.randint(-6, 4))
                elif role == "parent":
                    sex, age = rng.choice("KE"), head_age + rng.randint(20, 30)
                else:
                    sex, age = rng.choice("KE"), rng.randint(0, min(25, max(0, head_age - 18)))
                birth = ref - timedelta(days=age * 365 + rng.randint(0, 364))
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

    def simulate(self) -> dict[str, list[tuple[date, dict]]]:
        """Every event of every append feed, with the date it happened."""
        rng = self.rng
        events: dict[str, list[tuple[date, dict]]] = {k: [] for k in (
            "assessments", "aid", "services", "employment_referrals", "surveys", "isas_alindi", "iskur_teklif",
            "sydv_yardim", "transactions")}
        for household in self.households:
            next_visit = max(household.registered_on, self.start)
            months = list(month_starts(self.start, self.end))
            referred: set[str] = set()
            for month in months:
                month_end = next_month(month) - timedelta(days=1)
                if not household.active_on(month_end):
                    continue
                if next_visit <= month_end:
                    visit = max(next_visit, month)
                    household.need_score = max(0, min(100, household.need_score + int(rng.gauss(-2, 8))))
                    level = self.need_level(household.need_score)
                    due = visit + timedelta(days=rng.choice([180, 270, 365]))
                    events["assessments"].append((visit, {
                        "assessment_id": self.next_id("A"), "household_id": household.household_id,
                        "visit_date": visit.isoformat(), "assessor_id": f"U{rng.randint(1, 25):03d}",
                        "monthly_income_try":
                            f"{max(0, 30000 - household.need_score * 280 + rng.randint(-2000, 2000))}.00",
                        "monthly_rent_try": f"{rng.choice([0, 0, 4000, 6000, 8000, 10000])}.00",
                        "need_score": household.need_score, "need_level": level,
                        "next_visit_due": due.isoformat()})
                    )
                    # some assessments are done late: the overdue flag must find them
                    next_visit = due + timedelta(days=rng.choice([0, 0, 0, 30, 120]))
                level = self.need_level(household.need_score)
                if rng.random() < {1: 0.03, 2: 0.1, 3: 0.35, 4: 0.6, 5: 0.8}[level]:
                    self._aid(household, month, month_end, events)
                if rng.random() < 0.02 + 0.01 * level:
                    person = rng.choice(household.persons)
                    opened = self._day_between(month, month_end)
                    closed = opened + timedelta(days=rng.randint(7, 120))
                    events["services"].append((opened, {
                        "service_id": self.next_id("S"), "household_id": household.household_id,
                        "person_id": person.person_id, "service_type": rng.choice(SERVICE_TYPES),
                        "provider_unit": rng.choice(["kadin_aile", "kadin_aile", "sosyal_destek", "partner"]),
                        "opened_on": opened.isoformat(),
                        "closed_on": closed.isoformat() if closed <= self.end else "",
                        "outcome": rng.choice(["tamamlandi", "devam", "yonlendirildi"]) if closed <= self.end else ""}))
                for person in household.persons:
                    if (person.employable and person.employment_status == "unemployed"
                            and person.person_id not in referred and rng.random() < 0.012):
                        referred.add(person.person_id)
                        self._referral(person, self._day_between(month, month_end), events)
                if household.protection_status == "none" and rng.random() < 0.15 * level / 5:
                    person = household.persons[0]
                    code, title = rng.choice(SYDV_PROGRAMS + [("OZEL_PROGRAM_X", "İl Özel Programı")])
                    paid = self._day_between(month, month_end)
                    events["sydv_yardim"].append((paid, {
                        "kayitNo": self.next_id("SYDV"), "tcKimlikNo": person.tckn, "programKodu": code,
                        "programAdi": title, "tutar": float(rng.randint(500, 3000)), "odemeTarihi": paid.isoformat(),
                        "donem": f"{month.year}-{month.month:02d}"}))
        self._surveys(events)
        return events

    def _aid(self, household: Household, month: date, month_end: date, events) -> None:
        rng = self.rng
        aid_type = rng.choices(list(AID_WEIGHTS), list(AID_WEIGHTS.values()))[0]
        delivered = self._day_between(month, month_end)
        low, high = AID_AMOUNT[aid_type]
        amount = Decimal(rng.randint(low, high)) + Decimal(rng.choice([0, 50])) / 100
        aid_id = self.next_id("Y")
        entered = rng.random() < 0.93
        isas_ref = f"ISAS{rng.randint(10**8, 10**9 - 1)}" if entered else ""
        entered_on = delivered + timedelta(days=rng.randint(0, 20))
        person = household.persons[0]
        events["aid"].append((delivered, {
            "aid_id": aid_id, "household_id": household.household_id,
            "person_id": person.person_id if rng.random() < 0.7 else "",
            "aid_type": aid_type, "channel": AID_CHANNEL[aid_type], "amount_try": f"{amount:.2f}",
            "quantity": 1 if aid_type in ("gida", "yakacak", "sosyal_market") else "",
            "delivered_on": delivered.isoformat(), "isas_ref": isas_ref,
            "isas_entered_on": entered_on.isoformat() if entered else ""}))
        if entered and entered_on <= self.end:
            accepted = rng.random() < 0.95
            events["isas_alindi"].append((entered_on, {
                "isasRef": isas_ref, "belediyeYardimNo": aid_id, "tcKimlikNo": person.tckn,
                "alinmaZamani": f"{entered_on.isoformat()}T{rng.randint(8, 17):02d}:{rng.randint(0, 59):02d}:00",
                "durum": "kabul" if accepted else "red",
                "redNedeni": None if accepted else rng.choice(["Kimlik doğrulanamadı", "Mükerrer kayıt",
                                                               "Eksik adres bilgisi"])}))
        if aid_type == "kart":
            stamp = datetime.combine(delivered, datetime.min.time()) + timedelta(hours=9)
            events["transactions"].append((delivered, {
                "islem_no": self.next_id("T"), "kart_no": f"6034********{rng.randint(1000, 9999)}",
                "hane_no": household.household_id, "islem_zamani": stamp, "isyeri_kategorisi": "",
                "tutar": amount, "islem_tipi": "yukleme"}))
            spent = Decimal(0)
            for _ in range(rng.randint(1, 4)):
                part = (amount - spent) * Decimal(rng.randint(20, 60)) / 100
                part = part.quantize(Decimal("0.01"))
                spent += part
                when = stamp + timedelta(days=rng.randint(0, 25), hours=rng.randint(0, 9))
                if when.date() > self.end:
                    break
                events["transactions"].append((when.date(), {
                    "islem_no": self.next_id("T"), "kart_no": f"6034********{rng.randint(1000, 9999)}",
                    "hane_no": household.household_id, "islem_zamani": when,
                    "isyeri_kategorisi": rng.choice(["market", "giyim", "kirtasiye", "eczane"]),
                    "tutar": part, "islem_tipi": "harcama"}))

    def _referral(self, person: Person, referred_on: date, events) -> None:
        rng = self.rng
        events["employment_referrals"].append((referred_on, {
            "referral_id": self.next_id("R"), "person_id": person.person_id, "tckn": person.tckn,
            "referred_on": referred_on.isoformat(), "channel": rng.choice(["iskur", "istihdam_merkezi"]),
            "program": rng.choice(["Meslek edindirme", "İşbaşı eğitim", "Doğrudan yerleştirme"]),
            "referred_by": f"U{rng.randint(1, 25):03d}"}))
        # Some people refuse every offer: the three-refusal rule must catch them.
        refuser = rng.random() < 0.15
        offered = referred_on
        for _ in range(rng.randint(1, 5)):
            offered = offered + timedelta(days=rng.randint(15, 60))
            if offered > self.end:
                break
            outcome = rng.choice(["ret", "gelmedi"]) if refuser else rng.choice(["kabul", "ret", "gelmedi", "ret"])
            events["iskur_teklif"].append((offered, {
                "teklifNo": self.next_id("K"), "tcKimlikNo": person.tckn, "teklifTarihi": offered.isoformat(),
                "isyeri": rng.choice(["Tekstil AŞ", "Lojistik Ltd", "Gıda San.", "Temizlik Hizm."]),
                "pozisyon": rng.choice(["Operatör", "Depo elemanı", "Temizlik personeli", "Satış danışmanı"]),
                "sonuc": outcome, "gecerliMazeret": (not refuser) and outcome != "kabul" and rng.random() < 0.3,
                "sonucTarihi": (offered + timedelta(days=rng.randint(1, 10))).isoformat()}))
            if outcome == "kabul":
                break

    def _surveys(self, events) -> None:
        rng = self.rng
        for year in range(self.start.year, self.end.year + 1):
            for half, month in ((1, 5), (2, 11)):
                day = date(year, month, 15)
                if not self.start <= day <= self.end:
                    continue
                active = [h for h in self.households if h.active_on(day)]
                for household in rng.sample(active, max(5, len(active) // 20)) if active else []:
                    anonymous = rng.random() < 0.3
                    events["surveys"].append((day, {
                        "response_id": self.next_id("Q"), "survey_wave": f"{year}-H{half}",
                        "responded_on": self._day_between(day, day + timedelta(days=10)).isoformat(),
                        "household_id": "" if anonymous else household.household_id,
                        "channel": rng.choice(["telefon", "yuzyuze", "web"]),
                        "q_satisfaction": rng.choices([1, 2, 3, 4, 5], [3, 4, 9, 40, 44])[0],
                        "q_fairness": rng.choices([1, 2, 3, 4, 5], [4, 5, 10, 42, 39])[0],
                        "comment": ""}))


HOUSEHOLD_COLUMNS = ["household_id", "head_tckn", "mahalle_code", "mahalle_name", "address_line", "phone",
                     "household_size", "registered_on", "status", "closed_reason", "protection_status", "updated_at"]
PERSON_COLUMNS = ["person_id", "household_id", "tckn", "first_name", "last_name", "birth_date", "sex", "relation",
                  "disability_pct", "is_student", "school_level", "employable", "employment_status", "updated_at"]
APPEND_COLUMNS = {
    "assessments": ["assessment_id", "household_id", "visit_date", "assessor_id", "monthly_income_try",
                    "monthly_rent_try", "need_score", "need_level", "next_visit_due"],
    "aid": ["aid_id", "household_id", "person_id", "aid_type", "channel", "amount_try", "quantity", "delivered_on",
            "isas_ref", "isas_entered_on"],
    "services": ["service_id", "household_id", "person_id", "service_type", "provider_unit", "opened_on",
                 "closed_on", "outcome"],
    "employment_referrals": ["referral_id", "person_id", "tckn", "referred_on", "channel", "program", "referred_by"],
    "surveys": ["response_id", "survey_wave", "responded_on", "household_id", "channel", "q_satisfaction",
                "q_fairness", "comment"],
}


def _csv_bytes(columns: list[str], rows: list[dict], delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return buffer.getvalue().encode(encoding)


def _school_level(age: int) -> tuple[bool, str]:
    if age < 3:
        return False, "none"
    for limit, level in ((6, "preschool"), (10, "primary"), (14, "secondary"), (18, "high"), (23, "university")):
        if age < limit:
            return True, level
    return False, "none"


def _tr_amount(value: Decimal) -> str:
    whole, frac = f"{value:.2f}".split(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return ".".join(groups) + "," + frac


def write_deliveries(gen: Generator, events, out: Path) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}

    def emit(name: str, data: bytes) -> None:
        (out / name).write_bytes(data)
        written[name] = len(data)

    # Snapshots at each half-year end and at the end of the period.
    snapshot_days = sorted({d for y in range(gen.start.year, gen.end.year + 1)
                            for d in (date(y, 6, 30), date(y, 12, 31)) if gen.start <= d <= gen.end} | {gen.end})
    for day in snapshot_days:
        stamp = (day + timedelta(days=1)).strftime("%Y%m%d")
        households, persons = [], []
        for h in gen.households:
            if h.registered_on > day:
                continue
            closed = h.closed_on is not None and h.closed_on <= day
            households.append({
                "household_id": h.household_id, "head_tckn": h.persons[0].tckn, "mahalle_code": h.mahalle_code,
                "mahalle_name": h.mahalle_name, "address_line": h.address_line, "phone": h.phone,
                "household_size": len(h.persons), "registered_on": h.registered_on.isoformat(),
                "status": "closed" if closed else "active",
                "closed_reason": "ihtiyac_kalmadi" if closed else "", "protection_status": h.protection_status,
                "updated_at": f"{day.isoformat()}T18:00:00"})
            for p in h.persons:
                age = (day - p.birth_date).days // 365
                student, level = _school_level(age)
                if student and gen.rng.random() < 0.06:
                    student = False  # children out of school: the A4 link is about finding them
                persons.append({
                    "person_id": p.person_id, "household_id": p.household_id, "tckn": p.tckn,
                    "first_name": p.first_name, "last_name": p.last_name, "birth_date": p.birth_date.isoformat(),
                    "sex": p.sex, "relation": p.relation, "disability_pct": p.disability_pct,
                    "is_student": str(student).lower(), "school_level": level if student else "none",
                    "employable": str(p.employable).lower(), "employment_status": p.employment_status,
                    "updated_at": f"{day.isoformat()}T18:00:00"})
        emit(f"belediye_households_{stamp}.csv", _csv_bytes(HOUSEHOLD_COLUMNS, households))
        emit(f"belediye_persons_{stamp}.csv", _csv_bytes(PERSON_COLUMNS, persons))

    for month in month_starts(gen.start, gen.end):
        delivery = next_month(month)
        stamp = delivery.strftime("%Y%m%d")

        def of_month(feed: str, month: date = month, delivery: date = delivery) -> list[dict]:
            return [row for day, row in events[feed] if month <= day < delivery]

        for feed, columns in APPEND_COLUMNS.items():
            emit(f"belediye_{feed}_{stamp}.csv", _csv_bytes(columns, of_month(feed)))
        cards = sorted(of_month("transactions"), key=lambda r: r["islem_zamani"])
        card_rows = [{**r, "islem_zamani": r["islem_zamani"].strftime("%d.%m.%Y %H:%M:%S"),
                      "tutar": _tr_amount(r["tutar"])} for r in cards]
        emit(f"sosyalkart_transactions_{stamp}.csv",
             _csv_bytes(["islem_no", "kart_no", "hane_no", "islem_zamani", "isyeri_kategorisi", "tutar",
                         "islem_tipi"], card_rows, delimiter=";", encoding="utf-8-sig"))
        for feed in ("sydv_yardim", "isas_alindi", "iskur_teklif"):
            lines = [json.dumps(row, ensure_ascii=False) for row in of_month(feed)]
            emit(f"devlet_{feed}_{stamp}.jsonl", ("\n".join(lines) + ("\n" if lines else "")).encode())
    return written


def generate(district: str, households: int, start: date, end: date, seed: int, out: Path) -> dict[str, int]:
    gen = Generator(district, households, start, end, seed)
    gen.build_registry()
    events = gen.simulate()
    return write_deliveries(gen, events, Path(out))
