"""Running independent tasks in this process or on Dask workers, for the CLI's batch estimation
(``ifxdose estimate --data ... --scheduler``), trials and calibration (``ifxdose trial
--scheduler``). The machinery is ``ifxdose.adapters.scale`` (Dask is imported only when a
scheduler is given); this module routes to it so the CLI does not import that adapter itself.

- ``parse_scheduler(spec)``: ``None``, ``'local'``, ``'local:N'`` or an address; a bad spec is an
  InputError naming ``--scheduler`` before any work;
- ``executor(spec)``: a context manager giving a ``map``-like function (``run_trial(map_fn=...)``);
- ``emcee_pool(spec)``: a context manager giving an object with ``.map`` (emcee's ``pool=``);
- ``map_tasks(fn, items, spec)``: the results of ``fn`` on every item, in order.
"""

from __future__ import annotations

from ifxdose.adapters.scale import emcee_pool, executor, map_tasks, parse_scheduler

__all__ = ["emcee_pool", "executor", "map_tasks", "parse_scheduler"]
