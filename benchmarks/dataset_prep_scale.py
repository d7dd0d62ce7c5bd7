"""dataset_prep at scale: synthetic dumps in the real formats, lines per second and peak memory per stage.

    python benchmarks/dataset_prep_scale.py [--sizes 1M,10M] [--format 2014] [--workdir /tmp/dataset_prep_bench]

Per size: a synthetic dump (synthetic.py, written once), then ``python -m dataset_prep convert --kcore 5`` and
``subsets``, each in a fresh process; with two sizes or more, the full 2014 release projected linearly from the
two largest (time and memory grow with lines, users and items, which keep the release's ratios here).
"""

import argparse
import json
import os
import shutil
import sys
import time

import harness
from synthetic import amazon_dump

FULL_REVIEWS, FULL_META = 82.7e6, 9.4e6


def bench(size_label, fmt, workdir):
    n_lines = harness.parse_count(size_label)
    folder = os.path.join(workdir, f"{fmt}-{size_label}")
    marker = os.path.join(folder, "shape.json")
    if not os.path.isfile(marker):
        os.makedirs(folder, exist_ok=True)
        start = time.perf_counter()
        reviews, meta, shape = amazon_dump(folder, n_lines, fmt)
        shape.update(reviews=reviews, meta=meta, seconds=round(time.perf_counter() - start, 1))
        with open(marker, "w") as f:
            json.dump(shape, f)
    with open(marker) as f:
        shape = json.load(f)
    out = os.path.join(folder, "out")
    shutil.rmtree(out, ignore_errors=True)
    prep = [sys.executable, "-m", "dataset_prep"]
    convert_s, convert_mb, _ = harness.child(prep + ["convert", "--reviews", shape["reviews"], "--meta", shape["meta"],
                                                     "--name", "synthetic", "--out", out, "--kcore", "5", "--quiet"])
    stats = harness.load(os.path.join(out, "synthetic", "stats.json"))
    sizes = [s for s in ("10K", "100K", "1M", "5M") if harness.parse_count(s) < stats["interactions"]]
    subsets_s, subsets_mb, _ = harness.child(prep + ["subsets", "--dataset", os.path.join(out, "synthetic"), "--sizes",
                                                     ",".join(sizes), "--seed", "0"])
    # Each stage resets the kernel's peak (VmHWM), which the exit status's ru_maxrss then misses:
    # the process peak is the largest stage peak.
    convert_mb = max([convert_mb] + [rec["peak_rss_mb"] for rec in stats["stages"].values()])
    return {"size": size_label, "format": fmt, "lines": n_lines, "meta_lines": shape["items"], "shape": shape,
            "stages": stats["stages"], "convert": {"seconds": round(convert_s, 1), "peak_rss_mb": round(convert_mb)},
            "subsets": {"sizes": sizes, "seconds": round(subsets_s, 1), "peak_rss_mb": round(subsets_mb)},
            "kept": {k: stats[k] for k in ("interactions", "users", "items")}}


def table(results):
    rows = []
    for res in results:
        rows += [[res["size"], stage, rec["seconds"], f"{rec['lines_per_second']:,}" if "lines_per_second" in rec else "",
                  f"{rec['peak_rss_mb']:,.0f}"] for stage, rec in res["stages"].items()]
        rows.append([res["size"], "**convert, whole process**", res["convert"]["seconds"],
                     f"{res['lines'] / res['convert']['seconds']:,.0f}", f"{res['convert']['peak_rss_mb']:,}"])
        rows.append([res["size"], f"subsets {','.join(res['subsets']['sizes'])}", res["subsets"]["seconds"], "",
                     f"{res['subsets']['peak_rss_mb']:,}"])
    return "\n".join(harness.table(["lines", "stage", "seconds", "lines/s", "peak RSS (MB)"], rows))


def project(small, large):
    """Linear in lines through the two largest runs (the metadata stage in metadata lines)."""
    def line(a, b, x_a=small["lines"], x_b=large["lines"], x=FULL_REVIEWS):
        return b + (b - a) / (x_b - x_a) * (x - x_b)

    seconds = sum(max(rec["seconds"], line(small["stages"][stage]["seconds"], rec["seconds"],
                                           *((small["meta_lines"], large["meta_lines"], FULL_META)
                                             if stage == "metadata" else ())))
                  for stage, rec in large["stages"].items())
    peak = line(small["convert"]["peak_rss_mb"], large["convert"]["peak_rss_mb"])
    sub_s, sub_mb = (line(small["subsets"][k], large["subsets"][k]) for k in ("seconds", "peak_rss_mb"))
    return {"convert_minutes": round(seconds / 60, 1), "convert_peak_gb": round(peak / 1024, 1),
            "subsets_minutes": round(sub_s / 60, 1), "subsets_peak_gb": round(sub_mb / 1024, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
