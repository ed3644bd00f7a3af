"""Every standard code ifxdose writes or reads is the one the research file cites.

The expected values below are typed from shared/research/ra_scores_and_codes.md Part B
(B1 LOINC, B2 RxNorm/ATC), not copied from codes.py; where the research file is present
(it is beside the repository in development and CI) each code is also looked up in it.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import pytest

from ifxdose.adapters.fhir import codes as c
from ifxdose.adapters.fhir.mapping import load_mapping
from ifxdose.core.errors import InputError

RESEARCH = Path(__file__).resolve().parents[3] / "shared" / "research" / "ra_scores_and_codes.md"
HERE = Path(__file__).parent

EXPECTED = {  # research Part B: code, confidence
    "LOINC_IFX": ("39803-2", "C"),
    "LOINC_CRP": ("1988-5", "P"),
    "LOINC_ESR": ("4537-7", "C"),
    "LOINC_WEIGHT": ("29463-7", "P"),
    "LOINC_ALBUMIN": ("1751-7", "P"),
    "RXNORM_IFX": ("191831", "P"),
    "ATC_IFX": ("L04AB02", "S"),
    "RXNORM_MTX": ("6851", "C"),
    "ATC_MTX": ("L04AX03", "P"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_code_and_confidence_as_in_the_research_file(name):
    code = getattr(c, name)
    assert (code.code, code.confidence) == EXPECTED[name]
    assert code.source


def test_every_code_has_a_source_and_a_grade():
    assert len(c.ALL_CODES) > 30
    for code in c.ALL_CODES:
        assert code.source and code.confidence in ("P", "C", "S", "assumption"), code
        if code.system == c.LOCAL:
            assert code.confidence == "assumption" and "Assumption" in code.source


def _toml_codes() -> list[dict]:
    text = resources.files("ifxdose.adapters.fhir").joinpath("data/codes.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return data["observation"] + data["medication"]


def test_import_only_codes_carry_source_and_grade():
    for entry in _toml_codes():
        assert entry["source"] and entry["confidence"] in ("P", "C", "S"), entry


@pytest.mark.skipif(not RESEARCH.exists(), reason="shared/research not beside the repository")
def test_every_standard_code_appears_in_the_research_file():
    text = RESEARCH.read_text(encoding="utf-8")
    standard = [x.code for x in c.ALL_CODES if x.system in (c.LOINC, c.RXNORM, c.ATC)]
    standard += [e["code"] for e in _toml_codes()]
    missing = [code for code in standard if code not in text]
    assert missing == []


def test_user_mapping_adds_a_local_code_and_rejects_bad_entries(tmp_path):
    mapping = load_mapping(HERE / "data" / "local_codes.toml")
    assert mapping.observation_kind([{"system": "https://lab.example.jp/codes", "code": "ATI-01"}])[0] == "ada"
    assert mapping.observation_kind([{"system": c.LOINC, "code": "1988-5"}])[0] == "crp"  # defaults kept
    bad = tmp_path / "bad.toml"
    bad.write_text('[[observation]]\nkind = "haemoglobin"\nsystem = "x"\ncode = "y"\n')
    with pytest.raises(InputError, match=r"observation\[0\]\.kind"):
        load_mapping(bad)
    with pytest.raises(InputError, match="readable"):
        load_mapping(tmp_path / "missing.toml")
