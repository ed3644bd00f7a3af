"""Population pharmacokinetics of infliximab: models as data, exact and ODE engines."""

from ifxdose.core.pk.events import ROUTE_IV, ROUTE_SC, DoseTable
from ifxdose.core.pk.library import default_model_name, list_models, load_model
from ifxdose.core.pk.model import PKModel
from ifxdose.core.pk.simulate import simulate_concentrations

__all__ = [
    "ROUTE_IV",
    "ROUTE_SC",
    "DoseTable",
    "PKModel",
    "default_model_name",
    "list_models",
    "load_model",
    "simulate_concentrations",
]
