"""The seed's published RA troughs through the full model stack (MBMA PK, stochastic ADA with titre
clearance, the study's assay), as the replication compares them: the published value (S5, S10, S14)
against the simulated 95 % interval of trials of the published size. docs/trials.md lists the one
trough figure the stack misses (ATTRACT 3 mg/kg q4w undetectable, 9-15 %) and why."""

from __future__ import annotations

import pytest

from ifxdose.domain.trials import load_models, run_trial


@pytest.fixture(scope="module")
def models():
    return load_models()


def _rows(name: str, models, replicates: int = 10) -> list[dict]:
    return run_trial(name, replicates=replicates, seed=1, models=models).rows()


def test_s10_undetectable_troughs_in_attract(models):
    rows = {(r["quantity"], r["arm"]): r for r in _rows("attract", models)}
    for arm in ("3 mg/kg q8w", "10 mg/kg q8w"):  # S10: 22-30 % and 5-9 %
        assert rows[("trough undetectable (< 0.1 mg/L) at week 54", arm)]["inside_95"], arm
    assert rows[("patients with undetectable trough at week 54", "10 mg/kg q4w")]["inside_95"]  # S10: 2 patients
    # S10: 3 mg/kg q8w has the lowest troughs: the most undetectable
    shares = {
        a: rows[("trough undetectable (< 0.1 mg/L) at week 54", a)]["simulated_median"]
        for a in ("3 mg/kg q8w", "3 mg/kg q4w", "10 mg/kg q8w")
    }
    assert shares["3 mg/kg q8w"] == max(shares.values())


def test_s5_trough_without_escalation_in_start(models):
    rows = [
        r
        for r in _rows("start", models, replicates=6)
        if r["quantity"] == "median trough week 46 without escalation (mg/L)"
    ]
    assert rows and rows[0]["inside_95"]  # S5: 1-2 ug/mL


def test_s14_tnf_tier_troughs_in_rising(models):
    rows = {r["quantity"]: r for r in _rows("rising", models)}
    assert rows["median trough week 54 in TNF-low, 3 mg/kg (mg/L)"]["inside_95"]  # >= 1 ug/mL
    assert rows["median trough week 54 in TNF-high, 10 mg/kg (mg/L)"]["inside_95"]  # > 2 ug/mL
