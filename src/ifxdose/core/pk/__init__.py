"""Population pharmacokinetics of infliximab: models as data, exact and ODE engines.

The model files themselves are found and read by :mod:`ifxdose.domain.modelfiles`
(``load_model``, ``list_models``, ``default_model_name``); core parses and computes only.
"""

from ifxdose.core.pk.events import ROUTE_IV, ROUTE_SC, DoseTable
from ifxdose.core.pk.model import PKModel
from ifxdose.core.pk.simulate import simulate_concentrations

__all__ = [
    "ROUTE_IV",
    "ROUTE_SC",
    "DoseTable",
    "PKModel",
    "simulate_concentrations",
]
