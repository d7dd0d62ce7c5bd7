"""Next-item + feedback decomposition (ARGUS): which head helps which task, on ratings data.

    python benchmarks/feedback.py [--quick] [--datasets ml-100k,gift_cards] [--seeds 0,1,2]
                                  [--variants plain,next-item,feedback,both,both-liked] [--sweep]

One model (IDTransformer: ID items, SASRec backbone, full cross-entropy) trained as
- ``plain``: items only (no feedback anywhere), the model of today;
- ``next-item``: reads each item with the user's rating, next-item head only;
- ``feedback``: reads ratings, feedback head only (liked = rating >= 4), selected on validation AUC;
- ``both``: both heads, loss weights 1 and 1, selected on validation NDCG@10;
- ``both-liked``: both heads, the next-item loss on liked targets only.
Leave-one-out, full ranking, up to 40 epochs with early stopping after 5 validations without gain
(4 epochs in quick mode), each variant with every seed; test NDCG@10 / HIT@10, feedback AUC and
log loss of the held-out interaction, the per-item-mean-rating AUC baseline, and NDCG@10 of liked
held-out items before and after re-ranking the top 100 by P(item) x P(like | item).

``--sweep`` also runs the scaling toolkit over four model sizes of ``both`` on ml-100k and fits
both heads' metrics against training FLOPs (``python -m recbole_srt.scaling sweep`` / ``fit`` /
``plot``). Writes benchmarks/results/feedback.json and .md (``--quick``: feedback_quick.*).
Gift_Cards is prepared from ../shared/data/amazon/Gift_Cards with dataset_prep (once).
"""

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import recbole_srt  # noqa: E402,F401  (compatibility shims first)
import torch  # noqa: E402

from recbole_srt.build import build_run, load_config  # noqa: E402
from recbole_srt.model.sizes import parameter_counts  # noqa: E402

GIFT_CARDS = os.path.join(ROOT, "..", "shared", "data", "amazon", "Gift_Cards", "AmazonSearchEngine")
DATA = os.path.join(ROOT, "saved", "data")
VARIANTS = {
    "plain": {"feedback_input": False, "feedback_weight": 0.0},
    "next-item": {"feedback_weight": 0.0},
    "feedback": {"next_item_weight": 0.0, "feedback_weight": 1.0, "valid_metric": "feedback_auc"},
    "both": {"feedback_weight": 1.0},
    "both-liked": {"feedback_weight": 1.0, "next_item_targets": "liked"},
}
COMMON = {"feedback_field": "rating", "eval_args": {"mode": "full"}, "topk": [10], "valid_metric": "ndcg@10",
          "show_progress": False, "state": "ERROR", "log_dir": None}
BUDGET = {"full": {"epochs": 40, "stopping_step": 5}, "quick": {"epochs": 4, "stopping_step": 5}}
METRICS = ["ndcg@10", "hit@10", "feedback_auc", "feedback_logloss", "feedback_auc_item_mean",
           "liked_ndcg@10", "liked_ndcg@10_reranked"]
SWEEP_PRESETS = "L4-H2-D64,L2-H2-D128,L4-H2-D128,L8-H4-D128"


def prepare_gift_cards():
    if os.path.isfile(os.path.join(DATA, "gift_cards", "gift_cards.inter")):
        return DATA
    reviews = os.path.join(GIFT_CARDS, "Gift_Cards_5.json.gz")
    if not os.path.isfile(reviews):
        raise SystemExit(f"Gift_Cards is read from {reviews}, which does not exist")
    from dataset_prep.convert import convert

    convert(reviews, "gift_cards", DATA, meta=os.path.join(GIFT_CARDS, "meta_Gift_Cards.json.gz"), progress=False)
    return DATA


def train_one(dataset, variant, seed, budget, scratch):
    config_dict = {**COMMON, **VARIANTS[variant], **budget, "seed": seed, "checkpoint_dir": scratch}
    if dataset != "ml-100k":
        config_dict["data_path"] = prepare_gift_cards()
    run = build_run(load_config("IDTransformer", dataset, config_dict=config_dict))
    trainer = run.trainer
    trainer.fit(run.train_data, run.valid_data, saved=True)
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


def summarise(rows):
    """{dataset: {variant: {metric: [mean, sd, n]}}} over seeds."""
    out = {}
    for row in rows:
        cell = out.setdefault(row["dataset"], {}).setdefault(row["variant"], {})
        for metric, value in row["test"].items():
            cell.setdefault(metric, []).append(value)
    for variants in out.values():
        for metrics in variants.values():
            for metric, values in metrics.items():
                values = np.array(values, dtype=float)
                metrics[metric] = [float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0, len(values)]
    return out


def run_sweep(quick, out_dir):
    """Four sizes of the joint model on ml-100k through the scaling toolkit; fits of both heads.
    The sweep's results file stays under saved/ (git-ignored): rerunning resumes it."""
    results = os.path.join(ROOT, "saved", "feedback_sweep", "quick.jsonl" if quick else "full.jsonl")
    os.makedirs(os.path.dirname(results), exist_ok=True)
    epochs = 3 if quick else 20
    presets = "L4-H2-D64,L2-H2-D128" if quick else SWEEP_PRESETS
    sets = [f"{k}={v}" for k, v in {"feedback_field": "rating", "feedback_weight": 1.0, "topk": "[10]",
                                    "valid_metric": "ndcg@10", "eval_args": "{'mode':'full'}",
                                    "epochs": epochs, "stopping_step": 5}.items()]
    scaling = [sys.executable, "-m", "recbole_srt.scaling"]
    sweep = scaling + ["sweep", "--datasets", "ml-100k", "--presets", presets, "--model", "IDTransformer",
                       "--results", results] + [a for s in sets for a in ("--set", s)]
    subprocess.run(sweep, check=True, cwd=ROOT)
    fit_file = os.path.join(out_dir, "feedback_sweep_fit.json" if not quick else "feedback_sweep_fit_quick.json")
    metrics = "ndcg@10,feedback_auc,liked_ndcg@10_reranked"
    subprocess.run(scaling + ["fit", "--results", results, "--metrics", metrics, "--holdout", "0",
                              "--bootstrap", "50", "--out", fit_file], check=True, cwd=ROOT)
    if not quick:
        subprocess.run(scaling + ["plot", "--results", results, "--metrics", metrics,
                                  "--out", os.path.join(out_dir, "feedback_sweep")], check=True, cwd=ROOT)
    points = []
    with open(results, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if record.get("status") != "ok":
                continue
            best = max(record["history"], key=lambda h: h.get("ndcg@10", -1))
            points.append({"preset": record["preset"], "non_embedding_parameters": record["non_embedding_parameters"],
                           "train_flops_at_best": best["train_flops"], "epochs": len(record["history"]),
                           **{m: best.get(m) for m in metrics.split(",")},
                           "test": {m: record["test_result"].get(m) for m in metrics.split(",")}})
    with open(fit_file, encoding="utf-8") as f:
        fits = json.load(f)
    sweep_command = " ".join(shlex.quote(a) for a in sweep[1:]).replace(results, "<results.jsonl>")
    return {"points": sorted(points, key=lambda p: p["non_embedding_parameters"]), "fits": fits,
            "command": "python " + sweep_command}


def fmt(cell, key):
    if key not in cell:
        return "–"
    mean, sd, n = cell[key]
    return f"{mean:.4f} ± {sd:.4f}" if n > 1 else f"{mean:.4f}"


def markdown(result):
    lines = ["# Next-item + feedback (ARGUS) on ratings data", "",
             f"{result['machine']}; {result['date']}; {result['mode']} mode; `{result['command']}`; "
             f"{result['wall_seconds'] / 60:.0f} min. IDTransformer (hidden 64, 2 layers), leave-one-out, full "
             "ranking; liked = rating ≥ 4; mean ± sd over seeds " + ",".join(map(str, result["seeds"])) + ".", ""]
    header = ["variant"] + METRICS
    for dataset, variants in result["summary"].items():
        lines += [f"## {dataset}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for variant, cell in variants.items():
            lines.append(f"| {variant} | " + " | ".join(fmt(cell, m) for m in METRICS) + " |")
        lines.append("")
    if "sweep" in result:
        sweep = result["sweep"]
        lines += ["## Sizes (both heads, ml-100k, one seed)", "", f"`{sweep['command']}`", "",
                  "| preset | non-embedding params | train FLOPs at best | valid ndcg@10 | valid feedback_auc | "
                  "test ndcg@10 | test feedback_auc |", "|---|---|---|---|---|---|---|"]
        for p in sweep["points"]:
            lines.append(f"| {p['preset']} | {p['non_embedding_parameters']:,} | {p['train_flops_at_best']:.3g} | "
                         f"{p['ndcg@10']:.4f} | {p['feedback_auc']:.4f} | {p['test']['ndcg@10']:.4f} | "
                         f"{p['test']['feedback_auc']:.4f} |")
        lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="ml-100k, one seed, 4 epochs (a few minutes)")
    parser.add_argument("--datasets", default=None, help="default ml-100k,gift_cards (quick: ml-100k)")
    parser.add_argument("--seeds", default=None, help="default 0,1,2 (quick: 0)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--sweep", action="store_true", help="also the four-size sweep of the joint model")
    parser.add_argument("--merge", action="store_true", help="keep the runs (and sweep) already in the results file")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    datasets = (args.datasets or ("ml-100k" if args.quick else "ml-100k,gift_cards")).split(",")
    seeds = [int(s) for s in (args.seeds or ("0" if args.quick else "0,1,2")).split(",")]
    variants = [v for v in args.variants.split(",") if v]
    for name in variants:
        if name not in VARIANTS:
            raise SystemExit(f"--variants: unknown '{name}'; known: {', '.join(VARIANTS)}")
    torch.set_num_threads(os.cpu_count() or 1)
    start, rows = time.time(), []
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, "feedback_quick" if args.quick else "feedback")
    previous = {}
    if args.merge and os.path.isfile(stem + ".json"):
        with open(stem + ".json", encoding="utf-8") as f:
            previous = json.load(f)
        rows = list(previous["runs"])
    with tempfile.TemporaryDirectory(dir=os.path.join(ROOT, "saved") if os.path.isdir(os.path.join(ROOT, "saved"))
                                     else None) as scratch:
        for dataset in datasets:
            for variant in variants:
                for seed in seeds:
                    row = train_one(dataset, variant, seed, BUDGET[mode], scratch)
                    print(json.dumps(row), flush=True)
                    rows.append(row)
        command = "python benchmarks/feedback.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        result = {"mode": mode, "date": time.strftime("%Y-%m-%d"), "seeds": sorted({r["seed"] for r in rows}),
                  "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}",
                  "command": "; ".join(c for c in (previous.get("command"), command) if c),
                  "runs": rows, "summary": summarise(rows)}
        if args.sweep:
            result["sweep"] = run_sweep(args.quick, args.out)
        elif "sweep" in previous:
            result["sweep"] = previous["sweep"]
    result["wall_seconds"] = round(time.time() - start) + previous.get("wall_seconds", 0)
    with open(stem + ".json", "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    with open(stem + ".md", "w", encoding="utf-8") as f:
        f.write(markdown(result) + "\n")
    print(markdown(result))


if __name__ == "__main__":
    main()
