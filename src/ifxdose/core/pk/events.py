"""Dose tables and the per-patient event schedule shared by both engines.

Time is float days. Events at the same time are processed in this order (DESIGN.md):
a covariate change first (the new value holds from its time), then observations (a
sample at a dose time is pre-dose: a trough), then the end of an infusion, then doses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ifxdose.core.errors import InputError

ROUTE_IV = 0  #: into the central compartment, bioavailability 1
ROUTE_SC = 1  #: into the depot compartment, bioavailability F, absorption KA

SWITCH, OBS, INF_END, DOSE, NOOP = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class DoseTable:
    """Doses for P patients, padded to D columns (padding: time NaN, amount 0).

    ``duration_days`` 0 means a bolus (or an SC injection into the depot).
    """

    time_days: np.ndarray
    amount_mg: np.ndarray
    duration_days: np.ndarray
    route: np.ndarray

    @classmethod
    def from_lists(cls, per_patient: list[list[tuple[float, float, float, int]]]) -> "DoseTable":
        """Build from one list of (time_days, amount_mg, duration_days, route) per patient."""
        width = max((len(x) for x in per_patient), default=0)
        shape = (len(per_patient), width)
        t = np.full(shape, np.nan)
        a = np.zeros(shape)
        d = np.zeros(shape)
        r = np.zeros(shape, dtype=np.int8)
        for i, doses in enumerate(per_patient):
            for j, (ti, ai, di, ri) in enumerate(doses):
                t[i, j], a[i, j], d[i, j], r[i, j] = ti, ai, di, ri
        return cls(t, a, d, r).checked()

    @classmethod
    def same_for_all(
        cls,
        n_patients: int,
        time_days: npt.ArrayLike,
        amount_mg: npt.ArrayLike,
        duration_days: npt.ArrayLike,
        route: npt.ArrayLike,
    ) -> "DoseTable":
        """The same schedule for every patient; amounts may differ per patient ((P, D) or (D,))."""
        t = np.broadcast_to(np.asarray(time_days, float), (n_patients, np.atleast_1d(time_days).size))
        shape = t.shape
        return cls(
            t.copy(),
            np.broadcast_to(np.asarray(amount_mg, float), shape).copy(),
            np.broadcast_to(np.asarray(duration_days, float), shape).copy(),
            np.broadcast_to(np.asarray(route, np.int8), shape).copy(),
        ).checked(shared_schedule=True)

    @property
    def n_patients(self) -> int:
        return int(self.time_days.shape[0])

    def checked(self, shared_schedule: bool = False) -> "DoseTable":
        """Validate amounts, durations and overlap; return self. ``shared_schedule``: every row
        has the same times, durations and routes (only amounts differ), so the duration and
        overlap checks run on the first row only (once, not once per patient)."""
        present = ~np.isnan(self.time_days)
        if np.any(self.amount_mg[present] < 0) or not np.all(np.isfinite(self.amount_mg[present])):
            bad = self.amount_mg[present][~(self.amount_mg[present] >= 0)]
            raise InputError("dose_mg", float(bad[0]), "allowed range is [0, inf) mg")
        if shared_schedule and self.n_patients > 1:
            one = DoseTable(self.time_days[:1], self.amount_mg[:1], self.duration_days[:1], self.route[:1])
            one.checked()
            return self
        if np.any(self.duration_days[present] < 0):
            raise InputError(
                "duration_days", float(self.duration_days[present].min()), "allowed range is [0, inf) days"
            )
        for route in (ROUTE_IV, ROUTE_SC):
            sel = present & (self.route == route) & (self.duration_days > 0)
            start = np.where(sel, self.time_days, np.inf)
            order = np.argsort(start, axis=1, kind="stable")
            start = np.take_along_axis(start, order, 1)
            end = start + np.take_along_axis(np.where(sel, self.duration_days, 0.0), order, 1)
            overlap = np.isfinite(start[:, 1:]) & (start[:, 1:] < end[:, :-1])
            if np.any(overlap):
                i, k = (int(x[0]) for x in np.nonzero(overlap))
                raise InputError(
                    "doses",
                    f"infusion at day {start[i, k + 1]:g}",
                    f"infusions must not overlap; the previous one (day {start[i, k]:g}) runs until day {end[i, k]:g}",
                )
        return self


def build_schedule(
    doses: DoseTable, segment_start_days: np.ndarray, obs_days: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-patient sorted event arrays (times, kinds, payload), each (P, M).

    ``segment_start_days`` (P, S): segment 0 applies from -inf; later segments start at
    their time (inf = padding). ``obs_days`` (P, T). Padding events are NOOP at +inf.
    """
    P = doses.n_patients
    dose_t = doses.time_days
    infusion = (doses.duration_days > 0) & ~np.isnan(dose_t)
    end_t = np.where(infusion, dose_t + doses.duration_days, np.inf)
    sw_t = segment_start_days[:, 1:]
    D, S1, T = dose_t.shape[1], sw_t.shape[1], obs_days.shape[1]
    times = np.concatenate([sw_t, obs_days, end_t, np.where(np.isnan(dose_t), np.inf, dose_t)], axis=1)
    kinds = np.concatenate(
        [
            np.full((P, S1), SWITCH),
            np.full((P, T), OBS),
            np.where(infusion, INF_END, NOOP),
            np.where(np.isnan(dose_t), NOOP, DOSE),
        ],
        axis=1,
    ).astype(np.int8)
    kinds = np.where(np.isinf(times), NOOP, kinds).astype(np.int8)
    payload = np.concatenate(
        [
            np.broadcast_to(np.arange(1, S1 + 1), (P, S1)),
            np.broadcast_to(np.arange(T), (P, T)),
            np.broadcast_to(np.arange(D), (P, D)),
            np.broadcast_to(np.arange(D), (P, D)),
        ],
        axis=1,
    )
    if (
        P > 1
        and np.array_equal(times, np.broadcast_to(times[0], times.shape))
        and np.array_equal(kinds, np.broadcast_to(kinds[0], kinds.shape))
    ):
        order = np.lexsort((kinds[0], times[0]))  # same schedule for all: sort once
        return times[:, order], kinds[:, order], payload[:, order]
    order = np.lexsort((kinds, times), axis=1) if P else np.zeros_like(kinds, dtype=int)
    return (
        np.take_along_axis(times, order, 1),
        np.take_along_axis(kinds, order, 1),
        np.take_along_axis(payload, order, 1),
    )
