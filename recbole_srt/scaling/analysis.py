"""From a sweep's results file to points, envelopes and fitted laws (the JSON that `fit` writes)."""

import json

import numpy as np

from recbole_srt.scaling import laws


def load_runs(results_file):
    """The finished runs of a results file (the latest record of each run id)."""
    runs = {}
    with open(results_file, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if line.strip():
                try:
                    record = json.loads(line)
                except ValueError:
                    raise ValueError(f"{results_file}:{line_no}: not a JSON line") from None
                if record.get("status") == "ok":
                    runs[record["run_id"]] = record
    if not runs:
        raise ValueError(f"{results_file}: no finished runs")
    return list(runs.values())


def evaluation_points(runs, metric, n_kind="non_embedding"):
    """One point per evaluation of every run: cumulative FLOPs, seen interactions, N and the metric."""
    rows = []
    for run in runs:
        n = run["non_embedding_parameters"] if n_kind == "non_embedding" else run["parameters"]
        for h in run["history"]:
            if h.get("train_flops") and metric in h:
                rows.append((h["train_flops"], h["seen_targets"], n, run["train_interactions"], h[metric]))
    if not rows:
        raise ValueError(f"no evaluation holds both train_flops and '{metric}' (metrics are named like ndcg@5)")
    flops, seen, n, data, value = (np.array(c, dtype=float) for c in zip(*rows))
    return {"flops": flops, "seen": seen, "n": n, "interactions": data, "value": value}


def best_points(runs, metric, n_kind="non_embedding"):
    """Per run, the evaluation with the best validation metric: (N, T seen by then, value). Eq. 5's data."""
    n, t, value, flops = [], [], [], []
    for run in runs:
        history = [h for h in run["history"] if metric in h]
        if not history:
            continue
        best = max(history, key=lambda h: h[metric])
        n.append(run["non_embedding_parameters"] if n_kind == "non_embedding" else run["parameters"])
        t.append(best["seen_targets"])
        value.append(best[metric])
        flops.append(best["train_flops"])
    return {k: np.array(v, dtype=float) for k, v in (("n", n), ("t", t), ("value", value), ("flops", flops))}


def _nt_predict(params, n, t):
    return laws.nt_law(n, t, *(params[k] for k in ("E", "A", "alpha", "B", "beta")))


def fit_all(runs, metric="ndcg@5", n_kind="non_embedding", robust=False, n_boot=200, holdout=2, seed=0):
    points = evaluation_points(runs, metric, n_kind)
    env = laws.envelope(points["flops"], points["value"])
    log_c, y = np.log(points["flops"][env]), points["value"][env]
    out = {"metric": metric, "n_kind": n_kind, "robust": robust, "runs": len(runs),
           "evaluations": int(points["flops"].size),
           "envelope": [{"flops": float(points["flops"][k]), "seen": float(points["seen"][k]), "n": float(points["n"][k]),
                         "value": float(points["value"][k])} for k in env],
           "linear_log_flops": laws.fit_linear(log_c, y) if len(env) >= 2 else None}
    if len(env) >= 4:
        out["sigmoid"] = laws.fit_sigmoid(log_c, y, robust)
        if n_boot:
            out["sigmoid_ci95"] = laws.bootstrap(lambda a, b: laws.fit_sigmoid(a, b, robust), (log_c, y), n_boot,
                                                 seed)
        if holdout and len(env) - holdout >= 4:
            out["sigmoid_extrapolation"] = laws.extrapolation_check(
                lambda a, b: laws.fit_sigmoid(a, b, robust),
                lambda p, a: laws.sigmoid_law(a, p["a"], p["b"], p["c"], p["d"]),
                (log_c, y), order_by=log_c, holdout=holdout)
    else:
        out["sigmoid"] = f"needs 4 envelope points, has {len(env)}"
    best = best_points(runs, metric, n_kind)
    if len(best["n"]) >= 6:
        def fit(n, t, v):
            return laws.fit_nt(n, t, v, robust)

        out["nt"] = fit(best["n"], best["t"], best["value"])
        if n_boot:
            out["nt_ci95"] = laws.bootstrap(fit, (best["n"], best["t"], best["value"]), n_boot, seed)
        if holdout and len(best["n"]) - holdout >= 6:
            out["nt_extrapolation"] = laws.extrapolation_check(fit, _nt_predict, (best["n"], best["t"], best["value"]),
                                                               order_by=best["flops"], holdout=holdout)
        # FLOPs per parameter and seen interaction, measured: C = k N T (about 6 for a plain transformer)
        k = float(np.median(best["flops"] / (best["n"] * best["t"])))
        out["flops_per_param_interaction"] = k
        top = float(points["flops"].max())
        out["compute_optimal"] = [laws.compute_optimal(out["nt"], k, c) for c in (top, 10 * top, 100 * top)]
    else:
        out["nt"] = f"needs 6 runs, has {len(best['n'])}"
    out["best_runs"] = {k: v.tolist() for k, v in best.items()}
    return out
