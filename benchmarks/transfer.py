"""The paper's transfer study (Table 4): pre-train SRT on other categories, fine-tune on the target.

    python benchmarks/transfer.py [--target beauty] [--quick] [--seeds 0,1,2] [--preset L2-H2-D64]
        [--sources toys,office] [--trend] [--pretrain_epochs N] [--epochs N] [--stage_epochs N]
    python benchmarks/transfer.py --render

1. Prepares the sources and the Beauty-free (or Sports-free) corpus with dataset_prep (README: "A
   pre-training corpus without the target's users"): one tokenizer over the corpus and the target's texts,
   which every run uses, also those on a smaller corpus (``--sources``).
2. Pre-trains SRT on the corpus (`run_recbole_srt.py`) and estimates its Fisher (`python -m recbole_srt.fisher`).
3. On the target, with that tokenizer, under full ranking: most popular; from scratch; zero-shot (the
   pre-trained weights, `epochs: 0`); fine-tuned with progressive unfreezing and EWC; without EWC; with the
   item encoder unfrozen first instead of last (`unfreeze_item_encoder: first`), with and without EWC;
   without unfreezing. Each model is tested under both history conventions (`eval_mask_history` False, then
   True on its best checkpoint), and scratch and fine-tuned are also run with `cold_start_items: 0.1` for the cold column.

``--trend`` pre-trains on nested corpora (one source, two, ... all; smallest first unless ``--sources`` gives
the order) and fine-tunes from each (zero-shot, fine-tuned, without EWC, encoder first with and without EWC;
history kept), to show how the transfer gain grows with the corpus.

Every step is a plain run of the project's commands, logged with its command line; finished runs are kept
(saved/transfer/<tag>/*.json, the tag naming the target, quick mode, a preset other than the default and
overridden epochs) and skipped when the script is run again. Results: benchmarks/results/transfer-<tag>
[-trend][-<sources>].json, rendered to docs/results/ under the same name. ``--quick`` (1 seed, few epochs: 15 minutes of runs on 2 cores for Beauty)
shows the protocol, not converged quality.
"""

import argparse
import glob
import os
import shlex
import subprocess
import sys
import time

import harness
from recbole_srt.model.sizes import preset

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
    subprocess.run(command, cwd=harness.paths.ROOT, check=True, stdout=log, stderr=subprocess.STDOUT)


def prepare(target, log):
    """The target, its sources and the full corpus (all sources, the target's users removed), whose tokenizer
    is trained on the corpus and the target's texts; every run of this benchmark uses that one tokenizer."""
    dataset, sources, users = TARGETS[target]
    data = harness.paths.DATA
    for name in sorted(set(sources + [users, dataset])):
        harness.prepare(name, data)
    corpus = f"pretrain-{target}"
    if not os.path.isfile(os.path.join(data, corpus, f"{corpus}.inter")):
        sh([sys.executable, "-m", "dataset_prep", "merge", "--sources", ",".join(os.path.join(data, s) for s in sources),
            "--exclude", os.path.join(data, users), "--tokenizer-also", os.path.join(data, dataset),
            "--name", corpus, "--out", data], log)
    return dataset, corpus, os.path.join(data, corpus, f"{corpus}.spm.model")


def sub_corpus(target, sources, tokenizer, log):
    """The corpus of some of the target's sources, its users removed as in the full one, encoded with the
    full corpus's tokenizer so that only the pre-training data differs between corpora."""
    _, everything, users = TARGETS[target]
    if sorted(sources) == sorted(everything):
        return f"pretrain-{target}"
    corpus = f"pretrain-{target}-" + "+".join(sources)
    data = harness.paths.DATA
    if not os.path.isfile(os.path.join(data, corpus, f"{corpus}.inter")):
        sh([sys.executable, "-m", "dataset_prep", "merge", "--sources", ",".join(os.path.join(data, s) for s in sources),
            "--exclude", os.path.join(data, users), "--tokenizer", tokenizer, "--name", corpus, "--out", data], log)
    return corpus


def corpus_size(corpus):
    """Interactions and users of a merged corpus, after the target's users were removed (its stats.json)."""
    stats = harness.load(os.path.join(harness.paths.DATA, corpus, "stats.json"))
    return stats["interactions"], stats["users"]


RUN_SECONDS = []  # wall time of every run this invocation reads, kept or made (the Fisher's is not counted)


def run(name, dataset, options, workdir, log, train=True):
    """One ``python -m recbole_srt`` run (recbole_srt.trials; kept as <workdir>/<name>.json and skipped when it
    exists); its results. With ``train`` False, only a kept run is read: None when there is none."""
    path = os.path.join(workdir, f"{name}.json")
    if not os.path.isfile(path) and not train:
        return None
    if not os.path.isfile(path):
        log.write(f"$ {name}: python -m recbole_srt on {dataset} with {options}\n")
        log.flush()
        result = harness.trial(name, dataset, {"eval_args": FULL, **options}, os.path.join(workdir, "runs"),
                               harness.paths.DATA)
        harness.update(path, lambda old: result)
    result = harness.load(path)
    RUN_SECONDS.append(result["wall_seconds"])
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
                train=True):
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
    return row


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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", choices=sorted(TARGETS), default="beauty")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", default=None, help="comma-separated (default 0,1,2; quick: 0)")
    parser.add_argument("--preset", default=DEFAULT_PRESET, help="model size of pre-training and fine-tuning")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sources", default=None,
                        help="comma-separated subset of the target's corpus sources (default: all of them); with "
                             "--trend, in the order they are added (default: smallest first)")
    parser.add_argument("--trend", action="store_true",
                        help="pre-train on one, two, ... of the sources (nested) and fine-tune from each: how the "
                             "transfer gain grows with the corpus (transfer-<target>[-quick]-trend.{json,md})")
    parser.add_argument("--pretrain_epochs", type=int, default=None, help="override the mode's pre-training epochs")
    parser.add_argument("--epochs", type=int, default=None, help="override the mode's epochs on the target")
    parser.add_argument("--stage_epochs", type=int, default=None, help="override the epochs per unfreezing stage")
    parser.add_argument("--only", default=None, metavar="KEYS",
                        help="train only these variants (comma-separated run keys, e.g. scratch-as_many_epochs,"
                             "finetuned-encoder_first-no_EWC, or with a --trend corpus: "
                             "finetuned-encoder_first-no_EWC-office+toys); the others' kept runs are still reported "
                             "(more seeds for the comparisons that matter)")
    parser.add_argument("--render", action="store_true", help="only write the pages again from the JSON")
    args = parser.parse_args(argv)
    if args.render:
        return print(*harness.publish(pages())) or 0
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
    seeds = [int(s) for s in (args.seeds or ("0" if args.quick else "0,1,2")).split(",")]
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
        real = {key_of(v) for v in ["most-popular", "scratch"] + (["scratch, as many epochs"] if args.trend else [])}
        for label in labels:
            for variant in tuned_variants(mode, args.trend):
                real |= {key_of(variant), key_of(variant, label)}
        for key in only or []:
            if key not in real:
                raise SystemExit(f"--only: '{key}' names no run of this command; its variants: {', '.join(sorted(real))}")
        common = {"preset": args.preset, "tokenizer_path": tokenizer, "stopping_step": mode["stopping_step"],
                  "learning_rate": 1e-3}
        rows, sizes = [], {}
        for seed in seeds:
            # Baselines on the target, independent of the corpus (most popular needs no tokenizer).
            rows.append(variant_row("most-popular", "most-popular", dataset, {"model": "MostPop"}, {}, seed,
                                    workdir, log, masked=not args.trend, train=trains("most-popular")))
            rows.append(variant_row("scratch", "scratch", dataset, {"epochs": mode["epochs"]}, common, seed, workdir,
                                    log, masked=not args.trend, cold=not args.trend, train=trains("scratch")))
            if args.trend:  # fine-tuning trains its stages' epochs before `epochs`: scratch given as many
                longer = mode["epochs"] + preset(args.preset)["n_layers"] * mode["stage_epochs"]
                rows.append(variant_row("scratch, as many epochs", f"scratch-e{longer}", dataset, {"epochs": longer},
                                        common, seed, workdir, log, masked=False,
                                        train=trains("scratch, as many epochs")))
            for corpus_sources in corpora:
                corpus = sub_corpus(args.target, corpus_sources, tokenizer, log)
                label = corpus[len(f"pretrain-{args.target}"):]  # "" for the full corpus: its runs are shared
                sizes[corpus] = (corpus_sources, *corpus_size(corpus))
                chosen = tuned_variants(mode, args.trend)
                if not any(trains(v, label) for v in chosen):  # nothing to fine-tune: no pre-training either
                    checkpoint = None
                else:
                    checkpoint = pretrain(corpus, label, seed, common, mode, workdir, log)
                for variant, options in variants(checkpoint, mode).items():
                    if variant not in chosen:
                        continue
                    row = variant_row(variant, key_of(variant, label), dataset, options, common, seed, workdir, log,
                                      fallback=checkpoint, masked=not args.trend,
                                      cold=variant == "finetuned" and not args.trend, train=trains(variant, label))
                    if row is not None:
                        row["corpus"] = corpus_sources
                        rows.append(row)
    rows = [r for r in rows if r is not None]
    result = {"target": args.target, "quick": args.quick, "preset": args.preset, "seeds": seeds, "mode": mode,
              "rows": rows, "paper": PAPER[args.target], "wall_minutes": (time.time() - start) / 60,
              "run_minutes": sum(RUN_SECONDS) / 60,
              "corpora": [{"name": name, "sources": c, "interactions": n, "users": u} for name, (c, n, u) in sizes.items()],
              **harness.stamp(__file__, argv)}
    name = f"transfer-{tag}" + ("-trend" if args.trend else "")
    if args.sources is not None and (args.trend or sorted(sources) != sorted(everything)):
        name += "-" + "+".join(sources)
    harness.update(os.path.join(harness.paths.RESULTS, name + ".json"), lambda old: result)
    print(*harness.publish(pages()))
    return 0


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
             "\"vs scratch\" compares with the first.", "",
             "| pre-training corpus | interactions | users | zero-shot | " + " | ".join(f"{v} | vs scratch" for v in TUNED)
             + " |", "|---|---|---|---|" + "---|---|" * len(TUNED)]
    for corpus in result["corpora"]:
        mine = [r for r in rows if r.get("corpus") == corpus["sources"]]
        cells = []
        for variant in ("zero-shot", *TUNED):
            cells.append(summary(mine, variant, "unmasked", "ndcg@5", n))
            if variant != "zero-shot":
                cells.append(gain(by_seed(mine, variant), scratch, n))
        lines.append(f"| {' + '.join(corpus['sources'])} | {corpus['interactions']:,} | {corpus['users']:,} | "
                     + " | ".join(cells) + " |")
    if as_long:
        lines += ["", "Against scratch trained as many epochs as fine-tuning (the control), on the seeds both ran:", "",
                  "| pre-training corpus | " + " | ".join(TUNED) + " |", "|---|" + "---|" * len(TUNED)]
        for corpus in result["corpora"]:
            mine = [r for r in rows if r.get("corpus") == corpus["sources"]]
            lines.append(f"| {' + '.join(corpus['sources'])} | "
                         + " | ".join(gain(by_seed(mine, v), as_long, n) for v in TUNED) + " |")
    priors = [v for v in dict.fromkeys(r["variant"] for r in rows) if v.startswith("zero-shot, popularity prior")]
    if priors:
        lines += ["", "Zero-shot with the target's log-popularity added to its logits (`score_popularity_prior` β), "
                  f"against most popular ({summary(rows, 'most-popular', 'unmasked', 'ndcg@5', n)}):", "",
                  "| pre-training corpus | " + " | ".join(f"β = {v.rsplit(' ', 1)[1]}" for v in priors) + " |",
                  "|---|" + "---|" * len(priors)]
        for corpus in result["corpora"]:
            mine = [r for r in rows if r.get("corpus") == corpus["sources"]]
            lines.append(f"| {' + '.join(corpus['sources'])} | "
                         + " | ".join(summary(mine, v, "unmasked", "ndcg@5", n) for v in priors) + " |")
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
                                    "removed)" for c in result.get("corpora", [])) + ". The paper pre-trained on all "
             "Amazon categories (about 80M interactions).", "",
             "| variant | NDCG@5 unmasked | HIT@5 unmasked | NDCG@5 masked | HIT@5 masked | NDCG@5 cold | HIT@5 cold | "
             "NDCG@5 warm | paper NDCG@5 / HIT@5 |", "|---|---|---|---|---|---|---|---|---|"]
    for variant in dict.fromkeys(r["variant"] for r in rows):
        figures = paper.get(variant)
        printed = " / ".join("" if f is None else f"{f:.4f}" for f in figures) if figures else ""
        cells = [summary(rows, variant, group, metric, n) for group, metric in
                 (("unmasked", "ndcg@5"), ("unmasked", "hit@5"), ("masked", "ndcg@5"), ("masked", "hit@5"),
                  ("cold", "ndcg@5"), ("cold", "hit@5"), ("warm", "ndcg@5"))]
        lines.append(f"| {variant} | " + " | ".join(cells) + f" | {printed} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
