"""A patient's own PK from the history: the clinic-to-core boundary for estimation.

``estimate(history)`` builds the core :class:`~ifxdose.core.estimation.Problem` from the
canonical history (doses, covariates over time, levels with their LLOQ, ADA results),
runs MAP with checks, the Laplace approximation and SIR, and reports individual
parameters, predictions at the samples and the posterior sample.

The history becomes the core's inputs in :mod:`ifxdose.domain.timeline` (covariates with
their assumptions, doses, levels, the :class:`Problem`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer, model_validator

from ifxdose.core.errors import InputError
from ifxdose.core.estimation import (
    EstimationError,
    EtaSample,
    MapResult,
    Observations,
    Problem,
    estimate_map,
    laplace,
    prior_sample,
    sir,
)
from ifxdose.core.pk.model import UNITS, PKModel
from ifxdose.domain.modelfiles import default_model_name, load_library_model
from ifxdose.domain.patient import PatientHistory
from ifxdose.domain.timeline import build_problem, history_observations

_PAUSE = threading.local()


@contextmanager
def pausing_between_stages(pause: Callable[[], object]) -> Iterator[None]:
    """Within this block, in this thread, :func:`estimate` and
    :func:`ifxdose.domain.recommend.predict_profile` call ``pause()`` between their stages (after
    the MAP, after the Laplace approximation, after SIR) and inside SIR between batches of
    :data:`SIR_PAUSE_BATCH` proposals: a background job computing beside
    requests (the clinic's start job) can let a request run alone there instead of sharing the
    interpreter with it for the whole computation. What is computed does not change."""
    before = getattr(_PAUSE, "fn", None)
    _PAUSE.fn = pause
    try:
        yield
    finally:
        _PAUSE.fn = before


#: Assumption (tuning constant, not a correctness limit): inside :func:`pausing_between_stages`, SIR computes its
#: proposals' objective this many draws at a time and pauses between them (5 pause points for
#: 5,000 proposals, ~15 ms of computation each instead of one ~70 ms stage); the sample is the same.
SIR_PAUSE_BATCH = 1000


def _sir_pauses() -> dict[str, Any]:
    """The pause points inside SIR when :func:`pausing_between_stages` is on (none otherwise)."""
    if getattr(_PAUSE, "fn", None) is None:
        return {}
    return {"batch_size": SIR_PAUSE_BATCH, "between_batches": between_stages}


def between_stages() -> None:
    """The pause point of :func:`pausing_between_stages` (nothing outside such a block)."""
    pause = getattr(_PAUSE, "fn", None)
    if pause is not None:
        pause()


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())


class ParameterValue(_Frozen):
    """An individual parameter's value at the last covariate segment, with its unit."""

    value: float
    unit: str


class MapStart(_Frozen):
    """One start of the MAP search: where it began, where it ended, the OFV (None: not finite)."""

    start: tuple[float, ...]
    eta: tuple[float, ...]
    ofv: float | None
    gradient_norm: float | None
    message: str


class MapObjective(_Frozen):
    """The MAP fit: objective (-2 log posterior, up to a constant), its value at the prior mode
    (eta = 0), the gradient norm at the optimum, objective evaluations, the starts."""

    ofv: float
    ofv_prior_mode: float
    gradient_norm: float
    evaluations: int
    converged: bool = True
    starts: tuple[MapStart, ...] = ()


class PosteriorSummary(_Frozen):
    """The posterior sample: its kind ("prior" without levels, "sir": sampling-importance
    resampling from the Laplace approximation), its size and the SIR diagnostics (None for a
    prior sample; ``adapted_rounds`` is None in payloads stored before adaptive SIR existed)."""

    kind: Literal["prior", "laplace", "sir"]
    n: int
    proposals: int | None = None
    effective_sample_size: float | None = None
    max_weight: float | None = None
    fd_step: float | None = None
    adapted_rounds: int | None = None

    @model_serializer(mode="wrap")
    def _without_none(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Diagnostics a sample does not have are left out (the JSON of older versions)."""
        return {k: v for k, v in handler(self).items() if v is not None}


class LevelFit(_Frozen):
    """One measured level and the individual prediction at its time (day since the first infusion)."""

    day: float
    observed_mg_l: float | None
    below_lloq: bool
    lloq_mg_l: float | None
    ipred_mg_l: float


class EstimateSummary(_Frozen):
    """What a recommendation keeps of the estimate: the typed, frozen value the store, the JSON
    API, the page and the CLI read (the JSON of :meth:`Estimate.to_dict`, unchanged field names).

    Etas are in the order of ``eta_parameters``; their posterior SD is from the Laplace
    covariance, the prior SD from the model's omega; individual parameters with their units."""

    model: str
    model_version: str
    eta_parameters: tuple[str, ...]
    eta_map: tuple[float, ...]
    eta_sd_posterior: tuple[float, ...]
    eta_sd_prior: tuple[float, ...]
    individual_parameters: dict[str, ParameterValue]
    objective: MapObjective
    posterior: PosteriorSummary
    samples: tuple[LevelFit, ...] = ()
    warnings: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_per_eta(self) -> EstimateSummary:
        k = len(self.eta_parameters)
        for name in ("eta_map", "eta_sd_posterior", "eta_sd_prior"):
            if len(getattr(self, name)) != k:
                raise ValueError(f"{name} needs one value per eta parameter ({k})")
        return self

    @property
    def method(self) -> str:
        """How the posterior was obtained (derived from ``posterior.kind``, not stored): MAP with
        Beal M3 for levels below the LLOQ, the Laplace approximation, then sampling-importance
        resampling; without levels, the population prior."""
        if self.posterior.kind == "sir":
            return "MAP (Beal M3) + Laplace + SIR"
        if self.posterior.kind == "prior":
            return "population prior (no levels)"
        return "MAP (Beal M3) + Laplace"

    @property
    def ess(self) -> float | None:
        """The effective sample size of the SIR weights (None for a prior sample)."""
        return self.posterior.effective_sample_size

    def parameter_interval(self, name: str, level: float = 0.8) -> tuple[float, float] | None:
        """The central ``level`` interval (default 80%: 10th to 90th percentile, like the options'
        predicted troughs) of the individual parameter ``name``; None for a parameter without a
        random effect (its value is the typical value for the covariates, no spread).

        Library models are ``typical(covariates) * exp(eta)`` (``PKModel.individual_parameters``),
        so under the Laplace approximation, eta ~ N(eta_map, sd_posterior^2), the parameter is
        log-normal around its MAP value: value * exp(+-z * sd_posterior), z the normal quantile.
        Assumption: the interval is the Laplace approximation's, not the SIR sample's quantiles
        (the summary keeps no sample); SIR corrects the Laplace shape when the posterior is skewed."""
        if not 0.0 < level < 1.0:
            raise InputError("level", level, "a probability in (0, 1), e.g. 0.8 for the 10th-90th percentile")
        if name not in self.individual_parameters:
            raise InputError("name", name, f"one of {', '.join(self.individual_parameters)}")
        if name not in self.eta_parameters:
            return None
        z = NormalDist().inv_cdf(0.5 + level / 2.0)
        sd = self.eta_sd_posterior[self.eta_parameters.index(name)]
        value = self.individual_parameters[name].value
        return value * float(np.exp(-z * sd)), value * float(np.exp(z * sd))


@dataclass(frozen=True)
class Estimate:
    """A patient's posterior: MAP, individual parameters, predictions, posterior sample."""

    model: PKModel
    map: MapResult
    posterior: EtaSample
    covariance: np.ndarray
    observations: Observations
    ipred_mg_l: np.ndarray
    parameters: dict[str, float]
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> EstimateSummary:
        """The typed summary a recommendation carries."""
        return EstimateSummary.model_validate(self._summary_data())

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON data (``ifxdose estimate --json``)."""
        return self.summary().model_dump(mode="json")

    def _summary_data(self) -> dict[str, Any]:
        obs = self.observations
        return {
            "model": self.model.name,
            "model_version": self.model.version,
            "eta_parameters": list(self.model.eta_parameters),
            "eta_map": self.map.eta.tolist(),
            "eta_sd_posterior": np.sqrt(np.diag(self.covariance)).tolist(),
            "eta_sd_prior": np.sqrt(np.diag(self.model.omega)).tolist(),
            "individual_parameters": {
                k: {"value": v, "unit": UNITS.get(k, self.model.parameters[k].unit)} for k, v in self.parameters.items()
            },
            "objective": {
                "ofv": self.map.ofv,
                "ofv_prior_mode": self.map.ofv_prior_mode,
                "gradient_norm": self.map.gradient_norm,
                "evaluations": self.map.n_evaluations,
                "converged": True,
                "starts": self.map.starts,
            },
            "posterior": {
                "kind": self.posterior.kind,
                "n": int(self.posterior.eta.shape[0]),
                **self.posterior.diagnostics,
            },
            "samples": [
                {
                    "day": float(t),
                    "observed_mg_l": None if np.isnan(y) else float(y),
                    "below_lloq": bool(np.isnan(y)),
                    "lloq_mg_l": None if np.isnan(q) else float(q),
                    "ipred_mg_l": float(f),
                }
                for t, y, q, f in zip(obs.time_days, obs.value_mg_l, obs.lloq_mg_l, self.ipred_mg_l)
            ],
            "warnings": self.warnings,
        }


def estimate(
    history: PatientHistory,
    model: str | PKModel | None = None,
    n_samples: int = 1000,
    seed: int = 0,
    *,
    problem: Problem | None = None,
) -> Estimate:
    """MAP + Laplace + SIR for one patient; raises InputError on an unusable history.
    ``problem``: ``build_problem(history, model)`` when the caller built it already (the plot)."""
    m = load_library_model(model or default_model_name()) if not isinstance(model, PKModel) else model
    if not history.infusions:
        raise InputError("infusions", [], "at least one infusion is needed to estimate PK")
    problem = problem if problem is not None else build_problem(history, m)
    obs = history_observations(history)
    retry_warnings: list[str] = []
    try:
        fit = estimate_map(problem, obs)
        between_stages()
        cov = laplace(problem, obs, fit.eta)
        between_stages()
        if not obs.n:
            post = prior_sample(problem, n_samples, seed)
        else:
            try:
                post = sir(problem, obs, fit.eta, cov, n=n_samples, seed=seed, **_sir_pauses())
            except EstimationError:
                # A posterior far in the tail of the prior (e.g. an undetectable level) can leave too few
                # effective importance weights; four times more proposals is the same method, larger.
                # If that too is degenerate, the proposal adapts to the weighted draws (adaptive IS).
                post = sir(
                    problem,
                    obs,
                    fit.eta,
                    cov,
                    n=n_samples,
                    seed=seed,
                    proposals_per_sample=20,
                    adapt_rounds=3,
                    **_sir_pauses(),
                )
                adapted = int(post.diagnostics.get("adapted_rounds", 0))
                retry_warnings.append(
                    "the posterior sample needed 20 proposals per draw (importance weights "
                    "were degenerate with 5)"
                    + (f" and {adapted} adapted proposal(s)" if adapted else "")
                    + ": the levels are far from the population's"
                )
    except EstimationError as exc:
        raise InputError("levels", f"{obs.n} level(s)", f"estimation failed: {exc}") from None
    between_stages()
    ipred = problem.predict(fit.eta[None, :], obs.time_days)[0] if obs.n else np.array([])
    warnings = list(fit.warnings) + retry_warnings + ada_assay_warnings(history)
    params = {k: float(v[0, -1]) for k, v in problem.parameters(fit.eta[None, :]).items()}
    return Estimate(m, fit, post, cov, obs, ipred, params, warnings)


#: Above this level a drug-sensitive ADA assay can miss antibodies (drug interference).
#: Assumption: 1 mg/L, the order of the drug tolerance of bridging ELISAs; configurable.
DRUG_INTERFERENCE_MG_L = 1.0


def ada_assay_warnings(history: PatientHistory) -> list[str]:
    """A negative ADA result from a drug-sensitive assay, with drug present, may be false."""
    out = []
    for a in history.ada:
        if a.result != "negative" or a.drug_tolerant is not False:
            continue
        same_day = [
            lv.value_mg_l
            for lv in history.levels
            if abs(history.day_of(lv.date) - history.day_of(a.date)) < 1.0 and lv.value_mg_l is not None
        ]
        if any(v >= DRUG_INTERFERENCE_MG_L for v in same_day):
            out.append(
                f"ADA negative on {a.date} by a drug-sensitive assay with infliximab >= "
                f"{DRUG_INTERFERENCE_MG_L:g} mg/L present: the result may be a false negative"
            )
    return out
