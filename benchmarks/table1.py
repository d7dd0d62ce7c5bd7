"""The paper's Table 1 on Beauty or Sports: SRT-10/100/300/1K against RecBole's SASRec, SASRec-CE and
BERT4Rec, the plugin's ID-based SASRec-CE, most-popular and SRT with a text+ID item encoder, on one
split, under both full-ranking conventions, from one command.

    python benchmarks/table1.py --dataset beauty|sports [--quick] [--models SRT-1K,SASRec-CE] [--seeds 0,1,2]
        [--tuned saved/search/beauty.best.json] [--time_budget MIN] [--threads N] [--set KEY=VALUE] [--replace]

Every row trains under full-ranking leave-one-out with early stopping on validation NDCG@5; its best checkpoint
is tested with the user's history kept and masked, and against 10,000 sampled negatives; mean ± sd over seeds.
Rows ``<model> <variant>`` (--suffix) are variants of one model: the table marks the one with the best validation.
Each finished model and seed goes into <dataset>[-quick].json at once, in place of that model and seed's old result;
the file's other rows and seeds stay (--replace starts it afresh). A row pools only seeds trained with the same
settings: before anything trains, each row's config is resolved and a run whose settings differ from its seeds'
(--set, --tuned, --time_budget, or a changed default) is refused, naming them, unless --suffix names a variant.
A seed refused at write time all the same (another process wrote the row meanwhile) goes to
<results>-refused-<model>-<seed>.json.
Smoke runs (--epochs N) go to <dataset>[-quick]-e<N>.json, which no page shows.
``--quick`` shows the protocol, not quality (2 cores, 2026-12-04: Beauty 12 minutes, Sports 18).
"""

import json
import os
import statistics
import time

import harness

AUTHORS = os.path.join(harness.paths.ROOT, "properties", "presets", "srt-authors.yaml")
# dataset: the item texts (files: harness/data.py) and the paper's Table 1 NDCG@5
DATASETS = {
    "beauty": {"texts": "titles and brands (PLRec item_description.csv)",
               "paper": {"SASRec": 0.0241, "BERT4Rec": 0.0219, "SASRec-CE": 0.0314, "SRT-10": 0.0235,
                         "SRT-100": 0.0318, "SRT-300": 0.0340, "SRT-1K": 0.0366}},
    "sports": {"texts": "keyword versions of the titles, no brand (IDGenRec; see SOURCES.md)",
               "paper": {"SASRec": 0.0135, "BERT4Rec": 0.0143, "SASRec-CE": 0.0170, "SRT-10": 0.0138,
                         "SRT-100": 0.0171, "SRT-300": 0.0180, "SRT-1K": 0.0195}},
}
# Which full-ranking convention each paper figure was measured under. Only SASRec and BERT4Rec are taken from
# Chen et al. (2022, ICLRec), whose evaluation sets the scores of the user's earlier items to 0 before ranking
# (salesforce/ICLRec, src/trainers.py): "masked". SASRec-CE is the authors' own variant ("We also report a
# variation of SASRec in which we replaced the binary cross-entropy with a full cross-entropy loss"), run with
# their code like the SRT rows, whose full ranking keeps history items: "kept", the default.
PAPER_CONVENTION = {"SASRec": "masked", "BERT4Rec": "masked"}


def paper_figure(dataset, name):
    """(NDCG@5, convention, our result key under that convention) of a row's paper figure, or None."""
    base = name.split(" ")[0]
    figure = DATASETS[dataset]["paper"].get(base)
    if figure is None:
        return None
    convention = PAPER_CONVENTION.get(base, "kept")
    return figure, convention, "full_masked" if convention == "masked" else "full"


def paper_fields(dataset, name):
    figure = paper_figure(dataset, name) or (None, None)
    return {"paper_ndcg@5": figure[0], "paper_convention": figure[1]}


SIZE = {"hidden_size": 64, "n_layers": 2, "n_heads": 2, "inner_size": 256, "MAX_ITEM_LIST_LENGTH": 50}
# RecBole 1.2.1's SASRec defaults to CE; the paper's SASRec row is the original binary loss with one
# sampled negative, which RecBole runs as BPR with one uniform negative.
ONE_NEGATIVE = {"distribution": "uniform", "sample_num": 1, "alpha": 1.0, "dynamic": False, "candidate_num": 0}
# Baseline recipes (README: "Where each baseline's settings come from"). Kang & McAuley (2018) train SASRec
# with Adam lr 1e-3, batches of 128 and dropout 0.5 on the sparse Amazon data; Klenitskiy & Vasilev (2023)
# keep that model and optimiser and change only the loss to CE over the catalog; Sun et al. (2019) train
# BERT4Rec with mask proportion 0.6 on Beauty, dropout 0.1, lr 1e-4 and batches of 256, and Petrov & Macdonald
# (2022) find that it needs far longer training than that (here: up to 400 epochs, early stopping).
KANG = {"learning_rate": 1e-3, "train_batch_size": 128, "hidden_dropout_prob": 0.5, "attn_dropout_prob": 0.5}
MODELS = {  # name: (model, options, yaml files)
    "MostPop": ("MostPop", {}, []),
    "SRT-10": ("SRT", {"num_negatives": 10}, []),
    "SRT-100": ("SRT", {"num_negatives": 100}, []),
    "SRT-300": ("SRT", {"num_negatives": 300}, []),
    "SRT-1K": ("SRT", {"num_negatives": 1000}, []),
    "SRT-1K-text+id": ("SRT", {"num_negatives": 1000, "item_encoder": "text+id"}, []),
    "SRT-1K-id": ("SRT", {"num_negatives": 1000, "item_encoder": "id"}, []),
    "SRT-1K-authors": ("SRT", {}, [AUTHORS]),
    "ID-SASRec-CE": ("IDTransformer", {"hidden_dropout_prob": 0.5, "attn_dropout_prob": 0.5}, []),
    "SASRec": ("SASRec", {**KANG, "loss_type": "BPR", "train_neg_sample_args": ONE_NEGATIVE}, []),
    "SASRec-CE": ("SASRec", {**KANG, "loss_type": "CE"}, []),
    "BERT4Rec": ("BERT4Rec", {"mask_ratio": 0.6, "hidden_dropout_prob": 0.1, "attn_dropout_prob": 0.1,
                              "learning_rate": 1e-4, "train_batch_size": 256}, []),
}
PLUGIN = ("SRT", "IDTransformer", "MostPop")
# Rows run only when --models names them: SRT-1K-id isolates the item encoder (SRT's loss with an ID table),
# and the default set already fills Sports' quick mode to 18 of its 20 minutes.
ON_REQUEST = ("SRT-1K-id",)
FULL = {"plugin": {}, "other": {"epochs": 200, "stopping_step": 10}, "BERT4Rec": {"epochs": 400, "stopping_step": 20}}
# Quick: sequences of 20 (Beauty users average 8.9 items) for every model, 3 epochs of the plugin's
# models, one epoch of each RecBole baseline.
# RecBole's baselines run one epoch in batches of 2,048 rows. The authors' recipe trains one row per prefix
# with K negatives per row, which costs tens of window epochs: one epoch with K = 100 in batches of 1,024.
# RecBole's BERT4Rec scores the whole catalog at mask_ratio x length slots per row, padding included: at 0.6
# its one epoch took 298 s of Beauty's 25-minute quick run, so quick mode masks 0.2 (4 slots, not 12).
# The plugin's models validate once, after their last epoch: early stopping has nothing to choose in 3 epochs.
QUICK = {"plugin": {"epochs": 3, "MAX_ITEM_LIST_LENGTH": 20, "eval_step": 3},
         "other": {"epochs": 1, "MAX_ITEM_LIST_LENGTH": 20, "train_batch_size": 2048},
         "BERT4Rec": {"epochs": 1, "MAX_ITEM_LIST_LENGTH": 20, "train_batch_size": 2048, "mask_ratio": 0.2},
         "SRT-1K-authors": {"epochs": 1, "MAX_ITEM_LIST_LENGTH": 20, "num_negatives": 100, "train_batch_size": 1024}}


def budget_of(name, quick):
    model_name = MODELS[name][0]
    modes = QUICK if quick else FULL
    return dict(modes.get(name) or modes["plugin" if model_name in PLUGIN else "other"])


# What each seed records of its resolved config; seeds pool into one row only where all of these match.
SETTINGS = ("learning_rate", "epochs", "stopping_step", "time_budget", "train_batch_size", "MAX_ITEM_LIST_LENGTH",
            "lr_scheduler", "hidden_dropout_prob", "attn_dropout_prob", "inner_size", "loss_type", "num_negatives",
            "neg_sampling_scope", "tau", "train_all_positions", "item_encoder", "mask_ratio", "weight_decay")


def config_of(name, data_path, quick, checkpoint_dir, seed, epochs, time_budget, overrides):
    """(model, config dict, yaml files) of one row at one seed."""
    model_name, options, config_files = MODELS[name]
    budget = budget_of(name, quick)
    if epochs:
        budget["epochs"] = epochs
        if "eval_step" in budget:  # quick mode validates once, after the last epoch, whatever their number
            budget["eval_step"] = epochs
    if time_budget:
        budget["time_budget"] = time_budget
    config_dict = {**SIZE, **options, **budget, **(overrides or {}), "seed": seed, "data_path": data_path,
                   "checkpoint_dir": checkpoint_dir, "eval_args": {"mode": "full"}, "eval_mask_history": False,
                   "show_progress": False, "state": "ERROR", "log_dir": None, "tensorboard_dir": None,
                   "tokenizer_dir": os.path.join(checkpoint_dir, "tokenizers")}
    if config_files:  # a preset file states the whole recipe: only the run's own keys go on top
        config_dict = {k: config_dict[k] for k in ("seed", "data_path", "checkpoint_dir", "show_progress", "state",
                                                   "log_dir", "tensorboard_dir", "tokenizer_dir")}
        config_dict.update({k: v for k, v in budget.items() if quick or k == "time_budget"})
        config_dict.update(overrides or {})
    return model_name, config_dict, config_files or None


def recorded_settings(config):
    return {k: config[k] for k in SETTINGS if config.final_config_dict.get(k) is not None}


def planned_settings(name, dataset, data_path, quick, checkpoint_dir, seed=2020, epochs=None, time_budget=None,
                     overrides=None):
    """The settings a seed of ``name`` will record, from the config its training resolves (the same files,
    defaults and checks; no dataset built): a row is checked against them before hours of training, not after."""
    from recbole_srt.build import load_config

    model_name, config_dict, config_files = config_of(name, data_path, quick, checkpoint_dir, seed, epochs,
                                                      time_budget, overrides)
    return recorded_settings(load_config(model_name, dataset, config_file_list=config_files, config_dict=config_dict))


def train_one(name, dataset, data_path, quick, checkpoint_dir, seed=2020, epochs=None, time_budget=None,
              overrides=None):
    """Train one row at one seed; test its best checkpoint under both conventions and 10K sampled."""
    from recbole_srt.evaluation.sampled import sampled_metrics
    from recbole_srt.model.sizes import parameter_counts

    model_name, config_dict, config_files = config_of(name, data_path, quick, checkpoint_dir, seed, epochs,
                                                      time_budget, overrides)
    built = harness.fit(model_name, dataset, config_dict, config_files)
    model, trainer, test_data, config = built.model, built.trainer, built.test_data, built.config
    start = time.perf_counter()
    kept = trainer.evaluate(test_data, load_best_model=trainer.stopped_by != "nothing_to_train")
    full_seconds = time.perf_counter() - start
    trainer.evaluation.mask_history = True
    masked = trainer.evaluate(test_data, load_best_model=False)
    trainer.evaluation.mask_history = False
    model.eval()
    start = time.perf_counter()
    sampled = sampled_metrics(model, test_data)
    sampled_seconds = time.perf_counter() - start

    history = trainer.history
    best = max(range(len(history)), key=lambda e: history[e].get("ndcg@5", -1.0)) if history else -1
    counts = parameter_counts(model)
    row = {
        "seed": seed,
        "full": {"ndcg@5": float(kept["ndcg@5"]), "hit@5": float(kept["hit@5"])},
        "full_masked": {"ndcg@5": float(masked["ndcg@5"]), "hit@5": float(masked["hit@5"])},
        "sampled_10k": sampled,
        "valid_ndcg@5": round(float(history[best]["ndcg@5"]), 4) if history else None,
        "epochs_run": history[-1]["epoch"] + 1 if history else 0,
        "epochs_to_best": history[best]["epoch"] + 1 if history else 0, "stopped_by": trainer.stopped_by,
        "valid_ndcg@5_by_epoch": [round(h.get("ndcg@5", float("nan")), 4) for h in history],
        "seconds_per_epoch": round(trainer.train_seconds / max(1, history[-1]["epoch"] + 1 if history else 1), 2),
        "train_seconds": round(trainer.train_seconds, 1),
        "targets_per_second": round(trainer.seen_targets / max(trainer.train_seconds, 1e-9)),
        "eval_seconds_full": round(full_seconds, 2), "eval_seconds_sampled": round(sampled_seconds, 2),
        "parameters": counts["total"], "non_embedding_parameters": counts["non_embedding"],
        "device": str(config["device"]),
        "settings": recorded_settings(config),
    }
    if trainer.train_flops:
        row["train_flops_per_second"] = trainer.train_flops / trainer.train_seconds
    return row


def aggregate(seed_rows):
    """Mean and sample standard deviation over seeds of each test metric (sd 0 for one seed)."""
    out = {key: {metric: dict(zip(("mean", "sd"), harness.mean_sd(r[key][metric] for r in seed_rows)))
                 for metric in seed_rows[0][key]} for key in ("full", "full_masked", "sampled_10k")}
    # An untrained row (MostPop) has no validation figure: None, not a score of 0.
    valid = [r["valid_ndcg@5"] for r in seed_rows if r["valid_ndcg@5"] is not None]
    out["valid_ndcg@5"] = harness.mean_sd(valid)[0] if valid else None
    for key in ("seconds_per_epoch", "epochs_to_best", "epochs_run", "train_seconds"):
        out[key] = round(harness.mean_sd(r[key] for r in seed_rows)[0], 2)
    return out


def selected(results):
    """Per model, the variant (suffixed row) with the best mean validation NDCG@5 (an untrained row's None: last)."""
    best = {}
    for name, r in results.items():
        valid = r["mean"]["valid_ndcg@5"]
        best.setdefault(name.split(" ")[0], []).append((-1.0 if valid is None else valid, name))
    return {max(variants, key=lambda v: v[0])[1] for variants in best.values()}


def markdown(results, dataset):
    info, runs = DATASETS[dataset], []
    for r in results.values():
        runs += [r["run"]] if r["run"] not in runs else []
    modes = sorted({run["mode"] for run in runs})
    chosen = selected(results)

    def cell(r, key, metric):
        m = r["mean"][key][metric]
        return f"{m['mean']:.4f}" + (f" ± {m['sd']:.4f}" if len(r["seeds"]) > 1 else "")

    lines = [f"# {dataset.capitalize()} 5-core, the paper's Table 1 ({' and '.join(modes)} mode)", "",
             f"Leave-one-out test split; item texts: {info['texts']}. Full ranking over the catalog with the "
             "user's history items kept (the SRT authors' convention) and masked "
             "(most recent papers); then the test item against 10,000 sampled negatives (history kept). "
             "Mean ± standard deviation over seeds. Early stopping and the selection of variants use validation "
             "NDCG@5 only; ✓ marks each model's selected variant.", "",
             "The paper's figure is compared with ours under the convention it was measured with: kept for SRT "
             "and SASRec-CE (the authors' code), masked for SASRec and BERT4Rec (Chen et al. 2022, whose figures "
             "the paper reports).", ""]
    rows = []
    for name, r in results.items():
        mean, paper = r["mean"], paper_figure(dataset, name)
        rows.append([name, "✓" if name in chosen else "", f"{paper[0]:.4f} {paper[1]}" if paper else "",
                     f"{mean[paper[2]]['ndcg@5']['mean'] / paper[0]:.0%}" if paper else "",
                     cell(r, "full", "ndcg@5"), cell(r, "full", "hit@5"), cell(r, "full_masked", "ndcg@5"),
                     cell(r, "full_masked", "hit@5"), cell(r, "sampled_10k", "ndcg@5"),
                     "" if mean["valid_ndcg@5"] is None else f"{mean['valid_ndcg@5']:.4f}", len(r["seeds"]),
                     f"{mean['epochs_run']:g} ({mean['epochs_to_best']:g})", mean["seconds_per_epoch"],
                     f"{r['parameters']:,} ({r['non_embedding_parameters']:,})", chr(65 + runs.index(r["run"]))])
    lines += harness.table(["model", "sel.", "paper NDCG@5", "ours / paper", "NDCG@5 kept", "HIT@5 kept",
                            "NDCG@5 masked", "HIT@5 masked", "NDCG@5 10K", "valid NDCG@5", "seeds", "epochs (best)",
                            "s/epoch", "params (non-emb.)", "run"], rows)
    lines += speed_lines(results)
    lines += ["", "Settings per row (after the model's yaml and the table's shared size):", ""]
    for name, r in results.items():
        lines.append(f"- {name}: " + ", ".join(f"{k} {v}" for k, v in r["seeds"][0]["settings"].items())
                     + f"; stopped by {', '.join(sorted({s['stopped_by'] for s in r['seeds']}))}")
    lines += ["", "Runs:", ""]
    for i, run in enumerate(runs):
        lines.append(f"- {chr(65 + i)}: {run['mode']} mode, `{run['command']}`; {harness.describe(run['machine'])}, "
                     f"{run['threads']} thread(s); {run['date']}; {run['minutes']} minutes.")
    return "\n".join(lines) + "\n"


def speed_lines(results, fast="ID-SASRec-CE", slow="SASRec-CE"):
    """The plugin's ID-SASRec-CE rows against RecBole's SASRec-CE in seconds of training (validation not
    counted): per epoch, to each row's best validation, and until the plugin's validation first reaches
    RecBole's best (time to quality: reaching it sooner says nothing of where a curve ends)."""
    slow_rows = [r for name, r in results.items() if name.split(" ")[0] == slow]
    fast_rows = {name: r for name, r in results.items() if name.split(" ")[0] == fast}
    if not slow_rows or not fast_rows:
        return []
    reference = max(slow_rows, key=lambda r: r["mean"]["valid_ndcg@5"])
    target = max(s["valid_ndcg@5"] for s in reference["seeds"])
    slow_epoch = reference["mean"]["seconds_per_epoch"]
    slow_best = statistics.fmean(s["epochs_to_best"] * s["seconds_per_epoch"] for s in reference["seeds"])
    lines = ["", f"Training time of {fast} against RecBole's {slow} (seconds of training, validation not counted; "
             f"{slow}: {slow_epoch} s per epoch, {slow_best:.0f} s to its best validation NDCG@5, {target:.4f}):", "",
             f"| row | s/epoch | × | s to its best validation | × | epoch its validation first reaches {target:.4f} "
             "| s to that | × |", "|---|---|---|---|---|---|---|---|"]
    for name, r in fast_rows.items():
        per_epoch = r["mean"]["seconds_per_epoch"]
        to_best = statistics.fmean(s["epochs_to_best"] * s["seconds_per_epoch"] for s in r["seeds"])
        reached = [next((e + 1 for e, v in enumerate(s["valid_ndcg@5_by_epoch"]) if v >= target), None)
                   for s in r["seeds"]]
        if all(e is not None for e in reached):
            seconds = statistics.fmean(e * s["seconds_per_epoch"] for e, s in zip(reached, r["seeds"]))
            first = f"{statistics.fmean(reached):g} | {seconds:.0f} | {slow_best / seconds:.1f}"
        else:
            first = f"not reached by {sum(e is None for e in reached)} of {len(reached)} seeds | | "
        lines.append(f"| {name} | {per_epoch} | {slow_epoch / per_epoch:.1f} | {to_best:.0f} | "
                     f"{slow_best / to_best:.1f} | {first} |")
    return lines


def tuned_settings(path):
    """The best trial's options of a ``python -m recbole_srt.search`` ranking (<results>.best.json)."""
    best = harness.load(path).get("best")
    if not best:
        raise SystemExit(f"--tuned: {path} has no finished trial")
    # Only the searched keys: the ones set for every trial (a time budget, the protocol) stay this run's.
    return {k: harness.literal(v) for k, v in best["searched"].items()}


def pages(results=None):
    """Every Table 1 page from its JSON, each row's mean computed again from its seeds; the 2026-11-22 runs of
    the former beauty.py in their own format."""
    def recomputed(data, stem):
        dataset = stem.split("-")[0]
        return markdown({name: {**r, **paper_fields(dataset, name), "mean": aggregate(r["seeds"])}
                         for name, r in data["models"].items()}, dataset)

    return {**harness.rendered(recomputed, [s for d in sorted(DATASETS) for s in (d, f"{d}-quick")], results, True),
            **harness.rendered(lambda data: markdown_2026_11_22(data["models"]),
                               ("beauty-2026-11-22", "beauty-quick-2026-11-22"), results)}


def main(argv=None):
    parser = harness.parser(__doc__, quick="few epochs (2 cores, 2026-12-04: Beauty 12 minutes, Sports 18)")
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="beauty")
    parser.add_argument("--data_path", default=harness.paths.DATA)
    parser.add_argument("--out", default=None, help="folder of <dataset>[-quick].json (default benchmarks/results; "
                                                    "pages are rendered from there)")
    parser.add_argument("--models", default=",".join(m for m in MODELS if m not in ON_REQUEST),
                        help=f"subset of {','.join(MODELS)} (default: all but {','.join(ON_REQUEST)})")
    parser.add_argument("--seeds", default="2020", help="comma-separated training seeds; each row runs once per seed")
    parser.add_argument("--tuned", default=None, metavar="BEST_JSON",
                        help="a recbole_srt.search ranking: its best settings go on top of every row (use --suffix)")
    parser.add_argument("--epochs", type=int, default=None, help="override the epochs of every model (smoke runs: "
                        "written to <dataset>[-quick]-e<N>.json, apart from the real runs)")
    parser.add_argument("--time_budget", type=float, default=None, help="minutes of training + validation per "
                        "model and seed (the config key time_budget is in seconds); stops at the next epoch boundary")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a config value for every model of this run (repeatable), e.g. learning_rate=1e-3")
    parser.add_argument("--suffix", default="", help="appended after a space to each model's name: a variant")
    kept = parser.add_mutually_exclusive_group()
    kept.add_argument("--replace", action="store_true",
                      help="start the results file afresh: drop the rows and seeds this run does not train")
    kept.add_argument("--merge", action="store_true",
                      help="does nothing: keeping the file's other rows and seeds is the default (older commands)")

    def measure(args):
        run(args, argv)  # each finished model and seed is in the results file already
        return {}

    return harness.run(parser, argv, measure, pages)


def results_path(args):
    """<out>/<dataset>[-quick].json; a smoke run's epochs (--epochs) name a file of their own, which no page shows,
    so that it never stands in for a real run's seed."""
    stem = args.dataset + ("-quick" if args.quick else "") + (f"-e{args.epochs}" if args.epochs else "")
    return os.path.join(args.out or harness.paths.RESULTS, stem + ".json")


def run(args, argv):
    """Train each model at each seed, writing each finished one to the results file at once: a run stopped after
    hours keeps what it finished."""
    import torch

    names = harness.names(args.models, MODELS, "--models")
    seeds = harness.ints(args.seeds, "--seeds")
    suffix = " " + args.suffix.strip() if args.suffix.strip() else ""
    overrides = tuned_settings(args.tuned) if args.tuned else {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set: expected KEY=VALUE, got '{item}'")
        overrides[key] = harness.literal(value)
    time_budget = args.time_budget * 60 if args.time_budget else None
    path = results_path(args)
    harness.prepare(args.dataset, args.data_path)
    checkpoints = os.path.join(harness.paths.SAVED, "table1", args.dataset)
    # one config per row: the seed is none of the recorded settings
    settings = {name: planned_settings(name, args.dataset, args.data_path, args.quick, checkpoints,
                                       epochs=args.epochs, time_budget=time_budget, overrides=overrides)
                for name in names}

    def check(name):  # against the file as it is now: another process may have written the row since
        there = harness.load(path)["models"] if os.path.isfile(path) else {}
        if name + suffix in there:
            refuse_other_settings(name + suffix, there[name + suffix], overrides, settings[name], path)

    fresh = args.replace
    if not fresh:  # every row before any training: a seed that could not join its row must not train for hours
        for name in names:
            check(name)
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.time()
    run = {"mode": "quick" if args.quick else "full", **harness.stamp(__file__, argv),
           "threads": torch.get_num_threads()}
    for name in names:
        for seed in seeds:
            if not fresh:
                check(name)
            t0 = time.time()
            row = train_one(name, args.dataset, args.data_path, args.quick, checkpoints, seed, args.epochs,
                            time_budget, overrides)
            print(f"{name + suffix} seed {seed}: kept {json.dumps(row['full'])}, masked "
                  f"{json.dumps(row['full_masked'])} in {time.time() - t0:.0f} s", flush=True)
            run["minutes"] = round((time.time() - start) / 60, 1)
            new = {name + suffix: {"model": MODELS[name][0], **paper_fields(args.dataset, name),
                                   "parameters": row["parameters"],
                                   "non_embedding_parameters": row["non_embedding_parameters"],
                                   "overrides": dict(overrides), "seeds": [row], "run": dict(run)}}
            try:
                harness.update(path, lambda there: {"dataset": args.dataset, "models": dict(sorted(
                    merged({} if fresh or not there else there["models"], new, run, path).items(),
                    key=table_order))})
            except OtherSettings as refused:  # a seed of other settings reached the row while this one trained
                side = keep_refused(path, name + suffix, seed, new[name + suffix], str(refused))
                raise SystemExit(f"{refused} (this finished seed is kept in {side})") from None
            fresh = False  # --replace drops what the file held before this run, not this run's earlier rows


class OtherSettings(SystemExit):
    """A row holds seeds of settings other than this run's."""


def refuse_other_settings(name, row, overrides, settings, path):
    """Stop with one line naming each setting in which this run differs from a seed of ``row`` (and how to match
    it), unless there is none: a row's mean pools its seeds, and its page shows the first seed's settings.
    Compared: the settings each seed records, and the --set/--tuned keys that are not among them."""
    def plain(value):  # as the results file holds it: a tuple and its list, 1 and 1.0 are the same setting
        return json.loads(json.dumps(value))

    differ = {}  # key: (the row's value, this run's)
    for seed in row["seeds"]:
        for k in {*seed["settings"], *settings} - set(differ):
            if plain(seed["settings"].get(k)) != plain(settings.get(k)):
                differ[k] = seed["settings"].get(k), settings.get(k)
    old = row.get("overrides", {})
    for k in {*old, *overrides} - set(SETTINGS) - set(differ):
        if plain(old.get(k)) != plain(overrides.get(k)):
            differ[k] = old.get(k), overrides.get(k)
    if differ:
        keys = sorted(differ)
        raise OtherSettings(
            f"'{name}' in {path}: " + "; ".join(f"{k}: the row's seeds ran with {differ[k][0]!r}, this run would use "
                                                f"{differ[k][1]!r}" for k in keys)
            + f". To add seeds to it: {' '.join(f'--set {k}={as_flag(differ[k][0])}' for k in keys)}; "
            "for a new row: --suffix NAME")


def as_flag(value):
    """A value as --set reads it back (harness.literal): a string bare, anything else as Python writes it."""
    return value if isinstance(value, str) else repr(value)


def keep_refused(path, name, seed, row, reason):
    """Append a finished seed that its row refused to <results>-refused-<name>-<seed>.json beside the results,
    whence it can be moved into a row of its settings; returns that file's path."""
    side = f"{path[:-len('.json')]}-refused-{name.replace(' ', '_')}-{seed}.json"
    harness.update(side, lambda old: {"refused": (old or {}).get("refused", []) + [{**row, "reason": reason}]})
    return side


def merged(old, new, run, path):
    """Rows of both; a row in both keeps the seeds of each (this run's where a seed is in both), so that
    the seeds of one row can run in separate processes. ``run``: this process's, whose minutes so far every
    row it wrote gets, so that the page lists it once."""
    def ours(kept):  # this run as an earlier write left it: older minutes, other processes' commands after its own
        rest = {k: v for k, v in kept.items() if k not in ("minutes", "command")}
        return rest == {k: v for k, v in run.items() if k not in ("minutes", "command")} and \
            (kept["command"] + "; ").startswith(run["command"] + "; ")

    out = {name: {**r, "run": {**r["run"], "minutes": run["minutes"]}} if ours(r["run"]) else r
           for name, r in old.items()}
    for name, row in new.items():
        if name in out:
            refuse_other_settings(name, out[name], row["overrides"], row["seeds"][0]["settings"], path)
            seeds = harness.merge_rows(out[name]["seeds"], row["seeds"], lambda s: s["seed"])
            row = {**row, "seeds": sorted(seeds, key=lambda s: s["seed"])}
            command = out[name]["run"]["command"]
            row["run"] = {**row["run"], "command": command if ours(out[name]["run"])
                          else row["run"]["command"] + "; " + command}
        out[name] = {**row, "mean": aggregate(row["seeds"])}
    return out


def table_order(item):
    """MODELS order, each model followed by its suffixed variants; unknown names last."""
    base = item[0].split(" ")[0]
    return (list(MODELS).index(base) if base in MODELS else len(MODELS), item[0])


def markdown_2026_11_22(results):
    """The page of the former benchmarks/beauty.py (one seed, history kept, no validation column)."""
    runs = list(dict.fromkeys(json.dumps(r["run"], sort_keys=True) for r in results.values()))
    modes = sorted({json.loads(run)["mode"] for run in runs})
    lines = [f"# Beauty 5-core: SRT against RecBole's built-ins ({' and '.join(modes)} mode)", "",
             "Test split, leave-one-out. Full ranking over 12,101 items, and the test item against 10,000 sampled "
             "negatives. Paper figures are full-ranking NDCG@5 (Table 1). `stop`: early stopping on validation "
             "NDCG@5, the epoch cap, or the per-model time budget.", ""]
    lines += harness.table(
        ["model", "NDCG@5 full", "HIT@5 full", "NDCG@5 10K", "HIT@5 10K", "paper NDCG@5", "s/epoch", "targets/s",
         "epochs (best)", "stop", "eval s (full / 10K)", "params (non-emb.)", "MFU", "run"],
        [[name, f"{r['full']['ndcg@5']:.4f}", f"{r['full']['hit@5']:.4f}", f"{r['sampled_10k']['ndcg@5']:.4f}",
          f"{r['sampled_10k']['hit@5']:.4f}", f"{r['paper_ndcg@5']:.4f}", r["seconds_per_epoch"],
          f"{r['targets_per_second']:,}", f"{r['epochs_run']} ({r['epochs_to_best']})", r["stopped_by"],
          f"{r['eval_seconds_full']} / {r['eval_seconds_sampled']}",
          f"{r['parameters']:,} ({r['non_embedding_parameters']:,})", f"{r['mfu']:.1%}" if "mfu" in r else "",
          chr(65 + runs.index(json.dumps(r["run"], sort_keys=True)))] for name, r in results.items()])
    lines += ["", "Runs (MFU = SRT's analytic training FLOPs per second over the dense float32 matmul rate measured "
              "in the same process):", ""]
    for i, run in enumerate(map(json.loads, runs)):
        lines.append(f"- {chr(65 + i)}: {run['mode']} mode, `{run['command']}`; {run['machine']}, {run['threads']} "
                     f"thread(s); {run['date']}; {run['minutes']} minutes; matmul {run['matmul_gflops']:.1f} GFLOP/s.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
