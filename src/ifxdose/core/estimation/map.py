"""Maximum a posteriori (empirical Bayes) estimation, in named stages with checks.

Stages (after mapbayr, without its silent fallbacks):
1. screen: evaluate the OFV at the prior mode, at +-1.5 SD along every axis and at 16
   quasi-random (scrambled Sobol) points of the prior, in one batch;
2. optimise: a damped Newton method with backtracking line search (Nocedal & Wright,
   Numerical Optimization, 2nd ed., ch. 3; Hessian shifted to positive definite, step
   capped at 2 eta units) from the best screened point, the prior mode and the best
   screened point of another region (whitened distance > 1), all starts at once:
   gradient and Hessian by central differences, all points of one iteration of every
   start evaluated in one vectorised batch;
2b. certificate: if two starts reach optima whose OFVs differ by more than 1e-3 the
   posterior is multimodal: a coarse global search (differential evolution over +-4 prior
   SD, vectorised) adds a start, the best optimum is kept and a warning lists the optima;
3. check: finite OFV; gradient norm small; no eta beyond 5 SD (a bound hit); the solution
   no worse than the prior mode.
A failed check raises :class:`EstimationError` with the reason: never a silent answer.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.optimize import differential_evolution
from scipy.special import ndtri
from scipy.stats import qmc

from ifxdose.core.estimation import compiled as _compiled
from ifxdose.core.estimation.objective import Observations, objective
from ifxdose.core.estimation.problem import ComplexStepUnsupported, Problem

#: A :class:`Problem` or a general-language ``GeneralProblem`` (duck-typed: ``n_eta``, ``omega``,
#: ``eta_names`` and predictions through :func:`objective`), and its observations.
AnyProblem = Any
AnyObservations = Any

FD_STEP = 1e-5  #: central-difference step in eta units
MAX_ABS_Z = 5.0  #: Assumption (numerical check, not literature): an eta beyond 5 prior SDs is a bound hit


class EstimationError(RuntimeError):
    """MAP estimation failed a check; the message says which and why."""


@dataclass(frozen=True)
class MapResult:
    eta: np.ndarray
    ofv: float
    ofv_prior_mode: float
    gradient_norm: float
    n_evaluations: int
    starts: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # a MapResult only exists if every check passed


class _BatchRuns:
    """The compiled batch's per-start records (:class:`MapResult.starts`) for every patient,
    built for one patient when its result's ``starts`` is first read."""

    def __init__(self, fits: _compiled.Fits, norms: np.ndarray, n_runs: np.ndarray) -> None:
        self.fits, self.norms, self.n_runs = fits, norms, n_runs

    def records(self, p: int) -> list[dict[str, Any]]:
        """Patient p's records, as :func:`_finish` builds them from :func:`_compiled_runs`."""
        f, n = self.fits, int(self.n_runs[p])
        starts, xs, fs, norms = f.starts[p, :n].tolist(), f.xs[p, :n].tolist(), f.fs[p, :n].tolist(), self.norms[p]
        msgs = _compiled.messages(f.status[p, :n], f.iters[p, :n], MAX_ITER)
        return [
            {"start": starts[c], "ofv": fs[c], "gradient_norm": float(norms[c]), "message": msgs[c], "eta": xs[c]}
            for c in range(n)
        ]


class _BatchMapResult(MapResult):
    """A :class:`MapResult` from a compiled batch whose run records (``starts``) are assembled
    on first access from the batch's arrays, not for all patients up front (4,000 subjects:
    ~12,000 dicts and lists the caller mostly never reads). Equal field for field to the one-by-one
    result; pickles and copies as a plain :class:`MapResult`."""

    @classmethod
    def lazy(
        cls,
        eta: np.ndarray,
        ofv: float,
        ofv_prior_mode: float,
        gradient_norm: float,
        n_evaluations: int,
        warnings: list[str],
        runs: _BatchRuns,
        p: int,
    ) -> "_BatchMapResult":
        """Patient p's result, its records left in ``runs`` until read (one dict per result)."""
        self = object.__new__(cls)
        object.__setattr__(
            self,
            "__dict__",
            {
                "eta": eta,
                "ofv": ofv,
                "ofv_prior_mode": ofv_prior_mode,
                "gradient_norm": gradient_norm,
                "n_evaluations": n_evaluations,
                "warnings": warnings,
                "_runs": runs,
                "_p": p,
            },
        )
        return self

    @property
    def starts(self) -> list[dict[str, Any]]:
        d = self.__dict__
        if "_starts" not in d:
            d["_starts"] = d["_runs"].records(d["_p"])
        out: list[dict[str, Any]] = d["_starts"]
        return out

    @starts.setter
    def starts(self, value: list[dict[str, Any]]) -> None:
        # only the dataclass __init__ sets it (dataclasses.replace builds a new result that way)
        self.__dict__["_starts"] = value

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            MapResult,
            (
                self.eta,
                self.ofv,
                self.ofv_prior_mode,
                self.gradient_norm,
                self.n_evaluations,
                self.starts,
                self.warnings,
            ),
        )


#: Complex-step increment (Squire & Trapp, SIAM Rev 1998;40:110): Im f(x + i h) / h is f'(x)
#: to round-off for an analytic f; no subtraction, so h can be tiny.
CS_STEP = 1e-20
#: Assumption (numerical): Hessian = central differences of exact gradients with this step.
HESSIAN_STEP = 1e-4


def complex_step_ok(problem: AnyProblem) -> bool:
    """Whether the prediction path is analytic in eta with complex arithmetic: a library model
    with 1 or 2 states (closed-form eigenpairs; LAPACK's iterative eigensolver is not exact
    in the imaginary part, and the ODE engine is real)."""
    model = getattr(problem, "model", None)
    if model is None or hasattr(problem, "data_ofv") or not getattr(model, "is_linear", False):
        return False
    return model.structure == "2cmt" and not model.has_depot or model.structure == "1cmt"


class _Derivatives:
    """OFV, gradient and Hessian at batches of points, from one objective batch per call.

    Library models with 1-2 states: exact gradient by the complex step, Hessian by central
    differences of exact gradients ((1 + 2k) k complex points per point). Otherwise (general
    language, TMDD, 3 compartments): central differences of the OFV (1 + 2k + 2k(k-1) points).
    """

    def __init__(self, problem: AnyProblem, obs: AnyObservations, omega_inv: np.ndarray, counter: list[int]) -> None:
        k = problem.n_eta
        self.k, self.problem, self.obs, self.omega_inv, self.counter = k, problem, obs, omega_inv, counter
        self.complex = k > 0 and complex_step_ok(problem)
        h = FD_STEP * 10  # second differences need a larger step than first ones
        E = np.eye(k) * h
        pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
        self.pairs, self.h = pairs, h
        self.steps = np.vstack(
            [np.zeros(k), E, -E] + [np.array([E[i] + E[j], E[i] - E[j], -E[i] + E[j], -E[i] - E[j]]) for i, j in pairs]
        ).reshape(-1, k)
        I = np.eye(k)
        base = np.vstack([np.zeros(k), HESSIAN_STEP * I, -HESSIAN_STEP * I])  # (1 + 2k, k)
        self.cs_points = base[:, None, :] + 1j * CS_STEP * I[None, :, :]  # (1 + 2k, k, k)
        self._x: np.ndarray | None = None
        self.f: float = np.inf
        self.g: np.ndarray = np.zeros(k)
        self.H: np.ndarray = np.eye(k)

    def _eval(self, x: np.ndarray) -> None:
        if self._x is not None and np.array_equal(x, self._x):
            return
        self.many(np.asarray(x, float)[None, :])

    def _many_complex(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k, S = self.k, X.shape[0]
        pts = X[:, None, None, :] + self.cs_points[None]  # (S, 1 + 2k, k, k)
        try:
            v = objective(self.problem, self.obs, pts.reshape(-1, k), self.omega_inv)
        except ComplexStepUnsupported:  # e.g. an ill-conditioned patient routed to the (real) ODE
            self.complex = False
            return self._many_fd(X)
        self.counter[0] += S * (1 + 2 * k) * k
        v = v.reshape(S, 1 + 2 * k, k)
        f0 = v[:, 0, 0].real.copy()
        grads = v.imag / CS_STEP  # (S, 1 + 2k, k)
        G = grads[:, 0, :].copy()
        H = np.swapaxes((grads[:, 1 : k + 1, :] - grads[:, k + 1 :, :]) / (2 * HESSIAN_STEP), 1, 2)
        H = 0.5 * (H + np.swapaxes(H, 1, 2))
        bad = ~np.all(np.isfinite(v.real) & np.isfinite(grads), axis=(1, 2))
        f0 = np.where(bad, np.inf, f0)
        G[bad], H[bad] = 0.0, np.eye(k)
        return f0, G, H

    def _many_fd(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k, h, S = self.k, self.h, X.shape[0]
        v = objective(self.problem, self.obs, (X[:, None, :] + self.steps[None]).reshape(-1, k), self.omega_inv)
        self.counter[0] += S * len(self.steps)
        v = v.reshape(S, len(self.steps))
        f0, fp, fm = v[:, 0], v[:, 1 : k + 1], v[:, k + 1 : 2 * k + 1]
        H = np.zeros((S, k, k))
        idx = np.arange(k)
        H[:, idx, idx] = (fp - 2 * f0[:, None] + fm) / h**2
        for n, (i, j) in enumerate(self.pairs):
            pp, pm, mp, mm = (v[:, 2 * k + 1 + 4 * n + q] for q in range(4))
            H[:, i, j] = H[:, j, i] = (pp - pm - mp + mm) / (4 * h * h)
        G = (fp - fm) / (2 * h)
        bad = ~np.all(np.isfinite(v), axis=1)
        f0 = np.where(bad, np.inf, f0)
        G[bad], H[bad] = 0.0, np.eye(k)
        return f0, G, H

    def many(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """OFV (S,), gradients (S, k), Hessians (S, k, k) at S points from one objective batch."""
        f0, G, H = self._many_complex(X) if self.complex else self._many_fd(X)
        s = X.shape[0] - 1  # cache the last point for fun/jac/hess
        self._x, self.f, self.g, self.H = X[s].copy(), float(f0[s]), G[s].copy(), H[s].copy()
        return f0, G, H

    def fun(self, x: np.ndarray) -> float:
        self._eval(x)
        return self.f

    def jac(self, x: np.ndarray) -> np.ndarray:
        self._eval(x)
        return self.g

    def hess(self, x: np.ndarray) -> np.ndarray:
        self._eval(x)
        return self.H


def _newton(d: _Derivatives, x0: np.ndarray, gtol: float = 1e-6, max_iter: int = 100) -> tuple[np.ndarray, str]:
    """Damped Newton with Armijo backtracking from one start; returns (x, message)."""
    xs, messages, _, _ = _newton_multi(d, np.atleast_2d(x0), gtol, max_iter)
    return xs[0], messages[0]


def _newton_step(g: np.ndarray, H: np.ndarray) -> np.ndarray:
    w = np.linalg.eigvalsh(H)
    if w.min() <= 1e-8 * max(1.0, abs(w).max()):
        H = H + (abs(w.min()) + 1e-3 * max(1.0, abs(w).max())) * np.eye(len(g))
    step = -np.linalg.solve(H, g)
    norm = np.linalg.norm(step)
    return step * (2.0 / norm) if norm > 2.0 else step


def _newton_multi(
    d: _Derivatives, X0: np.ndarray, gtol: float = 1e-6, max_iter: int = 100
) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """Damped Newton with Armijo backtracking from several starts at once.

    Every iteration evaluates the finite-difference stencils of all active starts (and,
    in the line search, of all pending trial points) in one vectorised objective batch.
    """
    X = np.array(X0, float)
    S = X.shape[0]
    F, G, H = d.many(X)
    messages = [""] * S
    joined: dict[int, int] = {}
    active = np.isfinite(F)

    def result() -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:  # a joined start reports its optimum
        for s_, t_ in sorted(joined.items()):
            X[s_], F[s_], G[s_] = X[t_], F[t_], G[t_]
        return X, messages, F, G

    for s in np.nonzero(~active)[0]:
        messages[s] = "objective not finite at the start"
    for it in range(max_iter):
        steps, slopes = np.zeros_like(X), np.zeros(S)
        for s in np.nonzero(active)[0]:  # a start that has reached another's point follows it no further
            near = [t for t in range(s) if np.isfinite(F[t]) and np.max(np.abs(X[t] - X[s])) < JOIN_TOL]
            if near:
                active[s], messages[s] = False, f"joined start {near[0] + 1} after {it} iterations"
                joined[int(s)] = near[0]
        for s in np.nonzero(active)[0]:
            if np.linalg.norm(G[s]) < gtol:
                active[s], messages[s] = False, f"converged in {it} iterations"
                continue
            steps[s] = _newton_step(G[s], H[s])
            slopes[s] = float(G[s] @ steps[s])
            if -slopes[s] < 1e-10:  # Newton decrement: the predicted gain is below round-off
                active[s], messages[s] = False, f"converged in {it} iterations (Newton decrement {-slopes[s]:.1e})"
        if not active.any():
            return result()
        t = np.where(active, 1.0, 0.0)
        pending = active.copy()
        while pending.any():
            idx = np.nonzero(pending)[0]
            f_new, g_new, H_new = d.many(X[idx] + t[idx, None] * steps[idx])
            for j, s in enumerate(idx):
                if np.isfinite(f_new[j]) and f_new[j] <= F[s] + 1e-4 * t[s] * slopes[s]:
                    X[s] = X[s] + t[s] * steps[s]
                    F[s], G[s], H[s] = f_new[j], g_new[j], H_new[j]
                    pending[s] = False
                else:
                    t[s] *= 0.5
                    if t[s] < 1e-6:
                        pending[s], active[s] = False, False
                        messages[s] = f"line search stalled after {it} iterations"
    for s in np.nonzero(active)[0]:
        messages[s] = f"stopped after {max_iter} iterations"
    return result()


#: Assumption (numerical design, not literature): 16 scrambled-Sobol points of the prior
#: (central 96% of each normal margin, correlated through the Cholesky factor of Omega) are
#: screened with the prior mode and the +-1.5 SD axis points, all in one batch.
N_QUASI = 16
#: Assumption (numerical): two optima whose OFVs differ by more than this disagree.
OFV_TOL = 1e-3
#: Assumption (numerical): a start within this distance (every eta) of an earlier start's
#: current point is in its basin; it stops and the earlier start finishes the work.
JOIN_TOL = 1e-3


@lru_cache(maxsize=32)
def _quasi_normal(k: int) -> np.ndarray:
    u = qmc.Sobol(k, scramble=True, seed=20261130).random(N_QUASI)
    return np.asarray(ndtri(0.02 + 0.96 * u), float)


_GEOMETRY: dict[bytes, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}


def _prior_geometry(omega: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Omega^-1, its Cholesky factor L, the screening points and their whitened form, computed
    once per Omega (shared, not to be modified)."""
    omega = np.ascontiguousarray(omega, float)
    key = omega.tobytes() + str(omega.shape).encode()
    if key not in _GEOMETRY:
        L = np.linalg.cholesky(omega)
        screen = _screen_points(omega)
        if len(_GEOMETRY) > 64:
            _GEOMETRY.clear()
        _GEOMETRY[key] = (np.linalg.inv(omega), L, screen, np.linalg.solve(L, screen.T).T)
    return _GEOMETRY[key]


def _screen_points(omega: np.ndarray) -> np.ndarray:
    k = omega.shape[0]
    sd = np.sqrt(np.diag(omega))
    L = np.linalg.cholesky(omega)
    return np.vstack([np.zeros(k), 1.5 * np.diag(sd), -1.5 * np.diag(sd), _quasi_normal(k) @ L.T])


def _global_search(
    problem: AnyProblem, obs: AnyObservations, omega_inv: np.ndarray, L: np.ndarray, counter: list[int], seed: int = 0
) -> np.ndarray:
    """Differential evolution (Storn & Price 1997) over whitened etas in [-4, 4]^k, vectorised."""
    k = L.shape[0]

    def f(z: np.ndarray) -> np.ndarray:  # z (k, M) in scipy's vectorised convention
        counter[0] += z.shape[1]
        v = objective(problem, obs, (L @ z).T, omega_inv)
        return np.where(np.isfinite(v), v, 1e300)

    res = differential_evolution(
        f,
        [(-4.0, 4.0)] * k,
        vectorized=True,
        updating="deferred",
        seed=seed,
        popsize=max(10, 4 * k),
        maxiter=60,
        tol=1e-8,
        polish=False,
        init="sobol",
    )
    return np.asarray(L @ res.x, float)


def _stages_python(
    problem: AnyProblem,
    obs: AnyObservations,
    omega_inv: np.ndarray,
    L: np.ndarray,
    screen: np.ndarray,
    counter: list[int],
) -> tuple[float, list[dict[str, Any]], "_Derivatives"]:
    """Stages 1-2 on the NumPy path: (OFV at the prior mode, runs, derivative provider)."""
    screen_ofv = objective(problem, obs, screen, omega_inv)
    counter[0] += len(screen)
    ofv0 = float(screen_ofv[0])
    if not np.isfinite(ofv0) and not np.any(np.isfinite(screen_ofv)):
        raise EstimationError(NOTHING_FINITE)
    order = [int(i) for i in np.argsort(screen_ofv, kind="mergesort") if np.isfinite(screen_ofv[i])]
    chosen = [order[0]] + ([0] if order[0] != 0 else [])
    white = np.linalg.solve(L, screen.T).T
    far = [i for i in order if i not in chosen and np.all(np.linalg.norm(white[chosen] - white[i], axis=1) > 1.0)]
    if far and obs.n > 0:
        chosen.append(far[0])  # the best screened point of another region of the prior
    starts = screen[chosen]
    # stage 2: optimise from every start at once
    d = _Derivatives(problem, obs, omega_inv, counter)
    xs, messages, fs, gs = _newton_multi(d, starts)
    runs = [
        {"start": x0.tolist(), "eta": x, "ofv": float(f), "gradient_norm": float(np.linalg.norm(g)), "message": m}
        for x0, x, m, f, g in zip(starts, xs, messages, fs, gs)
    ]
    return ofv0, runs, d


NO_LEVELS_WARNING = "no drug levels: the estimate is the population prior"
NOTHING_FINITE = (
    "the objective is not finite at the prior mode or any screening point "
    "(check the levels against the doses: a level far above what any dose can give?)"
)
MAX_ITER = 100


def _gradient_norms(gs: np.ndarray) -> np.ndarray:
    """Euclidean norms over the last axis, one formula for one patient and for a batch (the
    batch's results must equal one-by-one fits bitwise)."""
    out: np.ndarray = np.sqrt(np.sum(gs * gs, axis=-1))
    return out


def _compiled_runs(fits: _compiled.Fits, p: int) -> tuple[float, list[dict[str, Any]]]:
    n = int(fits.n_starts[p]) + int(fits.global_search[p])
    msgs = _compiled.messages(fits.status[p, :n], fits.iters[p, :n], MAX_ITER)
    if fits.global_search[p]:
        msgs[-1] += " (global search)"
    norms = _gradient_norms(fits.gs[p, :n])
    runs = [
        {
            "start": fits.starts[p, c].tolist(),
            "eta": fits.xs[p, c].copy(),
            "ofv": float(fits.fs[p, c]),
            "gradient_norm": float(norms[c]),
            "message": msgs[c],
        }
        for c in range(n)
    ]
    return float(fits.screen_ofv[p, 0]), runs


def _finish_batch(
    problems: list[Problem],
    observations: list[Observations],
    fits: _compiled.Fits,
    omega: np.ndarray,
    omega_inv: np.ndarray,
    L: np.ndarray,
    n_obs: np.ndarray,
) -> list[MapResult | EstimationError]:
    """Stages 2b-3 for a batch (``n_obs``: levels per patient). The common case (every start
    reached the same optimum, every check passes) is decided for all patients at once with the
    same comparisons as :func:`_finish` and its result built from bulk-converted arrays, its
    run records only when read (:class:`_BatchMapResult`); any other patient
    (multimodal, a failed check, nothing finite, ill-conditioned) goes through
    :func:`_finish_compiled` one by one, so results and errors equal one-by-one fits."""
    P = len(problems)
    n_runs = fits.n_starts + fits.global_search
    valid = np.arange(fits.fs.shape[1])[None, :] < n_runs[:, None]
    fs = np.where(valid, fits.fs, np.inf)
    best = np.argmin(fs, axis=1)  # the first minimum, as min() over the runs in order
    rows = np.arange(P)
    best_f = fs[rows, best]
    norms = _gradient_norms(fits.gs)
    best_eta = fits.xs[rows, best]
    ofv0 = fits.screen_ofv[:, 0]
    sd = np.sqrt(np.diag(omega))
    fast = (
        (fits.n_starts > 0)
        & ~fits.global_search
        & np.all(np.where(valid, np.isfinite(fits.fs), True), axis=1)
        & np.all(np.where(valid, fits.fs - best_f[:, None] <= OFV_TOL, True), axis=1)  # no disagreement
        & np.isfinite(best_f)
        & ~np.any(np.abs(best_eta) / sd > MAX_ABS_Z, axis=1)
        & ~(norms[rows, best] > 1e-3 * np.maximum(1.0, np.abs(best_f)))
        & ~(best_f > ofv0 + 1e-9)
    )
    runs = _BatchRuns(fits, norms, n_runs)
    fs_l, gn_l, ofv0_l, nev_l, fast_l, levels_l = (
        best_f.tolist(),
        norms[rows, best].tolist(),
        ofv0.tolist(),
        fits.n_evaluations.tolist(),
        fast.tolist(),
        (n_obs > 0).tolist(),
    )
    out: list[MapResult | EstimationError] = []
    for p, eta in enumerate(best_eta):  # rows of one fresh (P, k) array
        if not fast_l[p]:
            try:
                out.append(_finish_compiled(problems[p], observations[p], fits, p, omega, omega_inv, L))
            except EstimationError as exc:
                out.append(exc)
            continue
        warnings = [] if levels_l[p] else [NO_LEVELS_WARNING]
        out.append(_BatchMapResult.lazy(eta, fs_l[p], ofv0_l[p], gn_l[p], nev_l[p], warnings, runs, p))
    return out


def estimate_map(problem: AnyProblem, obs: AnyObservations) -> MapResult:
    """MAP estimate of the random effects for one patient (or one NM-TRAN subject).

    Stages 1-2 run compiled (:mod:`ifxdose.core.estimation.compiled`) when the problem is
    eligible and numba is loaded, else on the NumPy path; stages 2b-3 are shared."""
    omega = getattr(problem, "omega", problem.model.omega)
    omega_inv, L, screen, white = _prior_geometry(omega)
    if _compiled.eligible(problem) and _compiled.use_compiled(1):
        packed = _compiled.pack([problem], [obs], omega_inv)
        if packed is not None:
            fits = _compiled.fit(packed, screen, white, L, 1e-6, MAX_ITER)
            return _finish_compiled(problem, obs, fits, 0, omega, omega_inv, L)
    counter = [0]
    ofv0, runs, d = _stages_python(problem, obs, omega_inv, L, screen, counter)
    return _finish(problem, obs, ofv0, runs, d, omega, omega_inv, L, counter)


def _finish_compiled(
    problem: AnyProblem,
    obs: AnyObservations,
    fits: _compiled.Fits,
    p: int,
    omega: np.ndarray,
    omega_inv: np.ndarray,
    L: np.ndarray,
) -> MapResult:
    """Stages 2b-3 after compiled stages 1-2 (the NumPy path if the compiled one declined)."""
    n = int(fits.n_starts[p])
    counter = [0]
    if n < 0:  # ill-conditioned eigenvectors somewhere: the NumPy path routes those to the ODE
        ofv0, runs, d = _stages_python(problem, obs, omega_inv, L, _screen_points(omega), counter)
        return _finish(problem, obs, ofv0, runs, d, omega, omega_inv, L, counter)
    if n == 0:
        raise EstimationError(NOTHING_FINITE)
    ofv0, runs = _compiled_runs(fits, p)
    counter[0] = int(fits.n_evaluations[p])
    global_run = runs.pop() if fits.global_search[p] else None
    return _finish(problem, obs, ofv0, runs, None, omega, omega_inv, L, counter, global_run)


def estimate_map_batch(
    problems: list[Problem], observations: list[Observations], parallel: bool = True
) -> list[MapResult | EstimationError]:
    """MAP for many patients: the result (or the :class:`EstimationError`) of
    :func:`estimate_map` for each, in order. Eligible patients of one model run through the
    compiled stages 1-2 in one call (``parallel``: over threads); the rest one by one."""
    if len(problems) != len(observations):
        raise ValueError("one Observations per Problem")
    if _compiled.use_compiled(len(problems)):
        with _gc_paused():
            packed = _compiled.pack(problems, observations)
            if packed is not None:
                return _batch_compiled(problems, observations, packed, parallel)
    return _batch_one_by_one(problems, observations)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (restored on exit) while a batch packs its
    patients and assembles tens of thousands of small lists and dicts from the compiled
    results: each container allocation counts towards a collection, and a full collection
    walks every object of the process (measured: 0.03-0.35 s per 4,000-subject batch)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _batch_one_by_one(problems: list[Problem], observations: list[Observations]) -> list[MapResult | EstimationError]:
    out: list[MapResult | EstimationError] = []
    for pr, ob in zip(problems, observations):
        try:
            out.append(estimate_map(pr, ob))
        except EstimationError as exc:
            out.append(exc)
    return out


def _batch_compiled(
    problems: list[Problem], observations: list[Observations], packed: _compiled.Packed, parallel: bool
) -> list[MapResult | EstimationError]:
    """Compiled stages 1-2 for the packed batch, then stages 2b-3 (:func:`_finish_batch`)."""
    omega = problems[0].model.omega
    omega_inv, L, screen, white = _prior_geometry(omega)
    fits = _compiled.fit(packed, screen, white, L, 1e-6, MAX_ITER, parallel=parallel)
    return _finish_batch(problems, observations, fits, omega, omega_inv, L, packed.n_obs)


def _finish(
    problem: AnyProblem,
    obs: AnyObservations,
    ofv0: float,
    runs: list[dict[str, Any]],
    d: "_Derivatives | None",
    omega: np.ndarray,
    omega_inv: np.ndarray,
    L: np.ndarray,
    counter: list[int],
    global_run: dict[str, Any] | None = None,
) -> MapResult:
    """Stages 2b (multimodality certificate) and 3 (checks). ``global_run``: the compiled
    path's global-search run, when it made one."""
    names = getattr(problem, "eta_names", None) or problem.model.eta_parameters
    sd = np.sqrt(np.diag(omega))
    best = min(runs, key=lambda r: r["ofv"])
    warnings = []
    disagree = [r for r in runs if np.isfinite(r["ofv"]) and r["ofv"] - best["ofv"] > OFV_TOL]
    if disagree:
        # stage 2b: the posterior looks multimodal -> a coarse global search, then Newton from its point
        if global_run is not None:
            run_g = global_run
        else:
            if d is None:
                d = _Derivatives(problem, obs, omega_inv, counter)
            x_g = _global_search(problem, obs, omega_inv, L, counter)
            xg, mg, fg, gg = _newton_multi(d, x_g[None, :])
            run_g = {
                "start": x_g.tolist(),
                "eta": xg[0],
                "ofv": float(fg[0]),
                "gradient_norm": float(np.linalg.norm(gg[0])),
                "message": mg[0] + " (global search)",
            }
        runs.append(run_g)
        if run_g["ofv"] < best["ofv"] - OFV_TOL:
            best = run_g
        ofvs = sorted({round(r["ofv"], 3) for r in runs if np.isfinite(r["ofv"])})
        warnings.append(
            f"starts reached different optima (OFV {', '.join(f'{v:.3f}' for v in ofvs)}); the best "
            f"({best['ofv']:.3f}) is kept after a global search: the posterior is multimodal"
        )
    # stage 3: checks
    if not np.isfinite(best["ofv"]):
        raise EstimationError("the objective is not finite at the optimum")
    if np.any(np.abs(best["eta"]) / sd > MAX_ABS_Z):
        i = int(np.argmax(np.abs(best["eta"]) / sd))
        raise EstimationError(
            f"eta for {names[i]} went beyond {MAX_ABS_Z:g} prior SDs "
            f"({best['eta'][i] / sd[i]:+.1f}): the levels are implausible for this model "
            "(ADA not recorded? wrong dose or sample time?)"
        )
    if best["gradient_norm"] > 1e-3 * max(1.0, abs(best["ofv"])):
        raise EstimationError(
            f"the optimiser stopped with gradient norm {best['gradient_norm']:.2g} "
            f"({best['message']}); no reliable optimum"
        )
    if best["ofv"] > ofv0 + 1e-9:
        raise EstimationError("the optimum is worse than the prior mode: optimiser failure")
    if obs.n == 0:
        warnings.append(NO_LEVELS_WARNING)
    return MapResult(
        eta=np.asarray(best["eta"]),
        ofv=best["ofv"],
        ofv_prior_mode=ofv0,
        gradient_norm=best["gradient_norm"],
        n_evaluations=counter[0],
        starts=[{k_: v for k_, v in r.items() if k_ != "eta"} | {"eta": np.asarray(r["eta"]).tolist()} for r in runs],
        warnings=warnings,
    )
