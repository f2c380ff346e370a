"""The directorate's monitoring (izleme, half-year) and evaluation (değerlendirme, year) reports.

Every number comes from the marts (`marts.fct_indicator_period`, `marts.fct_target_period`); the seeds give the
plan card's labels. Outputs: HTML (the PDF's source), PDF (WeasyPrint) and XLSX (openpyxl, numbers as numbers).
"""

from __future__ import annotations

import base64
import io
import json
from decimal import Decimal
from functools import cache
from pathlib import Path

from kopru import warehouse
from kopru.ingest import origin
from kopru.periods import LOCAL_TIME_ZONE, Period, local_now
from kopru.reports import commentary, xlsx

DEFINITIONS = [
    ("PG4.1.1", "Dönemde belediyeden en az bir yardım (her tür) alan farklı aile (hane) sayısı. Başlangıç değeri "
                "(2019) yılın altı ayını kapsar: onunla karşılaştırılabilen yarıyıl değeridir. Gerçekleşme oranı "
                "yıllık hedefle yılın değeri üzerinden hesaplanır; başlangıç değeri olduğu gibi kullanılır."),
    ("PG4.1.2", "Dönemin anket dalgasında memnuniyet sorusuna 4 veya 5 verenlerin, soruyu yanıtlayanlara oranı; "
                "yıllık değer iki dalganın yanıtlarını birlikte hesaplar."),
    ("PG4.1.3", "Aynı hesap, adalet algısı sorusu için."),
    ("PG4.1.4", "Dönemde istihdama yönlendirilen farklı kişi sayısı. Hedefler (50…250) her yılın kendi değeridir, "
                "birikimli değildir."),
    ("PG4.1.5", "Yarıyılda teslim edilen belediye yardım kayıtlarından, ISAS'ın yarıyıl bitiminden sonraki 30 gün "
                "içinde (kalite denetiminin tanıdığı süre) kabul ettiklerinin oranı; daha geç gelen kabul o yarıyılı "
                "değiştirmez. Yıllık değer iki yarıyılın toplamıdır. Bu süre dolmadan hazırlanan raporda değer "
                "geçicidir (*)."),
]


# The institutions that are not partner NGOs; each NGO is named by its mapping file (`institution_name`), so a new
# partner needs no code change.
OWN_AND_STATE_INSTITUTIONS = {
    "belediye": "Belediye (Sosyal Destek Hizmetleri)",
    "devlet:sydv": "Devlet (SYDV / ISAS)",
}


def institution_names() -> dict[str, str]:
    """`fct_aid.institution` → the name the directorate knows it by."""
    from kopru.ingest.stk import all_mappings

    return {**OWN_AND_STATE_INSTITUTIONS,
            **{f"stk:{mapping.ngo_code}": mapping.institution_name for mapping in all_mappings()}}


# The feeds of the contract as the directorate knows them; an NGO's files by the NGO's name (institution_names).
FEED_NAMES = {
    ("belediye", "households"): "Belediye hane listesi", ("belediye", "persons"): "Belediye kişi listesi",
    ("belediye", "aid"): "Belediye yardımları", ("belediye", "assessments"): "İhtiyaç değerlendirmeleri",
    ("belediye", "services"): "Sosyal hizmetler", ("belediye", "employment_referrals"): "İstihdam yönlendirmeleri",
    ("belediye", "surveys"): "Memnuniyet anketleri", ("sosyalkart", "transactions"): "Sosyal Kart işlemleri",
    ("devlet", "sydv_yardim"): "SYDV yardımları", ("devlet", "isas_alindi"): "ISAS alındıları",
    ("devlet", "iskur_teklif"): "İŞKUR iş teklifleri",
}
CADENCE_NAMES = {"daily": "günlük", "monthly": "aylık", "half_yearly": "altı aylık"}


def feed_name(source: str, feed: str) -> str:
    if source == "stk":
        return institution_names().get(f"stk:{feed}", feed)
    return FEED_NAMES.get((source, feed), f"{source}/{feed}")


@cache
def mahalle_names() -> dict[str, str]:
    """Official mahalle names by code, from the reference list (never the name a delivery wrote: delivered text is
    neither trusted nor published)."""
    import csv

    from kopru.config import PACKAGE_DATA

    with open(PACKAGE_DATA / "mahalle_population_2024.csv", encoding="utf-8") as handle:
        return {row["mahalle_code"]: row["mahalle"] for row in csv.DictReader(handle)}


def mahalle_name(code: str | None) -> str:
    return mahalle_names().get(code or "", f"Mahalle kodu {code}")


# The PDF lists the oldest ISAS-missing records; the XLSX lists every one (_write_xlsx).
ISAS_ROWS_IN_PDF = 15


def tr_number(value, decimals: int = 0) -> str:
    """Turkish number format: 1.250,50."""
    if value is None:
        return "—"
    text = f"{Decimal(value):,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def tr_value(value) -> str:
    """A recorded value (text or number, None as "—") in Turkish format, with decimals only where it has them."""
    if value in (None, "None"):
        return "—"
    number = Decimal(str(value))
    return tr_number(number, 0 if number == number.to_integral_value() else 2)


def report_kind(period: str) -> str:
    return "izleme" if Period.parse(period).kind == "half_year" else "degerlendirme"


def _fetch(period: str) -> dict:
    from psycopg.rows import dict_row

    reported = Period.parse(period)

    with warehouse.connect(role="reporter") as conn:
        conn.row_factory = dict_row
        indicators = conn.execute(
            """select f.*, p.name_tr, p.unit_tr, year_to_date.actual_value as year_to_date_value,
                      year_to_date.achievement_pct as year_to_date_achievement_pct
               from marts.fct_indicator_period f
               join seeds.plan_indicators p using (indicator_code)
               -- the year-to-date picture: on a second-half report, the whole year; on a first-half one, H1 itself
               left join marts.fct_indicator_period year_to_date
                 on year_to_date.indicator_code = f.indicator_code
                and year_to_date.period = %s
               where f.period = %s order by f.indicator_code""",
            (str(reported.year_to_date), period),
        ).fetchall()
        if not indicators:
            raise LookupError(f"no indicator values for period {period} in marts.fct_indicator_period")
        target = conn.execute(
            """select weighted_achievement_pct, measured_weight_pct, is_complete from marts.fct_target_period
               where period = %s""", (period,)
        ).fetchone()
        target_year = conn.execute(
            """select weighted_achievement_pct, measured_weight_pct, is_complete from marts.fct_target_period
               where period = %s""", (str(reported.whole_year),)
        ).fetchone()
        plan = conn.execute("select * from seeds.plan_card limit 1").fetchone()
        generated = origin.holds_generated(conn)
        history = conn.execute(
            """select indicator_code, period, actual_value, target_value from marts.fct_indicator_period
               where period_kind = 'half_year' and period_end <= (select max(period_end)
                     from marts.fct_indicator_period where period = %s)
               order by indicator_code, period""",
            (period,),
        ).fetchall()
        quality = conn.execute(
            """select run_at, count(*) as checks, count(*) filter (where not success) as failed
               from quality.validation_results
               where run_id = (select run_id from quality.validation_results order by run_at desc limit 1)
               group by run_at"""
        ).fetchone() if _has_table(conn, "quality.validation_results") else None
        # The state of the published marts the report reads: the last publication and the newest file it checked,
        # not the newest file landed (a later delivery may still wait for its build and gate).
        state = conn.execute(
            """select p.decided_at as published_at, p.checked_through_file_id as last_file,
                      f.received_at as last_received
               from quality.publications p
               left join ingest.files f on f.file_id = p.checked_through_file_id
               where p.status = 'published' order by p.publication_id desc limit 1"""
        ).fetchone() if _has_table(conn, "quality.publications") else None
        bounds = conn.execute(
            """select min(period_start) as start, max(period_end) as end
               from marts.fct_indicator_period where period = %s""",
            (period,),
        ).fetchone()
        sections = _sections(conn, period, bounds["start"], bounds["end"])
    return {"indicators": indicators, "target": target, "target_year": target_year, "plan": plan,
            "sample_note": origin.SAMPLE_NOTE_TR if generated else None,
            "history": history, "quality": quality,
            "state": state, **sections}


def _sections(conn, period: str, start, end) -> dict:
    """The report's other tables, each read from its marts model as it is (the aggregates are the models'), and
    from the quality schema."""
    halves = [str(half) for half in Period.parse(period).half_years]
    budget = conn.execute(
        """select spend_try as period_spend, year_to_date_spend_try as year_to_date_spend, yearly_cost_estimate_try
           from marts.rpt_municipal_spend_period where period = %s""", (period,)).fetchone() or {}
    yearly_budget = budget.get("yearly_cost_estimate_try")
    spend_by_year = conn.execute(
        """select year, spend_try as spend, deliveries_without_amount as without_amount
           from marts.rpt_municipal_spend_period where period_kind = 'year' and year <= %s order by year""",
        (end.year,)).fetchall()
    by_institution = conn.execute(
        """select institution, deliveries, families, amount_try, unlinked_pct
           from marts.rpt_aid_by_institution_period where period = %s order by institution""", (period,)).fetchall()
    risks = conn.execute(
        "select * from marts.fct_risk_monitor_half_year where half_year = any(%s) order by half_year", (halves,)
    ).fetchall()
    plan_card_items = conn.execute(
        """select item_kind, item_number, item_tr, measure_code, measure_tr, unit_tr, value, cost_try, activity_status
           from marts.rpt_plan_card_items_period where period = %s
           order by array_position(array['faaliyet', 'ihtiyac', 'tespit'], item_kind), item_number, measure_code""",
        (period,)).fetchall()
    cooperating_units = [row["item_tr"] for row in conn.execute(
        "select item_tr from seeds.plan_card_items where item_kind = 'isbirligi' order by item_number")]
    sanctions = conn.execute(
        """select persons, families, aid_during_reduction_try as aid_during_sanction,
                  reduction_due_try as reduction_due
           from marts.rpt_sanction_period where period = %s""", (period,)).fetchone()
    targeting = conn.execute(
        """select mahalle_code, active_families as families, needy_families as needy,
                  needy_families_without_aid as needy_without_aid, aided_families_not_needy as aided_not_needy,
                  families_with_overlapping_aid as overlap, bridge_rate_pct as bridge_pct
           from marts.rpt_targeting_mahalle_period where period = %s
           order by needy_families_without_aid desc, needy_families desc, mahalle_code""", (period,)).fetchall()
    for row in targeting:
        row["mahalle_name"] = mahalle_name(row["mahalle_code"])
    isas_ages, isas_oldest, isas_missing, publication = [], [], 0, None
    if _has_table(conn, "quality.isas_missing_entries"):
        isas_ages = conn.execute(
            "select age_band, not_entered, rejected from quality.isas_missing_by_age order by band_order").fetchall()
        isas_missing = conn.execute("select count(*) as records from quality.isas_missing_entries").fetchone()[
            "records"]
        isas_oldest = conn.execute(
            """select aid_id, delivered_on, days_since_delivery, status, rejection_reason
               from quality.isas_missing_entries order by days_since_delivery desc, aid_id limit %s""",
            (ISAS_ROWS_IN_PDF,)).fetchall()
    evaluation = conn.execute(
        """select e.*, p.name_tr, p.is_rate from marts.rpt_indicator_plan_evaluation e
           join seeds.plan_indicators p using (indicator_code)
           where e.year <= %s order by e.indicator_code, e.year""", (end.year,)
    ).fetchall() if _has_table(conn, "marts.rpt_indicator_plan_evaluation") else []
    graduation = conn.execute(
        "select * from marts.fct_graduation_half_year where half_year = any(%s) order by half_year", (halves,)
    ).fetchall() if _has_table(conn, "marts.fct_graduation_half_year") else []
    missing_deliveries = []
    if _has_table(conn, "quality.missing_deliveries"):
        missing_deliveries = conn.execute(
            """select source, feed, cadence, period_start, period_end, status, judged_as_of
               from quality.missing_deliveries where period_start <= %s and period_end >= %s
               order by source, feed, period_start""", (end, start)).fetchall()
    if _has_table(conn, "quality.publications"):
        publication = conn.execute(
            """select run_id, decided_at, status, critical_failures, warnings, failed_suites, override_by,
                      override_reason
               from quality.publications order by publication_id desc limit 1"""
        ).fetchone()
    return {"budget": budget, "yearly_budget": yearly_budget, "spend_by_year": spend_by_year,
            "by_institution": by_institution, "risks": risks, "plan_card_items": plan_card_items,
            "cooperating_units": cooperating_units, "sanctions": sanctions, "targeting": targeting,
            "isas_ages": isas_ages, "isas_oldest": isas_oldest, "isas_missing": isas_missing,
            "publication": publication, "halves": halves, "missing_deliveries": missing_deliveries,
            "graduation": graduation, "evaluation": evaluation}


ITEM_KINDS = {"faaliyet": "Faaliyet ve projeler", "ihtiyac": "İhtiyaçlar", "tespit": "Tespitler"}
ACTIVITY_STATUSES = {"yurutuldu": "Yürütüldü", "donemde_islem_yok": "Dönemde işlem yok", "olculmedi": "Ölçülmedi",
                     "veri_disinda": "Veriyle izlenmez"}


EVALUATION_STATUSES = {
    "hedefe_ulasildi": ("Plan sonu hedefine ulaşıldı", "good"), "yolunda": ("Yolunda", "good"),
    "risk_altinda": ("Risk altında", "bad"), "hedefe_ulasilamadi": ("Plan sonu hedefine ulaşılamadı", "bad"),
    "degerlendirilemez": ("Değerlendirilemez (tek yıl)", ""), "olculmedi": ("Ölçülmedi", ""),
    "hedef_yok": ("Plan sonu hedefi yok", ""),
}


def _explanations(indicators: list[dict], given, first_half: bool) -> list[dict]:
    """Per indicator, the unit's explanation (kopru.reports.commentary); an indicator below its target without one
    says so. Below target: the year's achievement under 100 % (in a first-half report, under 50 %: half the year's
    way)."""
    from kopru.reports.commentary import NOT_GIVEN

    texts = given.explanations if given and not given.problem else {}
    lines = []
    for row in indicators:
        achievement = row["achievement_pct"] if first_half else row["year_to_date_achievement_pct"]
        below = achievement is not None and achievement < (50 if first_half else 100)
        text = texts.get(row["indicator_code"], {})
        lines.append({"code": row["indicator_code"], "below_target": below,
                      "deviation": text.get("deviation") or (NOT_GIVEN if below else ""),
                      "measures": text.get("measures") or (NOT_GIVEN if below else ""),
                      "recommendations": text.get("recommendations") or ""})
    return lines


def _plan_evaluation(rows: list[dict], year: int) -> dict:
    """The değerlendirme report's table: each indicator's yearly values side by side, and the report year's
    verdict from marts.rpt_indicator_plan_evaluation (formatting only: the model decides)."""
    years = sorted({row["year"] for row in rows})
    indicators: dict[str, dict] = {}
    for row in rows:
        line = indicators.setdefault(row["indicator_code"], {"code": row["indicator_code"], "name": row["name_tr"],
                                                             "is_rate": row["is_rate"], "values": {}})
        line["values"][row["year"]] = row["actual_value"]
        if row["year"] == year:
            label, tone = EVALUATION_STATUSES.get(row["end_target_status"], (row["end_target_status"], ""))
            line.update(end_target=row["end_target"], plan_end_year=row["plan_end_year"], status=label, tone=tone,
                        needed=row["yearly_change_needed"], pace=row["average_yearly_change"],
                        revision=row["revision_suggested"])
    return {"years": years, "indicators": [line for line in indicators.values() if "status" in line]}


def _missing_deliveries_by_feed(rows: list[dict]) -> list[dict]:
    """One line per feed: how many of its expected files did not come (or came and were rejected), and when."""
    feeds: dict[tuple[str, str], dict] = {}
    for row in rows:
        line = feeds.setdefault((row["source"], row["feed"]), {
            "feed": feed_name(row["source"], row["feed"]), "cadence": CADENCE_NAMES.get(row["cadence"], row["cadence"]),
            "missing": 0, "rejected": 0, "periods": []})
        line[row["status"]] += 1
        line["periods"].append(_period_label(row))
    return list(feeds.values())


def _period_label(row: dict) -> str:
    if row["cadence"] == "monthly":
        return row["period_start"].strftime("%m.%Y")
    if row["cadence"] == "half_yearly":
        return str(Period(row["period_start"].year, 1 if row["period_start"].month <= 6 else 2))
    return row["period_start"].strftime("%d.%m.%Y")


def _has_table(conn, name: str) -> bool:
    from psycopg.rows import tuple_row

    return conn.cursor(row_factory=tuple_row).execute("select to_regclass(%s) is not null", (name,)).fetchone()[0]


def _charts(history: list[dict], names: dict[str, str]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    charts = []
    codes = sorted({row["indicator_code"] for row in history})
    for code in codes:
        rows = [r for r in history if r["indicator_code"] == code]
        fig, ax = plt.subplots(figsize=(5.2, 2.4), dpi=110)
        periods = [r["period"] for r in rows]
        # A period without a value (no survey in it, say) is a gap in the line, never a 0.
        ax.plot(periods, [float(r["actual_value"]) if r["actual_value"] is not None else float("nan") for r in rows],
                marker="o", color="#0b4f6c", label="Gerçekleşme")
        targets = [float(r["target_value"]) if r["target_value"] is not None else None for r in rows]
        if any(t is not None for t in targets):
            ax.plot(periods, [t if t is not None else float("nan") for t in targets], linestyle="--",
                    color="#b3261e", label="Hedef")
        ax.set_title(f"{code} — {names.get(code, '')[:60]}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="best")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
        charts.append(base64.b64encode(buffer.getvalue()).decode())
    return charts


def templates():
    """The Jinja2 environment of the report templates, with Turkish number formatting."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    env.filters["tr_number"] = tr_number
    env.filters["tr_value"] = tr_value
    return env


def write_html_and_pdf(html: str, out_dir: Path, stem: str) -> dict[str, Path]:
    """Write the HTML and the PDF made from it; return the paths, with the XLSX's beside them."""
    from weasyprint import HTML

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"html": out_dir / f"{stem}.html", "pdf": out_dir / f"{stem}.pdf", "xlsx": out_dir / f"{stem}.xlsx"}
    paths["html"].write_text(html, encoding="utf-8")
    HTML(string=html, base_url=str(out_dir)).write_pdf(paths["pdf"])
    for path in (paths["html"], paths["pdf"]):
        path.chmod(0o600)  # its owner's only, as every output under KOPRU_HOME
    return paths


def render(period: str, out_dir: Path) -> dict[str, str]:
    """Write the period's report as HTML, PDF and XLSX into out_dir; return the paths."""
    kind = report_kind(period)
    data = _fetch(period)
    reported = Period.parse(period)
    year = reported.year
    title = (f"Sosyal Destek Hizmetleri — {period} İzleme Raporu" if kind == "izleme"
             else f"Sosyal Destek Hizmetleri — {period} Yılı Değerlendirme Raporu")
    names = {row["indicator_code"]: row["name_tr"] for row in data["indicators"]}
    quality = data["quality"]
    quality_summary = (
        f"{quality['run_at']:%d.%m.%Y %H:%M} — {quality['checks']} kontrol, {quality['failed']} başarısız"
        if quality else "henüz kalite denetimi çalıştırılmadı"
    )
    state = data["state"]
    warehouse_state = (
        f"yayımlanmış veri {state['published_at'].astimezone(LOCAL_TIME_ZONE):%d.%m.%Y %H:%M} "
        f"(son dosya #{state['last_file']}, alınma {state['last_received'].astimezone(LOCAL_TIME_ZONE):%d.%m.%Y})"
        if state and state["last_file"] else "yayımlanmış veri yok")
    first = data["indicators"][0]
    provisional = None if first["is_closed"] else first["data_through"]
    values = {row["indicator_code"]: str(row["actual_value"]) for row in data["indicators"]}
    first_report = _first_report(period, kind) if first["is_closed"] else None
    earlier_values = (first_report or {}).get("indicators", {})
    revisions = [(code, earlier, values.get(code)) for code, earlier in earlier_values.items()
                 if values.get(code) != earlier]
    commentary_of_period = commentary.read(period)
    explanations = _explanations(data["indicators"], commentary_of_period, reported.half == 1)
    data["explanations"] = explanations
    html = templates().get_template("izleme.html.j2").render(
        title=title, period=period, year=year, show_year_to_date=reported.half == 2, plan=data["plan"],
        is_half_year=kind == "izleme",
        indicators=data["indicators"],
        target_achievement=data["target"]["weighted_achievement_pct"] if data["target"] else None,
        target=data["target"], target_year=data["target_year"],
        target_year_achievement=data["target_year"]["weighted_achievement_pct"] if data["target_year"] else None,
        charts=_charts(data["history"], names), quality={"summary": quality_summary},
        definitions=DEFINITIONS, generated_at=local_now().strftime("%d.%m.%Y %H:%M"), sample_note=data["sample_note"],
        warehouse_state=warehouse_state, provisional_through=provisional, budget=data["budget"],
        yearly_budget=data["yearly_budget"], spend_by_year=data["spend_by_year"],
        by_institution=data["by_institution"], risks=data["risks"], plan_card_items=data["plan_card_items"],
        cooperating_units=data["cooperating_units"], item_kinds=ITEM_KINDS, activity_statuses=ACTIVITY_STATUSES,
        sanctions=data["sanctions"], graduation=data["graduation"],
        evaluation=_plan_evaluation(data["evaluation"], year) if kind == "degerlendirme" else None,
        commentary=commentary_of_period, explanations=explanations,
        targeting=data["targeting"][:15], targeting_rows=len(data["targeting"]), isas_ages=data["isas_ages"],
        isas_oldest=data["isas_oldest"], isas_missing=data["isas_missing"],
        publication=data["publication"], institution_names=institution_names(),
        missing_deliveries=_missing_deliveries_by_feed(data["missing_deliveries"]),
        deliveries_judged_as_of=max((r["judged_as_of"] for r in data["missing_deliveries"]), default=None),
        revisions=revisions, first_generated_at=(first_report or {}).get("generated_at"),
    )
    out_dir = Path(out_dir)
    stem = f"{'izleme_raporu' if kind == 'izleme' else 'degerlendirme_raporu'}_{period}"
    paths = write_html_and_pdf(html, out_dir, stem)
    _write_xlsx(paths["xlsx"], period, data)
    publication = data["publication"]
    manifest = {"period": period, "kind": kind, "generated_at": local_now().isoformat(timespec="seconds"),
                "warehouse_state": {**{k: str(v) for k, v in (state or {}).items()},
                                    "publication_run_id": publication["run_id"] if publication else None,
                                    "published_at": str(publication["decided_at"]) if publication else None},
                "files": {k: p.name for k, p in paths.items()},
                # what a later run of this period's report is compared with (kept in its archive)
                "indicators": values,
                "revision_of": (first_report or {}).get("generated_at") if revisions else None}
    (out_dir / f"{stem}.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    (out_dir / f"{stem}.json").chmod(0o600)
    return {k: str(v) for k, v in paths.items()} | {"manifest": manifest}


def _first_report(period: str, kind: str) -> dict | None:
    """The manifest of the period's first archived report that recorded its indicator values, if any."""
    with warehouse.connect(role="reporter") as conn:
        if conn.execute("select to_regclass('quality.report_runs')").fetchone()[0] is None:
            return None
        folders = [path for (path,) in conn.execute(
            "select archive_path from quality.report_runs where period = %s and kind = %s order by report_run_id",
            (period, kind))]
    for folder in folders:
        manifest = Path(folder) / "manifest.json"
        if manifest.is_file():
            document = json.loads(manifest.read_text(encoding="utf-8"))
            if document.get("indicators"):
                return document
    return None


def _write_xlsx(path: Path, period: str, data: dict) -> None:
    """The report's tables as a workbook, written row by row: the ISAS list has a row per record however many there
    are (read from the warehouse as it is written, on as many sheets as Excel's row limit asks)."""
    book = xlsx.StreamedBook(data["sample_note"])
    book.sheet("Göstergeler", ["Kod", "Gösterge", "Birim", "Etki (%)", "Başlangıç (2019)", "Hedef", "Gerçekleşme",
                               "Pay", "Payda", "Gerçekleşme oranı (%)"],
               ([row["indicator_code"], row["name_tr"], row["unit_tr"], _num(row["weight_pct"]),
                 _num(row["baseline_value"]), _num(row["target_value"]), _num(row["actual_value"]),
                 _num(row["numerator"]), _num(row["denominator"]), _num(row["achievement_pct"])]
                for row in data["indicators"]),
               widths=[10, 70, 8, 9, 16, 10, 13, 10, 10, 20])
    book.sheet("Hedef H4.1", ["Dönem", "Ağırlıklı gerçekleşme (%)"],
               [[period, _num(data["target"]["weighted_achievement_pct"]) if data["target"] else None]])
    book.sheet("Seyir", ["Kod", "Dönem", "Gerçekleşme", "Hedef"],
               ([row["indicator_code"], row["period"], _num(row["actual_value"]), _num(row["target_value"])]
                for row in data["history"]))
    names = institution_names()
    book.sheet("Kurumlar", ["Kurum", "Teslimat", "Aile", "Tutar (TL)", "Eşleşmeyen (%)"],
               ([names.get(r["institution"], r["institution"]), r["deliveries"], r["families"],
                 _num(r["amount_try"]), _num(r["unlinked_pct"])] for r in data["by_institution"]))
    book.sheet("Risk izleme", ["Dönem", "Yardım alan aile", "Bağımlılık (%)", "Harcama (TL)", "Bütçe kullanımı (%)",
                               "Aile başına harcama (TL)", "Yardım almayan ihtiyaç sahibi", "Yardım + hizmet (%)",
                               "Koruma altındaki aileler (%)", "İyileşmeyen (%)"],
               ([r["half_year"], r["aided_families"], _num(r["dependency_pct"]), _num(r["municipal_spend_try"]),
                 _num(r["budget_used_pct"]), _num(r["spend_per_aided_family_try"]), r["needy_families_without_aid"],
                 _num(r["aid_service_link_pct"]), _num(r["refugee_share_pct"]), _num(r["no_improvement_pct"])]
                for r in data["risks"]))
    book.sheet("Plan kartı", ["Tür", "No", "Kartta", "İzlenen ölçü", "Birim", "Değer", "Maliyet (TL)", "Durum"],
               ([ITEM_KINDS[r["item_kind"]], r["item_number"], r["item_tr"], r["measure_tr"], r["unit_tr"],
                 _num(r["value"]), _num(r["cost_try"]), ACTIVITY_STATUSES.get(r["activity_status"], "")]
                for r in data["plan_card_items"]))
    book.sheet("Hedefleme", ["Mahalle kodu", "Mahalle", "Aktif aile", "İhtiyaç sahibi (4–5)",
                             "Yardım almayan ihtiyaç sahibi", "İhtiyaç sahibi sayılmayıp yardım alan",
                             "Aynı ihtiyaç için birden çok kurum", "Yardım + sosyal hizmet (%)"],
               ([r["mahalle_code"], r["mahalle_name"], r["families"], r["needy"], r["needy_without_aid"],
                 r["aided_not_needy"], r["overlap"], _num(r["bridge_pct"])] for r in data["targeting"]))
    book.sheet("ISAS eksik kayıtlar", ["Yardım no", "Teslim tarihi", "Gün", "Durum", "Ret nedeni"],
               ([aid_id, delivered_on, days, "Girilmedi" if status == "not_entered" else "Reddedildi", reason]
                for aid_id, delivered_on, days, status, reason in _isas_missing_entries()))
    book.sheet("Açıklamalar", ["Gösterge", "Hedefin altında", "Sapma nedenleri", "Alınan önlemler", "Öneriler"],
               ([e["code"], "evet" if e["below_target"] else "hayır", e["deviation"], e["measures"],
                 e["recommendations"]] for e in data.get("explanations", [])))
    book.sheet("Gelmeyen teslimler", ["Kaynak", "Sıklık", "Dönem başı", "Dönem sonu", "Durum"],
               ([feed_name(r["source"], r["feed"]), CADENCE_NAMES.get(r["cadence"], r["cadence"]), r["period_start"],
                 r["period_end"], "Gelmedi" if r["status"] == "missing" else "Geldi, reddedildi"]
                for r in data["missing_deliveries"]))
    book.write_to(path)


def _isas_missing_entries():
    """Every ISAS-missing record, oldest first, read in batches by a server-side cursor (a ten-district warehouse
    holds more than a million)."""
    with warehouse.connect(role="reporter") as conn:
        if not _has_table(conn, "quality.isas_missing_entries"):
            return
        with conn.cursor(name="isas_missing_entries") as cursor:
            cursor.itersize = 10_000
            cursor.execute("""select aid_id, delivered_on, days_since_delivery, status, rejection_reason
                              from quality.isas_missing_entries order by days_since_delivery desc, aid_id""")
            yield from cursor


def _num(value):
    return None if value is None else float(value)
