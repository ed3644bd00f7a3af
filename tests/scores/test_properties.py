"""Property tests: monotonic in each input, bounded, exact sums."""

from __future__ import annotations

import math
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ifxdose.domain.scores import cdai, das28_crp, das28_esr, eular_response, sdai

joints = st.integers(0, 28)
vas_mm = st.floats(0, 100)
vas_cm = st.floats(0, 10)
esr = st.floats(1, 200)
crp = st.floats(0, 500)

# Bounds from the das-score.nl formulas at the corners of the allowed ranges (hand):
# ESR(4) max = 0.84*sqrt(28) + 0.70*ln 200 + 1.4 = 4.444926 + 3.708817 + 1.4 = 9.553743
ESR4_MAX = 0.84 * math.sqrt(28) + 0.70 * math.log(200) + 1.4
# CRP(4) min = 0.96 (all zero); max = 0.84*sqrt(28) + 0.36*ln 501 + 1.4 + 0.96
CRP4_MAX = 0.84 * math.sqrt(28) + 0.36 * math.log(501) + 1.4 + 0.96


@settings(max_examples=150)
@given(t=joints, s=joints, e=esr, gh=vas_mm)
def test_das28_esr_bounded(t, s, e, gh):
    value = das28_esr(tjc28=t, sjc28=s, esr_mm_h=e, ptga_mm=gh).value
    assert 0 <= value <= ESR4_MAX + 1e-9


@settings(max_examples=150)
@given(t=joints, s=joints, c=crp, gh=vas_mm)
def test_das28_crp_bounded(t, s, c, gh):
    value = das28_crp(tjc28=t, sjc28=s, crp_mg_l=c, ptga_mm=gh).value
    assert 0.96 - 1e-9 <= value <= CRP4_MAX + 1e-9


@settings(max_examples=150)
@given(t=joints, s=joints, e=esr, gh=vas_mm, which=st.sampled_from(["t", "s", "e", "gh"]), bump=st.floats(0, 50))
def test_das28_esr_monotonic(t, s, e, gh, which, bump):
    base = dict(tjc28=t, sjc28=s, esr_mm_h=e, ptga_mm=gh)
    key = {"t": "tjc28", "s": "sjc28", "e": "esr_mm_h", "gh": "ptga_mm"}[which]
    limit = {"tjc28": 28, "sjc28": 28, "esr_mm_h": 200, "ptga_mm": 100}[key]
    more = dict(base)
    more[key] = min(limit, base[key] + (int(bump) if key in ("tjc28", "sjc28") else bump))
    low, high = das28_esr(**base), das28_esr(**more)
    assert high.value >= low.value - 1e-12
    assert Decimal(high.decided_on) >= Decimal(low.decided_on)


@settings(max_examples=150)
@given(t=joints, s=joints, c=crp, gh=vas_mm, dc=st.floats(0, 100), dgh=st.floats(0, 100))
def test_das28_crp_monotonic_in_crp_and_global(t, s, c, gh, dc, dgh):
    low = das28_crp(tjc28=t, sjc28=s, crp_mg_l=c, ptga_mm=gh)
    high = das28_crp(tjc28=t, sjc28=s, crp_mg_l=min(500, c + dc), ptga_mm=min(100, gh + dgh))
    assert high.value >= low.value - 1e-12


def test_three_variable_monotonic_in_joints():
    values = [das28_crp(tjc28=n, sjc28=n, crp_mg_l=5).value for n in range(29)]
    assert values == sorted(values)


@settings(max_examples=200)
@given(t=joints, s=joints, pt=vas_cm, ph=vas_cm, c=st.floats(0, 50))
def test_sdai_cdai_are_exact_bounded_sums(t, s, pt, ph, c):
    s_result = sdai(tjc28=t, sjc28=s, ptga_cm=pt, phga_cm=ph, crp_mg_dl=c)
    c_result = cdai(tjc28=t, sjc28=s, ptga_cm=pt, phga_cm=ph)
    exact = Decimal(t) + Decimal(s) + Decimal(repr(pt)) + Decimal(repr(ph))
    assert Decimal(c_result.decided_on) == exact
    assert Decimal(s_result.decided_on) == exact + Decimal(repr(c))
    assert 0 <= c_result.value <= 76 and 0 <= s_result.value <= 126


ORDER = {"none": 0, "moderate": 1, "good": 2}


@settings(max_examples=300)
@given(b=st.floats(0, 10), c=st.floats(0, 10), d=st.floats(0, 5))
def test_eular_never_worse_with_a_higher_baseline(b, c, d):
    # a larger improvement at the same current DAS28 never gives a worse response
    low = eular_response(baseline_das28=b, current_das28=c).response
    high = eular_response(baseline_das28=min(10, b + d), current_das28=c).response
    assert ORDER[high] >= ORDER[low]


@settings(max_examples=300)
@given(b=st.integers(0, 1000), c=st.integers(0, 1000))
def test_eular_exact_on_two_decimal_inputs(b, c):
    # for values typed with 2 decimals, the improvement is their exact difference
    base, now = b / 100, c / 100
    result = eular_response(baseline_das28=base, current_das28=now)
    assert Decimal(result.improvement_display) == Decimal(b - c) / 100
