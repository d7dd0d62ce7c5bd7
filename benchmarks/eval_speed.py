"""Seconds of one evaluation: full ranking against uniN with fixed negatives and with RecBole's loader.

    python benchmarks/eval_speed.py [--quick] [--datasets ml-100k,beauty] [--modes full,uni1000,uni10000] [--render]
    python benchmarks/eval_speed.py --epochs 2 [--hidden_size 64] [--n_layers 2]

SRT (untrained: timing does not depend on the weights) evaluated on the validation split through the plugin's
trainer, each mode best of --repeats: ``eval_negatives: fixed`` (one row per user) and ``recbole`` (RecBole's
NegSampleEvalDataLoader: one row per candidate, its sampling included) (eval_speed.json; a command for some datasets
or modes replaces their rows only).
``--epochs N``: instead, at one size, N training epochs of SRT on all positions and of RecBole's SASRec-CE on its
augmented rows (one per prefix), and one uni10000 and one full evaluation of SRT (epoch_and_eval.json; --quick or
another size: epoch_and_eval-quick-hidden128-layers4.json and the like).
"""

import json
import os
import sys
import time

import harness


def build(model, dataset, options):
    from recbole_srt.build import build_run, load_config

    if dataset != "ml-100k":
        options["data_path"] = harness.prepare(dataset)
    return build_run(load_config(model, dataset, config_dict={
        "show_progress": False, "state": "ERROR", "log_dir": None, "tensorboard_dir": None, **options}))


def seconds(work, repeats=1):
    """The best of ``repeats`` timings of ``work()``, and its last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def time_evaluation(dataset, mode, negatives, repeats, scratch):
    run = build("SRT", dataset, {"eval_args": {"mode": mode}, "eval_negatives": negatives, "checkpoint_dir": scratch,
                                 "tokenizer_dir": os.path.join(scratch, "tokenizers")})
    best, result = seconds(lambda: run.trainer.evaluate(run.valid_data, load_best_model=False), repeats)
    return {"dataset": dataset, "mode": mode, "eval_negatives": negatives, "seconds": round(best, 3),
            "users": len(run.valid_data.dataset), "items": run.valid_data.dataset.item_num - 1,
            "ndcg@5": float(result["ndcg@5"]), "loader": type(run.valid_data).__name__}


def epochs_and_evaluations(args):
    def setup(model, mode):
        options = {"hidden_size": args.hidden_size, "n_layers": args.n_layers, "n_heads": 2,
                   "inner_size": 4 * args.hidden_size, "MAX_ITEM_LIST_LENGTH": 50,
                   "checkpoint_dir": os.path.join(harness.paths.SAVED, "bench"),
                   "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": mode, "group_by": "user"}}
        return build(model, "ml-100k", {**options, **({"loss_type": "CE", "train_neg_sample_args": None}
                                                      if model == "SASRec" else {})})

    def per_epoch(run, epochs):
        run.trainer.train_epoch(run.train_data, 0)  # warm-up epoch (allocator, lazy init) not counted
        return seconds(lambda: [run.trainer.train_epoch(run.train_data, e + 1) for e in range(epochs)])[0] / epochs

    def evaluation(run):
        return seconds(lambda: run.trainer.evaluate(run.valid_data, load_best_model=False))[0]

    srt = setup("SRT", "uni10000")
    rows = {"srt_epoch": per_epoch(srt, args.epochs), "srt_sampled_eval": evaluation(srt),
            "users": len(srt.valid_data.dataset), "srt_batches": f"{len(srt.train_data)} batches of "
            f"{srt.config['train_batch_size']} windows, {srt.train_data.n_targets} targets, "
            f"K={srt.config['num_negatives']}"}
    full = setup("SRT", "full")
    full.model.load_state_dict(srt.model.state_dict())  # the same weights under both protocols
    rows["srt_full_eval"] = evaluation(full)
    sasrec = setup("SASRec", "uni10000")
    rows["sasrec_epoch"] = per_epoch(sasrec, max(1, args.epochs // 2))
    rows["sasrec_batches"] = f"{len(sasrec.train_data)} batches of {sasrec.config['train_batch_size']} rows"
    return {"rows": rows, "size": f"hidden {args.hidden_size}, layers {args.n_layers}, heads 2, MAX_ITEM_LIST_LENGTH 50"}


STAMP = ("date", "machine", "command", "repeats")  # what each row keeps of the command that measured it


def lifted(result):
    """``result`` with each row's stamp under "run", as every study keeps it: rows of an earlier version held
    theirs flat, beside the timings."""
    return {**result, "rows": [r if "run" in r or "date" not in r else
                               {**{k: v for k, v in r.items() if k not in STAMP}, "run": {k: r[k] for k in STAMP}}
                               for r in result.get("rows") or []]}


def run_line(run):
    return f"{harness.describe(run['machine'])}; {run['date']}; `{run['command']}`; best of {run['repeats']}."


def markdown(result):
    result = lifted(result)
    # rows of several commands (a subset run again): each is listed, and a column says which measured the row
    header, numbers = harness.runs_section(harness.runs_of(result, STAMP), run_line)
    rows = [[r["dataset"], r["mode"], r["eval_negatives"], r["loader"], f"{r['seconds']:.2f}",
             f"{r['x_full']:.2f}" if "x_full" in r else "", f"{r['users']:,}", f"{r['items']:,}", f"{r['ndcg@5']:.4f}"]
            for r in result["rows"]]
    columns = ["dataset", "mode", "eval_negatives", "loader", "seconds", "× full", "users", "items", "ndcg@5"]
    columns, rows = harness.run_column(columns, rows, numbers)
    lines = ["# One validation evaluation of SRT: seconds", "", *header, "", *harness.table(columns, rows)]
    return "\n".join(lines) + "\n"


def epochs_markdown(result):
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
    return {**harness.rendered(markdown, ("eval_speed", "eval_speed-quick"), results),
            **harness.rendered(epochs_markdown, ["epoch_and_eval*"], results)}


def epochs_name(args):
    """epoch_and_eval, or a file named by what differs from its default size: another never replaces it."""
    tags = [tag for tag, other in (("quick", args.quick), (f"hidden{args.hidden_size}", args.hidden_size != 64),
                                   (f"layers{args.n_layers}", args.n_layers != 2)) if other]
    return "-".join(["epoch_and_eval", *tags])


def merged(old, rows, stamp):
    """``old`` with this command's rows in place of the same (dataset, mode, eval_negatives): a command for some
    datasets or modes keeps the others. "× full" is against the dataset's full row measured on the same machine;
    without one (it was measured again elsewhere), none: the row it was measured against has left the file."""
    rows = harness.stamped_merge(old and lifted(old), rows, lambda r: (r["dataset"], r["mode"], r["eval_negatives"]),
                                 stamp)
    full = {(r["dataset"], harness.describe(r["run"]["machine"])): r["seconds"] for r in rows if r["mode"] == "full"}
    for row in rows:
        seconds = full.get((row["dataset"], harness.describe(row["run"]["machine"])))
        if seconds:
            row["x_full"] = round(row["seconds"] / seconds, 2)
        else:
            row.pop("x_full", None)
    return {**stamp, "rows": rows}


def run(args, argv):
    if args.epochs:
        return {epochs_name(args): {**harness.stamp(__file__, argv), **epochs_and_evaluations(args)}}
    repeats, scratch = args.repeats or (1 if args.quick else 3), os.path.join(harness.paths.SAVED, "eval_speed")
    rows = []
    for dataset in (args.datasets or ("ml-100k" if args.quick else "ml-100k,beauty")).split(","):
        for mode in args.modes.split(","):
            for negatives in (("fixed",) if mode == "full" else ("fixed", "recbole")):
                rows.append(time_evaluation(dataset, mode, negatives, repeats, scratch))
                print(json.dumps(rows[-1]), flush=True)
    stamp = {**harness.stamp(__file__, argv), "repeats": repeats}
    return {"eval_speed-quick" if args.quick else "eval_speed": lambda old: merged(old, rows, stamp)}


def main(argv=None):
    parser = harness.parser(__doc__, quick="ml-100k only, one repeat")
    parser.add_argument("--datasets", default=None, help="default ml-100k,beauty (quick: ml-100k)")
    parser.add_argument("--modes", default="full,uni100,uni1000,uni10000")
    parser.add_argument("--repeats", type=int, default=None, help="default 3 (quick: 1)")
    parser.add_argument("--epochs", type=int, default=0, help="time training epochs instead (epoch_and_eval.json)")
    parser.add_argument("--hidden_size", type=int, default=64)
    parser.add_argument("--n_layers", type=int, default=2)
    return harness.run(parser, argv, lambda args: run(args, argv), pages)


if __name__ == "__main__":
    sys.exit(main())
