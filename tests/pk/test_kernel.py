"""The compiled kernel (issue 16) against the ODE reference and the NumPy fallback.

Oracles: the tight-tolerance ODE engine (every test of test_engines_agree.py is re-run
here with the compiled kernel forced for every problem size), and the independent NumPy
recurrence (a different implementation of the same exact algebra: agreement to 1e-12).
"""

import contextlib
import functools
import subprocess
import sys

import numpy as np
import pytest

from ifxdose.core.pk import ROUTE_IV, ROUTE_SC, DoseTable, kernel, simulate_concentrations
from ifxdose.core.pk.model import PKModel, Value
from ifxdose.domain.modelfiles import load_model

from . import test_engines_agree as agree
from .conftest import rel_close


@pytest.fixture
def force_kernel(monkeypatch):
    monkeypatch.setattr(kernel, "KERNEL_MIN_WORK", 0)
    monkeypatch.setattr(kernel, "KERNEL_MIN_WORK_LOADED", 0)
    assert kernel.use_kernel(1, 1)


@pytest.fixture
def force_numpy(monkeypatch):
    monkeypatch.setattr(kernel, "KERNEL_ENABLED", False)


# Every closed-form-vs-ODE test, again on the compiled path (the originals run on NumPy:
# their problems are below the size threshold).
@contextlib.contextmanager
def compiled_kernel():
    saved = kernel.KERNEL_MIN_WORK, kernel.KERNEL_MIN_WORK_LOADED
    kernel.KERNEL_MIN_WORK = kernel.KERNEL_MIN_WORK_LOADED = 0
    try:
        yield
    finally:
        kernel.KERNEL_MIN_WORK, kernel.KERNEL_MIN_WORK_LOADED = saved


def _on_kernel(test):
    @functools.wraps(test)  # same parameters and marks; the original test is left untouched
    def wrapper(*args, **kwargs):
        with compiled_kernel():
            return test(*args, **kwargs)

    return wrapper


for _name in [name for name in dir(agree) if name.startswith("test_")]:
    globals()[f"{_name}_compiled"] = _on_kernel(getattr(agree, _name))


def both_paths(monkeypatch, fn):
    """fn() on the compiled kernel and on the NumPy fallback."""
    with monkeypatch.context() as mp:
        mp.setattr(kernel, "KERNEL_MIN_WORK", 0)
        mp.setattr(kernel, "KERNEL_MIN_WORK_LOADED", 0)
        compiled = fn()
    with monkeypatch.context() as mp:
        mp.setattr(kernel, "KERNEL_ENABLED", False)
        fallback = fn()
    return compiled, fallback


def test_compiled_path_is_taken_when_forced(force_kernel, monkeypatch):
    """Guard against a test of the kernel that silently runs NumPy: count kernel calls."""
    calls = []
    real = kernel.propagate
    monkeypatch.setattr(kernel, "propagate", lambda *a: calls.append(1) or real(*a))
    m = load_model("ternant_2014_ra")
    p = m.individual_parameters({"weight_kg": np.array([[60.0], [80.0]])})
    doses = DoseTable.same_for_all(2, [0.0, 14.0], 300.0, 2 / 24, ROUTE_IV)
    simulate_concentrations(m, p, np.full((2, 1), -np.inf), doses, np.arange(0, 30.0))
    assert calls


def _population(P, rng, ragged: bool, sc: bool):
    """P patients on the Hanzel model (IV + SC depot, 3 states), two covariate switches."""
    m = load_model("hanzel_2021_ctp13")
    weights = np.stack([rng.uniform(45, 95, P), rng.uniform(45, 95, P), rng.uniform(45, 95, P)], axis=1)
    ada = np.array([0, 0, 1.0])[None, :] * np.ones((P, 1))
    eta = m.sample_eta(P, rng)
    p = m.individual_parameters({"weight_kg": weights, "ada": ada}, eta[:, None, :])
    p = {k: np.ascontiguousarray(np.broadcast_to(v, (P, 3))) for k, v in p.items()}
    if ragged:
        seg = np.stack([np.full(P, -np.inf), 30.0 + rng.integers(0, 20, P), 80.0 + rng.integers(0, 20, P)], axis=1)
        rows = []
        for i in range(P):
            iv = [(t + i % 3, 300.0 + i, (1 + i % 2) / 24, ROUTE_IV) for t in (0.0, 14.0, 42.0)]
            bolus = [(50.0 + i % 5, 100.0, 0.0, ROUTE_IV)]
            depot = [(t, 120.0 + i, 0.0, ROUTE_SC) for t in (56.0, 70.0, 84.0)] if sc else []
            rows.append(iv + bolus + depot)
        doses = DoseTable.from_lists(rows)
    else:
        seg = np.broadcast_to(np.array([-np.inf, 35.0, 90.0]), (P, 3)).copy()
        days = [0.0, 14.0, 42.0, 50.0, 56.0, 70.0, 84.0]
        routes = [ROUTE_IV] * 4 + [ROUTE_SC if sc else ROUTE_IV] * 3
        durs = [2 / 24, 2 / 24, 1 / 24, 0.0, 0.0, 0.0, 0.0]
        amounts = rng.uniform(100, 400, (P, len(days)))
        doses = DoseTable.same_for_all(P, days, amounts, durs, routes)
    return m, p, seg, doses


@pytest.mark.parametrize("ragged", [False, True], ids=["shared schedule", "ragged schedules"])
@pytest.mark.parametrize("P", [1, 63, 130])
def test_kernel_equals_numpy_fallback(monkeypatch, ragged, P):
    """Blocked (shared) and per-patient (ragged) kernels vs the NumPy recurrence: SC depot,
    IV bolus, infusions, covariate switches, P not a multiple of the block size."""
    rng = np.random.default_rng(P)
    m, p, seg, doses = _population(P, rng, ragged, sc=True)
    obs = np.concatenate([np.arange(0.0, 140.0, 0.5), [14 + 1 / 24, 35.0, 90.0]])
    obs.sort()
    compiled, fallback = both_paths(monkeypatch, lambda: simulate_concentrations(m, p, seg, doses, obs))
    assert np.isfinite(compiled).all()
    assert rel_close(compiled, fallback, rtol=1e-12, floor_mg_l=1e-9)


def test_kernel_per_patient_times(monkeypatch):
    """Observation times that differ per patient ((P, T)) take the per-patient kernel."""
    rng = np.random.default_rng(3)
    m, p, seg, doses = _population(20, rng, ragged=False, sc=False)
    obs = np.sort(rng.uniform(0, 120, (20, 40)), axis=1)
    compiled, fallback = both_paths(monkeypatch, lambda: simulate_concentrations(m, p, seg, doses, obs))
    assert rel_close(compiled, fallback, rtol=1e-12, floor_mg_l=1e-9)


def test_kernel_against_ode_with_switches_and_depot(force_kernel):
    """Independent oracle for the hardest case (3 states, switches, SC, bolus, infusions)."""
    rng = np.random.default_rng(11)
    for ragged in (False, True):
        m, p, seg, doses = _population(3, rng, ragged, sc=True)
        obs = np.arange(0.0, 120.0, 0.5)
        a = simulate_concentrations(m, p, seg, doses, obs)
        b = simulate_concentrations(m, p, seg, doses, obs, engine="ode")
        assert rel_close(a, b)


def test_ill_conditioned_patients_fall_back_to_ode(force_kernel):
    """KA equal to the elimination rate of a 1-compartment model makes the eigenvectors
    parallel (condition number -> inf): those patients go to the ODE engine, the others
    stay on the kernel; all agree with the ODE reference."""
    params = {k: Value(v) for k, v in dict(CL=0.3, V1=3.0, KA=0.1, F=0.7).items()}
    m = PKModel("synthetic_1cmt_sc", "synthetic", "1cmt", "none", "none", params, routes=("iv", "sc"))
    p = m.individual_parameters({"weight_kg": np.full((3, 1), 70.0)})
    p["KA"] = np.array([[0.1], [0.1 * (1 + 1e-12)], [0.5]])  # CL/V1 = 0.1 per day
    doses = DoseTable.same_for_all(3, [0.0, 14.0], 200.0, 0.0, ROUTE_SC)
    obs = np.arange(0.0, 60.0, 0.5)
    from ifxdose.core.pk.linear import _eigen_all

    assert _eigen_all("1cmt", p)[3].tolist() == [True, True, False]
    a = simulate_concentrations(m, p, np.full((3, 1), -np.inf), doses, obs)
    b = simulate_concentrations(m, p, np.full((3, 1), -np.inf), doses, obs, engine="ode")
    assert np.isfinite(a).all() and rel_close(a, b)


def _on_one_and_two_threads(run):
    """``run()`` with the kernel on 1 thread, then on 2 (the thread setting restored after)."""
    try:
        kernel.set_threads(1)
        one = run()
        kernel.set_threads(2)
        return one, run()
    finally:
        kernel.set_threads(None)


def test_thread_count_does_not_change_results(force_kernel):
    rng = np.random.default_rng(5)
    m, p, seg, doses = _population(200, rng, ragged=False, sc=True)
    obs = np.arange(0.0, 100.0)
    one, two = _on_one_and_two_threads(lambda: simulate_concentrations(m, p, seg, doses, obs))
    assert np.array_equal(one, two)


def test_step_table_is_exact():
    """The distinct steps are the exact float differences the event loop would take."""
    times = np.array([0.0, 0.0, 1 / 12, 1.0, 2.0, 14.0, 14.0 + 1 / 12, 15.0, np.inf])
    values, index = kernel.step_table(times)
    h = np.diff(times[:-1], prepend=0.0)
    for j in range(len(times) - 1):
        assert (index[j] == -1) if h[j] == 0 else values[index[j]] == h[j]
    assert index[-1] == -1


def test_small_jobs_do_not_load_numba():
    """CLI start-up and small problems never import numba (fresh interpreter)."""
    code = (
        "import sys, numpy as np\n"
        "from ifxdose.domain.simulation import simulate\n"
        "simulate('passot_2016_ra', '5 mg/kg at weeks 0,2,6', {'weight_kg': 70.0}, np.arange(0, 100.0))\n"
        "import ifxdose.adapters.cli\n"
        "print('numba' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _simulate_in_child(args):
    m, p, seg, doses, obs = args
    return kernel.use_kernel(10**9, 1), simulate_concentrations(m, p, seg, doses, obs)


def test_forked_child_after_kernel_use_falls_back_to_numpy(force_kernel):
    """GNU OpenMP cannot run in a child forked after it started (numba aborts the child):
    a forked worker must take the NumPy path and give the same result."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    rng = np.random.default_rng(8)
    m, p, seg, doses = _population(40, rng, ragged=False, sc=False)
    obs = np.arange(0.0, 100.0)
    here = simulate_concentrations(m, p, seg, doses, obs)  # starts the threading layer here
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        used_kernel, there = pool.submit(_simulate_in_child, (m, p, seg, doses, obs)).result(timeout=300)
    assert not used_kernel
    assert rel_close(there, here, rtol=1e-12, floor_mg_l=1e-9)


def test_numba_is_loaded_only_after_enough_work(monkeypatch):
    """The cold threshold counts the job at hand plus the NumPy path's earlier work."""
    monkeypatch.setattr(kernel, "_STATE", {})
    monkeypatch.setattr(kernel, "KERNEL_MIN_WORK", 1_000_000)
    monkeypatch.setattr(kernel, "KERNEL_MIN_WORK_LOADED", 20_000)
    assert not kernel.use_kernel(2_000, 400)  # 800,000: not yet
    kernel.note_numpy_work(2_000, 400)
    assert "fn" not in kernel._STATE  # nothing loaded so far
    assert kernel.use_kernel(1_000, 400)  # 400,000 more: past 1,000,000 in all
    assert kernel.use_kernel(50, 400) and not kernel.use_kernel(10, 400)  # loaded: >= 20,000


@pytest.mark.production_thresholds
def test_only_the_main_thread_uses_the_compiled_kernel(monkeypatch):
    """A web request runs in a worker thread: it must take the NumPy path even when the kernel
    is loaded and the job is large (numba launched from several threads raised SystemError)."""
    import threading

    from ifxdose.core.pk import kernel as k

    monkeypatch.setitem(k._STATE, "numpy_work", 10**12)
    seen = {}
    worker = threading.Thread(target=lambda: seen.update(use=k.use_kernel(10**6, 10**3)))
    worker.start()
    worker.join()
    assert seen["use"] is False
    if k.KERNEL_ENABLED and k.kernel() is not None:
        assert k.use_kernel(10**6, 10**3) is True  # the main thread still does


def test_shared_schedule_is_checked_once_and_still_refuses_bad_doses():
    """DoseTable.same_for_all checks times/durations/overlap on one row (they are shared) and the
    amounts of every patient: the same errors as the per-patient check."""
    import pytest

    from ifxdose.core.errors import InputError
    from ifxdose.core.pk.events import DoseTable

    P = 1000
    t = [0.0, 14.0, 42.0]
    ok = DoseTable.same_for_all(P, t, np.full((P, 3), 300.0), [2 / 24] * 3, [0, 0, 0])
    assert ok.n_patients == P
    amounts = np.full((P, 3), 300.0)
    amounts[777, 1] = -5.0
    with pytest.raises(InputError, match="dose_mg"):
        DoseTable.same_for_all(P, t, amounts, [2 / 24] * 3, [0, 0, 0])
    with pytest.raises(InputError, match="must not overlap"):
        DoseTable.same_for_all(P, [0.0, 0.05, 42.0], np.full((P, 3), 300.0), [2 / 24] * 3, [0, 0, 0])
    with pytest.raises(InputError, match="duration_days"):
        DoseTable.same_for_all(P, t, np.full((P, 3), 300.0), [2 / 24, -1.0, 2 / 24], [0, 0, 0])
    # the per-patient check (from_lists) gives the same verdicts
    with pytest.raises(InputError, match="must not overlap"):
        DoseTable.from_lists([[(0.0, 300.0, 2 / 24, 0), (0.05, 300.0, 2 / 24, 0)]] * 3)


@pytest.mark.parametrize("n", [1, 2])
def test_compiled_eigen_is_bitwise_the_numpy_eigen(force_kernel, n):
    """The kernel path's threaded eigen-decomposition gives exactly linear.eigen's numbers
    (same closed forms, same operation order), and both are true eigenpairs (K V = V diag(lam),
    W V = I; the independent oracle is the definition)."""
    from ifxdose.core.pk.linear import eigen, rate_matrix

    rng = np.random.default_rng(n)
    P = 1000
    names = ["CL", "V1", "Q", "V2"][: 2 * n]
    params = {k: rng.lognormal(np.log(v), 0.5, (P, 2)) for k, v in zip(names, [0.3, 3.0, 0.1, 2.0])}
    K = rate_matrix(f"{n}cmt", params)
    expected = eigen(K)
    got = kernel.eigen_small(K)
    for a, b in zip(got, expected):
        assert a.shape == b.shape and np.array_equal(a, b)
    lam, V, W, _ = got
    np.testing.assert_allclose(K @ V, V * lam[..., None, :], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(W @ V, np.broadcast_to(np.eye(n), V.shape), atol=1e-10)


def test_two_threads_equal_one_thread_bitwise_on_the_label_regimen(force_kernel, monkeypatch):
    """2-compartment, daily grid over 54 weeks, 3,000 patients (the output spans many pages, so
    the parallel first touch and both threads' blocks are exercised): 1 and 2 threads give the
    same bits, and both equal the NumPy recurrence to 1e-12. A NaN sample time is never
    reached by the kernel: its column stays NaN (the first touch must not write there)."""
    m = load_model("ternant_2014_ra")
    P = 3000
    rng = np.random.default_rng(8)
    p = m.individual_parameters({"weight_kg": rng.uniform(45, 110, (P, 1))}, m.sample_eta(P, rng)[:, None, :])
    seg = np.full((P, 1), -np.inf)
    days = [0.0, 14.0, 42.0, *np.arange(98.0, 379.0, 56.0)]
    doses = DoseTable.same_for_all(P, days, rng.uniform(150, 400, (P, len(days))), 2 / 24, ROUTE_IV)
    for obs in (np.arange(0.0, 379.0), np.append(np.arange(0.0, 100.0), np.nan)):
        one, two = _on_one_and_two_threads(lambda: simulate_concentrations(m, p, seg, doses, obs))
        assert np.array_equal(one, two, equal_nan=True)
        with monkeypatch.context() as mp:
            mp.setattr(kernel, "KERNEL_ENABLED", False)
            fallback = simulate_concentrations(m, p, seg, doses, obs)
        finite = np.isfinite(obs)
        assert np.isnan(one[:, ~finite]).all()
        assert rel_close(one[:, finite], fallback[:, finite], rtol=1e-12, floor_mg_l=1e-9)


def test_non_finite_sample_times_are_trailing_padding_with_nan_on_every_path(monkeypatch):
    """A non-finite sample time is padding: NaN out on the kernel and the NumPy path alike
    (the NumPy path used to leave that column unwritten: np.empty garbage); a non-finite time
    before a finite one is refused (the kernel stops at the first one; the NumPy path did not)."""
    from ifxdose.core.errors import InputError

    m = load_model("ternant_2014_ra")
    P = 3
    p = m.individual_parameters({"weight_kg": np.full((P, 1), 70.0)})
    doses = DoseTable.same_for_all(P, [0.0, 14.0], 300.0, 2 / 24, ROUTE_IV)
    seg = np.full((P, 1), -np.inf)
    for obs in (np.array([1.0, 2.0, np.nan]), np.array([[1.0, 2.0, np.nan]] * 2 + [[1.0, np.inf, np.nan]])):
        compiled, fallback = both_paths(monkeypatch, lambda obs=obs: simulate_concentrations(m, p, seg, doses, obs))
        for out in (compiled, fallback):
            assert np.array_equal(np.isnan(out), np.broadcast_to(~np.isfinite(obs), out.shape))
        finite = np.broadcast_to(np.isfinite(obs), compiled.shape)
        assert rel_close(compiled[finite], fallback[finite], rtol=1e-12, floor_mg_l=1e-9)
    with pytest.raises(InputError, match="trailing padding"):
        simulate_concentrations(m, p, seg, doses, np.array([1.0, np.nan, 2.0]))
