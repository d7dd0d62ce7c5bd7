"""Scaling across backbones and data (issue 14): the sweeps and the `laws` analysis, one command.

    python benchmarks/backbones_and_laws.py [--quick] [--studies backbones-ml-100k,backbones-beauty,laws-ml-100k]

``backbones-<dataset>``: IDTransformer with the sasrec, llama and hstu backbones, 3 seeds (the generative-
recommenders protocol: leave-one-out, full ranking, checkpoint chosen on validation NDCG@10). ``laws-ml-100k``:
nested user-sampled subsets of ml-100k x six sizes (sasrec; hstu on the 25K subset), the size law and the
Performance Law fitted per backbone. Each is ``python -m recbole_srt.scaling sweep`` (resumable, under saved/) then
``laws``: laws.json and run.json go to benchmarks/results/<study>/, figures to docs/results/<study>/. ``--quick``:
2 epochs, 1 seed, fewer sizes, as <study>-quick. Beauty is read from saved/data/beauty (skipped without it).
"""

import glob
import os
import shutil
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
    results = os.path.join("saved", "backbones_and_laws", f"{tag}.jsonl")
    os.makedirs(os.path.join(ROOT, os.path.dirname(results)), exist_ok=True)
    for args in [spec["sweep"], *spec.get("more_sweeps", [])]:
        sweep = SCALING + ["sweep", *args, "--results", results] + [a for s in spec["sets"] for a in ("--set", s)]
        print("$", " ".join(sweep[1:]))
        run_tracked(sweep, check=True, cwd=ROOT)  # a stopped study stops its sweep, and the sweep its trial
    out = os.path.join(harness.paths.SAVED, "backbones_and_laws", f"{tag}-laws")
    shutil.rmtree(out, ignore_errors=True)
    laws = SCALING + ["laws", "--results", results, *spec["laws"], "--out", out]
    print("$", " ".join(laws[1:]))
    run_tracked(laws, check=True, cwd=ROOT)
    # laws.json and this run's stamp stay with the results; the figures go beside the page. Copied over the old
    # ones, each through a rename, and the figures it no longer makes removed last: a run stopped on the way leaves
    # a whole page, never a folder emptied before its copy.
    kept, figures = os.path.join(harness.paths.RESULTS, tag), os.path.join(harness.paths.DOCS, tag)
    for folder in (kept, figures):
        os.makedirs(folder, exist_ok=True)
    put(os.path.join(out, "laws.json"), kept)
    harness.update(os.path.join(kept, "run.json"), lambda old: harness.stamp(__file__, argv))
    made = {put(png, figures) for png in glob.glob(os.path.join(out, "*.png"))}
    for stale in set(glob.glob(os.path.join(figures, "*.png"))) - made:
        os.remove(stale)
    return tag


def put(path, folder):
    """``path`` copied into ``folder`` under a temporary name, then renamed: the old file or the new, never half."""
    dest = os.path.join(folder, os.path.basename(path))
    shutil.copy(path, dest + ".tmp")
    os.replace(dest + ".tmp", dest)
    return dest


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
            if os.path.isfile(os.path.join(results, tag, "laws.json"))}


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
