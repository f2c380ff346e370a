"""Turkish identity numbers (TCKN, and YKN for foreigners under protection) and keyed pseudonyms."""

from __future__ import annotations

import hashlib
import hmac


def check_digits(first_nine: str) -> str:
    """The two standard check digits of an 11-digit TCKN/YKN, from its first nine digits."""
    d = [int(c) for c in first_nine]
    d10 = ((d[0] + d[2] + d[4] + d[6] + d[8]) * 7 - (d[1] + d[3] + d[5] + d[7])) % 10
    d11 = (sum(d) + d10) % 10
    return f"{d10}{d11}"


def is_valid_id(value: str | None) -> bool:
    """True for an 11-digit number, first digit not 0, whose check digits hold (TCKN and YKN alike)."""
    if value is None or len(value) != 11 or not value.isascii() or not value.isdigit() or value[0] == "0":
        return False
    return value[9:] == check_digits(value[:9])


def is_foreign_id(value: str | None) -> bool:
    """YKN: a valid identity number starting with 99, given to foreigners under protection."""
    return is_valid_id(value) and value.startswith("99")


def pseudonym(value: str, key: bytes, namespace: str = "person") -> str:
    """Keyed pseudonym (HMAC-SHA256), stable for a key; the namespace keeps person and household keys apart."""
    return hmac.new(key, f"{namespace}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


def key_fingerprint(key: bytes) -> str:
    """What the warehouse keeps of the pseudonym key: enough to tell one key from another, nothing to compute a
    pseudonym with."""
    return hmac.new(key, b"kopru: fingerprint of the pseudonym key", hashlib.sha256).hexdigest()[:32]


def record_key(key: bytes) -> bytes:
    """The key of source-record pseudonyms (an aid's, a referral's, a card transaction's ID in the marts), derived
    from the pseudonym key so that one secret serves both and a record pseudonym never equals a person's. A record's
    pseudonym is pseudonym(its ID, record_key(key), its source's namespace), as dbt's record_pseudonym macro
    computes it in SQL."""
    return hmac.new(key, b"kopru: source-record pseudonyms", hashlib.sha256).digest()
