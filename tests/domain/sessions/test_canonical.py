"""Canonical JSON and digests for signed session records."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.domain.errors import InvalidValue
from ketacare.domain.sessions.canonical import canonical_json, record_digest
from ketacare.domain.sessions.session import State


def test_sorted_keys_no_whitespace_utf8():
    out = canonical_json({"b": [1, 2.5, None, True], "a": {"z": "café", "y": -0.0}})
    assert out == '{"a":{"y":0,"z":"café"},"b":[1,2.5,null,true]}'.encode()


@pytest.mark.parametrize(
    "x,text",
    [(1.0, "1"), (0.1, "0.1"), (123.456, "123.456"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
     (1e-7, "1e-7"), (0.000001, "0.000001"), (-2.5e-9, "-2.5e-9"), (0.875, "0.875"),
     (35 * 35 / 40, "30.625")],
)  # fmt: skip
def test_numbers_follow_rfc8785(x, text):
    assert canonical_json(x).decode() == text


def test_dataclasses_enums_datetimes():
    @dataclass(frozen=True)
    class Rec:
        state: State
        at: datetime
        doses: tuple[float, ...]

    rec = Rec(State.DISCHARGED, datetime(2026, 11, 26, 10, 30, tzinfo=UTC), (35.0, 0.5))
    assert canonical_json(rec) == b'{"at":"2026-11-26T10:30:00+00:00","doses":[35,0.5],"state":"discharged"}'


def test_digest_is_sha256_of_canonical_bytes_and_ignores_key_order():
    a = {"patient": "P1", "dose_mg": 35.0, "vitals": [{"sbp": 186, "dbp": 104}]}
    b = {"vitals": [{"dbp": 104, "sbp": 186}], "dose_mg": 35, "patient": "P1"}
    assert record_digest(a) == record_digest(b) == hashlib.sha256(canonical_json(a)).hexdigest()
    assert record_digest({**a, "dose_mg": 35.000001}) != record_digest(a)


@pytest.mark.parametrize("bad", [math.nan, math.inf, {1: "x"}, object()])
def test_refuses_what_cannot_be_signed(bad):
    with pytest.raises(InvalidValue):
        canonical_json({"x": bad})


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_text_round_trips(x):
    assert float(canonical_json(x)) == x or (x == 0 and canonical_json(x) == b"0")
