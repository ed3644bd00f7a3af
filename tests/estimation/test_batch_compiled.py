"""Batch MAP (compiled, threaded) equals sequential fits, field for field.

In its own file so that pytest-xdist (``--dist loadfile``) can give the threaded batch kernel's
compilation and the single-fit kernels' compilation (tests/estimation/test_gradients.py) to
different workers on a fresh clone (empty numba cache): docs/development.md.
"""

import numpy as np

from ifxdose.core.estimation import compiled, estimate_map
from ifxdose.core.estimation.map import EstimationError, estimate_map_batch

from .test_gradients import MODEL, obs, ra_problem


def _numpy_path(monkeypatch):
    monkeypatch.setattr(compiled, "use_compiled", lambda n: False)


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
