"""Next-item + feedback decomposition (ARGUS): which head helps which task, on ratings data.

    python benchmarks/feedback.py [--quick] [--datasets ml-100k,gift_cards] [--seeds 0,1,2]
                                  [--variants plain,next-item,feedback,both,both-liked] [--sweep] [--replace] [--render]

IDTransformer trained as each variant (VARIANTS: items only; ratings read, next-item head; feedback head alone,
liked = rating >= 4, selected on validation AUC; both heads; both, the next-item loss on liked targets), every seed,
leave-one-out, full ranking. ``--sweep``: four sizes of ``both`` on ml-100k through the scaling toolkit, both
heads' metrics fitted against training FLOPs (figures in docs/results/feedback_sweep/).
Each run is written to the results file as it finishes, in place of an earlier run of the same dataset, variant and
seed, naming its command; the file's other runs and its sweep are kept (``--replace`` starts the file over), and a
variant of fewer seeds than the others says so.
"""

import json
import os
import shlex
import sys
import tempfile
import time

import harness
from recbole_srt.trials import records, run_tracked

VARIANTS = {
    "plain": {"feedback_input": False, "feedback_weight": 0.0},
    "next-item": {"feedback_weight": 0.0},
    "feedback": {"next_item_weight": 0.0, "feedback_weight": 1.0, "valid_metric": "feedback_auc"},
    "both": {"feedback_weight": 1.0},
    "both-liked": {"feedback_weight": 1.0, "next_item_targets": "liked"},
}
COMMON = {"feedback_field": "rating", "eval_args": {"mode": "full"}, "topk": [10], "valid_metric": "ndcg@10",
          "show_progress": False, "state": "ERROR", "log_dir": None, "tensorboard_dir": None}
BUDGET = {"full": {"epochs": 40, "stopping_step": 5}, "quick": {"epochs": 4, "stopping_step": 5}}
METRICS = ["ndcg@10", "hit@10", "feedback_auc", "feedback_logloss", "feedback_auc_item_mean",
           "liked_ndcg@10", "liked_ndcg@10_reranked"]
SWEEP_PRESETS = "L4-H2-D64,L2-H2-D128,L4-H2-D128,L8-H4-D128"


def train_one(dataset, variant, seed, budget, scratch):
    from recbole_srt.model.sizes import parameter_counts

    config_dict = {**COMMON, **VARIANTS[variant], **budget, "seed": seed, "checkpoint_dir": scratch}
    if dataset != "ml-100k":
        config_dict["data_path"] = harness.prepare(dataset)
    run = harness.fit("IDTransformer", dataset, config_dict)
    trainer = run.trainer
    test = trainer.evaluate(run.test_data, load_best_model=True)
    metric = config_dict["valid_metric"]
    history = trainer.history
    best = max(range(len(history)), key=lambda e: history[e].get(metric, -1.0)) if history else 0
    return {
        "dataset": dataset, "variant": variant, "seed": seed,
        "test": {k: float(test[k]) for k in METRICS + ["liked_users"] if k in test},
        "epochs_run": len(history), "epochs_to_best": best + 1, "valid_metric": metric,
        "seconds_per_epoch": round(trainer.train_seconds / max(1, len(history)), 2),
        "parameters": parameter_counts(run.model)["total"],
        "liked_share_of_test": float(test["liked_users"]) / len(run.test_data.dataset),
    }


def by_variant(runs):
    """{dataset: {variant: [indices of its runs]}}, in the order the runs were made."""
    out = {}
    for i, row in enumerate(runs):
        out.setdefault(row["dataset"], {}).setdefault(row["variant"], []).append(i)
    return out


def run_sweep(quick, out_dir):
    """Four sizes of the joint model on ml-100k through the scaling toolkit; fits of both heads.
    The sweep's results file stays under saved/ (git-ignored): rerunning resumes it."""
    results = os.path.join(harness.paths.SAVED, "feedback_sweep", "quick.jsonl" if quick else "full.jsonl")
    os.makedirs(os.path.dirname(results), exist_ok=True)
    epochs = 3 if quick else 20
    presets = "L4-H2-D64,L2-H2-D128" if quick else SWEEP_PRESETS
    sets = [f"{k}={v}" for k, v in {"feedback_field": "rating", "feedback_weight": 1.0, "topk": "[10]",
                                    "valid_metric": "ndcg@10", "eval_args": "{'mode':'full'}",
                                    "epochs": epochs, "stopping_step": 5}.items()]
    scaling = [sys.executable, "-m", "recbole_srt.scaling"]
    sweep = scaling + ["sweep", "--datasets", "ml-100k", "--presets", presets, "--model", "IDTransformer",
                       "--results", results] + [a for s in sets for a in ("--set", s)]
    run_tracked(sweep, check=True, cwd=harness.paths.ROOT)  # a stopped study stops its sweep, and the sweep its trial
    fit_file = os.path.join(out_dir, "feedback_sweep_fit.json" if not quick else "feedback_sweep_fit_quick.json")
    metrics = "ndcg@10,feedback_auc,liked_ndcg@10_reranked"
    run_tracked(scaling + ["fit", "--results", results, "--metrics", metrics, "--holdout", "0",
                              "--bootstrap", "50", "--out", fit_file], check=True, cwd=harness.paths.ROOT)
    if not quick:
        run_tracked(scaling + ["plot", "--results", results, "--metrics", metrics,  # figures beside the page
                                  "--out", os.path.join(harness.paths.DOCS, "feedback_sweep")], check=True,
                       cwd=harness.paths.ROOT)
    points = []
    for record in records(results):  # recbole_srt.trials
        if record.get("status") == "ok":
            best = max(record["history"], key=lambda h: h.get("ndcg@10", -1))
            points.append({"preset": record["preset"], "non_embedding_parameters": record["non_embedding_parameters"],
                           "train_flops_at_best": best["train_flops"], "epochs": len(record["history"]),
                           **{m: best.get(m) for m in metrics.split(",")},
                           "test": {m: record["test_result"].get(m) for m in metrics.split(",")}})
    fits = harness.load(fit_file)
    sweep_command = " ".join(shlex.quote(a) for a in sweep[1:]).replace(results, "<results.jsonl>")
    return {"points": sorted(points, key=lambda p: p["non_embedding_parameters"]), "fits": fits,
            "command": "python " + sweep_command}


STAMP = ("date", "machine", "command")  # what each run keeps of the command that made it


def run_line(run):
    return f"{harness.describe(run['machine'])}; {run['date']}; `{run['command']}`."


def markdown(result):
    runs, n = result["runs"], len(result["seeds"])
    # runs of several commands: each is listed, and a column says which made a variant's runs
    header, numbers = harness.runs_section(harness.runs_of(result, STAMP, "runs"), run_line)
    about = (f"{result['wall_seconds'] / 60:.0f} min. IDTransformer (hidden 64, 2 layers), leave-one-out, full "
             "ranking; liked = rating ≥ 4; mean ± sd over seeds " + ",".join(map(str, result["seeds"])) + ".")
    lines = ["# Next-item + feedback (ARGUS) on ratings data", "",
             *([f"{harness.describe(result['machine'])}; {result['date']}; {result['mode']} mode; "
                f"`{result['command']}`; {about}"] if numbers is None else
               [f"{result['mode']} mode; {about} Runs from:", "", *header]), ""]
    for dataset, variants in by_variant(runs).items():
        cells = []
        for variant, mine in variants.items():
            seeds = len({runs[i]["seed"] for i in mine})
            values = {m: [runs[i]["test"][m] for i in mine if m in runs[i]["test"]] for m in METRICS}
            # a variant of fewer seeds than the file's (a command that named some) says so: its mean is of those
            cells.append([variant + (f" ({seeds} of {n} seeds)" if seeds < n else "")] +
                         [harness.mean_sd_text(values[m]) if values[m] else "–" for m in METRICS])
        made = None if numbers is None else [", ".join(str(k) for k in sorted({numbers[i] for i in mine}))
                                             for mine in variants.values()]
        lines += [f"## {dataset}", ""] + harness.table(*harness.run_column(["variant"] + METRICS, cells, made)) + [""]
    if "sweep" in result:
        sweep = result["sweep"]
        lines += ["## Sizes (both heads, ml-100k, one seed)", "", f"`{sweep['command']}`", ""] + harness.table(
            ["preset", "non-embedding params", "train FLOPs at best", "valid ndcg@10", "valid feedback_auc",
             "test ndcg@10", "test feedback_auc"],
            [[p["preset"], f"{p['non_embedding_parameters']:,}", f"{p['train_flops_at_best']:.3g}", f"{p['ndcg@10']:.4f}",
              f"{p['feedback_auc']:.4f}", f"{p['test']['ndcg@10']:.4f}", f"{p['test']['feedback_auc']:.4f}"]
             for p in sweep["points"]]) + [""]
    return "\n".join(lines) + "\n"


def pages(results=None):
    return harness.rendered(markdown, ("feedback", "feedback_quick"), results)


def run(args, argv):
    import torch

    mode = "quick" if args.quick else "full"
    datasets = (args.datasets or ("ml-100k" if args.quick else "ml-100k,gift_cards")).split(",")
    seeds = harness.ints(args.seeds or ("0" if args.quick else "0,1,2"), "--seeds")
    variants = harness.names(args.variants, VARIANTS, "--variants")
    torch.set_num_threads(os.cpu_count() or 1)
    name = "feedback_quick" if args.quick else "feedback"
    started, last, stamp = False, time.time(), harness.stamp(__file__, argv)

    def change(previous, rows=(), sweep=None):
        """The file with ``rows`` in place of its runs of the same dataset, variant and seed, the others kept (a
        command that names some of them adds to the study), and ``sweep`` in place of its sweep."""
        nonlocal started, last
        previous = {} if not previous or (args.replace and not started) else previous
        # The command writes many times: it joins the file's commands once, and adds only its time since the last
        # write (whole seconds, the rest carried to the next)
        command = previous.get("command") if started else \
            "; ".join(c for c in (previous.get("command"), stamp["command"]) if c)
        elapsed = round(time.time() - last)
        started, last = True, last + elapsed
        # each run names this command (runs of several commands share the file); an earlier one without its own,
        # the file's commands
        runs = harness.stamped_merge(previous, rows, lambda r: (r["dataset"], r["variant"], r["seed"]), stamp, "runs")
        result = {"mode": mode, **stamp, "seeds": sorted({r["seed"] for r in runs}), "command": command, "runs": runs,
                  "wall_seconds": elapsed + previous.get("wall_seconds", 0)}
        if sweep or "sweep" in previous:
            result["sweep"] = sweep or previous["sweep"]
        return result

    results = os.path.join(harness.paths.RESULTS, name + ".json")
    os.makedirs(harness.paths.SAVED, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=harness.paths.SAVED) as scratch:
        for dataset in datasets:
            for variant in variants:
                for seed in seeds:
                    row = train_one(dataset, variant, seed, BUDGET[mode], scratch)
                    print(json.dumps(row), flush=True)
                    # written as it finishes: a stopped study keeps every run it finished
                    harness.update(results, lambda old: change(old, [row]))
    sweep = run_sweep(args.quick, harness.paths.RESULTS) if args.sweep else None
    return {name: lambda old: change(old, sweep=sweep)}


def main(argv=None):
    parser = harness.parser(__doc__, quick="ml-100k, one seed, 4 epochs (a few minutes)")
    parser.add_argument("--datasets", default=None, help="default ml-100k,gift_cards (quick: ml-100k)")
    parser.add_argument("--seeds", default=None, help="default 0,1,2 (quick: 0)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--sweep", action="store_true", help="also the four-size sweep of the joint model")
    kept = parser.add_mutually_exclusive_group()
    kept.add_argument("--merge", action="store_true",
                      help="the default now (the file's other runs and sweep are kept); accepted for older commands")
    kept.add_argument("--replace", action="store_true",
                      help="start the results file over: drop its earlier runs and sweep")
    return harness.run(parser, argv, lambda args: run(args, argv), pages)


if __name__ == "__main__":
    sys.exit(main())
