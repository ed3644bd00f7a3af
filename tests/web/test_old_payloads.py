"""Recommendations stored by older versions are read as today's typed value, end to end.

The two payloads in ``tests/data/payloads/`` were written by the code of earlier commits (named
in the file name), by ``recommend(...).model_dump(mode="json")`` on ``examples/history_label_55kg.json``
at 2024-08-26 — exactly what ``save_recommendation`` stores:

- ``36eb8e8``: window target 3-8 mg/L, SIR diagnostics without ``adapted_rounds`` (added later);
- ``5674bea``: default lower bound 1 mg/L, whose ``target.source`` is the two citations S10 and
  S11 joined by "; " into one string.

Both had ``estimation`` as a free dict and ``target.source`` as a string; today they are an
``EstimateSummary`` and a tuple of ``Citation``. The store rehydrates them, the JSON API answers
them, the FHIR export and the patient page read them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ifxdose.adapters import store as st
from ifxdose.adapters.store.tables import RecommendationRow
from ifxdose.domain.decisions.cite import cite
from ifxdose.domain.estimation import EstimateSummary
from ifxdose.domain.recommend import Recommendation
from recs import make_recommendation
from web.conftest import example_history, make_app, sign_in

PAYLOADS = Path(__file__).resolve().parents[1] / "data" / "payloads"
OLD = sorted(PAYLOADS.glob("recommendation_*.json"))
#: The sources each old payload's target names (recommend.py: Target.lower -> S10, S11; window -> S13).
TARGET_KEYS = {"recommendation_36eb8e8.json": ("S13",), "recommendation_5674bea.json": ("S10", "S11")}


def _old(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_fixtures_are_old_payloads():
    assert {p.name for p in OLD} == set(TARGET_KEYS)
    for path in OLD:
        data = _old(path)
        assert isinstance(data["target"]["source"], str) and isinstance(data["estimation"], dict)
    assert "adapted_rounds" not in _old(PAYLOADS / "recommendation_36eb8e8.json")["estimation"]["posterior"]


@pytest.mark.parametrize("path", OLD, ids=lambda p: p.stem)
def test_an_old_payload_reads_as_the_typed_value(path):
    data = _old(path)
    rec = Recommendation.model_validate(data)
    assert rec.target.source == tuple(cite(k) for k in TARGET_KEYS[path.name])
    assert [c.key for c in rec.target.source] == list(TARGET_KEYS[path.name])
    assert all(c.study_id and c.study_id.startswith(c.key + "-") for c in rec.target.source)
    est = rec.estimation
    assert isinstance(est, EstimateSummary)
    old = data["estimation"]
    assert est.model == data["model"] and est.eta_parameters == tuple(old["eta_parameters"])
    assert est.ess == old["posterior"]["effective_sample_size"] and est.posterior.n == 300
    assert est.method == "MAP (Beal M3) + Laplace + SIR"  # posterior kind "sir" in both
    assert est.individual_parameters["CL"].unit == old["individual_parameters"]["CL"]["unit"]
    # the example's one level: 0.8 mg/L on 2024-07-08 at 09:30, day 98 + 9.5/24 after the first infusion
    assert [(s.day, s.observed_mg_l, s.lloq_mg_l) for s in est.samples] == [(98 + 9.5 / 24, 0.8, 0.1)]
    # the estimate's JSON is the old JSON, field for field; only the target's source changed shape
    again = rec.model_dump(mode="json")
    assert again["estimation"] == old
    assert again["target"]["source"] == [str(cite(k)) for k in TARGET_KEYS[path.name]]
    assert {k for k in data if again[k] != data[k]} == {"target"}
    assert Recommendation.model_validate(again) == rec


def _app_with_old_payload(tmp_path, path: Path):
    """A clinic whose one stored recommendation has the old payload as its stored JSON."""
    app = make_app(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    store = app.state.store
    st.import_history(store, example_history(), user="t")
    snapshot = st.patient_history(store, "RA-0001").model_dump(mode="json")
    rec_id = st.save_recommendation(store, "RA-0001", make_recommendation(), snapshot, user="t")
    with store.transaction() as session:
        stored = session.scalars(select(RecommendationRow).where(RecommendationRow.id == rec_id)).one()
        stored.payload = _old(path)
    return app


@pytest.mark.parametrize("path", OLD, ids=lambda p: p.stem)
def test_an_old_stored_payload_through_store_api_fhir_and_page(tmp_path, path):
    app = _app_with_old_payload(tmp_path, path)
    expected = Recommendation.model_validate(_old(path))
    keys = TARGET_KEYS[path.name]
    with TestClient(app) as c:
        sign_in(c)
        listed = c.get("/api/v1/patients/RA-0001/recommendations")
        assert listed.status_code == 200, listed.text
        answered = listed.json()[0]["recommendation"]
        assert answered["target"]["source"] == [str(cite(k)) for k in keys]
        assert answered["estimation"] == _old(path)["estimation"]
        assert Recommendation.model_validate(answered) == expected
        bundle = c.get("/api/v1/patients/RA-0001/fhir")
        page = c.get("/patients/RA-0001")
        rec_id = listed.json()[0]["id"]
        taken = expected.options[-1]  # not the chosen one: the page must show the option taken
        decided = c.post(
            f"/api/v1/patients/RA-0001/recommendations/{rec_id}/decision",
            json={"decision": "override", "reason": "test", "option_index": len(expected.options) - 1},
        )
        assert decided.status_code == 200, decided.text
        after = c.get("/patients/RA-0001").text
    app.state.store.close()
    assert bundle.status_code == 200, bundle.text
    provenance = [e["resource"] for e in bundle.json()["entry"] if e["resource"]["resourceType"] == "Provenance"]
    shown = {s["what"]["display"] for p in provenance for s in p.get("entity", [])}
    assert {str(c) for c in expected.citations} <= shown
    assert page.status_code == 200
    low = {"recommendation_36eb8e8.json": "3", "recommendation_5674bea.json": "1"}[path.name]
    assert f'class="target-band" data-low="{low}"' in page.text  # the plot's band is the stored target
    links = {c.study_id for c in expected.citations if c.study_id}
    assert links and all(f'href="/evidence/{sid}"' in page.text for sid in links)
    # the decision line names the option taken (typed Option from the store: dose, interval)
    line = re.search(r"— [^<]*? mg, [^<]*", after)
    assert line and f"{taken.dose_mg:,.0f} mg" in line.group(0), line
