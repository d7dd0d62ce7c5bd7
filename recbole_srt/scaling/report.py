"""``python -m recbole_srt.scaling laws``: every law of a sweep, per group of runs, as JSON, markdown and PNG.

Per group (``--by backbone``, ``--by item_encoder``...): the test metrics over seeds, the envelope and
sigmoid of the validation metric against FLOPs (the SRT paper's Eq. 3), Zhang et al.'s size law of
the test loss and of the ranking metrics per dataset, and Shen et al.'s Performance Law over model
shape x data. The envelopes of every group are drawn on one figure.
"""

import json
import math
import os

import numpy as np

from recbole_srt.scaling import analysis, laws, loss_law, performance_law


def build(runs, by=None, metrics=("cross_entropy", "hit@10", "ndcg@10"), valid_metric="ndcg@10",
          n_kind="non_embedding", holdout=2, perf_holdout=1, baseline=None, bootstrap=None):
    """``bootstrap``: resamples of every law's intervals (None: each law's own default; 0: no intervals)."""
    boot = {} if bootstrap is None else {"n_boot": bootstrap}
    groups = analysis.group_runs(runs, by)
    quality = None
    if holdout < 1 or perf_holdout < 1:
        raise ValueError(f"--holdout and --perf-holdout must hold out at least 1 size, got {holdout}, {perf_holdout}")
    if bootstrap is not None and bootstrap < 0:
        raise ValueError(f"--bootstrap must be a count >= 0, got {bootstrap}")
    out = {"by": by, "n_kind": n_kind, "holdout": holdout, "groups": {}}
    for name, group in groups.items():
        entry = {"runs": len(group), "test": analysis.test_summary(group, metrics)}
        try:
            entry["envelope"] = analysis.fit_all(group, valid_metric, n_kind, n_boot=0, holdout=0)
        except ValueError as error:
            entry["envelope"] = str(error)
        entry["size_laws"] = analysis.fit_size_laws(group, metrics, n_kind, holdout, **boot)
        if len({r["dataset"] for r in group}) > 1 or len({analysis.shape_of(r) for r in group}) > 1:
            quality = quality or analysis.data_quality(runs)
            entry["performance_law"] = analysis.fit_performance_laws(group, metrics, n_kind, perf_holdout, quality,
                                                                     **boot)
        out["groups"][name] = entry
    out["comparisons"] = compare(groups, metrics, baseline)
    return out


def compare(groups, metrics, baseline=None):
    """Each group against the baseline group (``sasrec`` when there is one), per dataset and metric:
    difference of the means and Welch's t-test over the runs (seeds). "Beyond seed noise" = p < 0.05."""
    from scipy.stats import ttest_ind

    names = list(groups)
    if baseline is not None and baseline not in groups:
        raise ValueError(f"--baseline: no group '{baseline}'; the groups are {', '.join(names)}")
    if len(names) < 2:
        return {}
    base = baseline or ("sasrec" if "sasrec" in groups else names[0])
    out = {}
    for dataset in sorted({r["dataset"] for runs in groups.values() for r in runs}):
        for metric in metrics:
            reference = [r["test_result"][metric] for r in groups[base]
                         if r["dataset"] == dataset and metric in r.get("test_result", {})]
            for name in names:
                values = [r["test_result"][metric] for r in groups[name]
                          if r["dataset"] == dataset and metric in r.get("test_result", {})]
                if name == base or not values or not reference:
                    continue
                p = float(ttest_ind(values, reference, equal_var=False).pvalue) \
                    if min(len(values), len(reference)) > 1 else None
                out.setdefault(dataset, {}).setdefault(metric, []).append(
                    {"group": name, "baseline": base, "difference": float(np.mean(values) - np.mean(reference)),
                     "relative": float(np.mean(values) / np.mean(reference) - 1) if np.mean(reference) else None,
                     "p_value": p if p is None or np.isfinite(p) else None,
                     "runs": [len(values), len(reference)]})
    return out


def json_number(value):
    """Floats to 6 significant digits, NaN and inf to None: JSON has neither."""
    if isinstance(value, float):
        return float(f"{value:.6g}") if math.isfinite(value) else None  # JSON has no NaN or inf
    if isinstance(value, dict):
        return {k: json_number(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_number(v) for v in value]
    return value


def _pm(stat, digits=4):
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}" if stat["runs"] > 1 else f"{stat['mean']:.{digits}f}"


def _with_interval(fit, ci, key, fmt):
    value = f"{fit[key]:{fmt}}"
    return f"{value} [{ci[key][0]:{fmt}}, {ci[key][1]:{fmt}}]" if key in ci else value


def markdown(report, metrics):
    by = report["by"] or "all runs"
    lines = [f"# Laws by {by}", "", "## Test metrics (mean ± std over the runs of each group and dataset)", "",
             "| group | dataset | runs | " + " | ".join(metrics) + " |", "|---|---|---|" + "---|" * len(metrics)]
    for name, entry in report["groups"].items():
        for dataset, stats in entry["test"].items():
            runs = max((s["runs"] for s in stats.values()), default=0)
            lines.append(f"| {name} | {dataset} | {runs} | "
                         + " | ".join(_pm(stats[m]) if m in stats else "" for m in metrics) + " |")
    if report.get("comparisons"):
        lines += ["", "## Against the baseline group (Welch's t-test over runs; p < 0.05: beyond seed noise)", "",
                  "| dataset | metric | group | baseline | difference | relative | p |", "|---|---|---|---|---|---|---|"]
        for dataset, per_metric in report["comparisons"].items():
            for metric, rows in per_metric.items():
                for row in rows:
                    p = "" if row["p_value"] is None else f"{row['p_value']:.3f}"
                    rel = "" if row["relative"] is None else f"{100 * row['relative']:+.1f}%"
                    lines.append(f"| {dataset} | {metric} | {row['group']} | {row['baseline']} | "
                                 f"{row['difference']:+.4f} | {rel} | {p} |")
    lines += ["", "## Size law L(N) = L_inf + (N0/N)^alpha (Zhang et al.; ranking metrics mirrored), "
              "fitted without the largest sizes", "",
              "| group | dataset | metric | L_inf | N0 | alpha | held-out N | predicted | observed | max rel. error | "
              "no-scaling forecast's error |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    intervals = ["", "Fitted on every size (95 % bootstrap intervals over resampled runs):", "",
                 "| group | dataset | metric | L_inf | N0 | alpha |", "|---|---|---|---|---|---|"]
    if not any(entry["size_laws"] for entry in report["groups"].values()):
        lines.append("| (no group has 3 model sizes on one dataset) | | | | | | | | | | |")
    for name, entry in report["groups"].items():
        for dataset, per_metric in entry["size_laws"].items():
            for metric, law in per_metric.items():
                fit, ci = law["fit"], law.get("fit_ci95", {})
                intervals.append(f"| {name} | {dataset} | {metric} | " + " | ".join(
                    _with_interval(fit, ci, key, fmt) for key, fmt in (("limit", ".4f"), ("N0", ".3g"), ("alpha", ".3f")))
                    + " |")
                ext = law["extrapolation"]
                if isinstance(ext, str):
                    lines.append(f"| {name} | {dataset} | {metric} | | | | {ext} | | | | |")
                    continue
                p = ext["params"]
                lines.append(f"| {name} | {dataset} | {metric} | {p['limit']:.4f} | {p['N0']:.3g} | {p['alpha']:.3f} | "
                             + ", ".join(f"{n:.3g}" for n in ext["held_out_sizes"]) + " | "
                             + ", ".join(f"{v:.4f}" for v in ext["predicted"]) + " | "
                             + ", ".join(f"{v:.4f}" for v in ext["observed"]) + f" | {100 * ext['max_rel_error']:.1f}% | "
                             f"{100 * ext['naive_max_rel_error']:.1f}% |")
    if len(intervals) > 5:
        lines += intervals
    perf = [(n, e["performance_law"]) for n, e in report["groups"].items() if "performance_law" in e]
    if perf:
        lines += ["", "## Performance Law (Shen et al.), fitted without the largest size, predicting it on every dataset",
                  "", "| group | metric | terms | R² (all runs) | held-out runs | mean rel. error | max rel. error |",
                  "|---|---|---|---|---|---|---|"]
        for name, law in perf:
            for metric, entry in law.items():
                if metric == "data":
                    continue
                if isinstance(entry, str):
                    lines.append(f"| {name} | {metric} | {entry} | | | | |")
                    continue
                h = entry["holdout"]
                r2 = entry["fit"]["r2"]
                lines.append(f"| {name} | {metric} | {', '.join(entry['fit']['terms'])} | "
                             f"{'' if r2 is None else f'{r2:.3f}'} | {len(h['points'])} | "
                             f"{100 * h['mean_rel_error']:.1f}% | {100 * h['max_rel_error']:.1f}% |")
        data = perf[0][1]["data"]
        lines += ["", "| dataset | interactions | users | ApEn' (m=2) | D' = interactions × ApEn' |", "|---|---|---|---|---|"]
        for dataset, q in data.items():
            lines.append(f"| {dataset} | {q['interactions']} | {q['users']} | {q['apen']:.4f} | {q['d_prime']:.4g} |")
    return "\n".join(lines) + "\n"


def figures(runs, report, out_dir, valid_metric="ndcg@10", n_kind="non_embedding"):
    """One figure of every group's envelope (and sigmoid), one of the size laws, one of the performance law."""
    from recbole_srt.scaling.plots import _pyplot, _save

    plt = _pyplot()
    paths = []
    groups = analysis.group_runs(runs, report["by"])
    fig, ax = plt.subplots(figsize=(6.8, 4.6))
    for k, (name, group) in enumerate(groups.items()):
        color = f"C{k}"
        try:
            points = analysis.evaluation_points(group, valid_metric, n_kind)
        except ValueError:
            continue
        env = laws.envelope(points["flops"], points["value"])
        ax.scatter(points["flops"], points["value"], s=5, color=color, alpha=0.25)
        ax.plot(points["flops"][env], points["value"][env], "-", color=color, lw=1.4, label=f"{name} envelope")
        sigmoid = report["groups"][name].get("envelope", {})
        sigmoid = sigmoid.get("sigmoid") if isinstance(sigmoid, dict) else None
        if isinstance(sigmoid, dict):
            grid = np.geomspace(points["flops"].min(), points["flops"].max() * 10, 100)
            ax.plot(grid, laws.sigmoid_law(np.log(grid), sigmoid["a"], sigmoid["b"], sigmoid["c"], sigmoid["d"]),
                    "--", color=color, lw=1)
    ax.set(xscale="log", xlabel="training FLOPs", ylabel=f"validation {valid_metric.upper()}",
           title=f"envelopes by {report['by'] or 'all runs'} (dashed: Eq. 3 fits)")
    ax.legend(loc="lower right", fontsize=8)
    paths.append(_save(fig, out_dir, "envelopes.png"))

    size_panels = sorted({m for e in report["groups"].values() for d in e["size_laws"].values() for m in d})
    if size_panels:
        fig, axes = plt.subplots(1, len(size_panels), figsize=(4.6 * len(size_panels), 4), squeeze=False)
        for ax, metric in zip(axes[0], size_panels):
            for k, (name, entry) in enumerate(report["groups"].items()):
                for j, (dataset, per_metric) in enumerate(entry["size_laws"].items()):
                    law = per_metric.get(metric)
                    if law is None:
                        continue
                    group = [r for r in groups[name] if r["dataset"] == dataset and metric in r.get("test_result", {})]
                    n = [r["non_embedding_parameters"] if n_kind == "non_embedding" else r["parameters"] for r in group]
                    y = [r["test_result"][metric] for r in group]
                    color = f"C{(k * len(entry['size_laws']) + j) % 10}"
                    ax.scatter(n, y, color=color, marker="os^vD"[k % 5], s=18, label=f"{name} {dataset}")
                    ext = law["extrapolation"]
                    if isinstance(ext, dict):
                        p = ext["params"]
                        grid = np.geomspace(min(n), max(n), 60)
                        ax.plot(grid, loss_law.size_law(grid, p["limit"], p["N0"], p["alpha"], loss_law.sign_of(metric)),
                                "--", color=color, lw=1)
            ax.set(xscale="log", xlabel=f"N ({n_kind.replace('_', '-')} parameters)", ylabel=f"test {metric}",
                   title=f"size law of {metric} (fit without the {report['holdout']} largest)")
            ax.legend(fontsize=7)
        paths.append(_save(fig, out_dir, "size_laws.png"))

    perf = [(name, e["performance_law"]) for name, e in report["groups"].items() if "performance_law" in e]
    metrics = [m for m in (perf[0][1] if perf else {}) if m != "data" and isinstance(perf[0][1][m], dict)]
    if metrics:
        fig, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 4), squeeze=False)
        for ax, metric in zip(axes[0], metrics):
            for k, (name, law) in enumerate(perf):
                entry = law.get(metric)
                if not isinstance(entry, dict):
                    continue
                group = groups[name]
                shapes = np.array([analysis.shape_of(r) for r in group], dtype=float)
                data = np.array([law["data"][r["dataset"]]["d_prime"] for r in group])
                observed = np.array([r["test_result"][metric] for r in group])
                fitted = performance_law.performance_law(shapes[:, 0], shapes[:, 1], data, entry["fit"])
                ax.scatter(observed, fitted, s=14, color=f"C{k}", label=f"{name}: all runs")
                held = entry["holdout"]["points"]
                ax.scatter([p["observed"] for p in held], [p["predicted"] for p in held], s=40, marker="x",
                           color=f"C{k}", label=f"{name}: held-out size, predicted")
            low, high = ax.get_xlim()
            ax.plot([low, high], [low, high], "k:", lw=1)
            ax.set(xlabel=f"observed test {metric}", ylabel="law", title=f"Performance Law: {metric}")
            ax.legend(fontsize=7)
        paths.append(_save(fig, out_dir, "performance_law.png"))
    return paths


def write(runs, out_dir, by=None, metrics=("cross_entropy", "hit@10", "ndcg@10"), valid_metric="ndcg@10",
          n_kind="non_embedding", holdout=2, perf_holdout=1, baseline=None, bootstrap=None):
    os.makedirs(out_dir, exist_ok=True)
    report = build(runs, by, metrics, valid_metric, n_kind, holdout, perf_holdout, baseline, bootstrap)

    with open(os.path.join(out_dir, "laws.json"), "w", encoding="utf-8") as f:
        json.dump(json_number(report), f, indent=1)
    text = markdown(report, list(metrics))
    with open(os.path.join(out_dir, "laws.md"), "w", encoding="utf-8") as f:
        f.write(text)
    return report, text, figures(runs, report, out_dir, valid_metric, n_kind)
