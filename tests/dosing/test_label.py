"""Label rules: each boundary against the label text (JP 添付文書 / US PI), not our own output."""

from __future__ import annotations

import pytest

from ifxdose.core.errors import InputError
from ifxdose.domain.dosing.label import check_infusion, check_regimen, load_rules, max_dose_mg_per_kg, mtx_flags
from ifxdose.domain.dosing.regimen import parse_regimen


def ids(flags):
    return {f.rule_id for f in flags}


def test_every_rule_has_a_citation_and_grade():
    for key in ("jp", "us"):
        for rule in load_rules(key).rules:
            assert rule.citation and rule.grade in ("primary", "assumption"), rule.id


@pytest.mark.parametrize("rules", ["jp", "us"])
def test_label_regimen_is_clean(rules):
    # S0: 3 mg/kg at weeks 0, 2, 6 then every 8 weeks
    assert check_regimen(parse_regimen("3 mg/kg at weeks 0,2,6 then every 8 weeks"), 55, rules) == []


@pytest.mark.parametrize("dose, flagged", [(10.0, False), (10.5, True)])
@pytest.mark.parametrize("rules", ["jp", "us"])
def test_ceiling_10_mg_per_kg_at_8_weeks(rules, dose, flagged):
    # JP: 8週間の間隔であれば10mg; US: "up to 10 mg/kg"
    flags = check_infusion(5, dose, 8.0, rules)
    assert (f"{rules}-max-dose" in ids(flags)) is flagged


@pytest.mark.parametrize("gap, flagged", [(4.0, False), (3.9, True)])
@pytest.mark.parametrize("rules", ["jp", "us"])
def test_shortest_interval_4_weeks(rules, gap, flagged):
    # JP: 最短の投与間隔は4週間; US: "as often as every 4 weeks"
    assert (f"{rules}-min-interval" in ids(check_infusion(5, 3.0, gap, rules))) is flagged


@pytest.mark.parametrize(
    "dose, gap, flagged",
    [
        (6.0, 4.0, False),  # shortened interval, dose at the 6 mg/kg limit
        (6.5, 6.0, True),  # shortened (6 < 8 weeks) and above 6 mg/kg
        (10.0, 8.0, False),  # not shortened: the 10 mg/kg ceiling applies
        (10.0, 7.9, True),
    ],
)
def test_jp_dose_limit_when_interval_shortened(dose, gap, flagged):
    # JP: 投与間隔を短縮した場合であれば6mg
    assert ("jp-shortened-interval-dose" in ids(check_infusion(5, dose, gap, "jp"))) is flagged


def test_us_has_no_shortened_interval_dose_limit():
    # ATTRACT's 10 mg/kg every 4 weeks (S4) is within the US PI's wording, not the JP label
    regimen = parse_regimen("3 mg/kg at weeks 0,2,6; 10 mg/kg every 4 weeks from week 10 until week 54")
    assert check_regimen(regimen, 60, "us") == []
    (flag,) = check_regimen(regimen, 60, "jp")
    # weeks 10, 14, ..., 54 are 12 infusions, numbers 4..15
    assert flag.rule_id == "jp-shortened-interval-dose" and flag.infusions == list(range(4, 16))


def test_max_dose_by_interval():
    assert max_dose_mg_per_kg(8, "jp") == 10 and max_dose_mg_per_kg(6, "jp") == 6
    assert max_dose_mg_per_kg(4, "us") == 10


def test_mg_doses_are_converted_with_weight():
    # 600 mg at 55 kg = 10.9 mg/kg > 10; at 60 kg = 10 mg/kg (at the ceiling)
    reg = parse_regimen("3 mg/kg at weeks 0,2,6; 600 mg every 8 weeks from week 14 until week 30")
    assert "jp-max-dose" in ids(check_regimen(reg, 55))
    assert check_regimen(reg, 60) == []


def test_induction_not_3_mg_per_kg_and_too_close_is_a_warning():
    # Elliott 1993 (S1): 5 mg/kg at days 0, 4, 8, 12 -- a trial schedule, not the label
    flags = check_regimen(parse_regimen("5 mg/kg at days 0,4,8,12"), 60)
    assert {"jp-induction", "jp-induction-gap", "jp-min-interval"} <= ids(flags)
    assert all(f.severity == "warning" for f in flags if f.rule_id != "jp-min-interval")


def test_infusion_time_and_route():
    # label: infuse over at least 2 hours; JP allows shortening from the 4th infusion
    short = parse_regimen("3 mg/kg at weeks 0,2,6,14 over 60 min")
    assert check_regimen(short, 55, "jp")[0].infusions == [1, 2, 3]
    assert check_regimen(short, 55, "us")[0].infusions == [1, 2, 3, 4]
    assert "jp-route" in ids(check_regimen(parse_regimen("120 mg sc every 2 weeks"), 55))


def test_mtx_flag():
    assert mtx_flags(True) == [] and mtx_flags(False)[0].rule_id == "jp-mtx"


def test_bad_rule_set_and_weight():
    with pytest.raises(InputError, match="allowed rule sets are jp, us"):
        load_rules("eu")
    with pytest.raises(InputError, match="weight_kg"):
        check_regimen(parse_regimen("3 mg/kg at weeks 0"), 0)
