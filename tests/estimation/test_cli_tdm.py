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
    assert d["target"] == {"kind": "window", "low_mg_l": 3.0, "high_mg_l": 8.0, "source": ["user-defined"]}
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


def test_estimate_table_reads_the_typed_estimate(tmp_path):
    """The table shows the history's own level (0.8 mg/L on 2024-07-08 09:30), a below-LLOQ level
    as '< LLOQ', and the same day, prediction, model and OFV as the JSON."""
    history = json.loads(Path(EXAMPLE).read_text())
    history["levels"].append({"date": "2024-08-26T09:00:00", "below_lloq": True, "lloq_mg_l": 0.1})
    path = tmp_path / "h.json"
    path.write_text(json.dumps(history))
    table = runner.invoke(app, ["estimate", "--history", str(path)], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    as_json = json.loads(runner.invoke(app, ["estimate", "--history", str(path), "--json"]).output)
    rows = [line for line in table.output.splitlines() if "│" in line and line.strip("│ ")[:1].isdigit()]
    first = [cell.strip() for cell in rows[0].split("│")[1:4]]
    assert first == [f"{as_json['samples'][0]['day']:.1f}", "0.8", f"{as_json['samples'][0]['ipred_mg_l']:.3g}"]
    assert "< 0.1" in rows[1]
    assert f"OFV {as_json['objective']['ofv']:.3f}" in table.output
    assert f"model {as_json['model']} v{as_json['model_version']}" in table.output


def test_estimate_text_reads_the_typed_summary(tmp_path):
    """The table shows each level as in the history (examples/history_label_55kg.json: 0.8 mg/L on
    2024-07-08 09:30, day 98.4; a result below the LLOQ as "< LLOQ") and the parameters with units."""
    res = runner.invoke(app, ["estimate", "--history", EXAMPLE])
    assert res.exit_code == 0, res.output
    assert "L/day" in res.output and "98.4" in res.output and "0.8" in res.output
    assert "MAP (Beal M3) + Laplace + SIR" in res.output and "ESS" in res.output
    data = json.loads(Path(EXAMPLE).read_text())
    data["levels"][0].update(value_mg_l=None, below_lloq=True, lloq_mg_l=0.4)
    blq = tmp_path / "blq.json"
    blq.write_text(json.dumps(data))
    res = runner.invoke(app, ["estimate", "--history", str(blq)])
    assert res.exit_code == 0, res.output
    assert "< 0.4" in res.output
    out = json.loads(runner.invoke(app, ["estimate", "--history", str(blq), "--json"]).output)
    assert out["samples"] == [
        {
            "day": 98 + 9.5 / 24,
            "observed_mg_l": None,
            "below_lloq": True,
            "lloq_mg_l": 0.4,
            "ipred_mg_l": out["samples"][0]["ipred_mg_l"],
        }
    ]
