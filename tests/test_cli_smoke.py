"""One subprocess smoke test per command group: the installed console script starts, runs a
real command and exits 0 (or 2 with one line for bad input). Every other CLI test runs
in-process through ``main()`` (the ``ifxdose_cli`` fixture), which is much faster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_subprocess

ROOT = Path(__file__).parents[1]
EXAMPLE = str(ROOT / "examples" / "history_label_55kg.json")
LABEL = "3 mg/kg at weeks 0,2,6 then every 8 weeks until week 54"


def _ok(*args: str) -> str:
    done = run_subprocess(*args, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_pk_group_models_json():
    names = {m["name"] for m in json.loads(_ok("models", "--json"))}
    assert {"passot_2016_ra", "ternant_2014_ra"} <= names


def test_tdm_group_recommend_json():
    rec = json.loads(_ok("recommend", "--history", EXAMPLE, "--today", "2024-08-26", "--json"))
    assert rec["action"] and rec["citations"] and rec["inputs_sha256"]


def test_dosing_group_regimen_cost():
    # 55 kg x 3 mg/kg = 165 mg -> 2 vials of 100 mg at every infusion (seed S0)
    assert "2" in _ok("regimen", "cost", LABEL, "--weight-kg", "55")


def test_score_group_and_exit_2_in_a_real_process():
    out = json.loads(_ok("score", "cdai", "--tjc28", "3", "--sjc28", "2", "--ptga-cm", "4", "--phga-cm", "3", "--json"))
    assert out["value"] == 12  # 3 + 2 + 4 + 3, by hand
    bad = run_subprocess("score", "cdai", "--tjc28", "29", "--sjc28", "2", "--ptga-cm", "4", "--phga-cm", "3")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "tjc28" in bad.stderr


def test_evidence_group_list():
    assert len(json.loads(_ok("evidence", "list", "--json"))) >= 16  # S0-S15


def test_trial_group_list():
    assert "attract" in _ok("trial", "list").lower()


def test_fhir_group_export():
    bundle = json.loads(_ok("fhir", "export", EXAMPLE))
    assert bundle["resourceType"] == "Bundle"


def test_model_group_check():
    assert "passot_2016_ra" in _ok("model", "check", "passot_2016_ra")


@pytest.mark.parametrize("command", ["demo", "serve", "clinic-user"])
def test_other_commands_start(command):
    assert "Usage" in _ok(command, "--help")
