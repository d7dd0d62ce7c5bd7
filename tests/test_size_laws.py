"""Zhang et al.'s size law and Shen et al.'s Performance Law: fits recover what generated the data."""

import numpy as np
import pytest

from recbole_srt.scaling import loss_law, performance_law


def test_size_law_recovers_a_loss_law_and_predicts_the_largest_models():
    n = np.geomspace(1e4, 1e6, 7)
    truth = loss_law.size_law(n, 5.2, 3e3, 0.35)
    noisy = truth * (1 + 0.001 * np.random.default_rng(0).standard_normal(len(n)))
    fit = loss_law.fit_size_law(n, noisy, sign=1.0)
    assert fit["limit"] == pytest.approx(5.2, abs=0.15) and fit["alpha"] == pytest.approx(0.35, abs=0.1)
    check = loss_law.extrapolate(np.repeat(n, 2), np.repeat(noisy, 2), sign=1.0, holdout=2)
    assert check["held_out_sizes"] == n[-2:].tolist() and check["max_rel_error"] < 0.01
    assert check["naive_max_rel_error"] > 3 * check["max_rel_error"]  # the law beats "no further gain"


def test_size_law_for_a_rising_metric_and_its_limits():
    n = np.geomspace(1e4, 1e6, 6)
    values = loss_law.size_law(n, 0.2, 5e3, 0.5, sign=-1.0)
    fit = loss_law.fit_size_law(n, values, sign=loss_law.sign_of("ndcg@10"))
    assert fit["limit"] == pytest.approx(0.2, rel=1e-3) and fit["N0"] == pytest.approx(5e3, rel=1e-2)
    with pytest.raises(ValueError, match="3 distinct model sizes"):
        loss_law.fit_size_law([1e4, 1e4, 2e4], [1, 2, 3])
    with pytest.raises(ValueError, match="leaves 2"):
        loss_law.extrapolate(n[:4], values[:4], holdout=2)


def test_performance_law_fits_its_own_form_and_predicts_held_out_sizes():
    layers = np.repeat([1, 1, 2, 2, 4, 4], 3).astype(float)
    hidden = np.repeat([16, 32, 32, 64, 64, 128], 3).astype(float)
    data = np.tile([2e4, 5e4, 1e5], 6)
    truth = {"c": 0.5, "w1": 0.02, "a": 0.3, "w2": 0.03, "b": 0.2, "lambda": 1e-4, "e": 0.4}
    y = performance_law.performance_law(layers, hidden, data, truth)
    fit = performance_law.fit_performance_law(layers, hidden, data, y)
    assert fit["terms"] == ["layers", "hidden", "data"] and fit["r2"] > 0.999
    n = layers * hidden ** 2
    check = performance_law.holdout_check(layers, hidden, data, y, n, holdout=1)
    assert len(check["points"]) == 3 and check["max_rel_error"] < 0.02
    # A variable that never varies has no term: one dataset fits without the data term.
    one = data == 1e5
    assert performance_law.fit_performance_law(layers[one], hidden[one], data[one], y[one])["terms"] == \
        ["layers", "hidden"]
