"""A workflow without traps: a recommendation made before new data is superseded (shown,
accept refused with the reason, page and API); accepting stop/switch takes the patient off
the infusion worklist; an answer of another shape than the domain's Recommendation is refused before it is stored; the clinic's time zone;
a session expiring during "Compute" lands on the sign-in page and back on the patient."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from ifxdose.adapters import store as st
from ifxdose.adapters.web.deps import Locale
from ifxdose.adapters.web.i18n import translator
from ifxdose.adapters.web.settings import WebSettings
from ifxdose.app.engine import Recommender
from recs import make_recommendation
from web.conftest import csrf_of, example_history, make_app, sign_in
from web.test_japanese_pages import english_words


def _stop():
    return make_recommendation(action="stop", chosen=None, options=[], decision="stop")


def _infuse():
    return make_recommendation()


def _app(tmp_path, make, **settings):
    fake = Recommender(
        recommend=lambda history, *, today: make(),
        predict_profile=lambda history: (_ for _ in ()).throw(ValueError("no model")),
    )
    app = make_app(f"sqlite:///{tmp_path / 'w.sqlite3'}", recommender=fake, settings=settings)
    st.import_history(app.state.store, example_history(), user="t")
    return app


def test_new_data_supersede_a_recommendation(tmp_path):
    app = _app(tmp_path, _infuse)
    with TestClient(app) as c:
        sign_in(c)
        rec = c.post("/api/v1/patients/RA-0001/recommendations").json()
        assert rec["superseded"] is False
        assert (
            c.post("/api/v1/patients/RA-0001/levels", json={"date": "2024-08-20", "value_mg_l": 2.5}).status_code == 201
        )
        listed = c.get("/api/v1/patients/RA-0001/recommendations").json()[0]
        assert listed["id"] == rec["id"] and listed["superseded"] is True
        r = c.post(f"/api/v1/patients/RA-0001/recommendations/{rec['id']}/decision", json={"decision": "accept"})
        assert r.status_code == 409 and "superseded" in r.json()["detail"][0]["msg"]
        page = c.get("/patients/RA-0001").text
        assert 'data-testid="rec-superseded"' in page and 'data-testid="accept"' not in page
        r = c.post(
            f"/patients/RA-0001/recommendations/{rec['id']}/decision",
            data={"csrf_token": csrf_of(page), "decision": "accept"},
        )
        assert r.status_code == 409 and "superseded" in r.text
        # overriding (declining) it is still possible; a fresh one can be accepted
        fresh = c.post("/api/v1/patients/RA-0001/recommendations").json()
        assert (
            c.post(
                f"/api/v1/patients/RA-0001/recommendations/{fresh['id']}/decision", json={"decision": "accept"}
            ).status_code
            == 200
        )
    app.state.store.close()


def test_accepting_stop_takes_the_patient_off_the_infusion_worklist(tmp_path):
    app = _app(tmp_path, _stop)
    with TestClient(app) as c:
        sign_in(c)
        assert [i["code"] for i in c.get("/api/v1/worklist").json()] == ["RA-0001"]
        rec = c.post("/api/v1/patients/RA-0001/recommendations").json()
        page = c.get("/patients/RA-0001").text
        assert 'data-testid="no-infusion"' in page and 'data-testid="options"' not in page
        c.post(f"/api/v1/patients/RA-0001/recommendations/{rec['id']}/decision", json={"decision": "accept"})
        assert c.get("/api/v1/worklist").json() == []
        due = c.get("/api/v1/patients/RA-0001/due").json()
        assert due["infusion_due"] is False and due["reason_code"] == "stopped"
        assert c.put("/api/v1/session/locale", json={"locale": "ja"}).status_code == 200
        page = c.get("/patients/RA-0001").text
        assert "インフリキシマブ中止または切替" in page and "accepted: stop" not in page
        due_section = page[
            page.index('<section class="card" aria-labelledby="due-h"') : page.index(
                '<section class="card" aria-labelledby="plot-h"'
            )
        ]
        assert 'data-testid="due-stopped"' in due_section and english_words(due_section) == set()
        # an infusion recorded later puts the schedule back
        c.post("/api/v1/patients/RA-0001/infusions", json={"date": "2024-08-26", "dose_mg": 165})
        assert c.get("/api/v1/patients/RA-0001/due").json()["reason_code"] != "stopped"
    app.state.store.close()


def test_an_unknown_action_never_reaches_the_store(tmp_path):
    """The engine's answer is the domain's Recommendation (action: infuse, stop or switch); an
    answer of another shape is a defect, refused before anything is stored."""
    with pytest.raises(ValidationError, match="action"):
        make_recommendation(action="resample")
    app = _app(tmp_path, lambda: {"action": "resample"})
    with TestClient(app) as c:
        sign_in(c)
        with pytest.raises(TypeError, match="not ifxdose's Recommendation"):
            c.post("/api/v1/patients/RA-0001/recommendations")
    assert st.recommendations(app.state.store, "RA-0001") == []
    app.state.store.close()


def test_times_are_shown_in_the_clinic_time_zone():
    loc = Locale(code="ja", t=translator("ja"), zone=ZoneInfo("Asia/Tokyo"))
    # 20:30 UTC on 25 August is 05:30 on 26 August in Tokyo (SQLite returns it without zone)
    assert loc.stamp(dt.datetime(2024, 8, 25, 20, 30)) == "2024年8月26日 05:30"
    assert loc.stamp(dt.datetime(2024, 8, 25, 20, 30, tzinfo=dt.timezone.utc)) == "2024年8月26日 05:30"
    settings = WebSettings(mode="test", secret_key="s" * 40, clinic_tz="Asia/Tokyo")
    utc_now = dt.datetime.now(dt.timezone.utc)
    assert settings.current_date() == utc_now.astimezone(ZoneInfo("Asia/Tokyo")).date()


def test_the_page_shows_the_decision_time_in_the_clinic_zone(tmp_path):
    app = _app(tmp_path, _stop, clinic_tz="Asia/Tokyo")
    with TestClient(app) as c:
        sign_in(c)
        rec = c.post("/api/v1/patients/RA-0001/recommendations").json()
        created = dt.datetime.fromisoformat(rec["created_at"])
        if created.tzinfo is None:
            created = created.replace(tzinfo=dt.timezone.utc)
        tokyo = created.astimezone(ZoneInfo("Asia/Tokyo"))
        assert (
            f"{tokyo.day} {['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][tokyo.month - 1]} {tokyo.year} {tokyo:%H:%M}"
            in c.get("/patients/RA-0001").text
        )
    app.state.store.close()


def test_session_expiry_during_compute_lands_on_sign_in_then_the_patient(app, with_example):
    with TestClient(app) as c:
        sign_in(c)
        page = c.get("/patients/RA-0001").text
        c.cookies.clear()  # the session expired while the page was open
        r = c.post(
            "/patients/RA-0001/recommendations",
            data={"csrf_token": csrf_of(page)},
            headers={"Referer": "http://testserver/patients/RA-0001"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        target = urlsplit(r.headers["location"])
        assert target.path == "/login" and parse_qs(target.query)["next"] == ["/patients/RA-0001"]
        assert c.get(r.headers["location"]).status_code == 200  # the sign-in page, not a 405


def test_the_plot_profile_is_computed_once_per_history_and_draws_the_target_band(tmp_path):
    from ifxdose.domain import recommend as engine

    calls = []

    def counting(history):
        calls.append(1)
        return engine.predict_profile(history, n_samples=100)

    app = make_app(
        f"sqlite:///{tmp_path / 'c.sqlite3'}",
        recommender=Recommender(recommend=engine.recommend, predict_profile=counting, cache_profiles=True),
    )
    st.import_history(app.state.store, example_history(), user="t")
    with TestClient(app) as c:
        sign_in(c)
        first = c.get("/patients/RA-0001").text
        assert 'class="target-band" data-low="1"' in first  # the default target, >= 1 mg/L
        c.get("/patients/RA-0001")
        c.get("/api/v1/patients/RA-0001/profile")
        assert len(calls) == 1  # one MAP + posterior band for three views
        c.post("/api/v1/patients/RA-0001/levels", json={"date": "2024-08-20", "value_mg_l": 2.5})
        c.get("/patients/RA-0001")
        assert len(calls) == 2  # new data: recomputed
    app.state.store.close()


def test_japanese_pages_have_japanese_errors_and_reasons(client, with_example):
    assert client.put("/api/v1/session/locale", json={"locale": "ja"}).status_code == 200
    form = client.get("/patients/RA-0001/record/weight").text
    r = client.post(
        "/patients/RA-0001/record/weight", data={"csrf_token": csrf_of(form), "date": "2024-08-20", "weight_kg": "500"}
    )
    assert r.status_code == 422 and "許容範囲 (0, 350] kg" in r.text and "Input should" not in r.text
    r = client.post(
        "/patients/RA-0001/record/weight", data={"csrf_token": csrf_of(form), "date": "2024-09-20", "weight_kg": "55"}
    )
    assert "今日（2024年8月26日）以前の日付" in r.text and "2024-08-26）" not in r.text
    listing = client.get("/patients").text
    assert "添付文書の投与スケジュール" in listing  # the worklist's reason, translated
    evidence = client.get("/evidence").text
    assert evidence.count("year") == 0 or "年" in evidence


def test_recommendation_report_pdf_in_both_languages(tmp_path):
    from ifxdose.domain import recommend as engine

    app = make_app(
        f"sqlite:///{tmp_path / 'r.sqlite3'}",
        recommender=Recommender(
            recommend=lambda history, *, today: _infuse(),
            predict_profile=lambda history: engine.predict_profile(history, n_samples=100),
            cache_profiles=True,
        ),
    )
    st.import_history(app.state.store, example_history(), user="t")
    with TestClient(app) as c:
        sign_in(c)
        rec = c.post("/api/v1/patients/RA-0001/recommendations").json()
        c.post(f"/api/v1/patients/RA-0001/recommendations/{rec['id']}/decision", json={"decision": "accept"})
        assert f"/recommendations/{rec['id']}/report.pdf" in c.get("/patients/RA-0001").text
        for lang in ("ja", "en"):
            r = c.get(f"/patients/RA-0001/recommendations/{rec['id']}/report.pdf", params={"lang": lang})
            assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
            pdf = r.content
            assert (
                pdf.startswith(b"%PDF")
                and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") + pdf.count(b"/Type /Page>") >= 1
            )
            assert len([m for m in __import__("re").findall(rb"/Type\s*/Page[^s]", pdf)]) == 1  # one page
            assert f"ifxdose recommendation {rec['id']} for RA-0001".encode() in pdf
            if lang == "ja":
                assert b"IPAGothic" in pdf  # the Japanese font is embedded
        assert c.get("/patients/RA-0001/recommendations/999/report.pdf").status_code == 404
    app.state.store.close()
