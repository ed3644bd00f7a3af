"""What the clinic app reads in bulk or from its cache equals what it would compute afresh
(SQLite and PostgreSQL): many histories in one query per kind; data versions move with
every write; the worklist from the cache equals the worklist computed without it."""

from __future__ import annotations

import datetime as dt

from ifxdose.adapters import store as st
from ifxdose.app import clinic as services
from ifxdose.domain import clinic
from ifxdose.domain.patient import Infusion, PatientHistory, WeightEntry


def _two_patients(store, example_history):
    st.import_history(store, example_history, user="t")
    other = PatientHistory.model_validate(
        {**example_history.model_dump(mode="json"), "patient": {"id": "RA-0002", "sex": "male", "birth_year": 1970}}
    )
    st.import_history(store, other, user="t")
    st.add_entry(store, "RA-0002", "weights", WeightEntry(date="2024-08-01", weight_kg=70), user="t")
    st.void_entry(
        store, "RA-0002", "weights", st.entry_rows(store, "RA-0002", "weights")[0].id, user="t", reason="wrong scale"
    )


def test_bulk_histories_equal_one_by_one(store, example_history):
    _two_patients(store, example_history)
    bulk = st.histories(store, ["RA-0001", "RA-0002", "NOPE"])
    assert set(bulk) == {"RA-0001", "RA-0002"}
    for code, history in bulk.items():
        assert history == st.patient_history(store, code)


def test_patient_records_equal_the_history_and_rows_read_apart(store, example_history):
    _two_patients(store, example_history)
    history, rows = st.patient_records(store, "RA-0002")
    assert history == st.patient_history(store, "RA-0002")
    for kind in st.ENTRY_KINDS:
        assert [r.id for r in rows[kind]] == [r.id for r in st.entry_rows(store, kind=kind, code="RA-0002")]
    assert len(rows["weights"]) == len(example_history.weights)  # the voided weight is left out
    first = services.cached_trends(store, history, st.history_hash(history))
    assert first == services.cached_trends(store, history, st.history_hash(history)) == clinic.activity_trend(history)


def test_cached_worklist_equals_a_fresh_one_and_follows_writes(store, example_history):
    _two_patients(store, example_history)
    today = dt.date(2024, 8, 26)

    def fresh():
        return sorted(
            (
                h.patient.id,
                services.due_with_plan(
                    h, today, services.current_plan(h, st.accepted_plan(store, h.patient.id))
                ).model_dump(),
            )
            for h in st.all_histories(store)
        )

    def cached():
        due = {i.code: i.due.model_dump() for i in services.worklist(store, today)}
        return {code for code, d in fresh() if d["infusion_due"] or d["level_due"]}, set(due)

    expected, first = cached()
    assert first == expected and first  # someone is due
    before = st.data_versions(store)["RA-0001"]
    st.add_entry(store, "RA-0001", "infusions", Infusion(date="2024-08-26", dose_mg=165), user="t")
    assert st.data_versions(store)["RA-0001"][0] > before[0]
    every = st.data_versions(store)  # the versions of some patients equal those of every patient
    assert st.data_versions(store, ["RA-0001", "NOBODY"]) == {"RA-0001": every["RA-0001"]}
    expected, again = cached()
    assert again == expected and "RA-0001" not in again  # just infused: no longer due


def test_a_new_day_is_a_date_comparison_not_a_replay(store, example_history, monkeypatch):
    """The worklist caches a day-independent basis: on later days it must give the label
    schedule's answer by hand (last infusion 2024-07-08 + 8 weeks = 2024-09-02, due from
    7 days before; a trough due with it: infusion 5 is a maintenance one and the only level
    was drawn before infusion 4) without replaying the schedule again."""
    _two_patients(store, example_history)
    assert services.worklist(store, dt.date(2024, 8, 1)) == []  # fills the cache: nobody due yet

    def no_replay(*args, **kwargs):
        raise AssertionError("the label schedule was replayed although no data changed")

    monkeypatch.setattr(clinic, "get_policy", no_replay)
    planned = dt.date(2024, 9, 2)
    for offset in range(0, 40, 3):
        today = dt.date(2024, 8, 10) + dt.timedelta(days=offset)
        items = services.worklist(store, today)
        due = (planned - today).days <= 7
        assert [i.code for i in items] == (["RA-0001", "RA-0002"] if due else [])
        for item in items:
            assert item.due.next_infusion_date == planned and item.due.next_infusion_number == 5
            assert item.due.overdue_days == max(0, (today - planned).days)
            assert item.due.level_due


def test_a_day_before_the_newest_entry_is_computed_afresh(store, example_history):
    """A basis holds only from its newest entry's day on: asked for an earlier day (a clock
    set back), the worklist recomputes rather than counting infusions 'given' in the future."""
    _two_patients(store, example_history)
    services.worklist(store, dt.date(2024, 8, 26))
    items = {i.code: i.due for i in services.worklist(store, dt.date(2024, 7, 1))}
    # on 2024-07-01 only three infusions were given (the 4th, 2024-07-08, was not yet)
    assert items["RA-0001"].next_infusion_number == 4
    assert items["RA-0001"].next_infusion_date == dt.date(2024, 7, 8)  # week 14 = week 6 + 8 weeks


def test_one_claimant_of_many_concurrent_ones_across_connections(db_url):
    """Eight stores (as eight worker processes would open) claim the same key at once: exactly
    one wins; another key is claimed anew. The jobs at start rely on it (issue 13)."""
    import threading

    stores = [st.open_store(db_url) for _ in range(8)]
    barrier = threading.Barrier(len(stores))
    won: list[bool] = []

    def claim(store):
        barrier.wait()
        won.append(st.claim(store, "job|state-1", {"job": "test"}))

    threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(won) == [False] * 7 + [True]
    assert st.claim(stores[0], "job|state-1") is False
    assert st.claim(stores[1], "job|state-2") is True
    for s in stores:
        s.close()


def test_data_state_moves_with_every_write_and_patient(store, example_history):
    empty = st.data_state(store)
    assert empty == (0, 0)
    st.import_history(store, example_history, user="t")
    imported = st.data_state(store)
    assert imported[1] == 1 and imported[0] > 0
    st.add_entry(store, "RA-0001", "weights", WeightEntry(date="2024-08-01", weight_kg=70), user="t")
    written = st.data_state(store)
    assert written[1] == 1 and written[0] > imported[0]
    assert st.data_state(store) == written  # reading changes nothing
