"""Typing and validation of delivered values inside PostgreSQL, in bulk.

Readers frame a file into records of text (CSV straight through COPY; JSON Lines and XLSX cells rendered as text
in the declared formats); this module turns a FeedSpec into one SELECT that types every value or names the first
problem of its row, computes identity statuses, keyed pseudonyms and the row hash. The rules are those of the
reference parsers in `kopru.ingest.parsers` (property-tested), and a differential test holds the two together.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from kopru.ingest.contract import Column, FeedSpec, Formats
from kopru.ingest.parsers import TRIMMED


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer pads of HMAC-SHA256 for a key (RFC 2104)."""
    block = hashlib.sha256(key).digest() if len(key) > 64 else key
    block = block.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


def sql_literal(text: str) -> str:
    """A text as an SQL string literal (generated SQL only names our own columns, codes and delimiters)."""
    return "'" + text.replace("'", "''") + "'"


_DOT = r"^-?[0-9]+(\.[0-9]+)?$"
_TR_GROUPED = r"^-?[0-9]{1,3}(\.[0-9]{3})+(,[0-9]+)?$"
_TR_PLAIN = r"^-?[0-9]+(,[0-9]+)?$"
_INTEGER = r"^-?[0-9]+$"
_DMY_TO_ISO = "substr(v, 7, 4) || '-' || substr(v, 4, 2) || '-' || substr(v, 1, 2)"
_DATES = {  # format → (picture: 9 a digit, the rest itself; expression giving ISO text from v)
    "iso": ("9999-99-99", "v"),
    "dmy_dot": ("99.99.9999", _DMY_TO_ISO),
    "dmy_slash": ("99/99/9999", _DMY_TO_ISO),
}
_TIMESTAMPS = {  # format → (picture, ISO date expression, time expression)
    "iso": ("9999-99-99T99:99:99", "substr(v, 1, 10)", "substr(v, 12, 8)"),
    "dmy_dot": ("99.99.9999 99:99:99", _DMY_TO_ISO, "substr(v, 12, 8)"),
}


def _has_shape(value: str, picture: str) -> str:
    """SQL: `value` is the picture with a digit for each 9. LIKE fixes the length and the separators' places, and
    deleting the digits must leave just the separators — the regular expression's meaning at half its cost (PostgreSQL
    widens every text to match a regex). A picture's separators are neither digits nor LIKE's wildcards."""
    return (f"{value} like {sql_literal(picture.replace('9', '_'))}"
            f" and translate({value}, '0123456789', '') = {sql_literal(picture.replace('9', ''))}")


def _sub(expression: str, value: str) -> str:
    """Put the trimmed value expression in place of `v`."""
    return re.sub(r"\bv\b", value, expression)


@dataclass
class ColumnCheck:
    """How one column is typed and checked, in steps so that every test runs once per value: `tests` (alias →
    expression over the trimmed text `t_<column>`), then `value` (the typed value, over those aliases), then
    `problems` (condition → reason code, in order) and `typed` (what the raw table stores)."""

    tests: list[tuple[str, str]]
    value: str | None
    problems: list[tuple[str, str]]
    typed: str


def column_check(column: Column, formats: Formats) -> ColumnCheck:
    n, v = column.name, f"t_{column.name}"
    tests: list[tuple[str, str]] = []
    value = None
    problems: list[tuple[str, str]] = []
    kind = column.kind
    if kind == "enum":
        problems.append((f"{v} not in ({', '.join(map(sql_literal, column.values))})", "bad_enum"))
    elif kind == "integer":
        tests += [(f"s_{n}", f"{v} ~ '{_INTEGER}'"), (f"f_{n}", f"pg_input_is_valid({v}, 'integer')")]
        value = f"case when s_{n} and f_{n} then {v}::integer end"
        problems += [(f"not s_{n}", "bad_integer"), (f"not f_{n}", "out_of_range")]
    elif kind == "decimal":
        grouped, plain, dot = f"{v} ~ '{_TR_GROUPED}'", f"{v} ~ '{_TR_PLAIN}'", f"{v} ~ '{_DOT}'"
        if formats.decimal_style == "tr":
            shape = f"case when {grouped} or {plain} then 'ok' when {dot} then 'ambiguous' else 'bad' end"
            number = f"replace(replace({v}, '.', ''), ',', '.')::numeric"
        else:
            shape = (f"case when {dot} then 'ok' when {grouped} or (position(',' in {v}) > 0 and {plain}) "
                     f"then 'ambiguous' else 'bad' end")
            number = f"{v}::numeric"
        tests.append((f"s_{n}", shape))
        value = f"case when s_{n} = 'ok' then {number} end"
        problems += [(f"s_{n} = 'ambiguous'", "ambiguous_number"), (f"s_{n} = 'bad'", "bad_number"),
                     # numeric(14,2) holds twelve integer digits: a bigger amount is out of range, not a load error
                     (f"abs(x_{n}) >= 1e12", "out_of_range")]
    elif kind in ("date", "timestamp"):
        if kind == "date":
            shape, iso = _DATES[formats.date_format]
            iso = _sub(iso, v)
            valid, typed_value, code = f"pg_input_is_valid({iso}, 'date')", f"({iso})::date", "bad_date"
        else:
            shape, iso_date, time = _TIMESTAMPS[formats.timestamp_format]
            iso_date, time = _sub(iso_date, v), _sub(time, v)
            valid = (f"pg_input_is_valid({iso_date}, 'date') and substr({time}, 1, 2) < '24'"
                     f" and substr({time}, 4, 2) < '60' and substr({time}, 7, 2) < '60'")
            typed_value, code = f"({iso_date} || ' ' || {time})::timestamp", "bad_timestamp"
        tests.append((f"s_{n}", _has_shape(v, shape)))
        value = f"case when s_{n} and {valid} then {typed_value} end"
        problems += [(f"not s_{n}", code), (f"x_{n} is null", "impossible_date")]
    elif kind == "boolean":
        problems.append((f"lower({v}) not in ('true', 'false')", "bad_boolean"))
    typed = f"x_{n}" if value else (f"(lower({v}) = 'true')" if kind == "boolean" else v)
    if kind in ("integer", "decimal"):
        if column.minimum is not None:
            problems.append((f"{typed} < {column.minimum}", "out_of_range"))
        if column.maximum is not None:
            problems.append((f"{typed} > {column.maximum}", "out_of_range"))
    # A problem applies only to a value that is there; a missing optional value is simply NULL.
    guarded = [(f"{v} is not null and ({condition})", code) for condition, code in problems]
    if column.required and kind != "identity":
        guarded.insert(0, (f"{v} is null", "missing_required"))
    return ColumnCheck(tests, value, guarded, typed)


def trimmed_sql(value: str) -> str:
    """A delivered text value as every check reads it: trimmed, and NULL when nothing is left."""
    return f"nullif(btrim({value}, {sql_literal(TRIMMED)}), '')"


def checked_select(spec: FeedSpec, source: str = "incoming_text", blank_free: bool = False) -> str:
    """SELECT over the framed text records: typed columns, identity statuses, the row hash, and `_problem`
    (`column:reason_code` of the row's first problem, NULL when it has none). Pseudonyms are added by the loader
    per distinct value (see `pseudonymised`). `offset 0` keeps each step from being folded into the next, where
    its tests would run again for every use. `blank_free`: the records came from a file with no blank and no quote
    in it (Stream.blank_free), whose values are already as trimmed_sql would leave them."""
    checks = {c.name: column_check(c, spec.formats) for c in spec.columns}
    trimmed = ", ".join((f"t.{c.name}" if blank_free else trimmed_sql(f"t.{c.name}")) + f" as t_{c.name}"
                        for c in spec.columns)
    tests = "".join(f", {expr} as {alias}" for check in checks.values() for alias, expr in check.tests)
    values = "".join(f", {check.value} as x_{name}" for name, check in checks.items() if check.value)
    cases = [f"when {cond} then {sql_literal(name + ':' + code)}"
             for name, check in checks.items() for cond, code in check.problems]
    problem = f"case {' '.join(cases)} end" if cases else "null::text"
    typed = [f"{checks[c.name].typed} as {c.name}" for c in spec.columns]
    typed += [f"ingest.identity_status(t_{name}) as {name}_status" for name in spec.identity_columns]
    hashed = ", ".join(checks[c.name].typed for c in spec.columns)
    return f"""
        select {', '.join(typed)}, _row_number, _raw, {problem} as _problem,
               md5(row({hashed})::text) as _row_hash
        from (
            select tested.*{values}
            from (
                select trimmed.*{tests}
                from (select t._row_number, t._raw, {trimmed} from {source} t offset 0) trimmed
                offset 0
            ) tested
            offset 0
        ) valued
    """


def pseudonymised(spec: FeedSpec) -> list[tuple[str, str, str]]:
    """(column of `checked`, namespace, raw column it fills) for every value that gets a keyed pseudonym."""
    pairs = [(name, "person", f"{name}_pseudonym") for name in spec.identity_columns]
    return pairs + [(c.name, c.key, c.key) for c in spec.keyed_columns]
