"""Benchmark: start-up time of the ``ifxdose`` command line, whole process, several runs.

Measures, in the same run, the median wall time of
- ``python -c "import numpy, scipy"`` (the baseline: what any scientific Python CLI pays),
- ``ifxdose --help`` (goal < 0.5 s),
- ``ifxdose score das28-crp ...`` (goal < 0.5 s),
- ``ifxdose simulate ...`` for one typical patient (goal < 1.5 s),
and prints JSON with each median and its ratio to the baseline. The load average is printed
too: on a busy machine every figure grows, the ratios less so. The median CPU time (user + system,
of the child process) is printed beside the wall time: on a machine shared with other work it
moves much less than the wall time, which also counts the time spent waiting for a core.

Run: ``.venv/bin/python benchmarks/cli_startup.py [--runs 7]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
IFXDOSE = shutil.which("ifxdose", path=str(BIN)) or "ifxdose"

COMMANDS = {
    "numpy_scipy_import": [sys.executable, "-c", "import numpy, scipy"],
    "help": [IFXDOSE, "--help"],
    "score": [IFXDOSE, "score", "das28-crp", "--tjc28", "4", "--sjc28", "5", "--crp-mg-l", "7", "--ptga-mm", "40"],
    "simulate": [
        IFXDOSE,
        "simulate",
        "--regimen",
        "3 mg/kg at weeks 0,2,6 then every 8 weeks until week 22",
        "--weight-kg",
        "60",
        "--json",
    ],
}
GOALS_S = {"help": 0.5, "score": 0.5, "simulate": 1.5}


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wall_and_cpu_time(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run of ``cmd`` as a new process."""
    cpu0, t0 = cpu_s(), time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0, cpu_s() - cpu0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpu: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for cmd in COMMANDS.values():  # warm the file cache once
        wall_and_cpu_time(cmd)
    for _ in range(runs):  # interleaved, so load changes hit every command alike
        for name, cmd in COMMANDS.items():
            wall, cpu_run = wall_and_cpu_time(cmd)
            times[name].append(wall)
            cpu[name].append(cpu_run)
    base = statistics.median(times["numpy_scipy_import"])
    base_cpu = statistics.median(cpu["numpy_scipy_import"])
    out = {
        "runs": runs,
        "load_average_1min": os.getloadavg()[0],
        "baseline_numpy_scipy_import_s": round(base, 3),
        "baseline_numpy_scipy_import_cpu_s": round(base_cpu, 3),
    }
    for name, goal in GOALS_S.items():
        med = statistics.median(times[name])
        med_cpu = statistics.median(cpu[name])
        out[f"{name}_median_s"] = round(med, 3)
        out[f"{name}_ratio_to_numpy_scipy_import"] = round(med / base, 2)
        out[f"{name}_median_cpu_s"] = round(med_cpu, 3)
        out[f"{name}_cpu_ratio_to_numpy_scipy_import"] = round(med_cpu / base_cpu, 2)
        out[f"{name}_goal_s"] = goal
        out[f"{name}_meets_goal"] = med < goal
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
