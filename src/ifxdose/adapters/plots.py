"""Static plots (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_profile(
    time_days: np.ndarray,
    concentration_mg_l: np.ndarray,
    path: str | Path,
    title: str,
    dose_days: list[float] | None = None,
    target_band_mg_l: tuple[float, float | None] | None = None,
    observed: list[tuple[float, float, bool]] | None = None,
    band: tuple[np.ndarray, np.ndarray] | None = None,
) -> Path:
    """Concentration-time plot (log y) with infusion markers, optional target band,
    prediction-interval band and observed levels ((day, mg/L, below_lloq))."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=120)
    weeks = np.asarray(time_days) / 7.0
    c = np.where(np.asarray(concentration_mg_l) > 0, concentration_mg_l, np.nan)
    if band is not None:
        ax.fill_between(
            weeks,
            np.maximum(band[0], 1e-3),
            np.maximum(band[1], 1e-3),
            color="tab:blue",
            alpha=0.18,
            label="80% prediction interval",
        )
    ax.plot(weeks, c, color="tab:blue", lw=1.6, label="predicted concentration")
    if target_band_mg_l is not None:
        low, high = target_band_mg_l
        if high is None:
            ax.axhline(low, color="tab:green", lw=1.2, ls="--", label=f"target >= {low:g} mg/L")
        else:
            ax.axhspan(low, high, color="tab:green", alpha=0.12, label=f"target {low:g}-{high:g} mg/L")
    for d in dose_days or []:
        ax.axvline(d / 7.0, color="grey", lw=0.6, ls=":")
    if observed:
        for day, value, blq in observed:
            ax.plot(day / 7.0, value, marker="v" if blq else "o", color="tab:red", ms=6, ls="none")
        ax.plot([], [], marker="o", color="tab:red", ls="none", label="measured level (v: below LLOQ)")
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.01)
    ax.set_xlabel("weeks since first infusion")
    ax.set_ylabel("infliximab (mg/L = µg/mL)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
