"""Speed of ``python -m recbole_srt.stats`` (ApEn by hashing) on synthetic interaction files.

    python benchmarks/apen_speed.py                       # 1M and 10M interactions, both shapes
    python benchmarks/apen_speed.py --sizes 1M --shapes amazon
    python benchmarks/apen_speed.py --render              # docs/results/apen_speed.md from the JSON

Writes DIR/NAME/NAME.inter files (tab-separated, string tokens, float timestamps, rows shuffled so the
command has to sort every user's rows by time) under --workdir (a temporary folder by default), then
for each one times:

- the whole command in a fresh process (``python -m recbole_srt.stats DIR/NAME --json ...``):
  interpreter start, package import (the package imports torch), reading, grouping, ApEn, printing;
- its own breakdown (from its --json): read (pandas read_csv), group (factorize users and items,
  stable sort by user then timestamp), apen (the hashing ApEn for m and m + 1);
- ApEn alone in this process on the already grouped arrays (``phis_categorical``), best of --repeat.

Shapes: ``amazon``: 0.25 users and 0.12 items per interaction (2.5M users for 10M interactions, like
the Amazon review dumps; most users have 1-3 interactions), Pareto user activity (a = 1.2) and item
popularity (a = 0.9); ``long``: 0.01 users per interaction (mean length 100, heavy-tailed) and 0.02
items per interaction. Results: benchmarks/results/apen_speed.json, docs/results/apen_speed.md.
"""

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
import time

import harness
import numpy as np
import pandas as pd

SHAPES = {"amazon": (0.25, 0.12), "long": (0.01, 0.02)}


def label(n):
    return f"{n // 10 ** 6}M" if n % 10 ** 6 == 0 else f"{n // 10 ** 3}K" if n % 10 ** 3 == 0 else str(n)


def heavy_tailed(rng, n_draws, n_values, alpha):
    """n_draws values in [0, n_values) with Pareto(alpha) weights (inverse-CDF sampling)."""
    weights = rng.pareto(alpha, n_values) + 1.0
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(n_draws)), n_values - 1)


def write_dataset(folder, name, n, shape, seed):
    users_per, items_per = SHAPES[shape]
    rng = np.random.default_rng(seed)
    n_users, n_items = max(1, int(n * users_per)), max(1, int(n * items_per))
    users = heavy_tailed(rng, n, n_users, 1.2)
    items = heavy_tailed(rng, n, n_items, 0.9)
    users[:n_users] = np.arange(n_users)  # every user and item at least once
    items[:n_items] = np.arange(n_items)
    shuffle = rng.permutation(n)
    users, items = users[shuffle], items[shuffle]
    times = rng.integers(946684800, 1406073600, size=n)
    path = os.path.join(folder, name, f"{name}.inter")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    frame = pd.DataFrame({"user_id:token": pd.Series(users).map("A{:07X}".format),
                          "item_id:token": pd.Series(items).map("B{:08X}".format),
                          "rating:float": rng.integers(1, 6, size=n).astype(np.float64),
                          "timestamp:float": times.astype(np.float64)})
    frame.to_csv(path, sep="\t", index=False, float_format="%.0f")
    return path


def measure(folder, name, m, repeat):
    from recbole_srt import stats

    out_json = os.path.join(folder, f"{name}.stats.json")
    command = [sys.executable, "-m", "recbole_srt.stats", os.path.join(folder, name), "--m", str(m), "--json", out_json]
    load = os.getloadavg()[0]
    wall, peak_mib, _ = harness.child(command)
    result = harness.load(out_json)

    # ApEn alone, in process, on the grouped arrays the command computes it on
    users, items, times, _ = stats.read_interactions(os.path.join(folder, name, f"{name}.inter"))
    user_codes, _ = pd.factorize(users)
    item_codes, _ = pd.factorize(items)
    del users, items
    order = stats.order_by_user_time(user_codes, times)
    if order is not None:
        user_codes, item_codes = user_codes[order], item_codes[order]
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        lengths, phi_m, phi_m1 = stats.phis_categorical(user_codes, item_codes, m)
        best = min(best, time.perf_counter() - t0)
    assert np.isclose((phi_m - phi_m1).mean(), result["apen"]["apen_mean"], rtol=0, atol=1e-12)
    return {"command": " ".join(shlex.quote(c) for c in command[1:]), "stats": {k: result[k] for k in (
                "interactions", "users", "items", "sequence_length", "apen")},
            "command_wall_s": wall, "command_breakdown_s": result["timings"], "command_peak_rss_mib": peak_mib,
            "apen_only_s": best, "load_average_1min_before": load}


def markdown(report):
    lines = ["# ApEn speed: `python -m recbole_srt.stats`", "",
             f"Machine: {harness.describe(report['machine'])}. Date: {report['date']}. "
             f"Command: `{report['command']}`.", "",
             "Synthetic `.inter` files (string tokens, float timestamps, rows shuffled). `command` is the whole "
             "`python -m recbole_srt.stats DIR/NAME --m M --json ...` in a fresh process (interpreter start and "
             "the package's torch import included); `read`, `group` (factorize + sort by user, time) and `apen` "
             "are its own timings; `ApEn only` is the hashing ApEn on the grouped arrays, best of "
             f"{report['repeat']}. The machine is shared: the 1-minute load average before each run is shown.", ""]
    rows = []
    for run in report["runs"]:
        s, b = run["stats"], run["command_breakdown_s"]
        rows.append([run["shape"], f"{s['interactions']:,}", f"{s['users']:,}", f"{s['items']:,}",
                     f"{s['sequence_length']['mean']:.1f}", f"{s['sequence_length']['max']:,}", s["apen"]["m"],
                     f"{s['apen']['apen_mean']:.4f}", f"{run['command_wall_s']:.1f}", f"{b['read_s']:.1f}",
                     f"{b['group_s']:.1f}", f"{b['apen_s']:.1f}", f"{run['apen_only_s']:.1f}",
                     f"{run['command_peak_rss_mib']:,.0f}", f"{run['load_average_1min_before']:.1f}"])
    lines += harness.table(["shape", "interactions", "users", "items", "mean len", "max len", "m", "ApEn mean",
                            "command s", "read s", "group s", "apen s", "ApEn only s", "peak RSS MiB", "load"], rows)
    return "\n".join(lines) + "\n"


def pages(results=None):
    return harness.rendered(markdown, ["apen_speed"], results)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1M,10M")
    parser.add_argument("--shapes", default="amazon,long", help=f"comma-separated, of {sorted(SHAPES)}")
    parser.add_argument("--m", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2, help="in-process ApEn timings (best of)")
    parser.add_argument("--workdir", default=None, help="where the .inter files go (default: a temporary folder, removed)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--render", action="store_true", help="only write the page again from the JSON")
    args = parser.parse_args(argv)
    if not args.render:
        workdir = args.workdir or tempfile.mkdtemp(prefix="apen_speed_")
        report = {**harness.stamp(__file__, argv), "repeat": args.repeat, "runs": []}
        try:
            for size in [harness.parse_count(s) for s in args.sizes.split(",")]:
                for shape in args.shapes.split(","):
                    name = f"syn-{shape}-{label(size)}"
                    if not os.path.exists(os.path.join(workdir, name, f"{name}.inter")):
                        t0 = time.perf_counter()
                        write_dataset(workdir, name, size, shape, args.seed)
                        print(f"{name}: written in {time.perf_counter() - t0:.1f} s", flush=True)
                    run = {"shape": shape, "size": size, **measure(workdir, name, args.m, args.repeat)}
                    report["runs"].append(run)
                    print(f"{name}: command {run['command_wall_s']:.1f} s ({json.dumps(run['command_breakdown_s'])}), "
                          f"ApEn only {run['apen_only_s']:.2f} s, ApEn mean {run['stats']['apen']['apen_mean']:.4f}",
                          flush=True)
        finally:
            if args.workdir is None:
                shutil.rmtree(workdir, ignore_errors=True)
        harness.update(os.path.join(harness.paths.RESULTS, "apen_speed.json"), lambda old: report)
    print("written:", *harness.publish(pages()))


if __name__ == "__main__":
    main()
