"""Peak memory and stage times of SRT training on a large corpus (10M interactions by default).

    python benchmarks/large_corpus.py [--interactions 10M] [--steps N] [--quick] [--render]

Writes a synthetic corpus (synthetic.py) under saved/large_corpus/, then trains SRT in a child process through the
plugin's build path: its peak resident memory (``wait4``), and the seconds and memory after each stage.
Validation and test are not run: ranking a million users is a separate cost. Other settings than the default's
(or --quick's) write their own file, named by them: large_corpus-1m-steps100.json and the like.
"""

import argparse
import json
import os
import sys
import time

import harness
import synthetic

DEFAULT = {"interactions": "10M", "steps": 0, "threads": 2}
QUICK = {"interactions": "1M", "steps": 50}


def rss_mib():
    with open("/proc/self/status", encoding="utf-8") as f:
        return next((int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS:")), None)


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
        "state": "ERROR", "log_dir": None, "tensorboard_dir": None,
        "checkpoint_dir": os.path.join(harness.paths.SAVED, "large_corpus", "ckpt"),
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
    # the default's pages first, then the other settings' (a glob of names already listed keeps their place)
    return harness.rendered(markdown, ("large_corpus", "large_corpus-quick", "large_corpus-before", "large_corpus-*"),
                            results)


def size(args):
    """--interactions as a name, from its count: 1M and 1000000 name one file, one corpus."""
    return harness.count_text(harness.parse_count(args.interactions)).lower()


def results_name(args):
    """large_corpus(-quick), with a tag for each setting that differs from its default: a run of another size never
    replaces the default's result."""
    default = {**DEFAULT, **(QUICK if args.quick else {})}
    tags = ["quick"] if args.quick else []
    if harness.parse_count(args.interactions) != harness.parse_count(default["interactions"]):
        tags.append(size(args))
    tags += [f"{flag}{getattr(args, flag)}" for flag in ("steps", "threads") if getattr(args, flag) != default[flag]]
    return "-".join(["large_corpus", *tags])


def run(args, argv):
    if args.quick:
        args.interactions, args.steps = QUICK["interactions"], QUICK["steps"]
    name, data_path = f"synthetic-{size(args)}", os.path.join(harness.paths.SAVED, "large_corpus")
    start = time.perf_counter()
    rows, users, items = synthetic.corpus(data_path, name, harness.parse_count(args.interactions))
    write_seconds = time.perf_counter() - start
    wall, peak, out = harness.child([sys.executable, os.path.abspath(__file__), "--child", "--name", name,
                                     "--data_path", data_path, "--steps", str(args.steps), "--threads",
                                     str(args.threads)])
    return {results_name(args): {
        "interactions": rows, "users": users, "items": items, "write_seconds": write_seconds, "wall_seconds": wall,
        "peak_rss_mib": peak, **json.loads(out.strip().splitlines()[-1]), **harness.stamp(__file__, argv)}}


def main(argv=None):
    parser = harness.parser(__doc__, quick="1M interactions, 50 steps")
    parser.add_argument("--interactions", default=DEFAULT["interactions"])
    parser.add_argument("--steps", type=int, default=DEFAULT["steps"], help="training steps (0: one epoch)")
    parser.add_argument("--threads", type=int, default=DEFAULT["threads"])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--name", help=argparse.SUPPRESS)
    parser.add_argument("--data_path", help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args(argv)
    return child(args) if args.child else harness.run(parser, argv, lambda args: run(args, argv), pages)


if __name__ == "__main__":
    sys.exit(main())
