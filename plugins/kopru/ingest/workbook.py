"""NGO workbooks (XLSX) read without trusting them.

An XLSX is a zip of XML, and both layers can be built to exhaust memory: an entry that inflates a thousandfold
(a 1 MB file whose shared strings are 1 GB), or a sheet that declares (or simply holds) a cell at XFD1048576, for
which the parser allocates the whole rectangle. So a workbook is first checked from its zip directory and its
sheets' declared dimensions (`check_archive`, cheap: no entry is inflated past its first kilobytes), and then
parsed in a child process whose memory and CPU time are capped (`workbook_reader_process.py`): what the checks
cannot see (a dimension left out, a header that lies) costs that process, not the loader.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path

from kopru.config import MB, WorkbookLimits
from kopru.ingest.readers import FileRejected

READER_PROCESS = Path(__file__).with_name("workbook_reader_process.py")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]{1,3})([0-9]{1,7})(?::([A-Z]{1,3})([0-9]{1,7}))?\"")
_SHEET_ENTRY = re.compile(r"xl/worksheets/[^/]+\.xml", re.IGNORECASE)
_HEAD_BYTES = 64 * 1024  # the <dimension> element comes before the sheet's data


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - ord("A") + 1
    return number


def check_archive(data: bytes, limits: WorkbookLimits) -> None:
    """Reject (`unsafe_archive`) a workbook whose zip or declared sheet size is beyond `limits`, before parsing."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
        raise FileRejected("unreadable", f"not a readable XLSX workbook ({type(error).__name__})") from error
    if len(entries) > limits.max_entries:
        raise FileRejected("unsafe_archive", f"the workbook holds {len(entries)} files (at most {limits.max_entries})")
    inflated = sum(entry.file_size for entry in entries)
    if inflated > limits.max_uncompressed_bytes:
        raise FileRejected("unsafe_archive", f"the workbook inflates to {inflated / MB:,.0f} MB "
                                             f"(at most {limits.max_uncompressed_bytes / MB:,.0f} MB)")
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > MB and ratio > limits.max_compression_ratio:
            raise FileRejected("unsafe_archive", f"an entry of the workbook inflates {ratio:,.0f}-fold "
                                                 f"(at most {limits.max_compression_ratio:,.0f})")
    for entry in entries:
        if not _SHEET_ENTRY.fullmatch(entry.filename):
            continue
        try:
            with archive.open(entry) as sheet:
                head = sheet.read(_HEAD_BYTES)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as error:
            raise FileRejected("unreadable", f"a sheet of the workbook cannot be read ({type(error).__name__})") \
                from error
        match = _DIMENSION.search(head)
        if match:
            first_column, first_row = _column_number(match[1]), int(match[2])
            last_column, last_row = (_column_number(match[3]), int(match[4])) if match[3] else (first_column,
                                                                                                 first_row)
            # The parser fills the rectangle from A1, whatever the declared first cell.
            cells = max(first_column, last_column) * max(first_row, last_row)
            if cells > limits.max_cells:
                raise FileRejected("unsafe_archive", f"a sheet declares {cells:,} cells (at most {limits.max_cells:,})")


def _untagged(obj: dict):
    if "datetime" in obj:
        return datetime.fromisoformat(obj["datetime"])
    if "date" in obj:
        return date.fromisoformat(obj["date"])
    if "time" in obj:
        return time.fromisoformat(obj["time"])
    if "seconds" in obj:
        return timedelta(seconds=obj["seconds"])
    return obj


def first_sheet_rows(data: bytes, limits: WorkbookLimits) -> list[list]:
    """The first sheet's rows as calamine gives them (`to_python(skip_empty_area=False)`), parsed in a child process
    held to `limits`; FileRejected when the workbook is unsafe or unreadable."""
    check_archive(data, limits)
    seconds = max(1, int(limits.reader_seconds))
    try:
        done = subprocess.run(
            [sys.executable, "-I", str(READER_PROCESS), str(limits.reader_memory_bytes), str(seconds)],
            input=data, capture_output=True, timeout=seconds * 2, check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise FileRejected("unsafe_archive", f"parsing the workbook took longer than {seconds} s") from error
    if done.returncode == 0:
        return json.loads(done.stdout, object_hook=_untagged)
    if done.returncode == 2:
        kind = done.stderr.decode("ascii", "replace")[:80]
        raise FileRejected("unreadable", f"not a readable XLSX workbook ({kind})")
    raise FileRejected("unsafe_archive", f"parsing the workbook needed more than "
                                         f"{limits.reader_memory_bytes / MB:,.0f} MB of memory or {seconds} s "
                                         f"of CPU; the reader was stopped (exit {done.returncode})")
