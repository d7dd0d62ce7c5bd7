"""Issue 29, "Is it the paper's SRT?": the authors' own code (mercadolibre/srt, a RecBole 1.2.0 fork whose model is
SASRecF2) trained with their from-scratch recipe on our prepared data and our split, beside our SRT.

    python benchmarks/reference/run.py --authors PATH [--quick] [--datasets beauty,sports]
        [--models SRT-10,SRT-100,SRT-300,SRT-1K,CE] [--seeds 2020,2021,2022] [--device cpu|cuda] [--threads N]
    python benchmarks/reference/run.py --render

PATH is a checkout of their repository that you obtained; the project ships none of their code. It is copied to
saved/reference/src/ (git-ignored: their settings module creates data folders beside itself) and run there in its
own virtual environment, saved/reference/venv/ (ref_env.py: torch 2.0.1 and the libraries their fork imports), with
stubs/ first on PYTHONPATH for what is not installed (fda's melitk, mlflow, pynvml, faiss). Their code is not
edited. Each row is their ``get_from_scratch_config_dict`` + ``run_experiment`` (authors_run.py) with K set
(their from-scratch config fixes K = 300); CE is their SASRecF2 with loss_type CE (the whole catalog).

Every run keeps its result under saved/reference/runs/<mode>/<device>-<their commit>/ and is not rerun. A command
merges its datasets, rows and seeds into the section of benchmarks/results/reference.json of its mode, --epochs,
--device and their commit (a new section when none matches); each run records the command that ran it, and the page
names them where a section's runs come from more than one. The evaluator check scores the same
matrices (a trained model's, and two made ones: tie-free and with ties at the held-out item) through their
Trainer.evaluate and through recbole_srt.evaluation, on the same test users and catalog.

``--quick``: 5 % of Beauty's users (seed 0), K = 100, 2 epochs, one seed; ours on the same subset with the
authors' recipe preset (properties/presets/srt-authors.yaml) at the same K and epochs. The full mode trains their
50-epoch recipe (early stopping 5) at 3 seeds on the whole of Beauty and Sports: a GPU's work (--device cuda).
"""

import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]  # this folder's ref_* modules, and benchmarks/ for harness

import harness  # noqa: E402

import ref_data as refdata  # noqa: E402
import ref_env as env  # noqa: E402

ROWS = {"SRT-10": "10", "SRT-100": "100", "SRT-300": "300", "SRT-1K": "1000", "CE": "ce"}
DATASETS = ("beauty", "sports")
QUICK = {"fraction": 0.05, "subset_seed": 0, "epochs": 2, "models": "SRT-100", "seeds": "2020", "datasets": "beauty"}
FULL = {"fraction": 1.0, "subset_seed": 0, "epochs": 0, "models": "SRT-1K", "seeds": "2020,2021,2022",
        "datasets": "beauty,sports"}
AUTHORS_PRESET = os.path.join(harness.paths.ROOT, "properties", "presets", "srt-authors.yaml")
# What every run of one section shares: runs of another recipe, device or version of their code are never pooled
# into one mean nor described by one section's header; they go to a section of their own.
SAME = ("epochs", "device", "authors_commit")
STAMP = ("date", "machine", "command")  # each run's (and the check's) own: a section's runs come from many commands


def work():
    return os.path.join(harness.paths.SAVED, "reference")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def authors_copy(path):
    """Their checkout copied to saved/reference/src (again when its commit or file list changes)."""
    path = os.path.abspath(path)
    for needed in ("MyRecbole/recbole/model/sequential_recommender/sasrecf2.py", "srt/fine_tune/fine_tune_utils.py",
                   "confs/fine_tune/from_scratch.json"):
        if not os.path.isfile(os.path.join(path, needed)):
            raise SystemExit(f"--authors {path}: no {needed} (is it a checkout of mercadolibre/srt?)")
    commit = subprocess.run(["git", "-C", path, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    dest = os.path.join(work(), "src")
    marker = os.path.join(dest, ".reference-copy")
    if os.path.isfile(marker) and open(marker).read() == (commit or path):
        return dest, commit
    if os.path.isdir(dest):
        shutil.rmtree(dest)
    top = {".git", "data", "working_dir", "saved", "log", "mlruns.sqlite.bz2"}  # theirs or runs', at the top only
    shutil.copytree(path, dest, ignore=lambda folder, names: [n for n in names if n in top and
                                                              os.path.samefile(folder, path)])
    with open(marker, "w") as f:
        f.write(commit or path)
    return dest, commit


def child_env(src, threads):
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([os.path.join(HERE, "stubs"), src, os.path.join(src, "MyRecbole")])
    if threads:
        e["OMP_NUM_THREADS"] = str(threads)
    return e


def their_run(python, src, dataset, data_path, row, seed, epochs, device, threads, run_dir, scores=False):
    """One row of their recipe in its own process; the result file is kept and never recomputed."""
    out = os.path.join(run_dir, "result.json")
    if os.path.isfile(out):
        log(f"kept: {out}")
        return harness.load(out)
    os.makedirs(run_dir, exist_ok=True)
    cmd = [python, os.path.join(HERE, "authors_run.py"), "train", "--dataset", dataset, "--data_path", data_path,
           "--recipe", os.path.join(src, "confs", "fine_tune", "from_scratch.json"), "--negatives", ROWS[row],
           "--seed", str(seed), "--device", device, "--out", out, "--threads", str(threads or 0)]
    cmd += ["--epochs", str(epochs)] if epochs else []
    cmd += ["--scores", os.path.join(run_dir, "scores.npz")] if scores else []
    log(f"theirs: {row} {dataset} seed {seed} -> {run_dir}")
    start = time.perf_counter()
    with open(os.path.join(run_dir, "log.txt"), "w") as f:
        rc = subprocess.run(cmd, cwd=run_dir, env=child_env(src, threads), stdout=f, stderr=subprocess.STDOUT).returncode
    if rc:
        with open(os.path.join(run_dir, "log.txt")) as f:
            raise SystemExit(f"their {row} on {dataset} failed (exit {rc}):\n{f.read()[-4000:]}")
    log(f"  {time.perf_counter() - start:.0f} s")
    return harness.load(out)


def our_run(dataset, data_path, row, seed, epochs, run_dir):
    """Our SRT with the authors' recipe preset at the same K (and epochs, when set); kept like theirs."""
    out = os.path.join(run_dir, "result.json")
    if os.path.isfile(out):
        log(f"kept: {out}")
        return harness.load(out)
    import torch

    os.makedirs(run_dir, exist_ok=True)
    options = {"seed": seed, "data_path": data_path, "checkpoint_dir": run_dir, "show_progress": False,
               "state": "ERROR", "log_dir": None, "tensorboard_dir": None,
               "tokenizer_dir": os.path.join(run_dir, "tokenizers")}
    options.update({"loss": "full_ce"} if ROWS[row] == "ce" else {"num_negatives": int(ROWS[row])})
    options.update({"epochs": epochs} if epochs else {})
    log(f"ours: {row} {dataset} seed {seed}")
    start = time.perf_counter()
    built = harness.fit("SRT", dataset, options, [AUTHORS_PRESET])
    trainer = built.trainer
    test = trainer.evaluate(built.test_data, load_best_model=trainer.stopped_by != "nothing_to_train")
    history = trainer.history
    best = max(range(len(history)), key=lambda e: history[e].get("ndcg@5", -1.0)) if history else -1
    result = {"test": {"ndcg@5": float(test["ndcg@5"]), "hit@5": float(test["hit@5"])},
              "valid_ndcg@5": round(float(history[best]["ndcg@5"]), 4) if history else None,
              "valid_ndcg@5_by_epoch": [round(h.get("ndcg@5", float("nan")), 4) for h in history],
              "epochs_run": len(history), "epochs_to_best": best + 1,
              "seconds_per_epoch": round(trainer.train_seconds / max(1, len(history)), 2),
              "train_seconds": round(trainer.train_seconds, 1), "wall_seconds": round(time.perf_counter() - start, 1),
              "parameters": int(sum(p.numel() for p in built.model.parameters())), "torch": torch.__version__,
              "device": str(built.config["device"])}
    harness.update(out, lambda old: result)  # through a temporary file: a killed run leaves no half result to keep
    log(f"  {result['wall_seconds']:.0f} s")
    return result


# ----- the evaluator check ---------------------------------------------------------------------------------------

def made_scores(data_path, dataset, folder, seed=0):
    """Two score files over the dataset's test users and catalog (raw tokens): random scores with each user's
    test item (its last interaction) put at a drawn rank 1..8, strictly above the next item ("tie-free"), and
    the same with the test item scored exactly like the item just above it ("tied")."""
    import numpy as np

    _, rows = refdata.read_atomic(os.path.join(data_path, dataset, f"{dataset}.inter"))
    last = {}
    for user, item, *rest in rows:  # the file is in time order within each user (dataset_prep)
        last[user] = item
    items = ["[PAD]"] + sorted({r[1] for r in rows})
    col = {t: i for i, t in enumerate(items)}
    users = sorted(last)
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((len(users), len(items))).astype(np.float32)
    tied = scores.copy()
    for r, user in enumerate(users):
        p = col[last[user]]
        others = np.delete(scores[r, 1:], p - 1)
        order = np.sort(others)[::-1]
        k = int(rng.integers(0, 8))
        scores[r, p] = np.nextafter(order[k], np.float32(np.inf))  # just above the k-th other: rank k + 1
        tied[r, p] = order[k]  # equal to it: rank k + 1 or k + 2, by the tie rule
    paths = {}
    for name, matrix in (("tie-free", scores), ("tied", tied)):
        paths[name] = os.path.join(folder, f"{name}.npz")
        np.savez(paths[name], users=np.array(users), items=np.array(items), scores=matrix)
    return paths


def our_evaluation(dataset, data_path, files):
    """recbole_srt.evaluation's RankingEvaluation (full ranking, history kept, as both sides test) on each file."""
    from recbole_srt.build import create_dataset, data_preparation, load_config
    from recbole_srt.evaluation.ranking import RankingEvaluation
    from score_file import FileScores

    config = load_config("SRT", dataset, config_file_list=[AUTHORS_PRESET], config_dict={
        "data_path": data_path, "show_progress": False, "state": "ERROR", "log_dir": None, "tensorboard_dir": None,
        "tokenizer_dir": os.path.join(work(), "tokenizers")})
    ds = create_dataset(config)
    train_data, _, test_data = data_preparation(config, ds)
    user_tokens, item_tokens = ds.field2id_token[ds.uid_field], ds.field2id_token[ds.iid_field]
    out = {}
    for name, path in files.items():
        model = FileScores(path, user_tokens, item_tokens, ds.uid_field)
        evaluation = RankingEvaluation(config)
        evaluation.prepare(train_data)
        result = evaluation(model, test_data)
        out[name] = {"ndcg@5": float(result["ndcg@5"]), "hit@5": float(result["hit@5"]), "users": len(model.seen),
                     "catalog": int(ds.item_num)}
    return out


def their_evaluation(python, src, dataset, data_path, files, folder, threads):
    out = os.path.join(folder, "theirs.json")
    cmd = [python, os.path.join(HERE, "authors_run.py"), "check", "--dataset", dataset, "--data_path", data_path,
           "--recipe", os.path.join(src, "confs", "fine_tune", "from_scratch.json"), "--out", out, "--files", *files.values()]
    done = subprocess.run(cmd, cwd=folder, env=child_env(src, threads), capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"their evaluation of the score files failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    result = harness.load(out)
    return {name: result[os.path.basename(path)] for name, path in files.items()}


def evaluator_check(python, src, ours_path, ours_name, theirs_path, theirs_name, folder, model_scores, threads):
    os.makedirs(folder, exist_ok=True)
    files = made_scores(ours_path, ours_name, folder)
    if model_scores and os.path.isfile(model_scores):
        files = {"their model's scores": model_scores, **files}
    ours = our_evaluation(ours_name, ours_path, files)
    theirs = their_evaluation(python, src, theirs_name, theirs_path, files, folder, threads)
    rows = {}
    for name in files:
        a, b = ours[name], theirs[name]
        rows[name] = {"ours": a, "theirs": b, "same_users": a["users"] == b["users"],
                      "same_catalog": a["catalog"] == b["catalog"],
                      "equal": all(abs(a[m] - b[m]) < 1e-9 for m in ("ndcg@5", "hit@5"))}
    return {"dataset": ours_name, "files": rows}


def users_of(data_path, name):
    _, rows = refdata.read_atomic(os.path.join(data_path, name, f"{name}.inter"))
    return len({r[0] for r in rows})


# ----- the study ---------------------------------------------------------------------------------------------------

def measure(args):
    mode = QUICK if args.quick else FULL
    if not args.authors:
        raise SystemExit("--authors PATH: a checkout of the authors' repository (mercadolibre/srt) is needed")
    datasets = harness.names(args.datasets or mode["datasets"], DATASETS, "--datasets")
    models = harness.names(args.models or mode["models"], list(ROWS), "--models")
    seeds = harness.ints(args.seeds or mode["seeds"], "--seeds")
    epochs = args.epochs if args.epochs is not None else mode["epochs"]
    start = time.perf_counter()
    python = env.ensure(os.path.join(work(), "venv"), log=log)
    src, commit = authors_copy(args.authors)
    their_data = os.path.join(src, "data", "output")  # their settings.RECBOLE_DATASETS
    label = "quick" if args.quick else "full"
    stamp = harness.stamp(__file__)
    stamp["command"] = stamp["command"].replace(args.authors, "PATH")  # the user's checkout, wherever it is
    out = {"mode": label, **stamp, "authors_commit": commit, "device": args.device,
           "authors_torch": env.REQUIREMENTS[0], "fraction": mode["fraction"], "epochs": epochs or "recipe (50)",
           "datasets": {}}
    run = {k: stamp[k] for k in STAMP}
    for name in datasets:
        harness.prepare(name)
        ours_path, ours_name = refdata.ours(harness.paths.DATA, name, mode["fraction"], mode["subset_seed"],
                                            os.path.join(work(), "data"))
        theirs_name = refdata.authors(ours_path, ours_name, refdata.tokenizer_of(harness.paths.DATA, name),
                                      their_data)
        rows = {}
        for row in models:
            entry = {"K": ROWS[row], "theirs": [], "ours": []}
            for i, seed in enumerate(seeds):
                # a kept run is another section's when the device or their commit differs: not reused for this one
                run_dir = os.path.join(work(), "runs", label, f"{args.device}-{(commit or 'unknown')[:12]}", ours_name,
                                       f"{row}-s{seed}-e{epochs or 'r'}")
                entry["theirs"].append({"seed": seed, **their_run(
                    python, src, theirs_name, their_data, row, seed, epochs, args.device, args.threads,
                    os.path.join(run_dir, "theirs"), scores=args.quick and i == 0), "run": run})
                if args.quick:  # the full mode's ours are the Table 1 figures (beauty.json, sports.json)
                    entry["ours"].append({"seed": seed, **our_run(ours_name, ours_path, row, seed, epochs,
                                                                   os.path.join(run_dir, "ours")), "run": run})
            rows[row] = entry
        out["datasets"][name] = {"subset": ours_name, "rows": rows, "users": users_of(ours_path, ours_name),
                                 "users_whole": users_of(harness.paths.DATA, name)}
        if args.quick and name == datasets[0]:
            first = rows[models[0]]["theirs"][0].get("scores_file")
            out["evaluator_check"] = {**evaluator_check(python, src, ours_path, ours_name, their_data, theirs_name,
                                                        os.path.join(work(), "check", ours_name), first, args.threads),
                                      "run": run}
    out["minutes"] = round((time.perf_counter() - start) / 60, 1)
    return {"reference": lambda old: placed(old or {}, out)}


def placed(content, new):
    """``content`` with ``new`` merged into the section of its mode whose runs share its SAME settings, or else in
    a section of its own (keyed by the mode while that is free): another --epochs, --device or checkout of their
    code adds a section and replaces none."""
    key = next((k for k, s in content.items() if all(s.get(f) == new[f] for f in ("mode", *SAME))), None)
    if key is None:
        key = new["mode"] if new["mode"] not in content else (
            f"{new['mode']} (epochs {new['epochs']}; device {new['device']}; "
            f"authors' commit {(new['authors_commit'] or 'unknown')[:12]})")
    return {**content, key: merged(content.get(key), new)}


def merged(old, new):
    """A section with this command's datasets, rows and seeds in place of the same old ones, the others kept: a
    command for some of them (--datasets sports, --models CE, --seeds 2023) leaves the rest of the page. Both
    sections' runs share the SAME settings (placed)."""
    if not old:
        return new
    old = stamped(old)  # before the section's stamp becomes this command's
    datasets = dict(old["datasets"])
    for name, d in new["datasets"].items():
        rows = dict(datasets.get(name, {}).get("rows", {}))
        for row, entry in d["rows"].items():
            seeds = {side: harness.merge_rows(rows.get(row, {}).get(side), entry[side], lambda r: r["seed"])
                     for side in ("theirs", "ours")}
            rows[row] = {**entry, **{side: sorted(runs, key=lambda r: r["seed"]) for side, runs in seeds.items()}}
        datasets[name] = {**d, "rows": {row: rows[row] for row in ROWS if row in rows}}
    # the section's stamp and minutes are this command's; an evaluator check it did not make (the full mode's) is
    # the old one, with the old stamp
    return {**old, **new, "datasets": {name: datasets[name] for name in DATASETS if name in datasets}}


def stamped(section):
    """``section`` with its own stamp on each run and check that has none (written before runs had one)."""
    own = {k: section[k] for k in STAMP}
    datasets = {name: {**d, "rows": {row: {**e, **{side: [{**r, "run": r.get("run") or own} for r in e[side]]
                                                   for side in ("theirs", "ours")}}
                                     for row, e in d["rows"].items()}}
                for name, d in section["datasets"].items()}
    check = section.get("evaluator_check")
    return {**section, "datasets": datasets,
            **({"evaluator_check": {**check, "run": check.get("run") or own}} if check else {})}


def parser():
    p = harness.parser(__doc__, quick="5 % of Beauty's users, K = 100, 2 epochs, one seed, and the evaluator check")
    p.add_argument("--authors", help="a checkout of mercadolibre/srt")
    p.add_argument("--datasets", help="comma list of beauty, sports")
    p.add_argument("--models", help=f"comma list of {', '.join(ROWS)}")
    p.add_argument("--seeds", help="comma list of seeds")
    p.add_argument("--epochs", type=int, help="epochs of every row (default: their recipe's 50; quick: 2)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--threads", type=int, default=0, help="torch threads of each run (0: torch's default)")
    return p


def main(argv=None):
    import ref_render

    return harness.run(parser(), argv, measure, ref_render.pages)


if __name__ == "__main__":
    sys.exit(main())
