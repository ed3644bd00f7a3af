import json
from pathlib import Path

from typer.testing import CliRunner

from ifxdose.adapters.cli import app
from ifxdose.domain.modelfiles import default_model_name

runner = CliRunner()
EXAMPLE = str(Path(__file__).parents[2] / "examples" / "history_label_55kg.json")


def test_estimate_json_and_plot(tmp_path):
    res = runner.invoke(app, ["estimate", "--history", EXAMPLE, "--json", "--plot", str(tmp_path / "e.png")])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["individual_parameters"]["CL"]["unit"] == "L/day"
    assert d["samples"][0]["observed_mg_l"] == 0.8
    assert (tmp_path / "e.png").read_bytes()[:4] == b"\x89PNG"


def test_recommend_json():
    res = runner.invoke(app, ["recommend", "--history", EXAMPLE, "--today", "2024-08-26", "--target", "3-8", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["target"] == {"kind": "window", "low_mg_l": 3.0, "high_mg_l": 8.0, "source": "user-defined"}
    assert d["model"] == default_model_name() and d["inputs_sha256"]  # the history names no model
    assert all(0 <= o["pta"] <= 1 for o in d["options"])


def test_bad_history_exits_2_with_one_line(tmp_path, ifxdose_cli):
    bad = json.loads(Path(EXAMPLE).read_text())
    bad["levels"][0]["value_mg_l"] = -2
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(bad))
    proc = ifxdose_cli("recommend", "--history", str(f))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "levels.0.value_mg_l" in proc.stderr
    proc = ifxdose_cli("estimate", "--history", str(tmp_path / "missing.json"))
    assert proc.returncode == 2 and "--history" in proc.stderr
