"""Issue 13: the patient page a clinician opens after data arrive does not compute the
profile in the request (it was computed in the background after the write), is never stale
for a changed history, and the first worklist view after start computes nothing."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time

import pytest
from fastapi.testclient import TestClient

from ifxdose.adapters import store as st
from ifxdose.app import clinic
from ifxdose.app.engine import Recommender
from ifxdose.domain import recommend as engine
from web.conftest import EXAMPLE, TODAY, example_history, make_app, sign_in


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


# ------------------------------------------------ at start: queued once per database and data state
def _patients_with_infusions(store, counts: dict[str, int]) -> None:
    """Patients stored without a write through the app (as ``fhir import --into-db`` does),
    keeping the first ``n`` infusions of the example."""
    for code, n in counts.items():
        data = example_history().model_dump(mode="json")
        data["patient"]["id"] = code
        data["infusions"] = data["infusions"][:n]
        st.import_history(store, type(example_history()).model_validate(data), user="fixture")


def _start_app(url: str, counting: CountingEngine, limit: int):
    return make_app(
        url,
        users=False,
        recommender=counting.recommender(),
        settings={"precompute": True, "precompute_at_start": limit},
    )


def test_start_queues_uncached_patients_soonest_due_first_once_per_data_state(tmp_path, template_db, counting):
    """Hand-derived order (label schedule 0, 2, 6 weeks then every 8; TODAY 2024-08-26):
    RA-0003 (2 infusions, 2024-04-01/15: week 6 due 2024-05-13), RA-0001 (3 infusions: week 14
    due 2024-07-08), RA-0000 (4 infusions, last 2024-07-08: due 2024-09-02), RA-0002 (none).
    With a bound of 2 the first two are computed, in the background, and nothing else."""
    shutil.copy(template_db, tmp_path / "web.sqlite3")
    url = f"sqlite:///{tmp_path / 'web.sqlite3'}"
    first = _start_app(url, counting, limit=2)
    _patients_with_infusions(first.state.store, {"RA-0000": 4, "RA-0001": 3, "RA-0002": 0, "RA-0003": 2})
    with TestClient(first, base_url="http://testserver"):
        precompute = first.state.store.memo["precompute"]
        assert precompute.start_done.wait(120)
    assert clinic.due_order(first.state.store, TODAY) == ["RA-0003", "RA-0001", "RA-0000", "RA-0002"]
    assert len(counting.calls) == 2 and all(n.startswith("ifxdose-precompute") for n in counting.calls)

    def stored(store, code: str) -> bool:
        key = clinic.profile_key(st.history_hash(st.patient_history(store, code)))
        return bool(st.cached_many(store, [key]))

    assert [stored(first.state.store, c) for c in ("RA-0003", "RA-0001", "RA-0000")] == [True, True, False]
    # a second worker process on the same database and data: neither queues nor computes again
    second = _start_app(url, counting, limit=2)
    with TestClient(second, base_url="http://testserver"):
        second.state.store.memo["precompute"].wait()
        assert second.state.store.memo["precompute"].start_done.is_set()
    assert len(counting.calls) == 2
    # new data arrive outside the app (a new data state): the next start looks again, and
    # computes only the patient whose current history has no stored profile
    _patients_with_infusions(first.state.store, {"RA-0004": 1})  # week 2 due 2024-04-15: first in order
    third = _start_app(url, counting, limit=2)
    with TestClient(third, base_url="http://testserver"):
        assert third.state.store.memo["precompute"].start_done.wait(120)
    assert len(counting.calls) == 3 and stored(first.state.store, "RA-0004")
    for app in (first, second, third):
        app.state.store.close()


def test_next_days_start_reads_no_history_and_computes_nothing_for_an_unchanged_patient(
    tmp_path, template_db, counting, monkeypatch
):
    """Issue 13 (next-day worklist 749 ms p95): the day's writes make a new data state, so the
    next day's server runs the start job again; it used to read and hash every history of its
    set (~10 ms of CPU each, beside the requests) to find nothing to compute. Now a patient
    whose data version is marked is skipped unread: only the changed patient is read (and,
    its profile being stored by the write's precompute, nothing is computed)."""
    shutil.copy(template_db, tmp_path / "web.sqlite3")
    url = f"sqlite:///{tmp_path / 'web.sqlite3'}"
    first = _start_app(url, counting, limit=3)
    _patients_with_infusions(first.state.store, {"RA-0000": 4, "RA-0001": 3, "RA-0003": 2})
    with TestClient(first, base_url="http://testserver") as client:
        assert first.state.store.memo["precompute"].start_done.wait(120)
        assert len(counting.calls) == 3  # day 1: the three profiles
        sign_in(client)
        r = client.post("/api/v1/patients/RA-0001/levels", json={"date": "2024-08-26T08:00:00", "value_mg_l": 2.0})
        assert r.status_code == 201, r.text
        first.state.store.memo["precompute"].wait()
    assert len(counting.calls) == 4  # the write's own precompute (a new history)
    read: list[str] = []
    real_histories = st.histories

    def counting_histories(store, codes):
        read.extend(codes)
        return real_histories(store, codes)

    monkeypatch.setattr(st, "histories", counting_histories)
    next_day = make_app(
        url,
        users=False,
        recommender=counting.recommender(),
        settings={"precompute": True, "precompute_at_start": 3, "today": TODAY + dt.timedelta(days=1)},
    )
    with TestClient(next_day, base_url="http://testserver"):
        precompute = next_day.state.store.memo["precompute"]
        assert precompute.start_done.wait(120)
        precompute.wait()
    read_by_start_job = [c for c in read if c in ("RA-0000", "RA-0001", "RA-0003")]
    assert len(counting.calls) == 4  # no estimate computed on the next day
    assert read_by_start_job.count("RA-0000") == 0 and read_by_start_job.count("RA-0003") == 0
    assert read_by_start_job.count("RA-0001") <= 1  # changed on day 1 after its mark: read once, then marked
    for app in (first, next_day):
        app.state.store.close()


def test_a_page_waits_for_a_stuck_precompute_of_its_patient_only_up_to_the_bound(tmp_path, template_db, monkeypatch):
    """Issue 13 item 3: the page opened at once after a write waits for the write's precompute
    (not computing twice), but a precompute that hangs holds the page at most KEY_WAIT_S: then
    the page computes the profile itself and answers."""
    shutil.copy(template_db, tmp_path / "web.sqlite3")
    release, entered = threading.Event(), threading.Event()

    def stuck(history):
        written = any(level.value_mg_l == 2.5 for level in history.levels)  # the write's own precompute
        if written and threading.current_thread().name.startswith("ifxdose-precompute"):
            entered.set()
            assert release.wait(120)
        return engine.predict_profile(history)

    monkeypatch.setattr(clinic, "KEY_WAIT_S", 0.5)
    recommender = Recommender(recommend=engine.recommend, predict_profile=stuck, cache_profiles=True)
    app = make_app(
        f"sqlite:///{tmp_path / 'web.sqlite3'}",
        users=False,
        recommender=recommender,
        settings={"precompute": True, "precompute_at_start": 0},
    )
    st.import_history(app.state.store, example_history(), user="fixture")
    try:
        with TestClient(app, base_url="http://testserver") as client:
            sign_in(client)
            r = client.post("/api/v1/patients/RA-0001/levels", json={"date": "2024-08-20T09:00:00", "value_mg_l": 2.5})
            assert r.status_code == 201, r.text
            assert entered.wait(120)  # the write's precompute is inside the profile, holding its lock
            started = time.monotonic()
            page = client.get("/patients/RA-0001")
            waited = time.monotonic() - started
            assert page.status_code == 200 and "<svg" in page.text
            assert waited >= 0.5  # it did wait for the other computation first
            release.set()
    finally:
        release.set()
        app.state.store.close()


def test_start_job_waits_while_requests_are_served():
    """The start job computes its next patient only after the requests in flight ended and a
    quiet spell passed, and never waits longer than its bound (a stand-in Precompute, no DB)."""
    precompute = clinic.Precompute.__new__(clinic.Precompute)
    clinic.Precompute.__init__(precompute, store=None, recommender=None)  # type: ignore[arg-type]
    try:
        # no request yet: at once (a wrong wait would last the quiet spell, 1 s; < 0.5 s leaves room for a loaded machine)
        assert precompute.yield_to_requests(quiet_s=1.0, max_wait_s=5.0) < 0.5
        precompute.request_begins()
        waited = precompute.yield_to_requests(quiet_s=0.05, max_wait_s=0.3)
        assert 0.3 <= waited < 1.0  # a request in flight for ever: the bound
        # timed from before the timer starts: the request ends >= 0.2 s after t0, then 0.1 s of quiet
        # (the wait alone starts a little after t0, so it can be a hair under 0.3 s)
        t0 = time.monotonic()
        threading.Timer(0.2, precompute.request_ends).start()
        waited = precompute.yield_to_requests(quiet_s=0.1, max_wait_s=5.0)
        assert time.monotonic() - t0 >= 0.3 and waited < 2.0
    finally:
        precompute.close()


def test_start_precompute_never_blocks_a_request(tmp_path, template_db):
    """While the background precompute is stuck in a patient, the app has started and serves
    the worklist and another patient's page (computed in the request)."""
    shutil.copy(template_db, tmp_path / "web.sqlite3")
    release, entered = threading.Event(), threading.Event()

    def stuck(history):
        if threading.current_thread().name.startswith("ifxdose-precompute"):
            entered.set()
            assert release.wait(120)
        return engine.predict_profile(history)

    recommender = Recommender(recommend=engine.recommend, predict_profile=stuck, cache_profiles=True)
    app = make_app(
        f"sqlite:///{tmp_path / 'web.sqlite3'}",
        users=False,
        recommender=recommender,
        settings={"precompute": True, "precompute_at_start": 1},
    )
    _patients_with_infusions(app.state.store, {"RA-0000": 4, "RA-0001": 2})
    try:
        with TestClient(app, base_url="http://testserver") as client:
            assert entered.wait(120)  # the precompute of RA-0001 (due first) is running
            sign_in(client)
            assert client.get("/patients").status_code == 200
            page = client.get("/patients/RA-0000")
            assert page.status_code == 200 and "<svg" in page.text
            release.set()
    finally:
        release.set()
        app.state.store.close()


def test_worklist_fill_at_start_runs_in_one_process_per_data_state(tmp_path, template_db, monkeypatch):
    """Two processes starting on one database: the first computes every due basis, the second
    waits for its mark and only reads them (a counting ``due_payload``)."""
    shutil.copy(template_db, tmp_path / "web.sqlite3")
    url = f"sqlite:///{tmp_path / 'web.sqlite3'}"
    calls: list[str] = []
    real = clinic.due_payload

    def counting_payload(history, today, plan):
        calls.append(history.patient.id)
        return real(history, today, plan)

    monkeypatch.setattr(clinic, "due_payload", counting_payload)
    first, second = make_app(url, users=False), make_app(url, users=False)
    _patients_with_infusions(first.state.store, {"RA-0000": 4, "RA-0001": 3})
    assert clinic.fill_worklist_at_start(first.state.store, TODAY) is True
    assert sorted(calls) == ["RA-0000", "RA-0001"]
    assert clinic.fill_worklist_at_start(second.state.store, TODAY, wait_s=5) is False
    assert sorted(calls) == ["RA-0000", "RA-0001"]  # read, not computed again
    assert [i.code for i in clinic.worklist(second.state.store, TODAY)] == ["RA-0001", "RA-0000"]
    for app in (first, second):
        app.state.store.close()


# ------------------------------------------------ the estimate cache key: code and data, not the app version
def test_tree_digest_changes_with_any_source_or_data_byte_not_with_byte_code(tmp_path):
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    (root / "a.py").write_text("x = 1\n")
    (root / "sub" / "model.toml").write_text("cl = 0.3\n")
    base = clinic.tree_digest([root])
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\x00")
    assert clinic.tree_digest([root]) == base
    (root / "sub" / "model.toml").write_text("cl = 0.31\n")
    changed = clinic.tree_digest([root])
    assert changed != base
    (root / "sub" / "model.toml").rename(root / "sub" / "other.toml")  # same bytes, other name
    assert clinic.tree_digest([root]) not in (base, changed)
    (root / "sub" / "other.toml").rename(root / "sub" / "model.toml")
    (root / "b.py").write_text("")
    assert clinic.tree_digest([root]) != changed


def test_estimate_key_covers_every_module_the_estimate_runs(tmp_path):
    """In a fresh interpreter, computing a profile and a trend loads ifxdose modules only from
    the fingerprinted packages (and the package's own lazy ``__init__``): no other ifxdose
    code can change what they compute from the same history."""
    import subprocess
    import sys

    script = (
        "import sys, json\n"
        "from ifxdose.domain.patient import PatientHistory\n"
        "from ifxdose.domain.recommend import predict_profile\n"
        "from ifxdose.domain.clinic import activity_trend\n"
        f"h = PatientHistory.model_validate_json(open({str(EXAMPLE)!r}).read())\n"
        "predict_profile(h); activity_trend(h)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('ifxdose'))))\n"
    )
    import json

    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert "ifxdose.core.estimation.map" in loaded and "ifxdose.domain.scores" in " ".join(loaded)
    inside = tuple(clinic.ESTIMATE_PACKAGES) + tuple(p + "." for p in clinic.ESTIMATE_PACKAGES)
    outside = [m for m in loaded if m != "ifxdose" and not (m in inside or m.startswith(inside))]
    assert outside == []


def test_a_changed_model_or_estimation_code_never_reads_an_old_estimate(precompute_app, counting, monkeypatch):
    with TestClient(precompute_app, base_url="http://testserver") as client:
        sign_in(client)
        assert client.get("/patients/RA-0001").status_code == 200
        assert client.get("/patients/RA-0001").status_code == 200
        assert len(counting.calls) == 1  # the second view read the stored profile
        monkeypatch.setattr(clinic, "estimate_fingerprint", lambda: "another model or estimation code")
        assert client.get("/patients/RA-0001").status_code == 200
        assert len(counting.calls) == 2  # recomputed under the new code's key


def test_data_loaded_into_a_running_server_are_precomputed_after_the_next_worklist_view(precompute_app, counting):
    """``ifxdose fhir import --into-db`` writes into the database of a running server, not
    through it: the next worklist view notices the patient's new data version and queues it."""
    with TestClient(precompute_app, base_url="http://testserver") as client:
        sign_in(client)
        assert client.get("/patients").status_code == 200
        precompute_app.state.store.memo["precompute"].wait()
        before = len(counting.calls)
        _patients_with_infusions(precompute_app.state.store, {"RA-0007": 4})  # not through the app
        assert client.get("/patients").status_code == 200
        precompute_app.state.store.memo["precompute"].wait()
        assert len(counting.calls) == before + 1
        assert all(name.startswith("ifxdose-precompute") for name in counting.calls)
        counting.forbidden = True
        assert client.get("/patients/RA-0007").status_code == 200


def test_no_page_template_is_compiled_in_a_request_after_start(precompute_app, monkeypatch):
    """The templates are compiled when the app starts, so the first worklist view and the first
    patient page of a new server process compile nothing (a counting Jinja loader)."""
    from ifxdose.adapters.web.render import TEMPLATES

    TEMPLATES.env.cache.clear()  # as in a new process (earlier tests compiled them in this one)
    with TestClient(precompute_app, base_url="http://testserver") as client:
        loaded: list[str] = []
        real = TEMPLATES.env.loader.get_source

        def counting(environment, name):
            loaded.append(name)
            return real(environment, name)

        monkeypatch.setattr(TEMPLATES.env.loader, "get_source", counting)
        monkeypatch.setattr(TEMPLATES.env, "auto_reload", False)  # no up-to-date check of the files
        sign_in(client)
        assert client.get("/patients").status_code == 200
        assert client.get("/patients/RA-0001").status_code == 200
    assert loaded == []


def test_the_heap_alive_after_start_is_exempt_from_collections_until_shutdown(tmp_path, template_db):
    """``settle_heap``: the start's objects leave the collector's generations (a first request
    paid a ~0.2 s full collection of them on the benchmark's database), and come back at shutdown."""
    import gc

    shutil.copy(template_db, tmp_path / "web.sqlite3")
    app = make_app(f"sqlite:///{tmp_path / 'web.sqlite3'}", users=False, settings={"settle_heap": True})
    assert gc.get_freeze_count() == 0
    with TestClient(app, base_url="http://testserver"):
        assert gc.get_freeze_count() > 1000
    assert gc.get_freeze_count() == 0
    app.state.store.close()
