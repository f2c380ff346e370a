"""Identity numbers and the strict value parsers: exact value or rejection, never a silent coercion."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kopru.identity import check_digits, is_foreign_id, is_valid_id, pseudonym
from kopru.ingest.parsers import (
    ParseError,
    format_date,
    format_decimal,
    parse_date,
    parse_decimal,
    parse_identity_text,
    parse_timestamp,
)


def make_id(first_nine: str) -> str:
    return first_nine + check_digits(first_nine)


def test_known_valid_tckn():
    assert is_valid_id("10000000146")  # the commonly published test number
    assert not is_valid_id("10000000147")
    assert not is_valid_id("00000000146")
    assert not is_valid_id("1000000014")


@given(st.from_regex(r"^[1-9][0-9]{8}$", fullmatch=True))
def test_every_generated_id_checks_and_any_single_digit_change_fails(first_nine):
    number = make_id(first_nine)
    assert is_valid_id(number)
    for position in (9, 10):
        wrong = number[:position] + str((int(number[position]) + 1) % 10) + number[position + 1:]
        assert not is_valid_id(wrong)


def test_ykn_is_foreign():
    assert is_foreign_id(make_id("991234567"))
    assert not is_foreign_id(make_id("191234567"))


def test_pseudonym_is_keyed_and_namespaced():
    assert pseudonym("10000000146", b"a") != pseudonym("10000000146", b"b")
    assert pseudonym("H1", b"a", "household") != pseudonym("H1", b"a", "person")
    assert "10000000146" not in pseudonym("10000000146", b"a")


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_turkish_numbers_round_trip_exactly(value):
    assert parse_decimal(format_decimal(value, "tr"), "tr") == value
    assert parse_decimal(format_decimal(value, "dot"), "dot") == value


@pytest.mark.parametrize("text", ["1.25", "12.5", "1.2345,00", "1,250.50", "abc", "", "1.250.5"])
def test_turkish_style_rejects_what_it_cannot_read_one_way(text):
    with pytest.raises(ParseError) as error:
        parse_decimal(text, "tr")
    assert error.value.reason_code in {"ambiguous_number", "bad_number"}


def test_ambiguous_number_has_its_own_reason():
    with pytest.raises(ParseError) as error:
        parse_decimal("1.25", "tr")
    assert error.value.reason_code == "ambiguous_number"
    assert parse_decimal("1.250,50", "tr") == Decimal("1250.50")


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_dates_parse_only_in_their_declared_format(day):
    assert parse_date(day.isoformat(), "iso") == day
    assert parse_date(day.strftime("%d.%m.%Y"), "dmy_dot") == day
    assert parse_date(day.strftime("%d/%m/%Y"), "dmy_slash") == day
    for fmt in ("iso", "dmy_dot", "dmy_slash"):
        assert parse_date(format_date(day, fmt), fmt) == day
    with pytest.raises(ParseError):
        parse_date(day.strftime("%d.%m.%Y"), "iso")


def test_impossible_date_is_its_own_reason():
    with pytest.raises(ParseError) as error:
        parse_date("31.02.2024", "dmy_dot")
    assert error.value.reason_code == "impossible_date"
    with pytest.raises(ParseError):
        parse_timestamp("2024-02-30T10:00:00", "iso")


def test_scientific_notation_id_is_never_turned_into_digits():
    with pytest.raises(ParseError) as error:
        parse_identity_text("1.23457E+10")
    assert error.value.reason_code == "scientific_notation_id"
    assert parse_identity_text(" 10000000146 ") == "10000000146"
