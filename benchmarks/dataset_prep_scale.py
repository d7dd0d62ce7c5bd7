"""dataset_prep at scale: synthetic dumps in the real formats, lines per second and peak memory per stage.

    python benchmarks/dataset_prep_scale.py [--sizes 1M,10M] [--format 2014] [--workdir /tmp/dataset_prep_bench]

For each size it writes (once, then reuses) a synthetic reviews + metadata dump shaped like the full 2014
release (benchmarks/synthetic_amazon.py), runs ``python -m dataset_prep convert --kcore 5`` and
``python -m dataset_prep subsets`` each in a fresh process, and prints the stages recorded in stats.json
(seconds, lines per second, peak resident memory) and each command's wall time and peak memory.
With two or more sizes it projects the full release (82.7M review lines, 9.4M metadata lines, 21.2M users,
9.9M items) linearly from the two largest runs: time and memory both grow with lines, users and items,
which keep the release's ratios here.
"""

import argparse
import json
import os
import shutil
import sys
import time

import harness
from synthetic_amazon import write_dump

FULL_REVIEWS, FULL_META = 82.7e6, 9.4e6


def run(command):
    """(wall seconds, peak RSS in MB) of a child process."""
    return harness.child(command)[:2]


def bench(size_label, fmt, workdir):
    n_lines = harness.parse_count(size_label)
    folder = os.path.join(workdir, f"{fmt}-{size_label}")
    marker = os.path.join(folder, "shape.json")
    if not os.path.isfile(marker):
        os.makedirs(folder, exist_ok=True)
        start = time.perf_counter()
        reviews, meta, shape = write_dump(folder, n_lines, fmt)
        shape.update(reviews=reviews, meta=meta, seconds=round(time.perf_counter() - start, 1))
        with open(marker, "w") as f:
            json.dump(shape, f)
    with open(marker) as f:
        shape = json.load(f)
    out = os.path.join(folder, "out")
    shutil.rmtree(out, ignore_errors=True)
    convert_s, convert_mb = run([sys.executable, "-m", "dataset_prep", "convert", "--reviews", shape["reviews"],
                                 "--meta", shape["meta"], "--name", "synthetic", "--out", out, "--kcore", "5",
                                 "--quiet"])
    stats = harness.load(os.path.join(out, "synthetic", "stats.json"))
    sizes = [s for s in ("10K", "100K", "1M", "5M") if harness.parse_count(s) < stats["interactions"]]
    subsets_s, subsets_mb = run([sys.executable, "-m", "dataset_prep", "subsets", "--dataset",
                                 os.path.join(out, "synthetic"), "--sizes", ",".join(sizes), "--seed", "0"])
    # Each stage resets the kernel's peak (VmHWM), which the exit status's ru_maxrss then misses:
    # the process peak is the largest stage peak.
    convert_mb = max([convert_mb] + [rec["peak_rss_mb"] for rec in stats["stages"].values()])
    return {"size": size_label, "format": fmt, "lines": n_lines, "meta_lines": shape["items"], "shape": shape,
            "stages": stats["stages"], "convert": {"seconds": round(convert_s, 1), "peak_rss_mb": round(convert_mb)},
            "subsets": {"sizes": sizes, "seconds": round(subsets_s, 1), "peak_rss_mb": round(subsets_mb)},
            "kept": {k: stats[k] for k in ("interactions", "users", "items")}}


def table(results):
    rows = ["| lines | stage | seconds | lines/s | peak RSS (MB) |", "|---|---|---|---|---|"]
    for res in results:
        for stage, rec in res["stages"].items():
            rate = f"{rec['lines_per_second']:,}" if "lines_per_second" in rec else ""
            rows.append(f"| {res['size']} | {stage} | {rec['seconds']} | {rate} | {rec['peak_rss_mb']:,.0f} |")
        rows.append(f"| {res['size']} | **convert, whole process** | {res['convert']['seconds']} | "
                    f"{res['lines'] / res['convert']['seconds']:,.0f} | {res['convert']['peak_rss_mb']:,} |")
        rows.append(f"| {res['size']} | subsets {','.join(res['subsets']['sizes'])} | {res['subsets']['seconds']} "
                    f"| | {res['subsets']['peak_rss_mb']:,} |")
    return "\n".join(rows)


def project(small, large):
    """Linear in lines through the two largest runs (metadata stage in metadata lines)."""
    def line(a, b, x_a, x_b, x):
        slope = (b - a) / (x_b - x_a)
        return b + slope * (x - x_b)

    seconds = 0.0
    for stage, rec in large["stages"].items():
        x_a, x_b, x = ((small["meta_lines"], large["meta_lines"], FULL_META) if stage == "metadata"
                       else (small["lines"], large["lines"], FULL_REVIEWS))
        seconds += max(rec["seconds"], line(small["stages"][stage]["seconds"], rec["seconds"], x_a, x_b, x))
    peak = line(small["convert"]["peak_rss_mb"], large["convert"]["peak_rss_mb"], small["lines"], large["lines"],
                FULL_REVIEWS)
    sub_s = line(small["subsets"]["seconds"], large["subsets"]["seconds"], small["lines"], large["lines"], FULL_REVIEWS)
    sub_mb = line(small["subsets"]["peak_rss_mb"], large["subsets"]["peak_rss_mb"], small["lines"], large["lines"],
                  FULL_REVIEWS)
    return {"convert_minutes": round(seconds / 60, 1), "convert_peak_gb": round(peak / 1024, 1),
            "subsets_minutes": round(sub_s / 60, 1), "subsets_peak_gb": round(sub_mb / 1024, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1M,10M")
    parser.add_argument("--format", default="2014", choices=["2014", "2018", "2023"])
    parser.add_argument("--workdir", default="/tmp/dataset_prep_bench")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    results = [bench(size, args.format, args.workdir) for size in args.sizes.split(",")]
    summary = {**harness.stamp(__file__), "results": results}
    print(f"\n{harness.describe(summary['machine'])}, {summary['date']}, format {args.format}\n")
    print(table(results))
    if len(results) >= 2:
        summary["projection"] = project(results[-2], results[-1])
        print("\nprojected for the full release (82.7M reviews, 9.4M metadata lines):",
              json.dumps(summary["projection"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
