"""Continuous endpoints of the virtual patients (issue 12): ACR-N, ACR70, DAS28 over time, EULAR.

The calibrated response model is a logistic latent-variable model: a patient is an ACR-x responder on
day d when ``logit u < intercept_x + drug(d)``, with ``drug = Emax Ce_eff / (EC50 + Ce_eff)`` and one
latent ``u`` per patient (engine). Write the patient's latent improvement as
``z = drug - logit u``; then ACR20 <=> z >= -intercept_acr20 and ACR50 <=> z >= -intercept_acr50.

ACR-N (the percentage improvement the ACR20/50/70 thresholds cut) is the improvement at which the
thresholds sit on this scale. Assumption: the threshold's position is linear in the percentage, so

    ACR-N(z) = 20 + 30 (z - z20) / (z50 - z20),    z20 = -intercept_acr20, z50 = -intercept_acr50,

clipped to [-100, 100] %; ACR70 <=> ACR-N >= 70 (an extrapolation of the two calibrated thresholds, not
fitted to any ACR70 figure). Assumption: the tender and swollen joint counts, the patient global and the
ESR improve by the patient's ACR-N fraction (counts rounded to whole joints) times each part's excess from
the spread of ACR-N's parts (component_gaps, session 6; sigma from validation/fit_joint_counts.py): the
joint counts their own parts, the patient global and ESR the other five's part; CRP follows the drug
(engine.crp_course) when inflammation over time is on, else it also improves by the ACR-N fraction.
DAS28 (ESR and CRP, 4 variables; das-score.nl formulas, as :mod:`ifxdose.domain.scores.das28`) is
computed from those components, and EULAR response with the project's own rule
(:func:`ifxdose.domain.scores.eular.classify_response` on DAS28 rounded half-up to 2 decimals).
Because ACR-N is the *smallest* of the core-set improvements, scaling every component by it alone (sigma 0)
is conservative: simulated DAS28 falls less than in patients whose parts improve more than their limiting
part (docs/trials.md, "Joint counts beyond ACR-N").
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import integrate
from scipy.special import logit
from scipy.stats import norm

from ifxdose.domain.scores._exact import dec, round_half_up
from ifxdose.domain.scores.eular import classify_response

FloatArray = npt.NDArray[np.float64]

#: Assumption: ESR cannot fall below 2 mm/h and CRP below 0.3 mg/L (as engine.CRP_FLOOR_MG_L).
ESR_FLOOR_MM_H = 2.0
CRP_FLOOR_MG_L = 0.3


def latent_improvement(drug_logit: FloatArray, response_u: FloatArray) -> FloatArray:
    """z = drug - logit(u) (P,): the patient's position on the response model's logit scale."""
    u = np.clip(np.asarray(response_u, dtype=float), 1e-12, 1 - 1e-12)
    return np.asarray(np.asarray(drug_logit, dtype=float) - logit(u), dtype=float)


def acr_n_pct(z: FloatArray, intercept_acr20: float, intercept_acr50: float) -> FloatArray:
    """ACR-N in % (P,) from the latent improvement (module docstring), clipped to [-100, 100]."""
    z20, z50 = -intercept_acr20, -intercept_acr50
    if not z50 > z20:
        raise ValueError("intercept_acr50 must be below intercept_acr20 (ACR50 is rarer than ACR20)")
    return np.clip(20.0 + 30.0 * (np.asarray(z, dtype=float) - z20) / (z50 - z20), -100.0, 100.0)


def latent_for_acr_n(acr_n_pct_value: float, intercept_acr20: float, intercept_acr50: float) -> float:
    """The latent improvement z at which ACR-N equals ``acr_n_pct_value`` (the inverse of :func:`acr_n_pct`
    inside its clip range)."""
    z20, z50 = -intercept_acr20, -intercept_acr50
    if not z50 > z20:
        raise ValueError("intercept_acr50 must be below intercept_acr20 (ACR50 is rarer than ACR20)")
    if not -100.0 < acr_n_pct_value < 100.0:
        raise ValueError("ACR-N must be inside (-100, 100) % to be inverted")
    return float(z20 + (acr_n_pct_value - 20.0) * (z50 - z20) / 30.0)


#: Within-patient (occasion-to-occasion) variation of a 28-joint count (issue 12). Uhlig, Kvien & Pincus,
#: Ann Rheum Dis 2009;68:972 (28 stable RA patients, two complete assessments within one week): the smallest
#: detectable differences of all seven core-set measures were 10-15 % of each measure's maximum (MDC%).
#: Assumption: SDD = 12.5 % (the midpoint) of 28 joints for the tender and for the swollen count, so the
#: standard error of one assessment is SDD / (1.96 sqrt 2) = 1.26 joints; additive, normal, independent between
#: the two counts and between occasions, on the count the patient's improvement gives, rounded to whole joints
#: and clipped to [0, 28]. A week's test-retest is a lower bound for 8 weeks between visits (disease also
#: fluctuates). Nothing is fitted to it. Cross-check between consecutive routine visits months apart: Madsen,
#: Clin Rheumatol 2016;35:2403 (DANBIO, 233 RA patients on biologics with DAS28-CRP changed <= 0.6), SJC28 95 %
#: limits of agreement -3.3 to 3.3, i.e. 3.3 / (1.96 sqrt 2) = 1.19 joints per visit (selected for stability,
#: so also a lower bound).
JOINT_COUNT_SDD_FRACTION = 0.125
JOINT_COUNT_MAX = 28
JOINT_COUNT_SEM = JOINT_COUNT_SDD_FRACTION * JOINT_COUNT_MAX / (1.959963984540054 * np.sqrt(2.0))


#: The three parts of ACR-N (Felson 1995 definition as used by ASPIRE, St Clair 2004): ACR-N = min(%dTJC, %dSJC,
#: median % improvement of the other five core-set measures). Columns of ``Cohort.component_z``.
ACR_N_PARTS = ("tjc28", "sjc28", "other_five")


def component_gaps(component_z: FloatArray) -> FloatArray:
    """Gaps g (P, 3) >= 0 of each ACR-N part (columns ACR_N_PARTS) behind the limiting one: g_c = max_j z_j - z_c.

    Component spread (issue 12, session 6). Assumption: after baseline, each part's remaining fraction
    (1 - improvement/100) is the patient's common level times exp(sigma z_c), with z_c independent standard
    normals, one set per patient (a patient trait, persistent over visits), the three parts exchangeable.
    ACR-N is the part with the *largest* remaining fraction (the smallest improvement), so a part's remaining
    fraction is ACR-N's times exp(-sigma g_c): the part that limits ACR-N has g = 0, the others a non-negative
    excess improvement. Exactly one gap per patient is 0 (almost surely)."""
    z = np.asarray(component_z, dtype=float)
    return np.asarray(z.max(axis=1, keepdims=True) - z, dtype=float)


def gap_cdf(x: float) -> float:
    """P(g_c <= x) for one part (closed form of :func:`component_gaps`' law): the part is within x of the largest
    of three i.i.d. standard normals, P = int phi(t) Phi(t + x)^2 dt for x >= 0 (1/3 at x = 0: each part limits
    ACR-N equally often); 0 for x < 0."""
    if x < 0:
        return 0.0
    value, _ = integrate.quad(lambda t: norm.pdf(t) * norm.cdf(t + x) ** 2, -np.inf, np.inf, epsabs=1e-12)
    return float(value)


def joint_count_level(
    baseline_count: FloatArray, acr_n: FloatArray, gap: FloatArray | None = None, sigma: float = 0.0
) -> FloatArray:
    """The count (P,) a patient's improvement of ``acr_n`` % gives, before the assessment's error and rounding:
    baseline * (1 - ACR-N/100) * exp(-sigma * gap) (:func:`component_gaps`; ``gap`` None or sigma 0: the joints
    improve by exactly the ACR-N fraction, the minimum the definition allows). The count's improvement is never
    below ACR-N (the definition's inequality)."""
    if not (np.isfinite(sigma) and sigma >= 0.0):
        raise ValueError("sigma must be a finite number >= 0")
    level = np.asarray(baseline_count, dtype=float) * (1.0 - np.asarray(acr_n, dtype=float) / 100.0)
    if gap is None or sigma == 0.0:
        return level
    return np.asarray(level * np.exp(-sigma * np.asarray(gap, dtype=float)), dtype=float)


def assessed_joint_count(level: FloatArray, z: FloatArray, sem: float = JOINT_COUNT_SEM) -> npt.NDArray[np.int64]:
    """One assessment (P,) of a 28-joint count: level + sem * z, rounded to whole joints, clipped to [0, 28]
    (see JOINT_COUNT_SEM); ``z`` standard normals."""
    value = np.asarray(level, dtype=float) + sem * np.asarray(z, dtype=float)
    return np.clip(np.rint(value), 0, JOINT_COUNT_MAX).astype(np.int64)


def das28_crp_array(tjc28: FloatArray, sjc28: FloatArray, crp_mg_l: FloatArray, ptga_mm: FloatArray) -> FloatArray:
    """DAS28-CRP(4) = 0.56 sqrt(TJC28) + 0.28 sqrt(SJC28) + 0.36 ln(CRP + 1) + 0.014 GH + 0.96."""
    return 0.56 * np.sqrt(tjc28) + 0.28 * np.sqrt(sjc28) + 0.36 * np.log(crp_mg_l + 1.0) + 0.014 * ptga_mm + 0.96


def das28_esr_array(tjc28: FloatArray, sjc28: FloatArray, esr_mm_h: FloatArray, ptga_mm: FloatArray) -> FloatArray:
    """DAS28-ESR(4) = 0.56 sqrt(TJC28) + 0.28 sqrt(SJC28) + 0.70 ln(ESR) + 0.014 GH."""
    return 0.56 * np.sqrt(tjc28) + 0.28 * np.sqrt(sjc28) + 0.70 * np.log(esr_mm_h) + 0.014 * ptga_mm


def components_at(
    baseline: dict[str, FloatArray],
    acr_n: FloatArray,
    crp_mg_l: FloatArray | None,
    gaps: FloatArray | None = None,
    sigma: float = 0.0,
) -> dict[str, FloatArray]:
    """Core-set components (P,) after an improvement of ``acr_n`` % (module docstring). With the spread of
    ACR-N's parts (``gaps`` (P, 3) from :func:`component_gaps`, ``sigma``; session 6) each part keeps
    (1 - ACR-N/100) exp(-sigma g) of its baseline (:func:`joint_count_level`): TJC28 and SJC28 their own part,
    the patient global and ESR the other five's part (Assumption: each improves by the median of the five,
    its own scatter around that median not modelled); without: every component keeps (1 - ACR-N/100)."""
    acr = np.asarray(acr_n, dtype=float)

    def keep(part: int) -> FloatArray:
        return joint_count_level(np.ones_like(acr), acr, None if gaps is None else gaps[:, part], sigma)

    crp = baseline["crp_mg_l"] * keep(2) if crp_mg_l is None else np.asarray(crp_mg_l, dtype=float)
    return {
        "tjc28": np.clip(np.rint(baseline["tjc28"] * keep(0)), 0, 28),
        "sjc28": np.clip(np.rint(baseline["sjc28"] * keep(1)), 0, 28),
        "ptga_mm": np.clip(baseline["ptga_mm"] * keep(2), 0, 100),
        "esr_mm_h": np.maximum(baseline["esr_mm_h"] * keep(2), ESR_FLOOR_MM_H),
        "crp_mg_l": np.maximum(crp, np.minimum(baseline["crp_mg_l"], CRP_FLOOR_MG_L)),
    }


def das28_pair(c: dict[str, FloatArray]) -> tuple[FloatArray, FloatArray]:
    """(DAS28-CRP, DAS28-ESR) (P,) of components."""
    return (
        das28_crp_array(c["tjc28"], c["sjc28"], c["crp_mg_l"], c["ptga_mm"]),
        das28_esr_array(c["tjc28"], c["sjc28"], c["esr_mm_h"], c["ptga_mm"]),
    )


def eular_response(baseline_das28: FloatArray, current_das28: FloatArray) -> npt.NDArray[np.str_]:
    """EULAR response per patient ("good" / "moderate" / "none") by the project's rule."""
    out = []
    for b, c in zip(np.asarray(baseline_das28, float), np.asarray(current_das28, float)):
        b2, c2 = round_half_up(dec(float(b)), 2), round_half_up(dec(float(c)), 2)
        out.append(classify_response(b2 - c2, c2))
    return np.array(out)
