"""Issue 13: the patient page a clinician opens after data arrive does not compute the
profile in the request (it was computed in the background after the write), is never stale
for a changed history, and the first worklist view after start computes nothing."""

from __future__ import annotations

import datetime as dt
import shutil
import threading

import pytest
from fastapi.testclient import TestClient

from ifxdose.adapters import store as st
from ifxdose.app import clinic
from ifxdose.app.engine import Recommender
from ifxdose.domain import recommend as engine
from web.conftest import TODAY, example_history, make_app, sign_in


class CountingEngine:
    """The domain's own engine, counting profile computations and the threads they ran on."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.forbidden = False

    def predict_profile(self, history):
        if self.forbidden:
            raise AssertionError("the page computed the profile in the request")
        self.calls.append(threading.current_thread().name)
        return engine.predict_profile(history)

    def recommender(self) -> Recommender:
        return Recommender(recommend=engine.recommend, predict_profile=self.predict_profile, cache_profiles=True)


@pytest.fixture
def counting():
    return CountingEngine()


@pytest.fixture
def precompute_app(tmp_path, template_db, counting):
    shutil.copy(template_db, tmp_path / "web.sqlite3")
    app = make_app(
        f"sqlite:///{tmp_path / 'web.sqlite3'}",
        users=False,
        recommender=counting.recommender(),
        settings={"precompute": True},
    )
    st.import_history(app.state.store, example_history(), user="fixture")  # not through the app: nothing precomputed
    yield app
    app.state.store.close()


def test_page_after_a_write_reads_the_precomputed_profile(precompute_app, counting):
    with TestClient(precompute_app, base_url="http://testserver") as client:
        sign_in(client)
        r = client.post(
            "/api/v1/patients/RA-0001/levels", json={"date": "2024-08-20T09:00:00", "value_mg_l": 2.5, "lloq_mg_l": 0.1}
        )
        assert r.status_code == 201, r.text
        precompute_app.state.store.memo["precompute"].wait()
        assert counting.calls and all(name.startswith("ifxdose-precompute") for name in counting.calls)
        counting.forbidden = True  # from now on a computation in the request fails the page
        page = client.get("/patients/RA-0001")
        assert page.status_code == 200 and "<svg" in page.text
        profile = client.get("/api/v1/patients/RA-0001/profile").json()
    # the same numbers the domain computes for the stored history, independently recomputed
    history = st.patient_history(precompute_app.state.store, "RA-0001")
    assert any(level.value_mg_l == 2.5 for level in history.levels)
    assert profile == engine.predict_profile(history).model_dump(mode="json")


def test_page_right_after_a_write_shows_the_new_entry_never_a_stale_estimate(precompute_app, counting):
    """Viewed at once (the precompute may still be running), the page's profile is the one of
    the history that includes the write; each profile is computed once per history."""
    with TestClient(precompute_app, base_url="http://testserver") as client:
        sign_in(client)
        before = client.get("/api/v1/patients/RA-0001/profile").json()
        for value in (2.5, 3.5):
            r = client.post(
                "/api/v1/patients/RA-0001/levels",
                json={"date": f"2024-08-2{int(value)}T09:00:00", "value_mg_l": value, "lloq_mg_l": 0.1},
            )
            assert r.status_code == 201, r.text
            after = client.get("/api/v1/patients/RA-0001/profile").json()
            history = st.patient_history(precompute_app.state.store, "RA-0001")
            assert after == engine.predict_profile(history).model_dump(mode="json")
            assert after != before
            before = after
        precompute_app.state.store.memo["precompute"].wait()
    assert len(counting.calls) == 3  # the first view, then once per written history (page and precompute share it)


def test_a_void_or_amend_is_precomputed_too(precompute_app, counting):
    with TestClient(precompute_app, base_url="http://testserver") as client:
        sign_in(client)
        level_id = client.get("/api/v1/patients/RA-0001/levels").json()[0]["id"]
        r = client.post(f"/api/v1/patients/RA-0001/levels/{level_id}/void", json={"reason": "wrong patient"})
        assert r.status_code == 200, r.text
        precompute_app.state.store.memo["precompute"].wait()
        counting.forbidden = True
        assert client.get("/patients/RA-0001").status_code == 200
    history = st.patient_history(precompute_app.state.store, "RA-0001")
    assert history.levels == []


def test_first_worklist_view_after_start_computes_nothing(tmp_path, template_db, monkeypatch):
    """The due bases are filled when the app starts (before it serves), so the first view,
    also in another worker process (no memo), reads them from the database cache."""
    shutil.copy(template_db, tmp_path / "web.sqlite3")
    app = make_app(f"sqlite:///{tmp_path / 'web.sqlite3'}", users=False)
    store = app.state.store
    for k, history in enumerate([example_history()] * 3):
        data = history.model_dump(mode="json")
        data["patient"]["id"] = f"RA-{k:04d}"
        st.import_history(store, type(history).model_validate(data), user="fixture")
    versions = st.data_versions(store)
    with TestClient(app, base_url="http://testserver") as client:
        store.memo.clear()  # as a second worker process would start: only the database cache
        keys = [clinic.due_basis_key(code, version) for code, version in versions.items()]
        assert len(st.cached_many(store, keys)) == 3  # filled at start

        def no_compute(*args, **kwargs):
            raise AssertionError("a clinician's worklist view computed a due basis")

        monkeypatch.setattr(clinic, "due_payload", no_compute)
        sign_in(client)
        due = client.get("/api/v1/worklist").json()
    # hand-computed: last infusion 2024-07-08 + 8 weeks = 2024-09-02, due within 7 days of 2024-08-26
    assert TODAY == dt.date(2024, 8, 26)
    assert sorted(item["code"] for item in due) == ["RA-0000", "RA-0001", "RA-0002"]
    app.state.store.close()
