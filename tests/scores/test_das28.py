"""DAS28: published vectors (research file §A1), hand-computed boundaries, conventions."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from ifxdose.domain.scores import das28_category, das28_crp, das28_esr


def ref_esr4(t: int, s: int, esr: float, gh: float) -> float:
    """das-score.nl formula, written out independently in float math."""
    return 0.56 * math.sqrt(t) + 0.28 * math.sqrt(s) + 0.70 * math.log(esr) + 0.014 * gh


def ref_crp4(t: int, s: int, crp: float, gh: float) -> float:
    return 0.56 * math.sqrt(t) + 0.28 * math.sqrt(s) + 0.36 * math.log(crp + 1) + 0.014 * gh + 0.96


# (tjc28, sjc28, esr, gh, expected display, expected category or None, source)
ESR_VECTORS = [
    (4, 5, 7, 50, "3.81", None, "fragla/rheumtools tests/testthat/test-das.R"),
    (5, 6, 8, 51, "4.11", None, "fragla/rheumtools tests/testthat/test-das.R"),
    (4, 5, 44, 12, "4.56", None, "RheumaComposites.jl test/types/das28.jl (4s-dawn.com)"),
    (4, 4, 25, 50, "4.63", "moderate", "Elucenia/tool-das28 documented-result-examples.json"),
    (0, 0, 10, 10, "1.75", "remission", "Elucenia/tool-das28 documented-result-examples.json"),
    (16, 9, 64, 80, "7.11", "high", "Elucenia/tool-das28 documented-result-examples.json"),
    (0, 0, 2, 8, "0.60", "remission", "RheumaComposites.jl test (remission only)"),
]
CRP_VECTORS = [
    (4, 5, 7, 50, "4.15", None, "fragla/rheumtools tests/testthat/test-das.R"),
    (5, 6, 8, 51, "4.40", None, "fragla/rheumtools tests/testthat/test-das.R"),
    (4, 5, 44, 12, "4.24", None, "RheumaComposites.jl test/types/das28.jl"),
    (4, 4, 9, 50, "4.17", "moderate", "Elucenia/tool-das28 documented-result-examples.json"),
    (0, 0, 2, 8, "1.47", "remission", "RheumaComposites.jl test (remission only)"),
]


@pytest.mark.parametrize("t,s,esr,gh,shown,category,source", ESR_VECTORS)
def test_das28_esr_published(t, s, esr, gh, shown, category, source):
    result = das28_esr(tjc28=t, sjc28=s, esr_mm_h=esr, ptga_mm=gh)
    assert result.display == shown, source
    assert result.value == pytest.approx(ref_esr4(t, s, esr, gh), abs=1e-12)
    assert result.measure == "DAS28-ESR(4)"
    if category:
        assert result.category == category


@pytest.mark.parametrize("t,s,crp,gh,shown,category,source", CRP_VECTORS)
def test_das28_crp_published(t, s, crp, gh, shown, category, source):
    result = das28_crp(tjc28=t, sjc28=s, crp_mg_l=crp, ptga_mm=gh)
    assert result.display == shown, source
    assert result.value == pytest.approx(ref_crp4(t, s, crp, gh), abs=1e-12)
    if category:
        assert result.category == category


def test_three_variable_forms_hand_computed():
    # No published vector exists (research §A1). Hand calculation, das-score.nl formula:
    # ESR(3): [0.56*2 + 0.28*sqrt(5) + 0.70*ln 7]*1.08 + 0.16
    #       = [1.12 + 0.626099 + 1.362137]*1.08 + 0.16 = 3.108236*1.08 + 0.16 = 3.516895
    # (research §A1 self-check: 3.5169)
    esr3 = das28_esr(tjc28=4, sjc28=5, esr_mm_h=7)
    assert esr3.measure == "DAS28-ESR(3)"
    assert esr3.value == pytest.approx(3.516895, abs=2e-6)
    assert esr3.display == "3.52"
    # CRP(3): [1.12 + 0.626099 + 0.36*ln 8]*1.10 + 1.15 = [1.746099 + 0.748599]*1.1 + 1.15
    #       = 2.494698*1.1 + 1.15 = 3.894168 (research §A1 self-check: 3.8942)
    crp3 = das28_crp(tjc28=4, sjc28=5, crp_mg_l=7)
    assert crp3.measure == "DAS28-CRP(3)"
    assert crp3.value == pytest.approx(3.894168, abs=2e-6)


@pytest.mark.parametrize(
    "value,category",
    [
        # fragla/rheumtools test-das.R classification vectors
        (1.80, "remission"),
        (3.13, "low"),
        (4.25, "moderate"),
        (5.11, "high"),
        # RheumaComposites.jl boundary vectors
        (2.59, "remission"),
        (2.61, "low"),
        (3.19, "low"),
        (3.21, "moderate"),
        (5.09, "moderate"),
        (5.11, "high"),
        # exact cut-offs, ACR/EULAR 2011 Table 3: <2.6 remission, <=3.2 low, <=5.1 moderate
        (2.6, "low"),
        (3.2, "low"),
        (5.1, "moderate"),
    ],
)
def test_category_vectors_and_edges(value, category):
    assert das28_category(value) == category


def test_das_score_nl_puts_exactly_3_2_in_moderate():
    # das-score.nl: "low disease activity <3.2"
    assert das28_category(3.2, "das-score-nl") == "moderate"
    assert das28_category(3.19, "das-score-nl") == "low"


@pytest.mark.parametrize(
    "value,category",
    [
        (2.39, "remission"),
        (2.4, "low"),
        (2.9, "low"),
        (2.91, "moderate"),
        (4.6, "moderate"),
        (4.61, "high"),
    ],
)
def test_fleischmann_crp_cutoffs(value, category):
    assert das28_category(value, "crp-fleischmann-2017") == category


def test_exact_tie_at_3_2_from_inputs():
    # 0.56*sqrt(4) + 0.28*sqrt(4) + 0.36*ln(0+1) + 0.014*40 + 0.96
    # = 1.12 + 0.56 + 0 + 0.56 + 0.96 = 3.20 exactly.
    result = das28_crp(tjc28=4, sjc28=4, crp_mg_l=0, ptga_mm=40)
    assert result.decided_on == "3.20"
    assert result.category == "low"
    assert das28_crp(tjc28=4, sjc28=4, crp_mg_l=0, ptga_mm=40, cutoffs="das-score-nl").category == "moderate"


@pytest.mark.parametrize(
    "esr,gh,unrounded,shown,category",
    [
        # 0.70*ln 15 + 0.014*50 = 1.895635 + 0.7 = 2.595635 -> 2.60: low, not remission
        (15, 50, 2.595635, "2.60", "low"),
        # 0.70*ln 13 + 1.4 = 1.795465 + 1.4 = 3.195465 -> 3.20: low
        (13, 100, 3.195465, "3.20", "low"),
        # 0.70*ln 16 + 1.26 = 1.940812 + 1.26 = 3.200812 -> 3.20: low (unrounded would be moderate)
        (16, 90, 3.200812, "3.20", "low"),
    ],
)
def test_category_is_decided_on_the_displayed_two_decimal_value(esr, gh, unrounded, shown, category):
    result = das28_esr(tjc28=0, sjc28=0, esr_mm_h=esr, ptga_mm=gh)
    assert result.value == pytest.approx(unrounded, abs=2e-6)
    assert result.display == shown
    assert result.category == category


def test_half_up_rounding_of_an_exact_tie():
    # tjc=sjc=0, ESR=1 (ln 1 = 0), GH=37.5: 0.014*37.5 = 0.525 exactly -> 0.53 (half up)
    result = das28_esr(tjc28=0, sjc28=0, esr_mm_h=1, ptga_mm=37.5)
    assert result.decided_on == "0.53"
    assert das28_category(Decimal("2.595")) == "low"  # 2.595 -> 2.60


def test_units_convert_exactly():
    # 5.0 cm == 50 mm; 0.7 mg/dL == 7 mg/L
    assert das28_crp(tjc28=4, sjc28=5, crp_mg_dl=0.7, ptga_cm=5).display == "4.15"
