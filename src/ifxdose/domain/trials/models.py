"""The calibrated models beyond PK, as values read from ``data/calibration.toml``.

The calibration script (:mod:`ifxdose.domain.trials.calibrate`) writes that file; nothing
here is tuned by hand. ``load_models()`` joins them with the default RA PK model.
"""

from __future__ import annotations

import tomllib
import zlib
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

import numpy as np

from ifxdose.core.immunogenicity import cumulative_hazard
from ifxdose.core.pk import PKModel
from ifxdose.core.response import bliss_fraction, effect_site, emax_logit_probability
from ifxdose.domain.modelfiles import default_model_name
from ifxdose.domain.modelfiles import load_library_model as load_model
from ifxdose.domain.trials.progression import ProgressionModel, load_progression

ENDPOINTS = ("acr20", "acr50", "sdai_remission", "das28_esr_remission")


@dataclass(frozen=True)
class AdaModel:
    """h(t) = h0 * exp(-decline * t) * exp(beta_low * 1[C < threshold]) * mtx_hazard_ratio^mtx (per day)."""

    h0_per_day: float
    beta_low: float
    threshold_mg_l: float
    mtx_hazard_ratio: float
    decline_per_day: float = 0.0

    def cumulative_hazard(self, grid_days: np.ndarray, conc_mg_l: np.ndarray, mtx: np.ndarray) -> np.ndarray:
        multiplier = np.where(np.asarray(mtx) > 0, self.mtx_hazard_ratio, 1.0)
        return cumulative_hazard(
            grid_days, conc_mg_l, self.h0_per_day, self.beta_low, self.threshold_mg_l, multiplier, self.decline_per_day
        )


@dataclass(frozen=True)
class ResponseModel:
    """logit P = intercept[endpoint] + emax * (g + (1 - g) f), f = Ce^hill / (ec50^hill + Ce^hill); Ce with
    ke0; g the background fraction (``mtx_start_fraction`` for patients starting MTX with the drug,
    core.response)."""

    ke0_per_day: float
    emax: float
    ec50_mg_l: float
    hill: float
    intercepts: dict[str, float] = field(default_factory=dict)
    mtx_start_fraction: float = 0.0

    def effect_site(self, grid_days: np.ndarray, conc_mg_l: np.ndarray) -> np.ndarray:
        return effect_site(grid_days, conc_mg_l, self.ke0_per_day)

    def background(self, covariates: dict[str, np.ndarray], n: int) -> np.ndarray:
        """Background fraction g (n,): ``mtx_start_fraction`` where the covariate ``mtx_start`` is 1."""
        start = covariates.get("mtx_start")
        return np.zeros(n) if start is None else np.asarray(self.mtx_start_fraction * (start > 0), dtype=float)

    def probability(self, endpoint: str, ce_mg_l: np.ndarray, background: np.ndarray | float = 0.0) -> np.ndarray:
        return emax_logit_probability(
            ce_mg_l, self.intercepts[endpoint], self.emax, self.ec50_mg_l, self.hill, background
        )

    def drug_logit(self, ce_mg_l: np.ndarray, background: np.ndarray | float = 0.0) -> np.ndarray:
        """The treatment's contribution on the logit scale: emax (g + (1 - g) Ce^hill / (ec50^hill + Ce^hill))."""
        ce = np.maximum(np.asarray(ce_mg_l, float), 0.0)
        f = ce**self.hill / (self.ec50_mg_l**self.hill + ce**self.hill)
        return np.asarray(self.emax * bliss_fraction(f, background), dtype=float)


@dataclass(frozen=True)
class Models:
    pk: PKModel
    ada: AdaModel
    response: ResponseModel
    calibration_version: str = ""
    #: Inflammation over time (engine.CRP_IMAX): CRP falls under drug and moves the PK model's CRP
    #: covariate; recorded by the calibration that was run with it (calibration.toml).
    inflammation: bool = False
    #: Radiographic progression (data/progression.toml, validation/fit_progression.py); None: not modelled.
    progression: ProgressionModel | None = None
    #: Spread sigma of ACR-N's three parts on the log remaining-fraction scale (endpoints.component_gaps;
    #: data/joint_counts.toml, validation/fit_joint_counts.py); 0: joints improve by exactly ACR-N.
    joint_spread_sigma: float = 0.0


def joint_counts_data() -> dict[str, Any] | None:
    """``data/joint_counts.toml`` (validation/fit_joint_counts.py), or None when it has not been written."""
    path = resources.files("ifxdose.domain.trials") / "data" / "joint_counts.toml"
    if not path.is_file():
        return None
    return tomllib.loads(path.read_text(encoding="utf-8"))


def joint_spread_sigma() -> float:
    """The calibrated spread of ACR-N's parts (0 without ``data/joint_counts.toml``)."""
    data = joint_counts_data()
    return 0.0 if data is None else float(data["values"]["sigma"])


def calibration_data() -> dict[str, Any]:
    path = resources.files("ifxdose.domain.trials") / "data" / "calibration.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


def models_from(data: dict[str, Any], pk: PKModel | None = None) -> Models:
    """Models from a calibration document (the file's structure)."""
    ada, er = data["immunogenicity"]["values"], data["exposure_response"]["values"]
    return Models(
        pk=pk or load_model(data.get("pk_model", default_model_name())),
        ada=AdaModel(
            ada["h0_per_day"], ada["beta_low"], ada["threshold_mg_l"], ada["mtx_hazard_ratio"], ada["decline_per_day"]
        ),
        response=ResponseModel(
            er["ke0_per_day"],
            er["emax"],
            er["ec50_mg_l"],
            er["hill"],
            {e: er[f"intercept_{e}"] for e in ENDPOINTS if f"intercept_{e}" in er},
            float(er.get("mtx_start_fraction", 0.0)),
        ),
        calibration_version=str(data.get("version", "")),
        inflammation=bool(data.get("inflammation_feedback", False)),
        progression=load_progression(),
        joint_spread_sigma=joint_spread_sigma(),
    )


def load_models() -> Models:
    """The calibrated models (``data/calibration.toml``) with their PK model."""
    return models_from(calibration_data())


def shift_intercepts(model: ResponseModel, u: float) -> ResponseModel:
    """The response model with every endpoint's intercept moved by ``u`` (a trial effect on the logit scale)."""
    return replace(model, intercepts={k: v + u for k, v in model.intercepts.items()})


#: The random stream of new trials' effects: SeedSequence(seed, spawn_key=(this, crc32(study))) — apart
#: from the patients' streams (runner: spawn_key=(r, a)).
TRIAL_EFFECT_STREAM = zlib.crc32(b"between-trial effect")


def trial_effects(study: str | None, n: int, er_index: np.ndarray, seed: int) -> np.ndarray:
    """The trial effect u (logit scale) of each of ``n`` replicates of a trial of ``study``.

    - a trial whose ACR20 figures the calibration fitted: its own posterior draw paired with the replicate's
      exposure-response draw (calibration.toml [posterior] study_effect_draws);
    - a trial whose level a parameter fitted on it alone absorbs ([exposure_response.between_trial]
      level_absorbed, e.g. ASPIRE's MTX-start fraction, RRRR's remission intercepts): 0;
    - any other trial (a new trial for the model): u ~ Normal(0, sd^2), sd = between_trial_sd_logit.
    ``study`` None (no trial: a patient-level question) or no between-trial SD stored: zeros.
    """
    data = calibration_data()
    het = data.get("exposure_response", {}).get("between_trial", {})
    sd = float(het.get("sd_logit", 0.0))
    if study is None or sd <= 0 or study in het.get("level_absorbed", {}):
        return np.zeros(n)
    own = data.get("posterior", {}).get("study_effect_draws", {}).get(study)
    if own is not None:
        return np.asarray(np.asarray(own, float)[er_index], dtype=float)
    rng = np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(TRIAL_EFFECT_STREAM, zlib.crc32(study.encode())))
    )
    return sd * rng.standard_normal(n)


def point_trial_effect(study: str | None) -> float:
    """The trial effect at the point estimate: a fitted trial's posterior mean at the ML parameters
    (calibration.toml [exposure_response.between_trial] study_effects_at_ml); 0 for any other trial (the mean
    of a new trial's effect) and for ``study`` None."""
    het = calibration_data().get("exposure_response", {}).get("between_trial", {})
    return float(het.get("study_effects_at_ml", {}).get(study, 0.0)) if study is not None else 0.0


def posterior_variants(models: Models, n: int, study: str | None = None, seed: int = 0) -> list[Models]:
    """``n`` draws of the ADA and exposure-response parameters (calibration.toml [posterior]),
    evenly spaced; the PK model is left as given. Without stored draws: ``[models] * n``.

    With ``study`` (the trial's evidence key), each draw also carries the trial's effect on every intercept
    (``trial_effects``: between-trial heterogeneity, so the interval is that of a trial of the published
    size drawn from the population of trials; ``seed`` the replication's seed).

    Every endpoint's intercept moves with the drawn ACR20 intercept (Assumption: the thresholds' spacing
    on the latent scale, e.g. ACR50 below ACR20, stays at its ML value; the other intercepts are fitted
    conditional on the drug effect and have no draws of their own), so the endpoints stay ordered in every
    draw (a draw's ACR20 intercept below the ML ACR50 intercept would make ACR50 commoner than ACR20)."""
    post = calibration_data().get("posterior")
    if not post or not post.get("ada_draws") or not post.get("er_draws"):
        return [models] * n
    ada, er = np.array(post["ada_draws"], float), np.array(post["er_draws"], float)
    r = models.response
    out = []
    er_index = np.linspace(0, len(er) - 1, n).astype(int)
    effects = trial_effects(study, n, er_index, seed)
    for i, j, u in zip(np.linspace(0, len(ada) - 1, n).astype(int), er_index, effects):
        a = AdaModel(ada[i, 0], ada[i, 1], models.ada.threshold_mg_l, ada[i, 2], ada[i, 3])
        shift = float(er[j, 0]) - r.intercepts["acr20"] + float(u)
        e = ResponseModel(
            float(er[j, 3]),
            float(er[j, 1]),
            float(er[j, 2]),
            r.hill,
            {k: v + shift for k, v in r.intercepts.items()},
            r.mtx_start_fraction,
        )
        out.append(replace(models, ada=a, response=e))
    return out
