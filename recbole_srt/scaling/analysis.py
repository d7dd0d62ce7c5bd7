"""From a sweep's results file to points, envelopes and fitted laws (the JSON that `fit` writes)."""

import json
import os

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


def fit_all(runs, metric="ndcg@5", n_kind="total", robust=False, n_boot=200, holdout=2, seed=0):
    from recbole_srt.config import SMALLER_METRICS

    if metric in SMALLER_METRICS:
        raise ValueError(f"'{metric}' is lower-is-better, and envelopes keep the highest value: fit a ranking "
                         "metric such as ndcg@10 (the laws command fits the test loss with the size law)")
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
            out["sigmoid_not_identified"] = laws.not_identified(out["sigmoid_ci95"])
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
            out["nt_not_identified"] = laws.not_identified(out["nt_ci95"])
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


def group_runs(runs, key=None):
    """{value of ``key`` (an option such as backbone, or model / dataset / preset): runs}; one group "all"
    without a key. A run that does not set the option has the value of its model's yaml (backbone:
    sasrec for IDTransformer), or "default" where the plugin's yaml files do not set it."""
    if not key:
        return {"all": runs}
    groups = {}
    for run in runs:
        value = run.get(key) if key in ("model", "dataset", "preset") else run.get("options", {}).get(key)
        if value is None:
            value = _yaml_default(run.get("model"), key)
        groups.setdefault(str(value) if value is not None else "default", []).append(run)
    return dict(sorted(groups.items()))


def _yaml_default(model, key):
    from recbole_srt.config import PROPERTIES_DIR, read_yaml

    for path in (os.path.join(PROPERTIES_DIR, "model", f"{model}.yaml"), os.path.join(PROPERTIES_DIR, "overall.yaml")):
        if os.path.isfile(path):
            values = read_yaml(path) or {}
            if key in values:
                return values[key]
    return None


def shape_of(run):
    """(layers, hidden size) of a run: its preset, overridden by its options."""
    from recbole_srt.model.sizes import preset

    size = preset(run["preset"]) if run.get("preset") else {}
    options = run.get("options", {})
    layers, hidden = options.get("n_layers", size.get("n_layers")), options.get("hidden_size", size.get("hidden_size"))
    if layers is None or hidden is None:
        raise ValueError(f"run {run.get('run_id')}: no preset and no n_layers / hidden_size option, so its shape "
                         "is unknown to the Performance Law")
    return int(layers), int(hidden)


def test_summary(runs, metrics):
    """{dataset: {metric: {"mean", "std", "runs"}}} of the runs' test results (std over seeds, ddof 1)."""
    out = {}
    for dataset in sorted({r["dataset"] for r in runs}):
        values = {}
        for run in (r for r in runs if r["dataset"] == dataset):
            for metric in metrics:
                if metric in run.get("test_result", {}):
                    values.setdefault(metric, []).append(run["test_result"][metric])
        out[dataset] = {m: {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
                            "runs": len(v)} for m, v in values.items()}
    return out


def data_quality(runs, m=2, max_len=50):
    """{dataset: {interactions, apen, D'}}: D' = interactions x ApEn' (Shen et al.'s data proxy), from the
    dataset's .inter file (the data path of the run's command). ApEn' is their code's: the mean over
    users of |Phi^m - Phi^m+1| of the last ``max_len`` item ids, ids matching exactly (their r < 1)."""
    from recbole_srt.stats import StatsError, run as dataset_stats

    out = {}
    for run in runs:
        if run["dataset"] in out:
            continue
        data_path = next((a.split("=", 1)[1] for a in run.get("command", []) if a.startswith("--data_path=")), None)
        try:
            stats, _, _ = dataset_stats(run["dataset"], data_path, m=m, max_len=max_len)
        except StatsError as error:
            raise ValueError(f"the Performance Law reads each dataset's interactions: {error}") from None
        apen = stats["apen"]["apen_abs_mean"]
        out[run["dataset"]] = {"interactions": stats["interactions"], "users": stats["users"], "apen": apen,
                               "apen_m": m, "apen_max_len": max_len, "d_prime": stats["interactions"] * apen}
    return out


def fit_size_laws(runs, metrics, n_kind="non_embedding", holdout=2, n_boot=100):
    """Per dataset and test metric: Zhang et al.'s L(N) = L_inf + (N0/N)^alpha (mirrored for ranking
    metrics) on every size, and the extrapolation to the ``holdout`` largest sizes from the others."""
    from recbole_srt.scaling import loss_law

    out = {}
    for dataset in sorted({r["dataset"] for r in runs}):
        chosen = [r for r in runs if r["dataset"] == dataset]
        n = np.array([r["non_embedding_parameters"] if n_kind == "non_embedding" else r["parameters"] for r in chosen],
                     dtype=float)
        for metric in metrics:
            # runs that diverged (NaN) or lack the metric are left out; the entry counts them
            have = np.array([np.isfinite(r.get("test_result", {}).get(metric, np.nan)) for r in chosen])
            if len(np.unique(n[have])) < 3:
                continue
            values = np.array([r["test_result"][metric] for r, h in zip(chosen, have) if h], dtype=float)
            sign = loss_law.sign_of(metric)
            entry = {"sizes": np.unique(n[have]).tolist(), "runs_left_out": int((~have).sum()),
                     "fit": loss_law.fit_size_law(n[have], values, sign)}
            if n_boot:  # 95 % intervals over fits to runs resampled with replacement
                entry["fit_ci95"] = laws.bootstrap(lambda a, b: loss_law.fit_size_law(a, b, sign), (n[have], values),
                                                   n_boot)
            try:
                entry["extrapolation"] = loss_law.extrapolate(n[have], values, sign, holdout)
            except ValueError as error:
                entry["extrapolation"] = str(error)
            out.setdefault(dataset, {})[metric] = entry
    return out


def fit_performance_laws(runs, metrics, n_kind="non_embedding", holdout=1, quality=None, n_boot=50):
    """Per test metric (not loss): Shen et al.'s law over every run (model shape x dataset), and its
    predictions for the ``holdout`` largest model sizes fitted without them."""
    from recbole_srt.scaling import performance_law

    quality = quality or data_quality(runs)
    out = {"data": quality}
    shapes = np.array([shape_of(r) for r in runs], dtype=float)
    n = np.array([r["non_embedding_parameters"] if n_kind == "non_embedding" else r["parameters"] for r in runs],
                 dtype=float)
    data = np.array([quality[r["dataset"]]["d_prime"] for r in runs], dtype=float)
    for metric in metrics:
        if metric == "cross_entropy":
            continue
        values = np.array([r.get("test_result", {}).get(metric, np.nan) for r in runs], dtype=float)
        ok = np.isfinite(values)
        if not ok.any():
            continue
        try:
            entry = {"runs_left_out": int((~ok).sum()),
                     "fit": performance_law.fit_performance_law(shapes[ok, 0], shapes[ok, 1], data[ok], values[ok])}
            if n_boot:
                full = entry["fit"]
                entry["fit_ci95"] = laws.bootstrap(
                    lambda *arrays: performance_law.fit_performance_law(*arrays, start_from=full),
                    (shapes[ok, 0], shapes[ok, 1], data[ok], values[ok]), n_boot)
            entry["holdout"] = performance_law.holdout_check(shapes[ok, 0], shapes[ok, 1], data[ok], values[ok],
                                                             n[ok], holdout)
        except (ValueError, RuntimeError) as error:
            entry = str(error)
        out[metric] = entry
    return out
