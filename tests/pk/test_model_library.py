"""Library models reproduce the published statements they were derived from."""

import math

import numpy as np
import pytest

from ifxdose.core.errors import InputError
from ifxdose.core.pk.linear import eigen, rate_matrix
from ifxdose.domain.modelfiles import default_model_name, list_models, load_model


def typical(name, **cov):
    p = load_model(name).typical_parameters({k: np.array(v, float) for k, v in cov.items()})
    return {k: float(v) for k, v in p.items()}


@pytest.mark.parametrize("name", list_models())
def test_every_model_is_complete_and_graded(name):
    m = load_model(name)
    assert m.citation and m.population
    assert all(v.grade in {"P", "P-code", "C", "D", "A"} for v in m.parameters.values())
    assert np.all(np.linalg.eigvalsh(m.omega) > 0)
    assert m.residual_additive_mg_l > 0 or m.residual_proportional > 0


def test_default_ra_model_is_an_ra_model():
    name = default_model_name()
    assert name == "ifxdose_ra_mbma"
    assert "RA" in load_model(name).population


def test_ternant_2014_weight_doubles_v1_from_50_to_90_kg():
    """Ternant 2014 abstract: V1 'doubled between 50 and 90 kg'."""
    assert typical("ternant_2014_ra", weight_kg=90)["V1"] / typical("ternant_2014_ra", weight_kg=50)[
        "V1"
    ] == pytest.approx(2.0, rel=1e-3)


def test_ternant_2014_crp_and_mtx_effects():
    """Ternant 2014 abstract: CL +20% for CRP 3 -> 14 mg/L; CL -30% with MTX."""
    lo = typical("ternant_2014_ra", weight_kg=70, crp_mg_l=3)["CL"]
    hi = typical("ternant_2014_ra", weight_kg=70, crp_mg_l=14)["CL"]
    assert hi / lo == pytest.approx(1.2, rel=1e-3)
    assert typical("ternant_2014_ra", weight_kg=70, mtx=1)["CL"] / typical("ternant_2014_ra", weight_kg=70, mtx=0)[
        "CL"
    ] == pytest.approx(0.7)


def test_passot_2016_ra_clearance_is_49_percent_above_as():
    """Passot 2016 abstract: AS CL 0.24 L/day; RA +49%."""
    assert typical("passot_2016_ra", weight_kg=70)["CL"] == pytest.approx(0.24 * 1.49)


def test_ternant_2021_male_clearance():
    """Ternant 2021 Results 3.2: CL 0.16 L/day in women, 0.23 L/day in men."""
    assert typical("ternant_2021_tmdd", weight_kg=65, sex_female=0)["CL"] == pytest.approx(0.23, abs=0.005)
    assert typical("ternant_2021_tmdd", weight_kg=65, sex_female=1)["CL"] == pytest.approx(0.16)


def test_fasanmade_2009_reference_patient_and_half_life():
    """PMC2778780 abstract: CL 0.407 L/day, V1 3.29 L (77 kg male, albumin 4.1, ATI-),
    and an infliximab half-life of about 14 days."""
    p = typical("fasanmade_2009_uc", weight_kg=77, albumin_g_dl=4.1, ada=0, sex_female=0)
    assert (p["CL"], p["V1"]) == (pytest.approx(0.407), pytest.approx(3.29))
    lam = eigen(rate_matrix("2cmt", {k: np.array(v) for k, v in p.items()}))[0]
    half_life = math.log(2) / float(np.min(np.abs(lam)))
    assert 12.0 < half_life < 16.0


def test_frymoyer_totals_match_per_kg_equations():
    """Frymoyer 2017 Methods: CL 5.42 mL/kg/day and V1 52.4 mL/kg at 65 kg."""
    p = typical("frymoyer_2017_cd", weight_kg=65)
    assert p["CL"] * 1000 / 65 == pytest.approx(5.42, rel=1e-3)
    assert p["V1"] * 1000 / 65 == pytest.approx(52.4, rel=1e-3)


def test_unknown_model_and_covariate_are_named():
    with pytest.raises(InputError, match="model: 'nope'.*known models are"):
        load_model("nope")
    with pytest.raises(InputError, match="covariate: 'height_cm'"):
        load_model("passot_2016_ra").typical_parameters({"height_cm": np.array(170.0)})
    with pytest.raises(InputError, match=r"weight_kg: 0\.0 .*\(0, 350\] kg"):
        load_model("passot_2016_ra").typical_parameters({"weight_kg": np.array(0.0)})
