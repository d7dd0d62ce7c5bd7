"""The paper's transfer study (Table 4): pre-train SRT on other categories, fine-tune on the target.

    python benchmarks/transfer.py [--target beauty] [--quick] [--seeds 0,1,2] [--preset L2-H2-D64]
        [--sources toys,office] [--trend] [--pretrain_epochs N] [--epochs N] [--stage_epochs N] [--only KEYS]

The corpus (the sources, the target's users removed; one tokenizer over it and the target's texts, which every
run uses) is prepared with dataset_prep; SRT is pre-trained on it and its Fisher estimated; on the target, under
full ranking, each variant (most popular, scratch, zero-shot, fine-tuned with and without EWC and unfreezing) is
tested with history kept and masked, scratch and fine-tuned also with 10 % cold items. ``--trend``: nested corpora
(one source, two, ...), history kept. Every step is a plain run of the project's commands, kept under
saved/transfer/<tag>/ and skipped when run again. The results file holds every seed with kept runs besides the named
ones (and keeps its other rows), and is written again as each row finishes.
"""

import glob
import os
import re
import shlex
import subprocess
import sys
import time

import harness
from recbole_srt.model.sizes import preset
from recbole_srt.trials import run_tracked

PAPER = {"beauty": {"scratch": (0.0360, 0.0611), "finetuned": (0.0405, 0.0645)},
         "sports": {"scratch": (0.0192, None), "finetuned": (0.0206, None)}}
# target: (fine-tuning dataset, corpus sources, the target's users by raw id)
TARGETS = {"beauty": ("beauty", ["toys", "sports", "office", "gift_cards"], "beauty_gram"),
           "sports": ("sports", ["toys", "office", "gift_cards"], "sports")}
FULL = {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"}
# The authors' fine-tuning: a layer unfrozen every 10 epochs, EWC lambda 100 (README: fine-tuning).
DEFAULT_PRESET = "L2-H2-D64"
MODES = {"full": {"pretrain_epochs": 20, "epochs": 50, "stage_epochs": 10, "stopping_step": 5},
         "quick": {"pretrain_epochs": 2, "epochs": 3, "stage_epochs": 1, "stopping_step": 2}}


def sh(command, log):
    log.write("$ " + shlex.join(command) + "\n")
    log.flush()
    run_tracked(command, cwd=harness.paths.ROOT, check=True, stdout=log, stderr=subprocess.STDOUT)


def merge(corpus, sources, users, log, *tokenizer):
    """<corpus>: the sources merged, the target's users removed (once); ``tokenizer``: its dataset_prep option."""
    data = harness.paths.DATA
    if not os.path.isfile(os.path.join(data, corpus, f"{corpus}.inter")):
        sh([sys.executable, "-m", "dataset_prep", "merge", "--sources", ",".join(os.path.join(data, s) for s in sources),
            "--exclude", os.path.join(data, users), *tokenizer, "--name", corpus, "--out", data], log)
    return corpus


def prepare(target, log):
    """The target, its sources and the full corpus, whose tokenizer is trained on the corpus and the target's
    texts; every run of this benchmark uses that one tokenizer."""
    dataset, sources, users = TARGETS[target]
    for name in sorted(set(sources + [users, dataset])):
        harness.prepare(name, harness.paths.DATA)
    corpus = merge(f"pretrain-{target}", sources, users, log, "--tokenizer-also",
                   os.path.join(harness.paths.DATA, dataset))
    return dataset, corpus, os.path.join(harness.paths.DATA, corpus, f"{corpus}.spm.model")


def sub_corpus(target, sources, tokenizer, log):
    """The corpus of some of the target's sources, encoded with the full corpus's tokenizer so that only the
    pre-training data differs between corpora."""
    _, everything, users = TARGETS[target]
    if sorted(sources) == sorted(everything):
        return f"pretrain-{target}"
    return merge(f"pretrain-{target}-" + "+".join(sources), sources, users, log, "--tokenizer", tokenizer)


def corpus_size(corpus):
    """Interactions and users of a merged corpus, after the target's users were removed (its stats.json)."""
    stats = harness.load(os.path.join(harness.paths.DATA, corpus, "stats.json"))
    return stats["interactions"], stats["users"]


# {run: wall time} of every run this invocation reads, kept or made (the Fisher's is not counted); by run, since a
# study reads its kept runs once before it trains and again as it goes
RUN_SECONDS = {}


def run(name, dataset, options, workdir, log, train=True, data_path=None):
    """One ``python -m recbole_srt`` run (recbole_srt.trials; kept as <workdir>/<name>.json and skipped when it
    exists); its results. With ``train`` False, only a kept run is read: None when there is none. ``data_path``:
    where the dataset lies (default the prepared Amazon datasets)."""
    path = os.path.join(workdir, f"{name}.json")
    if not os.path.isfile(path) and not train:
        return None
    if not os.path.isfile(path):
        log.write(f"$ {name}: python -m recbole_srt on {dataset} with {options}\n")
        log.flush()
        result = harness.trial(name, dataset, {"eval_args": FULL, **options}, os.path.join(workdir, "runs"),
                               data_path or harness.paths.DATA)
        harness.update(path, lambda old: result)
    result = harness.load(path)
    RUN_SECONDS[path] = result["wall_seconds"]
    return result


def pretrain(corpus, label, seed, common, mode, workdir, log):
    """The pre-trained checkpoint on one corpus (its Fisher estimated beside it, once)."""
    pre = run(f"pretrain{label}-s{seed}", corpus, {**common, "seed": seed, "epochs": mode["pretrain_epochs"]}, workdir, log)
    checkpoint = pre["checkpoint"]
    if not os.path.isfile(checkpoint + ".fisher.pt"):
        sh([sys.executable, "-m", "recbole_srt.fisher", "--model=SRT", f"--dataset={corpus}",
            f"--checkpoint={checkpoint}", f"--data_path={harness.paths.DATA}", f"--preset={common['preset']}",
            f"--tokenizer_path={common['tokenizer_path']}"], log)
    return checkpoint


def variant_row(variant, key, dataset, options, common, seed, workdir, log, fallback=None, masked=True, cold=False,
                train=True, corpus=None):
    """One variant's run on the target: unmasked test, and on its best weights the masked test. With ``train``
    False, the row of kept runs only (None when the variant has not run)."""
    result = run(f"{key}-s{seed}", dataset, {**common, **options, "seed": seed}, workdir, log, train)
    if result is None:
        return None
    masked, cold = masked and (train or os.path.isfile(os.path.join(workdir, f"{key}-s{seed}-masked.json"))), \
        cold and (train or os.path.isfile(os.path.join(workdir, f"{key}-s{seed}-cold.json")))
    row = {"variant": variant, "seed": seed, "unmasked": result["test_result"],
           "epochs_trained": len(result["history"]), "wall_seconds": result["wall_seconds"]}
    if masked:
        if options.get("model") == "MostPop":  # no weights: the same run again with history masked
            again = {**common, **options, "seed": seed, "eval_mask_history": True}
        else:  # the other convention on the same weights: the run's best checkpoint (or the pre-trained one)
            again = {**common, "seed": seed, "init_from": result["checkpoint"] or fallback, "epochs": 0,
                     "eval_mask_history": True}
        row["masked"] = run(f"{key}-s{seed}-masked", dataset, again, workdir, log)["test_result"]
    if cold:
        result = run(f"{key}-s{seed}-cold", dataset, {**common, **options, "seed": seed, "cold_start_items": 0.1},
                     workdir, log)
        row["cold"], row["warm"] = result["test_result_cold"], result["test_result_warm"]
    return row if corpus is None else {**row, "corpus": corpus}


PRIORS = (1.0, 3.0, 10.0)  # score_popularity_prior of the zero-shot rows


def variants(checkpoint, mode):
    tuned = {"init_from": checkpoint, "epochs": mode["epochs"]}
    unfreeze = {"unfreeze_stage_epochs": mode["stage_epochs"]}
    return {"zero-shot": {"init_from": checkpoint, "epochs": 0},
            # the pre-trained scores plus the target's log-popularity: whether they add anything to most popular
            **{f"zero-shot, popularity prior {beta:g}": {"init_from": checkpoint, "epochs": 0,
                                                         "score_popularity_prior": beta} for beta in PRIORS},
            "finetuned": {**tuned, **unfreeze, "ewc_lambda": 100.0},
            "finetuned, no EWC": {**tuned, **unfreeze},
            # the item encoder unfrozen first, not last: on a new catalog it is the part that meets new text
            "finetuned, encoder first": {**tuned, **unfreeze, "ewc_lambda": 100.0, "unfreeze_item_encoder": "first"},
            "finetuned, encoder first, no EWC": {**tuned, **unfreeze, "unfreeze_item_encoder": "first"},
            "finetuned, no unfreezing": {**tuned, "ewc_lambda": 100.0}}


def tuned_variants(mode, trend):
    """The variants fine-tuned from each corpus; the trend leaves out "no unfreezing", which it does not compare."""
    return {v: o for v, o in variants("", mode).items() if not (trend and v == "finetuned, no unfreezing")}


def key_of(variant, label=""):
    return variant.replace(", ", "-").replace(" ", "_") + label


def all_variants():
    return ["most-popular", "scratch", "scratch, as many epochs", *variants("", MODES["full"])]


def main(argv=None):
    parser = harness.parser(__doc__, quick="1 seed, few epochs: the protocol, not converged quality")
    parser.add_argument("--target", choices=sorted(TARGETS), default="beauty")
    parser.add_argument("--seeds", default=None, help="comma-separated (default 0,1,2; quick: 0)")
    parser.add_argument("--preset", default=DEFAULT_PRESET, help="model size of pre-training and fine-tuning")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sources", default=None,
                        help="comma-separated subset of the target's corpus sources (default: all of them); with "
                             "--trend, in the order they are added (default: smallest first)")
    parser.add_argument("--trend", action="store_true",
                        help="pre-train on one, two, ... of the sources (nested) and fine-tune from each: how the "
                             "transfer gain grows with the corpus (transfer-<target>[-quick]-trend.{json,md})")
    for key in ("pretrain_epochs", "epochs", "stage_epochs"):
        parser.add_argument(f"--{key}", type=int, default=None, help=f"override the mode's {key}")
    parser.add_argument("--only", default=None, metavar="KEYS",
                        help="train only these variants (comma-separated run keys, e.g. scratch-as_many_epochs,"
                             "finetuned-encoder_first-no_EWC, or with a --trend corpus: "
                             "finetuned-encoder_first-no_EWC-office+toys); the others' kept runs are still reported "
                             "(more seeds for the comparisons that matter)")
    return harness.run(parser, argv, lambda args: study(args, argv), pages)


def study(args, argv):
    known = {key_of(v): v for v in all_variants()}
    only = None if args.only is None else [k.strip() for k in args.only.split(",") if k.strip()]
    for key in only or []:
        base = max((k for k in known if key == k or key.startswith(k + "-")), key=len, default=None)
        label = key[len(base) + 1:] if base else ""
        if base is None or (label and not set(label.split("+")) <= set(TARGETS[args.target][1])):
            raise SystemExit(f"--only: unknown variant '{key}'; choose from {', '.join(known)} "
                             f"(optionally -<source>+<source> of a --trend corpus)")

    def trains(variant, label=""):  # label: "-office+toys" for a --trend corpus's runs
        return only is None or key_of(variant) in only or (label and key_of(variant, label) in only)
    mode = dict(MODES["quick" if args.quick else "full"])
    overridden = {k: getattr(args, k) for k in ("pretrain_epochs", "epochs", "stage_epochs")
                  if getattr(args, k) is not None}
    mode.update(overridden)
    seeds = harness.ints(args.seeds or ("0" if args.quick else "0,1,2"), "--seeds")
    everything = TARGETS[args.target][1]
    sources = [s.strip() for s in args.sources.split(",") if s.strip()] if args.sources is not None else None
    for source in sources or []:
        if source not in everything:
            raise SystemExit(f"--sources: '{source}' is not a source of the {args.target} corpus ({', '.join(everything)})")
    if sources is not None and (not sources or len(set(sources)) != len(sources)):
        raise SystemExit(f"--sources: expected distinct sources of the {args.target} corpus, got '{args.sources}'")
    tag = f"{args.target}{'-quick' if args.quick else ''}"
    if args.preset != DEFAULT_PRESET:  # runs of another size are never reused for this one
        tag += f"-{args.preset}"
    if overridden:  # runs of other lengths are kept apart from the mode's own
        tag += "-p{pretrain_epochs}e{epochs}s{stage_epochs}".format(**mode)
    workdir = os.path.join(harness.paths.SAVED, "transfer", tag)
    os.makedirs(workdir, exist_ok=True)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    start = time.time()
    with open(os.path.join(workdir, "commands.log"), "a", encoding="utf-8") as log:
        dataset, _, tokenizer = prepare(args.target, log)
        if sources is None:
            sources = sorted(everything, key=lambda s: os.path.getsize(os.path.join(harness.paths.DATA, s,
                                                                                        f"{s}.inter"))) \
                if args.trend else everything
        corpora = [sources[:k] for k in range(1, len(sources) + 1)] if args.trend else [sources]
        labels = ["" if sorted(c) == sorted(everything) else "-" + "+".join(c) for c in corpora]
        chosen = tuned_variants(mode, args.trend)
        real = {key_of(v) for v in ["most-popular", "scratch"] + (["scratch, as many epochs"] if args.trend else [])}
        real |= {k for label in labels for v in chosen for k in (key_of(v), key_of(v, label))}
        for key in only or []:
            if key not in real:
                raise SystemExit(f"--only: '{key}' names no run of this command; its variants: {', '.join(sorted(real))}")
        common = {"preset": args.preset, "tokenizer_path": tokenizer, "stopping_step": mode["stopping_step"],
                  "learning_rate": 1e-3}
        rows, sizes = [], {}
        name = f"transfer-{tag}" + ("-trend" if args.trend else "")
        if args.sources is not None and (args.trend or sorted(sources) != sorted(everything)):
            name += "-" + "+".join(sources)
        results = os.path.join(harness.paths.RESULTS, name + ".json")

        def seed_rows(seed, train, found):
            """Each of this seed's rows passed to ``found`` as it is made (None: a variant that has not run); with
            ``train`` False, kept runs only."""
            def row(variant, key, options, label="", masked=not args.trend, base=common, **more):
                found(variant_row(variant, key, dataset, options, base, seed, workdir, log, masked=masked,
                                  train=train and trains(variant, label), **more))
            # Baselines on the target, independent of the corpus (most popular needs no tokenizer).
            row("most-popular", "most-popular", {"model": "MostPop"}, base={})
            row("scratch", "scratch", {"epochs": mode["epochs"]}, cold=not args.trend)
            if args.trend:  # fine-tuning trains its stages' epochs before `epochs`: scratch given as many
                longer = mode["epochs"] + preset(args.preset)["n_layers"] * mode["stage_epochs"]
                row("scratch, as many epochs", f"scratch-e{longer}", {"epochs": longer}, masked=False)
            for corpus_sources in corpora:
                corpus = sub_corpus(args.target, corpus_sources, tokenizer, log)
                label = corpus[len(f"pretrain-{args.target}"):]  # "" for the full corpus: its runs are shared
                sizes[corpus] = (corpus_sources, *corpus_size(corpus))
                # nothing to fine-tune: no pre-training either
                checkpoint = pretrain(corpus, label, seed, common, mode, workdir, log) \
                    if train and any(trains(v, label) for v in chosen) else None
                for variant, options in variants(checkpoint, mode).items():
                    if variant in chosen:
                        row(variant, key_of(variant, label), options, label=label, fallback=checkpoint,
                            cold=variant == "finetuned" and not args.trend, corpus=corpus_sources)

        def result(old):
            """The file's rows with this command's in place of those of the same variant, seed and corpus (the
            others kept: seeds whose runs are no longer here, or a command running beside this one)."""
            every = harness.merge_rows((old or {}).get("rows"), rows, row_key)
            # the seeds of the rows only: a named seed is written before it trains, and one stopped before its
            # first row would count in every cell's "(n of N seeds)" with no row of its own
            return {"target": args.target, "quick": args.quick, "preset": args.preset,
                    "seeds": sorted({r["seed"] for r in every}), "mode": mode, "rows": every,
                    "paper": PAPER[args.target], "wall_minutes": (time.time() - start) / 60,
                    "run_minutes": sum(RUN_SECONDS.values()) / 60,
                    "corpora": [{"name": name, "sources": c, "interactions": n, "users": u}
                                for name, (c, n, u) in sizes.items()], **harness.stamp(__file__, argv)}

        def write():  # the results file and its page, so that a stopped study shows what it finished
            written = harness.update(results, result)
            harness.publish({name: (trend_markdown if args.trend else markdown)(written)})

        def add(found, write_new=False):
            """``found`` in place of the row of its key; ``write_new``: written at once when it is new (trained)."""
            if found is not None and found not in rows:
                rows[:] = harness.merge_rows(rows, [found], row_key)
                if write_new:
                    write()

        # First the rows of every seed with kept runs, the named ones' too, so that the first write holds them all
        # (a command naming another seed adds it to them), then the named seeds, each row written as it finishes
        for seed in sorted(set(seeds) | kept_seeds(workdir)):
            seed_rows(seed, False, add)
        if rows:
            write()
        for seed in seeds:
            seed_rows(seed, True, lambda found: add(found, write_new=True))
    return {name: result}


def kept_seeds(workdir):
    """The seeds of the runs kept in ``workdir`` (<key>-s<seed>.json)."""
    return {int(m.group(1)) for f in os.listdir(workdir) for m in [re.fullmatch(r".+-s(\d+)\.json", f)] if m}


def row_key(row):
    """What one row of the results stands for: a variant, a seed and (fine-tuned) the corpus it was pre-trained on."""
    return row["variant"], row["seed"], tuple(row.get("corpus") or ())


def pages(results=None):
    """A page per results file; a trend's (its name says -trend) in the trend's layout."""
    found = sorted(glob.glob(os.path.join(results or harness.paths.RESULTS, "transfer-*.json")))
    return {os.path.basename(path)[:-5]: (trend_markdown if "-trend" in os.path.basename(path) else markdown)(
        harness.load(path)) for path in found}


def summary(rows, variant, group, metric, seeds=None):
    """Mean ± sd over the variant's seeds; "(n of N seeds)" when it ran for fewer than the result's N."""
    values = [r[group][metric] for r in rows if r["variant"] == variant and group in r]
    if not values:
        return ""
    return harness.mean_sd_text(values) + (f" ({len(values)} of {seeds} seeds)" if seeds and len(values) < seeds else "")


def minutes(result):
    """The runs' own wall time: runs kept from an earlier invocation are counted as they ran."""
    text = f"{result['run_minutes']:.0f} minutes of runs (Fisher estimates not counted)"
    if result["run_minutes"] - result["wall_minutes"] > 0.5:
        text += f"; this invocation took {result['wall_minutes']:.0f}, the other runs were kept from earlier ones"
    return text


# the trend's fine-tuned variants
TUNED = ("finetuned", "finetuned, no EWC", "finetuned, encoder first", "finetuned, encoder first, no EWC")


def trend_markdown(result):
    rows, n = result["rows"], len(result["seeds"])

    def by_seed(mine, variant):
        return {r["seed"]: r["unmasked"]["ndcg@5"] for r in mine if r["variant"] == variant}

    scratch, as_long = by_seed(rows, "scratch"), by_seed(rows, "scratch, as many epochs")
    lines = [f"# Transfer to {result['target']}: the gain against the size of the pre-training corpus"
             f"{' (quick mode)' if result['quick'] else ''}", "",
             f"`{result['command']}`; {harness.describe(result['machine'])}; {result['date']}; {minutes(result)}. "
             f"SRT {result['preset']}, seeds {result['seeds']}, epochs {result['mode']}. Nested corpora, the target's "
             "users removed from each, one tokenizer for every run (the full corpus's). Test NDCG@5, full ranking, "
             "history kept (the authors' convention).", "",
             f"On the target alone: from scratch {summary(rows, 'scratch', 'unmasked', 'ndcg@5', n)}, most popular "
             f"{summary(rows, 'most-popular', 'unmasked', 'ndcg@5', n)}; from scratch for as many epochs as "
             f"fine-tuning trains (its stages included) {summary(rows, 'scratch, as many epochs', 'unmasked', 'ndcg@5', n)}. "
             "\"vs scratch\" compares with the first.", ""]

    corpora = [(" + ".join(c["sources"]), c, [r for r in rows if r.get("corpus") == c["sources"]])
               for c in result["corpora"]]
    lines += harness.table(
        ["pre-training corpus", "interactions", "users", "zero-shot", *[h for v in TUNED for h in (v, "vs scratch")]],
        [[name, f"{c['interactions']:,}", f"{c['users']:,}", summary(mine, "zero-shot", "unmasked", "ndcg@5", n),
          *[x for v in TUNED for x in (summary(mine, v, "unmasked", "ndcg@5", n), gain(by_seed(mine, v), scratch, n))]]
         for name, c, mine in corpora])
    if as_long:
        lines += ["", "Against scratch trained as many epochs as fine-tuning (the control), on the seeds both ran:", ""]
        lines += harness.table(["pre-training corpus", *TUNED],
                               [[name, *[gain(by_seed(mine, v), as_long, n) for v in TUNED]] for name, _, mine in corpora])
    priors = [v for v in dict.fromkeys(r["variant"] for r in rows) if v.startswith("zero-shot, popularity prior")]
    if priors:
        lines += ["", "Zero-shot with the target's log-popularity added to its logits (`score_popularity_prior` β), "
                  f"against most popular ({summary(rows, 'most-popular', 'unmasked', 'ndcg@5', n)}):", ""]
        lines += harness.table(["pre-training corpus", *[f"β = {v.rsplit(' ', 1)[1]}" for v in priors]],
                               [[name, *[summary(mine, v, "unmasked", "ndcg@5", n) for v in priors]]
                                for name, _, mine in corpora])
    return "\n".join(lines) + "\n"


def gain(values, base, seeds):
    """Relative gain of ``values`` over ``base`` ({seed: NDCG}) on the seeds both ran (paired), "(k of
    ``seeds`` seeds)" when that is fewer than the command's."""
    shared = sorted(set(values) & set(base))
    base_mean = harness.mean_sd(base[s] for s in shared)[0] if shared else 0.0
    if not base_mean:
        return ""
    ratio = harness.mean_sd(values[s] for s in shared)[0] / base_mean
    return f"{100 * (ratio - 1):+.1f} %" + (f" ({len(shared)} of {seeds} seeds)" if len(shared) < seeds else "")


def markdown(result):
    rows, paper, n = result["rows"], result["paper"], len(result["seeds"])
    lines = [f"# Transfer to {result['target']} (paper Table 4){' — quick mode' if result['quick'] else ''}", "",
             f"`{result['command']}`; {harness.describe(result['machine'])}; {result['date']}; {minutes(result)}. "
             f"SRT {result['preset']}, seeds {result['seeds']}, epochs {result['mode']}. Full ranking; unmasked = the "
             "user's earlier items stay ranked (the authors' code), masked = they cannot be recommended. Cold / warm: "
             "runs with 10 % of the items withheld from training (`cold_start_items: 0.1`), unmasked. Pre-training "
             "corpus: " + "; ".join(f"{' + '.join(c['sources'])} ({c['interactions']:,} interactions, the target's users "
                                    "removed)" for c in result.get("corpora", [])) + ". The paper pre-trained on the other "
             "Amazon categories (about 80M interactions): \"we removed the beauty and sports subsets from our "
             "pre-training datasets\", whole categories, both targets' (benchmarks/transfer_curve.py's rule).", ""]
    groups = (("unmasked", "ndcg@5"), ("unmasked", "hit@5"), ("masked", "ndcg@5"), ("masked", "hit@5"),
              ("cold", "ndcg@5"), ("cold", "hit@5"), ("warm", "ndcg@5"))
    lines += harness.table(["variant", *[f"{m.upper()} {g}" for g, m in groups], "paper NDCG@5 / HIT@5"], [
        [variant, *[summary(rows, variant, g, m, n) for g, m in groups], " / ".join(
            "" if f is None else f"{f:.4f}" for f in paper.get(variant) or ())]
        for variant in dict.fromkeys(r["variant"] for r in rows)])
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
