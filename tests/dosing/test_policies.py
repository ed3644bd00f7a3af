"""Policy rules at their boundaries, each citing the seed item (or paper) it encodes.

Histories are built by hand (conftest.build): infusions at given weeks from 2024-04-01,
55 kg, MTX 15 mg/week unless said otherwise. Expected doses are the published rules.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.dosing.conftest import build, week

from ifxdose.core.errors import InputError
from ifxdose.domain.dosing.label import check_infusion
from ifxdose.domain.policies import get_policy, list_policies, record

MAINT = (0, 2, 6, 14)  # four infusions given: the next is the 5th (week 22)
TO_54 = (0, 2, 6, 14, 22, 30, 38, 46)  # eight given: the next is the 9th (week 54)


def decide(name, history, today, **params):
    return get_policy(name, **params).decide(history, today)


# ---------------------------------------------------------------- registry / shape
def test_registry_has_every_seed_strategy():
    expected = {
        "label",
        "attract-3q8",
        "attract-3q4",
        "attract-10q8",
        "attract-10q4",
        "rising-3",
        "rising-6",
        "rising-10",
        "start-escalation",
        "interval-shortening",
        "nordrum-tdm",
        "mulleman-2009",
        "rrrr-programmed",
        "rrrr-standard",
    }
    assert expected <= set(list_policies())
    for name in list_policies():
        p = get_policy(name)
        assert p.name == name and p.citation and p.title


def test_unknown_policy_and_parameter():
    with pytest.raises(InputError, match="known policies"):
        get_policy("magic")
    with pytest.raises(InputError, match="policy parameters"):
        get_policy("nordrum-tdm", colour="red")


# ------------------------------------------------------------------ label / fixed
def test_label_induction_then_every_8_weeks():
    # S0: weeks 0, 2, 6 then every 8 weeks; 3 mg/kg x 55 kg = 165 mg = 2 vials (35 mg wasted)
    h = build(weeks=(0,))
    d = decide("label", h, week(1))
    assert (d.action, d.date, d.dose_mg, d.vials, d.wasted_mg) == ("infuse", week(2), 165.0, 2, 35.0)
    d = decide("label", build(weeks=(0, 2)), week(3))
    assert d.date == week(6)
    d = decide("label", build(weeks=MAINT), week(15))
    assert (d.date, d.interval_weeks, d.flags) == (week(22), 8.0, [])


def test_overdue_infusion_is_dated_today():
    d = decide("label", build(weeks=MAINT), week(23))
    assert d.date == week(23) and "overdue" in d.rationale


def test_first_infusion_needs_a_weight_and_is_today():
    h = build(weeks=(0,))
    d = decide("label", h.model_copy(update={"infusions": []}), week(0))
    assert d.date == week(0) and d.infusion_number == 1
    with pytest.raises(InputError, match="weights"):
        decide("label", h.model_copy(update={"weights": []}), week(1))


def test_no_mtx_is_flagged():
    # S0: MTX co-administration is required
    d = decide("label", build(weeks=MAINT, mtx_mg_week=None), week(15))
    assert "jp-mtx" in {f.rule_id for f in d.flags}
    d = decide("label", build(weeks=MAINT, mtx_mg_week=0), week(15))
    assert "jp-mtx" in {f.rule_id for f in d.flags}


def test_attract_10q4_is_flagged_by_the_jp_label_not_the_us():
    # S4 arm 10 mg/kg every 4 weeks: JP label limits a shortened interval to 6 mg/kg
    h = build(weeks=(0, 2, 6), mg_per_kg=[10, 10, 10])
    jp = decide("attract-10q4", h, week(7))
    assert jp.dose_mg_per_kg == 10 and jp.date == week(10)
    assert "jp-shortened-interval-dose" in {f.rule_id for f in jp.flags if f.severity == "violation"}
    us = decide("attract-10q4", h, week(7), rules="us")
    assert not [f for f in us.flags if f.severity == "violation"]


def test_trial_arm_stops_when_complete():
    # Assumption documented: ATTRACT arms until week 50; q8w has 8 infusions (0..46)
    d = decide("attract-3q8", build(weeks=TO_54), week(50))
    assert d.action == "stop"


@pytest.mark.parametrize("arm, dose", [("rising-3", 3), ("rising-6", 6), ("rising-10", 10)])
def test_rising_arms_from_week_14(arm, dose):
    # S11: 3 mg/kg at 0, 2, 6; randomised dose every 8 weeks from week 14
    d = decide(arm, build(weeks=(0, 2, 6)), week(7))
    assert (d.dose_mg_per_kg, d.date) == (dose, week(14))


# ---------------------------------------------------------------- START (S5)
def start_history(current_tjc_sjc, extra=()):
    # baseline TJC 6 + SJC 4 = 10 (week -1); visit at week 22
    return build(
        weeks=MAINT,
        assessments=[{"week": -1, "tjc28": 6, "sjc28": 4}, *extra, {"week": 22, "tjc28": current_tjc_sjc, "sjc28": 0}],
    )


@pytest.mark.parametrize(
    "now, dose",
    [
        (8, 3.0),  # (10 - 8) / 10 = exactly 20 %: a response ("improve by at least 20%"), no escalation
        (9, 4.5),  # 10 %: primary non-response, +1.5 mg/kg
    ],
)
def test_start_primary_non_response_boundary_20_percent(now, dose):
    d = decide("start-escalation", start_history(now), week(22))
    assert d.dose_mg_per_kg == dose


@pytest.mark.parametrize(
    "now, dose",
    [
        (7, 4.5),  # best gain 6 (10 -> 4 at week 22); now gain 3: lost exactly 50 % -> flare, +1.5
        (6, 3.0),  # gain 4: lost 33 % -> no escalation
    ],
)
def test_start_secondary_non_response_boundary_50_percent(now, dose):
    h = build(
        weeks=(0, 2, 6, 14, 22),
        assessments=[
            {"week": -1, "tjc28": 6, "sjc28": 4},
            {"week": 22, "tjc28": 4, "sjc28": 0},
            {"week": 30, "tjc28": now, "sjc28": 0},
        ],
    )
    assert decide("start-escalation", h, week(30)).dose_mg_per_kg == dose


def test_start_without_visit_assessment_waits():
    h = build(weeks=MAINT, assessments=[{"week": -1, "tjc28": 6, "sjc28": 4}])
    assert decide("start-escalation", h, week(21)).action == "wait"


def test_start_no_escalation_outside_weeks_22_to_46():
    h = build(weeks=TO_54, assessments=[{"week": -1, "tjc28": 6, "sjc28": 4}, {"week": 54, "tjc28": 10, "sjc28": 0}])
    assert decide("start-escalation", h, week(54)).dose_mg_per_kg == 3.0


# ------------------------------------------------------------ interval shortening (S10)
@pytest.mark.parametrize("trough, gap", [(0.99, 6.0), (1.0, 8.0)])
def test_interval_shortening_8_to_6_weeks(trough, gap):
    # S10: prefer 8 -> 6 weeks; low = < 1 mg/L (assumption from S10/S11)
    h = build(weeks=MAINT, levels=[{"week": 14, "value_mg_l": trough}])
    d = decide("interval-shortening", h, week(15))
    assert d.interval_weeks == gap and d.date == week(14) + timedelta(weeks=gap) and d.dose_mg_per_kg == 3.0


def test_interval_shortening_stops_at_4_weeks():
    h = build(weeks=(0, 2, 6, 10, 14), levels=[{"week": 14, "value_mg_l": 0.2}])
    d = decide("interval-shortening", h, week(15))
    assert d.interval_weeks == 4.0 and "shortest" in d.rationale


# ----------------------------------------------------------------- NOR-DRUM (S13)
@pytest.mark.parametrize(
    "trough, dose",
    [
        (2.99, 7.5),  # below 3 mg/L: up one step, 6 + 1.5 (assumption: +1.5 mg/kg)
        (3.0, 6.0),  # exactly 3: in range, keep
        (8.0, 6.0),  # exactly 8: in range, keep
        (8.01, 4.5),  # above 8: down one step
    ],
)
def test_nordrum_trough_range_3_to_8_inclusive(trough, dose):
    h = build(weeks=MAINT, mg_per_kg=[3, 3, 3, 6], levels=[{"week": 14, "value_mg_l": trough}])
    assert decide("nordrum-tdm", h, week(15)).dose_mg_per_kg == dose


@pytest.mark.parametrize("titre, action", [(50.0, "switch"), (49.9, "infuse")])
def test_nordrum_ada_50_ug_per_l_stops(titre, action):
    # S13: anti-drug antibodies >= 50 ug/L -> recommend stopping
    h = build(
        weeks=MAINT,
        levels=[{"week": 14, "value_mg_l": 4.0}],
        ada=[{"week": 14, "result": "positive", "titre": titre, "titre_unit": "ug/L"}],
    )
    assert decide("nordrum-tdm", h, week(15)).action == action


def test_nordrum_positive_ada_without_ug_l_titre_is_flagged():
    h = build(
        weeks=MAINT,
        levels=[{"week": 14, "value_mg_l": 4.0}],
        ada=[{"week": 14, "result": "positive", "titre": 12, "titre_unit": "AU/mL"}],
    )
    d = decide("nordrum-tdm", h, week(15))
    assert d.action == "infuse" and any("AU/mL" in w and "50 µg/L" in w for w in d.warnings)


def test_nordrum_below_lloq():
    low = build(weeks=MAINT, levels=[{"week": 14, "below_lloq": True, "lloq_mg_l": 0.4}])
    assert decide("nordrum-tdm", low, week(15)).dose_mg_per_kg == 4.5
    vague = build(weeks=MAINT, levels=[{"week": 14, "below_lloq": True, "lloq_mg_l": 5.0}])
    assert decide("nordrum-tdm", vague, week(15)).action == "wait"


def test_nordrum_no_trough_waits_and_ceiling_respected():
    assert decide("nordrum-tdm", build(weeks=MAINT), week(15)).action == "wait"
    # at 10 mg/kg q8w (JP ceiling) with a low trough: shortening would need <= 6 mg/kg -> keep
    h = build(weeks=MAINT, mg_per_kg=[3, 3, 3, 10], levels=[{"week": 14, "value_mg_l": 1.0}])
    d = decide("nordrum-tdm", h, week(15))
    assert (d.dose_mg_per_kg, d.interval_weeks) == (10, 8.0) and "limits" in d.rationale


# ----------------------------------------------------------------- Mulleman 2009
REMISSION = {"tjc28": 0, "sjc28": 0, "crp_mg_l": 1.0, "ptga_mm": 0}  # DAS28-CRP ~1.21 < 2.6
ACTIVE = {"tjc28": 10, "sjc28": 8, "crp_mg_l": 30.0, "ptga_mm": 70}  # DAS28-CRP > 5


@pytest.mark.parametrize(
    "trough, control, action, dose",
    [
        (1.99, None, "infuse", 6.0),  # < 2: increase (acceptable control when no DAS28)
        (2.0, None, "infuse", 4.5),  # exactly 2: medium band, keep
        (7.99, REMISSION, "infuse", 4.5),  # medium, optimal: keep
        (8.0, REMISSION, "infuse", 3.0),  # exactly 8: high band, optimal control: decrease
        (8.0, ACTIVE, "switch", None),  # high with inadequate control: switch
    ],
)
def test_mulleman_table_boundaries(trough, control, action, dose):
    assessments = [] if control is None else [{"week": 14, **control}]
    h = build(
        weeks=MAINT, mg_per_kg=[3, 3, 3, 4.5], levels=[{"week": 14, "value_mg_l": trough}], assessments=assessments
    )
    d = decide("mulleman-2009", h, week(15))
    assert (d.action, d.dose_mg_per_kg) == (action, dose)


def test_mulleman_ceiling_7_5_mg_per_kg():
    # Mulleman 2009: no increase at >= 7.5 mg/kg or an interval <= 4 weeks
    h = build(weeks=MAINT, mg_per_kg=[3, 3, 3, 7.5], levels=[{"week": 14, "value_mg_l": 0.5}])
    assert decide("mulleman-2009", h, week(15)).dose_mg_per_kg == 7.5
    h = build(weeks=MAINT, mg_per_kg=[3, 3, 3, 6.5], levels=[{"week": 14, "value_mg_l": 0.5}])
    assert decide("mulleman-2009", h, week(15)).dose_mg_per_kg == 7.5  # 6.5 + 1.5 capped at 7.5


# ---------------------------------------------------------------------- RRRR (S15)
@pytest.mark.parametrize(
    "tnf, week14, week22",
    [
        (0.549, 3.0, 3.0),  # low < 0.55 pg/mL: 3 mg/kg q8w
        (0.55, 6.0, 6.0),  # exactly 0.55: intermediate, 6 mg/kg q8w
        (1.649, 6.0, 6.0),
        (1.65, 6.0, 10.0),  # exactly 1.65: high, 6 at week 14 then 10 mg/kg from week 22
    ],
)
def test_rrrr_tnf_boundaries(tnf, week14, week22):
    assert decide("rrrr-programmed", build(weeks=(0, 2, 6), tnf=tnf), week(7)).dose_mg_per_kg == week14
    assert decide("rrrr-programmed", build(weeks=MAINT, tnf=tnf), week(15)).dose_mg_per_kg == week22


def sdai_history(crp_mg_l):
    # SDAI = TJC 1 + SJC 0 + PtGA 1.0 cm + PhGA 1.0 cm + CRP (mg/dL)
    return build(
        weeks=TO_54,
        tnf=0.3,
        assessments=[{"week": 54, "tjc28": 1, "sjc28": 0, "ptga_mm": 10, "phga_mm": 10, "crp_mg_l": crp_mg_l}],
    )


@pytest.mark.parametrize(
    "crp_mg_l, inclusive, action",
    [
        (3.0, True, "stop"),  # SDAI = 3.3 exactly: remission (Felson 2011 <= 3.3), stop at week 54
        (4.0, True, "infuse"),  # SDAI = 3.4
        (3.0, False, "infuse"),  # the seed's "< 3.3" reading: 3.3 does not stop
        (2.0, False, "stop"),  # SDAI = 3.2 < 3.3
    ],
)
def test_rrrr_week54_sdai_stop_boundary(crp_mg_l, inclusive, action):
    d = decide("rrrr-programmed", sdai_history(crp_mg_l), week(54), sdai_stop_inclusive=inclusive)
    assert d.action == action


def test_rrrr_standard_arm_and_missing_tnf():
    assert decide("rrrr-standard", build(weeks=MAINT), week(15)).dose_mg_per_kg == 3.0
    with pytest.raises(InputError, match="baseline_tnf_pg_ml"):
        decide("rrrr-programmed", build(weeks=MAINT), week(15))
    h = build(weeks=TO_54, tnf=0.3)
    assert decide("rrrr-programmed", h, week(54)).action == "wait"  # no SDAI at week 54


# --------------------------------------------------- the label is never broken silently
@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(["nordrum-tdm", "mulleman-2009", "interval-shortening", "start-escalation"]),
    dose=st.sampled_from([3.0, 4.5, 6.0, 7.5, 10.0]),
    gap=st.sampled_from([4, 6, 8]),
    trough=st.floats(0, 20),
    rules=st.sampled_from(["jp", "us"]),
)
def test_adaptive_policies_propose_only_what_the_label_allows(name, dose, gap, trough, rules):
    weeks = (0, 2, 6, 6 + gap)
    h = build(
        weeks=weeks,
        mg_per_kg=[3, 3, 3, dose],
        levels=[{"week": 6 + gap, "value_mg_l": trough}],
        assessments=[{"week": -1, "tjc28": 6, "sjc28": 4}, {"week": 6 + gap, "tjc28": 9, "sjc28": 0}],
    )
    d = get_policy(name, rules=rules).decide(h, week(6 + gap))
    if d.dose_mg_per_kg is None:
        return
    violations = [f for f in check_infusion(5, d.dose_mg_per_kg, d.interval_weeks, rules) if f.severity == "violation"]
    # whatever the label forbids shows in the decision's own flags
    assert {f.rule_id for f in violations} <= {f.rule_id for f in d.flags}
    started_legal = not check_infusion(4, dose, gap, rules)
    if started_legal:
        assert not violations


def test_record_closes_the_loop():
    h = build(weeks=(0,))
    d = decide("label", h, week(1))
    h2 = record(h, d)
    assert len(h2.infusions) == 2 and decide("label", h2, week(3)).date == week(6)
