"""Fixtures shared by every test folder."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class CliResult:
    """What the ``ifxdose`` process would give: exit code, stdout, stderr."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, env: dict[str, str] | None = None) -> CliResult:
    """Run ``ifxdose ARGS`` in this process through the console-script entry point ``main()``.

    Unlike typer's CliRunner this goes through ``main()``, so the exit-2 one-line error for bad
    input (and exit 1 for a defect) are what is tested, without paying a new interpreter
    (5-12 s under load) per call. One subprocess smoke test per command group remains.
    """
    import os
    import sys

    from ifxdose.adapters.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_argv, old_env = sys.argv, dict(os.environ)
    sys.argv = ["ifxdose", *args]
    os.environ.update(env or {})
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        sys.argv = old_argv
        os.environ.clear()
        os.environ.update(old_env)
    return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture
def ifxdose_cli():
    """``ifxdose_cli("score", "sdai", ...) -> CliResult`` (in-process, through ``main()``)."""
    return run_cli


def run_subprocess(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """The installed console script in a new process (smoke tests only)."""
    import shutil
    import sys
    from pathlib import Path

    exe = shutil.which("ifxdose", path=str(Path(sys.executable).parent)) or "ifxdose"
    return subprocess.run([exe, *args], capture_output=True, text=True, **kwargs)


# ------------------------------------------------------------------ suite-wide test settings
# (issue 14 item 6: the suite fast on a fresh clone; docs/development.md)


@pytest.fixture(autouse=True)
def numpy_path_unless_forced(request, monkeypatch):
    """Every test runs the PK and MAP engines on the NumPy path unless it forces compiled code.

    In production a process switches to numba once it has done enough work (100 M
    patient-events, 200 MAP fits) or once numba is loaded; in a test process that switch
    depended on which tests had run before on the same xdist worker, and on a fresh clone
    (empty numba cache) the next test paid 40-50 s of compilation. Here the thresholds are
    out of reach and each test starts with numba "not loaded" (the modules stay imported,
    their compiled functions stay compiled). Tests comparing paths force the compiled path
    explicitly (thresholds at 0 or ``compiled.use_compiled`` patched), as they must anyway
    (COMMON.md); both paths give the same numbers (tests/pk/test_kernel.py,
    tests/estimation/test_gradients.py). Tests marked ``production_thresholds`` see the
    production switching rules; ``IFXDOSE_TEST_ENGINES=production`` gives them to every test
    (the suite as it ran before: the switch depends on the order of the tests). Assumption: helper-16's names ``KERNEL_MIN_WORK``,
    ``KERNEL_MIN_WORK_LOADED``, ``_STATE`` (kernel) and ``MAP_MIN_FITS``, ``_STATE``
    (compiled) are the switch's whole state.
    """
    if (
        request.node.get_closest_marker("production_thresholds")
        or os.environ.get("IFXDOSE_TEST_ENGINES") == "production"
    ):
        return
    from ifxdose.core.estimation import compiled
    from ifxdose.core.pk import kernel

    out_of_reach = 10**18
    monkeypatch.setattr(kernel, "KERNEL_MIN_WORK", out_of_reach)
    monkeypatch.setattr(kernel, "KERNEL_MIN_WORK_LOADED", out_of_reach)
    monkeypatch.setattr(kernel, "_STATE", {k: v for k, v in kernel._STATE.items() if k not in ("fn", "numpy_work")})
    monkeypatch.setattr(compiled, "MAP_MIN_FITS", out_of_reach)
    monkeypatch.setattr(compiled, "_STATE", {"fits": 0})


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashes():
    """Accounts created by the tests get argon2id hashes with the cheapest parameters
    (argon2-cffi's ``profiles.CHEAPEST``: 8 KiB, 1 pass) instead of the production RFC 9106
    low-memory profile (64 MiB, 3 passes, ~0.3 s CPU per hash or sign-in): several hundred
    sign-ins in the suite. Verification reads the parameters from each stored hash, so the
    code path is the same; the production parameters are tested once
    (tests/test_suite_settings.py). Servers started as subprocesses would hash as in production:
    tests/web/live_server.add_accounts creates their accounts here first.
    Assumption: tests do not depend on the hashing cost (the sign-in limit counts attempts,
    not time)."""
    try:
        from argon2 import PasswordHasher, profiles

        from ifxdose.adapters.store import users
    except ImportError:  # the [clinic] extra is not installed: no accounts to create
        yield None
        return

    saved = users._hasher, users._DUMMY_HASH
    users._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    users._DUMMY_HASH = users._hasher.hash("not-a-real-password-0")
    try:
        yield saved[0]
    finally:
        users._hasher, users._DUMMY_HASH = saved


# The slowest test files of a fresh clone (per-file sums of `--durations`, 2026-12-01 00:57 on
# 726adc1: docs/development.md), slowest first. `make test` runs pytest-xdist with
# `--dist loadfile --no-loadscope-reorder`, which hands files to the two workers in collection
# order as each finishes; with these first, the long files start at once and the many short ones
# fill in behind them (longest-processing-time-first), instead of xdist's default order (files
# with the most tests first), which left these few-test, long files to the end and one worker
# idle. Order only: every test still runs, and a file missing from this list keeps its place.
SLOWEST_FILES_FIRST = (
    "tests/estimation/test_gradients.py",
    "tests/web/test_browser.py",
    "tests/pk/test_kernel.py",
    "tests/web/test_fuzz_api.py",
    "tests/web/test_workers.py",
    "tests/scale/test_dask.py",
    "tests/web/test_concurrency_http.py",
    "tests/trials/test_seed_troughs.py",
    "tests/nmtran/test_import_nonmem.py",
    "tests/web/test_robustness.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slowest files first (stable sort: the order inside a file and among the others is kept)."""
    rank = {path: i for i, path in enumerate(SLOWEST_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))
