"""The paper's Beauty comparison (Tables 1 and 4): SRT-10/100/300/1K against RecBole's SASRec,
SASRec-CE and BERT4Rec on one split, with the same metrics, from one command.

    python benchmarks/beauty.py [--quick] [--models SRT-1K,SASRec-CE] [--time_budget MIN] [--threads N] [--merge]

Prepares the 2014 Beauty 5-core from ../shared/data/amazon/Beauty with dataset_prep (once), trains
every model with the plugin's driver functions (those behind run_recbole_srt.py) under full-ranking
leave-one-out with early stopping on validation NDCG@5, and writes <out>/beauty.json and beauty.md:
test NDCG@5 and HIT@5 under full ranking and against 10,000 sampled negatives, seconds per
training epoch, training targets per second, epochs to best, evaluation seconds, parameters,
SRT's model-FLOPs utilisation on this CPU, and the paper's figure beside each row.

All models share hidden size 64, 2 layers, 2 heads, inner size 256 and sequences of 50 (20 in quick mode).
``--quick`` trains few epochs (see QUICK) so that the whole run fits in 20 minutes on 2 cores; its
numbers show the protocol and the speed, not converged quality.
"""

import argparse
import ast
import fcntl
import json
import os
import platform
import shlex
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import recbole_srt  # noqa: E402,F401  (compatibility shims first)
import torch  # noqa: E402

from recbole_srt.build import build_run, load_config  # noqa: E402
from recbole_srt.scaling.presets import parameter_counts  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu_throughput import matmul_rate as shaped_matmul_rate  # noqa: E402

SHARED = os.path.join(ROOT, "..", "shared", "data", "amazon", "Beauty", "PLRec")
PAPER_NDCG5 = {"SASRec": 0.0241, "BERT4Rec": 0.0219, "SASRec-CE": 0.0314, "SRT-10": 0.0235, "SRT-100": 0.0318,
               "SRT-300": 0.0340, "SRT-1K": 0.0366}
PAPER_TABLE4 = {"SRT-1K": {"ndcg@5": 0.0360, "hit@5": 0.0611}}  # trained from scratch
SIZE = {"hidden_size": 64, "n_layers": 2, "n_heads": 2, "inner_size": 256, "MAX_ITEM_LIST_LENGTH": 50}
# RecBole 1.2.1's SASRec defaults to CE; the paper's SASRec row is the original binary loss with one
# sampled negative, which RecBole runs as BPR with one uniform negative.
ONE_NEGATIVE = {"distribution": "uniform", "sample_num": 1, "alpha": 1.0, "dynamic": False, "candidate_num": 0}
MODELS = {
    "SRT-10": ("SRT", {"num_negatives": 10}),
    "SRT-100": ("SRT", {"num_negatives": 100}),
    "SRT-300": ("SRT", {"num_negatives": 300}),
    "SRT-1K": ("SRT", {"num_negatives": 1000}),
    "SASRec": ("SASRec", {"loss_type": "BPR", "train_neg_sample_args": ONE_NEGATIVE}),
    "SASRec-CE": ("SASRec", {"loss_type": "CE"}),
    "BERT4Rec": ("BERT4Rec", {}),
}
FULL = {"SRT": {"epochs": 50, "stopping_step": 10}, "other": {"epochs": 200, "stopping_step": 10}}
# Quick: sequences of 20 (Beauty users average 8.9 items) for every model, 3 SRT epochs at lr 1e-3
# (the paper's 1e-4 needs its 50 epochs), one epoch of each baseline.
QUICK = {"SRT": {"epochs": 3, "learning_rate": 1e-3, "MAX_ITEM_LIST_LENGTH": 20},
         "other": {"epochs": 1, "MAX_ITEM_LIST_LENGTH": 20}}


def prepare(data_path):
    if os.path.isfile(os.path.join(data_path, "beauty", "beauty.inter")):
        return
    if not os.path.isdir(SHARED):
        raise SystemExit(f"the Beauty 5-core is read from {SHARED}, which does not exist")
    from dataset_prep.convert import convert

    convert(os.path.join(SHARED, "Beauty.txt"), "beauty", data_path, meta=os.path.join(SHARED, "item_description.csv"),
            progress=False)


def matmul_rate(seconds=2.0, n=1024):
    """Dense float32 matmul FLOP/s of this process (an n³ square): the denominator of MFU."""
    return shaped_matmul_rate(n, n, n, seconds)


@torch.no_grad()
def sampled_metrics(model, test_data, n_negatives=10_000, k=5, seed=0):
    """NDCG@k and HIT@k of the test item ranked against n_negatives items drawn uniformly, without
    replacement, from the catalog less the padding item and the test item, computed from one full
    score row per user instead of 10,001 repeated rows. Same seed for every model. RecBole gives no
    history index for sequential models, so the user's earlier items can be drawn (unlike RecBole's
    own uni10000 sampler, which excludes them)."""
    generator = torch.Generator().manual_seed(seed)
    ndcg = hit = users = 0.0
    for interaction, history_index, positive_u, positive_i in test_data:
        scores = model.full_sort_predict(interaction).view(len(interaction), -1).float()
        excluded = torch.zeros_like(scores, dtype=torch.bool)
        excluded[:, 0] = True
        if history_index is not None:
            excluded[history_index] = True
        excluded[positive_u, positive_i] = True
        positive = scores[positive_u, positive_i]
        draw = torch.rand(scores.shape, generator=generator).masked_fill(excluded, 2.0)
        count = min(n_negatives, int((~excluded).sum(1).min()))
        negatives = draw.topk(count, dim=1, largest=False).indices
        # Ties rank above the positive (pessimistic), as in the plugin's evaluation.
        rank = (scores.gather(1, negatives)[positive_u] >= positive.unsqueeze(1)).sum(1).float()
        inside = rank < k
        ndcg += float((inside / torch.log2(rank + 2)).sum())
        hit += float(inside.sum())
        users += len(positive_u)
    return {f"ndcg@{k}": ndcg / users, f"hit@{k}": hit / users}


def train_one(name, data_path, quick, checkpoint_dir, epochs=None, time_budget=None, overrides=None):
    model_name, options = MODELS[name]
    budget = dict((QUICK if quick else FULL)["SRT" if model_name == "SRT" else "other"])
    if epochs:
        budget["epochs"] = epochs
    if time_budget:
        budget["time_budget"] = time_budget
    budget.update(overrides or {})
    config_dict = {**SIZE, **options, **budget, "data_path": data_path, "checkpoint_dir": checkpoint_dir,
                   "eval_args": {"mode": "full"}, "show_progress": False, "state": "ERROR", "log_dir": None,
                   "tokenizer_dir": os.path.join(checkpoint_dir, "tokenizers")}
    config = load_config(model_name, "beauty", config_dict=config_dict)
    built = build_run(config)
    model, trainer, test_data = built.model, built.trainer, built.test_data
    trainer.fit(built.train_data, built.valid_data, saved=True)
    start = time.perf_counter()
    full = trainer.evaluate(test_data, load_best_model=True)
    full_seconds = time.perf_counter() - start
    model.eval()
    start = time.perf_counter()
    sampled = sampled_metrics(model, test_data)
    sampled_seconds = time.perf_counter() - start

    history = trainer.history
    epochs = len(history)
    best = max(range(epochs), key=lambda e: history[e].get("ndcg@5", -1.0)) if epochs else 0
    seconds_per_epoch = trainer.train_seconds / max(1, epochs)
    counts = parameter_counts(model)
    row = {
        "model": model_name, "options": {k: v for k, v in options.items() if k != "train_neg_sample_args"},
        "full": {"ndcg@5": float(full["ndcg@5"]), "hit@5": float(full["hit@5"])}, "sampled_10k": sampled,
        "paper_ndcg@5": PAPER_NDCG5[name], "paper_table4": PAPER_TABLE4.get(name),
        "epochs_run": epochs, "epochs_to_best": best + 1, "stopped_by": trainer.stopped_by,
        "valid_ndcg@5_by_epoch": [round(h.get("ndcg@5", float("nan")), 4) for h in history],
        "seconds_per_epoch": round(seconds_per_epoch, 2),
        "targets_per_second": round(trainer.seen_targets / max(trainer.train_seconds, 1e-9)),
        "eval_seconds_full": round(full_seconds, 2), "eval_seconds_sampled": round(sampled_seconds, 2),
        "parameters": counts["total"], "non_embedding_parameters": counts["non_embedding"],
        "settings": {k: config[k] for k in ("learning_rate", "epochs", "stopping_step", "time_budget",
                                            "train_batch_size", "MAX_ITEM_LIST_LENGTH", "lr_scheduler",
                                            "hidden_dropout_prob", "attn_dropout_prob", "loss_type")
                     if k in config.final_config_dict},
    }
    if trainer.train_flops:
        row["train_flops_per_second"] = trainer.train_flops / trainer.train_seconds
    return row


def markdown(results):
    runs = []
    for r in results.values():
        if r["run"] not in runs:
            runs.append(r["run"])
    modes = sorted({run["mode"] for run in runs})
    lines = [f"# Beauty 5-core: SRT against RecBole's built-ins ({' and '.join(modes)} mode)", "",
             "Test split, leave-one-out. Full ranking over 12,101 items, and the test item against 10,000 sampled "
             "negatives. Paper figures are full-ranking NDCG@5 (Table 1). `stop`: early stopping on validation "
             "NDCG@5, the epoch cap, or the per-model time budget.", "",
             "| model | NDCG@5 full | HIT@5 full | NDCG@5 10K | HIT@5 10K | paper NDCG@5 | s/epoch | targets/s | "
             "epochs (best) | stop | eval s (full / 10K) | params (non-emb.) | MFU | run |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        mfu = f"{r['mfu']:.1%}" if "mfu" in r else ""
        lines.append(
            f"| {name} | {r['full']['ndcg@5']:.4f} | {r['full']['hit@5']:.4f} | {r['sampled_10k']['ndcg@5']:.4f} | "
            f"{r['sampled_10k']['hit@5']:.4f} | {r['paper_ndcg@5']:.4f} | {r['seconds_per_epoch']} | "
            f"{r['targets_per_second']:,} | {r['epochs_run']} ({r['epochs_to_best']}) | {r['stopped_by']} | "
            f"{r['eval_seconds_full']} / {r['eval_seconds_sampled']} | "
            f"{r['parameters']:,} ({r['non_embedding_parameters']:,}) | {mfu} | {chr(65 + runs.index(r['run']))} |")
    lines += ["", "Runs (MFU = SRT's analytic training FLOPs per second over the dense float32 matmul rate measured "
              "in the same process):", ""]
    for i, run in enumerate(runs):
        lines.append(f"- {chr(65 + i)}: {run['mode']} mode, `{run['command']}`; {run['machine']}, {run['threads']} "
                     f"thread(s); {run['date']}; {run['minutes']} minutes; matmul {run['matmul_gflops']:.1f} GFLOP/s.")
    return "\n".join(lines) + "\n"


def command_line():
    """This run's command, without the machine-specific paths."""
    words, skip = ["python", os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)], False
    for word in sys.argv[1:]:
        if skip or word.startswith(("--out=", "--data_path=")):
            skip = False
            continue
        skip = word in ("--out", "--data_path")
        if not skip:
            words.append(word)
    return shlex.join(words)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few epochs: about 20 minutes on 2 cores")
    parser.add_argument("--data_path", default=os.path.join(ROOT, "saved", "data"))
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"),
                        help="folder of beauty.{json,md} (full mode) or beauty-quick.{json,md} (quick mode)")
    parser.add_argument("--models", default=",".join(MODELS), help="subset of " + ",".join(MODELS))
    parser.add_argument("--epochs", type=int, default=None, help="override the epochs of every model (smoke runs)")
    parser.add_argument("--time_budget", type=float, default=None,
                        help="minutes (the config key time_budget is in seconds) of training + validation per model; "
                             "training stops at the next epoch boundary")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a config value for every model of this run (repeatable), e.g. learning_rate=1e-3")
    parser.add_argument("--suffix", default="", help="appended after a space to each model's name in the results, e.g. lr1e-3")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other models of an existing results file (runs split across processes)")
    args = parser.parse_args()
    names = [m for m in args.models.split(",") if m]
    for name in names:
        if name not in MODELS:
            raise SystemExit(f"--models: unknown '{name}'; choose from {', '.join(MODELS)}")
    suffix = " " + args.suffix.strip() if args.suffix.strip() else ""
    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set: expected KEY=VALUE, got '{item}'")
        try:
            overrides[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[key] = value
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.time()
    prepare(args.data_path)
    rate = matmul_rate()
    run = {"mode": "quick" if args.quick else "full", "date": time.strftime("%Y-%m-%d"),
           "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}",
           "threads": torch.get_num_threads(), "command": command_line(),
           "matmul_gflops": rate / 1e9}
    results = {}
    for name in names:
        t0 = time.time()
        row = train_one(name, args.data_path, args.quick, os.path.join(ROOT, "saved", "beauty-bench"),
                        args.epochs, args.time_budget * 60 if args.time_budget else None, overrides)
        row["run"] = run
        if "train_flops_per_second" in row:
            row["mfu"] = row["train_flops_per_second"] / rate
        results[name + suffix] = row
        print(f"{name + suffix}: {json.dumps(row['full'])} in {time.time() - t0:.0f} s", flush=True)
    run["minutes"] = round((time.time() - start) / 60, 1)

    stem = os.path.join(args.out, "beauty" + ("-quick" if args.quick else ""))
    os.makedirs(args.out, exist_ok=True)
    # Runs split across processes finish at any time: read, merge and write under one lock.
    with open(stem + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if args.merge and os.path.isfile(stem + ".json"):
            with open(stem + ".json") as f:
                results = {**json.load(f)["models"], **results}
        results = dict(sorted(results.items(), key=table_order))
        with open(stem + ".json.tmp", "w") as f:
            json.dump({"models": results}, f, indent=1)
        os.replace(stem + ".json.tmp", stem + ".json")
        with open(stem + ".md", "w") as f:
            f.write(markdown(results))
    print(markdown(results))


def table_order(item):
    """MODELS order, each model followed by its suffixed variants; unknown names last."""
    base = item[0].split(" ")[0]
    return (list(MODELS).index(base) if base in MODELS else len(MODELS), item[0])


if __name__ == "__main__":
    main()
