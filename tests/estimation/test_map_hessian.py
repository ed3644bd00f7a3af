"""The compiled MAP's exact gradient and Hessian (one real pass, issue 16) against an independent
high-precision reference: the OFV rebuilt in mpmath at 40 digits from the rate matrix and its
matrix exponential (bolus: expm(K t) D; infusion: the augmented exponential
expm([[K, r e1], [0, 0]] m), Van Loan, IEEE TAC 1978;23:395), no eigen-decomposition and no code
shared with ifxdose, differentiated by central differences at 40 digits. Every model shape
the compiled path takes: 1- and 2-compartment, infusions and boluses, Beal's M3 below the LLOQ,
four random effects, a zero prediction with proportional error only. (Time-varying covariates
never take the compiled path: ``compiled.pack`` refuses them, tested below.)"""

import dataclasses

import mpmath as mp
import numpy as np
import pytest

from ifxdose.core.estimation import Observations, Problem, compiled, exact, objective
from ifxdose.core.pk import ROUTE_IV
from ifxdose.domain.modelfiles import default_model_name, load_model

DOSE_DAYS = [0.0, 14.0, 42.0, 98.0]
RA = load_model(default_model_name())  # ifxdose_ra_mbma: 2-compartment, etas on CL and V1


def _obs(days, values, lloq=0.5):
    values = np.asarray(values, float)
    return Observations(np.asarray(days, float), values, np.where(np.isnan(values), lloq, np.nan))


def _problem(model, weight_kg=62.0, dur=2 / 24, mg=200.0, days=DOSE_DAYS, covariates=None):
    cov = covariates or {"weight_kg": np.array([weight_kg])}
    return Problem(model, np.array([-np.inf]), cov, [(d, mg, dur, ROUTE_IV) for d in days])


def _cases():
    mould = load_model("mould_2012_ibd")  # IIV on CL, V1, Q and V2
    prop_only = dataclasses.replace(RA, residual_additive_mg_l=0.0)
    return {
        "2-cmt infusions, M3": (_problem(RA), _obs([42.0, 70.0, 98.0, 110.0], [6.1, 2.9, np.nan, 9.0])),
        "2-cmt bolus": (_problem(RA, dur=0.0), _obs([42.0, 98.0], [3.0, 0.9])),
        "1-cmt infusions, M3": (
            _problem(load_model("passot_2016_ra"), mg=180.0),
            _obs([42.0, 70.0, 98.0], [4.1, 2.0, np.nan], lloq=0.1),
        ),
        "4 random effects": (
            _problem(mould, mg=350.0, covariates={"weight_kg": np.array([70.0]), "ada": np.array([0.0])}),
            _obs([42.0, 70.0, 98.0], [9.0, 2.5, 1.1]),
        ),
        "zero prediction, proportional error only": (
            _problem(prop_only, days=[0.0, 14.0]),
            _obs([0.0, 14.0, 20.0], [0.3, 12.0, np.nan], lloq=30.0),
        ),
    }


CASES = _cases()


def _mp_ofv(packed, eta):
    """The OFV of patient 0 at eta (mpmath numbers), from the rate matrix (independent of ifxdose's
    closed form: matrix exponentials, not eigenpairs)."""
    tv = [mp.mpf(float(v)) for v in packed.tv[0]]
    for j, m in enumerate(packed.eta_param):
        tv[int(m)] = tv[int(m)] * mp.exp(eta[j])
    cl, v1, q, v2 = tv
    if packed.two_cmt:
        K = mp.matrix([[-(cl + q) / v1, q / v2], [q / v1, -q / v2]])
    else:
        K = mp.matrix([[-cl / v1]])
    n = K.rows
    oi = packed.omega_inv
    total = mp.fsum(eta[i] * mp.mpf(float(oi[i, j])) * eta[j] for i in range(len(eta)) for j in range(len(eta)))
    add, prop = mp.mpf(packed.add), mp.mpf(packed.prop)
    cache = {}
    for o in range(int(packed.n_obs[0])):
        t = mp.mpf(float(packed.obs_t[0, o]))
        amount = mp.matrix(n, 1)
        for d in range(int(packed.n_dose[0])):
            s, amt, dur = (mp.mpf(float(a[0, d])) for a in (packed.dose_t, packed.dose_amt, packed.dose_dur))
            if not t > s:
                continue
            el = t - s
            e1 = mp.matrix(n, 1)
            if dur > 0:
                m = min(el, dur)
                aug = mp.matrix(n + 1, n + 1)
                for i in range(n):
                    for j in range(n):
                        aug[i, j] = K[i, j]
                aug[0, n] = 1 / dur
                key = (m, dur)
                if key not in cache:  # unit amount: the same for every dose infused over m
                    cache[key] = mp.expm(aug * m)
                end = cache[key] * amt
                for i in range(n):
                    e1[i] = end[i, n]
                amount += mp.expm(K * (el - m)) * e1
            else:
                e1[0] = amt
                amount += mp.expm(K * el) * e1
        f = amount[0] / v1
        sd = mp.sqrt(add**2 + (prop * f) ** 2)
        if sd == 0:
            sd = mp.mpf(1)
        if packed.blq[0, o]:
            total -= 2 * mp.log(mp.ncdf((mp.mpf(float(packed.lloq[0, o])) - f) / sd))
        else:
            total += ((mp.mpf(float(packed.y[0, o])) - f) / sd) ** 2 + 2 * mp.log(sd)
    return total


def _mp_derivatives(packed, x, h=mp.mpf("1e-12")):
    """Gradient and Hessian of :func:`_mp_ofv` at x by central differences at 40 digits (step
    1e-12: truncation ~1e-24, round-off ~1e-40 / h^2 = 1e-16, both far below the tolerances)."""
    k = x.size
    with mp.workdps(40):
        x0 = [mp.mpf(float(v)) for v in x]

        def f(*steps):
            y = list(x0)
            for i, s in steps:
                y[i] += s * h
            return _mp_ofv(packed, y)

        f0 = f()
        fp = [f((i, 1)) for i in range(k)]
        fm = [f((i, -1)) for i in range(k)]
        g = np.array([float((fp[i] - fm[i]) / (2 * h)) for i in range(k)])
        H = np.empty((k, k))
        for i in range(k):
            H[i, i] = float((fp[i] - 2 * f0 + fm[i]) / h**2)
            for j in range(i + 1, k):
                d = f((i, 1), (j, 1)) - f((i, 1), (j, -1)) - f((i, -1), (j, 1)) + f((i, -1), (j, -1))
                H[i, j] = H[j, i] = float(d / (4 * h**2))
        return float(f0), g, H


#: smaller schedules for the 40-digit reference (each OFV costs a few mpmath matrix exponentials)
MP_CASES = {
    "2-cmt infusions, M3": (_problem(RA, days=[0.0, 14.0]), _obs([10.0, 20.0, 30.0], [20.0, np.nan, 9.0], lloq=8.0)),
    "2-cmt bolus": (_problem(RA, dur=0.0, days=[0.0, 14.0]), _obs([10.0, 30.0], [8.0, 5.0])),
    "1-cmt infusions, M3": (
        _problem(load_model("passot_2016_ra"), mg=180.0, days=[0.0, 14.0]),
        _obs([10.0, 30.0], [9.0, np.nan], lloq=8.0),
    ),
    "4 random effects": (
        _problem(
            load_model("mould_2012_ibd"),
            mg=350.0,
            days=[0.0, 14.0],
            covariates={"weight_kg": np.array([70.0]), "ada": np.array([0.0])},
        ),
        _obs([0.05, 10.0, 30.0], [60.0, 20.0, 9.0]),
    ),
    "zero prediction, proportional error only": CASES["zero prediction, proportional error only"],
}


@pytest.mark.parametrize("case", MP_CASES, ids=list(MP_CASES))
def test_exact_hessian_equals_a_40_digit_reference(case):
    pr, o = MP_CASES[case]
    packed = compiled.pack([pr], [o])
    assert packed is not None
    x = np.random.default_rng(11).normal(0.0, 0.3, pr.n_eta)
    f, g, H = compiled.ofv_gradient_hessian(packed, x[None, :])
    f_ref, g_ref, H_ref = _mp_derivatives(packed, x)
    assert f[0] == pytest.approx(f_ref, rel=1e-12)
    assert f[0] == pytest.approx(objective(pr, o, x[None, :])[0], rel=1e-12)  # and the NumPy path's OFV
    scale = np.max(np.abs(H_ref))
    np.testing.assert_allclose(g[0], g_ref, rtol=1e-9, atol=1e-9 * max(1.0, np.max(np.abs(g_ref))))
    np.testing.assert_allclose(H[0], H_ref, rtol=1e-8, atol=1e-9 * scale)
    assert np.array_equal(H[0], H[0].T)
    # the same formulas in Python (processes without numba): the same numbers, bit for bit
    f_py, g_py, H_py, ill = exact.ofv_gradient_hessian(packed, x)
    assert not ill and f_py == f[0] and np.array_equal(g_py, g[0]) and np.array_equal(H_py, H[0])


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_exact_derivatives_equal_the_complex_step_at_many_points(case):
    """Cheaper and wider: at 30 points, the gradient equals the complex-step gradient and the
    Hessian the central difference of complex-step gradients (error O(h^2) ~ 1e-10)."""
    pr, o = CASES[case]
    packed = compiled.pack([pr], [o])
    X = np.random.default_rng(5).normal(0.0, 0.5, (30, pr.n_eta))
    f, g, H = compiled.ofv_gradient_hessian(packed, X)
    f_cs, g_cs = compiled.ofv_and_gradient(packed, X)
    np.testing.assert_allclose(f, f_cs, rtol=1e-12)
    np.testing.assert_allclose(g, g_cs, rtol=1e-9, atol=1e-9)
    h = 1e-5
    H_fd = np.empty_like(H)
    for j in range(pr.n_eta):
        e = np.zeros(pr.n_eta)
        e[j] = h
        H_fd[:, :, j] = (compiled.ofv_and_gradient(packed, X + e)[1] - compiled.ofv_and_gradient(packed, X - e)[1]) / (
            2 * h
        )
    scale = np.max(np.abs(H), axis=(1, 2))[:, None, None]
    assert np.all(np.abs(H - H_fd) <= 1e-6 * scale)
    for s, x in enumerate(X):  # the Python copy of the pass: bitwise the compiled one everywhere
        f_py, g_py, H_py, _ = exact.ofv_gradient_hessian(packed, x)
        assert f_py == f[s] and np.array_equal(g_py, g[s]) and np.array_equal(H_py, H[s])


def test_time_varying_covariates_never_take_the_compiled_path():
    pr = Problem(
        RA,
        np.array([-np.inf, 60.0]),
        {"weight_kg": np.array([62.0, 75.0])},
        [(d, 200.0, 2 / 24, ROUTE_IV) for d in DOSE_DAYS],
    )
    assert not compiled.eligible(pr)
    assert compiled.pack([pr], [_obs([42.0], [5.0])]) is None


def test_laplace_hessian_is_exact_and_the_same_before_and_after_the_compiled_map_loads():
    """Laplace's Hessian at the MAP on a fresh process (nothing compiled loaded: no import
    triggered) is the Python copy of the exact pass; once the compiled MAP is loaded, the
    compiled pass: the same numbers bit for bit (an interval does not change when numba loads),
    equal to the 40-digit reference; central differences of the OFV agree to their O(h^2)."""
    from ifxdose.core.estimation import estimate_map, laplace
    from ifxdose.core.estimation.posterior import hessian

    pr, o = MP_CASES["2-cmt infusions, M3"]
    eta = estimate_map(pr, o).eta
    assert not compiled.ready()  # the suite's fixture: nothing compiled loaded in this test yet
    H_before, cov_before = hessian(pr, o, eta), laplace(pr, o, eta)
    assert not compiled.ready()  # the Python copy imported nothing compiled
    compiled.module()
    assert compiled.ready()
    H = hessian(pr, o, eta)
    assert np.array_equal(H_before, H) and np.array_equal(cov_before, laplace(pr, o, eta))
    _, _, H_ref = _mp_derivatives(compiled.pack([pr], [o]), eta)
    np.testing.assert_allclose(H, H_ref, rtol=1e-8, atol=1e-9 * np.max(np.abs(H_ref)))
    H_fd = _central_differences(pr, o, eta)
    np.testing.assert_allclose(H_fd, H_ref, rtol=1e-4, atol=1e-5 * np.max(np.abs(H_ref)))
    np.testing.assert_allclose(laplace(pr, o, eta), 2.0 * np.linalg.inv(H_ref), rtol=1e-7)


def _central_differences(pr, o, eta, h=1e-3):
    """Second differences of the NumPy objective (independent of both exact passes)."""
    k = eta.size
    H = np.empty((k, k))
    E = np.eye(k) * h
    for i in range(k):
        for j in range(k):
            pts = np.array([eta + E[i] + E[j], eta + E[i] - E[j], eta - E[i] + E[j], eta - E[i] - E[j]])
            pp, pm, mp_, mm = objective(pr, o, pts)
            H[i, j] = (pp - pm - mp_ + mm) / (4 * h * h)
    return H


def test_batch_pack_equals_one_patient_packs_with_ragged_regimens():
    """A batch of regimens of different lengths packs to each patient's own arrays, padded
    (NaN times, zero amounts); equal lengths take the one-concatenation path, same numbers."""
    problems = [_problem(RA, days=[0.0, 14.0]), _problem(RA, days=[0.0, 14.0, 42.0, 98.0], mg=250.0)]
    observations = [_obs([10.0], [20.0]), _obs([20.0, 50.0, 100.0], [9.0, np.nan, 4.0])]
    for batch in (problems, problems[1:] * 2):
        obs_b = observations if batch is problems else observations[1:] * 2
        packed = compiled.pack(batch, obs_b)
        for p, (pr, o) in enumerate(zip(batch, obs_b)):
            one = compiled.pack([pr], [o])
            nd, no = int(one.n_dose[0]), int(one.n_obs[0])
            assert (packed.n_dose[p], packed.n_obs[p]) == (nd, no)
            for name in ("dose_t", "dose_amt", "dose_dur"):
                assert np.array_equal(getattr(packed, name)[p, :nd], getattr(one, name)[0])
            assert np.all(np.isnan(packed.dose_t[p, nd:])) and np.all(packed.dose_amt[p, nd:] == 0)
            for name in ("obs_t", "y", "lloq", "blq"):
                assert np.array_equal(getattr(packed, name)[p, :no], getattr(one, name)[0], equal_nan=name != "blq")
            assert np.array_equal(packed.tv[p], one.tv[0])


def test_python_pass_flags_ill_conditioned_eigenvectors_where_the_compiled_one_does():
    """Q a millionth of its typical value (eta_Q = -20): the 2-compartment eigenvectors are
    ill-conditioned (condition number > 1e8); both passes say so (the compiled one with a NaN
    OFV), and Laplace's Hessian falls back to central differences instead of using them."""
    from ifxdose.core.estimation import compiled as c

    pr, o = CASES["4 random effects"]
    packed = c.pack([pr], [o])
    for q, ill_expected in ((-10.0, False), (-20.0, True)):
        x = np.array([0.0, 0.0, q, 0.0])
        f, _, _ = c.ofv_gradient_hessian(packed, x[None, :])
        *_, ill = exact.ofv_gradient_hessian(packed, x)
        assert ill is ill_expected and bool(np.isnan(f[0])) is ill_expected
    assert c.exact_hessian(pr, o, np.array([0.0, 0.0, -20.0, 0.0])) is None
