"""``ifxdose trial list|run``: tables, JSON, reports, and exit code 2 for bad input."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ifxdose.adapters.cli import app

runner = CliRunner()


def test_list_json_and_table():
    result = runner.invoke(app, ["trial", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["attract"]["arms"]["10 mg/kg q4w"] == 81
    assert set(rows) >= {"elliott1993", "elliott1994", "attract", "start", "aspire", "rising", "nor-drum-b", "rrrr"}
    table = runner.invoke(app, ["trial", "list"], terminal_width=200)
    assert table.exit_code == 0 and "ATTRACT" in table.stdout


def test_run_json_and_report(tmp_path):
    args = [
        "trial",
        "run",
        "elliott1994",
        "--n",
        "12",
        "--replicates",
        "3",
        "--seed",
        "5",
        "--json",
        "--report",
        str(tmp_path),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    first = json.loads(result.stdout)
    again = json.loads(runner.invoke(app, args).stdout)
    assert first == again
    rows = first[0]["rows"]
    assert first[0]["n_per_arm"] == 12 and any(r["published"] == "19 of 24" for r in rows)
    html = (tmp_path / "trials.html").read_text()
    assert "data:image/png;base64" in html and "http" not in html.split("<body>")[1].split("Elliott")[0]
    assert (tmp_path / "elliott1994.png").exists() and (tmp_path / "elliott1994.svg").exists()


def test_bad_input_exits_2_with_one_line(ifxdose_cli):
    for args in (["trial", "run", "nope"], ["trial", "run", "attract", "--n", "0"]):
        proc = ifxdose_cli(*args)
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("error:")


def test_calibrate_show_prints_the_stored_fit_without_refitting(ifxdose_cli, tmp_path):
    """``trial calibrate --show`` reads the stored calibration (the adapter does the file I/O) and
    prints every fitted figure; an edited copy via --out shows the copy's values."""
    import tomllib

    from ifxdose.domain.trials.calibrate import stored_calibration_text

    doc = tomllib.loads(stored_calibration_text())
    r = ifxdose_cli("trial", "calibrate", "--show")
    assert r.returncode == 0, r.stderr
    n_rows = len(doc["immunogenicity"]["fit"]) + len(doc["exposure_response"]["fit"])
    assert r.stdout.count("\n| ") >= n_rows
    assert f"h0_per_day = {doc['immunogenicity']['values']['h0_per_day']:.4g}" in r.stdout
    copy = tmp_path / "cal.toml"
    copy.write_text(stored_calibration_text().replace("h0_per_day = ", "h0_per_day = 7.5e-9 #", 1), encoding="utf-8")
    r2 = ifxdose_cli("trial", "calibrate", "--show", "--out", str(copy))
    assert r2.returncode == 0, r2.stderr
    assert "h0_per_day = 7.5e-09" in r2.stdout


def test_too_few_replicates_are_labelled_as_a_range():
    """Below 39 replicates the 95 % positions fall outside the sample: the title says the interval is the
    sample's range and its expected coverage, (n - 1)/(n + 1) (3 replicates: 50 %)."""
    args = ["trial", "run", "elliott1994", "--n", "12", "--replicates", "3", "--seed", "5"]
    text = " ".join(runner.invoke(app, args, terminal_width=300).stdout.split())
    assert "fewer than 39 replicates the interval is their range (expected coverage 50 %)" in text
