"""Array types shared by the core's annotations (``mypy --strict`` on core and domain)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: A float64 array of any shape (concentrations, days, parameters ...).
FloatArray = npt.NDArray[np.float64]
#: An integer array of any shape (indices, route codes ...).
IntArray = npt.NDArray[np.int64]
#: A boolean array of any shape (masks).
BoolArray = npt.NDArray[np.bool_]
