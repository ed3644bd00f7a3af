"""`ifxdose estimate --history` prints each individual parameter with its 80% interval, the same
numbers as the patient page (``EstimateSummary.parameter_interval``), recomputed here by hand
from the JSON summary of the same run (MAP value * exp(+-z(0.9) * posterior SD of its eta))."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "history_label_55kg.json"
Z90 = 1.2815515655446004  # the standard normal's 90th percentile (tables)


def test_the_text_output_shows_each_parameter_with_its_interval(ifxdose_cli):
    summary = json.loads(ifxdose_cli("estimate", "--history", str(EXAMPLE), "--json").stdout)
    text = ifxdose_cli("estimate", "--history", str(EXAMPLE)).stdout
    line = next(x for x in text.splitlines() if x.startswith("Individual parameters"))
    for name, p in summary["individual_parameters"].items():
        match = re.search(rf"\b{name} (\S+) {re.escape(p['unit'])} \(([^)]*)\)", line)
        assert match, (name, line)
        assert math.isclose(float(match.group(1)), p["value"], rel_tol=5e-4)
        if name in summary["eta_parameters"]:
            sd = summary["eta_sd_posterior"][summary["eta_parameters"].index(name)]
            low, high = (float(x) for x in match.group(2).split("-"))
            assert math.isclose(low, p["value"] * math.exp(-Z90 * sd), rel_tol=5e-3)
            assert math.isclose(high, p["value"] * math.exp(Z90 * sd), rel_tol=5e-3)
        else:
            assert match.group(2) == "fixed"
