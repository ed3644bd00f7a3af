"""The shared command line of the scripts that fit a trial-model data file
(validation/fit_progression.py, validation/fit_joint_counts.py): run the fit, print the result as
JSON, and write it into ``src/ifxdose/domain/trials/data/`` unless ``--dry-run`` (the package
itself writes no files)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from importlib import resources
from typing import Any


def fit_main(
    description: str | None, run: Callable[[], dict[str, Any]], to_toml: Callable[[dict[str, Any]], str], filename: str
) -> None:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--dry-run", action="store_true", help="print the result, do not write the file")
    args = ap.parse_args()
    doc = run()
    print(json.dumps(doc, indent=2))
    if not args.dry_run:
        path = resources.files("ifxdose.domain.trials") / "data" / filename
        with open(str(path), "w", encoding="utf-8") as f:
            f.write(to_toml(doc))
        print(f"wrote {path}")
