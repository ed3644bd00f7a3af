"""Fixtures shared by every test folder."""

from __future__ import annotations

import contextlib
import io
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
