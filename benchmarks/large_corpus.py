"""Peak memory and stage times of SRT training on a large corpus (10M interactions by default).

    python benchmarks/large_corpus.py [--interactions 10M] [--steps N] [--quick] [--render]

Writes a synthetic corpus in the atomic-file layout that dataset_prep produces (``user_id, item_id,
rating, timestamp`` and ``item_id, title, brand``; heavy-tailed user activity and item popularity, at
least 5 interactions a user, titles of 3-8 words) under saved/large_corpus/, then trains SRT (L2-H2-D64,
K = 1000) in a child process through the plugin's build path, and reports the child's peak resident memory
(``wait4``) with the seconds and the memory after each stage: RecBole's loading and the plugin's dataset
(``SequenceDataset``: no per-row history copies), the all-positions windows, and ``--steps`` training steps
(0: one whole epoch). Validation and test are not run: ranking a million users is a separate cost.

``--quick``: 1M interactions and 50 steps. Results: benchmarks/results/large_corpus[-quick].json, rendered to
docs/results/.
"""

import argparse
import json
import os
import sys
import time

import harness
import numpy as np

WORDS = np.array(("great product works well love quality price buy fast nice color smell skin hair size small large "
                  "cheap gift perfect easy use soft light dark red blue green pack set kit pro mini max plus").split())


def write_corpus(folder, name, n_interactions, seed=0):
    """Atomic files of about ``n_interactions`` rows; returns (interactions, users, items)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    # User activity: 5 + a geometric-like tail (mean about 12), item popularity: Zipf over 8% of the rows.
    lengths = 5 + rng.zipf(1.8, size=n_interactions // 10).clip(max=2000) - 1
    lengths = lengths[: np.searchsorted(np.cumsum(lengths), n_interactions) + 1]
    n_users, n_items = len(lengths), max(1000, n_interactions // 12)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.9
    items = rng.choice(n_items, size=int(lengths.sum()), p=popularity / popularity.sum())
    users = np.repeat(np.arange(n_users), lengths)
    times = 1.3e9 + rng.integers(0, 10 ** 8, size=len(users))  # the plugin sorts by time within each user
    os.makedirs(os.path.join(folder, name), exist_ok=True)
    pd.DataFrame({"user_id:token": users, "item_id:token": items, "rating:float": rng.integers(1, 6, size=len(users)),
                  "timestamp:float": times}).to_csv(os.path.join(folder, name, f"{name}.inter"), sep="\t", index=False)
    n_words = rng.integers(3, 9, size=n_items)
    words = WORDS[rng.integers(0, len(WORDS), size=(n_items, 8))]
    titles = [" ".join(row[:k]) for row, k in zip(words, n_words)]
    pd.DataFrame({"item_id:token": np.arange(n_items), "title:token": titles,
                  "brand:token": [f"brand{b}" for b in rng.integers(0, 500, size=n_items)]}).to_csv(
        os.path.join(folder, name, f"{name}.item"), sep="\t", index=False)
    return len(users), n_users, n_items


def rss_mib():
    with open("/proc/self/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


def child(args):
    """Runs in its own process, so that its peak memory is its own."""
    import torch

    from recbole_srt.build import build_run, load_config

    torch.set_num_threads(args.threads)
    stages, start = [], time.perf_counter()

    def stage(name):
        nonlocal start
        stages.append({"stage": name, "seconds": time.perf_counter() - start, "rss_mib": rss_mib()})
        start = time.perf_counter()

    config = load_config("SRT", args.name, config_dict={
        "data_path": args.data_path, "preset": "L2-H2-D64", "eval_step": 0, "show_progress": False, "use_gpu": False,
        "state": "ERROR", "log_dir": None, "tensorboard_dir": None, "checkpoint_dir": os.path.join(harness.paths.SAVED, "large_corpus", "ckpt"),
        "tokenizer_dir": os.path.join(harness.paths.SAVED, "tokenizers"),
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"}})
    stage("config")
    run = build_run(config)
    stage("load, split, windows, tokenizer, model")
    train = run.train_data
    batches = train if args.steps == 0 else [b for _, b in zip(range(args.steps), train)]
    run.trainer.train_epoch(batches, 0)
    stage(f"train {'one epoch' if args.steps == 0 else f'{args.steps} steps'}")
    print(json.dumps({"stages": stages, "windows": len(train.inputs), "targets": train.n_targets,
                      "batches": len(batches), "trained_targets": run.trainer.seen_targets}))


def markdown(r):
    lines = [f"# SRT on {r['interactions']:,} interactions: peak memory and stage times", "",
             f"`{r['command']}`; {harness.describe(r['machine'])}; {r['date']}. Synthetic corpus: {r['users']:,} "
             f"users, {r['items']:,} items; SRT L2-H2-D64, K = 1000, batch 128 windows of up to 50; "
             f"{r['windows']:,} windows, {r['targets']:,} training targets; "
             f"{r['batches']:,} steps trained ({r['trained_targets']:,} targets).", "",
             f"**Peak resident memory of the training process: {r['peak_rss_mib']:,.0f} MiB.**", ""]
    lines += harness.table(["stage", "seconds", "resident MiB after"],
                           [[s["stage"], f"{s['seconds']:.1f}", f"{s['rss_mib']:,.0f}"] for s in r["stages"]])
    return "\n".join(lines) + "\n"


def pages(results=None):
    return harness.rendered(markdown, ("large_corpus", "large_corpus-quick", "large_corpus-before"), results)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interactions", default="10M")
    parser.add_argument("--steps", type=int, default=0, help="training steps (0: one epoch)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="1M interactions, 50 steps")
    parser.add_argument("--render", action="store_true", help="only write the pages again from the JSON")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--name", help=argparse.SUPPRESS)
    parser.add_argument("--data_path", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    if not args.render:
        if args.quick:
            args.interactions, args.steps = "1M", 50
        name = f"synthetic-{args.interactions.lower()}"
        data_path = os.path.join(harness.paths.SAVED, "large_corpus")
        start = time.perf_counter()
        rows, users, items = write_corpus(data_path, name, harness.parse_count(args.interactions))
        write_seconds = time.perf_counter() - start
        print(f"wrote {rows:,} interactions, {users:,} users, {items:,} items in {write_seconds:.0f} s")
        wall, peak, out = harness.child([sys.executable, os.path.abspath(__file__), "--child", "--name", name,
                                         "--data_path", data_path, "--steps", str(args.steps), "--threads",
                                         str(args.threads)])
        result = {"interactions": rows, "users": users, "items": items, "write_seconds": write_seconds,
                  "wall_seconds": wall, "peak_rss_mib": peak, **json.loads(out.strip().splitlines()[-1]),
                  **harness.stamp(__file__, argv)}
        harness.update(os.path.join(harness.paths.RESULTS, ("large_corpus-quick" if args.quick else "large_corpus")
                                    + ".json"), lambda old: result)
    print(*harness.publish(pages()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
