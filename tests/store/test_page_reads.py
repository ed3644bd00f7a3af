"""The patient page's reads (issue 13: on PostgreSQL every round trip costs, and the page
took six transactions and three look-ups of the patient): ``page_records`` returns what the
separate reads return, in one transaction; ``Store.reading`` joins the transactions opened
inside it into one (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, select

from ifxdose.adapters import store as st
from ifxdose.adapters.store.tables import EstimateCache
from ifxdose.domain.recommend import recommend


class Counter:
    """Statements sent (driver-level BEGINs left out) and connections checked out of the pool."""

    def __init__(self, store: st.Store) -> None:
        self.statements: list[str] = []
        self.checkouts = 0
        event.listen(store.engine, "before_cursor_execute", self._statement)
        event.listen(store.engine.pool, "checkout", self._checkout)

    def _statement(self, conn, cursor, statement, params, context, many) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):
            self.statements.append(statement)

    def _checkout(self, *args) -> None:
        self.checkouts += 1


def _with_recommendations(store, example_history, decisions: list[str | None]) -> None:
    """The example patient with one stored recommendation per item, oldest first: accepted
    ("accept"), overridden ("override") or left proposed (None)."""
    st.import_history(store, example_history, user="t")
    recommendation = recommend(example_history, today=dt.date(2024, 8, 26))
    for decision in decisions:
        rec_id = st.save_recommendation(
            store, "RA-0001", recommendation, example_history.model_dump(mode="json"), user="t"
        )
        if decision is not None:
            st.decide(store, "RA-0001", rec_id, decision, user="t", reason="a reason")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "decisions, limit",
    [
        ([], 20),  # no recommendation
        (["accept", None, "override"], 20),  # the accepted one among the newest
        (["accept", None, "override"], 2),  # the accepted one older than the newest 2: read apart
        ([None, "override"], 2),  # none accepted, as many as the limit: the extra look-up finds none
    ],
)
def test_page_records_equal_the_reads_apart(store, example_history, decisions, limit):
    _with_recommendations(store, example_history, decisions)
    records = st.page_records(store, "RA-0001", limit=limit)
    history, rows = st.patient_records(store, "RA-0001")
    assert records.history == history == example_history
    assert {kind: [r.id for r in kind_rows] for kind, kind_rows in records.rows.items()} == {
        kind: [r.id for r in kind_rows] for kind, kind_rows in rows.items()
    }
    assert [r.id for r in records.recommendations] == [r.id for r in st.recommendations(store, "RA-0001", limit)]
    accepted = st.accepted_plan(store, "RA-0001")
    assert (records.accepted and records.accepted.id) == (accepted and accepted.id)
    assert (accepted is not None) == ("accept" in decisions)


def test_page_records_is_one_transaction_of_nine_statements(store, example_history):
    """The design: one look-up of the patient, one query per kind of entry (7), one of the
    recommendations; one connection from the pool."""
    _with_recommendations(store, example_history, ["accept"])
    counter = Counter(store)
    st.page_records(store, "RA-0001")
    assert len(counter.statements) == 1 + len(st.ENTRY_KINDS) + 1
    assert counter.checkouts == 1


def test_reading_joins_the_transactions_inside_it(store, example_history):
    st.import_history(store, example_history, user="t")
    counter = Counter(store)
    with store.reading():
        st.patient_history(store, "RA-0001")
        st.cached_many(store, ["k"])
        with store.reading():  # nested: joins the outermost
            st.recommendations(store, "RA-0001")
    assert counter.checkouts == 1
    st.patient_history(store, "RA-0001")  # after the block: a transaction of its own again
    assert counter.checkouts == 2


def test_a_write_inside_reading_commits_at_its_end_and_rolls_back_with_it(store):
    with store.reading():
        st.put_cached(store, {"a": {"v": 1}})
    assert st.cached_many(store, ["a"]) == {"a": {"v": 1}}
    with pytest.raises(RuntimeError):
        with store.reading():
            st.put_cached(store, {"b": {"v": 2}})
            raise RuntimeError("after the write")
    assert st.cached_many(store, ["b"]) == {}


def test_put_cached_checks_present_keys_on_its_own_connection(store):
    """It used to open a second connection (a nested transaction) for the check."""
    st.put_cached(store, {"x": {"v": 1}})
    counter = Counter(store)
    st.put_cached(store, {"x": {"v": 2}, "y": {"v": 3}})
    assert counter.checkouts == 1
    assert st.cached_many(store, ["x", "y"]) == {"x": {"v": 1}, "y": {"v": 3}}  # present keys left as they are
    with store.transaction() as session:
        assert len(list(session.scalars(select(EstimateCache.key).where(EstimateCache.key.in_(["x", "y"]))))) == 2
