"""``ifxdose score ...``: JSON output, tables, and exit code 2 with one error line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ifxdose.adapters.cli import app

runner = CliRunner()


def score_json(*args: str) -> dict:
    result = runner.invoke(app, ["score", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_das28_crp_json_issue_example():
    # fragla/rheumtools vector: (4, 5, CRP 7, GH 50) -> 4.15
    out = score_json("das28-crp", "--tjc28", "4", "--sjc28", "5", "--crp-mg-l", "7", "--ptga-mm", "50")
    assert out["display"] == "4.15" and out["category"] == "moderate"
    assert out["value"] == pytest.approx(4.1547, abs=1e-4)


def test_das28_esr_and_cutoff_option():
    out = score_json("das28-esr", "--tjc28", "4", "--sjc28", "5", "--esr-mm-h", "7", "--ptga-mm", "50")
    assert out["display"] == "3.81"
    tie = score_json(
        "das28-crp", "--tjc28", "4", "--sjc28", "4", "--crp-mg-l", "0", "--ptga-mm", "40", "--cutoffs", "das-score-nl"
    )
    assert (tie["display"], tie["category"]) == ("3.20", "moderate")


def test_sdai_cdai_boolean():
    assert (
        score_json("sdai", "--tjc28", "1", "--sjc28", "0", "--ptga-cm", "1", "--phga-cm", "0", "--crp-mg-dl", "0.1")[
            "display"
        ]
        == "2.1"
    )  # RheumaComposites.jl
    assert (
        score_json("cdai", "--tjc28", "4", "--sjc28", "5", "--ptga-cm", "5", "--phga-cm", "6")["category"] == "moderate"
    )  # fragla/rheumtools: 20
    out = score_json(
        "boolean", "--tjc28", "1", "--sjc28", "0", "--ptga-cm", "1.4", "--crp-mg-dl", "0.4", "--version", "2022"
    )
    assert out["remission"] is True


def test_eular_float_trap():
    out = score_json("eular", "--baseline-das28", "3.64", "--current-das28", "2.44")
    assert out["response"] == "moderate" and out["improvement_display"] == "1.20"


def test_acr_and_paulus_pairs():
    out = score_json(
        "acr",
        "--tjc68",
        "12",
        "7",
        "--sjc66",
        "8",
        "4",
        "--ptga-mm",
        "50",
        "20",
        "--pain-mm",
        "35",
        "25",
        "--phga-mm",
        "60",
        "30",
        "--haq-di",
        "0.85",
        "0.35",
        "--crp-mg-l",
        "15",
        "10",
    )
    assert out["acr"]["level"] == 20 and out["acr_n"]["display"] == "41.7"
    out = score_json(
        "paulus",
        "--morning-stiffness-min",
        "120",
        "60",
        "--esr-mm-h",
        "50",
        "40",
        "--joint-pain-score",
        "20",
        "10",
        "--ptga-grade",
        "4",
        "2",
    )
    assert out["paulus20"] is True and out["paulus50"] is False


def test_haq_sharp_joints():
    out = score_json(
        "haq",
        "--dressing",
        "1",
        "--arising",
        "0",
        "--eating",
        "0",
        "--walking",
        "1",
        "--hygiene",
        "0",
        "--reach",
        "0",
        "--grip",
        "3",
        "--activities",
        "1",
        "--aid",
        "walking",
    )
    assert out["display"] == "0.875"  # (1+0+0+2+0+0+3+1)/8
    assert score_json("sharp", "--baseline-mtss", "10", "--followup-mtss", "16")["exceeds_sdc"]
    assert score_json("joints", "--tender", "left_mcp2", "--tender", "right_knee")["tjc28"] == 2


def test_table_output():
    result = runner.invoke(app, ["score", "cdai", "--tjc28", "4", "--sjc28", "5", "--ptga-cm", "5", "--phga-cm", "6"])
    assert result.exit_code == 0
    assert "moderate" in result.stdout and "CDAI" in result.stdout


@pytest.mark.parametrize(
    "args,needle",
    [
        (["das28-crp", "--tjc28", "29", "--sjc28", "5", "--crp-mg-l", "7"], "tjc28"),
        (["das28-esr", "--tjc28", "2", "--sjc28", "5", "--esr-mm-h", "0"], "esr_mm_h"),
        (["cdai", "--tjc28", "2", "--sjc28", "5", "--ptga-cm", "11", "--phga-cm", "1"], "ptga_cm"),
        (["das28-crp", "--tjc28", "2", "--sjc28", "5", "--ptga-mm", "50"], "crp"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, needle, ifxdose_cli):
    proc = ifxdose_cli("score", *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0]
    assert "allowed" in lines[0] or "required" in lines[0]


def test_crp_without_unit_is_a_usage_error(ifxdose_cli):
    proc = ifxdose_cli("score", "das28-crp", "--tjc28", "2", "--sjc28", "5", "--crp", "7")
    assert proc.returncode == 2
    assert "--crp-mg-l" in proc.stderr
