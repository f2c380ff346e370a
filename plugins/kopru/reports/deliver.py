"""Delivering reports: the archive (every report kept with its period, run time and the warehouse state it came
from) and e-mail to the directorate through Airflow's SMTP connection, PDF and XLSX attached.

Recipients are configuration: KOPRU_REPORT_RECIPIENTS (comma-separated addresses). The SMTP server is the Airflow
connection `kopru_smtp` (host, port, login/password, extra `from_email`, `disable_tls`/`disable_ssl`). With either
missing, reports are written and archived but not mailed.
"""

from __future__ import annotations

import json
import logging
import shutil
from datetime import datetime
from pathlib import Path

from kopru import config

log = logging.getLogger(__name__)

SMTP_CONN_ID = "kopru_smtp"

def recipients() -> list[str]:
    return config.report_recipients()


def archive(paths: dict[str, str], manifest: dict) -> Path:
    """Copy the report's files and manifest to archive/reports/<period>/<run time>/ and record the run."""
    from kopru import warehouse

    stamp = datetime.fromisoformat(manifest["generated_at"]).strftime("%Y%m%dT%H%M%S")
    folder = config.archive_dir() / "reports" / manifest["period"] / stamp
    folder.mkdir(parents=True, exist_ok=True)
    for path in paths.values():
        shutil.copy2(path, folder / Path(path).name)
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    (folder / "manifest.json").chmod(0o600)
    with warehouse.connect(role="reporter") as conn:
        conn.execute(
            """insert into quality.report_runs (period, kind, generated_at, publication_run_id, last_file_id,
                                                archive_path) values (%s, %s, %s, %s, %s, %s)""",
            (manifest["period"], manifest["kind"], manifest["generated_at"],
             manifest["warehouse_state"].get("publication_run_id"),
             manifest["warehouse_state"].get("last_file") or None, str(folder)),
        )
        conn.commit()
    return folder


def subject(period: str, kind: str) -> str:
    label = "İzleme Raporu" if kind == "izleme" else "Yılı Değerlendirme Raporu"
    return f"Sosyal Destek Hizmetleri — {period} {label}"


def email(paths: dict[str, str], manifest: dict, to: list[str], conn_id: str = SMTP_CONN_ID) -> list[str]:
    """Send the PDF and XLSX to `to` through the Airflow SMTP connection; returns the recipients."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    body = (
        f"<p>Sayın ilgili,</p><p>{manifest['period']} dönemine ait "
        f"{'izleme' if manifest['kind'] == 'izleme' else 'değerlendirme'} raporu ektedir (PDF ve XLSX).</p>"
        f"<p>Rapor {datetime.fromisoformat(manifest['generated_at']):%d.%m.%Y %H:%M} tarihinde, yayımlanmış "
        f"veri ambarı verisinden üretilmiştir.</p><p>Köprü — Sosyal Destek Hizmetleri Müdürlüğü</p>"
    )
    with SmtpHook(smtp_conn_id=conn_id) as hook:
        hook.send_email_smtp(to=to, subject=subject(manifest["period"], manifest["kind"]), html_content=body,
                             files=[paths["pdf"], paths["xlsx"]])
    log.info("report %s mailed to %d recipient(s)", manifest["period"], len(to))
    return to


def deliver(paths: dict[str, str], manifest: dict) -> dict:
    """Archive always; e-mail when recipients and the SMTP connection are configured, and the same report (period,
    kind and publication) has not been mailed already: a retried task, or a re-run of the same day, must not mail
    the directorate twice."""
    from kopru import warehouse
    from kopru.ingest.pull import connection_configured

    folder = archive(paths, manifest)
    sent: list[str] = []
    to = recipients()
    if to and connection_configured(SMTP_CONN_ID):
        with warehouse.connect(role="reporter") as conn:
            (mailed,) = conn.execute(
                """select exists (select from quality.report_runs where period = %s and kind = %s
                                  and publication_run_id is not distinct from %s and emailed_to is not null)""",
                (manifest["period"], manifest["kind"], manifest["warehouse_state"].get("publication_run_id")),
            ).fetchone()
        if mailed:
            log.info("report %s of this publication was mailed already; not mailed again", manifest["period"])
            return {"archive": str(folder), "emailed_to": 0, "already_mailed": True}
        sent = email(paths, manifest, to)
        with warehouse.connect(role="reporter") as conn:
            conn.execute("update quality.report_runs set emailed_to = %s where archive_path = %s",
                         (", ".join(sent), str(folder)))
            conn.commit()
    return {"archive": str(folder), "emailed_to": len(sent)}
