import numpy as np
import pytest

from recbole_srt.scaling.laws import (PAPER_NT, PAPER_SIGMOID, bootstrap, compute_optimal, envelope,
                                      extrapolation_check, fit_nt, fit_sigmoid, not_identified, nt_law,
                                      sigmoid_law)


def test_paper_equations_give_the_reported_limits():
    assert PAPER_SIGMOID["a"] - PAPER_SIGMOID["d"] == pytest.approx(0.149)
    assert sigmoid_law(200.0, **PAPER_SIGMOID) == pytest.approx(0.149, abs=1e-9)
    assert nt_law(1e30, 1e30, **PAPER_NT) == pytest.approx(0.163, abs=1e-9)


def test_sigmoid_fit_recovers_parameters():
    rng = np.random.default_rng(0)
    log_flops = np.linspace(18, 36, 80)
    values = sigmoid_law(log_flops, **PAPER_SIGMOID) + rng.normal(0, 0.0005, log_flops.size)
    fit = fit_sigmoid(log_flops, values)
    for key, true in PAPER_SIGMOID.items():
        assert fit[key] == pytest.approx(true, rel=0.05), key
    assert fit["limit"] == pytest.approx(0.149, rel=0.05)
    robust = fit_sigmoid(log_flops, np.where(np.arange(80) % 20 == 0, values + 0.05, values), robust=True)
    assert robust["limit"] == pytest.approx(0.149, rel=0.05)  # a few outliers do not move the robust fit


def test_nt_fit_recovers_parameters():
    rng = np.random.default_rng(1)
    n, t = np.meshgrid(np.logspace(4, 8, 9), np.logspace(5, 9, 9))
    values = nt_law(n, t, **PAPER_NT) + rng.normal(0, 0.0002, n.shape)
    fit = fit_nt(n.ravel(), t.ravel(), values.ravel())
    for key, true in PAPER_NT.items():
        assert fit[key] == pytest.approx(true, rel=0.05), key
    intervals = bootstrap(fit_nt, (n.ravel(), t.ravel(), values.ravel()), n_boot=20)
    assert intervals["E"][0] <= PAPER_NT["E"] <= intervals["E"][1]


def test_envelope_extrapolation_and_compute_optimum():
    flops = np.array([1, 2, 3, 4, 5.0])
    assert envelope(flops, np.array([0.1, 0.05, 0.2, 0.15, 0.3])).tolist() == [0, 2, 4]
    n, t = np.meshgrid(np.logspace(4, 8, 6), np.logspace(5, 9, 6))
    n, t = n.ravel(), t.ravel()
    values = nt_law(n, t, **PAPER_NT)
    check = extrapolation_check(lambda a, b, y: fit_nt(a, b, y),
                                lambda p, a, b: nt_law(a, b, *(p[k] for k in ("E", "A", "alpha", "B", "beta"))),
                                (n, t, values), order_by=6 * n * t, holdout=4)
    assert check["held_out"] == 4 and check["mean_rel_error"] < 0.01
    small, large = (compute_optimal(PAPER_NT, 6.0, c) for c in (1e15, 1e18))
    assert large["N"] > small["N"] and large["T"] > small["T"] and large["value"] > small["value"]
    assert small["N"] * small["T"] * 6.0 == pytest.approx(1e15)


def test_nt_limit_stays_in_the_metrics_range_and_loose_parameters_are_named():
    # Points still rising steeply at the largest N and T: unconstrained, E runs past any NDCG.
    rng = np.random.default_rng(2)
    n, t = np.meshgrid(np.logspace(4, 5, 4), np.logspace(5, 6, 4))
    n, t = n.ravel(), t.ravel()
    values = 2.5 - 30 / n ** 0.2 - 20 / t ** 0.2 + rng.normal(0, 0.002, n.size)
    assert fit_nt(n, t, values, e_max=np.inf)["E"] > 1
    assert fit_nt(n, t, values)["E"] <= 1.0
    loose = not_identified({"E": [0.1, 0.9], "A": [0.5, 40.0], "alpha": [-0.1, 0.3], "rmse": [0.0, 1.0]})
    assert set(loose) == {"A", "alpha"} and "factor of 80" in loose["A"] and "reaches 0" in loose["alpha"]
