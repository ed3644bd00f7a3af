"""Benchmark: the clinic app at clinic scale, through a real HTTP client (issue 13).

A database of N patients (default 1,000) with 3 years of records each (label induction then
infusions every 8 weeks, a trough before most maintenance infusions, monthly CRP/ESR/albumin,
quarterly 28-joint assessments, yearly weights, MTX): about 130 rows per patient. The app
runs in a separate uvicorn process (``tests/web/live_server.py``); httpx signs in and times

- ``worklist``: ``GET /patients`` (the patient list with the "due this week" worklist),
- ``start_precompute_s``: at start the server queues the first ``--start-precompute`` patients
  in worklist order (next infusion soonest first) to its background precompute
  (``IFXDOSE_PRECOMPUTE_AT_START``); from the server's first answer until all their profiles
  are stored. Timed *while it runs*: ``health_during_start_precompute``,
  ``worklist_during_start_precompute`` and ``patient_cold_during_start_precompute`` (pages of
  patients outside that set, computed in the request while the background thread computes
  too); ``start_precompute_pending_after_those_views``: how many were still to do then,
- ``patient_start_precomputed``: the first view of a patient of that set after it finished
  (the data came without a write through the app: a loaded database, a restored backup,
  ``fhir import --into-db``),
- ``patient_cold``: ``GET /patients/{code}`` on a patient outside that set, not viewed yet
  (MAP + posterior band computed in the request and stored in the cache),
- ``patient_warm``: the same page again (profile from the database cache),
- ``patient_after_write``: the page a clinician opens after data arrive: a trough level is
  recorded through the API (``POST …/levels``), the app computes the page's profile in the
  background; the benchmark waits until it is in the database cache (``precompute_ms``: write
  acknowledged -> profile stored), then times the page,
- ``patient_right_after_write``: the page opened at once after the write (the precompute still
  running: the page waits for it rather than computing it a second time),
- ``recommendation``: ``POST /api/v1/patients/{code}/recommendations`` (the whole engine),
- ``health``: ``GET /api/v1/health`` (the same-run floor: the cost of an HTTP round trip),
- ``server_start_s`` / ``server_next_day_start_s``: from process start to the first answer;
  the app fills every patient's due basis into the database cache before it serves (on this
  new database that computes every patient; the next day's process only reads them),
- ``worklist_first_view_ms``: the very first worklist view a clinician opens (after the fill at start),
- ``worklist_next_day``: a new server process on the next day: the first view reads the due
  bases from the database cache (a date comparison per patient, no schedule replay).

Goals (issue 13): worklist and patient page p95 < 300 ms, recommendation p95 < 1 s.
Prints JSON: p50/p95/max per request kind in ms, each p95 as a ratio to the health p95 of the
same run (``ratio_to_health``), the cache speed-up (cold / warm), the machine's load average.

Run: ``.venv/bin/python benchmarks/clinic.py [--patients 1000] [--url postgresql://...]``
(SQLite in a temporary folder by default; building the database takes a few minutes;
``--db FILE`` builds a SQLite file once and benchmarks a fresh copy of it on every run;
``--url postgresql://... --pg-template NAME`` does the same on PostgreSQL).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
TODAY = dt.date(2024, 8, 26)


def synthetic_history(k: int, rng: random.Random) -> dict:
    """Three years of one invented patient's records, ending near TODAY (some are due)."""
    start = TODAY - dt.timedelta(days=3 * 365 + rng.randint(0, 50))
    weight = rng.uniform(45, 80)
    weeks = [0, 2, 6] + list(range(14, 160, 8))
    days = [start + dt.timedelta(weeks=w) for w in weeks if start + dt.timedelta(weeks=w) <= TODAY]
    infusions = [{"date": d.isoformat(), "dose_mg": round(3 * weight), "dose_mg_per_kg": 3.0} for d in days]
    levels = [
        {"date": (d - dt.timedelta(days=1)).isoformat() + "T09:00:00", "value_mg_l": round(rng.uniform(0.3, 6), 2)}
        for d in days[4::2]
    ]
    labs = [
        {
            "date": (start + dt.timedelta(days=30 * m + 3)).isoformat(),
            "crp_mg_l": round(rng.uniform(0.5, 30), 1),
            "esr_mm_h": rng.randint(5, 60),
            "albumin_g_dl": round(rng.uniform(3.2, 4.6), 1),
        }
        for m in range(36)
        if start + dt.timedelta(days=30 * m + 3) <= TODAY
    ]
    assessments = [
        {
            "date": (start + dt.timedelta(days=91 * q + 5)).isoformat(),
            "tjc28": t,
            "sjc28": s,
            "ptga_mm": rng.randint(5, 80),
            "phga_mm": rng.randint(5, 70),
            "crp_mg_l": round(rng.uniform(0.5, 30), 1),
        }
        for q in range(12)
        if start + dt.timedelta(days=91 * q + 5) <= TODAY
        for t, s in [(rng.randint(0, 12), rng.randint(0, 8))]
    ]
    weights = [
        {"date": (start + dt.timedelta(days=365 * y)).isoformat(), "weight_kg": round(weight + rng.uniform(-3, 3), 1)}
        for y in range(3)
    ]
    return {
        "patient": {
            "id": f"BENCH-{k:05d}",
            "sex": rng.choice(["female", "male"]),
            "birth_year": rng.randint(1940, 1995),
        },
        "weights": weights,
        "infusions": infusions,
        "levels": levels,
        "labs": labs,
        "assessments": assessments,
        "mtx": [{"date": start.isoformat(), "dose_mg_week": 12.0}],
        "ada": [],
    }


def build(url: str, n: int) -> int:
    from ifxdose.adapters import store as st
    from ifxdose.domain.patient import PatientHistory

    store = st.open_store(url)
    rng = random.Random(13)
    rows = 0
    for k in range(n):
        history = PatientHistory.model_validate(synthetic_history(k, rng))
        st.import_history(store, history, user="bench")
        rows += sum(len(getattr(history, kind)) for kind in st.ENTRY_KINDS)
    store.close()
    return rows


def _count_rows(url: str) -> int:
    """Entry rows in a database built earlier (migrated to this version first)."""
    from sqlalchemy import func, select

    from ifxdose.adapters import store as st
    from ifxdose.adapters.store import tables

    store = st.open_store(url)
    kinds = (tables.WeightRow, tables.InfusionRow, tables.LevelRow, tables.AdaRow, tables.LabRow)
    kinds += (tables.MtxRow, tables.AssessmentRow)
    with store.transaction() as session:
        rows = sum(session.scalar(select(func.count()).select_from(kind)) or 0 for kind in kinds)
    store.close()
    return rows


def _pg_admin(server_url: str, sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def _pg_copy(server_url: str, template: str, n: int) -> tuple[str, str]:
    """(URL, name) of a fresh copy of the PostgreSQL database ``template`` on the server of
    ``server_url`` (built with ``n`` patients first if it does not exist)."""
    base = server_url.rpartition("/")[0]
    if not _pg_admin(server_url, f"SELECT 1 FROM pg_database WHERE datname = '{template}'"):
        _pg_admin(server_url, f'CREATE DATABASE "{template}"')
        build(f"{base}/{template}", n)
    name = f"{template}_run_{os.getpid()}"
    _pg_admin(server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return f"{base}/{name}", name


def _time(client, method: str, path: str) -> float:
    started = time.perf_counter()
    r = client.request(method, path)
    elapsed = 1000 * (time.perf_counter() - started)
    if r.status_code >= 400:
        raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:300]}")
    return elapsed


def _write_level(client, code: str) -> float:
    """Record a trough level today through the API; the time the write took (ms)."""
    started = time.perf_counter()
    r = client.post(
        f"/api/v1/patients/{code}/levels", json={"date": f"{TODAY.isoformat()}T08:00:00", "value_mg_l": 2.0}
    )
    if r.status_code != 201:
        raise RuntimeError(f"write {code}: {r.status_code} {r.text[:300]}")
    return 1000 * (time.perf_counter() - started)


def _wait_for_profile(store, code: str, timeout_s: float = 60) -> None:
    """Poll the database cache until the profile of the patient's current history is stored."""
    from ifxdose.adapters import store as st
    from ifxdose.app import clinic

    key = clinic.profile_key(st.history_hash(st.patient_history(store, code)))
    deadline = time.monotonic() + timeout_s
    while not st.cached_many(store, [key]):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{code}: profile not precomputed within {timeout_s} s")
        time.sleep(0.005)


def _start_set(store, limit: int) -> list[str]:
    """The patients with infusions among the first ``limit`` in worklist order: what the server
    queues at start (``ifxdose.app.clinic.precompute_at_start``) and computes a profile for."""
    from ifxdose.adapters import store as st
    from ifxdose.app import clinic

    codes = clinic.due_order(store, TODAY)[:limit]
    loaded = st.histories(store, codes)
    return [c for c in codes if loaded[c].infusions]


def _uncached(store, codes: list[str]) -> int:
    """How many of these patients' current histories have no stored profile."""
    from ifxdose.adapters import store as st
    from ifxdose.app import clinic

    loaded = st.histories(store, codes)
    keys = [clinic.profile_key(st.history_hash(loaded[c])) for c in codes]
    return len(keys) - len(st.cached_many(store, keys))


def _wait_for_profiles(store, codes: list[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while _uncached(store, codes):
        if time.monotonic() > deadline:
            raise RuntimeError(f"start precompute not finished within {timeout_s} s")
        time.sleep(0.5)


def _summary(times: list[float], floor_p95: float) -> dict:
    if not times:  # e.g. --start-precompute 0: no patient of a start set to time
        return {"n": 0}
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(times),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(ordered[-1], 1),
        "ratio_to_health": round(p95 / floor_p95, 1),
    }


def main() -> None:
    import httpx

    from web.live_server import PASSWORD, start, stop

    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--url", default=None, help="database URL (default: SQLite in a temporary folder)")
    parser.add_argument("--views", type=int, default=40, help="patient pages and recommendations timed")
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        help="SQLite file to build once and reuse on later runs (a copy is benchmarked, so every run starts cold)",
    )
    parser.add_argument(
        "--start-precompute",
        type=int,
        default=250,
        help="IFXDOSE_PRECOMPUTE_AT_START: patients the server precomputes at start (worklist order)",
    )
    parser.add_argument(
        "--pg-template",
        default=None,
        help="with --url: PostgreSQL database to build once and reuse on later runs (each run benchmarks a fresh "
        "copy made with CREATE DATABASE ... TEMPLATE, dropped after)",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ifxdose-bench-"))
    url = args.url or f"sqlite:///{folder / 'clinic.sqlite3'}"
    copy_name = None
    started = time.perf_counter()
    if args.url and args.pg_template:
        url, copy_name = _pg_copy(args.url, args.pg_template, args.patients)
        rows = _count_rows(url)
    elif args.db is not None and not args.url:
        if not args.db.exists():
            build(f"sqlite:///{args.db}", args.patients)
        shutil.copyfile(args.db, folder / "clinic.sqlite3")
        rows = _count_rows(url)
    else:
        rows = build(url, args.patients)
    build_s = time.perf_counter() - started
    env = dict(
        os.environ,
        IFXDOSE_MODE="test",
        IFXDOSE_DATABASE_URL=url,
        IFXDOSE_SECRET_KEY="b" * 40,
        IFXDOSE_TODAY=TODAY.isoformat(),
        IFXDOSE_DEFAULT_LOCALE="en",
        IFXDOSE_PRECOMPUTE_AT_START=str(args.start_precompute),
    )
    from ifxdose.adapters import store as st

    started = time.perf_counter()
    proc, base = start(env, folder / "server.log")
    start_s = time.perf_counter() - started
    ready = time.perf_counter()
    reader = st.open_store(url)
    try:
        with httpx.Client(base_url=base, timeout=300) as client:
            token = client.post("/api/v1/session", json={"username": "doc", "password": PASSWORD}).json()["csrf_token"]
            client.headers["X-CSRF-Token"] = token
            # the patients the server queued at start (the same function of the same data)
            start_set = _start_set(reader, args.start_precompute)
            others = sorted(set(f"BENCH-{k:05d}" for k in range(args.patients)) - set(start_set))
            rng = random.Random(7)
            n_views = min(args.views, len(others) // 5, max(1, len(start_set)))
            sample = rng.sample(others, 5 * n_views)
            codes, written, at_once = sample[:n_views], sample[n_views : 2 * n_views], sample[2 * n_views : 3 * n_views]
            during_codes = sample[3 * n_views : 3 * n_views + max(5, n_views // 4)]
            # while the precompute at start runs in the server's background thread
            health_during = [_time(client, "GET", "/api/v1/health") for _ in range(20)]
            worklist_during = [_time(client, "GET", "/patients") for _ in range(10)]
            cold_during = [_time(client, "GET", f"/patients/{c}") for c in during_codes]
            pending_after_during = _uncached(reader, start_set)
            _wait_for_profiles(reader, start_set, timeout_s=3600)
            start_precompute_s = time.perf_counter() - ready
            health = [_time(client, "GET", "/api/v1/health") for _ in range(50)]
            worklist = [_time(client, "GET", "/patients") for _ in range(20)]
            precomputed_codes = rng.sample(start_set, min(n_views, len(start_set)))
            precomputed = [_time(client, "GET", f"/patients/{c}") for c in precomputed_codes]
            cold = [_time(client, "GET", f"/patients/{c}") for c in codes]
            warm = [_time(client, "GET", f"/patients/{c}") for c in codes]
            after_write, precompute, writes = [], [], []
            for c in written:
                writes.append(_write_level(client, c))
                acknowledged = time.perf_counter()
                _wait_for_profile(reader, c)
                precompute.append(1000 * (time.perf_counter() - acknowledged))
                after_write.append(_time(client, "GET", f"/patients/{c}"))
            right_after = []
            for c in at_once:
                writes.append(_write_level(client, c))
                right_after.append(_time(client, "GET", f"/patients/{c}"))
            recs = [
                _time(client, "POST", f"/api/v1/patients/{c}/recommendations") for c in codes[: max(5, args.views // 4)]
            ]
            due = client.get("/api/v1/worklist").json()
    finally:
        stop(proc)
        reader.close()
    # The next day, a fresh server process (no in-process memo): the first worklist view reads
    # every patient's due basis from the database cache and compares dates; nothing is replayed.
    started = time.perf_counter()
    proc, base = start({**env, "IFXDOSE_TODAY": (TODAY + dt.timedelta(days=1)).isoformat()}, folder / "server2.log")
    next_day_start_s = time.perf_counter() - started
    try:
        with httpx.Client(base_url=base, timeout=300) as client:
            client.post("/api/v1/session", json={"username": "doc", "password": PASSWORD})
            next_day = [_time(client, "GET", "/patients") for _ in range(5)]
    finally:
        stop(proc)
    if copy_name is not None:
        _pg_admin(args.url, f'DROP DATABASE IF EXISTS "{copy_name}" WITH (FORCE)')
    floor = sorted(health)[round(0.95 * (len(health) - 1))]
    out = {
        "benchmark": "clinic",
        "database": url.split(":", 1)[0],
        "patients": args.patients,
        "entry_rows": rows,
        "build_s": round(build_s, 1),
        "worklist_items": len(due),
        "health": _summary(health, floor),
        "worklist": _summary(worklist, floor),
        "server_start_s": round(start_s, 2),
        "server_next_day_start_s": round(next_day_start_s, 2),
        "worklist_first_view_ms": round(worklist_during[0], 1),
        "worklist_during_start_precompute": _summary(worklist_during, floor),
        "worklist_next_day_first_view_ms": round(next_day[0], 1),
        "worklist_next_day": _summary(next_day, floor),
        "start_precompute_patients": len(start_set),
        "start_precompute_s": round(start_precompute_s, 1),
        "health_during_start_precompute": _summary(health_during, floor),
        "patient_cold_during_start_precompute": _summary(cold_during, floor),
        "start_precompute_pending_after_those_views": pending_after_during,
        "patient_start_precomputed": _summary(precomputed, floor),
        "patient_cold": _summary(cold, floor),
        "patient_warm": _summary(warm, floor),
        "write_level": _summary(writes, floor),
        "precompute_ms": _summary(precompute, floor),
        "patient_after_write": _summary(after_write, floor),
        "patient_right_after_write": _summary(right_after, floor),
        "recommendation": _summary(recs, floor),
        "cache_speedup_cold_over_warm_p50": round(statistics.median(cold) / statistics.median(warm), 1),
        "goals": {"worklist_p95_ms": 300, "patient_p95_ms": 300, "recommendation_p95_ms": 1000},
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
