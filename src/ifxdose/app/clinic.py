"""The clinic's use cases, shared by the web pages, the JSON API, CDS Hooks and the CLI:
store reads and writes through ``ifxdose.adapters.store`` (the persistence port), one domain
call each, no clinical rules of their own (those live in ``ifxdose.domain.clinic`` and
``ifxdose.domain.recommend``).

- :func:`record_entries`, :func:`import_patient`: write a patient's data;
- :func:`patient_view`: everything the patient page and its API twins show;
- :func:`recommend_and_store`, :func:`recommendations_of`, :func:`accept_recommendation`:
  a recommendation from the engine to the store, listed, accepted or overridden;
- :func:`worklist`: who is due; :func:`current_plan`: the accepted plan still in force;
- :func:`patient_list`, :func:`create_patient`, :func:`patient_history`, :func:`set_baseline_tnf`;
- :func:`list_entries`, :func:`find_entry`, :func:`amend_entry`, :func:`void_entry`: the
  recorded entries of one kind and their corrections (the entries page and the JSON API);
- :func:`decide`, :func:`is_superseded`: a decision on a stored recommendation;
- :func:`record_events`: audit rows for events that are not entries (CDS card feedback).

``Store`` (for dependency injection), ``ENTRY_KINDS``, ``WRITER_ROLES``, ``CODE_PATTERN``,
``PatientSummary`` and ``chosen_option`` are re-exported here so the adapters above ``app`` need not import the store
(import-linter contract in pyproject.toml); the store's errors are in ``ifxdose.app.errors``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ifxdose.adapters import store as st
from ifxdose.adapters.store import ENTRY_KINDS as ENTRY_KINDS
from ifxdose.adapters.store import WRITER_ROLES as WRITER_ROLES
from ifxdose.adapters.store import PatientSummary as PatientSummary
from ifxdose.adapters.store import Store as Store
from ifxdose.adapters.store import chosen_option as chosen_option
from ifxdose.adapters.store.checks import CODE_PATTERN as CODE_PATTERN
from ifxdose.adapters.store.recommendations import Decision
from ifxdose.adapters.store.records import OnExisting
from ifxdose.adapters.store.tables import RecommendationRow
from ifxdose.app.engine import Recommender
from ifxdose.core.errors import InputError
from ifxdose.domain.clinic import (
    DueBasis,
    DueStatus,
    ScheduleRow,
    Trend,
    activity_trend,
    due_basis,
    due_on,
    infusion_schedule,
)
from ifxdose.domain.estimation import pausing_between_stages
from ifxdose.domain.patient import PatientHistory, PatientInfo, as_date
from ifxdose.domain.recommend import Option, Recommendation

log = logging.getLogger("ifxdose.app")

#: Accepted actions after which no infusion is planned (issue 11 may add more; "infuse",
#: "reduce" and other dosing actions keep the schedule).
STOPPING_ACTIONS = frozenset({"stop", "switch", "change_mechanism"})


@dataclass
class Plan:
    """The next infusion as planned by the newest accepted recommendation, if still current."""

    next_date: date | None = None
    interval_weeks: float | None = None
    stopped_action: str | None = None  # an accepted stop/switch with no infusion given since


def current_plan(history: PatientHistory, accepted: RecommendationRow | None) -> Plan:
    """The newest accepted recommendation's plan, if no infusion has been given since."""
    if accepted is not None and accepted.action in STOPPING_ACTIONS:
        # stopped until an infusion is recorded that the stop decision did not see
        seen = len((accepted.input_snapshot or {}).get("infusions") or [])
        if len(history.infusions) <= seen:
            return Plan(stopped_action=accepted.action)
    option = st.taken_option(accepted) if accepted is not None else None
    if option is None:
        return Plan()
    given = history.infusions
    if given and option.next_date <= as_date(given[-1].date):
        return Plan()  # already given: the plan is spent
    return Plan(next_date=option.next_date, interval_weeks=option.interval_weeks)


def history_and_plan(store: st.Store, code: str) -> tuple[PatientHistory, Plan]:
    """A stored patient's history and the accepted plan still in force (CDS Hooks read these)."""
    history = st.patient_history(store, code)
    return history, current_plan(history, st.accepted_plan(store, code))


@dataclass
class PatientView:
    history: PatientHistory
    due: DueStatus
    schedule: list[ScheduleRow]
    trends: list[Trend]
    recommendations: list[RecommendationRow]
    profile: Any | None = None
    profile_error: str | None = None
    infusion_rows: list = field(default_factory=list)
    assessment_rows: list = field(default_factory=list)
    superseded: set[int] = field(default_factory=set)  # proposed recommendations computed on older data
    stopped_action: str | None = None

    @property
    def latest(self) -> RecommendationRow | None:
        return self.recommendations[0] if self.recommendations else None


def due_with_plan(history: PatientHistory, today: date, plan: Plan) -> DueStatus:
    """The domain's due status, except after an accepted stop/switch: nothing is due."""
    return due_from_payload(due_payload(history, today, plan), today)


def due_payload(history: PatientHistory, today: date, plan: Plan) -> dict[str, Any]:
    """What the worklist caches per patient and data version: the day-independent due basis
    and the accepted stop/switch, if any (JSON-ready)."""
    basis = due_basis(history, today, plan.next_date)
    return {"basis": basis.model_dump(mode="json"), "stopped_action": plan.stopped_action}


def due_from_payload(payload: dict[str, Any], today: date) -> DueStatus:
    due = due_on(DueBasis.model_validate(payload["basis"]), today)
    if payload.get("stopped_action"):
        return due.model_copy(
            update={
                "infusion_due": False,
                "level_due": False,
                "overdue_days": 0,
                "next_infusion_date": None,
                "reason": f"accepted: {payload['stopped_action']}",
                "reason_code": "stopped",
            }
        )
    return due


def patient_view(
    store: st.Store, recommender: Recommender, code: str, today: date, *, with_profile: bool = True
) -> PatientView:
    """Everything the patient page shows. Its database reads are one transaction
    (:meth:`~ifxdose.adapters.store.Store.reading`): the history with its rows, the
    recommendations with the accepted plan (:func:`ifxdose.adapters.store.page_records`) and
    the stored trend and profile of this history (one look-up of both keys); only a result not
    stored yet is computed (or waited for) after it."""
    wants_profile = with_profile and recommender.cache_profiles
    with store.reading():
        records = st.page_records(store, code)
        history = records.history
        current_hash = st.history_hash(history)
        keys = [trends_key(current_hash)] + ([profile_key(current_hash)] if wants_profile and history.infusions else [])
        stored = st.cached_many(store, keys)
    plan = current_plan(history, records.accepted)
    recommendations = records.recommendations
    payload = due_payload(history, today, plan)  # the label replay runs once, for both
    planned = plan.next_date or DueBasis.model_validate(payload["basis"]).next_infusion_date
    view = PatientView(
        history=history,
        due=due_from_payload(payload, today),
        schedule=infusion_schedule(
            history, today, planned, **({"interval_weeks": plan.interval_weeks} if plan.interval_weeks else {})
        ),
        trends=cached_trends(store, history, current_hash, stored=stored.get(keys[0])),
        recommendations=recommendations,
        superseded={
            row.id for row in recommendations[:1] if row.status == "proposed" and st.is_superseded(row, current_hash)
        },  # the page acts on the newest only
        stopped_action=plan.stopped_action,
        infusion_rows=records.rows["infusions"],
        assessment_rows=records.rows["assessments"],
    )
    if with_profile and history.infusions:
        try:
            view.profile = cached_profile(
                store, recommender, history, current_hash, stored=stored.get(keys[-1]) if wants_profile else None
            )
        except (InputError, ValueError) as exc:
            view.profile_error = str(exc)
    return view


def cached_trends(
    store: st.Store, history: PatientHistory, history_hash: str, *, stored: dict[str, Any] | None = None
) -> list[Trend]:
    """DAS28 and SDAI over time (``ifxdose.domain.clinic.activity_trend``), kept in the
    database cache under the history's hash and the estimate code's fingerprint like the profile
    (``stored``: the payload already read under that key, if any)."""
    if stored is None:
        key = trends_key(history_hash)
        with _key_lock(store, key):
            stored = st.cached(
                store, key, lambda: {"trends": [t.model_dump(mode="json") for t in activity_trend(history)]}
            )
    return [Trend.model_validate(t) for t in stored["trends"]]


def cached_profile(
    store: st.Store,
    recommender: Recommender,
    history: PatientHistory,
    history_hash: str,
    *,
    stored: dict[str, Any] | None = None,
) -> Any:
    """The plot's profile, computed once per history (MAP + posterior band) and kept in the
    database keyed by the history's hash and :func:`estimate_fingerprint` (the code and data
    of ``ifxdose.core`` and ``ifxdose.domain``, NumPy's and SciPy's versions): a new history or
    a changed model or estimation never reads an older estimate, while an upgrade that changes
    only the app, the web pages or the store keeps them. Only the domain's own ``Profile`` is
    cached (a stand-in engine's result is recomputed). ``stored``: the payload already read
    under this history's key, if any (then nothing is read or computed)."""
    from ifxdose.domain.recommend import Profile

    if not recommender.cache_profiles:
        return recommender.predict_profile(history)
    if stored is None:
        key = profile_key(history_hash)
        with _key_lock(store, key):  # a page opened while the precompute runs waits for it, not computes twice
            stored = st.cached(store, key, lambda: recommender.predict_profile(history).model_dump(mode="json"))
    return Profile.model_validate(stored)


def profile_key(history_hash: str) -> str:
    """The database cache key of the plot's profile of the history with this hash."""
    return hashlib.sha256(f"profile|{estimate_fingerprint()}|{history_hash}".encode()).hexdigest()


def trends_key(history_hash: str) -> str:
    """The database cache key of the DAS28/SDAI trend of the history with this hash."""
    return hashlib.sha256(f"trends|{estimate_fingerprint()}|{history_hash}".encode()).hexdigest()


#: The packages whose code and data compute a cached estimate from a history (the profile:
#: ``domain.recommend.predict_profile`` -> ``domain.estimation``/``timeline``/``modelfiles`` ->
#: ``core.estimation``/``core.pk``; the trend: ``domain.clinic`` -> ``domain.scores``). Layering
#: (import-linter) keeps ``core`` and ``domain`` from importing ``app`` or the adapters, so
#: nothing outside these trees can change what they compute from the same history.
ESTIMATE_PACKAGES = ("ifxdose.core", "ifxdose.domain")
#: The libraries whose numerics the estimate depends on (their versions enter the key).
ESTIMATE_LIBRARIES = ("numpy", "scipy")


def tree_digest(roots: Iterable[Path]) -> str:
    """SHA-256 over every file under ``roots`` (path relative to its root, then its bytes, in
    sorted order; byte-code caches left out): changes when any source or data file changes."""
    digest = hashlib.sha256()
    for root in roots:
        files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        for path in files:
            if path.suffix in (".pyc", ".pyo"):
                continue
            digest.update(f"{root.name}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


@functools.cache
def estimate_fingerprint() -> str:
    """What a cached estimate (profile, trend) was computed with: the digest of the files of
    :data:`ESTIMATE_PACKAGES` and the versions of :data:`ESTIMATE_LIBRARIES` (once per
    process, ~10 ms). Part of every estimate cache key, instead of the app version: after an
    upgrade that leaves the model and estimation code as they were, the stored estimates stay
    valid; any change there (a model file, a prior, an estimation step) misses them all."""
    import importlib

    roots = [Path(importlib.import_module(name).__file__ or "").parent for name in ESTIMATE_PACKAGES]
    versions = "|".join(f"{name} {metadata.version(name)}" for name in ESTIMATE_LIBRARIES)
    return hashlib.sha256(f"{tree_digest(roots)}|{versions}".encode()).hexdigest()


_KEY_LOCKS = 64
#: Assumption (tuning constant, not a correctness limit): a page waits at most this long (s) for another thread of
#: its process computing the same result (the precompute after a write takes ~0.25 s quiet);
#: after that it computes the result itself rather than hang behind a stuck computation.
KEY_WAIT_S = 3.0


@contextmanager
def _key_lock(store: st.Store, key: str, wait_s: float | None = None) -> Iterator[bool]:
    """One of 64 per-process locks, chosen by the cache key: two threads of this process do not
    compute the same derived result at once (the second reads what the first stored). Held
    for at most :data:`KEY_WAIT_S` of waiting: then the caller goes on without it (True if held)."""
    with store.memo_lock:
        locks: list[threading.Lock] = store.memo.setdefault("key_locks", [threading.Lock() for _ in range(_KEY_LOCKS)])
    lock = locks[int(key[:8], 16) % _KEY_LOCKS]
    wait = KEY_WAIT_S if wait_s is None else wait_s
    held = lock.acquire(blocking=False)
    if not held:  # counted while waiting: the start job does not pause while someone waits for it
        _count_key_waiter(store, +1)
        try:
            held = lock.acquire(timeout=wait)
        finally:
            _count_key_waiter(store, -1)
    if not held:
        log.warning("waited %.1f s for another computation of a page result: computing it here", wait)
    try:
        yield held
    finally:
        if held:
            lock.release()


def _count_key_waiter(store: st.Store, change: int) -> None:
    with store.memo_lock:
        store.memo["key_waiters"] = int(store.memo.get("key_waiters", 0)) + change


def key_waiters(store: st.Store) -> int:
    """How many threads of this process are waiting for another's computation of a page result."""
    return int(store.memo.get("key_waiters", 0))


class Precompute:
    """Computes a patient's page results (the plot's profile: MAP + posterior band; the
    DAS28/SDAI trend) in one background thread after each write commits, and stores them in
    the database cache under the new history's hash: the page a clinician opens after data
    arrive reads them instead of computing. The page still computes on demand when the result
    is absent (precompute not finished, another worker process wrote, or it failed); a page
    opened while this patient's precompute runs waits for it (``_key_lock``). The key is the
    hash of the history read *after* the write, so a changed history never finds an older
    estimate. Writes of a patient already queued are coalesced (the run reads the newest
    history). Runs on the NumPy path (compiled kernels run only from the main thread)."""

    def __init__(self, store: st.Store, recommender: Recommender) -> None:
        self.store = store
        self.recommender = recommender
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ifxdose-precompute")
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self.start_done = threading.Event()
        self.start_done.set()
        self._requests = threading.Condition()
        self._in_flight = 0
        self._last_request_end = 0.0

    def request_begins(self) -> None:
        """A request is being served (the web middleware calls this and :meth:`request_ends`)."""
        with self._requests:
            self._in_flight += 1

    def request_ends(self) -> None:
        with self._requests:
            self._in_flight -= 1
            self._last_request_end = time.monotonic()
            self._requests.notify_all()

    def yield_to_requests(self, quiet_s: float | None = None, max_wait_s: float | None = None) -> float:
        """Wait until no request is in flight and none ended in the last ``quiet_s`` (default
        :data:`START_QUIET_S`), at most ``max_wait_s`` (:data:`START_YIELD_MAX_S`): the start
        job computes between requests, not beside them (the GIL serialises its Python work
        with theirs), and still advances under constant load. The seconds waited."""
        quiet = START_QUIET_S if quiet_s is None else quiet_s
        started = time.monotonic()
        deadline = started + (START_YIELD_MAX_S if max_wait_s is None else max_wait_s)
        with self._requests:
            while True:
                now = time.monotonic()
                idle_for = now - self._last_request_end
                if now >= deadline or (self._in_flight == 0 and idle_for >= quiet):
                    return now - started
                left = deadline - now
                self._requests.wait(left if self._in_flight else min(left, quiet - idle_for))

    def pause_for_requests(self, max_wait_s: float | None = None) -> float:
        """Between the stages of a start-job computation (MAP, Laplace, SIR, band): while a
        request is in flight, wait for it to end (at most ``max_wait_s``, default
        :data:`START_PAUSE_MAX_S`), so a request that begins in the middle of a background
        computation runs alone from the next stage on instead of sharing the interpreter (the
        GIL) with it to the end. Never while a thread waits for a page result's lock (it may be
        waiting for this very computation). The seconds waited."""
        started = time.monotonic()
        deadline = started + (START_PAUSE_MAX_S if max_wait_s is None else max_wait_s)
        with self._requests:
            while self._in_flight and not key_waiters(self.store) and time.monotonic() < deadline:
                # woken when a request ends; the lock waiters are polled (no notification)
                self._requests.wait(min(PAUSE_POLL_S, max(0.0, deadline - time.monotonic())))
        return time.monotonic() - started

    def submit(self, code: str) -> None:
        with self._lock:
            if code in self._pending:
                return
            self._pending.add(code)
        try:
            self._executor.submit(self._run, code)
        except RuntimeError:  # shut down
            with self._lock:
                self._pending.discard(code)

    def _run(self, code: str) -> None:
        with self._lock:
            self._pending.discard(code)
        try:
            warm_patient(self.store, self.recommender, code)
        except Exception as exc:  # the page computes on demand and shows the error there
            log.warning("precompute of a patient failed: %s", type(exc).__name__)

    def submit_many(self, codes: list[str]) -> None:
        """Queue these patients (in this order) for the results no history of theirs has yet;
        run :data:`START_CHUNK` at a time, each chunk queued behind the writes that arrived
        while the previous one ran, so a write's own precompute waits for one chunk at most.
        ``started_done`` is set when the last chunk has run."""
        self.start_done.clear()
        self._submit_chunk(list(codes), 0)

    def _submit_chunk(self, codes: list[str], computed: int) -> None:
        try:
            self._executor.submit(self._run_chunk, codes, computed)
        except RuntimeError:  # shut down
            self.start_done.set()

    def _run_chunk(self, codes: list[str], computed: int) -> None:
        chunk, rest = codes[:START_CHUNK], codes[START_CHUNK:]
        try:
            with pausing_between_stages(self.pause_for_requests):
                computed += warm_many(self.store, self.recommender, chunk, before_each=self.yield_to_requests)
        except Exception as exc:  # the pages compute on demand
            log.warning("precompute at start failed: %s", type(exc).__name__)
        if rest:
            self._submit_chunk(rest, computed)
        else:
            log.info("precompute at start finished: %d patients' results computed", computed)
            self.start_done.set()

    def wait(self) -> None:
        """Block until every queued precompute has run (tests, benchmarks)."""
        self._executor.submit(lambda: None).result()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def warm_patient(store: st.Store, recommender: Recommender, code: str) -> None:
    """Compute and cache what the patient page shows from the history (profile and trend)."""
    warm_many(store, recommender, [code])


#: Patients per background task of the precompute at start (~0.2 s each on the NumPy path).
START_CHUNK = 4
#: Assumption (tuning constant, not a correctness limit): the start job computes its next patient only when no
#: request has been served for this long (s) ...
START_QUIET_S = 0.2
#: ... or after waiting this long (s), so it still advances while requests never stop.
START_YIELD_MAX_S = 2.0
#: Assumption (tuning constant, not a correctness limit): between the stages of one patient's computation the start
#: job waits at most this long (s) for the requests in flight (~0.25 s: a page computed in
#: the request), so under constant load a patient takes at most ~3 x this longer ...
START_PAUSE_MAX_S = 0.5
#: ... and looks again at least this often (s) whether a thread waits for its result.
PAUSE_POLL_S = 0.01


def checked_key(code: str, audit_id: int) -> str:
    """The database cache key of the mark "the page results of this patient's history at data
    version ``audit_id`` (its newest audit row id) are stored", under the estimate code's
    fingerprint: a later precompute skips the patient without reading its history."""
    return hashlib.sha256(f"page-results-checked|{estimate_fingerprint()}|{code}|{audit_id}".encode()).hexdigest()


def warm_many(
    store: st.Store, recommender: Recommender, codes: list[str], *, before_each: Callable[[], object] | None = None
) -> int:
    """Compute and cache the page results of those patients whose current history has none;
    how many patients were computed.

    Patients whose data version (newest audit row id, one grouped query) carries a mark
    (:func:`checked_key`) are skipped without reading their history: the next day's start job
    reads no history and computes nothing for an unchanged patient (issue 13: it used to read
    and hash every history of its set, ~10 ms of CPU each, beside the requests). The others
    are read in bulk, their cache looked up in one query, computed if missing, then marked.
    The version is read before the histories, so a write in between leaves its newer version
    unmarked. ``before_each()``, if given, runs before each patient computed (the start job
    waits there while requests are served)."""
    if not codes:
        return 0
    with store.reading():  # the versions, their marks, the histories, their stored results: one transaction
        versions = st.data_versions(store, codes)
        marks = {code: checked_key(code, version[0]) for code, version in versions.items()}
        seen = st.cached_many(store, list(marks.values())) if recommender.cache_profiles else {}
        todo = [code for code in codes if code in marks and marks[code] not in seen]
        loaded = st.histories(store, todo) if todo else {}
        hashes = {code: st.history_hash(history) for code, history in loaded.items()}
        wanted = {
            code: [trends_key(h)] + ([profile_key(h)] if loaded[code].infusions and recommender.cache_profiles else [])
            for code, h in hashes.items()
        }
        found = st.cached_many(store, [key for keys in wanted.values() for key in keys]) if wanted else {}
    if not todo:
        return 0
    computed = 0
    for code in todo:
        if code not in loaded or all(key in found for key in wanted[code]):
            continue
        if before_each is not None:
            before_each()
        history, current_hash = loaded[code], hashes[code]
        # the profile first: a page opened at once after the write waits for it (the trend,
        # ~5 ms, it computes itself if it gets there first)
        if history.infusions and recommender.cache_profiles:
            try:
                cached_profile(store, recommender, history, current_hash)
            except (InputError, ValueError):  # the page shows the error (and computes it again)
                pass
        cached_trends(store, history, current_hash)
        computed += 1
    if recommender.cache_profiles:
        st.put_cached(store, {marks[code]: {"history_hash": hashes[code]} for code in todo if code in loaded})
    return computed


def enable_precompute(store: st.Store, recommender: Recommender) -> Precompute:
    """Precompute each patient's page results after every write made through this module."""
    precompute = Precompute(store, recommender)
    with store.memo_lock:
        store.memo["precompute"] = precompute
    return precompute


def _written(store: st.Store, code: str) -> None:
    precompute: Precompute | None = store.memo.get("precompute")
    if precompute is not None:
        precompute.submit(code)


def recommend_and_store(store: st.Store, recommender: Recommender, code: str, today: date, *, user: str) -> int:
    """Run the engine on the stored history and store its answer with the input snapshot
    (the new recommendation's id). The answer must be the domain's ``Recommendation``."""
    from ifxdose.domain.recommend import Recommendation

    history = st.patient_history(store, code)
    recommendation = recommender.recommend(history, today=today)
    if not isinstance(recommendation, Recommendation):  # a defect of a stand-in engine, not bad input
        raise TypeError(f"the engine returned {type(recommendation).__name__}, not ifxdose's Recommendation")
    return st.save_recommendation(store, code, recommendation, history.model_dump(mode="json"), user=user)


@dataclass(frozen=True)
class StoredRecommendation:
    """A stored recommendation: the domain value, what the clinician did, and whether data
    were recorded or corrected since it was computed (then it cannot be accepted)."""

    row: RecommendationRow
    recommendation: Recommendation
    taken: Option | None
    superseded: bool = False


def _stored(row: RecommendationRow, superseded: bool = False) -> StoredRecommendation:
    return StoredRecommendation(row, st.stored_recommendation(row), st.taken_option(row), superseded)


def recommendations_of(store: st.Store, code: str) -> list[StoredRecommendation]:
    """Newest first; a proposed one computed before data were recorded or corrected is superseded."""
    current = st.history_hash(st.patient_history(store, code))
    return [
        _stored(row, row.status == "proposed" and st.is_superseded(row, current))
        for row in st.recommendations(store, code)
    ]


def latest_recommendation(store: st.Store, code: str) -> StoredRecommendation:
    """The newest stored recommendation (just computed: not superseded)."""
    return _stored(st.recommendations(store, code, limit=1)[0])


def accept_recommendation(
    store: st.Store,
    code: str,
    rec_id: int,
    decision: Decision,
    *,
    user: str,
    reason: str = "",
    option_index: int | None = None,
) -> StoredRecommendation:
    """Accept the recommendation (its chosen option, or option ``option_index``) or override it
    with a reason; refused (Conflict) when already decided or superseded."""
    row = st.decide(store, code, rec_id, decision, user=user, reason=reason, option_index=option_index)
    return _stored(row)


def record_entries(
    store: st.Store,
    code: str,
    entries: list[tuple[str, Any, int | None]],
    *,
    user: str,
    today: date,
    request_id: str | None = None,
) -> list[int]:
    """Record ``(kind, domain entry, vials)`` for a patient in one transaction (their row ids);
    a retry with the same ``request_id`` does not write twice."""
    ids = st.add_entries(store, code, entries, user=user, today=today, request_id=request_id)
    _written(store, code)
    return ids


def import_patient(store: st.Store, history: PatientHistory, *, user: str, on_existing: OnExisting = "refuse") -> str:
    """Store a whole patient from its canonical history: ``refuse`` if stored, ``merge`` the
    entries not yet recorded, or ``replace`` (recorded entries voided, kept, audited)."""
    code = st.import_history(store, history, user=user, on_existing=on_existing)
    _written(store, code)
    return code


@dataclass
class WorklistItem:
    code: str
    due: DueStatus


def worklist(store: st.Store, today: date) -> list[WorklistItem]:
    """Patients whose next infusion (or a trough before it) is due within a week, most overdue
    first.

    Each patient's due basis (``ifxdose.domain.clinic.due_basis``: the next infusion's number
    and date, whether a level was taken since the last one) depends only on the patient's data
    and accepted plan, so it is kept under the patient's data version (newest audit row id,
    newest accepted recommendation id: one grouped query per view), in this process's memo and
    in the database cache shared by every worker. A view recomputes only the patients whose
    data changed; a new day is a date comparison per patient, not a replay of the label
    schedule. A basis holds from its newest entry's day on (an earlier ``today``, e.g. a clock
    set back, recomputes)."""
    versions = st.data_versions(store)
    with store.memo_lock:
        memo = store.memo.setdefault("worklist", {"payloads": {}, "last": None})
        if memo["last"] is not None and memo["last"][0] == (versions, today):
            return list(memo["last"][1])
        known: dict[str, tuple[tuple[int, int | None], dict[str, Any]]] = memo["payloads"]
        fresh = {
            code: entry[1]
            for code, version in versions.items()
            if (entry := known.get(code)) is not None and entry[0] == version
        }
        keys = {code: due_basis_key(code, version) for code, version in versions.items() if code not in fresh}
        found = st.cached_many(store, list(keys.values()))
        fresh.update({code: found[key] for code, key in keys.items() if key in found})
        day = today.isoformat()
        stale = [code for code in versions if code not in fresh or fresh[code]["basis"]["valid_from"] > day]
        loaded = st.histories(store, stale)  # bulk: one query per kind of entry
        plans = st.accepted_rows(store, [versions[c][1] for c in stale if versions[c][1] is not None])
        computed: dict[str, dict[str, Any]] = {}
        for code in stale:
            plan_id, history = versions[code][1], loaded[code]
            fresh[code] = due_payload(history, today, current_plan(history, plans.get(plan_id) if plan_id else None))
            if code in keys and fresh[code]["basis"]["valid_from"] <= day:  # saw every entry: reusable
                computed[keys[code]] = fresh[code]
        st.put_cached(store, computed)
        memo["payloads"] = {
            code: (versions[code], payload) for code, payload in fresh.items() if payload["basis"]["valid_from"] <= day
        }
        items = []
        for code in sorted(fresh):
            due = due_from_payload(fresh[code], today)
            if due.infusion_due or due.level_due:
                items.append(WorklistItem(code=code, due=due))
        items.sort(key=lambda i: (i.due.next_infusion_date or today, i.code))
        seen_before = memo["last"] is not None
        memo["last"] = ((versions, today), items)
    if seen_before:
        _changed_since_last_view(store, list(keys))
    return list(items)


#: At most this many patients whose data changed since this process's previous worklist view
#: are queued to the precompute per view.
CHANGED_PER_VIEW = 50


def _changed_since_last_view(store: st.Store, codes: list[str]) -> None:
    """Patients whose data changed since this process's previous worklist view: written through
    another worker process, or without the app (``ifxdose fhir import --into-db`` into the
    database of a running server). Queued to the background precompute (those already computed
    cost a cache look-up there), so their page reads a stored profile too."""
    precompute: Precompute | None = store.memo.get("precompute")
    if precompute is not None:
        for code in codes[:CHANGED_PER_VIEW]:
            precompute.submit(code)


def due_order(store: st.Store, today: date) -> list[str]:
    """Every patient's code, the next infusion soonest first (most overdue first; patients
    without a planned infusion, or stopped, last): the worklist's order over all patients."""
    worklist(store, today)  # fills this process's memo of every patient's due basis
    with store.memo_lock:
        payloads = {code: entry[1] for code, entry in store.memo["worklist"]["payloads"].items()}

    def soonest(code: str) -> tuple[bool, date, str]:
        due = due_from_payload(payloads[code], today)
        return (due.reason_code == "stopped", due.next_infusion_date or date.max, code)

    return sorted(payloads, key=soonest)


def fill_worklist_at_start(store: st.Store, today: date, *, wait_s: float = 120.0) -> bool:
    """Every patient's due basis into the database cache, computed by one process per data
    state (:func:`ifxdose.adapters.store.claim`): the first process to start computes and
    marks it done; the others wait for the mark (at most ``wait_s``, e.g. if the first one
    died) and then only read the bases into their own memo. True if this process computed."""
    from ifxdose import __version__

    state = st.data_state(store)
    job = hashlib.sha256(f"worklist-fill|{__version__}|{state}".encode()).hexdigest()
    done = hashlib.sha256(f"worklist-fill-done|{__version__}|{state}".encode()).hexdigest()
    mine = st.claim(store, job, {"job": "worklist fill at start"})
    if not mine:
        deadline = time.monotonic() + wait_s
        while not st.cached_many(store, [done]) and time.monotonic() < deadline:
            time.sleep(0.2)
    worklist(store, today)
    if mine:
        st.put_cached(store, {done: {"job": "worklist fill at start", "done": True}})
    return mine


def precompute_at_start(store: st.Store, today: date, limit: int) -> list[str]:
    """Queue to the background precompute the first ``limit`` patients in worklist order
    (:func:`due_order`) whose current history has no stored profile, once per data state and
    estimate code across every process sharing the database (a ``claim`` row): data that
    arrived without a write through the app (``fhir import --into-db``, a restored backup) or
    estimates an upgrade of the model made obsolete. Returns the queued codes ([] when
    another process has it, precompute is off or ``limit`` is 0). Never blocks a request:
    the work runs in the precompute thread, a few patients per task."""
    precompute: Precompute | None = store.memo.get("precompute")
    if precompute is None or limit <= 0:
        return []
    state = st.data_state(store)
    job = hashlib.sha256(f"start-precompute|{estimate_fingerprint()}|{state}|{limit}".encode()).hexdigest()
    if not st.claim(store, job, {"job": "precompute at start"}):
        return []
    codes = due_order(store, today)[:limit]
    precompute.submit_many(codes)
    return codes


def due_basis_key(code: str, version: tuple[int, int | None]) -> str:
    """The database cache key of a patient's due basis at data version (newest audit row id,
    newest accepted recommendation id), under the app version."""
    from ifxdose import __version__

    audit_id, plan_id = version
    return hashlib.sha256(f"due-basis|{__version__}|{code}|{audit_id}|{plan_id}".encode()).hexdigest()


# ------------------------------------------------------------ patients and entries
def patient_list(store: st.Store, q: str = "") -> list[PatientSummary]:
    """Patients whose code contains ``q`` (at most 200, by code)."""
    return st.list_patients(store, q)


def record_events(store: st.Store, user: str, events: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Audit events that are not entries (e.g. CDS card feedback): ``(action, entity, detail)``
    each, written in one transaction to the append-only audit log."""
    from ifxdose.adapters.store.audit import audit

    with store.transaction() as session:
        for action, entity, detail in events:
            audit(session, user, action, entity, None, None, detail)


def create_patient(store: st.Store, info: PatientInfo, *, user: str, baseline_tnf_pg_ml: float | None = None) -> str:
    """A new patient (its code); Conflict if the code is used."""
    return st.create_patient(store, info, user=user, baseline_tnf_pg_ml=baseline_tnf_pg_ml)


def patient_history(store: st.Store, code: str) -> PatientHistory:
    """The stored patient's canonical history (NotFound for an unknown code)."""
    return st.patient_history(store, code)


def set_baseline_tnf(store: st.Store, code: str, tnf_pg_ml: float | None, *, user: str) -> None:
    """Record (or clear) the patient's baseline TNF-alpha, audited."""
    st.set_baseline_tnf(store, code, tnf_pg_ml, user=user)
    _written(store, code)


def list_entries(store: st.Store, code: str, kind: str, *, voided: bool = False) -> list[tuple[Any, dict[str, Any]]]:
    """The recorded entries of one kind as ``(row, entry dict)``, by day (the voided ones if ``voided``)."""
    return [(row, st.row_entry(kind, row)) for row in st.entry_rows(store, code, kind, voided=voided)]


def find_entry(store: st.Store, code: str, kind: str, entry_id: int) -> tuple[Any, dict[str, Any]]:
    """One recorded (not voided) entry as ``(row, entry dict)``; NotFound otherwise."""
    row = next((r for r in st.entry_rows(store, code, kind) if r.id == entry_id), None)
    if row is None:
        raise st.NotFound("entry", entry_id)
    return row, st.row_entry(kind, row)


def amend_entry(
    store: st.Store,
    code: str,
    kind: str,
    entry_id: int,
    entry: Any,
    *,
    user: str,
    reason: str,
    today: date,
    vials: int | None = None,
) -> int:
    """Correct an entry: the old one is voided (kept, audited), the new one names it (its id)."""
    new_id = st.amend_entry(store, code, kind, entry_id, entry, user=user, reason=reason, vials=vials, today=today)
    _written(store, code)
    return new_id


def void_entry(store: st.Store, code: str, kind: str, entry_id: int, *, user: str, reason: str) -> None:
    """Void an entry (kept with who, when, why; left out of the history)."""
    st.void_entry(store, code, kind, entry_id, user=user, reason=reason)
    _written(store, code)


def decide(
    store: st.Store,
    code: str,
    rec_id: int,
    decision: Decision,
    *,
    user: str,
    reason: str = "",
    option_index: int | None = None,
) -> None:
    """Accept or override a stored recommendation, as :func:`accept_recommendation`, without
    rehydrating the answer (the page redirects)."""
    st.decide(store, code, rec_id, decision, user=user, reason=reason, option_index=option_index)


def is_superseded(row: RecommendationRow, history: PatientHistory) -> bool:
    """A proposed recommendation computed on other data than ``history`` (it cannot be accepted)."""
    return row.status == "proposed" and st.is_superseded(row, st.history_hash(history))


def stored(row: RecommendationRow, superseded: bool = False) -> StoredRecommendation:
    """A stored recommendation row as the domain's ``Recommendation`` (rehydrated by the store)
    with the option taken, if decided (the PDF report reads these)."""
    return _stored(row, superseded)
