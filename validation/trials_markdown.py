"""All trials, published vs simulated, as the Markdown of docs/trials.md (same numbers as
``ifxdose trial run all --replicates 100 --seed 1``), with the summary and the runtime.

Run: ``.venv/bin/python validation/trials_markdown.py [--replicates 100] [--seed 1] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import time

from ifxdose.domain.trials import load_models, run_trial, trial_names
from ifxdose.domain.trials.runner import DEFAULT_REPLICATES


def fmt(x) -> str:
    return "—" if x is None else (f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicates", type=int, default=DEFAULT_REPLICATES)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    models = load_models()
    t0 = time.perf_counter()
    results = [run_trial(name, replicates=args.replicates, seed=args.seed, models=models) for name in trial_names()]
    runtime = time.perf_counter() - t0
    total_c = sum(r.summary()["compared"] for r in results)
    total_i = sum(r.summary()["inside"] for r in results)
    print(
        f"Command: `ifxdose trial run all --replicates {args.replicates} --seed {args.seed}` "
        f"(calibration {models.calibration_version}; PK {models.pk.name}; parameter uncertainty and between-trial heterogeneity in the intervals). "
        f"**{total_i} of {total_c} published values inside the 95 % interval** ({100 * total_i / total_c:.0f} %); "
        f"runtime {runtime:.0f} s on this machine.\n"
    )
    print("| trial | published values compared | inside 95 % interval | not modelled |")
    print("|---|---|---|---|")
    for r in results:
        s = r.summary()
        print(f"| {r.trial.name} | {s['compared']} | {s['inside']} | {s['not_modelled']} |")
    for r in results:
        print(f"\n### {r.trial.title}\n")
        print("| quantity | arm | role | published | simulated median (95 % interval) | inside |")
        print("|---|---|---|---|---|---|")
        for row in r.rows():
            sim = (
                "—"
                if row["simulated_median"] is None
                else (f"{fmt(row['simulated_median'])} ({fmt(row['simulated_low95'])}–{fmt(row['simulated_high95'])})")
            )
            ok = {True: "yes", False: "**no**", None: "—"}[row["inside_95"]]
            print(
                f"| {row['quantity']} | {row['arm'] or ''} | {row['role']} | {row['published'] or '—'} | {sim} | {ok} |"
            )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump([r.to_dict() for r in results], f, indent=1, default=str)


if __name__ == "__main__":
    main()
