"""PNG figures of a sweep: the equivalents of the paper's Figures 4 to 7."""

import os

import numpy as np

from recbole_srt.scaling import laws
from recbole_srt.scaling.analysis import best_points, evaluation_points


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_all(runs, fits, out_dir, metric="ndcg@5", n_kind="total"):
    """Write the figures into out_dir; returns their paths."""
    plt = _pyplot()
    os.makedirs(out_dir, exist_ok=True)
    points = evaluation_points(runs, metric, n_kind)
    env = laws.envelope(points["flops"], points["value"])
    label = metric.upper()
    paths = []

    # Figure 4: every evaluation against compute, coloured by data size and by model size.
    for key, name, title in (("interactions", "fig4a_flops_by_interactions.png", "training interactions"),
                             ("n", "fig4b_flops_by_parameters.png", f"parameters ({n_kind.replace('_', '-')})")):
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        sc = ax.scatter(points["flops"], points["value"], c=np.log10(points[key]), cmap="viridis", s=14)
        ax.plot(points["flops"][env], points["value"][env], "k-", lw=1.2, label="envelope")
        ax.set(xscale="log", xlabel="training FLOPs", ylabel=f"validation {label}", title=f"{label} vs compute")
        fig.colorbar(sc, label=f"log10 {title}")
        ax.legend(loc="lower right")
        paths.append(_save(fig, out_dir, name))

    # Figure 5: what the envelope is made of: seen interactions and parameters against FLOPs.
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, name in ((axes[0], "seen", "seen interactions"), (axes[1], "n", "parameters")):
        x, y = points["flops"][env], points[key][env]
        ax.scatter(x, y, s=18)
        if len(env) >= 2:
            slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
            grid = np.geomspace(x.min(), x.max(), 50)
            ax.plot(grid, np.exp(intercept) * grid ** slope, "r--", label=f"∝ FLOPs^{slope:.2f}")
            ax.legend()
        ax.set(xscale="log", yscale="log", xlabel="training FLOPs", ylabel=name, title=f"envelope: {name}")
    paths.append(_save(fig, out_dir, "fig5_envelope_data_and_parameters.png"))

    # Figure 6: the sigmoid law of Eq. 3 through the envelope.
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.scatter(np.log(points["flops"]), points["value"], s=8, c="0.75", label="evaluations")
    ax.scatter(np.log(points["flops"][env]), points["value"][env], s=18, c="k", label="envelope")
    sigmoid = fits.get("sigmoid")
    if isinstance(sigmoid, dict):
        grid = np.linspace(np.log(points["flops"]).min(), np.log(points["flops"]).max() + 4, 200)
        ax.plot(grid, laws.sigmoid_law(grid, sigmoid["a"], sigmoid["b"], sigmoid["c"], sigmoid["d"]), "r-",
                label=f"fit, limit {sigmoid['limit']:.4f}")
    ax.set(xlabel="ln training FLOPs", ylabel=f"validation {label}", title="Eq. 3: sigmoid in log compute")
    ax.legend(loc="lower right")
    paths.append(_save(fig, out_dir, "fig6_sigmoid_fit.png"))

    # Figure 7: the N-T law of Eq. 5 as a surface, with each run's best evaluation.
    nt = fits.get("nt")
    best = best_points(runs, metric, n_kind)
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    if isinstance(nt, dict):
        n_grid, t_grid = np.meshgrid(np.geomspace(best["n"].min() / 2, best["n"].max() * 4, 80),
                                     np.geomspace(best["t"].min() / 2, best["t"].max() * 4, 80))
        surface = laws.nt_law(n_grid, t_grid, nt["E"], nt["A"], nt["alpha"], nt["B"], nt["beta"])
        contour = ax.contourf(n_grid, t_grid, surface, levels=20, cmap="viridis")
        fig.colorbar(contour, label=f"fitted {label}")
    ax.scatter(best["n"], best["t"], c="w", edgecolors="k", s=30, label="runs (best evaluation)")
    ax.set(xscale="log", yscale="log", xlabel=f"N ({n_kind.replace('_', '-')} parameters)", ylabel="T (seen interactions)",
           title="Eq. 5: E - A/N^α - B/T^β")
    ax.legend(loc="lower right")
    paths.append(_save(fig, out_dir, "fig7_nt_surface.png"))
    return paths


def _save(fig, out_dir, name):
    from matplotlib.ticker import NullFormatter

    for ax in fig.axes:  # minor-tick labels overlap on log axes wider than a decade; narrower ones need them
        for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            if axis.get_scale() == "log" and high > 10 * low:
                axis.set_minor_formatter(NullFormatter())
    path = os.path.join(out_dir, name)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    fig.clf()
    return path
