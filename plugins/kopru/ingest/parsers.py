"""Strict value parsers: each returns the exact value or raises ParseError with a reason code.

Never a silent coercion: `1.25` in Turkish number style is rejected, not read as 1.25 or 125; a date is read
in its declared format only; an identity number is text, never a float.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal

from kopru.ingest.contract import Column, Formats

TRIMMED = " \t\r\n"  # whitespace trimmed from every delivered value


class ParseError(ValueError):
    def __init__(self, reason_code: str, message: str):
        super().__init__(message)
        self.reason_code = reason_code


_DOT_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
# Turkish style: dot groups thousands (in threes), comma separates decimals.
_TR_DECIMAL_GROUPED = re.compile(r"^-?[0-9]{1,3}(\.[0-9]{3})+(,[0-9]+)?$")
_TR_DECIMAL_PLAIN = re.compile(r"^-?[0-9]+(,[0-9]+)?$")
_INTEGER = re.compile(r"^-?[0-9]+$")


def parse_decimal(text: str, style: str = "dot") -> Decimal:
    """`dot`: 1250.50 (no grouping). `tr`: 1.250,50 or 1250,50. Anything else is rejected."""
    value = text.strip(TRIMMED)
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
            if re.match(r"^-?[0-9]{1,3}\.[0-9]{3}$", value):
                raise ParseError("ambiguous_number", "could be a thousands group or three decimals")
            return Decimal(value)
        raise ParseError("bad_number", "not a number")
    raise ValueError(f"unknown number style {style!r}")


def parse_integer(text: str) -> int:
    value = text.strip(TRIMMED)
    if not _INTEGER.match(value):
        raise ParseError("bad_integer", "not a whole number")
    return int(value)


_DATE_FORMATS = {
    "iso": (re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$"), ("y", "m", "d")),
    "dmy_dot": (re.compile(r"^([0-9]{2})\.([0-9]{2})\.([0-9]{4})$"), ("d", "m", "y")),
    "dmy_slash": (re.compile(r"^([0-9]{2})/([0-9]{2})/([0-9]{4})$"), ("d", "m", "y")),
}


def parse_date(text: str, fmt: str = "iso") -> date:
    pattern, order = _DATE_FORMATS[fmt]
    match = pattern.match(text.strip(TRIMMED))
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
    "iso": re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$"),
    "dmy_dot": re.compile(r"^[0-9]{2}\.[0-9]{2}\.[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}$"),
}


def parse_timestamp(text: str, fmt: str = "iso") -> datetime:
    value = text.strip(TRIMMED)
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
    value = text.strip(TRIMMED).lower()
    if value not in _BOOLEANS:
        raise ParseError("bad_boolean", "expected true or false")
    return _BOOLEANS[value]


_ID_SHAPE = re.compile(r"^[0-9]+$")


def parse_identity_text(text: str) -> str:
    """An identity number as delivered, as text. Scientific notation (a spreadsheet's 1.23E+10) is rejected
    as a value: its digits are lost, so the row is kept with the identifier marked invalid, never guessed."""
    value = text.strip(TRIMMED)
    if re.match(r"^[0-9]+(\.[0-9]+)?[eE][+-]?[0-9]+$", value):
        raise ParseError("scientific_notation_id", "identity number in scientific notation: digits lost")
    return value



def format_decimal(value: Decimal, style: str) -> str:
    """The text `parse_decimal` reads back in `style`: `tr` 1.250,50 (dot-grouped thousands), `dot` 1250.50."""
    text = f"{value:.2f}"
    if style == "dot":
        return text
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, fraction = digits.split(".")
    return f"{sign}{int(whole):,}".replace(",", ".") + "," + fraction


def format_date(day: date, fmt: str) -> str:
    """The text `parse_date` reads back in `fmt`."""
    return {"dmy_dot": day.strftime("%d.%m.%Y"), "dmy_slash": day.strftime("%d/%m/%Y")}.get(fmt, day.isoformat())

# The reference validation of one value, value by value (see convert).

def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        stripped = value.strip(TRIMMED)
        return stripped or None
    return str(value)


def convert(column: Column, value: object, formats: Formats) -> object:
    """One delivered value → its typed value, or ParseError: the reference the bulk SQL checks
    (`kopru.ingest.checks`) are held to by a differential property test."""
    if column.kind == "identity":
        text = _as_text(value)
        return None if text is None else parse_identity_text(text)
    text = _as_text(value)
    if text is None:
        if column.required:
            raise ParseError("missing_required", f"{column.name} is required")
        return None
    kind = column.kind
    if kind in ("text",):
        return text
    if kind == "enum":
        if text not in column.values:
            raise ParseError("bad_enum", f"{column.name} is not one of {', '.join(column.values)}")
        return text
    if kind == "integer":
        number = value if isinstance(value, int) and not isinstance(value, bool) else parse_integer(text)
        if not -(2**31) <= number < 2**31:
            raise ParseError("out_of_range", f"{column.name} is too large for the warehouse")
        _check_range(column, number)
        return number
    if kind == "decimal":
        if isinstance(value, bool):
            raise ParseError("bad_number", f"{column.name} is not a number")
        if isinstance(value, int | float):
            number = parse_decimal(repr(value) if isinstance(value, float) else str(value), "dot")
        else:
            number = parse_decimal(text, formats.decimal_style)
        if abs(number) >= 10**12:
            raise ParseError("out_of_range", f"{column.name} is too large for the warehouse")
        _check_range(column, number)
        return number
    if kind == "date":
        if isinstance(value, datetime):  # an XLSX date cell
            return value.date()
        if isinstance(value, date):
            return value
        return parse_date(text, formats.date_format)
    if kind == "timestamp":
        return parse_timestamp(text, formats.timestamp_format)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        return parse_boolean(text)
    raise ValueError(f"unknown column kind {kind}")


def _check_range(column: Column, number) -> None:
    if column.minimum is not None and number < column.minimum:
        raise ParseError("out_of_range", f"{column.name} is below {column.minimum}")
    if column.maximum is not None and number > column.maximum:
        raise ParseError("out_of_range", f"{column.name} is above {column.maximum}")
