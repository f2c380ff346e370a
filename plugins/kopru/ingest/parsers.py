"""Strict value parsers: each returns the exact value or raises ParseError with a reason code.

Never a silent coercion: `1.25` in Turkish number style is rejected, not read as 1.25 or 125; a date is read
in its declared format only; an identity number is text, never a float.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal


class ParseError(ValueError):
    def __init__(self, reason_code: str, message: str):
        super().__init__(message)
        self.reason_code = reason_code


_DOT_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
# Turkish style: dot groups thousands (in threes), comma separates decimals.
_TR_DECIMAL_GROUPED = re.compile(r"^-?\d{1,3}(\.\d{3})+(,\d+)?$")
_TR_DECIMAL_PLAIN = re.compile(r"^-?\d+(,\d+)?$")
_INTEGER = re.compile(r"^-?\d+$")


def parse_decimal(text: str, style: str = "dot") -> Decimal:
    """`dot`: 1250.50 (no grouping). `tr`: 1.250,50 or 1250,50. Anything else is rejected."""
    value = text.strip()
    if style == "dot":
        if _DOT_DECIMAL.match(value):
            return Decimal(value)
        if _TR_DECIMAL_GROUPED.match(value) or ("," in value and _TR_DECIMAL_PLAIN.match(value)):
            raise ParseError("ambiguous_number", "number in Turkish style where dot decimals are declared")
        raise ParseError("bad_number", "not a number with dot decimals")
    if style == "tr":
        if _TR_DECIMAL_GROUPED.match(value) or _TR_DECIMAL_PLAIN.match(value):
            return Decimal(value.replace(".", "").replace(",", "."))
        if _DOT_DECIMAL.match(value):
            # `1.25` could be 1,25 or a mistyped 1.250: never guessed.
            raise ParseError("ambiguous_number", "dot in a Turkish-style number is not a thousands group")
        raise ParseError("bad_number", "not a Turkish-style number (1.250,50)")
    if style == "auto":
        # For templates that mix `1.250,50` and `1250.5`: accept each only where it cannot be read two ways.
        if _TR_DECIMAL_GROUPED.match(value) or ("," in value and _TR_DECIMAL_PLAIN.match(value)):
            return parse_decimal(value, "tr")
        if _INTEGER.match(value):
            return Decimal(value)
        if _DOT_DECIMAL.match(value):
            if re.match(r"^-?\d{1,3}\.\d{3}$", value):
                raise ParseError("ambiguous_number", "could be a thousands group or three decimals")
            return Decimal(value)
        raise ParseError("bad_number", "not a number")
    raise ValueError(f"unknown number style {style!r}")


def parse_integer(text: str) -> int:
    value = text.strip()
    if not _INTEGER.match(value):
        raise ParseError("bad_integer", "not a whole number")
    return int(value)


_DATE_FORMATS = {
    "iso": (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), ("y", "m", "d")),
    "dmy_dot": (re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})$"), ("d", "m", "y")),
    "dmy_slash": (re.compile(r"^(\d{2})/(\d{2})/(\d{4})$"), ("d", "m", "y")),
}


def parse_date(text: str, fmt: str = "iso") -> date:
    pattern, order = _DATE_FORMATS[fmt]
    match = pattern.match(text.strip())
    if not match:
        raise ParseError("bad_date", f"not a date in the declared format {fmt}")
    parts = dict(zip(order, (int(g) for g in match.groups()), strict=True))
    try:
        return date(parts["y"], parts["m"], parts["d"])
    except ValueError as error:
        raise ParseError("impossible_date", "no such calendar date") from error


_TIMESTAMP_FORMATS = {
    "iso": "%Y-%m-%dT%H:%M:%S",
    "dmy_dot": "%d.%m.%Y %H:%M:%S",
}
_TIMESTAMP_SHAPES = {
    "iso": re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"),
    "dmy_dot": re.compile(r"^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2}$"),
}


def parse_timestamp(text: str, fmt: str = "iso") -> datetime:
    value = text.strip()
    if not _TIMESTAMP_SHAPES[fmt].match(value):
        raise ParseError("bad_timestamp", f"not a timestamp in the declared format {fmt}")
    try:
        return datetime.strptime(value, _TIMESTAMP_FORMATS[fmt])
    except ValueError as error:
        raise ParseError("impossible_date", "no such calendar time") from error


_EXCEL_EPOCH = date(1899, 12, 30)


def excel_serial_to_date(serial: float) -> date:
    """Excel's 1900 date system (with its phantom 29 Feb 1900, hence the 1899-12-30 epoch)."""
    if serial != int(serial) or not 1 <= serial <= 2958465:
        raise ParseError("bad_date", "not a whole-day Excel date serial")
    return _EXCEL_EPOCH + timedelta(days=int(serial))


_BOOLEANS = {"true": True, "false": False}


def parse_boolean(text: str) -> bool:
    value = text.strip().lower()
    if value not in _BOOLEANS:
        raise ParseError("bad_boolean", "expected true or false")
    return _BOOLEANS[value]


_ID_SHAPE = re.compile(r"^\d+$")


def parse_identity_text(text: str) -> str:
    """An identity number as delivered, as text. Scientific notation (a spreadsheet's 1.23E+10) is rejected
    as a value: its digits are lost, so the row is kept with the identifier marked invalid, never guessed."""
    value = text.strip()
    if re.match(r"^\d+(\.\d+)?[eE][+-]?\d+$", value):
        raise ParseError("scientific_notation_id", "identity number in scientific notation: digits lost")
    return value
