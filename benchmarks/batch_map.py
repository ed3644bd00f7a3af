"""Benchmark: MAP per subject through the general language (NM-TRAN records, exact matrix
exponential engine) vs the library path (closed-form superposition), same patients, same run.

The infliximab RA default model is translated into the language (``from_pkmodel``); each
subject has 6 label infusions (2 h) and 4 troughs. Prints JSON.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/batch_map.py``
"""

from __future__ import annotations

import json
import os
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402

from ifxdose.core.estimation import Observations, Problem, estimate_map  # noqa: E402
from ifxdose.core.estimation.general import estimate_subject  # noqa: E402
from ifxdose.core.pk.dose import LABEL_INFUSION_DAYS, Dose  # noqa: E402
from ifxdose.core.pk.general import from_pkmodel  # noqa: E402
from ifxdose.core.pk.nmtran import read_nmtran  # noqa: E402
from ifxdose.domain.modelfiles import default_model_name, load_model  # noqa: E402

DOSE_DAYS = [0.0, 14.0, 42.0, 98.0, 154.0, 210.0]
SAMPLE_DAYS = [42.0, 98.0, 154.0, 210.0]


def main(n: int = 30) -> None:
    pk = load_model(default_model_name())
    gm = from_pkmodel(pk)
    rng = np.random.default_rng(1)
    lib, gen = [], []
    for i in range(n):
        w = float(rng.uniform(45, 90))
        pr = Problem(
            pk, np.array([-np.inf]), {"weight_kg": np.array([w])}, [Dose.infusion(d, 3 * w) for d in DOSE_DAYS]
        )
        y = pr.predict(pk.sample_eta(1, rng), np.array(SAMPLE_DAYS))[0] * np.exp(0.3 * rng.standard_normal(4))
        rows = [f"{i},{d},{3 * w!r},{3 * w / LABEL_INFUSION_DAYS!r},1,1,.,{w!r}" for d in DOSE_DAYS]
        rows += [f"{i},{t},.,.,0,0,{float(v)!r},{w!r}" for t, v in zip(SAMPLE_DAYS, y)]
        rows.sort(key=lambda r: (float(r.split(",")[1]), r.split(",")[4] != "0"))
        rec = read_nmtran("ID,TIME,AMT,RATE,EVID,MDV,DV,weight_kg\n" + "\n".join(rows))[0]
        t0 = time.perf_counter()
        a = estimate_map(pr, Observations(np.array(SAMPLE_DAYS), y, np.full(4, np.nan)))
        t1 = time.perf_counter()
        _, b = estimate_subject(gm, rec)
        t2 = time.perf_counter()
        lib.append(t1 - t0)
        gen.append(t2 - t1)
        assert np.allclose(a.eta, b.eta, atol=1e-4), (a.eta, b.eta)
    print(
        json.dumps(
            {
                "model": pk.name,
                "subjects": n,
                "library_map_median_ms": round(1000 * float(np.median(lib)), 2),
                "general_map_median_ms": round(1000 * float(np.median(gen)), 2),
                "general_over_library": round(float(np.median(gen) / np.median(lib)), 1),
                "same_eta_within": 1e-4,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
