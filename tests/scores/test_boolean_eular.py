"""Boolean remission (research §A6) and EULAR response (research §A4)."""

from __future__ import annotations

import pytest

from ifxdose.domain.scores import boolean_remission, eular_response


def test_boolean_published_vector():
    # RheumaComposites.jl HEAD test/types/boolean.jl: 2011 no, 2022 yes
    args = dict(tjc28=1, sjc28=0, ptga_cm=1.4, crp_mg_dl=0.4)
    assert boolean_remission(**args).remission is False
    assert boolean_remission(**args, version="2022").remission is True


def test_boolean_edges_inclusive():
    # every item exactly at its limit: 2011 fails only on PtGA 2.0 > 1; 2022 passes
    args = dict(tjc28=1, sjc28=1, ptga_cm=2.0, crp_mg_dl=1.0)
    result = boolean_remission(**args)
    assert [i.met for i in result.items] == [True, True, True, False]
    assert boolean_remission(**args, version="2022").remission is True


def test_boolean_crp_in_mg_l_converted_exactly():
    # 10 mg/L = 1 mg/dL (met); 11 mg/L = 1.1 mg/dL (not met, either version)
    assert boolean_remission(tjc28=0, sjc28=0, ptga_mm=10, crp_mg_l=10).remission is True
    for version in ("2011", "2022"):
        assert boolean_remission(tjc28=0, sjc28=0, ptga_mm=10, crp_mg_l=11, version=version).remission is False


def test_boolean_joint_counts():
    assert boolean_remission(tjc28=2, sjc28=0, ptga_cm=0, crp_mg_dl=0).remission is False


@pytest.mark.parametrize(
    "baseline,current,expected,source",
    [
        (5.21, 1.80, "good", "fragla/rheumtools test-das.R"),
        (4.2, 3.2, "moderate", "fragla/rheumtools test-das.R"),
        (3.1, 2.9, "none", "fragla/rheumtools test-das.R"),
        (4.3, 3.3, "moderate", "fragla/rheumtools test-das.R"),
        (4.0, 3.3, "moderate", "fragla/rheumtools test-das.R"),
        (4.4, 4.2, "none", "fragla/rheumtools test-das.R"),
        (7.46, 6.19, "moderate", "fragla/rheumtools test-das.R"),
        (7.43, 6.81, "none", "fragla/rheumtools test-das.R"),
        (7.19, 6.70, "none", "fragla/rheumtools test-das.R"),
        (3.64, 2.64, "moderate", "fragla/acreular test-response-ra.R"),
        (2.64, 2.55, "none", "fragla/acreular test-response-ra.R"),
        (5.50, 3.3, "moderate", "fragla/acreular test-response-ra.R"),
        (4.71, 4.60, "none", "fragla/acreular test-response-ra.R"),
        (6.57, 5.21, "moderate", "fragla/acreular test-response-ra.R"),
        (6.00, 5.35, "none", "fragla/acreular test-response-ra.R"),
        (6.23, 6.05, "none", "fragla/acreular test-response-ra.R"),
        # The float trap: improvement is exactly 1.20, not > 1.2. The package expects "good"
        # (a float artefact, research §A4); by the definition it is moderate.
        (3.64, 2.44, "moderate", "research §A4 pitfall, corrected"),
    ],
)
def test_eular_published(baseline, current, expected, source):
    assert eular_response(baseline_das28=baseline, current_das28=current).response == expected, source


@pytest.mark.parametrize(
    "baseline,current,expected",
    [
        # hand-built matrix edges (van Riel; ARD table): rows current <=3.2 / <=5.1 / >5.1
        (4.41, 3.2, "good"),  # 1.21 > 1.2 and current 3.2 <= 3.2
        (4.4, 3.2, "moderate"),  # exactly 1.2
        (4.41, 3.21, "moderate"),  # 1.2 and current above 3.2
        (3.8, 3.2, "none"),  # exactly 0.6 -> none
        (3.81, 3.2, "moderate"),  # 0.61
        (6.31, 5.1, "moderate"),  # 1.21, current 5.1 (not high)
        (6.3, 5.1, "moderate"),  # 1.2, current 5.1 is not >5.1
        (6.31, 5.11, "none"),  # 1.2, current 5.11 > 5.1 -> none
        (6.32, 5.11, "moderate"),  # 1.21 > 1.2 even when high
        (5.71, 5.11, "none"),  # 0.6
        (3.0, 3.5, "none"),  # worsening
    ],
)
def test_eular_boundaries(baseline, current, expected):
    assert eular_response(baseline_das28=baseline, current_das28=current).response == expected


def test_eular_reports_exact_improvement():
    result = eular_response(baseline_das28=3.64, current_das28=2.44)
    assert result.improvement_display == "1.20"
    assert result.improvement == 1.2
