"""One engine: the CLI, the web app's recommender, CDS Hooks and the registered
``recommend`` policy give the same decision for the same history (issue 11)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cds.hooks import ORDER_SELECT, assert_spec_card, hook_request, prefetch_of
from ifxdose.adapters.cli import app as cli
from ifxdose.app.engine import default_recommender
from ifxdose.domain.policies import get_policy
from web.conftest import TODAY, example_history, underexposed_example_history


def test_cli_web_cds_and_policy_registry_decide_the_same(ehr, tmp_path):
    history = underexposed_example_history()  # a chosen option to compare under any RA model
    path = tmp_path / "history.json"
    path.write_text(history.model_dump_json(), encoding="utf-8")
    result = CliRunner().invoke(cli, ["recommend", "--history", str(path), "--today", TODAY.isoformat(), "--json"])
    assert result.exit_code == 0, result.output
    cli_rec = json.loads(result.stdout)
    web = default_recommender().recommend(history, today=TODAY)
    policy = get_policy("recommend").decide(history, TODAY)
    response = ehr.post(ORDER_SELECT, json=hook_request(prefetch=prefetch_of(history)))
    assert response.status_code == 200, response.text
    [card] = response.json()["cards"]
    assert_spec_card(card)

    o = web.chosen
    assert (cli_rec["action"], cli_rec["decision"]) == (web.action, web.decision) == (policy.action, policy.kind)
    assert cli_rec["chosen"]["dose_mg"] == o.dose_mg == policy.dose_mg
    assert cli_rec["chosen"]["interval_weeks"] == o.interval_weeks == policy.interval_weeks
    assert cli_rec["chosen"]["next_date"] == o.next_date.isoformat() == policy.date.isoformat()
    assert cli_rec["rationale"] == web.rationale == policy.rationale
    assert f"{o.dose_mg:g} mg ({o.dose_mg_per_kg:.2f} mg/kg" in card["detail"]
    assert f"every {o.interval_weeks:g} weeks, next on {o.next_date.isoformat()}" in card["detail"]
    assert web.rationale in card["detail"]


def test_implausible_history_is_a_422_naming_the_field(client):
    """350 kg is not an adult with RA: the API answers 422 with the field, never a recommendation."""
    data = example_history().model_dump(mode="json")
    data["weights"][-1]["weight_kg"] = 350.0
    assert client.post("/api/v1/patients/import", json=data).status_code == 201
    r = client.post("/api/v1/patients/RA-0001/recommendations")
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == "weights[1].weight_kg"
