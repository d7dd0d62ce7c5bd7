"""Seconds of one evaluation: full ranking against uniN with fixed negatives and with RecBole's loader.

    python benchmarks/eval_speed.py [--quick] [--datasets ml-100k,beauty] [--modes full,uni1000,uni10000] [--render]

SRT (the README's defaults, untrained: timing does not depend on the weights) evaluated on the
validation split through the plugin's trainer, each mode timed ``--repeats`` times (best kept):
``eval_negatives: fixed`` (one row per user, negatives fixed per user) and ``eval_negatives: recbole``
(RecBole's NegSampleEvalDataLoader: one row per candidate, resampled every evaluation; the time
includes its sampling and row building, which happen while iterating). Beauty is prepared from
../shared/data/amazon/Beauty. Writes benchmarks/results/eval_speed.json (``--quick``: eval_speed-quick.json)
and its page in docs/results/.
"""

import argparse
import json
import os
import time

import harness


def time_evaluation(dataset, mode, negatives, repeats, scratch):
    from recbole_srt.build import build_run, load_config

    options = {"eval_args": {"mode": mode}, "eval_negatives": negatives, "show_progress": False, "state": "ERROR",
               "log_dir": None, "tensorboard_dir": None, "checkpoint_dir": scratch, "tokenizer_dir": os.path.join(scratch, "tokenizers")}
    if dataset != "ml-100k":
        options["data_path"] = harness.prepare(dataset)
    run = build_run(load_config("SRT", dataset, config_dict=options))
    seconds, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run.trainer.evaluate(run.valid_data, load_best_model=False)
        seconds.append(time.perf_counter() - start)
    return {"dataset": dataset, "mode": mode, "eval_negatives": negatives, "seconds": round(min(seconds), 3),
            "users": len(run.valid_data.dataset), "items": run.valid_data.dataset.item_num - 1,
            "ndcg@5": float(result["ndcg@5"]), "loader": type(run.valid_data).__name__}


def markdown(result):
    lines = ["# One validation evaluation of SRT: seconds", "",
             f"{harness.describe(result['machine'])}; {result['date']}; `{result['command']}`; "
             f"best of {result['repeats']}.", ""]
    rows = [[r["dataset"], r["mode"], r["eval_negatives"], r["loader"], f"{r['seconds']:.2f}",
             f"{r.get('x_full', float('nan')):.2f}", f"{r['users']:,}", f"{r['items']:,}", f"{r['ndcg@5']:.4f}"]
            for r in result["rows"]]
    lines += harness.table(["dataset", "mode", "eval_negatives", "loader", "seconds", "× full", "users", "items",
                            "ndcg@5"], rows)
    return "\n".join(lines) + "\n"


def pages(results=None):
    return harness.rendered(markdown, ("eval_speed", "eval_speed-quick"), results)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="ml-100k only, one repeat")
    parser.add_argument("--datasets", default=None, help="default ml-100k,beauty (quick: ml-100k)")
    parser.add_argument("--modes", default="full,uni100,uni1000,uni10000")
    parser.add_argument("--repeats", type=int, default=None, help="default 3 (quick: 1)")
    parser.add_argument("--render", action="store_true", help="only write the pages again from the JSON")
    args = parser.parse_args(argv)
    if not args.render:
        datasets = (args.datasets or ("ml-100k" if args.quick else "ml-100k,beauty")).split(",")
        repeats = args.repeats or (1 if args.quick else 3)
        scratch = os.path.join(harness.paths.SAVED, "eval_speed")
        rows = []
        for dataset in datasets:
            for mode in args.modes.split(","):
                for negatives in (("fixed",) if mode == "full" else ("fixed", "recbole")):
                    rows.append(time_evaluation(dataset, mode, negatives, repeats, scratch))
                    print(json.dumps(rows[-1]), flush=True)
        full = {r["dataset"]: r["seconds"] for r in rows if r["mode"] == "full"}
        for row in rows:
            if row["dataset"] in full:
                row["x_full"] = round(row["seconds"] / full[row["dataset"]], 2)
        result = {**harness.stamp(__file__, argv), "repeats": repeats, "rows": rows}
        name = "eval_speed-quick" if args.quick else "eval_speed"
        harness.update(os.path.join(harness.paths.RESULTS, name + ".json"), lambda old: result)
    print("written:", *harness.publish(pages()))


if __name__ == "__main__":
    main()
