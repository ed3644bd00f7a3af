"""The general engine against hand calculations, the library's closed form and the ODE."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from tests.modellang.conftest import ONE_CMT, ORAL, ipred, model, subject

from ifxdose.core.errors import InputError
from ifxdose.core.estimation import Problem
from ifxdose.core.pk.general import Engine, from_pkmodel
from ifxdose.domain.modelfiles import list_models, load_model

CL, V, KA = 2.0, 20.0, 1.2
K = CL / V


def csv(rows, header="ID,TIME,AMT,RATE,CMT,EVID,MDV,DV,SS,II,ADDL"):
    return header + "\n" + "\n".join(rows)


@pytest.mark.parametrize(
    "name, route",
    [
        (n, r)
        for n in list_models()
        if load_model(n).is_linear
        for r in (("iv", "sc") if load_model(n).has_depot else ("iv",))
    ],
)
def test_every_linear_library_model_equals_its_closed_form(name, route):
    """The unchanged library TOML, translated to the language, predicts what the closed form does."""
    pk = load_model(name)
    g = from_pkmodel(pk)
    assert g.linear
    covs = {}
    for c in pk.covariates:
        covs[c] = 62.0 if c == "weight_kg" else (pk.default_covariate(c) if c != "albumin_g_dl" else 3.6)
    doses = [(0.0, 300.0), (14.0, 300.0), (42.0, 400.0)]
    times = np.array([1.0, 14.0, 20.0, 42.0, 50.0, 70.0])
    dur = 2 / 24 if route == "iv" else 0.0
    pr = Problem(
        pk,
        np.array([-np.inf]),
        {k: np.array([v]) for k, v in covs.items()},
        [(t, a, dur, 0 if route == "iv" else 1) for t, a in doses],
    )
    eta = pk.sample_eta(4, np.random.default_rng(3))
    ref = pr.predict(eta, times)
    cmt = (2 if pk.has_depot else 1) if route == "iv" else 1
    cols = ",".join(covs)
    rows = [
        f"1,{t},{a},{a / dur if dur else 0},{cmt},1,1,.," + ",".join(str(v) for v in covs.values()) for t, a in doses
    ]
    rows += [f"1,{t},.,.,.,0,0,1," + ",".join(str(v) for v in covs.values()) for t in times]
    rows.sort(key=lambda r: (float(r.split(",")[1]), r.split(",")[5] != "0"))  # a level at a dose time is a trough
    f = ipred(g, "ID,TIME,AMT,RATE,CMT,EVID,MDV,DV," + cols + "\n" + "\n".join(rows), eta)
    np.testing.assert_allclose(f, ref, rtol=1e-9)


def test_lag_time_and_bioavailability_by_hand():
    """Bateman function with F and a lag: C = F D KA / (V (KA - K)) (e^-K(t-L) - e^-KA(t-L)), 0 before L."""
    m = model(ORAL)
    times = [0.25, 0.5, 1.0, 3.0, 12.0]
    f = ipred(m, csv(["1,0,100,0,1,1,1,.,0,0,0"] + [f"1,{t},.,.,2,0,0,1,0,0,0" for t in times]))
    tl = np.maximum(np.array(times) - 0.5, 0.0)
    ref = 0.6 * 100 * KA / (V * (KA - K)) * (np.exp(-K * tl) - np.exp(-KA * tl))
    np.testing.assert_allclose(f, ref, rtol=1e-10, atol=1e-14)
    assert f[0] == 0.0 and f[1] == 0.0


def test_rate_minus_two_uses_the_model_duration_with_variability():
    """RATE = -2: duration D1 from pk (with a random effect); infusion formula by hand."""
    m = model(ONE_CMT.replace("V1 = TVV*exp(ETA_V)", "V1 = TVV*exp(ETA_V)\nD1 = 0.25*exp(ETA_V)"))
    cl, v = 0.3, 5.0
    for eta_v in (0.0, 0.4):
        d = 0.25 * np.exp(eta_v)
        vv = v * np.exp(eta_v)
        times = np.array([0.1, 0.25, 0.5, 3.0])
        f = ipred(m, csv(["1,0,100,-2,1,1,1,.,0,0,0"] + [f"1,{t},.,.,1,0,0,1,0,0,0" for t in times]), [0.0, eta_v])
        kk = cl / vv
        during = 100 / d / cl * (1 - np.exp(-kk * np.minimum(times, d)))  # C = R/CL (1 - e^-kt)
        ref = np.where(times <= d, during, during * np.exp(-kk * (times - d)))
        np.testing.assert_allclose(f, ref, rtol=1e-10)


def test_rate_minus_one_needs_r_in_pk():
    m = model(ONE_CMT)
    with pytest.raises(InputError, match="row 1 RATE.*R1"):
        ipred(m, csv(["1,0,100,-1,1,1,1,.,0,0,0", "1,1,.,.,1,0,0,1,0,0,0"]))


def test_steady_state_bolus_and_infusion_by_hand():
    """SS=1: C(t) = D/V e^-Kt / (1 - e^-K tau) (bolus); infusion: the textbook SS infusion curve."""
    m = model(
        ORAL.replace('structure = "1cmt"\ndepot = true', 'structure = "1cmt"')
        .replace("KA = TVKA*exp(ETA_KA)", "KA = TVKA*exp(ETA_KA)\nALAG2 = 0")
        .replace("ALAG1 = TLAG\nF1 = TVF", "F1 = 1")
    )
    tau = 12.0
    times = np.array([0.0, 1.0, 6.0, 11.9])
    f = ipred(m, csv(["1,0,100,0,1,1,1,.,1,12,0"] + [f"1,{t},.,.,1,0,0,1,0,0,0" for t in times[1:]]))
    ref = 100 / V * np.exp(-K * times[1:]) / (1 - np.exp(-K * tau))
    np.testing.assert_allclose(f, ref, rtol=1e-10)
    # infusion over 2 h every 12 h at steady state
    dur, rate = 2.0, 50.0
    f = ipred(m, csv(["1,0,100,50,1,1,1,.,1,12,0"] + [f"1,{t},.,.,1,0,0,1,0,0,0" for t in times[1:]]))
    c_end = rate / CL * (1 - np.exp(-K * dur)) / (1 - np.exp(-K * tau))
    c_trough = c_end * np.exp(-K * (tau - dur))
    ref = [
        c_trough * np.exp(-K * 1) + rate / CL * (1 - np.exp(-K * 1)),
        c_end * np.exp(-K * 4),
        c_end * np.exp(-K * 9.9),
    ]
    np.testing.assert_allclose(f, ref, rtol=1e-10)


def test_steady_state_with_lag_equals_a_long_explicit_dose_train():
    """SS=1 with absorption lag and F equals 400 earlier doses given explicitly (ADDL)."""
    m = model(ORAL)
    times = [0.2, 0.7, 3.0, 11.0]
    ss = ipred(m, csv(["1,0,100,0,1,1,1,.,1,12,0"] + [f"1,{t},.,.,2,0,0,1,0,0,0" for t in times]), [0.3, -0.2, 0.5])
    train = ipred(
        m, csv(["1,-4800,100,0,1,1,1,.,0,12,400"] + [f"1,{t},.,.,2,0,0,1,0,0,0" for t in times]), [0.3, -0.2, 0.5]
    )
    np.testing.assert_allclose(ss, train, rtol=1e-9)


def test_addl_equals_explicit_doses_and_ss2_adds_to_the_state():
    m = model(ONE_CMT)
    obs = [f"1,{t},.,.,1,0,0,1,0,0,0" for t in (1, 7, 15, 30)]
    addl = ipred(m, csv(["1,0,100,0,1,1,1,.,0,7,3"] + obs))
    rows = [f"1,{d},100,0,1,1,1,.,0,0,0" for d in (0, 7, 14, 21)] + obs
    rows.sort(key=lambda r: (float(r.split(",")[1]), r.split(",")[5] != "0"))
    explicit = ipred(m, csv(rows))
    np.testing.assert_allclose(addl, explicit, rtol=1e-12)
    # a level at an additional dose's time is a trough (the implied dose enters after the record)
    f = ipred(m, csv(["1,0,100,0,1,1,1,.,0,7,3", "1,7,.,.,1,0,0,1,0,0,0"]))
    np.testing.assert_allclose(f, 100 / 5 * np.exp(-0.06 * 7), rtol=1e-12)
    # SS=2 adds the steady state to what is there; SS=1 replaces it
    tail = ["1,10,.,.,1,0,0,1,0,0,0"]
    one = ipred(m, csv(["1,0,100,0,1,1,1,.,1,7,0"] + tail))
    two = ipred(m, csv(["1,-3,50,0,1,1,1,.,0,0,0", "1,0,100,0,1,1,1,.,2,7,0"] + tail))
    reset = ipred(m, csv(["1,-3,50,0,1,1,1,.,0,0,0", "1,0,100,0,1,1,1,.,1,7,0"] + tail))
    np.testing.assert_allclose(reset, one, rtol=1e-12)
    np.testing.assert_allclose(two, one + 50 / 5 * np.exp(-0.06 * 13), rtol=1e-12)


def test_reset_event_clears_the_system():
    m = model(ONE_CMT)
    f = ipred(
        m,
        csv(
            [
                "1,0,100,0,1,1,1,.,0,0,0",
                "1,5,.,.,1,3,1,.,0,0,0",
                "1,6,.,.,1,0,0,1,0,0,0",
                "1,7,50,0,1,4,1,.,0,0,0",
                "1,8,.,.,1,0,0,1,0,0,0",
            ]
        ),
    )
    np.testing.assert_allclose(f, [0.0, 50 / 5 * np.exp(-0.06)], atol=1e-14, rtol=1e-12)


def test_covariate_timing_follows_nonmem():
    """A record's covariate applies over the interval ending at it (next value carried backward)."""
    m = model(
        ONE_CMT.replace(
            "[theta]", '[covariates.WT]\nunit = "kg"\nlow = 1\nhigh = 300\nreference = 70\n[theta]'
        ).replace("CL = TVCL*exp(ETA_CL)", "CL = TVCL*(WT/70)**0.75*exp(ETA_CL)")
    )
    f = ipred(m, "ID,TIME,AMT,EVID,MDV,DV,WT\n1,0,100,1,1,.,70\n1,10,.,0,0,1,100\n1,20,.,0,0,1,100")
    k_new = 0.3 * (100 / 70) ** 0.75 / 5
    np.testing.assert_allclose(f, 100 / 5 * np.exp(-k_new * np.array([10.0, 20.0])), rtol=1e-12)


def test_michaelis_menten_ode_against_an_independent_integration_and_its_linear_limit():
    text = """
language = "ifxdose-model/1"
title = "MM"
compartments = ["CENTRAL"]
des = "dCENTRAL = -VM*(CENTRAL/V1)/(KM + CENTRAL/V1)"
pk = '''
VM = TVVM*exp(ETA_VM)
KM = TVKM
V1 = TVV
'''
[theta]
TVVM = 10.0
TVKM = 2.0
TVV = 5.0
[random_effects]
names = ["ETA_VM"]
omega = [0.2]
[[outputs]]
prediction = "CENTRAL/V1"
proportional = 0.1
"""
    m = model(text)
    assert not m.linear
    times = np.array([0.5, 1.0, 2.0, 4.0])
    rows = ["1,0,100,0,1,1,1,.,0,0,0"] + [f"1,{t},.,.,1,0,0,1,0,0,0" for t in times]
    f = ipred(m, csv(rows), [[0.0], [0.3]])
    for i, e in enumerate((0.0, 0.3)):
        vm = 10 * np.exp(e)
        sol = solve_ivp(
            lambda t, a: [-vm * (a[0] / 5) / (2 + a[0] / 5)],
            (0, 4),
            [100.0],
            t_eval=times,
            rtol=1e-12,
            atol=1e-14,
            method="Radau",
        )
        np.testing.assert_allclose(f[i], sol.y[0] / 5, rtol=1e-7)
    lin = model(text.replace("TVKM = 2.0", "TVKM = 1e7").replace("TVVM = 10.0", "TVVM = 3e6"))
    np.testing.assert_allclose(ipred(lin, csv(rows)), 100 / 5 * np.exp(-0.3 / 5 * times), rtol=1e-5)


def test_ode_engine_equals_exact_engine_with_ss_addl_lag_and_infusions():
    m = model(ORAL)
    rows = ["1,0,100,0,1,1,1,.,1,12,2", "1,30,80,40,2,1,1,.,0,0,0"] + [
        f"1,{t},.,.,2,0,0,1,0,0,0" for t in (0.3, 5, 12, 13, 31, 40)
    ]
    rows.sort(key=lambda r: float(r.split(",")[1]))
    eta = np.array([[0.2, -0.1, 0.4], [-0.5, 0.3, -0.6]])
    a = ipred(m, csv(rows), eta, engine="exact")
    b = ipred(m, csv(rows), eta, engine="ode")
    np.testing.assert_allclose(b, a, rtol=1e-7)


def test_parent_and_metabolite_two_outputs_by_hand():
    text = """
language = "ifxdose-model/1"
title = "parent + metabolite"
compartments = ["PARENT", "METAB"]
des = '''
dPARENT = -(CL + CLM)/V1*PARENT
dMETAB = CLM/V1*PARENT - CLMET/VM*METAB
'''
pk = '''
CL = TCL
CLM = TCLM
V1 = TV
CLMET = TCLMET
VM = TVM
'''
[theta]
TCL = 1.0
TCLM = 0.5
TV = 10.0
TCLMET = 2.0
TVM = 8.0
[[outputs]]
name = "parent"
cmt = 1
prediction = "PARENT/V1"
proportional = 0.1
[[outputs]]
name = "metabolite"
cmt = 2
prediction = "METAB/VM"
proportional = 0.1
"""
    m = model(text)
    assert m.linear
    t = np.array([1.0, 2.0, 5.0])
    rows = (
        ["1,0,100,0,1,1,1,.,0,0,0"] + [f"1,{x},.,.,1,0,0,1,0,0,0" for x in t] + [f"1,{x},.,.,2,0,0,1,0,0,0" for x in t]
    )
    rows.sort(key=lambda r: float(r.split(",")[1]))
    f = ipred(m, csv(rows))
    k1, km = 1.5 / 10, 2.0 / 8
    parent = 10 * np.exp(-k1 * t)
    metab = 100 * (0.5 / 10) / (km - k1) * (np.exp(-k1 * t) - np.exp(-km * t)) / 8
    rec = subject(csv(rows))
    is_parent = rec.cmt[rec.observation_index] == 1
    np.testing.assert_allclose(f[is_parent], parent, rtol=1e-10)
    np.testing.assert_allclose(f[~is_parent], metab, rtol=1e-10)


def test_log_scale_output_and_non_lognormal_random_effects():
    """Logit-normal F, additive eta on KA, Box-Cox eta; log-transformed data with additive log-scale error."""
    text = (
        ORAL.replace(
            "F1 = TVF", "F1 = expit(logit(TVF) + ETA_F)\nKA2 = TVKA + ETA_KA2\nBC = (exp(ETA_BC)**0.5 - 1)/0.5"
        )
        .replace(
            'names = ["ETA_CL", "ETA_V", "ETA_KA"]\nomega = [1.0, 1.0, 1.0]',
            'names = ["ETA_CL", "ETA_V", "ETA_KA", "ETA_F", "ETA_KA2", "ETA_BC"]\nomega = [1.0, 1.0, 1.0, 0.5, 0.1, 0.2]',
        )
        .replace("proportional = 0.15", 'additive = 0.2\nscale = "log"')
    )
    m = model(text)
    eta = np.array([0.0, 0.0, 0.0, 0.7, 0.05, 0.3])
    f = ipred(m, csv(["1,0,100,0,1,1,1,.,0,0,0", "1,3,.,.,2,0,0,1,0,0,0"]), eta)
    F = 1 / (1 + np.exp(-(np.log(0.6 / 0.4) + 0.7)))
    c = F * 100 * KA / (V * (KA - K)) * (np.exp(-K * 2.5) - np.exp(-KA * 2.5))
    np.testing.assert_allclose(f, np.log(c), rtol=1e-12)
    p = Engine(m, subject(csv(["1,0,100,0,1,1,1,.,0,0,0", "1,3,.,.,2,0,0,1,0,0,0"]))).pk(eta[None], None)
    np.testing.assert_allclose(p["KA2"][0, 0], 1.2 + 0.05)
    np.testing.assert_allclose(p["BC"][0, 0], (np.exp(0.3) ** 0.5 - 1) / 0.5)


def test_between_occasion_variability_moves_only_its_occasion():
    text = ONE_CMT.replace(
        "[random_effects]", '[occasion_effects]\nnames = ["KAPPA_CL"]\nomega = [0.05]\n[random_effects]'
    ).replace("CL = TVCL*exp(ETA_CL)", "CL = TVCL*exp(ETA_CL + KAPPA_CL)")
    m = model(text)
    data = "ID,TIME,AMT,EVID,MDV,DV,OCC\n1,0,100,1,1,.,1\n1,10,.,0,0,1,1\n1,20,100,1,1,.,2\n1,30,.,0,0,1,2"
    base = ipred(m, data, kappa=np.zeros((1, 2, 1)))
    moved = ipred(m, data, kappa=np.array([[[0.0], [0.5]]]))
    assert moved[0] == base[0]
    k2 = 0.3 * np.exp(0.5) / 5
    # NONMEM timing: OCC is a record item, so occasion 2 governs (10, 30] (its first record is at 20)
    np.testing.assert_allclose(moved[1], 20 * np.exp(-0.06 * 10 - k2 * 20) + 20 * np.exp(-k2 * 10), rtol=1e-12)


def test_two_depots_and_a_dose_split_between_them_by_hand():
    """Parallel absorption: F1 = FR into a fast depot, F2 = 1 - FR into a slow one (sum of two Bateman terms)."""
    text = """
language = "ifxdose-model/1"
title = "two depots"
compartments = ["FAST", "SLOW", "CENTRAL"]
des = '''
dFAST = -KA1*FAST
dSLOW = -KA2*SLOW
dCENTRAL = KA1*FAST + KA2*SLOW - CL/V1*CENTRAL
'''
pk = '''
KA1 = 2.0
KA2 = 0.3*exp(ETA_KA2)
CL = 2.0
V1 = 20.0
F1 = expit(logit(FR) + ETA_FR)
F2 = 1 - F1
ALAG2 = 1.0
'''
[theta]
FR = 0.4
[random_effects]
names = ["ETA_KA2", "ETA_FR"]
omega = [0.2, 0.5]
[[outputs]]
cmt = 3
prediction = "CENTRAL/V1"
proportional = 0.1
"""
    m = model(text)
    assert m.linear
    times = np.array([0.5, 2.0, 6.0, 12.0])
    rows = ["1,0,100,0,1,1,1,.,0,0,0", "1,0,100,0,2,1,1,.,0,0,0"] + [f"1,{t},.,.,3,0,0,1,0,0,0" for t in times]
    f = ipred(m, csv(rows), [0.1, 0.3])
    fr = 1 / (1 + np.exp(-(np.log(0.4 / 0.6) + 0.3)))
    ka2, k = 0.3 * np.exp(0.1), 0.1

    def bateman(ka, dose, t):
        t = np.maximum(t, 0.0)
        return dose * ka / (20 * (ka - k)) * (np.exp(-k * t) - np.exp(-ka * t))

    ref = bateman(2.0, 100 * fr, times) + bateman(ka2, 100 * (1 - fr), times - 1.0)
    np.testing.assert_allclose(f, ref, rtol=1e-10)


def test_rate_minus_one_uses_the_model_rate_by_hand():
    m = model(ONE_CMT.replace("V1 = TVV*exp(ETA_V)", "V1 = TVV*exp(ETA_V)\nR1 = 400*exp(ETA_CL)"))
    times = np.array([0.1, 0.25, 1.0])
    f = ipred(m, csv(["1,0,100,-1,1,1,1,.,0,0,0"] + [f"1,{t},.,.,1,0,0,1,0,0,0" for t in times]), [0.2, 0.0])
    r, cl = 400 * np.exp(0.2), 0.3 * np.exp(0.2)
    d, k = 100 / r, cl / 5
    during = r / cl * (1 - np.exp(-k * np.minimum(times, d)))
    np.testing.assert_allclose(f, np.where(times <= d, during, during * np.exp(-k * (times - d))), rtol=1e-10)
