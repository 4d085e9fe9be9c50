"""Post-fit diagnostics (corrnet.diagnostics)."""

import numpy as np


def test_saturated_units_by_activation():
    """diagnostics._saturated: per unit (k,), a unit counts when >= 99 % of its rows sit at a bound."""
    from corrnet.diagnostics import _saturated

    n = 100
    tanh = np.zeros((n, 3))
    tanh[:99, 0] = 0.995  # 99 of 100 rows beyond 0.99: saturated (the bound is inclusive)
    tanh[:98, 1] = -0.995  # 98 of 100: not
    tanh[:, 2] = 0.98  # close to the bound, never beyond it
    np.testing.assert_array_equal(_saturated(tanh, "tanh"), [True, False, False])
    relu = np.zeros((n, 3))
    relu[:, 1] = -1.0
    relu[5, 2] = 0.1  # one active row is enough to be alive
    np.testing.assert_array_equal(_saturated(relu, "relu"), [True, True, False])
    sig = np.full((n, 2), 0.5)
    sig[:99, 0] = 0.001
    np.testing.assert_array_equal(_saturated(sig, "sigmoid"), [True, False])
    np.testing.assert_array_equal(_saturated(sig, "linear"), [False, False])
    assert all(_saturated(sig, a).dtype == bool for a in ("sigmoid", "tanh", "relu", "linear"))
