"""Shen et al.'s Performance Law: HR and NDCG (not loss) as functions of model shape and data quality.

"Predictive Models in Sequential Recommendations: Bridging Performance Laws with Data Quality
Insights" (Shen, Wang, Wu, Chin, Guo, Liu, Guo, Lian, Tang, Chen; arXiv 2412.00430). The functional
form is the one of the authors' public fitting code (USTC-StarTeam/Performance-Law,
``Performance_Law_Appendix_Result/performance_law_fitting.py``, ``model_func``):

    P = w1 phi(L; a) + w2 phi(d; b) + phi(D; e) + c,    phi(x; a) = -1 / (k x^a) - a ln x,  k = 2

with L the number of layers, d the embedding size and D the data. phi rises while k x^a < 1 and
falls after, so the law can bend down where larger models overfit. The authors fit D as a free
constant per dataset and compare it with their data proxy D' = interactions x ApEn; here
D = lambda D', one fitted lambda for every dataset, so that the law predicts datasets from their
measured interactions and ApEn (``python -m recbole_srt.stats``). A term whose variable does not
vary in the runs is left out (its weight cannot be identified). Unlike the authors' unbounded
``curve_fit``, the exponents are bounded to [0, 5] (a negative exponent turns the decay into growth).
"""

import numpy as np
from scipy.optimize import least_squares

K = 2.0  # the authors' pf1 = pf2


def phi(x, a):
    x = np.asarray(x, dtype=float)
    return -1.0 / (K * x ** a) - a * np.log(x)


def performance_law(layers, hidden, data, params):
    """The law at (layers, hidden size, D') for a parameter dict of :func:`fit_performance_law`."""
    p = params
    value = np.full(np.shape(layers), p["c"], dtype=float)
    if p.get("w1") is not None:
        value = value + p["w1"] * phi(layers, p["a"])
    if p.get("w2") is not None:
        value = value + p["w2"] * phi(hidden, p["b"])
    if p.get("lambda") is not None:
        value = value + phi(p["lambda"] * np.asarray(data, dtype=float), p["e"])
    return value


def fit_performance_law(layers, hidden, data, values, start_from=None):
    """Least squares over the terms whose variable varies, from a grid of exponent starts (or from the
    parameters of an earlier fit, ``start_from``: the bootstrap's resamples)."""
    layers, hidden, data, y = (np.asarray(v, dtype=float) for v in (layers, hidden, data, values))
    use = {"layers": len(np.unique(layers)) > 1, "hidden": len(np.unique(hidden)) > 1, "data": len(np.unique(data)) > 1}
    names = ["c"] + (["w1", "a"] if use["layers"] else []) + (["w2", "b"] if use["hidden"] else []) \
        + (["log_lambda", "e"] if use["data"] else [])
    if len(y) <= len(names):
        raise ValueError(f"the performance law has {len(names)} parameters here ({', '.join(names)}); "
                         f"it needs more runs than that, got {len(y)}")

    def unpack(p):
        q = dict(zip(names, p))
        return {"c": q["c"], "w1": q.get("w1"), "a": q.get("a"), "w2": q.get("w2"), "b": q.get("b"),
                "lambda": float(np.exp(q["log_lambda"])) if "log_lambda" in q else None, "e": q.get("e")}

    def residual(p):
        return performance_law(layers, hidden, data, unpack(p)) - y

    lower = [-np.inf if n in ("c", "w1", "w2", "log_lambda") else 0.0 for n in names]
    upper = [np.inf if n in ("c", "w1", "w2", "log_lambda") else 5.0 for n in names]
    best = None
    starts = [{"c": float(y.mean()), "w1": 0.01, "a": exponent, "w2": 0.01, "b": exponent,
               "log_lambda": float(np.log(scale / max(np.median(data), 1e-12))), "e": exponent}
              for exponent in (0.1, 0.5, 1.0, 2.0) for scale in (1e-4, 1e-2, 1.0)]
    if start_from is not None:
        starts = [{**{k: v for k, v in start_from.items() if v is not None},
                   "log_lambda": float(np.log(start_from["lambda"])) if start_from.get("lambda") else 0.0}]
    for start in starts:
        try:
            result = least_squares(residual, [start[n] for n in names], bounds=(lower, upper), max_nfev=4000)
        except ValueError:
            continue
        if np.isfinite(result.cost) and (best is None or result.cost < best.cost):
            best = result
    if best is None:
        raise RuntimeError("no starting point converged")
    params = unpack(best.x)
    ss_res, ss_tot = float(np.sum(best.fun ** 2)), float(np.sum((y - y.mean()) ** 2))
    return {**{k: (None if v is None else float(v)) for k, v in params.items()},
            "rmse": float(np.sqrt(np.mean(best.fun ** 2))), "r2": 1 - ss_res / ss_tot if ss_tot else None,
            "terms": [n for n in ("layers", "hidden", "data") if use[n]]}


def holdout_check(layers, hidden, data, values, n, holdout=1):
    """Fit on every run but those of the ``holdout`` largest model sizes (``n``: parameters), predict
    those runs (every dataset), report the relative errors."""
    layers, hidden, data, y, n = (np.asarray(v, dtype=float) for v in (layers, hidden, data, values, n))
    if holdout < 1 or holdout >= len(np.unique(n)):
        raise ValueError(f"holdout must be between 1 and the number of sizes - 1 ({len(np.unique(n)) - 1}), got {holdout}")
    held = np.unique(n)[-holdout:]
    test = np.isin(n, held)
    for name, values_of in (("layers", layers), ("hidden size", hidden), ("data", data)):
        if len(np.unique(values_of)) > 1 and len(np.unique(values_of[~test])) < 2:
            raise ValueError(f"the {name} varies only through the held-out sizes: the fit without them cannot "
                             "learn its term; hold out fewer sizes or sweep that variable wider")
    params = fit_performance_law(layers[~test], hidden[~test], data[~test], y[~test])
    predicted = performance_law(layers[test], hidden[test], data[test], params)
    rel = np.abs(predicted - y[test]) / np.maximum(np.abs(y[test]), 1e-12)
    return {"held_out_sizes": held.tolist(), "fitted_on": int((~test).sum()), "params": params,
            "points": [{"layers": float(a), "hidden": float(b), "data": float(c), "observed": float(o),
                        "predicted": float(p), "rel_error": float(r)}
                       for a, b, c, o, p, r in zip(layers[test], hidden[test], data[test], y[test], predicted, rel)],
            "mean_rel_error": float(rel.mean()), "max_rel_error": float(rel.max())}
