"""Item encoders compared with SRT's loss and backbone held fixed: text, id, text+id and fusion (issue 30),
and whether the default schedule converges on small catalogs.

    python benchmarks/encoders.py [--quick] [--part ablation,compare,cold,schedule,paired] [--datasets ml-100k,beauty,sports]
        [--seeds 0,1,2] [--threads 1]

Every run is SRT at its defaults (SRT-1K) trained under full-ranking leave-one-out with early stopping on validation
NDCG@5; its best checkpoint is tested with the user's history kept, and again with it masked. Parts:
- ablation: the fused encoder's variants, one seed, on validation: how its default recipe was chosen;
- compare: text, id, text+id and fusion (its default recipe), every seed;
- paired: each compare run's best checkpoint tested again with ``test_ranks``, and fusion compared with text, id
  and text+id user by user (after the compare part: it trains nothing);
- cold: 10 % of the items withheld from training (``cold_start_items: 0.1``), text against fusion;
- schedule: the one-cycle schedule over 20 epochs (SRT's default before this study) against a constant learning
  rate of 1e-3 for up to 50 epochs with early stopping, and against the one-cycle stretched to at least 1,000
  optimizer steps (the default since), on ml-100k and nested user subsets of Beauty, text and fusion.
Each run is kept (saved/encoders/<tag>/<key>.json) and skipped when the command runs again: the study resumes
where it was stopped, and its results file is written after every run.
"""

import os
import statistics
import sys
import time

import harness

# Run options of each encoder row; the fused encoder's variants name their recipe.
ENCODERS = {"text": {}, "id": {"item_encoder": "id"}, "text+id": {"item_encoder": "text+id"}}
FUSION = {  # every key explicit: a variant means the same runs whatever fusion.py's defaults are
    "fusion m5": {"fusion_count_prior": 5, "fusion_id_dropout": 0.0, "fusion_form": "sum"},
    "fusion m20": {"fusion_count_prior": 20, "fusion_id_dropout": 0.0, "fusion_form": "sum"},
    "fusion m100": {"fusion_count_prior": 100, "fusion_id_dropout": 0.0, "fusion_form": "sum"},
    "fusion m20 drop0.5": {"fusion_count_prior": 20, "fusion_id_dropout": 0.5, "fusion_form": "sum"},
    # the shrinkage estimate itself: (1 - w) text + w id (fusion_form: interpolate)
    "fusion m20 drop0.5 interpolate": {"fusion_count_prior": 20, "fusion_id_dropout": 0.5, "fusion_form": "interpolate"},
    # without ID dropout, which trains half the items on their text alone: on a catalog whose text says little
    # (ml-100k's titles) that half is spent on the weaker representation
    "fusion m20 interpolate": {"fusion_count_prior": 20, "fusion_id_dropout": 0.0, "fusion_form": "interpolate"},
    # validated and tested with the ID part's mean under the dropout: trained as the default, but its checkpoint
    # is chosen on validation under the same rule (fusion expected-id re-tests the default's checkpoints instead)
    "fusion m20 drop0.5 expected": {"fusion_count_prior": 20, "fusion_id_dropout": 0.5, "fusion_form": "sum",
                                    "fusion_eval_id": "expected"},
    # less ID dropout, so more of each warm item's ID part at test (0.7 of it): whether ml-100k with history kept,
    # where IDs alone lead, gains without Beauty's cold items losing what dropout 0.5 gave them
    "fusion m20 drop0.3 expected": {"fusion_count_prior": 20, "fusion_id_dropout": 0.3, "fusion_form": "sum",
                                    "fusion_eval_id": "expected"},
    # the shrinkage estimate, validated and tested at the ID part's mean: whether interpolate's gain on ml-100k
    # (kept) under full adds to expected's
    "fusion m20 drop0.5 interpolate expected": {"fusion_count_prior": 20, "fusion_id_dropout": 0.5,
                                                "fusion_form": "interpolate", "fusion_eval_id": "expected"},
}
# The default recipe's training: the variant the compare part runs as "fusion" (with fusion_eval_id full, the
# default before it was measured below); "fusion expected-id" is the default itself, fusion.py's keys all
DEFAULT_FUSION = "fusion m20 drop0.5"
for _options in FUSION.values():  # unless named: trained and tested with each warm item's whole ID part
    _options.setdefault("fusion_eval_id", "full")
# Variants that train nothing: another variant's best checkpoints validated and tested again with these options
RETESTED = {
    # the ID part's mean under the training's ID dropout (fusion_eval_id: expected), on the default's checkpoints
    "fusion expected-id": ("fusion", {"fusion_eval_id": "expected"}),
}
# Each names its horizon, so that its runs keep their meaning when SRT's defaults change (as this part changed them).
SCHEDULES = {"one-cycle, 20 epochs": {"epochs": 20},  # SRT's default before this study
             "constant 1e-3, up to 50 epochs, early stopping": {"lr_scheduler": None, "epochs": 50, "stopping_step": 5},
             # the one-cycle stretched to span 1,000 optimizer steps (min_train_steps): SRT's default since
             "one-cycle, at least 1,000 steps (default)": {"epochs": 20, "min_train_steps": 1000}}
# Subsets of Beauty for the schedule part, by interactions (dataset_prep subsets keeps whole users, nested):
# about 5 % and 25 % of its 22,363 users.
SUBSETS = {"beauty-10K": ("beauty", "10K"), "beauty-50K": ("beauty", "50K")}
DATASETS = ("ml-100k", "beauty", "sports")
FULL = {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"}
QUICK = {"epochs": 2, "MAX_ITEM_LIST_LENGTH": 20, "eval_step": 2}
# The cold part's runs: their ranks (with each test user's cold flag) are paired seed by seed
COLD = {"cold_start_items": 0.1, "test_ranks": True}


def options_of(variant):
    if variant in RETESTED:
        source, extra = RETESTED[variant]
        return {**options_of(source), **extra}
    return {**ENCODERS, **{"fusion": FUSION[DEFAULT_FUSION]}, **FUSION}[variant] | (
        {"item_encoder": "fusion"} if variant.startswith("fusion") else {})


def key_of(*parts):
    return "-".join(str(p).replace(" ", "_").replace(",", "").replace("(", "").replace(")", "") for p in parts)


class Study:
    """Kept runs under one work folder, and the rows they give, appended to the results file as they finish."""

    def __init__(self, tag, quick, threads, results, train=True):
        self.workdir = os.path.join(harness.paths.SAVED, "encoders", tag)
        self.quick, self.results, self.train = quick, results, train
        os.makedirs(self.workdir, exist_ok=True)
        os.environ["OMP_NUM_THREADS"] = str(threads)

    def data_path(self, dataset):
        if dataset == "ml-100k":
            return None  # RecBole's bundled copy
        if dataset in SUBSETS:
            source, size = SUBSETS[dataset]
            folder = os.path.join(self.workdir, "data")
            if not os.path.isfile(os.path.join(folder, dataset, f"{dataset}.inter")):
                from dataset_prep.subsets import subsets

                harness.prepare(source, harness.paths.DATA)
                subsets(os.path.join(harness.paths.DATA, source), [size], seed=0, out=folder, force=True)
                os.rename(os.path.join(folder, f"{source}-{size}"), os.path.join(folder, dataset))
                for name in os.listdir(os.path.join(folder, dataset)):  # files named for the folder
                    if name.startswith(f"{source}-{size}."):
                        os.rename(os.path.join(folder, dataset, name),
                                  os.path.join(folder, dataset, dataset + name[len(f"{source}-{size}"):]))
            return folder
        return harness.prepare(dataset, harness.paths.DATA)

    def run(self, key, dataset, options):
        """One kept run (trained unless kept); its result with the run's wall seconds."""
        path = os.path.join(self.workdir, f"{key}.json")
        if not os.path.isfile(path) and not self.train:
            return None
        if not os.path.isfile(path):
            print(f"{time.strftime('%H:%M:%S')} {key}", flush=True)
            options = {"eval_args": FULL, "topk": [5, 10], **(QUICK if self.quick else {}), **options}
            result = harness.trial(key, dataset, options, os.path.join(self.workdir, "runs"), self.data_path(dataset))
            result.pop("config", None)
            harness.update(path, lambda old: result)
        return harness.load(path)

    @staticmethod
    def key(part, dataset, variant, seed):
        if (part, variant) == ("compare", "fusion"):  # the default recipe's runs are its ablation variant's
            variant = DEFAULT_FUSION
        return key_of(part if part != "ablation" else "compare", dataset, variant, f"s{seed}")

    def row(self, part, dataset, variant, seed, options, masked=True):
        key = self.key(part, dataset, variant, seed)
        if part == "compare":  # the paired part reads these ranks (runs kept from before the key are tested again)
            options = {**options, "test_ranks": True}
        if variant in RETESTED:  # the source variant's run (trained if not kept yet), validated and tested again
            source, extra = RETESTED[variant]
            trained = self.run(self.key(part, dataset, source, seed), dataset,
                               {**options, **{k: options_of(source)[k] for k in extra}, "seed": seed})
            if trained is None:
                return None
            options = {**options, "init_from": trained["checkpoint"], "epochs": 0}
        result = self.run(key, dataset, {**options, "seed": seed})
        if result is None:  # --kept: not run yet
            return None
        if variant in RETESTED:  # the training's own record is the source run's
            result = {**trained, **{k: v for k, v in result.items() if k.startswith(("test_", "best_valid"))}}
        history = result["history"]  # one entry per validation; train_seconds is cumulative over the epochs
        best = max(history, key=lambda h: h.get("ndcg@5", -1)) if history else None
        epochs = history[-1]["epoch"] + 1 if history else 0
        row = {"part": part, "dataset": dataset, "variant": variant, "seed": seed, "key": key,
               "valid": result["best_valid_result"], "kept": result["test_result"],
               "epochs_run": epochs, "epochs_to_best": best["epoch"] + 1 if best else 0,
               "stopped_by": result["stopped_by"],
               "seconds_per_epoch": history[-1]["train_seconds"] / epochs if history else None,
               "parameters": result["parameters"], "wall_seconds": result["wall_seconds"]}
        if "test_result_cold" in result:
            row["cold"], row["warm"] = result["test_result_cold"], result["test_result_warm"]
            row["cold_users"] = result["test_users_cold"]
        if masked and result["checkpoint"]:
            again = {**options, "seed": seed, "init_from": result["checkpoint"], "epochs": 0,
                     "eval_mask_history": True}
            masked_result = self.run(key + "-masked", dataset, again)
            if masked_result is not None:
                row["masked"] = masked_result["test_result"]
        harness.update(self.results, lambda old: {**(old or {}), "rows": [
            r for r in (old or {}).get("rows", []) if (r["part"], r["key"]) != (part, key)] + [row]})
        return row

    def paired(self, dataset, seeds, variants):
        """The kept compare runs' best checkpoints tested again with ``test_ranks``, history kept and masked, and
        fusion compared with text and with id user by user, each side's seeds averaged per user first."""
        from recbole_srt.evaluation.paired import compare, per_user

        ranks, reproduced = {}, []
        for variant in variants:
            for seed in seeds:
                key = self.key("compare", dataset, variant, seed)
                path = os.path.join(self.workdir, f"{key}.json")
                if not os.path.isfile(path):
                    continue
                source = harness.load(path)
                masked_path = os.path.join(self.workdir, f"{key}-masked.json")
                written = {"kept": source, "masked": harness.load(masked_path) if os.path.isfile(masked_path) else {}}
                for convention in ("kept", "masked"):
                    result = written[convention]
                    if "test_ranks" not in result:  # a run kept from before compare wrote ranks: tested again
                        again = {**options_of(variant), "seed": seed, "init_from": source["checkpoint"],
                                 "epochs": 0, "test_ranks": True, "eval_mask_history": convention == "masked"}
                        result = self.run(f"{key}-ranks-{convention}", dataset, again)
                    if result is None:
                        continue
                    ranks.setdefault((variant, convention), []).append(result)
                    if convention == "kept":  # the ranks must give the figure the compare run reported
                        values, _ = per_user(result["test_ranks"], "ndcg@5")
                        reproduced.append(abs(sum(values.values()) / len(values) - source["test_result"]["ndcg@5"]))
        rows = self.paired_cold(dataset, seeds, [v for v in ("fusion", *RETESTED, *FUSION) if v in variants],
                                reproduced)
        fused = [v for v in variants if v.startswith("fusion")]
        others = {v: ("text", "id", "text+id", *(("fusion",) if v != "fusion" else ())) for v in fused}
        for variant, convention, other in [(v, c, o) for v in fused for c in ("kept", "masked") for o in others[v]]:
            first, second = ranks.get((other, convention), []), ranks.get((variant, convention), [])
            if first and len(first) == len(second):
                rows.append({"part": "paired", "dataset": dataset, "seed": None, "convention": convention,
                             "variant": variant, "against": other,
                             "key": key_of("paired", dataset, variant, convention, other),
                             **compare(first, second, "ndcg@5")})
        for row in rows:  # over every run read, compare and cold
            row["largest_gap_to_reported"] = max(reproduced)
        keys = {r["key"] for r in rows}  # only these: another command's variants keep their paired rows
        harness.update(self.results, lambda old: {**(old or {}), "rows": [
            r for r in (old or {}).get("rows", []) if r["part"] != "paired" or r["key"] not in keys] + rows})
        return rows

    def cold_ranks(self, dataset, variant, seed):
        """The cold run's result with test_ranks (a run kept from before the cold part wrote them: its best
        checkpoint tested again), or None if it was not run."""
        key = self.key("cold", dataset, variant, seed)
        path = os.path.join(self.workdir, f"{key}.json")
        if not os.path.isfile(path):
            return None
        result = harness.load(path)
        if "test_ranks" in result:
            return result
        trained = key if variant not in RETESTED else self.key("cold", dataset, RETESTED[variant][0], seed)
        checkpoint = harness.load(os.path.join(self.workdir, f"{trained}.json"))["checkpoint"]
        return self.run(f"{key}-ranks", dataset, {**options_of(variant), **COLD, "seed": seed,
                                                   "init_from": checkpoint, "epochs": 0})

    def paired_cold(self, dataset, seeds, fused, reproduced):
        """Each fused variant against text on the cold test users, HIT@5 and NDCG@5, the seeds paired one by one
        (the seed draws the cold items) and the (seed, user) differences pooled."""
        from recbole_srt.evaluation.paired import compare_within, per_user

        runs = {v: {s: self.cold_ranks(dataset, v, s) for s in seeds} for v in ("text", *fused)}
        for result in [r for found in runs.values() for r in found.values() if r]:
            values, _ = per_user(result["test_ranks"], "ndcg@5")  # the ranks must give the reported cold figure
            cold = [v for v, c in zip(values.values(), result["test_ranks"]["cold"]) if c]
            reproduced.append(abs(sum(cold) / len(cold) - result["test_result_cold"]["ndcg@5"]))
        rows = []
        for variant in fused:
            both = [s for s in seeds if runs["text"][s] and runs[variant][s]]
            for metric in ("hit@5", "ndcg@5") if both else ():
                rows.append({"part": "paired", "dataset": dataset, "seed": None, "convention": "cold users, kept",
                             "variant": variant, "against": "text",
                             "key": key_of("paired", dataset, variant, "cold", metric, "text"),
                             **compare_within([runs["text"][s] for s in both], [runs[variant][s] for s in both],
                                              "cold", metric)})
        return rows


def compare_variants(named=None):
    """The compare part's encoders: text, id, text+id, fusion, and the fusion variants --variants names (every
    seed, both conventions: a candidate recipe screened as the default was)."""
    extra = [v for v in (*FUSION, *RETESTED) if v != DEFAULT_FUSION and v in (named or "").split(",")]
    return (*ENCODERS, "fusion", *extra)


def cold_variants(named=None):
    """The cold part's encoders: text, fusion, the re-tested ones, and the trained fusion variants --variants names."""
    return ("text", "fusion", *RETESTED, *[v for v in FUSION if v != DEFAULT_FUSION and v in (named or "").split(",")])


def study(args, argv):
    parts = harness.names(args.part, ("ablation", "compare", "cold", "schedule", "paired"), "--part")
    datasets = harness.names(args.datasets, DATASETS, "--datasets")
    schedule_datasets = harness.names(args.schedule_datasets, ("ml-100k", *SUBSETS), "--schedule_datasets")
    seeds = harness.ints(args.seeds or ("0" if args.quick else "0,1,2"), "--seeds")
    every = ("text", "id", "text+id", "fusion", *FUSION, *RETESTED)
    chosen = set(harness.names(args.variants, every, "--variants") if args.variants else every)
    name = "encoders" + ("-quick" if args.quick else "")
    results = os.path.join(harness.paths.RESULTS, name + ".json")
    lab = Study(name, args.quick, args.threads, results, train=not args.kept)
    stamp = harness.stamp(__file__, argv)  # the parts may run as several commands, side by side: each is listed
    if args.kept:  # the rows of these parts and seeds are derived again from scratch
        if os.path.isfile(results):
            harness.update(results, lambda old: {**old, "rows": [
                r for r in old.get("rows", []) if not (r["part"] in parts and r["seed"] in seeds and r["dataset"] in (
                    schedule_datasets if r["part"] == "schedule" else datasets))]})
    else:
        harness.update(results, lambda old: {**(old or {}), "quick": args.quick, **stamp, "commands": sorted(
            set((old or {}).get("commands", [])) | {stamp["command"]})})
    start = time.time()
    # Cheapest first, so that a stopped study has whole datasets rather than a little of each
    for seed in seeds:
        for dataset in datasets:
            if "compare" in parts:
                for variant in [v for v in compare_variants(args.variants) if v in chosen]:
                    lab.row("compare", dataset, variant, seed, options_of(variant))
            if "ablation" in parts and seed == seeds[0]:
                for variant in [v for v in FUSION if v in chosen]:
                    lab.row("ablation", dataset, variant, seed, options_of(variant), masked=False)
            if "cold" in parts:
                for variant in [v for v in cold_variants(args.variants) if v in chosen]:
                    lab.row("cold", dataset, variant, seed, {**options_of(variant), **COLD}, masked=False)
        if "schedule" in parts:
            for dataset in schedule_datasets:
                for variant in [v for v in ("text", "fusion") if v in chosen]:
                    for schedule, options in SCHEDULES.items():
                        lab.row("schedule", dataset, f"{variant}, {schedule}", seed,
                                {**options_of(variant), **options}, masked=False)
    if "paired" in parts:  # after every seed: each side's seeds are averaged per user
        rows = harness.load(results).get("rows", []) if os.path.isfile(results) else []
        for dataset in datasets:
            # over every seed with kept runs, not only those named: a paired row's key has no seed, and a command
            # adding one seed must not replace the pooled row of the others by its own
            pooled = sorted(set(seeds) | {r["seed"] for r in rows if r["dataset"] == dataset
                                          and r["part"] in ("compare", "cold")})
            lab.paired(dataset, pooled, compare_variants(args.variants))  # the references too
    minutes = (time.time() - start) / 60
    if args.kept:
        return {}
    return {name: lambda old: {**old, "wall_minutes": old.get("wall_minutes", 0) + minutes}}


def main(argv=None):
    parser = harness.parser(__doc__, quick="ml-100k, 2 epochs, one seed: the protocol, not quality")
    parser.add_argument("--part", default="ablation,compare,cold,schedule,paired")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", default=None, help="comma-separated (default 0,1,2; quick: 0)")
    parser.add_argument("--schedule_datasets", default=",".join(("ml-100k", *SUBSETS)),
                        help="the datasets of the schedule part")
    parser.add_argument("--variants", default=None,
                        help="comma-separated: only these encoders or fusion variants (default: all of each part)")
    parser.add_argument("--kept", action="store_true",
                        help="train nothing: the rows of the runs kept so far, derived again (after a change of the "
                             "row's fields), and the pages")
    parser.add_argument("--threads", type=int, default=1)
    return harness.run(parser, argv, lambda args: study(args, argv), pages)


def pages(results=None):
    return harness.rendered(markdown, ["encoders", "encoders-quick"], results)


METRICS = (("kept", "ndcg@5"), ("kept", "hit@5"), ("kept", "ndcg@10"),
           ("masked", "ndcg@5"), ("masked", "hit@5"), ("masked", "ndcg@10"))


def values(rows, group, metric):
    return [r[group][metric] for r in rows if group in r]


def cell(rows, group, metric):
    found = values(rows, group, metric)
    return harness.mean_sd_text(found) if found else ""


def verdict(rows, group, fused="fusion"):
    """Whether the fused variant's mean NDCG@5 reaches the better of text and id minus that one's sd, and beats both."""
    stats = {v: harness.mean_sd(values([r for r in rows if r["variant"] == v], group, "ndcg@5"))
             for v in ("text", "id", fused) if values([r for r in rows if r["variant"] == v], group, "ndcg@5")}
    if len(stats) < 3:
        return None
    best = max(("text", "id"), key=lambda v: stats[v][0])
    return {"best": best, "within": stats[fused][0] >= stats[best][0] - stats[best][1],
            "above": stats[fused][0] > stats[best][0]}


RETESTED_TEXT = ("`fusion expected-id` trains nothing: it is `fusion`'s best checkpoints validated and tested again "
                 "with `fusion_eval_id: expected` (each warm item's ID part scaled by 1 − `fusion_id_dropout`, its mean "
                 "in training), so its epochs, seconds and parameters are `fusion`'s, and its checkpoint was chosen "
                 "on validation under `full`.")


def compare_section(rows):
    lines = ["## Text, id, text+id and fusion", "",
             f"`fusion` is {DEFAULT_FUSION}: "
             + ", ".join(f"{k} {v}" for k, v in FUSION[DEFAULT_FUSION].items()) + " (the default until this page "
             "measured `fusion_eval_id`). The default since, fusion_eval_id expected, is in two rows: `fusion "
             "expected-id`, `fusion`'s checkpoints tested again, and `fusion m20 drop0.5 expected`, trained with it "
             "so that its checkpoint is also chosen on validation with it. Test metrics on the best "
             "validation checkpoint, mean ± sd over the seeds; kept = the user's earlier items stay ranked (the SRT "
             "authors' convention), masked = they cannot be recommended. Goal: fusion's NDCG@5 at least the better of "
             "text and id minus its sd, under both conventions, and above both on two datasets of three. "
             + RETESTED_TEXT, ""]
    header = ["dataset", "encoder", "seeds", *[f"{m.upper()} {g}" for g, m in METRICS], "valid NDCG@5",
              "epochs (best)", "s / epoch", "parameters"]
    table, verdicts = [], []
    for dataset in DATASETS:
        mine = [r for r in rows if r["dataset"] == dataset]
        for variant in (*ENCODERS, "fusion", *RETESTED, *[v for v in FUSION if v != DEFAULT_FUSION]):
            runs = [r for r in mine if r["variant"] == variant]
            if runs:
                table.append([dataset, variant, len(runs), *[cell(runs, g, m) for g, m in METRICS],
                              harness.mean_sd_text(r["valid"]["ndcg@5"] for r in runs),
                              f"{statistics.fmean(r['epochs_run'] for r in runs):.0f} "
                              f"({statistics.fmean(r['epochs_to_best'] for r in runs):.0f})",
                              f"{statistics.fmean(r['seconds_per_epoch'] for r in runs):.1f}",
                              f"{runs[0]['parameters']:,}"])
        for fused in ("fusion", *RETESTED, *[v for v in FUSION if v != DEFAULT_FUSION]):
            for group in ("kept", "masked"):
                found = verdict(mine, group, fused)
                if found:
                    verdicts.append([dataset, group, fused, found["best"], "yes" if found["within"] else "**no**",
                                     "yes" if found["above"] else "no"])
    lines += harness.table(header, table)
    if verdicts:
        lines += ["", "Against the goal (NDCG@5):", ""]
        lines += harness.table(["dataset", "convention", "fused encoder", "better of text and id", "fused ≥ it − sd",
                                "fused above both"], verdicts)
    return lines


def ablation_section(rows, every):
    """``rows``: the ablation's; ``every``: all rows, whose compare rows of the same seed give the references."""
    seed = min(r["seed"] for r in rows)
    rows = rows + [r for r in every if r["part"] == "compare" and r["seed"] == seed and r["variant"] in ENCODERS]
    datasets = [d for d in DATASETS if any(r["dataset"] == d and r["part"] == "ablation" for r in rows)]
    variants = [v for v in ("text", "id", "text+id", *FUSION) if any(r["variant"] == v for r in rows)]

    def valid(dataset, variant):
        found = [r["valid"]["ndcg@5"] for r in rows if (r["dataset"], r["variant"]) == (dataset, variant)]
        return found[0] if found else None

    table, mean_ratio = [], {}
    for variant in variants:
        ratios = [valid(d, variant) / valid(d, "text") for d in datasets
                  if valid(d, variant) is not None and valid(d, "text")]
        if len(ratios) == len(datasets):
            mean_ratio[variant] = statistics.fmean(ratios)
        table.append([variant, *[("" if valid(d, variant) is None else f"{valid(d, variant):.4f}") for d in datasets],
                      f"{mean_ratio[variant]:.3f}" if variant in mean_ratio else ""])
    fused = {v: x for v, x in mean_ratio.items() if v in FUSION}
    best = max(fused, key=fused.get) if fused else None
    return ["## How the fused encoder's recipe was chosen", "",
            f"Validation NDCG@5 (full ranking, history kept) of seed {seed}, and its mean ratio to text over the datasets "
            "that ran every variant: the recipe is chosen on validation over all of them at once, not per dataset. "
            f"The default is {DEFAULT_FUSION}" + (f"; the best mean ratio of the variants run on {', '.join(datasets)}: "
                                                  f"{best}." if best else "."), "",
            *harness.table(["variant", *datasets, "mean ratio to text"], table)]


def cold_section(rows):
    table = []
    for dataset in DATASETS:
        mine = [r for r in rows if r["dataset"] == dataset]
        for variant in cold_variants(",".join(FUSION)):
            runs = [r for r in mine if r["variant"] == variant and "cold" in r]
            if runs:
                users = [r.get("cold_users") for r in runs]
                # the count behind cold HIT@5: how finely the goal's 10 % can be judged
                hits = f"{sum(r['cold']['hit@5'] * u for r, u in zip(runs, users)):.0f}" if all(users) else ""
                table.append([dataset, variant, len(runs), cell(runs, "cold", "hit@5"), cell(runs, "cold", "ndcg@5"),
                              f"{sum(users):,}" if all(users) else "", hits,
                              cell(runs, "warm", "hit@5"), cell(runs, "warm", "ndcg@5"), cell(runs, "kept", "ndcg@5")])
    return ["## Cold items", "",
            "10 % of the items withheld from training and validation (`cold_start_items: 0.1`); the test is reported for "
            "the users whose held-out item is cold and for the others (warm), history kept. Goal: fusion's cold HIT@5 "
            "within 10 % of text's. The cold hits are few: a count of n hits varies by about √n, so a 10 % gap between "
            "two encoders stands out (twice the sd of the difference, √(2n)) only when each has about 800 hits. "
            + RETESTED_TEXT, "",
            *harness.table(["dataset", "encoder", "seeds", "cold HIT@5", "cold NDCG@5", "cold test users (all seeds)",
                            "cold hits in the top 5 (all seeds)", "warm HIT@5", "warm NDCG@5", "all NDCG@5"], table)]


def schedule_section(rows):
    table = []
    for dataset in ("ml-100k", *SUBSETS):
        for variant in ("text", "fusion"):
            for schedule in SCHEDULES:
                runs = [r for r in rows if (r["dataset"], r["variant"]) == (dataset, f"{variant}, {schedule}")]
                if runs:
                    table.append([dataset, variant, schedule, len(runs),
                                  harness.mean_sd_text(r["valid"]["ndcg@5"] for r in runs),
                                  cell(runs, "kept", "ndcg@5"),
                                  f"{statistics.fmean(r['epochs_run'] for r in runs):.0f} "
                                  f"({statistics.fmean(r['epochs_to_best'] for r in runs):.0f})"])
    return ["## Does the default schedule converge on small catalogs?", "",
            "SRT's schedule before this study (one-cycle over 20 epochs, peak 1e-3) against a constant 1e-3 for up to "
            "50 epochs with early stopping after 5 validations without gain, and against the one-cycle stretched to at "
            "least 1,000 optimizer steps (`min_train_steps: 1000`, SRT's default since this table; the epochs column "
            "shows how far each catalog's run was stretched; full Beauty and Sports take more steps than that in 20 "
            "epochs). beauty-10K and beauty-50K are nested subsets of Beauty's users (dataset_prep subsets, seed 0), "
            "about 5 % and 25 % of them.", "",
            *harness.table(["dataset", "encoder", "schedule", "seeds", "valid NDCG@5", "test NDCG@5 (kept)",
                            "epochs (best)"], table)]


def paired_section(rows):
    order = ("fusion", *RETESTED, *[v for v in FUSION if v != DEFAULT_FUSION])
    table = [[r["dataset"], r["convention"], r["variant"], r["against"], r["metric"].upper(),
              ", ".join(map(str, r["seeds"])), f"{r['users']:,}", f"{r['first']:.4f}", f"{r['second']:.4f}",
              f"{r['difference']:+.4f} ± {r['se']:.4f}", f"{r['ci95'][0]:+.4f} to {r['ci95'][1]:+.4f}", f"{r['p']:.2g}"]
             for dataset in DATASETS for variant in order for convention in ("kept", "masked", "cold users, kept")
             for other in ("text", "id", "text+id", "fusion") for r in rows
             if (r["dataset"], r["variant"], r["convention"], r["against"])
             == (dataset, variant, convention, other)]
    gap = max(r["largest_gap_to_reported"] for r in rows)
    return ["## Fusion against each encoder, paired over the test users", "",
            "The sd over seeds above says how much training varies; the seeds share one test set, so it leaves out how "
            "far a figure would move on other users. Here the compare runs' test ranks are read (`test_ranks: True`: "
            "written by the run, or for a run kept from before that key, its best checkpoint tested again), each "
            "encoder's seeds are averaged per user, and fusion is compared with the other "
            "encoder user by user (`python -m recbole_srt.evaluation.paired`): the mean per-user difference of NDCG@5, "
            "its standard error, the 95 % interval and the paired t-test's p. An interval that holds 0 is a gap "
            "these test users cannot tell from none. \"Cold users\": the cold part's runs, only the users whose "
            "held-out item was withheld from training; the seed draws those items, so the runs are paired seed by "
            "seed and the (seed, user) differences pooled (`--group cold`). The ranks reproduce the reported NDCG@5 "
            f"(largest gap {gap:.1e}).", "",
            *harness.table(["dataset", "convention", "fused encoder", "against", "metric", "seeds (each side)",
                            "test users", "other", "fused", "fused − other ± se", "95 % interval", "p"], table)]


def markdown(result):
    rows = result.get("rows", [])
    sections = [("compare", compare_section), ("paired", paired_section), ("ablation", ablation_section),
                ("cold", cold_section), ("schedule", schedule_section)]
    commands = result.get("commands", [result["command"]])
    lines = [f"# Item encoders compared{' (quick mode)' if result.get('quick') else ''}", "",
             f"{harness.describe(result['machine'])}; {result['date']}. SRT's defaults (SRT-1K: L2-H2-D64, 1,000 "
             "popularity-sampled negatives per sequence, one-cycle over 20 epochs or 1,000 optimizer steps, whichever "
             "is longer), full ranking, early stopping on "
             "validation NDCG@5; only the item encoder changes. The runs were made by these commands, some side by "
             "side; `--kept` derives the rows again from the kept runs:", "",
             *[f"- `{c}`" for c in commands], ""]
    for part, section in sections:
        mine = [r for r in rows if r["part"] == part]
        if mine:
            lines += (section(mine, rows) if part == "ablation" else section(mine)) + [""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
