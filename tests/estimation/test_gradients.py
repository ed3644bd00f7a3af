"""Exact MAP derivatives (complex step) and the compiled MAP, checked against independent truth:
Richardson-extrapolated finite differences of the objective, an objective built on the ODE
engine optimised by Nelder-Mead, and the NumPy path."""

import threading

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import log_ndtr

from ifxdose.core.estimation import Observations, Problem, compiled, estimate_map, objective
from ifxdose.core.estimation import map as map_mod
from ifxdose.core.estimation.map import EstimationError, _Derivatives, estimate_map_batch
from ifxdose.core.pk import ROUTE_IV
from ifxdose.core.pk.events import DoseTable
from ifxdose.core.pk.simulate import simulate_concentrations
from ifxdose.domain.modelfiles import default_model_name, load_model

DOSE_DAYS = [0.0, 14.0, 42.0, 98.0, 154.0]
MODEL = load_model(default_model_name())  # ifxdose_ra_mbma, 2-compartment, etas on CL and V1


def ra_problem(weight_kg=62.0, segments=None, bolus=False):
    dur = 0.0 if bolus else 2 / 24
    doses = [(d, 3 * weight_kg, dur, ROUTE_IV) for d in DOSE_DAYS]
    if segments is None:
        return Problem(MODEL, np.array([-np.inf]), {"weight_kg": np.array([weight_kg])}, doses)
    starts, weights = segments
    return Problem(MODEL, np.array(starts), {"weight_kg": np.array(weights)}, doses)


def obs(days, values, lloq=0.5):
    values = np.asarray(values, float)
    return Observations(np.asarray(days, float), values, np.where(np.isnan(values), lloq, np.nan))


OBS_M3 = obs([42.0, 70.0, 98.0, 154.0], [6.1, 2.9, 1.2, np.nan])  # the last trough below an LLOQ of 0.5


def richardson_gradient(f, x, h=1e-3):
    """Central differences at h and h/2, Richardson-extrapolated (error O(h^4))."""
    g = np.zeros_like(x)
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = 1.0

        def d(s):
            return (f(x + s * e) - f(x - s * e)) / (2 * s)

        g[j] = (4 * d(h / 2) - d(h)) / 3
    return g


@pytest.mark.parametrize(
    "pr",
    [ra_problem(), ra_problem(segments=([-np.inf, 60.0], [62.0, 75.0])), ra_problem(bolus=True)],
    ids=["infusions", "time-varying weight", "bolus"],
)
def test_complex_step_gradient_matches_richardson_differences(pr):
    d = _Derivatives(pr, OBS_M3, pr.omega_inv, [0])
    assert d.complex
    for x in ([0.0, 0.0], [0.3, -0.2], [-0.5, 0.4]):
        x = np.array(x)
        f, g, H = d.many(x[None, :])

        def ofv(e):
            return float(objective(pr, OBS_M3, e[None, :])[0])

        assert f[0] == pytest.approx(ofv(x), rel=1e-13)
        ref = richardson_gradient(ofv, x)
        np.testing.assert_allclose(g[0], ref, rtol=1e-7, atol=1e-7)
        # Hessian: differences of the independent gradient
        Href = np.column_stack(
            [
                (richardson_gradient(ofv, x + 1e-3 * e) - richardson_gradient(ofv, x - 1e-3 * e)) / 2e-3
                for e in np.eye(2)
            ]
        )
        np.testing.assert_allclose(H[0], Href, rtol=1e-4, atol=1e-4)


def ode_objective(pr: Problem, o: Observations):
    """The MAP objective written independently, on the ODE engine (scipy LSODA)."""
    t = pr._table
    seg = pr.segment_start_days[None, :]
    omega_inv = np.linalg.inv(MODEL.omega)

    def f(eta):
        params = {
            k: np.ascontiguousarray(
                v[None, :] * (np.exp(eta[MODEL.eta_parameters.index(k)]) if k in MODEL.eta_parameters else 1.0)
            )
            for k, v in pr.typical.items()
        }
        c = simulate_concentrations(
            MODEL, params, seg, DoseTable(t.time_days, t.amount_mg, t.duration_days, t.route), o.time_days, engine="ode"
        )[0]
        sd = np.sqrt(MODEL.residual_additive_mg_l**2 + (MODEL.residual_proportional * c) ** 2)
        q = ~o.below_lloq
        val = eta @ omega_inv @ eta + np.sum(((o.value_mg_l[q] - c[q]) / sd[q]) ** 2 + 2 * np.log(sd[q]))
        return val - 2 * np.sum(log_ndtr((o.lloq_mg_l[~q] - c[~q]) / sd[~q]))

    return f


@pytest.mark.parametrize("segments", [None, ([-np.inf, 60.0], [62.0, 75.0])], ids=["constant", "time-varying weight"])
def test_map_equals_nelder_mead_on_the_ode_objective(segments):
    pr = ra_problem(segments=segments)
    fit = estimate_map(pr, OBS_M3)
    ref = minimize(
        ode_objective(pr, OBS_M3),
        np.zeros(2),
        method="Nelder-Mead",
        # converged to 1e-6 in eta (134 ODE objectives instead of 301 at 1e-8): 20x tighter than the
        # check; the fit and Nelder-Mead agree to ~9e-7 either way (the ODE's own tolerance)
        options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 4000},
    )
    np.testing.assert_allclose(fit.eta, ref.x, atol=2e-5)
    assert fit.ofv == pytest.approx(ref.fun, abs=1e-5)


def test_log_ndtr_and_mills_ratio_of_the_compiled_path():
    mod = compiled.module()
    u = np.concatenate([np.linspace(-60, 8, 400), [-30.0, -29.999, -30.001]])
    got = np.array([mod._log_ndtr(x) for x in u])
    np.testing.assert_allclose(got, log_ndtr(u), rtol=1e-12, atol=1e-15)
    ref = np.exp(-0.5 * u**2 - 0.5 * np.log(2 * np.pi) - log_ndtr(u))  # phi / Phi
    np.testing.assert_allclose([mod._mills(x) for x in u], ref, rtol=1e-11)


CASES = {
    "2-cmt infusions, M3": (ra_problem(), OBS_M3),
    "2-cmt bolus": (ra_problem(bolus=True), obs([42.0, 98.0], [3.0, 0.9])),
    "1-cmt (Passot 2016)": (
        Problem(
            load_model("passot_2016_ra"),
            np.array([-np.inf]),
            {"weight_kg": np.array([60.0])},
            [(d, 180.0, 2 / 24, ROUTE_IV) for d in DOSE_DAYS],
        ),
        obs([42.0, 70.0, 98.0, 154.0], [4.1, 2.0, 0.45, np.nan], lloq=0.1),
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_compiled_objective_and_gradient_equal_the_numpy_path(case):
    pr, o = CASES[case]
    packed = compiled.pack([pr], [o])
    assert packed is not None
    X = np.random.default_rng(3).normal(0, 0.4, (12, pr.n_eta))
    f, g = compiled.ofv_and_gradient(packed, X)
    np.testing.assert_allclose(f, objective(pr, o, X), rtol=1e-11)
    _, g_np, _ = _Derivatives(pr, o, pr.omega_inv, [0]).many(X)
    np.testing.assert_allclose(g, g_np, rtol=1e-8, atol=1e-9)


def _numpy_path(monkeypatch):
    monkeypatch.setattr(compiled, "use_compiled", lambda n: False)


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_compiled_map_equals_numpy_map(case, monkeypatch):
    pr, o = CASES[case]
    monkeypatch.setattr(compiled, "use_compiled", lambda n: True)
    a = estimate_map(pr, o)
    _numpy_path(monkeypatch)
    b = estimate_map(pr, o)
    np.testing.assert_allclose(a.eta, b.eta, atol=1e-5)
    assert a.ofv == pytest.approx(b.ofv, abs=1e-8)
    assert a.ofv_prior_mode == pytest.approx(b.ofv_prior_mode, rel=1e-12)


def test_compiled_map_refuses_implausible_levels_like_the_numpy_path(monkeypatch):
    pr = ra_problem()
    o = obs([42.0, 98.0], [400.0, 350.0])
    errors = []
    for use in (True, False):
        monkeypatch.setattr(compiled, "use_compiled", lambda n, use=use: use)
        with pytest.raises(EstimationError) as exc:
            estimate_map(pr, o)
        errors.append(str(exc.value))
    assert errors[0] == errors[1]


def test_only_the_main_thread_uses_compiled_code():
    box = []
    t = threading.Thread(target=lambda: box.append(compiled.use_compiled(10**6)))
    t.start()
    t.join()
    assert box == [False]


def test_multimodal_posterior_gets_a_global_search_on_both_paths(monkeypatch):
    # one quantified level between two doses with a large LLOQ'd trough: several modes are possible;
    # whatever the starts do, both paths must report the same best optimum
    pr = ra_problem()
    o = obs([20.0, 42.0], [30.0, np.nan], lloq=8.0)
    res = []
    for use in (True, False):
        monkeypatch.setattr(compiled, "use_compiled", lambda n, use=use: use)
        res.append(estimate_map(pr, o))
    np.testing.assert_allclose(res[0].eta, res[1].eta, atol=1e-4)
    assert map_mod.OFV_TOL == compiled.OFV_TOL


@pytest.mark.parametrize("use", [False, True], ids=["numpy", "compiled"])
def test_a_zero_prediction_with_proportional_error_on_both_paths(use, monkeypatch):
    """A level at the first dose time (prediction exactly 0) with proportional error only: W = 0 becomes 1
    (NONMEM's IF (W.EQ.0) W=1) on both paths — the compiled path once divided by zero in its complex
    square root (found when a long test process had switched to compiled code)."""
    import dataclasses

    from ifxdose.core.pk import ROUTE_IV

    monkeypatch.setattr(compiled, "use_compiled", lambda n: use)
    pk = dataclasses.replace(MODEL, residual_additive_mg_l=0.0)
    pr = Problem(
        pk,
        np.array([-np.inf]),
        {"weight_kg": np.array([70.0])},
        [(0.0, 300.0, 2 / 24, ROUTE_IV), (14.0, 300.0, 2 / 24, ROUTE_IV)],
    )
    with_zero = estimate_map(pr, Observations(np.array([0.0, 14.0]), np.array([0.3, 12.0]), np.full(2, np.nan)))
    without = estimate_map(pr, Observations(np.array([14.0]), np.array([12.0]), np.full(1, np.nan)))
    assert np.isfinite(with_zero.ofv)
    assert np.allclose(with_zero.eta, without.eta, atol=1e-4)


# In this file, not its own: pytest-xdist (--dist loadfile) then runs it on the worker that has
# already compiled the single-fit kernels (fit_serial and its callees, which the threaded
# fit_parallel shares), instead of compiling them a second time on the other worker at the same
# time on a fresh clone (empty numba cache): docs/development.md.
def test_batch_equals_sequential_fits(monkeypatch):
    rng = np.random.default_rng(7)
    problems, observations = [], []
    for _ in range(40):
        w = float(rng.uniform(45, 95))
        pr = ra_problem(weight_kg=w)
        c = pr.predict(MODEL.sample_eta(1, rng), np.array([42.0, 98.0, 154.0]))[0] * np.exp(
            0.35 * rng.standard_normal(3)
        )
        problems.append(pr)
        observations.append(obs([42.0, 98.0, 154.0], np.where(c < 0.5, np.nan, c)))
    problems.append(ra_problem())
    observations.append(obs([42.0, 98.0], [400.0, 350.0]))  # implausible: an error in its place
    problems.append(ra_problem(weight_kg=70.0))
    observations.append(obs([], []))  # no levels: the prior, with its warning
    problems.append(ra_problem())
    observations.append(obs([20.0, 42.0], [30.0, np.nan], lloq=8.0))  # multimodal: the one-by-one finish
    problems.append(ra_problem(weight_kg=80.0))
    observations.append(obs([42.0, 70.0, 98.0, 154.0, 160.0], [6.1, 2.9, 1.2, np.nan, 9.0]))  # more levels
    monkeypatch.setattr(compiled, "use_compiled", lambda n: True)
    batch = estimate_map_batch(problems, observations)
    serial = estimate_map_batch(problems, observations, parallel=False)
    one_by_one = []
    for pr, o in zip(problems, observations):
        try:
            one_by_one.append(estimate_map(pr, o))
        except EstimationError as exc:
            one_by_one.append(exc)
    for a, b, c in zip(batch, serial, one_by_one):
        if isinstance(c, EstimationError):
            assert str(a) == str(b) == str(c)
            continue
        assert np.array_equal(a.eta, c.eta) and np.array_equal(b.eta, c.eta)  # same compiled code: bitwise
        for r in (a, b):  # every field, the runs' records included (the batch assembles them itself)
            assert (r.ofv, r.ofv_prior_mode, r.gradient_norm, r.n_evaluations) == (
                c.ofv,
                c.ofv_prior_mode,
                c.gradient_norm,
                c.n_evaluations,
            )
            assert r.starts == c.starts and r.warnings == c.warnings
    _numpy_path(monkeypatch)
    for a, pr, o in zip(batch[:10], problems, observations):
        np.testing.assert_allclose(a.eta, estimate_map(pr, o).eta, atol=1e-5)
