"""Calibrate the spread of ACR-N's parts (START's joint counts) and write src/ifxdose/domain/trials/data/joint_counts.toml.

Run: ``.venv/bin/python validation/fit_joint_counts.py [--dry-run]`` (method:
``ifxdose.domain.trials.fit_joint_counts``; docs/trials.md, "START").
"""

from __future__ import annotations

from _fit_data import fit_main

from ifxdose.domain.trials.fit_joint_counts import run, to_toml

if __name__ == "__main__":
    fit_main(__doc__, run, to_toml, "joint_counts.toml")
