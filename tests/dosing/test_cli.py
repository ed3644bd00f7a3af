"""``ifxdose advise`` and ``ifxdose regimen ...``: JSON output and exit code 2 with one line."""

from __future__ import annotations

import json
import sys

import pytest
from tests.dosing.conftest import EXAMPLE
from typer.testing import CliRunner

from ifxdose.adapters.cli import app, main

runner = CliRunner()


def run_main(args: list[str], capsys, monkeypatch) -> tuple[int, str]:
    """The console-script entry point in-process: (exit code, stderr)."""
    monkeypatch.setattr(sys, "argv", ["ifxdose", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    return exc.value.code, capsys.readouterr().err


def run_json(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_advise_label_on_the_example():
    # example: infusions 2024-04-01, 04-15, 05-13, 07-08 at 3 mg/kg, 55 kg -> next 2024-09-02 (+8 weeks)
    out = run_json("advise", "--policy", "label", "--history", str(EXAMPLE), "--today", "2024-08-26")
    assert (out["action"], out["date"], out["dose_mg"], out["vials"]) == ("infuse", "2024-09-02", 165.0, 2)
    # the example's 3rd infusion records a mild reaction: premedication advice is the only flag
    assert any("S0" in c for c in out["citations"]) and [f["rule_id"] for f in out["flags"]] == ["infusion-reaction"]


def test_advise_nordrum_on_the_example_raises_the_dose():
    # trough 0.8 mg/L at week 14 < 3 mg/L (S13) -> 3 + 1.5 = 4.5 mg/kg = 247.5 mg -> 3 vials
    out = run_json("advise", "--policy", "nordrum-tdm", "--history", str(EXAMPLE), "--today", "2024-08-26")
    assert (out["dose_mg_per_kg"], out["dose_mg"], out["vials"]) == (4.5, 247.5, 3)


def test_advise_table_output():
    result = runner.invoke(
        app, ["advise", "--policy", "rrrr-programmed", "--history", str(EXAMPLE), "--today", "2024-08-26"]
    )
    assert result.exit_code == 0 and "rationale" in result.stdout


def test_regimen_check_cost_calendar():
    out = run_json(
        "regimen",
        "check",
        "3 mg/kg at weeks 0,2,6; 10 mg/kg every 4 weeks from week 10 until week 30",
        "--weight-kg",
        "55",
    )
    assert out["ok"] is False and out["flags"][0]["rule_id"] == "jp-shortened-interval-dose"
    out = run_json(
        "regimen", "cost", "3 mg/kg at weeks 0,2,6 then every 8 weeks", "--weight-kg", "55", "--horizon-weeks", "52"
    )
    assert out["total"] == "1200144" and out["currency"] == "JPY"  # 8 x 2 x 75,009 JPY
    out = run_json("regimen", "calendar", "3 mg/kg at weeks 0,2,6", "--start", "2024-04-01", "--mtx-aspire")
    assert [r["date"] for r in out["infusions"]] == ["2024-04-01", "2024-04-15", "2024-05-13"]
    assert [s["dose_mg_week"] for s in out["mtx"]] == [7.5, 15.0, 20.0]


@pytest.mark.parametrize(
    "args, words",
    [
        (["advise", "--policy", "nope", "--history", str(EXAMPLE)], "known policies are"),
        (["advise", "--policy", "label", "--history", "/no/such.json"], "history"),
        (["advise", "--policy", "label", "--history", str(EXAMPLE), "--today", "26/08/2024"], "ISO date"),
        (["regimen", "check", "3 mg/kg at weeks 0", "--weight-kg", "0"], "weight_kg"),
        (["regimen", "check", "3 mg/kg at weeks 0", "--weight-kg", "55", "--rules", "eu"], "rule sets"),
        (["regimen", "cost", "3 mg/kg every 8 weeks", "--weight-kg", "55"], "horizon"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, words, capsys, monkeypatch):
    code, err = run_main(args, capsys, monkeypatch)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0]


def test_invalid_history_exits_2(tmp_path, capsys, monkeypatch):
    bad = json.loads(EXAMPLE.read_text())
    bad["levels"][0]["date"] = "2024-03-01"  # before the first infusion 2024-04-01
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    code, err = run_main(["advise", "--policy", "label", "--history", str(path)], capsys, monkeypatch)
    assert code == 2
    assert "levels[0].date: 2024-03-01 is before the first infusion 2024-04-01" in err
