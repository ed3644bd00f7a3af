"""CLI ``recommend --lang ja`` and the model's honesty (name, grade, spread across RA models)."""

import datetime as dt
import json
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ifxdose.adapters.cli import app, main
from ifxdose.domain.recommend import ra_models, recommend

from .conftest import build, week

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "history_label_55kg.json"


def test_recommend_lang_ja_prints_the_whole_advice_in_japanese():
    r = CliRunner().invoke(app, ["recommend", "--history", str(EXAMPLE), "--today", "2024-08-26", "--lang", "ja"])
    assert r.exit_code == 0, r.output
    out = r.stdout
    for words in ("投与", "次回受診", "トラフ", "抗薬物抗体", "出典", "選択肢"):
        assert words in out, words
    # none of the English sentences of the advice (rationale, next visit, warnings headings)
    for english in ("Current ", "draw a pre-dose trough", "warning:", "Next visit", "Citations:"):
        assert english not in out, english


def test_recommend_lang_must_be_en_or_ja(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["ifxdose", "recommend", "--history", str(EXAMPLE), "--lang", "fr"])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2 and "--lang" in capsys.readouterr().err


def test_implausible_weight_exits_2_naming_the_field(tmp_path, capsys, monkeypatch):
    """Weight 5 kg crashed with 'max() arg is an empty sequence'; now one line, exit 2."""
    data = json.loads(EXAMPLE.read_text())
    data["weights"][-1]["weight_kg"] = 5.0
    path = tmp_path / "h.json"
    path.write_text(json.dumps(data))
    monkeypatch.setattr(sys, "argv", ["ifxdose", "recommend", "--history", str(path), "--today", "2024-08-26"])
    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith("error: weights[1].weight_kg") and len(err.strip().splitlines()) == 1


def test_every_recommendation_names_its_model_grade_and_the_spread_across_ra_models():
    """Every RA model of the library is listed with a predicted trough for the chosen option; the
    model used reports the option's own posterior median."""
    h = build(levels=[{"date": f"{week(22).isoformat()}T09:00:00", "value_mg_l": 2.0}])
    rec = recommend(h, today=week(22), n_samples=300)
    names = [m.model for m in rec.model_spread]
    assert set(names) == set(ra_models()) and rec.model in names and len(names) >= 2
    used = next(m for m in rec.model_spread if m.model == rec.model)
    assert used.predicted_trough_median_mg_l == rec.chosen.predicted_trough_median_mg_l
    assert all(m.predicted_trough_median_mg_l is None or m.predicted_trough_median_mg_l > 0 for m in rec.model_spread)
    assert re.search(r"grades [A-D/]+ \(worst [A-D]\)", rec.model_grade)


def test_next_visit_is_always_present_when_infusing():
    h = build(levels=[{"date": f"{week(22).isoformat()}T09:00:00", "value_mg_l": 0.6}])
    rec = recommend(h, today=week(22), n_samples=300, model_spread=False)
    v = rec.next_visit
    assert v.trough_date == rec.chosen.next_date  # pre-dose, on the next infusion day
    assert v.ada_retest_date == rec.chosen.next_date  # last level < 1 mg/L: retest ADA with it
    assert len(v.advice) == len(v.advice_ja) >= 3
    assert json.loads(rec.model_dump_json())["next_visit"]["trough_date"] == rec.chosen.next_date.isoformat()
    assert isinstance(rec.today, dt.date)
