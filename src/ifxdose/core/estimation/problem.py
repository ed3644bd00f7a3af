"""One patient's dosing and covariate history, prepared once, predicted for many etas.

Estimation evaluates the same patient under thousands of random-effect vectors (starts,
finite differences, SIR proposals, posterior predictions). Everything that does not
depend on eta — typical parameters per covariate segment, the checked dose table, the
sorted event schedule — is computed here once; :meth:`Problem.predict` then runs the
exact closed form for a whole batch of etas in one vectorised pass (ODE for TMDD models).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ifxdose.core.pk.dose import Dose
from ifxdose.core.pk.events import DoseTable
from ifxdose.core.pk.linear import shared_schedule, simulate_shared, superpose, superpose_geometry
from ifxdose.core.pk.model import PKModel
from ifxdose.core.pk.simulate import simulate_concentrations

#: Superposition (no event loop) is used up to this many (eta x dose x time) cells.
SUPERPOSE_MAX_CELLS = 2_000_000


class ComplexStepUnsupported(Exception):
    """A complex-step evaluation met a path that is not analytic in eta (the ODE engine)."""


def _as_eta(eta: np.ndarray) -> np.ndarray:
    """(N, k) float array, or complex for complex-step derivatives."""
    eta = np.atleast_2d(np.asarray(eta))
    return eta if np.iscomplexobj(eta) else eta.astype(float)


class Problem:
    """A patient: model, covariate segments, doses. Predicts concentrations for eta batches."""

    def __init__(
        self,
        model: PKModel,
        segment_start_days: np.ndarray,
        covariate_values: dict[str, np.ndarray],
        doses: Sequence[Dose | tuple[float, float, float, int]],
    ) -> None:
        """``doses``: typed :class:`~ifxdose.core.pk.dose.Dose` values (the domain's form), or the
        kernel's coded ``(time_days, amount_mg, duration_days, route code)`` tuples; kept coded."""
        self.model = model
        self.segment_start_days = np.asarray(segment_start_days, float)
        self.covariate_values = {k: np.asarray(v, float) for k, v in covariate_values.items()}
        self.typical = model.typical_parameters(self.covariate_values)  # name -> (S,)
        S = self.segment_start_days.size
        self.typical = {k: np.broadcast_to(v, (S,)) for k, v in self.typical.items()}
        self.doses = [d.coded() if isinstance(d, Dose) else d for d in doses]
        self._table = DoseTable.from_lists([self.doses])  # validated once
        self._schedules: dict[tuple[Any, ...], Any] = {}  # geometry dicts and event schedules
        self._eta_index = {name: i for i, name in enumerate(model.eta_parameters)}
        self.omega_inv = np.linalg.inv(model.omega)

    @property
    def n_eta(self) -> int:
        return len(self.model.eta_parameters)

    @property
    def omega(self) -> np.ndarray:
        return self.model.omega

    @property
    def eta_names(self) -> tuple[str, ...]:
        return self.model.eta_parameters

    def parameters(self, eta: np.ndarray) -> dict[str, np.ndarray]:
        """Individual parameters (N, S) for etas (N, k)."""
        eta = _as_eta(eta)
        varied = self._eta_index
        out = {
            k: (
                v[None, :] * np.exp(eta[:, varied[k] : varied[k] + 1])
                if k in varied
                else np.broadcast_to(v, (eta.shape[0], v.size))
            )
            for k, v in self.typical.items()
        }
        return out

    def predict(self, eta: np.ndarray, times_days: np.ndarray) -> np.ndarray:
        """Concentrations (N, T) in mg/L for N eta vectors at the given times (complex etas:
        complex step through the closed form; :class:`ComplexStepUnsupported` if the ODE is needed)."""
        eta = _as_eta(eta)
        cplx = np.iscomplexobj(eta)
        times = np.asarray(times_days, float)
        N = eta.shape[0]
        params = self.parameters(eta)
        t = self._table
        if (
            self.model.is_linear
            and self.segment_start_days.size == 1
            and N * t.time_days.shape[1] * times.size <= SUPERPOSE_MAX_CELLS
        ):
            key = ("superpose", times.tobytes())
            if key not in self._schedules:
                self._schedules[key] = superpose_geometry(t.time_days[0], t.duration_days[0], times)
            conc, ill = superpose(
                self.model.structure,
                {k: v[:, 0] for k, v in params.items()},
                t.time_days[0],
                t.amount_mg[0],
                t.duration_days[0],
                t.route[0],
                times,
                self._schedules[key],
            )
            if not ill.any():
                return conc
        doses = DoseTable(
            *(np.broadcast_to(a, (N, a.shape[1])) for a in (t.time_days, t.amount_mg, t.duration_days, t.route))
        )
        seg = np.broadcast_to(self.segment_start_days, (N, self.segment_start_days.size))
        if not self.model.is_linear:
            if cplx:
                raise ComplexStepUnsupported("the ODE engine is real")
            return simulate_concentrations(
                self.model, {k: np.ascontiguousarray(v) for k, v in params.items()}, seg, doses, times, engine="ode"
            )
        key = tuple(times.tolist())
        if key not in self._schedules:
            self._schedules[key] = shared_schedule(self._table, self.segment_start_days[None, :], times)
        conc, ill = simulate_shared(self.model.structure, params, doses, times.size, self._schedules[key])
        if ill.any():  # rare: ill-conditioned eigenvectors, use the ODE for those etas
            if cplx:
                raise ComplexStepUnsupported("ill-conditioned eigenvectors go to the (real) ODE engine")
            idx = np.nonzero(ill)[0]
            sub = {k: np.ascontiguousarray(v[idx]) for k, v in params.items()}
            sub_doses = DoseTable(
                *(a[idx] for a in (doses.time_days, doses.amount_mg, doses.duration_days, doses.route))
            )
            conc[idx] = simulate_concentrations(self.model, sub, seg[idx], sub_doses, times, engine="ode")
        return np.asarray(conc)
