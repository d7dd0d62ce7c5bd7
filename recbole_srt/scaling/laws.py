"""Scaling laws of the paper and their fits (scipy.optimize), with bootstrap intervals.

- Eq. 3: envelope NDCG against compute, ``a / (1 + exp(-b (ln FLOPs - c))) - d``; limit ``a - d``.
- Eq. 5: ``E - A / N**alpha - B / T**beta`` with N parameters (the paper's N is the total count) and T seen
  interactions, all coefficients non-negative; E is the limit with unbounded model and data, so it is bounded
  by the metric's own range (NDCG and HIT: at most 1).

A fitted parameter whose bootstrap interval spans more than a factor of 10 is reported as not identified
(:func:`not_identified`): the points do not pin it down, and the law should not be read off it.
"""

import numpy as np
from scipy.optimize import least_squares, minimize_scalar, nnls

PAPER_SIGMOID = {"a": 0.396, "b": 0.18, "c": 24.44, "d": 0.247}
PAPER_NT = {"E": 0.163, "A": 18.56, "alpha": 0.376, "B": 2.9, "beta": 0.364}


def sigmoid_law(log_flops, a, b, c, d):
    return a / (1.0 + np.exp(-b * (np.asarray(log_flops, dtype=float) - c))) - d


def nt_law(n, t, E, A, alpha, B, beta):
    return E - A / np.asarray(n, dtype=float) ** alpha - B / np.asarray(t, dtype=float) ** beta


def envelope(flops, values):
    """Indices of the points no cheaper point beats: the running maximum over increasing FLOPs."""
    order = np.argsort(np.asarray(flops, dtype=float), kind="stable")
    best, keep = -np.inf, []
    for k in order:
        if values[k] > best:
            best = values[k]
            keep.append(int(k))
    return np.array(keep, dtype=int)


def fit_linear(log_flops, values):
    slope, intercept = np.polyfit(log_flops, values, 1)
    return {"slope": float(slope), "intercept": float(intercept)}


def _robust_scale(residuals):
    """Huber's threshold from a first plain fit: 1.4826 x the median absolute residual (the noise
    of the typical point), so that outliers, not the bulk, are down-weighted."""
    return max(1.4826 * float(np.median(np.abs(residuals))), 1e-9)


def _best(problems):
    """The least-squares solution with the lowest cost among several starting points."""
    best = None
    for problem in problems:
        try:
            result = least_squares(**problem)
        except ValueError:
            continue
        # status 0 (evaluation budget spent) still gives a usable point; ill-posed sweeps end there
        if result.status >= 0 and np.isfinite(result.cost) and (best is None or result.cost < best.cost):
            best = result
    if best is None:
        raise RuntimeError("no starting point converged")
    return best


def fit_sigmoid(log_flops, values, robust=False):
    """Eq. 3 by non-linear least squares from a grid of starts; a, b >= 0."""
    x, y = np.asarray(log_flops, dtype=float), np.asarray(values, dtype=float)
    span = max(y.max() - y.min(), 1e-6)  # the scale of a for the starting points

    def residual(p):
        return sigmoid_law(x, *p) - y

    def jacobian(p):
        a, b, c, _ = p
        s = 1.0 / (1.0 + np.exp(-b * (x - c)))
        slope = a * s * (1 - s)
        return np.stack([s, slope * (x - c), -slope * b, -np.ones_like(x)], axis=1)

    starts = [(a, b, c, a - y.max()) for a in (span, 4 * span) for b in (0.2, 1.0)
              for c in np.quantile(x, [0.2, 0.5, 0.8])]
    common = {"fun": residual, "jac": jacobian, "bounds": ([0, 0, -np.inf, -np.inf], np.inf), "max_nfev": 1000}
    result = _best({**common, "x0": s} for s in starts)
    if robust:
        result = _best([{**common, "x0": result.x, "loss": "huber", "f_scale": _robust_scale(result.fun)}])
    a, b, c, d = result.x
    return {"a": a, "b": b, "c": c, "d": d, "limit": a - d, "rmse": _rmse(result.fun)}


def fit_nt(n, t, values, robust=False, e_max=1.0):
    """Eq. 5 with E, A, alpha, B, beta >= 0 and E <= ``e_max`` (the metric's largest value). Starts: for each (alpha, beta) of a grid the law is
    linear in (E, A, B), solved by non-negative least squares; the best few are then refined."""
    n, t, y = (np.asarray(v, dtype=float) for v in (n, t, values))
    grid = []
    for alpha in np.linspace(0.05, 1.5, 15):  # exponents above 3 are not a scaling law; bounded there
        for beta in np.linspace(0.05, 1.5, 15):
            design = np.stack([np.ones_like(y), -n ** -alpha, -t ** -beta], axis=1)
            coef, norm = nnls(design, y)
            grid.append((norm, (min(coef[0], e_max), coef[1], alpha, coef[2], beta)))
    grid.sort(key=lambda item: item[0])

    # A and B are fitted in log space: A / N^alpha = exp(log A - alpha log N) turns the long curved
    # valley between A and alpha into a straight one, and keeps A, B > 0 without bounds.
    log_n, log_t = np.log(n), np.log(t)

    def terms(p):
        return np.exp(p[1] - p[2] * log_n), np.exp(p[3] - p[4] * log_t)

    def residual(p):
        n_term, t_term = terms(p)
        return p[0] - n_term - t_term - y

    def jacobian(p):
        n_term, t_term = terms(p)
        return np.stack([np.ones_like(y), -n_term, n_term * log_n, -t_term, t_term * log_t], axis=1)

    bounds = ([0, -np.inf, 0, -np.inf, 0], [e_max, np.inf, 3, np.inf, 3])  # exponents above 3: not a law
    common = {"fun": residual, "jac": jacobian, "bounds": bounds, "x_scale": "jac", "max_nfev": 500}
    starts = [(E, np.log(max(A, 1e-12)), alpha, np.log(max(B, 1e-12)), beta) for _, (E, A, alpha, B, beta) in grid[:4]]
    result = _best({**common, "x0": start} for start in starts)
    if robust:
        result = _best([{**common, "x0": result.x, "loss": "huber", "f_scale": _robust_scale(result.fun)}])
    E, log_a, alpha, log_b, beta = result.x
    return {"E": E, "A": float(np.exp(log_a)), "alpha": alpha, "B": float(np.exp(log_b)), "beta": beta,
            "rmse": _rmse(result.fun)}


def _rmse(residuals):
    return float(np.sqrt(np.mean(np.square(residuals))))


def bootstrap(fit, arrays, n_boot=200, seed=0, level=0.95):
    """Percentile intervals of every fitted parameter over fits to resampled points."""
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(a) for a in arrays]
    samples = {}
    for _ in range(n_boot):
        pick = rng.integers(0, len(arrays[0]), len(arrays[0]))
        try:
            params = fit(*(a[pick] for a in arrays))
        except (RuntimeError, ValueError):  # a resample the law cannot be fitted to (too few distinct points)
            continue
        for key, value in params.items():
            if isinstance(value, (int, float)) and value is not None and not isinstance(value, bool):
                samples.setdefault(key, []).append(value)
    low, high = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    return {key: [float(np.percentile(v, low)), float(np.percentile(v, high))] for key, v in samples.items()}


def not_identified(intervals, factor=10.0):
    """The parameters whose interval spans more than ``factor`` (or reaches 0 or changes sign): {name: why}."""
    out = {}
    for name, (low, high) in intervals.items():
        if name == "rmse":
            continue
        if low <= 0 < high or (low < 0 and high >= 0):
            out[name] = f"interval [{low:.3g}, {high:.3g}] reaches 0"
        elif low > 0 and high / low > factor:
            out[name] = f"interval [{low:.3g}, {high:.3g}] spans a factor of {high / low:.0f}"
    return out


def compute_optimal(params, flops_per_param_interaction, budget):
    """N and T maximising Eq. 5 under ``FLOPs = k N T`` (k measured from the runs) for a budget."""
    def negative(log_n):
        n = np.exp(log_n)
        return -nt_law(n, budget / (flops_per_param_interaction * n), params["E"], params["A"], params["alpha"],
                       params["B"], params["beta"])

    best = minimize_scalar(negative, bounds=(np.log(1e2), np.log(budget / flops_per_param_interaction)),
                           method="bounded")
    n = float(np.exp(best.x))
    return {"flops": budget, "N": n, "T": budget / (flops_per_param_interaction * n), "value": float(-best.fun)}


def extrapolation_check(fit, predict, arrays, order_by, holdout):
    """Fit on all but the ``holdout`` largest points of ``order_by`` and report the error on those
    (the test Zhang et al. apply to their law: do small runs predict the large ones?)."""
    arrays = [np.asarray(a) for a in arrays]
    order = np.argsort(np.asarray(order_by, dtype=float), kind="stable")
    train, test = order[:-holdout], order[-holdout:]
    params = fit(*(a[train] for a in arrays))
    truth = arrays[-1][test]
    predicted = predict(params, *(a[test] for a in arrays[:-1]))
    return {"fitted_on": int(len(train)), "held_out": int(len(test)), "params": params,
            "predicted": predicted.tolist(), "observed": truth.tolist(),
            "mean_abs_error": float(np.mean(np.abs(predicted - truth))),
            "mean_rel_error": float(np.mean(np.abs(predicted - truth) / np.maximum(np.abs(truth), 1e-12)))}
