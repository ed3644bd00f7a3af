"""assess(): all computable measures; bad input names the field and its range."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ifxdose.core.errors import InputError
from ifxdose.domain import scores
from ifxdose.domain.scores import assess, cdai, das28_crp, das28_esr, sdai


def test_assess_computes_what_is_given():
    result = assess({"tjc28": 4, "sjc28": 5, "crp_mg_l": 7, "ptga_mm": 50})
    assert result.das28_crp.display == "4.15"  # fragla/rheumtools vector
    assert result.das28_esr is None and result.sdai is None and result.cdai is None
    assert result.boolean_2011.remission is False


def test_assess_full_visit_and_responses():
    visit = dict(tjc28=4, sjc28=5, crp_mg_dl=0.7, ptga_cm=5, phga_cm=6, esr_mm_h=7)
    # baseline DAS28-CRP: hand inputs chosen as the fragla (5, 6, CRP 8, GH 51) vector, 4.40
    base = dict(tjc28=5, sjc28=6, crp_mg_l=8, ptga_mm=51, esr_mm_h=8)
    result = assess(visit, baseline=base)
    assert result.sdai.value == pytest.approx(4 + 5 + 5 + 6 + 0.7)
    assert result.cdai.value == 20
    assert result.das28_esr.display == "3.81"
    # 4.40 -> 4.15: improvement 0.25 <= 0.6 -> none; ESR 4.11 -> 3.81: 0.30 -> none
    assert result.eular_crp.response == "none" and result.eular_crp.improvement_display == "0.25"
    assert result.eular_esr.response == "none"
    assert result.acr is None and result.mtss_change is None


def test_assess_acr_and_mtss_from_two_visits():
    base = dict(tjc68=12, sjc66=8, ptga_mm=50, pain_mm=35, phga_mm=60, haq_di=0.85, crp_mg_l=15, mtss=10)
    follow = dict(tjc68=7, sjc66=4, ptga_mm=20, pain_mm=25, phga_mm=30, haq_di=0.35, crp_mg_l=10, mtss=12)
    result = assess(follow, baseline=base)
    assert result.acr.level == 20 and result.acr_n.display == "41.7"
    assert result.mtss_change.change == 2


def test_assess_joint_lists_give_counts():
    result = assess(
        {"tender_joints": ["left_knee", "right_knee"], "swollen_joints": [], "sjc28": 0, "esr_mm_h": 1, "ptga_mm": 0}
    )
    # 0.56*sqrt(2) + 0 + 0.70*ln 1 + 0 = 0.791960
    assert result.das28_esr.display == "0.79"
    with pytest.raises(ValidationError, match="tjc28"):
        assess({"tender_joints": ["left_knee"], "tjc28": 3, "sjc28": 0, "esr_mm_h": 1})


def test_import_path():
    assert scores.das28_crp is das28_crp


@pytest.mark.parametrize(
    "call,field,allowed",
    [
        (lambda: das28_esr(tjc28=-1, sjc28=0, esr_mm_h=10), "tjc28", "[0, 28]"),
        (lambda: das28_esr(tjc28=29, sjc28=0, esr_mm_h=10), "tjc28", "[0, 28]"),
        (lambda: das28_esr(tjc28=0, sjc28=29, esr_mm_h=10), "sjc28", "[0, 28]"),
        (lambda: das28_esr(tjc28=0, sjc28=0, esr_mm_h=0), "esr_mm_h", "[1, 200] mm/h"),
        (lambda: das28_esr(tjc28=0, sjc28=0, esr_mm_h=-5), "esr_mm_h", "[1, 200] mm/h"),
        (lambda: das28_esr(tjc28=0, sjc28=0, esr_mm_h=5, ptga_mm=101), "ptga_mm", "[0, 100] mm"),
        (lambda: das28_esr(tjc28=0, sjc28=0, esr_mm_h=5, ptga_mm=-1), "ptga_mm", "[0, 100] mm"),
        (lambda: cdai(tjc28=0, sjc28=0, ptga_cm=10.5, phga_cm=1), "ptga_cm", "[0, 10] cm"),
        (lambda: cdai(tjc28=0, sjc28=0, ptga_cm=1, phga_cm=11), "phga_cm", "[0, 10] cm"),
        (lambda: sdai(tjc28=0, sjc28=0, ptga_cm=1, phga_cm=1, crp_mg_dl=-0.1), "crp_mg_dl", "[0, 50] mg/dL"),
        (lambda: das28_crp(tjc28=1.5, sjc28=0, crp_mg_l=1), "tjc28", "whole numbers"),
        (lambda: das28_crp(tjc28=0, sjc28=0, crp_mg_l=float("nan")), "crp_mg_l", "[0, 500] mg/L"),
    ],
)
def test_bad_input_names_field_and_range(call, field, allowed):
    with pytest.raises(InputError) as info:
        call()
    assert info.value.field == field
    assert field in str(info.value) and allowed in str(info.value)


def test_crp_without_unit_is_rejected_with_the_units_to_use():
    with pytest.raises(InputError, match=r"crp: .*crp_mg_l \[0, 500\] mg/L.*crp_mg_dl"):
        das28_crp(tjc28=0, sjc28=0, crp=5)
    with pytest.raises(ValidationError, match="crp_mg_l"):
        assess({"tjc28": 0, "sjc28": 0, "crp": 5})
    with pytest.raises(InputError, match="ptga"):
        cdai(tjc28=0, sjc28=0, ptga=5, phga_cm=1)


def test_missing_or_doubled_units():
    with pytest.raises(InputError, match="crp: .*required"):
        das28_crp(tjc28=0, sjc28=0)
    with pytest.raises(InputError, match="give one unit only"):
        sdai(tjc28=0, sjc28=0, ptga_cm=1, ptga_mm=10, phga_cm=1, crp_mg_dl=0)


def test_bad_core_set_is_a_validation_error_naming_the_field():
    with pytest.raises(InputError, match=r"baseline.tjc68"):
        scores.acr_response(baseline={"tjc68": 69, "sjc66": 1}, followup={"tjc68": 1, "sjc66": 1})


def test_bad_cutoff_name():
    with pytest.raises(InputError, match="cutoffs"):
        das28_crp(tjc28=0, sjc28=0, crp_mg_l=1, cutoffs="nice")
