"""Calibrate the spread of ACR-N's parts (START's joint counts) and write src/ifxdose/domain/trials/data/joint_counts.toml.

Run: ``.venv/bin/python validation/fit_joint_counts.py [--dry-run]`` (method:
``ifxdose.domain.trials.fit_joint_counts``; docs/trials.md, "START").
"""

from __future__ import annotations

import argparse
import json
from importlib import resources

from ifxdose.domain.trials.fit_joint_counts import run, to_toml


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dry-run", action="store_true", help="print the result, do not write the file")
    args = ap.parse_args()
    doc = run()
    print(json.dumps(doc, indent=2))
    if not args.dry_run:
        path = resources.files("ifxdose.domain.trials") / "data" / "joint_counts.toml"
        with open(str(path), "w", encoding="utf-8") as f:
            f.write(to_toml(doc))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
