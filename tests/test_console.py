"""A long command's operator sees a line per step with its time; the tools' own output goes to the log file."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from kopru import console


def test_the_tools_output_goes_to_the_log_and_the_steps_to_the_terminal(tmp_path, capfd):
    log = tmp_path / "run.log"
    with console.tools_logged_to(log) as terminal:
        with console.step(terminal, "warehouse"):
            print("dbt: 153 of 153 OK")
            logging.getLogger("airflow.task").warning("a task log line")
            subprocess.run([sys.executable, "-c", "import sys; sys.stderr.write('a child process line\\n')"],
                           check=True)
        with pytest.raises(RuntimeError), console.step(terminal, "quality"):
            raise RuntimeError("blocked")
    print("after the run")
    shown = capfd.readouterr()
    assert "dbt: 153" not in shown.out + shown.err and "child process" not in shown.out + shown.err
    lines = [line for line in shown.out.splitlines() if line.strip()]
    assert lines[0].split()[0] == "warehouse" and lines[0].endswith("s  ok")
    assert lines[1].split()[0] == "quality" and lines[1].endswith("FAILED")
    assert lines[2] == "after the run"
    written = log.read_text()
    assert "dbt: 153 of 153 OK" in written and "a child process line" in written
    assert oct(os.stat(log).st_mode & 0o777) == "0o600"
