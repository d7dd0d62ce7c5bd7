"""Seconds per training epoch and per evaluation on ml-100k, in one process.

    python benchmarks/epoch_and_eval.py [--epochs 2] [--hidden_size 64] [--n_layers 2] [--render]

Times, at one size (2 heads, MAX_ITEM_LIST_LENGTH 50):
- SRT, all positions (windows of MAX_ITEM_LIST_LENGTH), seconds per epoch;
- RecBole's SASRec with CE loss on its augmented rows (one row per prefix), same size;
- one uni10000 evaluation of SRT through the plugin's trainer, and one full-ranking evaluation.
(RecBole's own sampled loader is timed by benchmarks/eval_speed.py, ``eval_negatives: recbole``.)
Writes benchmarks/results/epoch_and_eval.json and its page in docs/results/.
"""

import argparse
import os
import time

import harness


def setup(model, mode, args):
    from recbole_srt.build import build_run, load_config

    options = {
        "show_progress": False, "state": "ERROR", "log_dir": None, "tensorboard_dir": None, "hidden_size": args.hidden_size,
        "n_layers": args.n_layers, "n_heads": 2, "inner_size": 4 * args.hidden_size, "MAX_ITEM_LIST_LENGTH": 50,
        "checkpoint_dir": os.path.join(harness.paths.SAVED, "bench"),
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": mode, "group_by": "user"},
    }
    if model == "SASRec":
        options.update({"loss_type": "CE", "train_neg_sample_args": None})
    return build_run(load_config(model, "ml-100k", config_dict=options))


def seconds_per_epoch(run, epochs):
    run.trainer.train_epoch(run.train_data, 0)  # warm-up epoch (allocator, lazy init) not counted
    start = time.perf_counter()
    for epoch in range(epochs):
        run.trainer.train_epoch(run.train_data, epoch + 1)
    return (time.perf_counter() - start) / epochs


def seconds_to_evaluate(run):
    start = time.perf_counter()
    run.trainer.evaluate(run.valid_data, load_best_model=False)
    return time.perf_counter() - start


def markdown(result):
    r = result["rows"]
    return "\n".join([
        "# Seconds per training epoch and per evaluation on ml-100k", "",
        f"{harness.describe(result['machine'])}; {result['date']}; `{result['command']}`. {result['size']}.", "",
        *harness.table(["what", "seconds", "of what"], [
            ["SRT, all positions: one epoch", f"{r['srt_epoch']:.2f}", r["srt_batches"]],
            ["SASRec CE, augmented rows: one epoch", f"{r['sasrec_epoch']:.2f}", r["sasrec_batches"]],
            ["SRT, uni10000 evaluation (plugin trainer)", f"{r['srt_sampled_eval']:.2f}", f"{r['users']} users"],
            ["SRT, full-ranking evaluation", f"{r['srt_full_eval']:.2f}", f"{r['users']} users"]]), "",
        f"Speed-up of an SRT epoch over SASRec-CE: {r['sasrec_epoch'] / r['srt_epoch']:.1f}x.", ""])


def pages(results=None):
    return harness.rendered(markdown, ["epoch_and_eval"], results)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--hidden_size", type=int, default=64)
    parser.add_argument("--n_layers", type=int, default=2)
    parser.add_argument("--render", action="store_true", help="only write the page again from the JSON")
    args = parser.parse_args(argv)
    if not args.render:
        srt = setup("SRT", "uni10000", args)
        rows = {"srt_epoch": seconds_per_epoch(srt, args.epochs), "srt_sampled_eval": seconds_to_evaluate(srt),
                "users": len(srt.valid_data.dataset), "srt_batches": f"{len(srt.train_data)} batches of "
                f"{srt.config['train_batch_size']} windows, {srt.train_data.n_targets} targets, "
                f"K={srt.config['num_negatives']}"}
        full = setup("SRT", "full", args)
        full.model.load_state_dict(srt.model.state_dict())  # the same weights under both protocols
        rows["srt_full_eval"] = seconds_to_evaluate(full)
        sasrec = setup("SASRec", "uni10000", args)
        rows["sasrec_epoch"] = seconds_per_epoch(sasrec, max(1, args.epochs // 2))
        rows["sasrec_batches"] = f"{len(sasrec.train_data)} batches of {sasrec.config['train_batch_size']} rows"
        result = {**harness.stamp(__file__, argv), "rows": rows,
                  "size": f"hidden {args.hidden_size}, layers {args.n_layers}, heads 2, MAX_ITEM_LIST_LENGTH 50"}
        harness.update(os.path.join(harness.paths.RESULTS, "epoch_and_eval.json"), lambda old: result)
    print(*harness.publish(pages()))


if __name__ == "__main__":
    main()
