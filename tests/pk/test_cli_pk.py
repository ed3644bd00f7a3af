"""CLI: models, simulate, and one-line errors with exit code 2."""

import json

import pytest
from typer.testing import CliRunner

from ifxdose.adapters.cli import app

runner = CliRunner()
LABEL = "3 mg/kg at weeks 0,2,6 then every 8 weeks until week 54"


def run_json(*args):
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_models_list_and_show():
    names = [m["name"] for m in run_json("models")]
    assert {"passot_2016_ra", "ternant_2014_ra", "fasanmade_2009_uc", "hanzel_2021_ctp13"} <= set(names)
    detail = run_json("models", "show", "ternant_2014_ra")
    assert detail["parameters"]["CL"]["value"] == 0.456
    assert any("Q and V2" in a for a in detail["assumptions"])


def test_simulate_json_has_parameters_with_units_and_arrays():
    out = run_json("simulate", "--regimen", LABEL, "--weight-kg", "55", "--every-days", "7", "--until-day", "378")
    assert out["parameters"][0]["CL"]["unit"] == "L/day"
    assert set(out["parameters"][0]) >= {"CL", "V1"}
    assert len(out["time_days"]) == len(out["concentration_mg_l"]) == 55
    assert [r["dose_mg"] for r in out["infusions"]] == [165.0] * 9  # 3 mg/kg x 55 kg


def test_simulate_time_varying_ada_from_cli():
    out = run_json(
        "simulate",
        "--model",
        "fasanmade_2009_uc",
        "--regimen",
        LABEL,
        "--weight-kg",
        "70",
        "--cov",
        "ada=1@140",
        "--at-days",
        "100,200",
    )
    assert [p["from_day"] for p in out["parameters"]] == [None, 140.0]


def test_simulate_writes_plot(tmp_path):
    png = tmp_path / "p.png"
    res = runner.invoke(app, ["simulate", "--regimen", LABEL, "--weight-kg", "55", "--plot", str(png)])
    assert res.exit_code == 0, res.output
    assert png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "args, field",
    [
        (["--weight-kg", "0"], "--weight-kg"),
        (["--weight-kg", "400"], "--weight-kg"),
        (["--weight-kg", "55", "--regimen-override", "-3 mg/kg at week 0"], "regimen"),
        (["--weight-kg", "55", "--regimen-override", "5 mg/kg at days 0 over 3 h; 5 mg/kg at days 0.05"], "doses"),
        (["--weight-kg", "55", "--model", "nope"], "model"),
        (["--weight-kg", "55", "--cov", "height_cm=170"], "covariate"),
        (["--weight-kg", "55", "--at-days", "5,3"], "times"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, field, ifxdose_cli):
    regimen = LABEL
    if "--regimen-override" in args:
        i = args.index("--regimen-override")
        regimen = args[i + 1]
        args = args[:i] + args[i + 2 :]
    proc = ifxdose_cli("simulate", "--regimen", regimen, *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert field in lines[0]


def test_demo_writes_png(tmp_path):
    res = runner.invoke(app, ["demo", "--out-dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "label_55kg.png").exists()
