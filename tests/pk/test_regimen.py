"""The regimen language: every seed regimen parses and prints back identically; errors
point at the offending word."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ifxdose.core.errors import InputError
from ifxdose.domain.dosing.regimen import Regimen, parse_regimen

SEED_REGIMENS = [
    "3 mg/kg at weeks 0,2,6 then every 8 weeks until week 54",  # S0 label
    "10 mg/kg at days 0,14",  # S1 Elliott 1993, patients 1-5 and 11-20
    "5 mg/kg at days 0,4,8,12",  # S1 patients 6-10
    "3 mg/kg at weeks 0,2,6,14; 4.5 mg/kg at week 22",  # S5 escalation
    "300 mg at weeks 0,2,6 then every 6 weeks",
    "120 mg sc every 2 weeks",  # CT-P13 SC
    "10 mg/kg at weeks 0,2,6 then every 4 weeks until week 50",  # S4 ATTRACT arm
    "1 mg/kg at day 0",  # S2 single infusion
    "5 mg/kg at weeks 0,2 over 1 h; 120 mg sc every 2 weeks from week 6 until week 30",
]


@pytest.mark.parametrize("text", SEED_REGIMENS)
def test_round_trip_text(text):
    assert str(parse_regimen(text)) == text


@pytest.mark.parametrize("text", SEED_REGIMENS)
def test_round_trip_json(text):
    reg = parse_regimen(text)
    assert Regimen.model_validate_json(reg.model_dump_json()) == reg


def test_label_dose_days_by_hand():
    # weeks 0,2,6 then every 8 weeks until 54: 0,14,42,98,154,210,266,322,378 days
    assert [d.time_days for d in parse_regimen(SEED_REGIMENS[0]).doses()] == [0, 14, 42, 98, 154, 210, 266, 322, 378]


def test_open_ended_needs_horizon():
    reg = parse_regimen("120 mg sc every 2 weeks")
    with pytest.raises(InputError, match="horizon"):
        reg.doses()
    assert [d.time_days for d in reg.doses(30)] == [0, 14, 28]


@pytest.mark.parametrize(
    "text, word, column",
    [
        ("3 mg/kg at wek 0", "'wek'", 12),
        ("3 mgkg at weeks 0", "'mgkg'", 3),
        ("3 mg/kg at weeks 0,2,,6", "','", 22),
        ("3 mg/kg at weeks 6,2", "'2'", 20),
        ("-3 mg/kg at week 0", "'-3'", 1),
        ("3 mg/kg at weeks 0 then every eight weeks", "'eight'", 31),
        ("3 mg/kg at weeks 0 banana", "'banana'", 20),
    ],
)
def test_errors_point_at_the_word(text, word, column):
    with pytest.raises(InputError) as err:
        parse_regimen(text)
    assert f"{word} at column {column}" in str(err.value)
    assert "\n" not in str(err.value)


amounts = st.sampled_from([1, 3, 4.5, 5, 6, 7.5, 10, 100, 120, 300])
times = st.lists(st.integers(0, 60), min_size=1, max_size=6, unique=True).map(sorted)


@st.composite
def clause_texts(draw):
    unit = draw(st.sampled_from(["mg/kg", "mg"]))
    at = draw(times)
    at_unit = "week" if len(at) == 1 else "weeks"
    text = f"{draw(amounts)} {unit} at {at_unit} {','.join(map(str, at))}"
    if draw(st.booleans()):
        every = draw(st.integers(1, 12))
        text += f" then every {every} {'week' if every == 1 else 'weeks'}"
        if draw(st.booleans()):
            text += f" until week {at[-1] + draw(st.integers(0, 40))}"
    return text


@given(st.lists(clause_texts(), min_size=1, max_size=3))
def test_generated_regimens_round_trip(clauses):
    text = "; ".join(clauses)
    assert str(parse_regimen(text)) == text
