"""`model import-nonmem`: control streams written for each ADVAN/TRANS covered, checked against
hand calculations, the library's closed-form engine and an independent ODE integration."""

from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp

pytest.importorskip("pharmpy")

from typer.testing import CliRunner  # noqa: E402

from ifxdose.adapters.cli import app  # noqa: E402
from ifxdose.core.errors import InputError  # noqa: E402
from ifxdose.core.pk import DoseTable, simulate_concentrations  # noqa: E402
from ifxdose.core.pk.general import Engine, load_general_text  # noqa: E402
from ifxdose.core.pk.nmtran import read_nmtran  # noqa: E402
from ifxdose.domain.modelfiles import load_model  # noqa: E402
from ifxdose.domain.nonmem_import import import_control_stream  # noqa: E402

CONTROLS = Path(__file__).parent / "controls"


def _import(name):
    text, notes = import_control_stream((CONTROLS / f"{name}.mod").read_text(), name)
    return load_general_text(text, name), text, notes


def _pred(m, csv, eta):
    rec = read_nmtran(csv)[0]
    return Engine(m, rec).predictions(np.atleast_2d(eta))


def test_advan1_trans2_by_hand():
    m, _, _ = _import("advan1_trans2")
    assert m.compartments == ("CENTRAL",) and m.linear
    f, w = _pred(m, "ID,TIME,AMT,EVID,MDV,DV\n1,0,300,1,1,.\n1,14,.,0,0,1\n1,56,.,0,0,1", [0.2, -0.1])
    cl, v = 0.3576 * np.exp(0.2), 5.4 * np.exp(-0.1)
    c = 300 / v * np.exp(-cl / v * np.array([14.0, 56.0]))
    np.testing.assert_allclose(f[0], c, rtol=1e-10)
    np.testing.assert_allclose(w[0], np.sqrt(0.1624) * c, rtol=1e-10)  # Y = F(1 + EPS): SD = F*sigma


def test_advan2_trans2_lag_covariate_and_combined_error():
    m, text, notes = _import("advan2_trans2")
    assert m.compartments == ("DEPOT", "CENTRAL") and "WT" in m.covariates
    assert any("LAG" in n for n in notes)
    f, w = _pred(m, "ID,TIME,AMT,EVID,MDV,DV,WT\n1,0,100,1,1,.,80\n1,0.25,.,0,0,1,80\n1,3,.,0,0,1,80", [0.1, 0.2, -0.3])
    cl, v, ka = 2.0 * (80 / 70) ** 0.75 * np.exp(0.1), 20 * np.exp(0.2), 1.2 * np.exp(-0.3)
    k, tl = cl / v, 3 - 0.5
    c = 100 * ka / (v * (ka - k)) * (np.exp(-k * tl) - np.exp(-ka * tl))
    np.testing.assert_allclose(f[0], [0.0, c], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(w[0], [0.05, np.sqrt(0.05**2 + (0.15 * c) ** 2)], rtol=1e-10)


@pytest.mark.parametrize("name, structure", [("advan3_trans4", "2cmt"), ("advan4_trans4", "2cmt")])
def test_two_compartment_advans_equal_the_library_closed_form(name, structure):
    m, _, _ = _import(name)
    oral = name == "advan4_trans4"
    eta = np.array([0.3, -0.2])
    if oral:
        csv = "ID,TIME,AMT,EVID,MDV,DV\n1,0,100,1,1,.\n" + "\n".join(f"1,{t},.,0,0,1" for t in (0.5, 2, 8, 24))
        p = {"CL": 2 * np.exp(0.3), "V1": 20 * np.exp(-0.2), "Q": 3.0, "V2": 40.0, "KA": 1.0, "F": 0.7}
        route, dur = 1, 0.0
    else:
        csv = "ID,TIME,AMT,RATE,EVID,MDV,DV,ALB\n1,0,300,3600,1,1,.,3.5\n" + "\n".join(
            f"1,{t},.,.,0,0,1,3.5" for t in (0.5, 2, 8, 24)
        )
        p = {"CL": 0.4 * (3.5 / 4) ** -1.2 * np.exp(0.3), "V1": 3.1 * np.exp(-0.2), "Q": 0.6, "V2": 1.9}
        route, dur = 0, 300 / 3600
    f, w = _pred(m, csv, eta)
    pk = load_model("hanzel_2021_ctp13" if oral else "fasanmade_2009_uc")
    params = {k: np.array([[v]]) for k, v in p.items()}
    ref = simulate_concentrations(
        pk,
        params,
        np.array([[-np.inf]]),
        DoseTable.from_lists([[(0.0, 100.0 if oral else 300.0, dur, route)]]),
        np.array([0.5, 2, 8, 24]),
    )[0]
    np.testing.assert_allclose(f[0], ref, rtol=1e-9)
    if not oral:
        np.testing.assert_allclose(w[0], np.sqrt(0.25 + 0.01 * ref**2), rtol=1e-10)
    else:
        np.testing.assert_allclose(w[0], np.sqrt(0.01 + 0.02 * ref**2), rtol=1e-10)
    assert structure == "2cmt"


def test_des_michaelis_menten_log_error_against_solve_ivp():
    m, _, _ = _import("advan13_des_mm")
    assert not m.linear and m.compartments == ("CENTRAL", "PERIPH")
    times = np.array([0.5, 2.0, 6.0])
    f, w = _pred(m, "ID,TIME,AMT,EVID,MDV,DV\n1,0,100,1,1,.\n" + "\n".join(f"1,{t},.,0,0,1" for t in times), [0.2, 0.1])
    vm, km, v, q, v2 = 10 * np.exp(0.2), 2.0, 5 * np.exp(0.1), 1.0, 3.0

    def rhs(_t, a):
        c = a[0] / v
        return [-vm * c / (km + c) - q / v * a[0] + q / v2 * a[1], q / v * a[0] - q / v2 * a[1]]

    sol = solve_ivp(rhs, (0, 6), [100.0, 0.0], t_eval=times, method="Radau", rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(f[0], np.log(sol.y[0] / v), rtol=1e-7)
    np.testing.assert_allclose(w[0], 0.2)  # Y = LOG(IPRED) + EPS(1), SIGMA 0.04


@pytest.mark.parametrize("name, why", [("pred", r"\$PRED"), ("bov_same", "SAME")])
def test_refusals_are_clear(name, why):
    with pytest.raises(InputError, match=why):
        import_control_stream((CONTROLS / f"{name}.mod").read_text(), name)


def test_cli_import_then_batch_estimate(tmp_path):
    out = tmp_path / "run1.toml"
    res = CliRunner().invoke(app, ["model", "import-nonmem", str(CONTROLS / "advan1_trans2.mod"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    data = tmp_path / "d.csv"
    data.write_text("ID,TIME,AMT,EVID,MDV,DV\n1,0,300,1,1,.\n1,56,.,0,0,3.1\n")
    res = CliRunner().invoke(app, ["estimate", "--data", str(data), "--model", str(out), "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[0] == "ID,ETA1,ETA2,OFV,warnings"
