"""Many parallel clients recording infusions and levels for the same patient through a real
server (uvicorn, threads) lose nothing, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import httpx

from ifxdose.adapters import store as st
from ifxdose.domain.patient import PatientInfo
from web.live_server import NO_TLS, PASSWORD, start, stop

CLIENTS, PER_CLIENT = 8, 12


def _client_session(base: str, k: int) -> list[str]:
    lots = []
    with httpx.Client(base_url=base, timeout=60, verify=NO_TLS) as c:
        token = c.post("/api/v1/session", json={"username": "doc", "password": PASSWORD}).json()["csrf_token"]
        c.headers["X-CSRF-Token"] = token
        for i in range(PER_CLIENT):
            day = (date(2024, 1, 2) + timedelta(days=k * PER_CLIENT + i)).isoformat()
            tag = f"c{k}-{i}"
            if i % 2:
                r = c.post("/api/v1/patients/P-1/levels", json={"date": day, "value_mg_l": 1.0, "assay": tag})
            else:
                r = c.post("/api/v1/patients/P-1/infusions", json={"date": day, "dose_mg": 100, "lot": tag})
            assert r.status_code == 201, r.text
            lots.append(tag)
    return lots


def test_parallel_clients_lose_nothing(db_url, tmp_path):
    store = st.open_store(db_url)
    st.create_patient(store, PatientInfo(id="P-1", sex="female", birth_year=1970), user="t")
    st.add_entry(store, "P-1", "infusions", {"date": "2024-01-01", "dose_mg": 100}, user="t")
    env = dict(
        os.environ,
        IFXDOSE_MODE="test",
        IFXDOSE_DATABASE_URL=db_url,
        IFXDOSE_SECRET_KEY="s" * 40,
        IFXDOSE_SIGN_IN_ATTEMPTS="100",
    )
    proc, base = start(env, tmp_path / "server.log")
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            acknowledged = {
                tag for tags in pool.map(lambda k: _client_session(base, k), range(CLIENTS)) for tag in tags
            }
    finally:
        stop(proc)
    stored = {r.lot for r in st.entry_rows(store, "P-1", "infusions")} | {
        r.assay for r in st.entry_rows(store, "P-1", "levels")
    }
    assert acknowledged == stored - {None}
    assert len(acknowledged) == CLIENTS * PER_CLIENT
    history = st.patient_history(store, "P-1")
    assert len(history.infusions) + len(history.levels) == CLIENTS * PER_CLIENT + 1
    assert (
        len([a for a in st.audit_trail(store, "P-1", limit=1000) if a.entity in ("infusions", "levels")])
        == CLIENTS * PER_CLIENT + 1
    )
    store.close()
