"""A task that fails for good (its retries spent) is mailed to the data team: KOPRU_ALERT_RECIPIENTS through the
`kopru_smtp` connection, the one the reports use. The mail names the DAG, task, run and try, and the error: its
type, and its text only when it is one of Köprü's own sentences (a database error may quote a delivered value, and
nothing personal leaves the warehouse by mail)."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

# Errors whose text Köprü wrote itself, from code, never quoting a delivered value.
OWN_SENTENCES = ("QualityGateBlocked", "OverrideRefused", "PathNotAllowed", "SettingError", "PseudonymKeyMismatch",
                 "ErasureRefused", "WarehouseNotRunning")


def describe(error: BaseException | None) -> str:
    if error is None:
        return "(no exception recorded)"
    kind = type(error).__name__
    return f"{kind}: {error}"[:2000] if kind in OWN_SENTENCES else kind


def task_failed(context) -> None:
    """on_failure_callback of every Köprü task (kopru.orchestration.dags.DEFAULT_ARGS). Never raises: an alert that
    cannot be sent is logged, and the task's own failure stays what the run shows."""
    from kopru import config
    from kopru.reports.deliver import SMTP_CONN_ID

    try:
        to = config.alert_recipients()
        ti = context.get("ti") or context.get("task_instance")
        dag_id, task_id = getattr(ti, "dag_id", "?"), getattr(ti, "task_id", "?")
        run_id, tries = getattr(ti, "run_id", "?"), getattr(ti, "try_number", "?")
        what = describe(context.get("exception"))
        log.warning("task %s.%s failed (%s)", dag_id, task_id, what.split(":", 1)[0])
        if not to:
            return
        from kopru.ingest.pull import connection_configured

        if not connection_configured(SMTP_CONN_ID):
            return
        from html import escape

        from airflow.providers.smtp.hooks.smtp import SmtpHook

        body = (f"<p>Köprü: <b>{escape(dag_id)}.{escape(task_id)}</b> failed (run {escape(str(run_id))}, try "
                f"{escape(str(tries))}), its retries spent.</p><pre>{escape(what)}</pre>"
                "<p>The run's log in Airflow has the details.</p>")
        with SmtpHook(smtp_conn_id=SMTP_CONN_ID) as hook:
            hook.send_email_smtp(to=to, subject=f"[Köprü] {dag_id}.{task_id} failed", html_content=body)
    except Exception as error:  # noqa: BLE001 - an alert must never hide the failure it reports
        log.error("the failure alert could not be sent (%s)", type(error).__name__)
