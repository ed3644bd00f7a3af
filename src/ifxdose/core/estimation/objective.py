"""The MAP objective: -2 log posterior of the random effects (up to a constant).

For observations y_j with prediction f_j and residual SD s_j = sqrt(add^2 + (prop f_j)^2):

    OFV(eta) = sum_quantified [ ((y_j - f_j)/s_j)^2 + 2 ln s_j ]
             - 2 sum_below_LLOQ ln Phi((LLOQ_j - f_j)/s_j)          (Beal's M3)
             + eta' Omega^-1 eta

Beal SL. Ways to fit a PK model with some data below the quantification limit.
J Pharmacokinet Pharmacodyn 2001;28:481-504 (method M3). Below-LLOQ results enter as the
probability of being below the LLOQ, never as 0 or LLOQ/2. An SD of exactly 0
is replaced by ``ZERO_SD_REPLACEMENT_MG_L`` (NONMEM's ``IF (W.EQ.0) W = 1``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr

from ifxdose.core.estimation.problem import Problem

#: Assumption (the NONMEM control-stream idiom ``IF (W.EQ.0) W = 1``): a residual SD of
#: exactly 0 (proportional-only error where the model predicts exactly 0, e.g. a level at the
#: time of the first dose) is replaced by 1 mg/L. The term is then finite and, since the
#: prediction is 0 for every eta there, does not move the MAP. (A tiny floor instead would
#: add a huge constant that drowns the finite-difference derivatives in round-off.)
ZERO_SD_REPLACEMENT_MG_L = 1.0


@dataclass(frozen=True)
class Observations:
    """One patient's drug levels: times (days), values (mg/L; NaN when below LLOQ), LLOQs."""

    time_days: np.ndarray
    value_mg_l: np.ndarray
    lloq_mg_l: np.ndarray

    @property
    def below_lloq(self) -> np.ndarray:
        out: np.ndarray = np.isnan(self.value_mg_l)
        return out

    @property
    def n(self) -> int:
        return int(np.size(self.time_days))


def objective(problem: Problem, obs: Observations, eta: np.ndarray, omega_inv: np.ndarray | None = None) -> np.ndarray:
    """OFV (N,) for a batch of etas (N, k). Non-finite predictions give +inf. Complex etas
    (complex step) give the complex OFV, analytic in eta (log_ndtr and log are)."""
    eta = np.atleast_2d(np.asarray(eta))
    if not np.iscomplexobj(eta):
        eta = eta.astype(float)
    model = problem.model
    if omega_inv is None:
        omega_inv = problem.omega_inv
    total: np.ndarray = np.einsum("ni,ij,nj->n", eta, omega_inv, eta)
    if obs.n == 0:
        return total
    if hasattr(problem, "data_ofv"):  # a general-language model (core/estimation/general.py)
        with_data: np.ndarray = total + problem.data_ofv(eta)
        return with_data
    f = problem.predict(eta, obs.time_days)
    sd = np.sqrt(model.residual_additive_mg_l**2 + (model.residual_proportional * f) ** 2)
    sd = np.where(sd == 0.0, ZERO_SD_REPLACEMENT_MG_L, sd)
    blq = obs.below_lloq
    with np.errstate(divide="ignore", invalid="ignore"):
        if not blq.all():
            q = ~blq
            z = (obs.value_mg_l[q] - f[:, q]) / sd[:, q]
            total = total + np.sum(z * z + 2.0 * np.log(sd[:, q]), axis=1)
        if blq.any():
            total = total - 2.0 * np.sum(log_ndtr((obs.lloq_mg_l[blq] - f[:, blq]) / sd[:, blq]), axis=1)
    out: np.ndarray = np.where(np.isfinite(total), total, np.inf)
    return out
