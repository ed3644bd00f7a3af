"""ODE engine: numerical integration with scipy for any model, linear or not.

Used for target-mediated (TMDD) models, for the rare linear patients whose eigenvectors
are ill-conditioned, and as the independent reference for the closed form in tests.
The integration is split at every event (covariate switch, observation, infusion start
and end), so inputs are constant on each piece; events at equal times follow the order
of :mod:`ifxdose.core.pk.events`.

Tolerances: ``rtol`` 1e-10 and ``atol`` 1e-14 mg (states) by default, method LSODA
(stiff-aware: TMDD models carry fast target turnover, e.g. KDEG 20/day). Pass looser
tolerances for speed when 1e-6 agreement is not needed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ifxdose.core.pk.events import DOSE, NOOP, OBS, ROUTE_SC, SWITCH, DoseTable, build_schedule
from ifxdose.core.pk.linear import n_states, rate_matrix

#: 1 nM infliximab in mg/L (Ternant 2021 Appendix A).
MG_L_PER_NM = 0.1442


def _qss_free(ctot: Any, rtot: Any, kss: float) -> Any:
    """Free drug from the quasi-steady-state quadratic (Gibiansky 2008 QSS approximation)."""
    b = ctot - rtot - kss
    return 0.5 * (b + np.sqrt(np.maximum(b * b + 4.0 * kss * ctot, 0.0)))


#: (n_states, rhs(A, input_rate), observe(A) -> mg/L, initial state)
System = tuple[int, Callable[[np.ndarray, np.ndarray], np.ndarray], Callable[[np.ndarray], Any], np.ndarray]


def _system(structure: str, p: dict[str, float]) -> System:
    """Return (n_states, rhs(A, input_rate), observe(A) -> mg/L, initial state)."""
    if structure in ("1cmt", "2cmt", "3cmt"):
        K = rate_matrix(structure, {k: np.asarray(v) for k, v in p.items()})
        n = K.shape[0]
        return n, (lambda A, r: K @ A + r), (lambda A: A[0] / p["V1"]), np.zeros(n)
    cl, v1, q, v2 = p["CL"], p["V1"], p["Q"], p["V2"]
    if structure == "2cmt_tmdd_qss":  # Berends 2019 eqs 9-13, concentrations in mg/L
        kss, kint, kdeg, bmax = p["KSS"], p["KINT"], p["KDEG"], p["BMAX"]

        def rhs(A: np.ndarray, r: np.ndarray) -> np.ndarray:
            ctot = A[0] / v1
            cf = _qss_free(ctot, A[2], kss)
            cplx = A[2] * cf / (kss + cf)
            return np.array(
                [
                    -cl * cf - q * cf + q / v2 * A[1] - kint * v1 * cplx + r[0],
                    q * cf - q / v2 * A[1],
                    kdeg * bmax - kdeg * A[2] - (kint - kdeg) * cplx,
                ]
            )

        return 3, rhs, (lambda A: A[0] / v1), np.array([0.0, 0.0, bmax])
    if structure == "2cmt_double_tmdd_qss":  # Ternant 2021 Appendix A (molar, referenced to V1)
        k10, k12, k21 = cl / v1, q / v1, q / v2
        kss, kint, kss_p, kint_p, kdeg = p["KSS"], p["KINT"], p["KSS_P"], p["KINT_P"], p["KDEG"]
        r0, r0_p = p["R0"], p["R0_P"]
        to_nm = 1.0 / (v1 * MG_L_PER_NM)

        def rhs(A: np.ndarray, r: np.ndarray) -> np.ndarray:
            c, cp = A[0] * to_nm, A[1] * to_nm
            cf, cpf = _qss_free(c, A[2], kss), _qss_free(cp, A[3], kss_p)
            dc = -k10 * cf - k12 * cf + k21 * cpf - kint * (c - cf)
            dcp = k12 * cf - k21 * cpf - kint_p * (cp - cpf)
            return np.array(
                [
                    dc / to_nm + r[0],
                    dcp / to_nm,
                    r0 * kdeg - kdeg * (A[2] - c + cf) - kint * (c - cf),
                    r0_p * kdeg - kdeg * (A[3] - cp + cpf) - kint_p * (cp - cpf),
                ]
            )

        def observe(A: np.ndarray) -> Any:  # unbound infliximab (the Tours ELISA measures free drug)
            return _qss_free(A[0] * to_nm, A[2], kss) * MG_L_PER_NM

        return 4, rhs, observe, np.array([0.0, 0.0, r0, r0_p])
    raise ValueError(f"unknown structure {structure!r}")


def simulate_ode(
    structure: str,
    params: dict[str, np.ndarray],
    segment_start_days: np.ndarray,
    doses: DoseTable,
    obs_days: np.ndarray,
    rtol: float = 1e-10,
    atol: float = 1e-14,
    patients: np.ndarray | None = None,
) -> np.ndarray:
    """Concentrations (P, T) in mg/L by piecewise ODE integration (one patient at a time).

    ``patients`` restricts the work to those rows (others stay NaN).
    """
    from scipy.integrate import solve_ivp  # here, not at import: scipy.integrate costs ~1 s of CLI start-up

    P = doses.n_patients
    obs_days = np.broadcast_to(obs_days, (P, np.shape(obs_days)[-1]))
    T = obs_days.shape[1]
    conc = np.full((P, T), np.nan)
    times, kinds, payload = build_schedule(doses, segment_start_days, obs_days)
    linear = structure in ("1cmt", "2cmt", "3cmt")
    for i in range(P) if patients is None else patients:

        def seg_params(s: int) -> dict[str, float]:
            return {k: float(v[i, s]) for k, v in params.items()}

        p = seg_params(0)
        n, rhs, observe, state = _system(structure, p)
        depot = n_states(structure, True) - 1 if linear and "KA" in p else None
        rate = np.zeros(n)
        active = np.zeros(n, dtype=int)
        t_prev = times[i, 0] if np.isfinite(times[i, 0]) else 0.0
        for t, kind, pl in zip(times[i], kinds[i], payload[i]):
            if kind == NOOP or not np.isfinite(t):
                continue
            if t > t_prev and (np.any(state != 0) or np.any(rate != 0) or not linear):
                sol = solve_ivp(lambda _t, A: rhs(A, rate), (t_prev, t), state, method="LSODA", rtol=rtol, atol=atol)
                if not sol.success:
                    raise RuntimeError(f"ODE integration failed for patient {i}: {sol.message}")
                state = sol.y[:, -1]
            t_prev = max(t_prev, t)
            if kind == OBS:
                conc[i, pl] = observe(state)
            elif kind == SWITCH:
                p = seg_params(pl)
                _, rhs, observe, _ = _system(structure, p)
            else:
                sc = doses.route[i, pl] == ROUTE_SC
                comp = depot if sc else 0
                amount = doses.amount_mg[i, pl] * (p.get("F", 1.0) if sc else 1.0)
                dur = doses.duration_days[i, pl]
                if dur > 0:
                    sign = 1 if kind == DOSE else -1
                    active[comp] += sign
                    rate[comp] = 0.0 if active[comp] == 0 else rate[comp] + sign * amount / dur
                elif kind == DOSE:
                    state = state.copy()
                    state[comp] += amount
    return conc
