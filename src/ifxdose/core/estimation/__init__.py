"""Bayesian estimation of a patient's own PK: MAP (M3 for below-LLOQ), Laplace, SIR."""

from ifxdose.core.estimation.map import EstimationError, MapResult, estimate_map
from ifxdose.core.estimation.objective import Observations, objective
from ifxdose.core.estimation.posterior import EtaSample, laplace, prior_sample, sir
from ifxdose.core.estimation.problem import Problem

__all__ = [
    "EstimationError",
    "EtaSample",
    "MapResult",
    "Observations",
    "Problem",
    "estimate_map",
    "laplace",
    "objective",
    "prior_sample",
    "sir",
]
