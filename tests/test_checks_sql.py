"""The bulk SQL checks (kopru.ingest.checks) agree with the reference parsers value for value: the same typed value,
or the same reason code. Hypothesis feeds both the same delivered text, shaped to hit the edges."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kopru.identity import is_valid_id
from kopru.ingest.checks import checked_select
from kopru.ingest.contract import Column, FeedSpec, Formats
from kopru.ingest.parsers import ParseError, convert

NUMBER_TEXT = st.one_of(
    st.from_regex(r"-?[0-9]{1,3}(\.[0-9]{3}){0,3}(,[0-9]{1,3})?", fullmatch=True),
    st.from_regex(r"-?[0-9]{1,14}(\.[0-9]{1,3})?", fullmatch=True),
    st.from_regex(r"[0-9]{1,2}[eE][+-]?[0-9]", fullmatch=True),
    st.text(alphabet="0123456789.,- \t+", max_size=12),
)
def _one_character_off(texts):
    """Well-formed texts with one character swapped for a digit of another script, a separator or a letter: the
    shapes the checks must tell apart."""
    return st.tuples(texts, st.integers(min_value=0, max_value=18), st.sampled_from("0٣５-./:T x")).map(
        lambda t: t[0][:t[1] % len(t[0])] + t[2] + t[0][t[1] % len(t[0]) + 1:])


DATE_TEXT = st.one_of(
    st.dates(min_value=date(1, 1, 1)).map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}"),
    st.dates().map(lambda d: d.strftime("%d.%m.%Y")),
    st.dates().map(lambda d: d.strftime("%d/%m/%Y")),
    st.from_regex(r"[0-9]{2}[./-][0-9]{2}[./-][0-9]{4}|[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True),
    st.text(alphabet="0123456789-./ ", max_size=12),
    _one_character_off(st.dates(min_value=date(1, 1, 1)).map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}")),
    _one_character_off(st.dates().map(lambda d: d.strftime("%d.%m.%Y"))),
)
TIMESTAMP_TEXT = st.one_of(
    st.datetimes().map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%S")),
    st.datetimes().map(lambda t: t.strftime("%d.%m.%Y %H:%M:%S")),
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}", fullmatch=True),
    st.from_regex(r"[0-9]{2}\.[0-9]{2}\.[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}", fullmatch=True),
    _one_character_off(st.datetimes().map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%S"))),
    _one_character_off(st.datetimes().map(lambda t: t.strftime("%d.%m.%Y %H:%M:%S"))),
)
INTEGER_TEXT = st.one_of(st.integers(min_value=-(2**40), max_value=2**40).map(str), NUMBER_TEXT)
IDENTITY_TEXT = st.one_of(
    st.from_regex(r"[0-9]{11}", fullmatch=True), st.from_regex(r"[1-9][0-9]{10}", fullmatch=True),
    st.from_regex(r"[0-9]\.[0-9]{1,4}E\+?[0-9]{1,2}", fullmatch=True), st.text(alphabet="0123456789 e", max_size=13),
)
MAYBE = st.one_of(st.none(), st.just(""), st.just("  "))

CASES = [
    (Column("n", "decimal", minimum=0), Formats(decimal_style="dot"), NUMBER_TEXT),
    (Column("n", "decimal"), Formats(decimal_style="tr"), NUMBER_TEXT),
    (Column("n", "integer", minimum=1, maximum=30), Formats(), INTEGER_TEXT),
    (Column("n", "integer", required=True), Formats(), INTEGER_TEXT),
    (Column("d", "date"), Formats(date_format="iso"), DATE_TEXT),
    (Column("d", "date", required=True), Formats(date_format="dmy_dot"), DATE_TEXT),
    (Column("d", "date"), Formats(date_format="dmy_slash"), DATE_TEXT),
    (Column("t", "timestamp"), Formats(timestamp_format="iso"), TIMESTAMP_TEXT),
    (Column("t", "timestamp"), Formats(timestamp_format="dmy_dot"), TIMESTAMP_TEXT),
    (Column("b", "boolean"), Formats(), st.sampled_from(["true", "false", "TRUE", " False ", "yes", "1", "tru"])),
    (Column("e", "enum", required=True, values=("kabul", "red")), Formats(),
     st.sampled_from(["kabul", "red", "Kabul", " red ", "ret", "kabul\t"])),
]


def reference(column: Column, text: str | None, formats: Formats):
    try:
        return ("ok", convert(column, text, formats))
    except ParseError as error:
        return ("problem", error.reason_code)


def in_sql(conn, column: Column, formats: Formats, texts: list[str | None]):
    spec = FeedSpec("test", "values", "append", (column.name,), (column,), formats)
    conn.execute(f"create temporary table incoming_text (_row_number integer, _raw text, {column.name} text)")
    try:
        with conn.cursor().copy(f"copy incoming_text (_row_number, {column.name}) from stdin") as copy:
            for number, text in enumerate(texts):
                copy.write_row((number, text))
        rows = conn.execute(
            f"select {column.name}, _problem from ({checked_select(spec)}) c order by _row_number"
        ).fetchall()
    finally:
        conn.execute("drop table incoming_text")
    return [("problem", problem.split(":")[1]) if problem else ("ok", value) for value, problem in rows]


@pytest.fixture(scope="module")
def conn(warehouse_url):
    with psycopg.connect(warehouse_url, autocommit=True) as connection:
        yield connection


@pytest.mark.parametrize("case", range(len(CASES)), ids=[f"{c.kind}-{f.decimal_style}-{f.date_format}-{f.timestamp_format}"
                                                         f"-{'req' if c.required else 'opt'}" for c, f, _ in CASES])
def test_sql_checks_agree_with_the_reference_parsers(conn, case):
    column, formats, texts = CASES[case]

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.one_of(texts, MAYBE), min_size=1, max_size=25))
    def agree(batch):
        expected = [reference(column, text, formats) for text in batch]
        assert in_sql(conn, column, formats, batch) == expected, batch

    agree()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(IDENTITY_TEXT, MAYBE), min_size=1, max_size=25))
def test_identity_status_in_sql_agrees_with_the_checksum(conn, batch):
    statuses = [s for (s,) in conn.execute(
        "select ingest.identity_status(nullif(btrim(v, E' \\t\\r\\n'), '')) from unnest(%s::text[]) v", (batch,)
    ).fetchall()]
    for text, status in zip(batch, statuses, strict=True):
        value = (text or "").strip(" \t\r\n")
        if not value:
            assert status == "missing"
        elif "e" in value.lower() and any(c.isdigit() for c in value):
            assert status == "scientific_notation"
        elif not (value.isascii() and value.isdigit() and len(value) == 11):
            assert status == "bad_format"
        else:
            assert status == ("valid" if is_valid_id(value) else "invalid_checksum"), value


def test_pseudonyms_in_sql_are_the_hmac_of_the_python_function(conn):
    from kopru.identity import pseudonym
    from kopru.ingest.checks import hmac_pads

    for key in (b"k" * 32, b"a longer development key that exceeds the sixty-four byte block of sha-256!!"):
        inner, outer = hmac_pads(key)
        for value, namespace in (("10000000146", "person"), ("H0000001", "household_key"), ("Şahin", "x")):
            (in_sql,) = conn.execute("select ingest.pseudonym(%s, %s, %s, %s)",
                                     (value, namespace, inner, outer)).fetchone()
            assert in_sql == pseudonym(value, key, namespace)


def test_typed_values_have_python_types(conn):
    assert in_sql(conn, Column("n", "decimal"), Formats(decimal_style="tr"), ["1.250,50"]) == [("ok", Decimal("1250.50"))]
    assert in_sql(conn, Column("t", "timestamp"), Formats(timestamp_format="dmy_dot"), ["05.03.2024 09:15:00"]) == [
        ("ok", datetime(2024, 3, 5, 9, 15))]


def _no_blank(texts):
    return texts.filter(lambda text: not any(character in text for character in ' \t",\r\n'))


AID_VALUES = {
    "aid_id": _no_blank(st.text(alphabet="AİDaı0123-", max_size=6)),
    "household_id": _no_blank(st.text(alphabet="Hh0123", max_size=5)),
    "aid_type": st.sampled_from(["nakdi", "gida", "kira", "Gida", "x"]),
    "channel": st.sampled_from(["kart", "banka", "ayni", "post"]),
    "amount_try": _no_blank(NUMBER_TEXT),
    "quantity": _no_blank(INTEGER_TEXT),
    "delivered_on": _no_blank(DATE_TEXT),
    "isas_entered_on": _no_blank(DATE_TEXT),
}


def test_a_blank_free_file_is_checked_alike_without_trimming(conn):
    """A file with no blank and no quote in it skips the trimming (loader.Stream.blank_free): every typed value, problem
    and row hash is what the trimming checks give, empty values included (COPY reads them as NULL)."""
    from kopru.ingest.contract import FEEDS
    from kopru.ingest.loader import Stream

    spec = FEEDS[("belediye", "aid")]
    names = [c.name for c in spec.columns]
    record = st.fixed_dictionaries({name: st.one_of(st.just(""), AID_VALUES.get(name, st.just("")))
                                    for name in names})

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(record, min_size=1, max_size=25))
    def alike(records):
        text = ",".join(names) + "\n" + "".join(",".join(r[n] for n in names) + "\n" for r in records)
        assert Stream(text, names, ",").blank_free
        conn.execute(f"create temporary table incoming_text (_row_number integer generated by default as identity,"
                     f" _raw text, {', '.join(n + ' text' for n in names)})")
        try:
            with conn.cursor().copy(f"copy incoming_text ({', '.join(names)}) from stdin"
                                    " with (format csv, header true)") as copy:
                copy.write(text)
            checked = {blank_free: conn.execute(
                f"select * from ({checked_select(spec, blank_free=blank_free)}) c order by _row_number").fetchall()
                for blank_free in (False, True)}
        finally:
            conn.execute("drop table incoming_text")
        assert checked[True] == checked[False]

    alike()
    for text in ("a,b\n1, 2\n", "a,b\n1,\t2\n", 'a,b\n"1",2\n'):
        assert not Stream(text, ["a", "b"], ",").blank_free
