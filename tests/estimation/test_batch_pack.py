"""Batch MAP bookkeeping without per-subject Python: the packing of many patients' levels in
one concatenation per field (compiled.pack) and the batch results whose run records are built
on first read (map._BatchMapResult). Checked against hand-built arrays and against the
one-patient code (pack of one patient; map._finish_compiled, what estimate_map runs). No
compiled code runs here (the Fits are written by hand)."""

import copy
import dataclasses
import pickle

import numpy as np

from ifxdose.core.estimation import Observations, compiled
from ifxdose.core.estimation import map as map_

from .conftest import passot_problem

NAN = np.nan


def _obs(days, values, lloq):
    return Observations(days, values, lloq)


def test_levels_pack_to_hand_built_padded_arrays():
    """Three patients with 2, 0 and 3 levels (one below the LLOQ): times, values and LLOQs
    padded with NaN, the counts, and the below-LLOQ mask inside each row only."""
    problems = [passot_problem(60.0), passot_problem(70.0), passot_problem(80.0)]
    observations = [
        _obs(np.array([42.0, 98.0]), np.array([5.0, NAN]), np.array([NAN, 0.1])),
        _obs(np.zeros(0), np.zeros(0), np.zeros(0)),
        _obs(np.array([14.0, 42.0, 98.0]), np.array([20.0, 6.0, 2.0]), np.full(3, NAN)),
    ]
    packed = compiled.pack(problems, observations)
    assert packed is not None
    np.testing.assert_array_equal(packed.n_obs, [2, 0, 3])
    np.testing.assert_array_equal(packed.obs_t, [[42.0, 98.0, NAN], [NAN, NAN, NAN], [14.0, 42.0, 98.0]])
    np.testing.assert_array_equal(packed.y, [[5.0, NAN, NAN], [NAN, NAN, NAN], [20.0, 6.0, 2.0]])
    np.testing.assert_array_equal(packed.lloq, [[NAN, 0.1, NAN], [NAN, NAN, NAN], [NAN, NAN, NAN]])
    np.testing.assert_array_equal(packed.blq, [[False, True, False], [False, False, False], [False, False, False]])
    # typical values: the model's CL and V1 at each weight, one row per patient (1-compartment: Q 0, V2 1)
    for p, pr in enumerate(problems):
        assert packed.tv[p, 0] == pr.typical["CL"][0] and packed.tv[p, 1] == pr.typical["V1"][0]
    np.testing.assert_array_equal(packed.tv[:, 2:], [[0.0, 1.0]] * 3)


def test_levels_given_as_lists_scalars_or_rows_pack_as_arrays_do():
    """Inputs the one-concatenation path declines (a 0-d time, (1, T) rows) or converts (lists,
    integer days) pack to the same arrays as 1-D float arrays do."""
    problems = [passot_problem(60.0), passot_problem(75.0)]
    reference = [
        _obs(np.array([42.0]), np.array([5.0]), np.array([NAN])),
        _obs(np.array([42.0, 98.0]), np.array([6.0, NAN]), np.array([NAN, 0.1])),
    ]
    variants = {
        "lists, integer days": [
            _obs([42], [5.0], [NAN]),
            _obs([42, 98], [6.0, NAN], [NAN, 0.1]),
        ],
        "a 0-d level": [
            _obs(np.array(42.0), np.array(5.0), np.array(NAN)),
            reference[1],
        ],
        "(1, T) rows": [
            _obs(np.array([[42.0]]), np.array([[5.0]]), np.array([[NAN]])),
            _obs(np.array([[42.0, 98.0]]), np.array([[6.0, NAN]]), np.array([[NAN, 0.1]])),
        ],
    }
    want = compiled.pack(problems, reference)
    for name, observations in variants.items():
        got = compiled.pack(problems, observations)
        for field in ("obs_t", "y", "lloq", "blq", "n_obs"):
            a, b = getattr(got, field), getattr(want, field)
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), (name, field)


def test_batch_pack_rows_equal_one_patient_packs():
    """Many patients with equal-length levels (the reshape path) and a ragged batch (the masked
    path): every row equals that patient's own pack."""
    rng = np.random.default_rng(3)
    problems, observations = [], []
    for i in range(12):
        n = 3 if i < 8 else int(rng.integers(0, 5))
        days = np.sort(rng.uniform(10.0, 150.0, n))
        values = np.where(rng.uniform(size=n) < 0.3, NAN, rng.uniform(0.5, 20.0, n))
        problems.append(passot_problem(float(rng.uniform(45, 95))))
        observations.append(_obs(days, values, np.where(np.isnan(values), 0.1, NAN)))
    for sl in (slice(0, 8), slice(0, 12)):
        packed = compiled.pack(problems[sl], observations[sl])
        for p, (pr, ob) in enumerate(zip(problems[sl], observations[sl])):
            one = compiled.pack([pr], [ob])
            n = int(one.n_obs[0])
            assert packed.n_obs[p] == n
            for field in ("obs_t", "y", "lloq", "blq"):
                assert np.array_equal(getattr(packed, field)[p, :n], getattr(one, field)[0, :n], equal_nan=True)
            assert np.all(np.isnan(packed.obs_t[p, n:])) and not np.any(packed.blq[p, n:])
            assert np.array_equal(packed.tv[p], one.tv[0])


def _hand_fits():
    """Compiled stages 1-2 written by hand for 3 patients, k = 2: patient 0 three starts (the
    second best), patient 1 two starts (one joined), patient 2 one start and no levels."""
    P, k = 3, 2
    fits = compiled.Fits(
        screen_ofv=np.array([[12.0, 13.0], [8.0, 9.0], [0.0, 1.0]]),
        starts=np.zeros((P, 4, k)),
        xs=np.zeros((P, 4, k)),
        fs=np.full((P, 4), np.inf),
        gs=np.zeros((P, 4, k)),
        status=np.zeros((P, 4), np.int64),
        iters=np.zeros((P, 4), np.int64),
        n_starts=np.array([3, 2, 1]),
        global_search=np.zeros(P, np.bool_),
        n_evaluations=np.array([40, 31, 21]),
    )
    fits.starts[0, :3] = [[0.1, 0.2], [0.0, 0.0], [-0.3, 0.4]]
    fits.xs[0, :3] = [[0.25, -0.125], [0.25, -0.125 + 1e-9], [0.25, -0.125]]
    fits.fs[0, :3] = [10.0 + 1e-6, 10.0, 10.0 + 2e-6]
    fits.gs[0, :3] = [[3e-7, 4e-7], [0.0, 6e-8], [1e-7, 0.0]]
    fits.status[0, :3], fits.iters[0, :3] = [0, 1, 10], [5, 6, 2]
    fits.starts[1, :2] = [[0.5, 0.5], [0.0, 0.0]]
    fits.xs[1, :2] = [[-0.5, 0.75], [-0.5, 0.75]]
    fits.fs[1, :2] = [7.5, 7.5]
    fits.gs[1, :2] = [[0.0, 1e-8], [2e-8, 0.0]]
    fits.status[1, :2], fits.iters[1, :2] = [0, 11], [4, 3]
    fits.fs[2, 0], fits.iters[2, 0] = 0.0, 0
    return fits


def test_batch_results_equal_the_one_patient_finish_and_hand_values():
    problems = [passot_problem(60.0), passot_problem(70.0), passot_problem(80.0)]
    observations = [
        _obs(np.array([42.0, 98.0]), np.array([5.0, 2.0]), np.full(2, NAN)),
        _obs(np.array([42.0]), np.array([4.0]), np.full(1, NAN)),
        _obs(np.zeros(0), np.zeros(0), np.zeros(0)),
    ]
    fits = _hand_fits()
    omega = problems[0].model.omega
    omega_inv, L, _, _ = map_._prior_geometry(omega)
    batch = map_._finish_batch(problems, observations, fits, omega, omega_inv, L, np.array([2, 1, 0]))
    for p, (pr, ob) in enumerate(zip(problems, observations)):
        one = map_._finish_compiled(pr, ob, fits, p, omega, omega_inv, L)
        got = batch[p]
        assert isinstance(got, map_._BatchMapResult)  # every patient took the bulk path
        assert np.array_equal(got.eta, one.eta)
        assert (got.ofv, got.ofv_prior_mode, got.gradient_norm, got.n_evaluations) == (
            one.ofv,
            one.ofv_prior_mode,
            one.gradient_norm,
            one.n_evaluations,
        )
        assert got.starts == one.starts and got.warnings == one.warnings
    # by hand: patient 0's best is its second start (OFV 10.0), gradient norm |(0, 6e-8)|
    r0 = batch[0]
    assert r0.ofv == 10.0 and r0.gradient_norm == 6e-8 and r0.ofv_prior_mode == 12.0
    np.testing.assert_array_equal(r0.eta, [0.25, -0.125 + 1e-9])
    assert [s["message"] for s in r0.starts] == [
        "converged in 5 iterations",
        "converged in 6 iterations (Newton decrement below round-off)",
        "joined start 1 after 2 iterations",
    ]
    assert r0.starts[2] == {
        "start": [-0.3, 0.4],
        "ofv": 10.0 + 2e-6,
        "gradient_norm": 1e-7,
        "message": "joined start 1 after 2 iterations",
        "eta": [0.25, -0.125],
    }
    assert batch[1].starts[1]["message"] == "joined start 2 after 3 iterations"
    assert batch[2].warnings == ["no drug levels: the estimate is the population prior"]
    assert batch[0].warnings == [] and batch[0].warnings is not batch[1].warnings


def test_batch_results_pickle_and_copy_as_plain_results():
    """A batch result travels (Dask, a cache) as a plain MapResult with its records built,
    not with a reference to the whole batch's arrays."""
    problems = [passot_problem(60.0), passot_problem(70.0), passot_problem(80.0)]
    observations = [
        _obs(np.array([42.0, 98.0]), np.array([5.0, 2.0]), np.full(2, NAN)),
        _obs(np.array([42.0]), np.array([4.0]), np.full(1, NAN)),
        _obs(np.zeros(0), np.zeros(0), np.zeros(0)),
    ]
    omega = problems[0].model.omega
    omega_inv, L, _, _ = map_._prior_geometry(omega)
    batch = map_._finish_batch(problems, observations, _hand_fits(), omega, omega_inv, L, np.array([2, 1, 0]))
    for r in batch:
        for back in (pickle.loads(pickle.dumps(r)), copy.deepcopy(r)):
            assert type(back) is map_.MapResult
            assert np.array_equal(back.eta, r.eta) and back.starts == r.starts and back.warnings == r.warnings
            assert (back.ofv, back.ofv_prior_mode, back.gradient_norm, back.n_evaluations) == (
                r.ofv,
                r.ofv_prior_mode,
                r.gradient_norm,
                r.n_evaluations,
            )
        assert "MapResult(" in repr(r) and "'message'" in repr(r)
        changed = dataclasses.replace(r, ofv=r.ofv + 1.0)
        assert changed.ofv == r.ofv + 1.0 and changed.starts == r.starts and np.array_equal(changed.eta, r.eta)
