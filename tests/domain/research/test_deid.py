"""De-identification rules: ages over 89 grouped, shifts never zero and within range, small cells."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from ketacare.domain import research as deid


def test_ages_are_banded_and_every_age_over_89_is_one_group():
    assert [deid.age_band(a) for a in (0, 9, 10, 42, 79, 80, 89, 90, 104)] == [
        "0-9", "0-9", "10-19", "40-49", "70-79", "80-89", "80-89", "90+", "90+"]


def test_age_in_whole_years_turns_on_the_birthday():
    assert deid.age_years(date(1936, 3, 4), date(2026, 3, 3)) == 89
    assert deid.age_years(date(1936, 3, 4), date(2026, 3, 4)) == 90


@given(st.integers(min_value=1, max_value=10**9), st.text(min_size=3, max_size=12))
def test_a_shift_is_whole_days_never_zero_and_stable(pid, export_key):
    key = b"k" * 32
    d = deid.date_shift_days(key, export_key, pid, 182)
    assert d != 0 and -182 <= d <= 182
    assert d == deid.date_shift_days(key, export_key, pid, 182)


def test_pseudonyms_depend_on_the_key_the_export_and_the_kind():
    a = deid.pseudonym(b"a" * 32, "s1", "patient", 7)
    assert a == deid.pseudonym(b"a" * 32, "s1", "patient", 7) and len(a) == 16
    assert a not in {deid.pseudonym(b"b" * 32, "s1", "patient", 7), deid.pseudonym(b"a" * 32, "s2", "patient", 7),
                     deid.pseudonym(b"a" * 32, "s1", "session", 7)}


def test_small_cells_are_suppressed_and_k_is_the_smallest_group():
    assert [deid.suppress_count(n, 5) for n in (0, 1, 4, 5, 12)] == ["0", "<5", "<5", "5", "12"]
    assert deid.smallest_group([("a", 1), ("a", 1), ("b", 2)]) == (1, 2)
    assert deid.rules().min_cell_count == 5 and deid.rules().small_cell_source == "clinic-default"


def test_batch_pseudonyms_and_shifts_equal_the_single_ones():
    key, long_key = b"k" * 32, b"L" * 100  # a key longer than the SHA-256 block is hashed first, as in hmac
    ids = [1, 7, 99, 123_456_789]
    for k in (key, long_key):
        assert deid.pseudonyms(k, "study-a", "response", ids) == [deid.pseudonym(k, "study-a", "response", i)
                                                                  for i in ids]
        assert deid.date_shifts_days(k, "study-a", range(300), 182) == [
            deid.date_shift_days(k, "study-a", i, 182) for i in range(300)]


def test_pseudonym_bytes_are_the_pseudonyms_and_long_keys_hash_like_hmac():
    for k in (b"k" * 32, b"k" * 100):
        ids = [1, 22, 333, 4444]
        raw = deid.pseudonym_bytes(k, "study-a", "response", ids)
        assert [raw[i * 8:(i + 1) * 8].hex() for i in range(len(ids))] == [
            deid.pseudonym(k, "study-a", "response", i) for i in ids]
