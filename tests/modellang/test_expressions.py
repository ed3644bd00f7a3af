"""The expression language: what it computes, and that it cannot run arbitrary Python."""

import numpy as np
import pytest

from ifxdose.core.errors import InputError
from ifxdose.core.pk.expressions import compile_block, compile_expression


def test_block_evaluates_in_order_with_numpy_broadcasting():
    b = compile_block(
        "A = X*2 + 1\nB = where(A > 3, log(A), -A); C = A^2 if X < 2 else max(A, 10)\nD = expit(logit(0.3))", {"X"}
    )
    out = b.run({"X": np.array([1.0, 2.0, 3.0])})
    np.testing.assert_allclose(out["A"], [3, 5, 7])
    np.testing.assert_allclose(out["B"], [-3, np.log(5), np.log(7)])
    np.testing.assert_allclose(out["C"], [9, 10, 10])
    np.testing.assert_allclose(out["D"], 0.3)
    np.testing.assert_allclose(
        compile_block("Y = 1 < X <= 2", {"X"}).run({"X": np.array([1.0, 1.5, 2.0, 3.0])})["Y"], [0, 1, 1, 0]
    )
    out = compile_block("Y = (X > 1) & (X < 3) | ~(X != 4)", {"X"}).run({"X": np.array([1.0, 2.0, 3.0, 4.0])})
    np.testing.assert_allclose(out["Y"], [0, 1, 0, 1])


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "X.__class__",
        "[X for X in Y]",
        "lambda: 1",
        "open('f')",
        "X[0]",
        "exp(X, out=X)",
        "'text'",
        "_hidden + 1",
        "True",
        "X if Y",
        "(X := 2)",
    ],
)
def test_anything_outside_the_whitelist_is_refused(text):
    with pytest.raises(InputError):
        compile_expression(text, {"X", "Y", "_hidden"})


def test_unknown_names_and_bad_statements_are_named():
    with pytest.raises(InputError, match="unknown name 'WGT'"):
        compile_block("CL = 1*WGT", {"WT"})
    with pytest.raises(InputError, match="line 2: expected 'NAME = expression'"):
        compile_block("CL = 1\nCL == 2", set())
    with pytest.raises(InputError, match="reserved"):
        compile_block("exp = 2", set())
