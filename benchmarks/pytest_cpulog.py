"""A pytest plugin that logs each test's CPU time: the suite's cost per test and per file.

For every test (setup, call and teardown together) it writes one tab-separated line to
``$IFXDOSE_CPULOG_DIR/<xdist worker or "main">.tsv``: the node id, the test process's own CPU
seconds (user + system), the CPU seconds of the child processes reaped meanwhile (servers,
writers, Chromium, CLI smoke tests: counted when they end, so a module fixture's server is
charged to the test during which it stops), the wall seconds and the end time (epoch s).

Run (docs/development.md, "Session 7"):
``mkdir -p /tmp/cpulog && IFXDOSE_CPULOG_DIR=/tmp/cpulog PYTHONPATH=benchmarks .venv/bin/python -m pytest -p pytest_cpulog -p no:cacheprovider [FILES]``
then e.g. ``awk -F'\\t' '{split($1,a,"::"); s[a[1]]+=$2+$3} END {for (f in s) print s[f], f}' /tmp/cpulog/*.tsv | sort -nr``.
CPU time is less sensitive to a shared machine than wall time, not immune (contention inflates it).
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

_started: dict[str, tuple[float, float, float]] = {}


def _now() -> tuple[float, float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime, time.time()


def pytest_runtest_logstart(nodeid: str, location: object) -> None:
    _started[nodeid] = _now()


def pytest_runtest_logfinish(nodeid: str, location: object) -> None:
    start = _started.pop(nodeid, None)
    if start is None:
        return
    end = _now()
    out = Path(os.environ.get("IFXDOSE_CPULOG_DIR", "cpulog"))
    out.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(out / f"{worker}.tsv", "a", encoding="utf-8") as f:
        f.write(f"{nodeid}\t{end[0] - start[0]:.3f}\t{end[1] - start[1]:.3f}\t{end[2] - start[2]:.3f}\t{end[2]:.3f}\n")
