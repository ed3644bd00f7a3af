"""Scale-out on Dask (issue 16): a LocalCluster of 2 worker processes gives the same trial
result as one process for the same seed (the oracle is the single-process run), the
adapter keeps the order of its items, and bad scheduler specs are one-line input errors.

Calibration on Dask: the emcee walkers' log posteriors evaluated on the 2-worker cluster give
the same calibration document as one process for the same seed (the oracle is the
single-process run of the same tiny setup: 40 virtual patients, 8 walkers, 6 steps, one
assay-detection round). One cluster serves the whole file (starting one costs seconds)."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from ifxdose.adapters import scale
from ifxdose.adapters.cli import app
from ifxdose.adapters.scale import WORKER_ENV, EmceePool, client, emcee_pool, executor, map_tasks, parse_scheduler
from ifxdose.core.errors import InputError
from ifxdose.domain.trials import calibrate as cal
from ifxdose.domain.trials import load_models, run_trial

runner = CliRunner()


@pytest.fixture(scope="module")
def cluster():
    """2 worker processes, one thread each, for the whole file; reached by its address as a
    remote cluster would be (``--scheduler local:2`` is exercised by the trial CLI test)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", env=WORKER_ENV) as lc:
        yield lc


@pytest.fixture(scope="module")
def cluster_map(cluster):
    with executor(cluster.scheduler_address) as map_fn:
        yield map_fn


def _square_and_pid(x):
    import os

    return x * x, os.getpid()


def test_map_keeps_order_and_uses_worker_processes(cluster_map):
    import os

    out = list(cluster_map(_square_and_pid, range(12)))
    assert [v for v, _ in out] == [x * x for x in range(12)]
    assert os.getpid() not in {pid for _, pid in out}  # ran in the workers, not here


def test_trial_on_two_workers_equals_single_process(cluster_map):
    models = load_models()
    single = run_trial("rrrr", n=20, replicates=4, seed=11, models=models)
    dask = run_trial("rrrr", n=20, replicates=4, seed=11, models=models, map_fn=cluster_map)
    assert dask.values == single.values  # bitwise, replicate by replicate
    assert dask.rows() == single.rows()


def test_map_tasks_without_scheduler_is_plain_map():
    assert map_tasks(lambda x: x + 1, [1, 2, 3]) == [2, 3, 4]


def test_cli_scheduler_local_matches_single_process():
    args = ["trial", "run", "elliott1994", "--n", "10", "--replicates", "2", "--seed", "5", "--json"]
    plain = runner.invoke(app, args)
    local = runner.invoke(app, args + ["--scheduler", "local:2"])
    assert plain.exit_code == 0 and local.exit_code == 0, local.output
    assert json.loads(local.stdout) == json.loads(plain.stdout)


@pytest.mark.parametrize("spec", ["local:0", "lokal", "tcp//host", "local:two", ""])
def test_bad_scheduler_is_an_input_error(spec):
    with pytest.raises(InputError, match="scheduler"):
        parse_scheduler(spec)


def test_cli_bad_scheduler_exits_2():
    import sys

    from ifxdose.adapters.cli import main

    argv = sys.argv
    sys.argv = ["ifxdose", "trial", "run", "rrrr", "--scheduler", "local:0"]
    try:
        with pytest.raises(SystemExit) as exc:
            main()
    finally:
        sys.argv = argv
    assert exc.value.code == 2


def test_unreachable_address_is_an_input_error(monkeypatch):
    monkeypatch.setattr(scale, "CONNECT_TIMEOUT", "1s")  # nothing listens there: no need to wait 10 s
    with pytest.raises(InputError, match="no Dask scheduler"):
        with client("tcp://127.0.0.1:1"):
            pass


def test_spec_forms():
    assert parse_scheduler(None) is None
    assert parse_scheduler("local:3") == ("local", 3)
    assert parse_scheduler("local")[0] == "local"
    assert parse_scheduler("tcp://10.0.0.5:8786") == ("address", "tcp://10.0.0.5:8786")


NMTRAN = """ID,TIME,AMT,RATE,EVID,MDV,DV,weight_kg
1,0,300,3600,1,1,.,60
1,14,300,3600,1,1,.,60
1,42,.,.,0,0,6.1,60
1,56,.,.,0,0,4.2,60
2,0,450,5400,1,1,.,90
2,14,450,5400,1,1,.,90
2,42,.,.,0,0,3.3,90
3,0,210,2520,1,1,.,70
3,42,.,.,0,0,900,70
4,0,240,2880,1,1,.,80
"""


def test_batch_estimation_on_two_workers_equals_single_process(cluster_map):
    import numpy as np

    from ifxdose.core.pk.nmtran import read_nmtran
    from ifxdose.domain.batch import estimate_all
    from ifxdose.domain.modelfiles import as_general, load_model

    model = as_general(load_model("ifxdose_ra_mbma"))
    subjects = read_nmtran(NMTRAN)
    single = estimate_all(model, subjects, workers=1)
    dask = estimate_all(model, subjects, map_fn=cluster_map)
    assert [r.id for r in dask] == ["1", "2", "3", "4"]
    for a, b in zip(dask, single):  # bitwise: etas, OFV (NaN for a failed subject) and warnings
        assert (a.id, a.eta_names, a.warnings) == (b.id, b.eta_names, b.warnings)
        assert np.array_equal([*a.eta, a.ofv], [*b.eta, b.ofv], equal_nan=True)
    assert any(w.startswith("error:") for w in dask[2].warnings)
    assert any("no drug levels" in w for w in dask[3].warnings)


def test_cli_batch_estimation_with_scheduler_matches_workers_1(tmp_path, cluster):
    data = tmp_path / "d.csv"
    data.write_text(NMTRAN)
    args = ["estimate", "--data", str(data), "--model", "ifxdose_ra_mbma"]
    single = runner.invoke(app, args + ["--workers", "1"])
    local = runner.invoke(app, args + ["--scheduler", cluster.scheduler_address])
    assert single.exit_code == 0 and local.exit_code == 0, local.output
    assert local.stdout == single.stdout
    bad = runner.invoke(app, args + ["--scheduler", "nowhere"])
    assert isinstance(bad.exception, InputError) and "scheduler" in str(bad.exception)  # main() exits 2 with it


# ------------------------------------------------------------ calibration on Dask
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
