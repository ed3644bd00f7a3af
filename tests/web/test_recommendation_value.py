"""One Recommendation end to end in the JSON API: the engine's value is what the store keeps and
what the API answers (its OpenAPI schema is the domain type, not a dict), field for field."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ifxdose.app.engine import Recommender
from ifxdose.domain.recommend import Recommendation
from recs import make_option, make_recommendation
from web.conftest import example_history, make_app, sign_in

REC = make_recommendation(
    options=[make_option(), make_option(label="more mg", dose_mg=220.0, vials=3, pta=0.97, change="escalate")]
)


def _app(tmp_path):
    from ifxdose.adapters import store as st

    fake = Recommender(
        recommend=lambda history, *, today: REC,
        predict_profile=lambda history: (_ for _ in ()).throw(ValueError("no model")),
    )
    app = make_app(f"sqlite:///{tmp_path / 'v.sqlite3'}", recommender=fake)
    st.import_history(app.state.store, example_history(), user="t")
    return app


def test_the_api_answers_the_engines_recommendation_field_for_field(tmp_path):
    app = _app(tmp_path)
    with TestClient(app) as c:
        sign_in(c)
        made = c.post("/api/v1/patients/RA-0001/recommendations").json()
        assert Recommendation.model_validate(made["recommendation"]) == REC
        assert made["recommendation"]["chosen"]["dose_mg"] == 165.0 and made["chosen_option"] is None
        taken = c.post(
            f"/api/v1/patients/RA-0001/recommendations/{made['id']}/decision",
            json={"decision": "override", "reason": "fewer vials", "option_index": 1},
        ).json()
        assert taken["status"] == "overridden"
        assert (taken["chosen_option"]["label"], taken["chosen_option"]["dose_mg"]) == ("more mg", 220.0)
        spec = c.get("/api/openapi.json").json()
    app.state.store.close()
    out = spec["components"]["schemas"]["RecommendationOut"]["properties"]
    assert out["recommendation"] == {"$ref": "#/components/schemas/Recommendation"}
    documented = set(spec["components"]["schemas"]["Recommendation"]["properties"])
    assert documented == set(Recommendation.model_fields)
    assert {"action", "chosen", "options", "rationale", "citations", "warnings", "next_visit"} <= documented
