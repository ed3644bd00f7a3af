"""SDAI / CDAI: published vectors (research §A2) and exact cut-off edges."""

from __future__ import annotations

import pytest

from ifxdose.domain.scores import cdai, sdai


@pytest.mark.parametrize(
    "t,s,pt,ph,crp,value,category,source",
    [
        (4, 5, 5, 6, 7, 27, "high", "fragla/rheumtools tests/testthat/test-sdai.R"),
        (5, 6, 6, 7, 8, 32, "high", "fragla/rheumtools tests/testthat/test-sdai.R"),
        (1, 0, 1, 0, 0.1, 2.1, "remission", "RheumaComposites.jl HEAD test/types/sdai.jl (MDCalc)"),
        (3, 4, 4, 4, 5, 20, "moderate", "RheumaComposites.jl (not remission)"),
    ],
)
def test_sdai_published(t, s, pt, ph, crp, value, category, source):
    result = sdai(tjc28=t, sjc28=s, ptga_cm=pt, phga_cm=ph, crp_mg_dl=crp)
    assert result.value == pytest.approx(value), source
    assert result.category == category


@pytest.mark.parametrize(
    "t,s,pt,ph,value,category,source",
    [
        (4, 5, 5, 6, 20, "moderate", "fragla/rheumtools tests/testthat/test-cdai.R"),
        (1, 0, 1, 0, 2, "remission", "RheumaComposites.jl test/types/cdai.jl"),
    ],
)
def test_cdai_published(t, s, pt, ph, value, category, source):
    result = cdai(tjc28=t, sjc28=s, ptga_cm=pt, phga_cm=ph)
    assert result.value == pytest.approx(value), source
    assert result.category == category


@pytest.mark.parametrize(
    "crp,category",
    [
        # 0 + 0 + 1.1 + 1.0 + crp; Felson 2011: remission <=3.3, low <=11, moderate <=26
        (1.2, "remission"),  # 3.3 exactly; in floats 1.1 + 1.0 + 1.2 = 3.3000000000000003
        (1.3, "low"),  # 3.4 (rheumtools' 0-dp rounding would call 3.4 "3", remission)
    ],
)
def test_sdai_remission_edge_is_exact(crp, category):
    assert sdai(tjc28=0, sjc28=0, ptga_cm=1.1, phga_cm=1.0, crp_mg_dl=crp).category == category


@pytest.mark.parametrize(
    "total_parts,category",
    [
        ((5, 3, 1.5, 1.5), "low"),  # 11 -> low (<=11)
        ((5, 3, 1.5, 1.6), "moderate"),  # 11.1
        ((10, 10, 3, 3), "moderate"),  # 26 -> moderate (<=26)
        ((10, 10, 3, 3.1), "high"),  # 26.1
    ],
)
def test_sdai_upper_edges(total_parts, category):
    t, s, pt, ph = total_parts
    assert sdai(tjc28=t, sjc28=s, ptga_cm=pt, phga_cm=ph, crp_mg_dl=0).category == category


@pytest.mark.parametrize(
    "pt,ph,t,category",
    [
        (1.4, 1.4, 0, "remission"),  # 2.8 exactly (1.4 + 1.4 = 2.8 in Decimal)
        (1.4, 1.5, 0, "low"),  # 2.9
        (2.79, 0, 0, "remission"),
        (2.81, 0, 0, "low"),  # RheumaComposites.jl edges
        (5, 5, 0, "low"),
        (5, 5.01, 0, "moderate"),  # 10 / 10.01
        (5, 5, 12, "moderate"),
        (5, 5.01, 12, "high"),  # 22 / 22.01
    ],
)
def test_cdai_edges(pt, ph, t, category):
    assert cdai(tjc28=t, sjc28=0, ptga_cm=pt, phga_cm=ph).category == category


def test_sdai_accepts_mg_l_and_mm_exactly():
    # CRP 3 mg/L = 0.3 mg/dL; 10 mm = 1 cm; 0+0+1+2+0.3 = 3.3 -> remission
    result = sdai(tjc28=0, sjc28=0, ptga_mm=10, phga_mm=20, crp_mg_l=3)
    assert result.display == "3.3"
    assert result.category == "remission"
