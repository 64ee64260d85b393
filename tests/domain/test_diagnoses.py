import pytest

from ketacare.domain.errors import InvalidValue
from ketacare.domain.patients.diagnoses import code_list, find_concept


def test_every_code_has_a_source_and_a_verification_status():
    for c in code_list():
        assert c.source, c.concept
        assert isinstance(c.verified, bool)
        assert c.icd10cm or c.icd11


@pytest.mark.parametrize(
    "key,concept",
    [
        ("F41.1", "gad"),
        ("6B00", "gad"),
        ("gad", "gad"),
        ("f43.12", "ptsd_chronic"),
        ("6B04", "sad"),
        ("F41.0", "panic"),
    ],
)
def test_find_by_icd10_icd11_or_key(key, concept):
    assert find_concept(key).concept == concept


def test_unknown_code_is_refused():
    with pytest.raises(InvalidValue, match="not on the shipped diagnosis list"):
        find_concept("Z99.99")


def test_anxiety_codes_match_the_knowledge_pack():
    by = {c.concept: c for c in code_list()}
    assert (by["gad"].icd10cm, by["gad"].icd11) == ("F41.1", "6B00")
    assert (by["panic"].icd10cm, by["panic"].icd11) == ("F41.0", "6B01")
    assert by["ptsd"].icd11 == "6B40" and by["cptsd"].icd11 == "6B41"
    assert by["agoraphobia"].icd11 == "6B02"
