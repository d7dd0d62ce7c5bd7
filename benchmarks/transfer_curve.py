"""Transfer where it pays: one pre-trained SRT per size, fine-tuned on little data of Beauty and Sports.

    python benchmarks/transfer_curve.py [--quick] [--seeds 0,1,2] [--fractions 5,10,25,50,100]
        [--presets L2-H2-D64,L4-H2-D128] [--targets beauty,sports] [--threads 1]

The paper's corpus rule: one pre-training corpus with both targets' categories removed entirely (toys + office +
gift_cards), one tokenizer over it and both targets' texts; SRT pre-trained on it once per preset. On nested
user-sampled subsets of each target (dataset_prep.subsets, drawn with the run's seed; 100 % is the whole dataset),
under full ranking with history kept and masked: most popular, zero-shot, scratch trained as many epochs as
fine-tuning, and fine-tuned (the best schedule of the transfer study: item encoder unfrozen first, a layer every
``stage_epochs``, no EWC); scratch and fine-tuned again with 10 % cold items; fine-tuned and scratch paired over
the test users, each user's figures averaged over the seeds whose subset holds it (``test_ranks``). Runs are kept
under saved/transfer/curve[-quick]/ and skipped when run again; the results JSON and the page (with its figure) are
written again after every cell, so a stopped study shows what finished, and a resumed one shows every kept cell
from its first write, before it trains anything. The plan grows with each command: one that names other targets,
seeds, shares or presets trains those and keeps every cell an earlier command planned (the earlier presets first).
"""

import os
import sys
import time

import harness
import transfer
import transfer_curve_report as report
from recbole_srt.model.sizes import preset

CORPUS_SOURCES = ["toys", "office", "gift_cards"]  # every category of ../shared but the two targets
CORPUS = "pretrain-paper"
TARGETS = ["beauty", "sports"]
# Pinned, so that a change of the plugin's defaults does not change what these runs mean.
PINNED = {"learning_rate": 1e-3, "lr_scheduler": None}
# long_epochs: a control at <= LONG_SHARE % of the users, scratch given many more epochs (early stopping decides):
# whether a gain at small targets is transfer or only scratch stopped short
# larger_upto: the presets after the first run at <= this share of the users only, where the question (does a
# larger pre-trained model transfer better to a small target?) is asked; the first preset runs at every share
MODES = {"full": {"pretrain_epochs": 6, "epochs": 10, "stage_epochs": 2, "stopping_step": 5, "long_epochs": 50,
                  "larger_upto": 25, "seeds": "0,1,2", "fractions": "5,10,25,50,100",
                  "presets": "L2-H2-D64,L4-H2-D128"},
         "quick": {"pretrain_epochs": 1, "epochs": 1, "stage_epochs": 1, "stopping_step": 2, "long_epochs": 4,
                   "larger_upto": 100, "seeds": "0", "fractions": "2,5", "presets": "L2-H2-D64,L4-H2-D64"}}
LONG_SHARE = 25


def corpus(log):
    """The paper's corpus (once) and its tokenizer, trained on the corpus and both targets' texts."""
    data = harness.paths.DATA
    for name in CORPUS_SOURCES + TARGETS:
        harness.prepare(name, data)
    if not os.path.isfile(os.path.join(data, CORPUS, f"{CORPUS}.inter")):
        transfer.sh([sys.executable, "-m", "dataset_prep", "merge", "--sources",
                     ",".join(os.path.join(data, s) for s in CORPUS_SOURCES),
                     *[a for t in TARGETS for a in ("--tokenizer-also", os.path.join(data, t))],
                     "--name", CORPUS, "--out", data], log)
    return os.path.join(data, CORPUS, f"{CORPUS}.spm.model")


def subset(target, percent, seed):
    """(dataset, data_path, users) of the first ``percent`` % of the target's users in the seed's order; nested
    over percents for one seed (dataset_prep.subsets cuts at the interaction count those users reach)."""
    import numpy as np
    from dataset_prep.subsets import count_users, subsets, user_order

    source = os.path.join(harness.paths.DATA, target)
    _, counts = count_users(os.path.join(source, f"{target}.inter"))
    if percent == 100:
        return target, harness.paths.DATA, len(counts)
    users = max(1, round(len(counts) * percent / 100))
    _, ordered = user_order(list(counts), list(counts.values()), seed)
    size = str(int(np.cumsum(ordered)[users - 1]))
    out = os.path.join(harness.paths.DATA, "curve", f"s{seed}")
    if not os.path.isfile(os.path.join(out, f"{target}-{size}", f"{target}-{size}.inter")):
        subsets(source, [size], seed, out=out, force=True)
    return f"{target}-{size}", out, users


class NotKept(Exception):
    """A run that a kept-runs-only pass (``train`` False) does not find."""


def run(name, dataset, options, workdir, log, train=True, data_path=None):
    """transfer.run; with ``train`` False, a kept run's result or NotKept."""
    result = transfer.run(name, dataset, options, workdir, log, train=train, data_path=data_path)
    if result is None:
        raise NotKept(name)
    return result


def row(variant, name, dataset, data_path, options, seed, workdir, log, masked=None, cold=False, ranked=False,
        train=True):
    """One variant's runs: the unmasked test, the masked test (``masked``: the options of that run, given the
    first's result), and with ``cold`` the same training with 10 % of the items withheld. With ``ranked`` (and
    ``masked``), the row is returned with {convention: a result holding ``test_ranks``} beside it. With ``train``
    False, kept runs only (NotKept when one is missing)."""
    ranks = {"test_ranks": True} if ranked else {}
    first = run(name, dataset, {**options, **ranks, "seed": seed}, workdir, log, train, data_path=data_path)
    out = {"variant": variant, "seed": seed, "unmasked": first["test_result"], "epochs_trained": len(first["history"]),
           "wall_seconds": first["wall_seconds"]}
    tested = {"unmasked": first}
    if masked is not None:
        again = run(f"{name}-masked", dataset, {**masked(first), **ranks, "seed": seed, "eval_mask_history": True},
                    workdir, log, train, data_path=data_path)
        out["masked"], out["wall_seconds"] = again["test_result"], out["wall_seconds"] + again["wall_seconds"]
        tested["masked"] = again
    if cold:
        again = run(f"{name}-cold", dataset, {**options, "seed": seed, "cold_start_items": 0.1}, workdir, log,
                    train, data_path=data_path)
        out["cold"], out["warm"] = again["test_result_cold"], again["test_result_warm"]
        out["wall_seconds"] += again["wall_seconds"]
    if not ranked or masked is None:
        return out
    for convention, result in tested.items():  # runs kept from before the study wrote ranks: their best weights
        if "test_ranks" not in result:         # tested again (evaluation only)
            tested[convention] = run(
                f"{name}-ranks-{convention}", dataset, {**masked(first), "seed": seed, "test_ranks": True,
                                                        "eval_mask_history": convention == "masked"},
                workdir, log, train, data_path=data_path)
    return out, tested


def paired(tuned, scratch):
    """Fine-tuned against scratch on one seed's test users, per convention: recbole_srt.evaluation.paired's
    comparison (NDCG@5) without its per-user data."""
    from recbole_srt.evaluation.paired import compare

    return {c: compare([scratch[c]], [tuned[c]], "ndcg@5") for c in ("unmasked", "masked")}


def pooled(pairs):
    """Fine-tuned − scratch user by user over a cell's seeds, [(fine-tuned's, scratch's {convention: result with
    test_ranks}), ...]: each user's NDCG@5 averaged over the seeds whose subset holds the user (the seeds' subsets
    overlap, and at 100 % they are the same users), then one paired test over the users, each counted once."""
    import numpy as np

    from recbole_srt.evaluation.paired import per_user, summary

    out = {}
    for convention in ("unmasked", "masked"):
        tuned, scratch = {}, {}
        for fine, base in pairs:
            first, _ = per_user(base[convention]["test_ranks"], "ndcg@5")
            second, _ = per_user(fine[convention]["test_ranks"], "ndcg@5")
            for user, value in first.items():
                scratch.setdefault(user, []).append(value)
                tuned.setdefault(user, []).append(second[user])
        users = sorted(scratch)
        found = summary(*(np.array([np.mean(side[u]) for u in users]) for side in (scratch, tuned)), "ndcg@5",
                        len(pairs))
        out[convention] = {"users": found["users"], "seeds": len(pairs), "scratch": found["first"],
                           "fine-tuned": found["second"], **{k: found[k] for k in ("difference", "se", "p")}}
    return out


def cell(target, percent, size, seed, mode, tokenizer, checkpoint, workdir, log, train=True):
    """Scratch, zero-shot and fine-tuned of one preset on one subset and seed (``train`` False: kept runs only)."""
    dataset, data_path, _ = subset(target, percent, seed)
    common = {**PINNED, "preset": size, "tokenizer_path": tokenizer, "stopping_step": mode["stopping_step"]}
    longer = mode["epochs"] + preset(size)["n_layers"] * mode["stage_epochs"]  # fine-tuning's stages included
    tuned = {**common, "init_from": checkpoint, "epochs": mode["epochs"], "unfreeze_stage_epochs": mode["stage_epochs"],
             "unfreeze_item_encoder": "first"}
    name = f"{target}-u{percent}-{size}"

    def on_best(fallback):  # the masked test on the run's best weights (the pre-trained ones when it trained none)
        return lambda result: {**common, "init_from": result["checkpoint"] or fallback, "epochs": 0}
    scratch, scratch_ranks = row("scratch", f"{name}-scratch-e{longer}-s{seed}", dataset, data_path,
                                 {**common, "epochs": longer}, seed, workdir, log, masked=on_best(None), cold=True,
                                 ranked=True, train=train)
    control = [row(f"scratch, {mode['long_epochs']} epochs", f"{name}-scratch-e{mode['long_epochs']}-s{seed}", dataset,
                   data_path, {**common, "epochs": mode["long_epochs"]}, seed, workdir, log, masked=on_best(None),
                   train=train)] if percent <= LONG_SHARE else []
    zero = row("zero-shot", f"{name}-zero_shot-s{seed}", dataset, data_path,
               {**common, "init_from": checkpoint, "epochs": 0}, seed, workdir, log, masked=on_best(checkpoint),
               train=train)
    fine, fine_ranks = row("fine-tuned", f"{name}-finetuned-s{seed}", dataset, data_path, tuned, seed, workdir, log,
                           masked=on_best(checkpoint), cold=True, ranked=True, train=train)
    return control + [scratch, zero, {**fine, "paired_vs_scratch": paired(fine_ranks, scratch_ranks)}], \
        (fine_ranks, scratch_ranks)


def study(args, argv):
    mode = dict(MODES["quick" if args.quick else "full"])
    seeds = harness.ints(args.seeds or mode["seeds"], "--seeds")
    percents = harness.ints(args.fractions or mode["fractions"], "--fractions")
    for percent in percents:
        if not 0 < percent <= 100:
            raise SystemExit(f"--fractions: expected percents in (0, 100], got {percent}")
    sizes = [s.strip() for s in (args.presets or mode["presets"]).split(",") if s.strip()]
    for size in sizes:
        try:
            preset(size)
        except Exception as error:  # the plugin's one-line ConfigError
            raise SystemExit(f"--presets: {error}") from None
    targets = harness.names(args.targets, TARGETS, "--targets")
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    tag = "curve" + ("-quick" if args.quick else "")
    name = "transfer_curve" + ("-quick" if args.quick else "")
    workdir = os.path.join(harness.paths.SAVED, "transfer", tag)
    os.makedirs(workdir, exist_ok=True)
    start, rows, checkpoints, ranked, together = time.time(), [], {}, {}, []
    named = {"seeds": seeds, "fractions": percents, "presets": sizes, "targets": targets}
    # The plan grows with each command: what earlier commands planned stays in it (their kept cells are read
    # again), so that a command naming fewer targets, seeds or shares adds to the results rather than replacing them
    results = os.path.join(harness.paths.RESULTS, name + ".json")
    plan = grown(harness.load(results)["plan"] if os.path.isfile(results) else None, named)
    seeds, percents, sizes, targets = plan["seeds"], plan["fractions"], plan["presets"], plan["targets"]

    def write(complete):
        # in the plan's order, however the cells were reached (kept ones are read first): the file changes only where
        # the results do
        rows.sort(key=lambda r: (r["percent"], sizes.index(r["preset"] or sizes[0]), targets.index(r["target"]),
                                 r["seed"]))
        result = {"quick": args.quick, "mode": {k: mode[k] for k in ("pretrain_epochs", "epochs", "stage_epochs",
                                                                     "stopping_step", "long_epochs", "larger_upto")},
                  "long_share": LONG_SHARE,
                  "pinned": PINNED, "plan": plan, "complete": complete, "rows": rows, "paired": together,
                  "corpus": {"sources": CORPUS_SOURCES, **corpus_size()},
                  "pretrain_seconds": {s: c[1] for s, c in checkpoints.items()},
                  "wall_minutes": (time.time() - start) / 60, **harness.stamp(__file__, argv)}
        harness.update(results, lambda old: result)
        harness.publish(pages())
        report.figure(result, os.path.join(harness.paths.DOCS, name))
        return result

    cells = [(percent, size, target, seed) for percent in percents for size in sizes
             if size == sizes[0] or percent <= mode["larger_upto"] for target in targets for seed in seeds]

    def add(percent, size, target, seed, train):
        """One cell's rows (most popular with the first preset); with ``train`` False kept runs only (NotKept)."""
        if size not in checkpoints:
            pre = run(f"pretrain-{size}", CORPUS, {**PINNED, "preset": size, "tokenizer_path": tokenizer,
                                                  "stopping_step": mode["stopping_step"], "seed": 0,
                                                  "epochs": mode["pretrain_epochs"]}, workdir, log, train=train)
            checkpoints[size] = (pre["checkpoint"], pre["wall_seconds"])
        dataset, data_path, users = subset(target, percent, seed)
        where = {"target": target, "percent": percent, "users": users}
        found = []
        if size == sizes[0]:  # most popular does not depend on the model's size
            popular = row("most-popular", f"{target}-u{percent}-most_popular-s{seed}", dataset, data_path,
                          {"model": "MostPop"}, seed, workdir, log, masked=lambda result: {"model": "MostPop"},
                          train=train)
            found.append({**popular, **where, "preset": None})
        cell_rows, ranks = cell(target, percent, size, seed, mode, tokenizer, checkpoints[size][0], workdir, log,
                                train)
        rows.extend(found + [{**r, **where, "preset": size} for r in cell_rows])  # the whole cell or nothing
        ranked.setdefault((size, percent, target), []).append(ranks)
        together[:] = [e for e in together if (e["preset"], e["percent"], e["target"]) != (size, percent, target)] \
            + [{"preset": size, "percent": percent, "target": target, **pooled(ranked[size, percent, target])}]

    with open(os.path.join(workdir, "commands.log"), "a", encoding="utf-8") as log:
        tokenizer = corpus(log)
        # First every cell whose runs are all kept, so that a resumed study's results and page hold them from its
        # first write (a cell still to run ahead of them in the order would otherwise hide them for hours)
        done = set()
        for key in cells:
            try:
                add(*key, train=False)
                done.add(key)
            except NotKept:
                pass
        write(False)
        # Then the rest, in order: smaller targets first, every preset at a share before the next share, so that a
        # stopped study has the small end of the curves, where the larger presets are asked about, for every size
        for key in cells:
            if key not in done and all(part in named[k] for part, k in zip(key, ("fractions", "presets", "targets",
                                                                                 "seeds"))):
                add(*key, train=True)
                done.add(key)
                write(False)
    return {name: write(len(done) == len(cells))}


def grown(old, named):
    """The union of an earlier command's plan and this one's: values in order, the earlier presets first (the first
    preset is the one run at every share)."""
    if old is None:
        return named
    return {"seeds": sorted(set(old["seeds"]) | set(named["seeds"])),
            "fractions": sorted(set(old["fractions"]) | set(named["fractions"])),
            "presets": list(dict.fromkeys(old["presets"] + named["presets"])),
            "targets": list(dict.fromkeys(old["targets"] + named["targets"]))}


def corpus_size():
    stats = harness.load(os.path.join(harness.paths.DATA, CORPUS, "stats.json"))
    return {"interactions": stats["interactions"], "users": stats["users"], "items": stats["items"]}


def pages(results=None):
    return harness.rendered(report.markdown, ["transfer_curve", "transfer_curve-quick"], results, named=True)


def main(argv=None):
    parser = harness.parser(__doc__, quick="1 seed, 2 and 5 %% of the users, presets L2-H2-D64 and L4-H2-D64, 1 "
                                           "epoch each: the protocol, not converged quality")
    parser.add_argument("--seeds", default=None, help="comma-separated (default 0,1,2; quick: 0)")
    parser.add_argument("--fractions", default=None, help="percents of the target's users (default 5,10,25,50,100; "
                                                         "quick: 2,5)")
    parser.add_argument("--presets", default=None, help="pre-trained sizes, smallest first (default "
                                                       "L2-H2-D64,L4-H2-D128; the others than the first at <= 25 %% "
                                                       "of the users)")
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--threads", type=int, default=1)
    code = harness.run(parser, argv, lambda args: study(args, argv), pages)
    for name in ("transfer_curve", "transfer_curve-quick"):  # the figures too (--render included)
        path = os.path.join(harness.paths.RESULTS, name + ".json")
        if os.path.isfile(path):
            report.figure(harness.load(path), os.path.join(harness.paths.DOCS, name))
    return code


if __name__ == "__main__":
    sys.exit(main())
