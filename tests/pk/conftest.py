import numpy as np
import pytest


def rel_close(a, b, rtol=1e-6, floor_mg_l=1e-6):
    """Relative agreement with an absolute floor for values near zero (before the first dose)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.all(np.abs(a - b) <= rtol * np.maximum(np.abs(b), floor_mg_l))


@pytest.fixture
def rng():
    return np.random.default_rng(20261125)
