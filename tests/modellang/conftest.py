"""Helpers: build a general model from TOML text and one subject from NM-TRAN text."""

import numpy as np

from ifxdose.core.pk.general import Engine, load_general_text
from ifxdose.core.pk.nmtran import read_nmtran


def model(text: str, name: str = "test"):
    return load_general_text(text, name)


def subject(csv: str):
    subs = read_nmtran(csv)
    assert len(subs) == 1
    return subs[0]


def ipred(m, csv: str, eta=None, engine: str = "auto", kappa=None):
    rec = subject(csv)
    e = Engine(m, rec, engine=engine)
    eta = np.zeros((1, len(m.eta_names))) if eta is None else np.atleast_2d(eta)
    f, w = e.predictions(eta, kappa)
    return f[0] if f.shape[0] == 1 else f


ONE_CMT = """
language = "ifxdose-model/1"
title = "1-cmt test"
structure = "1cmt"
pk = '''
CL = TVCL*exp(ETA_CL)
V1 = TVV*exp(ETA_V)
'''
[theta]
TVCL = 0.3
TVV = 5.0
[random_effects]
names = ["ETA_CL", "ETA_V"]
omega = [0.1, 0.1]
[[outputs]]
name = "conc"
prediction = "CENTRAL/V1"
proportional = 0.2
additive = 0.05
"""

ORAL = """
language = "ifxdose-model/1"
title = "1-cmt oral with lag and F"
structure = "1cmt"
depot = true
pk = '''
CL = TVCL*exp(ETA_CL)
V1 = TVV*exp(ETA_V)
KA = TVKA*exp(ETA_KA)
ALAG1 = TLAG
F1 = TVF
'''
[theta]
TVCL = 2.0
TVV = 20.0
TVKA = 1.2
TLAG = 0.5
TVF = 0.6
[random_effects]
names = ["ETA_CL", "ETA_V", "ETA_KA"]
omega = [1.0, 1.0, 1.0]
[[outputs]]
prediction = "CENTRAL/V1"
proportional = 0.15
"""
