"""Parallel writers lose nothing; a writer killed mid-write leaves a consistent database
that holds every acknowledged write (SQLite WAL + synchronous=FULL; PostgreSQL)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

from sqlalchemy import text

from ifxdose.adapters.store import add_entry, create_patient, entry_rows, patient_history
from ifxdose.domain.patient import Infusion, PatientInfo
from store.writer import write

# Writers are forked from the test process, which has imported the store already: a fresh
# interpreter per writer spent 2-3 s of CPU importing it (14 writers per run of this file) before
# its first write. Each writer is still a process of its own with its own connections (the parent's
# pooled connections are never used in the child), killed with SIGKILL in the crash test.
_FORK = multiprocessing.get_context("fork")


def _run_writer(db_url: str, tag: str, count: int, write_fd: int) -> None:
    with os.fdopen(write_fd, "w") as out:
        write(db_url, "P-1", tag, count, out)


class _Writer:
    """A forked writer (store/writer.py) whose acknowledgements are read from a pipe."""

    def __init__(self, db_url: str, tag: str, count: int) -> None:
        read_fd, write_fd = os.pipe()
        self.process = _FORK.Process(target=_run_writer, args=(db_url, tag, count, write_fd))
        self.process.start()
        os.close(write_fd)  # the child holds the only write end: end of file when it exits
        self.stdout = os.fdopen(read_fd)
        self.pid = self.process.pid

    def communicate(self, timeout: float) -> tuple[str, str]:
        """(the rest of its output, "") once it has exited (its traceback, if any, went to stderr)."""
        rest = self.stdout.read()
        self.stdout.close()
        self.process.join(timeout)
        return rest, ""

    @property
    def returncode(self) -> int | None:
        return self.process.exitcode


def _start(db_url: str, tag: str, count: int) -> _Writer:
    return _Writer(db_url, tag, count)


def _lots_and_assays(store) -> set[str]:
    return {r.lot for r in entry_rows(store, "P-1", "infusions")} | {
        r.assay for r in entry_rows(store, "P-1", "levels")
    }


def _consistent(store) -> None:
    """Every entry has its audit row and the history is valid; SQLite's own check passes."""
    history = patient_history(store, "P-1")
    n_entries = len(history.infusions) + len(history.levels)
    with store.transaction() as s:
        audited = s.execute(text("SELECT count(*) FROM audit_log WHERE entity IN ('infusions', 'levels')")).scalar()
        if store.dialect == "sqlite":
            assert s.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    assert audited == n_entries


def test_parallel_writer_processes_lose_nothing(store, db_url):
    create_patient(store, PatientInfo(id="P-1", sex="male", birth_year=1960), user="t")
    procs = [_start(db_url, f"w{k}", 20) for k in range(4)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    acked = {line.split()[2] for out, _ in outputs for line in out.splitlines()}
    assert len(acked) == 80
    assert _lots_and_assays(store) == acked
    _consistent(store)


def test_killed_writer_keeps_every_acknowledged_write(store, db_url):
    create_patient(store, PatientInfo(id="P-1", sex="male", birth_year=1960), user="t")
    add_entry(store, "P-1", "infusions", Infusion(date="2024-01-01", dose_mg=100, lot="first"), user="t")
    acked: set[str] = {"first"}
    for round_ in range(3):
        proc = _start(db_url, f"crash{round_}", 0)
        target = 15 + 7 * round_
        lines = []
        while len(lines) < target:
            line = proc.stdout.readline()
            assert line, f"writer exited early (code {proc.process.exitcode}); its traceback is in stderr"
            lines.append(line)
        time.sleep(0.005 * round_)  # land the kill at a different point of a write each round
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
        # a line printed after the commit returned is acknowledged too, even if read late
        acked |= {line.split()[2] for line in [*lines, *rest.splitlines()] if len(line.split()) == 3}
        stored = _lots_and_assays(store)
        assert acked <= stored, sorted(acked - stored)
        # at most the one write in flight is stored without its acknowledgement
        assert len(stored - acked) <= 1
        acked = stored
        _consistent(store)
