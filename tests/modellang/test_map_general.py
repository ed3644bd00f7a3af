"""MAP under the general language: a global optimiser as the reference, stress set, zero predictions."""

import dataclasses

import numpy as np
import pytest
from scipy.optimize import differential_evolution
from tests.modellang.conftest import ONE_CMT, ORAL, model, subject

from ifxdose.core.estimation import Observations, Problem, estimate_map, objective
from ifxdose.core.estimation.general import GeneralProblem, estimate_subject
from ifxdose.core.pk import ROUTE_IV
from ifxdose.core.pk.general import Engine
from ifxdose.domain.modelfiles import load_model


def _global_reference(problem, seed=0):
    """Differential evolution over +-5 prior SD, polished by L-BFGS-B (scipy), same objective."""
    omega_inv = np.linalg.inv(problem.omega)
    sd = np.sqrt(np.diag(problem.omega))
    res = differential_evolution(
        lambda e: objective(problem, problem.observations, np.atleast_2d(e.T), omega_inv),
        [(-5 * s, 5 * s) for s in sd],
        seed=seed,
        tol=1e-12,
        popsize=20,
        maxiter=300,
        vectorized=True,
        updating="deferred",
        polish=True,
    )
    return res.fun, res.x


def _simulated_subject(m, rng, times, dose_text, sigma=0.15):
    eta = rng.multivariate_normal(np.zeros(len(m.eta_names)), m.omega)
    rows = [dose_text] + [f"1,{t},.,.,.,0,0,1" for t in times]
    rec = subject("ID,TIME,AMT,RATE,CMT,EVID,MDV,DV\n" + "\n".join(rows))
    f, _ = Engine(m, rec).predictions(eta[None])
    dv = f[0] * np.exp(sigma * rng.standard_normal(f.shape[1]))
    rows = [dose_text] + [f"1,{t},.,.,.,0,0,{float(y)!r}" for t, y in zip(times, dv)]
    return subject("ID,TIME,AMT,RATE,CMT,EVID,MDV,DV\n" + "\n".join(rows))


def test_general_map_equals_global_optimum():
    m = model(ORAL.replace("omega = [1.0, 1.0, 1.0]", "omega = [0.2, 0.2, 0.3]"))
    rec = _simulated_subject(m, np.random.default_rng(5), [1, 4, 10], "1,0,100,0,1,1,1,.")
    problem, fit = estimate_subject(m, rec)
    ref, x = _global_reference(problem)
    assert fit.ofv <= ref + 1e-4
    np.testing.assert_allclose(fit.eta, x, atol=2e-3)


def test_stress_set_no_worse_optimum_unflagged():
    """High variances (omega^2 1-2), oral, 3 etas, two samples: never a worse optimum without a warning."""
    m = model(ORAL.replace("omega = [1.0, 1.0, 1.0]", "omega = [1.0, 2.0, 1.5]").replace("ALAG1 = TLAG\n", ""))
    rng = np.random.default_rng(2026)
    worse_unflagged, flagged = [], 0
    for i in range(14):
        times = sorted(rng.choice([0.5, 1, 2, 4, 8, 12, 24], size=2, replace=False).tolist())
        rec = _simulated_subject(m, rng, times, "1,0,100,0,1,1,1,.", sigma=0.2)
        problem = GeneralProblem(m, rec)
        fit = estimate_map(problem, problem.observations)
        ref, _ = _global_reference(problem, seed=i)
        flagged += bool(fit.warnings)
        if fit.ofv > ref + 1e-3 and not fit.warnings:
            worse_unflagged.append((i, fit.ofv, ref))
    assert worse_unflagged == []


def test_library_stress_set_against_global_optimum():
    """The library path (closed-form superposition) under the same certificate."""
    base = load_model("hanzel_2021_ctp13")
    pk = dataclasses.replace(base, omega=np.diag([1.0, 0.5, 1.0, 1.5]))
    rng = np.random.default_rng(11)
    for i in range(8):
        pr = Problem(pk, np.array([-np.inf]), {"weight_kg": np.array([70.0])}, [(0.0, 120.0, 0.0, 1)])
        eta = pk.sample_eta(1, rng)
        t = np.sort(rng.choice([1.0, 3.0, 7.0, 14.0, 28.0], 2, replace=False))
        y = pr.predict(eta, t)[0] * np.exp(0.1 * rng.standard_normal(2))
        obs = Observations(t, y, np.full(2, np.nan))
        fit = estimate_map(pr, obs)
        omega_inv = np.linalg.inv(pk.omega)
        sd = np.sqrt(np.diag(pk.omega))
        ref = differential_evolution(
            lambda e: objective(pr, obs, np.atleast_2d(e.T), omega_inv),
            [(-5 * s, 5 * s) for s in sd],
            seed=i,
            tol=1e-12,
            popsize=20,
            maxiter=300,
            vectorized=True,
            updating="deferred",
            polish=True,
        ).fun
        assert fit.ofv <= ref + 1e-3 or fit.warnings


def test_zero_prediction_with_proportional_error_is_finite_and_uninformative():
    """A level at the first dose time (prediction exactly 0): W = 0 becomes 1 (NONMEM's IF (W.EQ.0) W=1),
    the OFV is finite and the eta-independent term leaves the MAP where it is without that level."""
    pk = dataclasses.replace(load_model("passot_2016_ra"), residual_additive_mg_l=0.0)
    doses = [(0.0, 300.0, 2 / 24, ROUTE_IV), (14.0, 300.0, 2 / 24, ROUTE_IV)]
    pr = Problem(pk, np.array([-np.inf]), {"weight_kg": np.array([70.0])}, doses)
    with_zero = estimate_map(pr, Observations(np.array([0.0, 14.0]), np.array([0.3, 12.0]), np.full(2, np.nan)))
    without = estimate_map(pr, Observations(np.array([14.0]), np.array([12.0]), np.full(1, np.nan)))
    assert np.isfinite(with_zero.ofv)
    np.testing.assert_allclose(with_zero.eta, without.eta, atol=1e-5)
    m = model(ONE_CMT.replace("proportional = 0.2\nadditive = 0.05", "proportional = 0.2"))
    rec = subject("ID,TIME,AMT,EVID,MDV,DV\n1,0,.,0,0,0.3\n1,0,100,1,1,.\n1,14,.,0,0,12")
    problem, fit = estimate_subject(m, rec)
    _, fit_without = estimate_subject(m, subject("ID,TIME,AMT,EVID,MDV,DV\n1,0,100,1,1,.\n1,14,.,0,0,12"))
    np.testing.assert_allclose(fit.ofv, fit_without.ofv + 0.3**2, rtol=1e-9)
    np.testing.assert_allclose(fit.eta, fit_without.eta, atol=1e-6)


def test_between_occasion_kappas_are_estimated_per_occasion():
    text = ONE_CMT.replace(
        "[random_effects]", '[occasion_effects]\nnames = ["KAPPA_CL"]\nomega = [0.05]\n[random_effects]'
    ).replace("CL = TVCL*exp(ETA_CL)", "CL = TVCL*exp(ETA_CL + KAPPA_CL)")
    m = model(text)
    rec = subject(
        "ID,TIME,AMT,EVID,MDV,DV,OCC\n1,0,100,1,1,.,1\n1,5,.,0,0,10,1\n1,10,.,0,0,8,1\n"
        "1,20,100,1,1,.,2\n1,25,.,0,0,12,2\n1,30,.,0,0,8,2"
    )
    problem, fit = estimate_subject(m, rec)
    assert problem.eta_names == ("ETA_CL", "ETA_V", "KAPPA_CL_OCC1", "KAPPA_CL_OCC2")
    ref, x = _global_reference(problem)
    assert fit.ofv <= ref + 1e-4
    np.testing.assert_allclose(fit.eta, x, atol=3e-3)


@pytest.mark.parametrize("scale", ["linear", "log"])
def test_objective_terms_by_hand(scale):
    text = (
        ONE_CMT
        if scale == "linear"
        else ONE_CMT.replace("proportional = 0.2\nadditive = 0.05", 'additive = 0.3\nscale = "log"')
    )
    m = model(text)
    dv = 2.0 if scale == "linear" else float(np.log(2.0))
    rec = subject(f"ID,TIME,AMT,EVID,MDV,DV\n1,0,100,1,1,.\n1,5,.,0,0,{dv!r}")
    problem = GeneralProblem(m, rec)
    c = 20 * np.exp(-0.06 * 5)
    if scale == "linear":
        w = np.sqrt(0.05**2 + (0.2 * c) ** 2)
        expected = ((2.0 - c) / w) ** 2 + 2 * np.log(w)
    else:
        expected = ((np.log(2.0) - np.log(c)) / 0.3) ** 2 + 2 * np.log(0.3)
    np.testing.assert_allclose(problem.data_ofv(np.zeros((1, 2)))[0], expected, rtol=1e-12)


class _DoubleWell:
    """A problem with a known bimodal posterior: data term 5 (e0^2 - 4)^2 - 2 e0 (wells at e0 ~ +-2)."""

    class model:  # noqa: N801 - the attributes estimate_map reads
        omega = np.diag([4.0, 1.0])
        eta_parameters = ("A", "B")

    omega = model.omega
    eta_names = model.eta_parameters
    n_eta = 2
    omega_inv = np.linalg.inv(model.omega)

    class observations:  # noqa: N801
        n = 1

    def data_ofv(self, eta):
        e0 = np.atleast_2d(eta)[:, 0]
        return 5 * (e0**2 - 4) ** 2 - 2 * e0


def test_certificate_flags_disagreeing_starts_and_keeps_the_global_optimum():
    p = _DoubleWell()
    fit = estimate_map(p, p.observations)
    assert any("different optima" in w for w in fit.warnings)
    ref, x = _global_reference(p)
    assert fit.ofv <= ref + 1e-6
    assert fit.eta[0] > 1.5  # the deeper well (+2), not the one at -2
    assert len({round(s["ofv"], 2) for s in fit.starts}) >= 2


def test_general_language_map_equals_the_library_map_on_the_ra_default():
    """Same patient through both paths (closed-form superposition vs matrix exponential on NM-TRAN records)."""
    from ifxdose.core.pk.general import from_pkmodel

    pk = load_model("passot_2016_ra")
    doses = [0.0, 14.0, 42.0, 98.0]
    pr = Problem(
        pk, np.array([-np.inf]), {"weight_kg": np.array([62.0])}, [(d, 186.0, 2 / 24, ROUTE_IV) for d in doses]
    )
    times, y = np.array([42.0, 98.0]), np.array([2.1, 0.7])
    a = estimate_map(pr, Observations(times, y, np.full(2, np.nan)))
    rows = [f"1,{d},186,{186 * 12},1,1,.,62" for d in doses] + [f"1,{t},.,.,0,0,{v},62" for t, v in zip(times, y)]
    rows.sort(key=lambda r: (float(r.split(",")[1]), r.split(",")[4] != "0"))
    rec = subject("ID,TIME,AMT,RATE,EVID,MDV,DV,weight_kg\n" + "\n".join(rows))
    _, b = estimate_subject(from_pkmodel(pk), rec)
    np.testing.assert_allclose(b.eta, a.eta, atol=1e-5)
    np.testing.assert_allclose(b.ofv, a.ofv, rtol=1e-9)
