"""The shared-schedule engine (``linear.simulate_shared``: every estimation call, SIR's proposals,
the clinic plot's band) across covariate switches and infusions, against an independent
reference: the augmented matrix exponential (scipy.linalg.expm of [[K, r], [0, 0]] over each
step between events), written here from the ODE dA/dt = K A + r alone. Issue 13 rewrote the
switch's change of basis (einsum -> per-component vector products, segment-major eigenpairs):
this holds it to 1e-10 on 1-, 2- and 3-compartment models, for real parameters and for the
complex step that the MAP's gradients use."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import expm

from ifxdose.core.pk.events import ROUTE_IV, DoseTable
from ifxdose.core.pk.linear import rate_matrix, shared_schedule, simulate_shared

SEGMENT_START_DAYS = np.array([-np.inf, 10.3, 31.7, 60.2])
#: (time_days, amount_mg, duration_days): two 2-hour infusions, one overlapping a switch-free
#: stretch, one bolus, one infusion running across the switch at day 31.7
DOSES = [
    (0.0, 300.0, 2 / 24, ROUTE_IV),
    (14.0, 250.0, 2 / 24, ROUTE_IV),
    (31.6, 400.0, 0.25, ROUTE_IV),
    (45.0, 200.0, 0.0, ROUTE_IV),
]
OBS_DAYS = np.array([0.05, 1.0, 7.5, 13.9, 14.04, 20.0, 31.65, 31.8, 44.9, 45.5, 59.0, 61.0, 90.0])
STRUCTURES = {"1cmt": ("CL", "V1"), "2cmt": ("CL", "V1", "Q", "V2"), "3cmt": ("CL", "V1", "Q", "V2", "Q3", "V3")}


def _params(structure: str, n_patients: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """(P, S) parameters that change at every switch (covariates), per patient."""
    typical = {"CL": 0.3, "V1": 3.0, "Q": 0.5, "V2": 2.0, "Q3": 0.2, "V3": 4.0}
    S = SEGMENT_START_DAYS.size
    return {k: typical[k] * np.exp(rng.normal(0.0, 0.3, (n_patients, S))) for k in STRUCTURES[structure]}


def reference(
    structure: str, params: dict[str, np.ndarray], patient: int, obs_days: np.ndarray = OBS_DAYS
) -> np.ndarray:
    """Concentrations at ``obs_days`` by the augmented matrix exponential, event to event."""
    n = {"1cmt": 1, "2cmt": 2, "3cmt": 3}[structure]
    K_seg = rate_matrix(structure, {k: v[patient] for k, v in params.items()})  # (S, n, n)
    events = sorted(
        [(float(s), "switch", i) for i, s in enumerate(SEGMENT_START_DAYS) if np.isfinite(s)]
        + [(t, "start", j) for j, (t, _, d, _) in enumerate(DOSES)]
        + [(t + d, "end", j) for j, (t, _, d, _) in enumerate(DOSES) if d > 0]
        + [(float(t), "obs", j) for j, t in enumerate(obs_days)]
    )
    A, rate, seg, now = np.zeros(n), 0.0, 0, 0.0
    out = np.empty(obs_days.size)
    for t, what, j in events:
        M = np.zeros((n + 1, n + 1))
        M[:n, :n], M[0, n] = K_seg[seg], rate
        A = (expm(M * (t - now)) @ np.append(A, 1.0))[:n]
        now = t
        if what == "switch":
            seg = j
        elif what == "obs":
            out[j] = A[0] / params["V1"][patient, seg]
        else:
            _, amount, duration, _ = DOSES[j]
            if duration == 0:
                A[0] += amount
            else:
                rate += (amount if what == "start" else -amount) / duration
    return out


def _simulate(structure: str, params: dict[str, np.ndarray], obs_days: np.ndarray = OBS_DAYS) -> np.ndarray:
    P = next(iter(params.values())).shape[0]
    doses = DoseTable.from_lists([DOSES] * P)
    segments = np.broadcast_to(SEGMENT_START_DAYS, (P, SEGMENT_START_DAYS.size))
    schedule = shared_schedule(doses, segments, obs_days)
    conc, ill = simulate_shared(structure, params, doses, obs_days.size, schedule)
    assert not ill.any()
    return np.asarray(conc)


@pytest.mark.parametrize("structure", list(STRUCTURES))
def test_shared_schedule_across_switches_equals_the_matrix_exponential(structure):
    params = _params(structure, 5, np.random.default_rng(7))
    conc = _simulate(structure, params)
    for p in range(5):
        np.testing.assert_allclose(conc[p], reference(structure, params, p), rtol=1e-10, atol=0)


@pytest.mark.parametrize("structure", ["1cmt", "2cmt"])
def test_complex_step_derivative_across_switches_equals_the_reference_central_difference(structure):
    """d C / d log CL by the complex step through the engine (what the MAP's gradient uses)
    against a central difference of the expm reference (error O(h^2) ~ 1e-9 relative)."""
    params = _params(structure, 3, np.random.default_rng(11))
    step = 1e-20
    cplx = {k: (v * np.exp(1j * step) if k == "CL" else v.astype(complex)) for k, v in params.items()}
    derivative = _simulate(structure, cplx).imag / step
    h = 1e-5
    for p in range(3):
        up = reference(structure, {**params, "CL": params["CL"] * np.exp(h)}, p)
        down = reference(structure, {**params, "CL": params["CL"] * np.exp(-h)}, p)
        np.testing.assert_allclose(derivative[p], (up - down) / (2 * h), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("n_samples", [1, 4, 8])
def test_samples_before_the_last_doses_and_switches_are_exact(n_samples):
    """Levels end before the history does (the estimate's usual case: infusions after the last
    trough): the engine stops after the last sample; each value still equals the reference."""
    obs_days = OBS_DAYS[:n_samples]
    params = _params("2cmt", 3, np.random.default_rng(3))
    conc = _simulate("2cmt", params, obs_days)
    for p in range(3):
        np.testing.assert_allclose(conc[p], reference("2cmt", params, p, obs_days), rtol=1e-10, atol=0)
