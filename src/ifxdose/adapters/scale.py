"""Scale-out on Dask (``dask.distributed``): independent tasks on local processes or a cluster.

``map_tasks(fn, items, scheduler)`` runs ``fn`` on every item and returns the results in
the order of ``items``; ``executor(scheduler)`` gives a ``map``-like function for code that
accepts one (``run_trial(..., map_fn=...)``); ``emcee_pool(scheduler)`` gives an object with
``.map`` for emcee's ``pool=`` (the calibration's walkers). The scheduler is

- ``None``: in this process, one item after another (the reference);
- ``"local"`` or ``"local:N"``: a throw-away ``LocalCluster`` of N worker processes (default:
  one per core), one thread each;
- an address such as ``"tcp://10.0.0.5:8786"``: an existing cluster started with
  ``dask-scheduler`` and ``dask-worker`` (docs/scale.md).

Functions and their arguments travel with cloudpickle, so closures over a trial and its
models work. Results are the same as in one process because every task seeds its own
random generator (the caller's contract: e.g. a replicate's ``SeedSequence(seed, spawn_key)``).
Dask is imported only when a scheduler is given.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

from ifxdose.core.errors import InputError

_LOCAL = re.compile(r"^local(?::(\d+))?$")
_ADDRESS = re.compile(r"^(tcp|tls|inproc|ws|wss|ucx)://[^\s/]+(:\d+)?/?$|^[A-Za-z0-9_.\-]+:\d+$")
ALLOWED = "'local', 'local:N' (N >= 1 worker processes) or a scheduler address such as tcp://host:8786"

#: Environment of local worker processes: one thread each for BLAS and the compiled kernel,
#: so N workers use N cores (no oversubscription).
WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
#: How long to keep trying to reach a scheduler address before the one-line input error.
#: Assumption: 10 s covers a cluster on another host of the same network.
CONNECT_TIMEOUT = "10s"


def parse_scheduler(spec: str | None) -> tuple[str, int | str] | None:
    """None -> None; 'local' -> ('local', cores); 'local:N' -> ('local', N); address -> ('address', spec)."""
    if spec is None:
        return None
    spec = spec.strip()
    m = _LOCAL.match(spec)
    if m:
        workers = int(m.group(1)) if m.group(1) else (os.cpu_count() or 1)
        if workers < 1:
            raise InputError("scheduler", spec, f"allowed values are {ALLOWED}")
        return ("local", workers)
    if _ADDRESS.match(spec):
        return ("address", spec)
    raise InputError("scheduler", spec, f"allowed values are {ALLOWED}")


@contextmanager
def client(spec: str):
    """A connected ``distributed.Client`` for a scheduler spec (a LocalCluster is closed on exit)."""
    kind, value = parse_scheduler(spec)
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("scheduler", spec, "Dask is not installed: pip install 'ifxdose[scale]'") from None

    if kind == "local":
        with (
            LocalCluster(
                n_workers=int(value), threads_per_worker=1, processes=True, dashboard_address=":0", env=WORKER_ENV
            ) as cluster,
            Client(cluster) as c,
        ):
            yield c
    else:
        try:
            c = Client(str(value), timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            raise InputError("scheduler", spec, f"no Dask scheduler answered there ({exc})") from None
        with c:
            yield c


def _in_order(c, fn: Callable, items: Sequence) -> Iterator:
    futures = c.map(fn, list(items), pure=False)
    try:
        for f in futures:  # submitted all at once, collected in order (progress as they finish)
            yield f.result()
    finally:
        c.cancel(futures)


@contextmanager
def executor(spec: str | None):
    """A ``map``-like function ``(fn, items) -> iterator of results in order`` for a scheduler."""
    if parse_scheduler(spec) is None:
        yield map
        return
    with client(spec) as c:
        yield lambda fn, items: _in_order(c, fn, items)


def map_tasks(fn: Callable, items: Iterable, scheduler: str | None = None) -> list:
    """``[fn(x) for x in items]``, computed as Dask tasks when a scheduler is given."""
    items = list(items)
    with executor(scheduler) as run:
        return list(run(fn, items))


def _apply(x, fn):
    return fn(x)


class EmceePool:
    """emcee's ``pool=`` on a Dask client: ``map(fn, walkers)`` evaluates one log posterior per
    walker as a task and returns them in order.

    emcee calls ``map`` twice per step with the same function (a closure over the calibration's
    scenarios, which can weigh megabytes), so the function is sent to every worker once
    (``scatter(broadcast=True)``) and each task carries only its walker's position.
    """

    def __init__(self, c) -> None:
        self._client = c
        self._fn: Callable | None = None
        self._fn_future = None

    def map(self, fn: Callable, items: Iterable) -> list:
        if fn is not self._fn:
            self._fn_future = self._client.scatter(fn, broadcast=True, hash=False)
            self._fn = fn
        futures = self._client.map(_apply, list(items), fn=self._fn_future, pure=False)
        try:
            return self._client.gather(futures)
        finally:
            self._client.cancel(futures)


@contextmanager
def emcee_pool(spec: str | None):
    """None without a scheduler (emcee evaluates in this process), else an ``EmceePool``."""
    if parse_scheduler(spec) is None:
        yield None
        return
    with client(spec) as c:
        yield EmceePool(c)
