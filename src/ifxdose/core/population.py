"""Virtual patient populations: independent marginals joined by a Gaussian copula.

Pure numerics: the caller gives each variable's distribution (with its source kept in the
domain's data file) and optional pairwise correlations on the normal-score scale; this
module draws ``n`` patients. Truncation is exact (inverse CDF on the truncated range),
not clipping, so a truncated marginal has no point masses at its limits.

Distributions (``Marginal.dist``):
- ``lognormal``: ``median``, ``cv`` (coefficient of variation of the variable itself);
- ``lognormal_share_above``: ``median`` and ``share_above`` of patients above ``above``
  (the log-SD is solved from them);
- ``normal``: ``mean``, ``sd``;
- ``bernoulli``: ``p`` (0/1 indicator);
- ``constant``: ``value``.
Optional ``low``/``high`` truncate; ``integer = true`` rounds to whole numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from ifxdose.core.errors import InputError

DISTRIBUTIONS = ("lognormal", "lognormal_share_above", "normal", "bernoulli", "constant")


def lognormal_sigma_from_cv(cv: float) -> float:
    """Log-scale SD of a log-normal variable with coefficient of variation ``cv``."""
    return float(np.sqrt(np.log1p(cv**2)))


def lognormal_sigma_from_share(median: float, above: float, share_above: float) -> float:
    """Log-scale SD such that a log-normal with this median has ``share_above`` above ``above``."""
    if not (0 < share_above < 0.5 and above > median > 0):
        raise InputError("share_above", share_above, "needs 0 < share < 0.5 and a threshold above the median")
    return float(np.log(above / median) / stats.norm.ppf(1 - share_above))


@dataclass(frozen=True)
class Marginal:
    """One variable's distribution; ``params`` holds the numbers named in the module docstring."""

    name: str
    dist: str
    params: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.dist not in DISTRIBUTIONS:
            raise InputError(f"{self.name}.dist", self.dist, f"allowed values are {', '.join(DISTRIBUTIONS)}")

    def _normal_scale(self) -> tuple[float, float, bool]:
        """(location, scale, log) of the underlying normal."""
        p = self.params
        if self.dist == "lognormal":
            return float(np.log(p["median"])), lognormal_sigma_from_cv(p["cv"]), True
        if self.dist == "lognormal_share_above":
            return (
                float(np.log(p["median"])),
                lognormal_sigma_from_share(p["median"], p["above"], p["share_above"]),
                True,
            )
        return float(p["mean"]), float(p["sd"]), False

    def from_uniform(self, u: np.ndarray) -> np.ndarray:
        """Inverse-CDF transform of uniforms (0, 1) into this marginal (truncated if asked)."""
        p = self.params
        if self.dist == "constant":
            return np.full(u.shape, float(p["value"]))
        if self.dist == "bernoulli":
            return (u < p["p"]).astype(float)
        loc, scale, log = self._normal_scale()

        def to_z(x: float) -> float:
            return float((np.log(x) - loc) / scale) if log else float((x - loc) / scale)

        lo = stats.norm.cdf(to_z(p["low"])) if "low" in p else 0.0
        hi = stats.norm.cdf(to_z(p["high"])) if "high" in p else 1.0
        z = stats.norm.ppf(lo + u * (hi - lo))
        x = np.exp(loc + scale * z) if log else loc + scale * z
        if p.get("integer"):
            x = np.round(x)
        return np.asarray(x, dtype=float)


def correlation_matrix(names: list[str], pairs: dict[tuple[str, str], float]) -> np.ndarray:
    """Identity with the given pairwise correlations (normal-score scale); checked positive definite."""
    index = {n: i for i, n in enumerate(names)}
    R = np.eye(len(names))
    for (a, b), r in pairs.items():
        if a not in index or b not in index:
            raise InputError("correlation", f"{a}~{b}", f"variables are {', '.join(names)}")
        R[index[a], index[b]] = R[index[b], index[a]] = r
    if np.linalg.eigvalsh(R).min() <= 0:
        raise InputError("correlation", pairs, "the correlation matrix must be positive definite")
    return R


def sample_population(
    n: int,
    rng: np.random.Generator,
    marginals: list[Marginal],
    correlations: dict[tuple[str, str], float] | None = None,
) -> dict[str, np.ndarray]:
    """Draw ``n`` patients: name -> (n,) array. Deterministic for a given generator state."""
    if n <= 0:
        raise InputError("n", n, "allowed range is [1, inf) patients")
    names = [m.name for m in marginals]
    R = correlation_matrix(names, correlations or {})
    z = rng.standard_normal((n, len(names))) @ np.linalg.cholesky(R).T
    u = stats.norm.cdf(z)
    return {m.name: m.from_uniform(u[:, i]) for i, m in enumerate(marginals)}
