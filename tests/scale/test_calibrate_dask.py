"""Calibration on Dask (issue 16): the emcee walkers' log posteriors evaluated on a 2-worker
LocalCluster give the same calibration document as one process for the same seed (the oracle
is the single-process run of the same tiny setup: 40 virtual patients, 8 walkers, 6 steps, one
assay-detection round)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from ifxdose.adapters.cli import app
from ifxdose.adapters.scale import WORKER_ENV, EmceePool, emcee_pool
from ifxdose.domain.trials import calibrate as cal

runner = CliRunner()

TINY = {"n_virtual": 40, "walkers": 8, "ada_steps": 6, "ada_burn": 2, "er_walkers": 8, "er_steps": 6, "er_burn": 2}


def tiny_setup_text() -> str:
    """The packaged setup with small sizes (the knobs a user would edit)."""
    text = cal.DATA.joinpath("calibration_setup.toml").read_text(encoding="utf-8")
    for key, value in TINY.items():
        text, n = re.subn(rf"(?m)^{key} = \d+", f"{key} = {value}", text)
        if n == 0:  # not in the file: add it under [posterior]
            text = text.replace("[posterior]\n", f"[posterior]\n{key} = {value}\n", 1)
    # one round of the assay-detection refit instead of 3 (the same code path, a third of the fitting)
    text = text.replace("[immunogenicity]\n", "[immunogenicity]\nassay_iterations = 1\n", 1)
    return text.replace("[posterior]\n", "[posterior]\ndraws_kept = 8\n", 1)


@pytest.fixture(scope="module")
def cluster():
    """2 worker processes reached by address (as a remote cluster would be); ``local:2`` goes
    through the same ``client()`` and is exercised by test_dask.py."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", env=WORKER_ENV) as lc:
        yield lc


def _pid(x):
    import os

    return os.getpid()


def test_pool_map_keeps_order_and_runs_in_the_workers(cluster):
    import os

    from distributed import Client

    with Client(cluster) as c:
        pool = EmceePool(c)
        offset = 7

        def f(x):  # a closure, as the calibration's log posteriors are
            return x * x + offset

        assert pool.map(f, range(10)) == [x * x + offset for x in range(10)]
        assert pool.map(f, [3]) == [16]  # the same function again (sent once)
        assert os.getpid() not in set(pool.map(_pid, range(4)))


def test_emcee_pool_without_scheduler_is_none():
    with emcee_pool(None) as pool:
        assert pool is None


def test_cli_calibrate_on_two_workers_equals_single_process(tmp_path, cluster):
    setup = tmp_path / "setup.toml"
    setup.write_text(tiny_setup_text(), encoding="utf-8")
    plain, dask = tmp_path / "plain.toml", tmp_path / "dask.toml"
    r1 = runner.invoke(app, ["trial", "calibrate", "--setup", str(setup), "--out", str(plain)])
    r2 = runner.invoke(
        app, ["trial", "calibrate", "--setup", str(setup), "--out", str(dask), "--scheduler", cluster.scheduler_address]
    )
    assert r1.exit_code == 0 and r2.exit_code == 0, r2.output
    doc = plain.read_text(encoding="utf-8")
    assert "er_draws" in doc and "walkers = 8" in doc
    assert dask.read_text(encoding="utf-8") == doc  # bitwise: every fitted value and posterior draw
    assert r2.stdout == r1.stdout


def test_cli_calibrate_bad_inputs_are_one_line_errors(tmp_path):
    import sys

    from ifxdose.adapters.cli import main

    for extra in (["--scheduler", "lokal"], ["--setup", str(tmp_path / "missing.toml")]):
        argv = sys.argv
        sys.argv = ["ifxdose", "trial", "calibrate", "--out", str(tmp_path / "x.toml"), *extra]
        try:
            code = None
            try:
                main()
            except SystemExit as exc:
                code = exc.code
        finally:
            sys.argv = argv
        assert code == 2
    assert not (tmp_path / "x.toml").exists()
