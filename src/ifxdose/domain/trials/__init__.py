"""Trial replication: virtual RA populations, immunogenicity and exposure-response models
calibrated to the evidence base, and the seed's trials run arm by arm with replicates.

```python
from ifxdose.domain.trials import run_trial, trial_names, load_models, virtual_population
res = run_trial("attract", replicates=100, seed=1)
res.rows()          # published vs simulated median and 95 % interval, inside or not
```
Models and calibration: docs/trials.md; ``ifxdose trial calibrate``.
"""

from ifxdose.domain.trials.definitions import Trial, get_trial, trial_names
from ifxdose.domain.trials.models import Models, load_models
from ifxdose.domain.trials.population import virtual_population
from ifxdose.domain.trials.runner import TrialResult, run_trial

__all__ = [
    "Models",
    "Trial",
    "TrialResult",
    "get_trial",
    "load_models",
    "run_trial",
    "trial_names",
    "virtual_population",
]
