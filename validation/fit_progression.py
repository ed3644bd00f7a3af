"""Calibrate the radiographic progression model and write src/ifxdose/domain/trials/data/progression.toml.

Run: ``.venv/bin/python validation/fit_progression.py [--dry-run]`` (method:
``ifxdose.domain.trials.fit_progression``; docs/trials.md, "Radiographic progression").
"""

from __future__ import annotations

from _fit_data import fit_main

from ifxdose.domain.trials.fit_progression import run, to_toml

if __name__ == "__main__":
    fit_main(__doc__, run, to_toml, "progression.toml")
