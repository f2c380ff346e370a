"""What a long command shows its operator: one line per step with its time, while the tools' own output (Airflow's
task logs, dbt's, Great Expectations') goes to a log file under $KOPRU_HOME/logs, whose path is said first."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from kopru import config


def log_file(command: str) -> Path:
    """A new log file for one run of `command`: $KOPRU_HOME/logs/<command>_<local time>.log."""
    from kopru.periods import local_now

    folder = config.kopru_home() / "logs"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder / f"{command}_{local_now():%Y%m%dT%H%M%S}.log"


@contextmanager
def tools_logged_to(path: Path) -> Iterator[TextIO]:
    """Everything this process and the processes it starts write to stdout and stderr goes to `path` (at the file
    descriptors: forked DAG runs and dbt's own handlers included); yields the terminal, for the lines meant for the
    operator."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    streams = sys.stdout, sys.stderr
    try:
        os.dup2(descriptor, 1)
        os.dup2(descriptor, 2)
        # Python's own streams too, where they are not the descriptors (a test's capture, a notebook)
        sys.stdout = sys.stderr = open(os.dup(descriptor), "w", buffering=1, encoding="utf-8")  # noqa: SIM115
        yield terminal
    finally:
        sys.stdout.flush()
        sys.stdout.close()
        sys.stdout, sys.stderr = streams
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        for fd in (saved_out, saved_err, descriptor):
            os.close(fd)
        terminal.close()


@contextmanager
def step(terminal: TextIO, label: str, width: int = 58) -> Iterator[None]:
    """`label` and, when it ends, its time (or FAILED); on a terminal, the seconds so far while it runs."""
    started = time.monotonic()
    done = threading.Event()
    ticking = terminal.isatty()

    def tick() -> None:
        while not done.wait(1.0):
            terminal.write(f"\r  {label:<{width}} {time.monotonic() - started:6.0f} s …")
            terminal.flush()

    ticker = threading.Thread(target=tick, daemon=True) if ticking else None
    if ticker:
        ticker.start()
    outcome = "FAILED"
    try:
        yield
        outcome = "ok"
    finally:
        done.set()
        if ticker:
            ticker.join()
        seconds = time.monotonic() - started
        terminal.write(f"{chr(13) if ticking else ''}  {label:<{width}} {seconds:6.1f} s  {outcome}\n")
        terminal.flush()
