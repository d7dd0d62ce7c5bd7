"""Seconds of one evaluation: full ranking against uniN with fixed negatives and with RecBole's loader.

    python benchmarks/eval_speed.py [--quick] [--datasets ml-100k,beauty] [--modes full,uni1000,uni10000]

SRT (the README's defaults, untrained: timing does not depend on the weights) evaluated on the
validation split through the plugin's trainer, each mode timed ``--repeats`` times (best kept):
``eval_negatives: fixed`` (one row per user, negatives fixed per user) and ``eval_negatives: recbole``
(RecBole's NegSampleEvalDataLoader: one row per candidate, resampled every evaluation; the time
includes its sampling and row building, which happen while iterating). Beauty is prepared from
../shared/data/amazon/Beauty with benchmarks/table1.py's prepare(). Writes
benchmarks/results/eval_speed.json and .md (``--quick``: eval_speed-quick.*).
"""

import argparse
import json
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import recbole_srt  # noqa: E402,F401  (compatibility shims first)
import torch  # noqa: E402

from recbole_srt.build import build_run, load_config  # noqa: E402

DATA = os.path.join(ROOT, "saved", "data")


def time_evaluation(dataset, mode, negatives, repeats, scratch):
    options = {"eval_args": {"mode": mode}, "eval_negatives": negatives, "show_progress": False, "state": "ERROR",
               "log_dir": None, "checkpoint_dir": scratch, "tokenizer_dir": os.path.join(scratch, "tokenizers")}
    if dataset != "ml-100k":
        options["data_path"] = DATA
    run = build_run(load_config("SRT", dataset, config_dict=options))
    seconds, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run.trainer.evaluate(run.valid_data, load_best_model=False)
        seconds.append(time.perf_counter() - start)
    return {"dataset": dataset, "mode": mode, "eval_negatives": negatives, "seconds": round(min(seconds), 3),
            "users": len(run.valid_data.dataset), "items": run.valid_data.dataset.item_num - 1,
            "ndcg@5": float(result["ndcg@5"]), "loader": type(run.valid_data).__name__}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="ml-100k only, one repeat")
    parser.add_argument("--datasets", default=None, help="default ml-100k,beauty (quick: ml-100k)")
    parser.add_argument("--modes", default="full,uni100,uni1000,uni10000")
    parser.add_argument("--repeats", type=int, default=None, help="default 3 (quick: 1)")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    args = parser.parse_args()
    datasets = (args.datasets or ("ml-100k" if args.quick else "ml-100k,beauty")).split(",")
    repeats = args.repeats or (1 if args.quick else 3)
    if "beauty" in datasets:
        from table1 import prepare

        prepare(DATA)
    scratch = os.path.join(ROOT, "saved", "eval_speed")
    rows = []
    for dataset in datasets:
        for mode in args.modes.split(","):
            for negatives in (("fixed",) if mode == "full" else ("fixed", "recbole")):
                row = time_evaluation(dataset, mode, negatives, repeats, scratch)
                print(json.dumps(row), flush=True)
                rows.append(row)
    full = {r["dataset"]: r["seconds"] for r in rows if r["mode"] == "full"}
    for row in rows:
        if row["dataset"] in full:
            row["x_full"] = round(row["seconds"] / full[row["dataset"]], 2)
    result = {"date": time.strftime("%Y-%m-%d"), "repeats": repeats,
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
                         f"{torch.get_num_threads()} threads",
              "command": "python benchmarks/eval_speed.py " + " ".join(sys.argv[1:]), "rows": rows}
    stem = os.path.join(args.out, "eval_speed-quick" if args.quick else "eval_speed")
    os.makedirs(args.out, exist_ok=True)
    with open(stem + ".json", "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    lines = ["# One validation evaluation of SRT: seconds", "",
             f"{result['machine']}; {result['date']}; `{result['command']}`; best of {repeats}.", "",
             "| dataset | mode | eval_negatives | loader | seconds | × full | users | items | ndcg@5 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['dataset']} | {r['mode']} | {r['eval_negatives']} | {r['loader']} | {r['seconds']:.2f} | "
                     f"{r.get('x_full', float('nan')):.2f} | {r['users']:,} | {r['items']:,} | {r['ndcg@5']:.4f} |")
    with open(stem + ".md", "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
