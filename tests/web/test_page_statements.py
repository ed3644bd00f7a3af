"""Issue 13: the patient page reads the database in a bounded number of statements and
transactions (on PostgreSQL each round trip costs, more so while the start job or a
precompute holds the interpreter). The bound comes from what the page shows, not from
today's count: the signed-in user (1 statement, its own transaction); then one transaction
with the patient (1), one query per kind of entry (7), the recommendations with the
accepted plan (1) and the stored trend and profile of this history (1 look-up of both). A
regression to per-item reads (N+1), a second read of the history or a transaction per read
fails here. SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import event

from ifxdose.adapters import store as st
from web.conftest import example_history, make_app, sign_in

#: The design's bound (above): user, patient, entries by kind, recommendations, cache look-up.
PAGE_STATEMENTS = 1 + 1 + len(st.ENTRY_KINDS) + 1 + 1
#: The user's transaction and the page's.
PAGE_TRANSACTIONS = 2


def _count(store: st.Store):
    seen = {"statements": [], "checkouts": 0}

    def statement(conn, cursor, text, params, context, many) -> None:
        if not text.lstrip().upper().startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE is the transaction's
            seen["statements"].append(text)

    def checkout(*args) -> None:
        seen["checkouts"] += 1

    event.listen(store.engine, "before_cursor_execute", statement)
    event.listen(store.engine.pool, "checkout", checkout)
    return seen


def test_a_patient_page_reads_in_two_transactions_and_the_designed_statements(db_url):
    app = make_app(db_url)
    store = app.state.store
    try:
        st.import_history(store, example_history(), user="fixture")
        with TestClient(app, base_url="http://testserver") as client:
            sign_in(client)
            assert client.get("/patients/RA-0001").status_code == 200  # computes and stores trend and profile
            client.post("/api/v1/patients/RA-0001/recommendations")  # a recommendation to list
            seen = _count(store)
            page = client.get("/patients/RA-0001")
            assert page.status_code == 200 and "RA-0001" in page.text
        assert len(seen["statements"]) <= PAGE_STATEMENTS, "\n".join(seen["statements"])
        assert seen["checkouts"] <= PAGE_TRANSACTIONS
        history_reads = [s for s in seen["statements"] if "FROM infusions" in s]
        assert len(history_reads) == 1  # the history is read once
    finally:
        store.close()
