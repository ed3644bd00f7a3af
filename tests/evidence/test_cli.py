"""``ifxdose evidence list|show``: tables, JSON, and exit code 2 with one line for an unknown id."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ifxdose.adapters.cli import app

runner = CliRunner()


def test_list_json_has_every_seed_item():
    result = runner.invoke(app, ["evidence", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["seed_tag"] for r in rows] == [f"S{i}" for i in range(16)]
    attract = rows[4]
    assert attract["short_citation"] == "Maini 1999, Lancet 354:1932" and attract["n"] == 428


def test_list_table_shows_ids():
    result = runner.invoke(app, ["evidence", "list"], terminal_width=200)
    assert result.exit_code == 0
    assert "S15-rrrr-2020" in result.stdout and "Tanaka 2020" in result.stdout


def test_show_by_key_renders_arms_and_outcomes():
    result = runner.invoke(app, ["evidence", "show", "attract"])
    assert result.exit_code == 0, result.output
    out = result.stdout  # Rich wraps cells to the terminal width: look for short tokens
    assert "Maini R, St Clair EW, Breedveld F, et al. Lancet 1999;354:1932." in " ".join(out.split())
    for token in ("arms", "outcomes", "3 mg/kg q8w", "ACR20", "16–20", "Verification:"):
        assert token in out, token


def test_show_json_is_the_record():
    result = runner.invoke(app, ["evidence", "show", "S13", "--json"])
    assert result.exit_code == 0
    record = json.loads(result.stdout)
    assert record["id"] == "S13-nor-drum-b-2021" and record["population"]["country"] == "Norway"
    hr = [o for o in record["outcomes"] if o["unit"] == "HR"][0]
    assert (hr["value"], hr["ci_low"], hr["ci_high"]) == (2.1, 1.5, 2.9)


def test_unknown_id_exits_2_with_one_line(ifxdose_cli):
    proc = ifxdose_cli("evidence", "show", "S99")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: study: 'S99'") and "S4-attract-1999" in lines[0]
