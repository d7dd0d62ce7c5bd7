"""Speed of ``python -m recbole_srt.stats`` (ApEn by hashing) on synthetic interaction files.

    python benchmarks/apen_speed.py [--sizes 1M,10M] [--shapes amazon,long] [--workdir DIR] [--render]

For each size and shape (synthetic.py) it times the whole command in a fresh process, its own breakdown
(read, group, apen: from its --json), and ApEn alone in this process on the grouped arrays, best of --repeat.
A command for some sizes or shapes replaces their rows of apen_speed.json only.
"""

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
import synthetic


def measure(folder, name, m, repeat):
    from recbole_srt import stats

    out_json = os.path.join(folder, f"{name}.stats.json")
    command = [sys.executable, "-m", "recbole_srt.stats", os.path.join(folder, name), "--m", str(m), "--json", out_json]
    load = os.getloadavg()[0]
    wall, peak_mib, _ = harness.child(command)
    result = harness.load(out_json)
    # ApEn alone, in process, on the grouped arrays the command computes it on
    users, items, times, _ = stats.read_interactions(os.path.join(folder, name, f"{name}.inter"))
    user_codes, item_codes = pd.factorize(users)[0], pd.factorize(items)[0]
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
    return {"command": shlex.join(command[1:]), "stats": {k: result[k] for k in (
                "interactions", "users", "items", "sequence_length", "apen")},
            "command_wall_s": wall, "command_breakdown_s": result["timings"], "command_peak_rss_mib": peak_mib,
            "apen_only_s": best, "load_average_1min_before": load}


RUN = ("date", "machine", "command", "repeat")  # what each row keeps of the command that measured it


def run_line(run):
    return f"Machine: {harness.describe(run['machine'])}. Date: {run['date']}. Command: `{run['command']}`."


def markdown(report):
    runs = harness.runs_of(report, RUN, "runs")
    # rows of several commands (some sizes or shapes run again): each is listed, and a column says which measured it
    header, numbers = harness.runs_section(runs, run_line)
    repeats = "/".join(str(n) for n in sorted({r["repeat"] for r in runs}))
    lines = ["# ApEn speed: `python -m recbole_srt.stats`", "", *header, "",
             "Synthetic `.inter` files (string tokens, float timestamps, rows shuffled). `command` is the whole "
             "`python -m recbole_srt.stats DIR/NAME --m M --json ...` in a fresh process (interpreter start and "
             "the package's torch import included); `read`, `group` (factorize + sort by user, time) and `apen` "
             "are its own timings; `ApEn only` is the hashing ApEn on the grouped arrays, best of "
             f"{repeats}. The machine is shared: the 1-minute load average before each run is shown.", ""]
    rows = []
    for run in report["runs"]:
        s, b = run["stats"], run["command_breakdown_s"]
        rows.append([run["shape"], f"{s['interactions']:,}", f"{s['users']:,}", f"{s['items']:,}",
                     f"{s['sequence_length']['mean']:.1f}", f"{s['sequence_length']['max']:,}", s["apen"]["m"],
                     f"{s['apen']['apen_mean']:.4f}", f"{run['command_wall_s']:.1f}", f"{b['read_s']:.1f}",
                     f"{b['group_s']:.1f}", f"{b['apen_s']:.1f}", f"{run['apen_only_s']:.1f}",
                     f"{run['command_peak_rss_mib']:,.0f}", f"{run['load_average_1min_before']:.1f}"])
    lines += harness.table(*harness.run_column(
        ["shape", "interactions", "users", "items", "mean len", "max len", "m", "ApEn mean", "command s", "read s",
         "group s", "apen s", "ApEn only s", "peak RSS MiB", "load"], rows, numbers))
    return "\n".join(lines) + "\n"


def pages(results=None):
    return harness.rendered(markdown, ["apen_speed"], results)


def run(args, argv):
    workdir = args.workdir or tempfile.mkdtemp(prefix="apen_speed_")
    report = {**harness.stamp(__file__, argv), "repeat": args.repeat, "runs": []}
    try:
        for size in [harness.parse_count(s) for s in args.sizes.split(",")]:
            for shape in harness.names(args.shapes, synthetic.SHAPES, "--shapes"):
                name = f"syn-{shape}-{harness.count_text(size)}"
                if not os.path.exists(os.path.join(workdir, name, f"{name}.inter")):
                    synthetic.inter_file(workdir, name, size, shape, args.seed)
                report["runs"].append({"shape": shape, "size": size, **measure(workdir, name, args.m, args.repeat)})
                print(name, json.dumps(report["runs"][-1]), flush=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    stamp = {k: report[k] for k in RUN}
    return {"apen_speed": lambda old: {**report, "runs": harness.stamped_merge(old, report["runs"], row_key, stamp,
                                                                                "runs")}}


def row_key(row):
    """What a row stands for: --sizes 1M or --shapes long replaces those rows and keeps the others."""
    return row["shape"], row["size"], row["stats"]["apen"]["m"]


def main(argv=None):
    parser = harness.parser(__doc__)
    parser.add_argument("--sizes", default="1M,10M")
    parser.add_argument("--shapes", default="amazon,long")
    parser.add_argument("--m", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2, help="in-process ApEn timings (best of)")
    parser.add_argument("--workdir", default=None, help="where the .inter files go (default: a temporary folder, removed)")
    parser.add_argument("--seed", type=int, default=0)
    return harness.run(parser, argv, lambda args: run(args, argv), pages)


if __name__ == "__main__":
    sys.exit(main())
