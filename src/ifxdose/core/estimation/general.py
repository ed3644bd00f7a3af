"""Estimation for a general-language model on one subject's NM-TRAN records.

The random-effect vector is ``[eta (k), kappa occasion 1 (m), ..., kappa occasion O (m)]``
with prior covariance blockdiag(Omega, Omega_occ, ..., Omega_occ) (between-occasion
variability: an independent draw per occasion; Karlsson & Sheiner, J Pharmacokinet
Biopharm 1993;21:735). The data part of the objective is the same as for library models:
quantified levels ((y - f)/W)^2 + 2 ln W, below-LLOQ results by Beal's M3, with
W = the output's residual SD (0 replaced by ``ZERO_SD_REPLACEMENT``, core/pk/general.py), on the output's
own scale (for ``scale = "log"``: y = ln(level), f = ln(IPRED), additive W on that scale;
the LLOQ of a log-scale output is given on the log scale too, as the DV).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.linalg import block_diag
from scipy.special import log_ndtr

from ifxdose.core.errors import InputError
from ifxdose.core.pk.general import Engine, GeneralModel, Records

if TYPE_CHECKING:
    from ifxdose.core.estimation.map import MapResult


class _Obs:
    def __init__(self, n: int) -> None:
        self.n = n


class GeneralProblem:
    """One subject: predicts IPRED and W for batches of random-effect vectors."""

    def __init__(self, model: GeneralModel, records: Records) -> None:
        self.model, self.records = model, records
        self.engine = Engine(model, records)
        idx = records.observation_index
        self.dv = records.dv[idx]
        self.blq = records.blq[idx]
        self.lloq = records.lloq[idx]
        self.observations = _Obs(int(idx.size))
        k, m = len(model.eta_names), len(model.kappa_names)
        self.n_occasions = records.n_occasions if m else 0
        if m and records.n_occasions < 1:
            raise InputError(f"subject {records.id}", "OCC", "between-occasion variability needs an OCC column")
        self.omega = block_diag(model.omega_bsv, *([model.omega_bov] * self.n_occasions)) if k + m else np.zeros((0, 0))
        self.omega_inv = np.linalg.inv(self.omega) if self.omega.size else self.omega
        self.eta_names = model.eta_names + tuple(
            f"{n}_OCC{o + 1}" for o in range(self.n_occasions) for n in model.kappa_names
        )

    @property
    def n_eta(self) -> int:
        return self.omega.shape[0]

    def split(self, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        eta = np.atleast_2d(np.asarray(eta, float))
        k, m = len(self.model.eta_names), len(self.model.kappa_names)
        kappa = eta[:, k:].reshape(eta.shape[0], self.n_occasions, m) if m else None
        return eta[:, :k], kappa

    def predict_obs(self, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(IPRED, W), each (N, n_obs), on each output's scale."""
        e, kap = self.split(eta)
        return self.engine.predictions(e, kap)

    def data_ofv(self, eta: np.ndarray) -> np.ndarray:
        f, w = self.predict_obs(eta)
        total = np.zeros(f.shape[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            q = ~self.blq
            if q.any():
                z = (self.dv[q] - f[:, q]) / w[:, q]
                total = total + np.sum(z * z + 2.0 * np.log(w[:, q]), axis=1)
            if self.blq.any():
                total = total - 2.0 * np.sum(log_ndtr((self.lloq[self.blq] - f[:, self.blq]) / w[:, self.blq]), axis=1)
        return np.where(np.isfinite(total), total, np.inf)


def estimate_subject(model: GeneralModel, records: Records) -> tuple[GeneralProblem, MapResult]:
    """MAP of one NM-TRAN subject under a general-language model (see core/estimation/map.py)."""
    from ifxdose.core.estimation.map import estimate_map

    problem = GeneralProblem(model, records)
    return problem, estimate_map(problem, problem.observations)
