"""Re-run the RA default model's model-based meta-analysis (emcee) and write its outputs.

Run: ``.venv/bin/python validation/fit_ra_mbma.py [--steps N] [--dry-run]`` (about 5 min of one
core). Writes src/ifxdose/domain/data/models/ifxdose_ra_mbma.toml and
src/ifxdose/domain/trials/data/mbma_posterior.toml; prints the runtime and the posterior
predictive check per datum. The method and the likelihood: docs/models.md.
"""

from ifxdose.domain.trials.mbma import main

if __name__ == "__main__":
    main()
