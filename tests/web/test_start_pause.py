"""Issue 13: the start job (the background precompute at start) pauses between the stages of a
patient's computation (after the MAP, the Laplace approximation and SIR) while a request is in
flight, so a request that begins in the middle of it runs alone from the next stage on; the
numbers computed do not change; it never pauses while a thread waits for its result, and
never longer than its bound."""

from __future__ import annotations

import shutil
import threading
import time

from ifxdose.app import clinic
from ifxdose.app.engine import Recommender
from ifxdose.domain import estimation
from ifxdose.domain import recommend as engine
from web.conftest import example_history, make_app
from web.test_precompute import _patients_with_infusions


def test_estimate_and_profile_pause_between_their_stages_in_this_thread_only():
    """Inside ``pausing_between_stages`` the profile calls the pause after MAP, Laplace and SIR
    and between SIR's batches (issue 13: a request arriving during SIR waits ~15 ms, not the
    whole ~70 ms stage), the profile is the same as without (same function of the same history), and
    another thread computing at the same time is not paused."""
    history = example_history()
    plain = engine.predict_profile(history)
    calls: list[str] = []
    other: list[object] = []

    def elsewhere() -> None:
        other.append(engine.predict_profile(history))

    with estimation.pausing_between_stages(lambda: calls.append(threading.current_thread().name)):
        paused = engine.predict_profile(history)
        thread = threading.Thread(target=elsewhere, name="other")
        thread.start()
        thread.join()
    # after MAP, Laplace and SIR, and between SIR's batches of the proposals' objective
    proposals = int(estimation.estimate(history, n_samples=500).posterior.diagnostics["proposals"])
    expected = 3 + -(-proposals // estimation.SIR_PAUSE_BATCH) - 1
    assert calls == [threading.current_thread().name] * expected and expected > 3
    assert paused.model_dump() == plain.model_dump() == other[0].model_dump()  # type: ignore[attr-defined]
    engine.predict_profile(history)  # outside the block: no pause
    assert len(calls) == expected


class _Store:
    """What ``pause_for_requests`` reads of the store: the process memo and its lock."""

    def __init__(self) -> None:
        self.memo: dict[str, object] = {}
        self.memo_lock = threading.Lock()


def _precompute() -> clinic.Precompute:
    return clinic.Precompute(store=_Store(), recommender=None)  # type: ignore[arg-type]


def test_pause_waits_for_the_request_in_flight_until_it_ends():
    precompute = _precompute()
    try:
        assert precompute.pause_for_requests(max_wait_s=5.0) < 0.5  # nothing in flight: at once
        precompute.request_begins()
        # timed from before the timer starts: the request ends >= 0.3 s after t0 (the wait alone starts a
        # little after t0, so it can be a hair under 0.3 s: 0.2960 s was seen in a quiet full run)
        t0 = time.monotonic()
        threading.Timer(0.3, precompute.request_ends).start()
        waited = precompute.pause_for_requests(max_wait_s=5.0)
        assert time.monotonic() - t0 >= 0.3 and waited < 4.0  # until the request ended, not the bound (5 s)
    finally:
        precompute.close()


def test_pause_is_bounded_while_requests_never_end():
    precompute = _precompute()
    try:
        precompute.request_begins()
        waited = precompute.pause_for_requests(max_wait_s=0.3)
        assert 0.3 <= waited < 3.0
    finally:
        precompute.close()


def test_pause_does_not_wait_while_a_thread_waits_for_a_page_results_lock():
    """A request may be waiting for the very result the start job is computing (the same
    patient's page): then the start job must go on, not pause for that request."""
    precompute = _precompute()
    store = precompute.store
    key = "ab" * 32
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with clinic._key_lock(store, key):  # type: ignore[arg-type]
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        waiter = threading.Thread(target=lambda: clinic._key_lock(store, key, wait_s=5.0).__enter__())  # type: ignore[arg-type]
        waiter.start()
        deadline = time.monotonic() + 5
        while clinic.key_waiters(store) == 0 and time.monotonic() < deadline:  # type: ignore[arg-type]
            time.sleep(0.005)
        assert clinic.key_waiters(store) == 1  # type: ignore[arg-type]
        precompute.request_begins()
        assert precompute.pause_for_requests(max_wait_s=5.0) < 1.0  # a waiter: at once
    finally:
        release.set()
        holder.join()
        waiter.join()
        precompute.request_ends()
        precompute.close()
    assert clinic.key_waiters(store) == 0  # type: ignore[arg-type]


def test_start_job_computation_holds_at_a_stage_while_a_request_is_in_flight(tmp_path, template_db, monkeypatch):
    """End to end in the app: a request in flight while the start job computes a patient stops
    that computation at its next stage boundary until the request ends; then it finishes and
    stores the same profile as on demand."""
    monkeypatch.setattr(clinic, "START_YIELD_MAX_S", 0.05)  # begin computing although a request is in flight
    monkeypatch.setattr(clinic, "START_PAUSE_MAX_S", 30.0)  # the pause ends only with the request
    shutil.copy(template_db, tmp_path / "web.sqlite3")
    stages: list[tuple[str, float]] = []
    recommender = Recommender(recommend=engine.recommend, predict_profile=engine.predict_profile, cache_profiles=True)
    app = make_app(
        f"sqlite:///{tmp_path / 'web.sqlite3'}", users=False, recommender=recommender, settings={"precompute": True}
    )
    store = app.state.store
    _patients_with_infusions(store, {"RA-0000": 4})
    precompute = store.memo["precompute"]
    original = precompute.pause_for_requests

    def recording(max_wait_s: float | None = None) -> float:
        stages.append(("enter", time.monotonic()))
        waited = original(max_wait_s)
        stages.append(("leave", time.monotonic()))
        return waited

    monkeypatch.setattr(precompute, "pause_for_requests", recording)
    try:
        precompute.request_begins()  # a request in flight for the whole start of the job
        precompute.submit_many(["RA-0000"])
        deadline = time.monotonic() + 60
        while not stages and not precompute.start_done.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        assert [kind for kind, _ in stages] == ["enter"]  # held at the first stage boundary (after the MAP)
        ended = time.monotonic()
        precompute.request_ends()
        assert precompute.start_done.wait(60)
        history = clinic.patient_history(store, "RA-0000")
        proposals = int(estimation.estimate(history, n_samples=500).posterior.diagnostics["proposals"])
        pauses = 3 + -(-proposals // estimation.SIR_PAUSE_BATCH) - 1  # stages, and SIR's batches
        assert [kind for kind, _ in stages] == ["enter", "leave"] * pauses
        assert stages[1][1] >= ended  # left only after the request ended
        stored = clinic.cached_profile(store, recommender, history, clinic.st.history_hash(history))
        assert stored.model_dump() == engine.predict_profile(history).model_dump()
    finally:
        if precompute._in_flight:
            precompute.request_ends()
        store.close()
