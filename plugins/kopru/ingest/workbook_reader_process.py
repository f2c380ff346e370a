"""The child process that parses one XLSX workbook for `kopru.ingest.workbook`.

Its address space and CPU time are capped before it reads a byte, so a workbook built to exhaust memory (a cell at
XFD1048576 makes the parser allocate the whole sheet's rectangle, hundreds of GB) kills this process only, never
the loader and the other feeds' files. Reads the workbook from stdin; writes the first sheet's rows to stdout as
JSON (not pickle: the parent must not unpickle what a process fed with hostile bytes wrote). Imports nothing of
Köprü, so that it starts in a few tens of milliseconds.

Exit codes: 0 rows written; 2 the bytes are not a readable workbook (the error's type on stderr); 3 out of memory.
"""

import io
import json
import resource
import sys
from datetime import date, datetime, time, timedelta

UNREADABLE, OUT_OF_MEMORY = 2, 3


def _tagged(value):
    """JSON for what a cell can hold besides text, numbers and booleans."""
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, time):
        return {"time": value.isoformat()}
    if isinstance(value, timedelta):
        return {"seconds": value.total_seconds()}
    raise TypeError(type(value).__name__)


def main() -> int:
    memory_bytes, cpu_seconds = int(sys.argv[1]), int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    data = sys.stdin.buffer.read()
    from python_calamine import CalamineWorkbook

    try:
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False)
    except MemoryError:
        return OUT_OF_MEMORY
    except Exception as error:  # noqa: BLE001 - a broken zip or XML, whatever the parser calls it
        sys.stderr.write(type(error).__name__)
        return UNREADABLE
    json.dump(rows, sys.stdout, default=_tagged, ensure_ascii=False, separators=(",", ":"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
