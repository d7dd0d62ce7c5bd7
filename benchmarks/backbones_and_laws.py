"""Scaling across backbones and data (issue 14): the sweeps and the `laws` analysis, one command.

    python benchmarks/backbones_and_laws.py [--quick] [--studies backbones-ml-100k,backbones-beauty,laws-ml-100k]

``backbones-<dataset>``: IDTransformer with the sasrec, llama and hstu backbones, 3 seeds (the generative-
recommenders protocol: leave-one-out, full ranking, checkpoint chosen on validation NDCG@10). ``laws-ml-100k``:
nested user-sampled subsets of ml-100k x six sizes (sasrec; hstu on the 25K subset), the size law and the
Performance Law fitted per backbone. Each is ``python -m recbole_srt.scaling sweep`` (resumable, under saved/) then
``laws``: laws.json and run.json go to benchmarks/results/<study>/, figures to docs/results/<study>/. ``--quick``:
2 epochs, 1 seed, fewer sizes, as <study>-quick. Beauty is read from saved/data/beauty (skipped without it).
"""

import contextlib
import glob
import json
import os
import shutil
import signal
import sys

import harness
from recbole_srt.trials import run_tracked

ROOT = harness.paths.ROOT
FULL_RANKING = "eval_args={'split':{'LS':'valid_and_test'},'group_by':'user','order':'TO','mode':'full'}"
SCALING = [sys.executable, "-m", "recbole_srt.scaling"]


def studies(quick):
    seeds = "2020" if quick else "2020,2021,2022"
    sizes = ("L1-H1-D16,L1-H1-D32,L2-H2-D32,L2-H2-D64" if quick else
             "L1-H1-D16,L1-H1-D32,L2-H2-D32,L2-H2-D64,L4-H2-D64,L4-H2-D128")
    quick_sets = ["epochs=2"] if quick else []
    common = [FULL_RANKING, "topk=[10]", "eval_cross_entropy=True"]
    # seeds outermost: an interrupted sweep has every backbone for the first seeds
    backbones = ["--model", "IDTransformer", "--grid", f"seed={seeds}", "--grid", "backbone=sasrec,hstu,llama"]
    return {
        "backbones-ml-100k": {
            "sweep": ["--datasets", "ml-100k", "--presets", "L4-H2-D64", *backbones],
            "sets": common + ["valid_metric=NDCG@10"] + quick_sets,
            "laws": ["--by", "backbone"],
        },
        "backbones-beauty": {
            "needs": os.path.join(harness.paths.DATA, "beauty", "beauty.inter"),
            "sweep": ["--datasets", "beauty", "--data_path", "saved/data", "--presets", "L2-H2-D64", *backbones],
            "sets": common + ["valid_metric=NDCG@10", "loss=sampled_softmax", "num_negatives=128",
                              "neg_distribution=uniform"]
            + (quick_sets or ["epochs=30", "eval_step=2", "stopping_step=3"]),
            "laws": ["--by", "backbone"],
        },
        "laws-ml-100k": {
            "subsets": ["25K", "50K", "100K"],
            "sweep": ["--model", "IDTransformer", "--data_path", "saved/data",
                      "--datasets", "ml-100k-25K,ml-100k-50K,ml-100k-100K", "--presets", sizes],
            # the same sizes with the hstu backbone on the 25K subset, into the same results file
            "more_sweeps": [["--model", "IDTransformer", "--data_path", "saved/data", "--datasets", "ml-100k-25K",
                             "--presets", sizes, "--grid", "backbone=hstu"]],
            "sets": common + ["valid_metric=cross_entropy"] + quick_sets,
            "laws": ["--by", "backbone", "--valid-metric", "ndcg@10"] + (["--holdout", "1"] if quick else []),
        },
    }


def make_subsets(sizes):
    """ml-100k's nested user-sampled subsets under saved/data (once)."""
    import recbole

    missing = [s for s in sizes if not os.path.isdir(os.path.join(ROOT, "saved", "data", f"ml-100k-{s}"))]
    if missing:
        source = os.path.join(os.path.dirname(recbole.__file__), "dataset_example", "ml-100k")
        run_tracked([sys.executable, "-m", "dataset_prep", "subsets", "--dataset", source, "--sizes",
                        ",".join(sizes), "--out", os.path.join("saved", "data"), "--force"], check=True, cwd=ROOT)


def run_study(name, spec, quick, argv):
    if spec.get("needs") and not os.path.isfile(spec["needs"]):
        print(f"{name}: skipped, {spec['needs']} not found (prepare Beauty with dataset_prep, see the README)")
        return None
    if spec.get("subsets"):
        make_subsets(spec["subsets"])
    tag = f"{name}-quick" if quick else name
    results = os.path.join(harness.paths.SAVED, "backbones_and_laws", f"{tag}.jsonl")  # where tests redirect it
    os.makedirs(os.path.dirname(results), exist_ok=True)
    for args in [spec["sweep"], *spec.get("more_sweeps", [])]:
        sweep = SCALING + ["sweep", *args, "--results", results] + [a for s in spec["sets"] for a in ("--set", s)]
        print("$", " ".join(sweep[1:]))
        run_tracked(sweep, check=True, cwd=ROOT)  # a stopped study stops its sweep, and the sweep its trial
    out = os.path.join(harness.paths.SAVED, "backbones_and_laws", f"{tag}-laws")
    shutil.rmtree(out, ignore_errors=True)
    laws = SCALING + ["laws", "--results", results, *spec["laws"], "--out", out]
    print("$", " ".join(laws[1:]))
    run_tracked(laws, check=True, cwd=ROOT)
    # laws.json and this run's stamp stay with the results, the figures go beside the page: each staged whole in a
    # new folder, then both swapped in (stops held off for those renames), so that a run stopped on the way leaves
    # the old page whole, never new laws with old figures
    kept, figures = os.path.join(harness.paths.RESULTS, tag), os.path.join(harness.paths.DOCS, tag)
    staged = {kept: stage(kept), figures: stage(figures)}
    shutil.copy(os.path.join(out, "laws.json"), staged[kept])
    with open(os.path.join(staged[kept], "run.json"), "w", encoding="utf-8") as f:
        json.dump(harness.stamp(__file__, argv), f, indent=1)
    for png in glob.glob(os.path.join(out, "*.png")):
        shutil.copy(png, staged[figures])
    swap(staged)
    return tag


def stage(folder):
    """An empty folder beside ``folder`` to build its new content in; its leading dot keeps it off the pages.
    A stopped run's is removed first, and so is its old copy if the swap stopped before removing it."""
    new, old = (os.path.join(os.path.dirname(folder), f".{os.path.basename(folder)}.{end}") for end in ("new", "old"))
    for leftover in (new, old):
        shutil.rmtree(leftover, ignore_errors=True)
    os.makedirs(new)
    return new


def swap(staged):
    """Each staged folder in place of its folder ({folder: staged}), by renames; the old ones removed after (a few
    files: stops wait for that too, so that no old folder is left beside the page)."""
    old = {folder: os.path.join(os.path.dirname(folder), f".{os.path.basename(folder)}.old") for folder in staged}
    with stops_held():  # a stop between two renames would pair one folder's new content with the other's old
        for folder, new in staged.items():
            if os.path.isdir(folder):
                os.replace(folder, old[folder])
            os.replace(new, folder)
        for folder in old.values():
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def stops_held():
    """SIGINT and SIGTERM that arrive inside are acted on (by the handlers that were there) as it ends."""
    held = []
    previous = {s: signal.signal(s, lambda signum, frame: held.append(signum)) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for s in held:
            signal.raise_signal(s)


def markdown(tag, results):
    """scaling's own laws page, then the run that made it and its figures."""
    from recbole_srt.scaling.report import markdown as laws_markdown

    run = harness.load(os.path.join(results, tag, "run.json"))
    report = harness.load(os.path.join(results, tag, "laws.json"))
    text = laws_markdown(report, ["cross_entropy", "hit@10", "ndcg@10"])
    figures = sorted(os.path.basename(p) for p in glob.glob(os.path.join(harness.paths.DOCS, tag, "*.png")))
    return text + f"\nRun: {run['date']}; {harness.describe(run['machine'])}; `{run['command']}`.\n" + "".join(
        f"\n![{f[:-4]}]({tag}/{f})\n" for f in figures)


def pages(results=None):
    results = results or harness.paths.RESULTS
    return {tag: markdown(tag, results) for tag in sorted(os.listdir(results))
            if not tag.startswith(".") and os.path.isfile(os.path.join(results, tag, "laws.json"))}  # "." staged


def main(argv=None):
    parser = harness.parser(__doc__, quick="2 epochs, 1 seed, fewer sizes")
    parser.add_argument("--studies", default="backbones-ml-100k,backbones-beauty,laws-ml-100k")

    def measure(args):
        plan = studies(args.quick)
        for name in harness.names(args.studies, plan, "--studies"):
            run_study(name, plan[name], args.quick, argv)
        return {}  # each study wrote its own folder

    return harness.run(parser, argv, measure, pages)


if __name__ == "__main__":
    sys.exit(main())
