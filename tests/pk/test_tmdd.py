"""TMDD models: with a vanishing target they must reduce to the linear 2-compartment model
(whose closed form is independently checked), and the target must lower exposure."""

import numpy as np

from ifxdose.core.pk import ROUTE_IV, DoseTable, simulate_concentrations
from ifxdose.core.pk.model import PKModel
from ifxdose.domain.modelfiles import load_model

from .conftest import rel_close

OBS = np.arange(0.5, 120, 0.5)


def _run(model: PKModel, params, engine="auto"):
    doses = DoseTable.from_lists([[(0.0, 300.0, 2 / 24, ROUTE_IV), (14.0, 300.0, 2 / 24, ROUTE_IV)]])
    return simulate_concentrations(model, params, np.full((1, 1), -np.inf), doses, OBS, engine=engine)[0]


def _as_linear(model: PKModel) -> PKModel:
    keep = {k: model.parameters[k] for k in ("CL", "V1", "Q", "V2")}
    return PKModel("lin", "lin", "2cmt", "", "", keep)


def test_berends_without_target_is_linear():
    m = load_model("berends_2019_uc_tmdd")
    p = m.individual_parameters({"weight_kg": np.array([[70.0]]), "albumin_g_dl": np.array([[3.8]])})
    p["BMAX"] = p["BMAX"] * 1e-12
    lin = {k: p[k] for k in ("CL", "V1", "Q", "V2")}
    assert rel_close(_run(m, p), _run(_as_linear(m), lin), rtol=1e-6)


def test_ternant_2021_without_target_is_linear_and_target_lowers_levels():
    m = load_model("ternant_2021_tmdd")
    p = m.individual_parameters({"weight_kg": np.array([[65.0]])})
    lin = {k: p[k] for k in ("CL", "V1", "Q", "V2")}
    with_target = _run(m, p)
    p0 = dict(p, R0=p["R0"] * 1e-12, R0_P=p["R0_P"] * 1e-12)
    assert rel_close(_run(m, p0), _run(_as_linear(m), lin), rtol=1e-6)
    assert np.all(with_target[10:] < _run(_as_linear(m), lin)[10:])


def test_nonlinear_model_refuses_closed_form():
    import pytest

    from ifxdose.core.errors import InputError

    m = load_model("berends_2019_uc_tmdd")
    p = m.individual_parameters({"weight_kg": np.array([[70.0]])})
    with pytest.raises(InputError, match="non-linear"):
        _run(m, p, engine="closed-form")
