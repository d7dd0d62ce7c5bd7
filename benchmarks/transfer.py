"""The paper's transfer study (Table 4): pre-train SRT on other categories, fine-tune on the target.

    python benchmarks/transfer.py [--target beauty] [--quick] [--seeds 0,1,2] [--preset L2-H2-D64]

1. Prepares the sources and the Beauty-free (or Sports-free) corpus with dataset_prep (README: "A
   pre-training corpus without the target's users"): one tokenizer over the corpus and the target's texts.
2. Pre-trains SRT on the corpus (`run_recbole_srt.py`) and estimates its Fisher (`python -m recbole_srt.fisher`).
3. On the target, with that tokenizer, under full ranking: from scratch; zero-shot (the pre-trained weights,
   `epochs: 0`); fine-tuned with progressive unfreezing and EWC; without EWC; without unfreezing. Each
   trained model is tested under both history conventions (`eval_mask_history` False, then True on its
   best checkpoint), and scratch and fine-tuned are also run with `cold_start_items: 0.1` for the cold column.

Every step is a plain run of the project's commands, logged with its command line; finished runs are kept
(saved/transfer/<target>/*.json) and skipped when the script is run again. Results: benchmarks/results/
transfer-<target>[-quick].json and .md. ``--quick`` (1 seed, few epochs: about 25 minutes on 2 cores) shows
the protocol, not converged quality.
"""

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared", "data", "amazon")
DATA = os.path.join(ROOT, "saved", "data")
PAPER = {"beauty": {"scratch": (0.0360, 0.0611), "finetuned": (0.0405, 0.0645)},
         "sports": {"scratch": (0.0192, None), "finetuned": (0.0206, None)}}
SOURCES = {  # name: (reviews, meta) under ../shared/data/amazon
    "toys": ("Toys_and_Games/GRAM/user_sequence.txt", "Toys_and_Games/IDGenRec/item_generative_indexing_phase_0.txt"),
    "sports": ("Sports_and_Outdoors/GRAM/user_sequence.txt",
               "Sports_and_Outdoors/IDGenRec/item_generative_indexing_phase_0.txt"),
    "office": ("Office_Products/APAO/Office.inter.json", "Office_Products/APAO/Office.item.json"),
    "gift_cards": ("Gift_Cards/AmazonSearchEngine/Gift_Cards_5.json.gz",
                   "Gift_Cards/AmazonSearchEngine/meta_Gift_Cards.json.gz"),
    "beauty_gram": ("Beauty/GRAM/user_sequence.txt", None),
}
# target: (fine-tuning dataset, corpus sources, the target's users by raw id)
TARGETS = {"beauty": ("beauty", ["toys", "sports", "office", "gift_cards"], "beauty_gram"),
           "sports": ("sports", ["toys", "office", "gift_cards"], "sports")}
FULL = {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"}
# The authors' fine-tuning: a layer unfrozen every 10 epochs, EWC lambda 100 (README: fine-tuning).
MODES = {"full": {"pretrain_epochs": 20, "epochs": 50, "stage_epochs": 10, "stopping_step": 5},
         "quick": {"pretrain_epochs": 2, "epochs": 3, "stage_epochs": 1, "stopping_step": 2}}


def sh(command, log):
    log.write("$ " + shlex.join(command) + "\n")
    log.flush()
    subprocess.run(command, cwd=ROOT, check=True, stdout=log, stderr=subprocess.STDOUT)


def prepare(target, log):
    dataset, sources, users = TARGETS[target]
    for name in sorted(set(sources + [users, dataset])):
        if os.path.isfile(os.path.join(DATA, name, f"{name}.inter")):
            continue
        if name == "beauty":
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            from table1 import prepare as prepare_beauty

            prepare_beauty(DATA)
            continue
        reviews, meta = SOURCES[name]
        sh([sys.executable, "-m", "dataset_prep", "convert", "--reviews", os.path.join(SHARED, reviews),
            *(["--meta", os.path.join(SHARED, meta)] if meta else []), "--name", name, "--out", DATA, "--quiet"], log)
    corpus = f"pretrain-{target}"
    if not os.path.isfile(os.path.join(DATA, corpus, f"{corpus}.inter")):
        sh([sys.executable, "-m", "dataset_prep", "merge", "--sources", ",".join(os.path.join(DATA, s) for s in sources),
            "--exclude", os.path.join(DATA, users), "--tokenizer-also", os.path.join(DATA, dataset),
            "--name", corpus, "--out", DATA], log)
    return dataset, corpus, os.path.join(DATA, corpus, f"{corpus}.spm.model")


def run(name, dataset, options, workdir, log):
    """One run_recbole_srt.py run (kept as <workdir>/<name>.json and skipped when it exists); its results."""
    path = os.path.join(workdir, f"{name}.json")
    if not os.path.isfile(path):
        start = time.time()
        args = {"model": "SRT", "dataset": dataset, "data_path": DATA, "eval_args": FULL, "show_progress": False,
                "checkpoint_dir": os.path.join(workdir, "checkpoints"), "results_file": path + ".tmp", **options}
        sh([sys.executable, "run_recbole_srt.py", *(f"--{k}={v}" for k, v in args.items())], log)
        with open(path + ".tmp", encoding="utf-8") as f:
            result = json.load(f)
        result["wall_seconds"] = time.time() - start
        with open(path, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
        os.remove(path + ".tmp")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", choices=sorted(TARGETS), default="beauty")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", default=None, help="comma-separated (default 0,1,2; quick: 0)")
    parser.add_argument("--preset", default="L2-H2-D64", help="model size of pre-training and fine-tuning")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    mode = MODES["quick" if args.quick else "full"]
    seeds = [int(s) for s in (args.seeds or ("0" if args.quick else "0,1,2")).split(",")]
    tag = f"{args.target}{'-quick' if args.quick else ''}"
    workdir = os.path.join(ROOT, "saved", "transfer", tag)
    os.makedirs(workdir, exist_ok=True)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    start = time.time()
    with open(os.path.join(workdir, "commands.log"), "a", encoding="utf-8") as log:
        dataset, corpus, tokenizer = prepare(args.target, log)
        common = {"preset": args.preset, "tokenizer_path": tokenizer, "stopping_step": mode["stopping_step"],
                  "learning_rate": 1e-3}
        rows = []
        for seed in seeds:
            pre = run(f"pretrain-s{seed}", corpus, {**common, "seed": seed, "epochs": mode["pretrain_epochs"]}, workdir, log)
            checkpoint = pre["checkpoint"]
            if not os.path.isfile(checkpoint + ".fisher.pt"):
                sh([sys.executable, "-m", "recbole_srt.fisher", "--model=SRT", f"--dataset={corpus}",
                    f"--checkpoint={checkpoint}", f"--data_path={DATA}", f"--preset={args.preset}",
                    f"--tokenizer_path={tokenizer}"], log)
            tuned = {"init_from": checkpoint, "epochs": mode["epochs"]}
            unfreeze = {"unfreeze_stage_epochs": mode["stage_epochs"]}
            variants = {
                "scratch": {"epochs": mode["epochs"]},
                "zero-shot": {"init_from": checkpoint, "epochs": 0},
                "finetuned": {**tuned, **unfreeze, "ewc_lambda": 100.0},
                "finetuned, no EWC": {**tuned, **unfreeze},
                "finetuned, no unfreezing": {**tuned, "ewc_lambda": 100.0},
            }
            for variant, options in variants.items():
                key = variant.replace(", ", "-").replace(" ", "_")
                result = run(f"{key}-s{seed}", dataset, {**common, **options, "seed": seed}, workdir, log)
                row = {"variant": variant, "seed": seed, "unmasked": result["test_result"],
                       "epochs_trained": len(result["history"]), "wall_seconds": result["wall_seconds"]}
                # The other convention on the same weights: the run's best checkpoint (or the pre-trained one).
                weights = result["checkpoint"] or checkpoint
                masked = run(f"{key}-s{seed}-masked", dataset, {**common, "seed": seed, "init_from": weights,
                                                                 "epochs": 0, "eval_mask_history": True}, workdir, log)
                row["masked"] = masked["test_result"]
                if variant in ("scratch", "finetuned"):
                    cold = run(f"{key}-s{seed}-cold", dataset, {**common, **options, "seed": seed,
                                                                "cold_start_items": 0.1}, workdir, log)
                    row["cold"], row["warm"] = cold["test_result_cold"], cold["test_result_warm"]
                rows.append(row)
    result = {"target": args.target, "quick": args.quick, "preset": args.preset, "seeds": seeds, "mode": mode,
              "rows": rows, "paper": PAPER[args.target], "wall_minutes": (time.time() - start) / 60,
              "date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
              "command": "python benchmarks/transfer.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    out = os.path.join(ROOT, "benchmarks", "results", f"transfer-{tag}")
    with open(out + ".json", "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    with open(out + ".md", "w", encoding="utf-8") as f:
        f.write(markdown(result))
    print(markdown(result))
    return 0


def summary(rows, variant, group, metric):
    values = [r[group][metric] for r in rows if r["variant"] == variant and group in r]
    if not values:
        return ""
    return f"{statistics.mean(values):.4f}" + (f" ± {statistics.stdev(values):.4f}" if len(values) > 1 else "")


def markdown(result):
    rows, paper = result["rows"], result["paper"]
    lines = [f"# Transfer to {result['target']} (paper Table 4){' — quick mode' if result['quick'] else ''}", "",
             f"`{result['command']}`; {result['machine']}; {result['date']}; {result['wall_minutes']:.0f} minutes. "
             f"SRT {result['preset']}, seeds {result['seeds']}, epochs {result['mode']}. Full ranking; unmasked = the "
             "user's earlier items stay ranked (the authors' code), masked = they cannot be recommended. Cold / warm: "
             "runs with 10 % of the items withheld from training (`cold_start_items: 0.1`), unmasked.", "",
             "| variant | NDCG@5 unmasked | HIT@5 unmasked | NDCG@5 masked | HIT@5 masked | NDCG@5 cold | HIT@5 cold | "
             "NDCG@5 warm | paper NDCG@5 / HIT@5 |", "|---|---|---|---|---|---|---|---|---|"]
    for variant in dict.fromkeys(r["variant"] for r in rows):
        figures = paper.get(variant)
        printed = " / ".join("" if f is None else f"{f:.4f}" for f in figures) if figures else ""
        lines.append(f"| {variant} | {summary(rows, variant, 'unmasked', 'ndcg@5')} | "
                     f"{summary(rows, variant, 'unmasked', 'hit@5')} | {summary(rows, variant, 'masked', 'ndcg@5')} | "
                     f"{summary(rows, variant, 'masked', 'hit@5')} | {summary(rows, variant, 'cold', 'ndcg@5')} | "
                     f"{summary(rows, variant, 'cold', 'hit@5')} | {summary(rows, variant, 'warm', 'ndcg@5')} | {printed} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
