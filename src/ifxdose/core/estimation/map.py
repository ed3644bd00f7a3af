"""Maximum a posteriori (empirical Bayes) estimation, in named stages with checks.

Stages (after mapbayr, without its silent fallbacks):
1. screen: evaluate the OFV at the prior mode and at +-1.5 SD along every axis (one batch);
2. optimise: a damped Newton method with backtracking line search (Nocedal & Wright,
   Numerical Optimization, 2nd ed., ch. 3; Hessian shifted to positive definite, step
   capped at 2 eta units) from the best screened point and from the prior mode;
   gradient and Hessian by central differences, all points of one iteration evaluated in
   one vectorised batch (with two to five random effects a general-purpose optimiser's
   bookkeeping costs more than the objective itself);
3. check: finite OFV; gradient norm small; no eta beyond 5 SD (a bound hit); the solution
   no worse than the prior mode; starts agree (else a warning, best kept).
A failed check raises :class:`EstimationError` with the reason: never a silent answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ifxdose.core.estimation.objective import Observations, objective
from ifxdose.core.estimation.problem import Problem

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
    starts: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # a MapResult only exists if every check passed


class _Derivatives:
    """OFV, gradient and Hessian at x from one batch of 1 + 2k + 2k(k-1) points, cached by x."""

    def __init__(self, problem: Problem, obs: Observations, omega_inv: np.ndarray, counter: list[int]) -> None:
        k = problem.n_eta
        self.k, self.problem, self.obs, self.omega_inv, self.counter = k, problem, obs, omega_inv, counter
        h = FD_STEP * 10  # second differences need a larger step than first ones
        E = np.eye(k) * h
        pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
        self.pairs, self.h = pairs, h
        self.steps = np.vstack([np.zeros(k), E, -E] + [np.array([E[i] + E[j], E[i] - E[j], -E[i] + E[j], -E[i] - E[j]])
                                                        for i, j in pairs]).reshape(-1, k)
        self._x = None

    def _eval(self, x: np.ndarray) -> None:
        if self._x is not None and np.array_equal(x, self._x):
            return
        k, h = self.k, self.h
        v = objective(self.problem, self.obs, x[None, :] + self.steps, self.omega_inv)
        self.counter[0] += len(self.steps)
        self._x = x.copy()
        f0, fp, fm = v[0], v[1 : k + 1], v[k + 1 : 2 * k + 1]
        if not np.all(np.isfinite(v)):
            self.f, self.g, self.H = np.inf, np.zeros(k), np.eye(k)
            return
        H = np.diag((fp - 2 * f0 + fm) / h**2)
        for n, (i, j) in enumerate(self.pairs):
            pp, pm, mp, mm = v[2 * k + 1 + 4 * n : 2 * k + 5 + 4 * n]
            H[i, j] = H[j, i] = (pp - pm - mp + mm) / (4 * h * h)
        self.f, self.g, self.H = float(f0), (fp - fm) / (2 * h), H

    def fun(self, x):
        self._eval(x)
        return self.f

    def jac(self, x):
        self._eval(x)
        return self.g

    def hess(self, x):
        self._eval(x)
        return self.H


def _newton(d: _Derivatives, x0: np.ndarray, gtol: float = 1e-6, max_iter: int = 100) -> tuple[np.ndarray, str]:
    """Damped Newton with Armijo backtracking; returns (x, message)."""
    x = np.asarray(x0, float).copy()
    f = d.fun(x)
    if not np.isfinite(f):
        return x, "objective not finite at the start"
    for it in range(max_iter):
        g, H = d.jac(x).copy(), d.hess(x).copy()
        if np.linalg.norm(g) < gtol:
            return x, f"converged in {it} iterations"
        w = np.linalg.eigvalsh(H)
        if w.min() <= 1e-8 * max(1.0, abs(w).max()):
            H = H + (abs(w.min()) + 1e-3 * max(1.0, abs(w).max())) * np.eye(len(x))
        step = -np.linalg.solve(H, g)
        norm = np.linalg.norm(step)
        if norm > 2.0:
            step *= 2.0 / norm
        slope = float(g @ step)
        if -slope < 1e-10:  # Newton decrement: the predicted gain is below round-off
            return x, f"converged in {it} iterations (Newton decrement {-slope:.1e})"
        t = 1.0
        while True:
            x_new = x + t * step
            f_new = d.fun(x_new)
            if np.isfinite(f_new) and f_new <= f + 1e-4 * t * slope:
                break
            t *= 0.5
            if t < 1e-6:
                return x, f"line search stalled after {it} iterations"
        x, f = x_new, f_new
    return x, f"stopped after {max_iter} iterations"


def estimate_map(problem: Problem, obs: Observations) -> MapResult:
    """MAP estimate of the random effects for one patient."""
    model = problem.model
    k = problem.n_eta
    omega_inv = np.linalg.inv(model.omega)
    sd = np.sqrt(np.diag(model.omega))
    counter = [0]
    # stage 1: screen
    screen = np.vstack([np.zeros(k), 1.5 * np.diag(sd), -1.5 * np.diag(sd)])
    screen_ofv = objective(problem, obs, screen, omega_inv)
    counter[0] += len(screen)
    ofv0 = float(screen_ofv[0])
    if not np.isfinite(ofv0) and not np.any(np.isfinite(screen_ofv)):
        raise EstimationError("the objective is not finite at the prior mode or any screening point "
                              "(check the levels against the doses: a level far above what any dose can give?)")
    order = np.argsort(screen_ofv)
    starts = [screen[order[0]]] + ([np.zeros(k)] if order[0] != 0 else [])
    # stage 2: optimise
    d = _Derivatives(problem, obs, omega_inv, counter)
    runs = []
    for x0 in starts:
        x, message = _newton(d, x0)
        runs.append({"start": x0.tolist(), "eta": x, "ofv": d.fun(x), "gradient_norm": float(np.linalg.norm(d.jac(x))),
                     "message": message})
    best = min(runs, key=lambda r: r["ofv"])
    # stage 3: checks
    warnings = []
    if not np.isfinite(best["ofv"]):
        raise EstimationError("the objective is not finite at the optimum")
    if np.any(np.abs(best["eta"]) / sd > MAX_ABS_Z):
        i = int(np.argmax(np.abs(best["eta"]) / sd))
        raise EstimationError(f"eta for {model.eta_parameters[i]} went beyond {MAX_ABS_Z:g} prior SDs "
                              f"({best['eta'][i] / sd[i]:+.1f}): the levels are implausible for this model "
                              "(ADA not recorded? wrong dose or sample time?)")
    if best["gradient_norm"] > 1e-3 * max(1.0, abs(best["ofv"])):
        raise EstimationError(f"the optimiser stopped with gradient norm {best['gradient_norm']:.2g} "
                              f"({best['message']}); no reliable optimum")
    if best["ofv"] > ofv0 + 1e-9:
        raise EstimationError("the optimum is worse than the prior mode: optimiser failure")
    if len(runs) > 1 and abs(runs[0]["ofv"] - runs[1]["ofv"]) > 1e-3:
        warnings.append(f"starts reached different optima (OFV {runs[0]['ofv']:.4f} vs {runs[1]['ofv']:.4f}); "
                        "the best is kept: the posterior may be multimodal")
    if obs.n == 0:
        warnings.append("no drug levels: the estimate is the population prior")
    return MapResult(
        eta=np.asarray(best["eta"]),
        ofv=best["ofv"],
        ofv_prior_mode=ofv0,
        gradient_norm=best["gradient_norm"],
        n_evaluations=counter[0],
        starts=[{k_: v for k_, v in r.items() if k_ != "eta"} | {"eta": np.asarray(r["eta"]).tolist()} for r in runs],
        warnings=warnings,
    )
