"""Zhang et al.'s size law: test loss as a power law of model size, and the same form for ranking metrics.

"Scaling Law of Large Sequential Recommendation Models" (Zhang, Hou, Liu, Zhao, Wen; RecSys 2024)
fits the test cross-entropy of ID-based decoder-only transformers as

    L(N) = L_inf + (N0 / N) ** alpha

on the smaller models and checks that it predicts the largest ones. A ranking metric rises instead
of falling, so it gets the mirrored form ``V(N) = V_inf - (N0 / N) ** alpha``; comparing the two
extrapolations shows where loss and ranking metrics disagree.
"""

import numpy as np
from scipy.optimize import least_squares

LOWER_IS_BETTER = ("cross_entropy",)


def size_law(n, limit, n0, alpha, sign=1.0):
    """``limit + sign * (n0 / N) ** alpha``: sign +1 for a loss, -1 for a metric that grows with N."""
    return limit + sign * (n0 / np.asarray(n, dtype=float)) ** alpha


def sign_of(metric):
    return 1.0 if metric in LOWER_IS_BETTER else -1.0


def fit_size_law(n, values, sign=1.0):
    """(limit, N0, alpha) by least squares in (limit, ln N0, alpha), alpha in [0.01, 3] and ln N0 within
    30 of the sizes' logs, from a grid of starts; needs at least 3 distinct sizes."""
    n, y = np.asarray(n, dtype=float), np.asarray(values, dtype=float)
    if len(np.unique(n)) < 3:
        raise ValueError(f"the size law has 3 parameters: it needs 3 distinct model sizes, got {len(np.unique(n))}")
    log_n = np.log(n)

    def residual(p):
        return p[0] + sign * np.exp(p[2] * (p[1] - log_n)) - y

    def jacobian(p):
        term = np.exp(p[2] * (p[1] - log_n))
        return np.stack([np.ones_like(y), sign * term * p[2], sign * term * (p[1] - log_n)], axis=1)

    span = max(float(np.ptp(y)), 1e-6)
    # Bounded so that values that do not improve with N (noise, overfitting) give a flat law, not an
    # exponent of 0 with an infinite N0.
    log_n0_range = (float(log_n.min()) - 30.0, float(log_n.max()) + 30.0)
    best = None
    for alpha in (0.1, 0.3, 0.7, 1.5):
        for offset in (0.5, 2.0, 8.0):  # limit beyond the best observed value by offset x the spread
            limit = (y.min() - offset * span) if sign > 0 else (y.max() + offset * span)
            # ln N0 such that the term equals the gap at the smallest model
            gap = max(abs(y[np.argmin(n)] - limit), 1e-9)
            start = (limit, log_n.min() + np.log(gap) / alpha, alpha)
            start = (start[0], float(np.clip(start[1], *log_n0_range)), start[2])
            result = least_squares(residual, start, jac=jacobian, bounds=([-np.inf, log_n0_range[0], 0.01],
                                                                          [np.inf, log_n0_range[1], 3.0]),
                                   x_scale="jac", max_nfev=2000)
            if np.isfinite(result.cost) and (best is None or result.cost < best.cost):
                best = result
    limit, log_n0, alpha = best.x
    return {"limit": float(limit), "N0": float(np.exp(log_n0)), "alpha": float(alpha),
            "rmse": float(np.sqrt(np.mean(best.fun ** 2)))}


def extrapolate(n, values, sign=1.0, holdout=2):
    """Fit on every run but those of the ``holdout`` largest distinct sizes, predict those sizes' mean
    (over seeds) and report the relative errors: Zhang et al.'s check of their law."""
    n, y = np.asarray(n, dtype=float), np.asarray(values, dtype=float)
    sizes = np.unique(n)
    if holdout < 1:
        raise ValueError(f"holdout must hold out at least 1 size, got {holdout}")
    if len(sizes) - holdout < 3:
        raise ValueError(f"holding out {holdout} sizes leaves {len(sizes) - holdout}; the fit needs 3")
    held = sizes[-holdout:]
    train = ~np.isin(n, held)
    params = fit_size_law(n[train], y[train], sign)
    observed = np.array([y[n == s].mean() for s in held])
    predicted = size_law(held, params["limit"], params["N0"], params["alpha"], sign)
    rel = np.abs(predicted - observed) / np.maximum(np.abs(observed), 1e-12)
    # The no-scaling forecast: the largest fitted size's mean. A loss of ~6 nats that moves by 0.2
    # across all sizes makes any forecast "within 3 %"; the law earns its keep only if it beats this.
    flat = y[n == sizes[-holdout - 1]].mean()
    naive = np.abs(flat - observed) / np.maximum(np.abs(observed), 1e-12)
    return {"fitted_on_sizes": sizes[:-holdout].tolist(), "held_out_sizes": held.tolist(), "params": params,
            "predicted": predicted.tolist(), "observed": observed.tolist(), "rel_error": rel.tolist(),
            "max_rel_error": float(rel.max()), "naive_prediction": float(flat), "naive_max_rel_error": float(naive.max())}
