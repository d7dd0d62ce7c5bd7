"""Scaling across backbones and data (issue 14): the sweeps and the `laws` analysis, one command.

    python benchmarks/backbones_and_laws.py [--quick] [--studies backbones-ml-100k,backbones-beauty,laws-ml-100k]
    python benchmarks/backbones_and_laws.py --render

- ``backbones-<dataset>``: the ID-based model (IDTransformer: item IDs, full cross-entropy, all positions)
  with the sasrec, llama and hstu backbones, 3 seeds, on RecBole's bundled ml-100k (L4-H2-D64, up to
  50 epochs, early stopping after 10) and on the 2014 Beauty 5-core (L2-H2-D64, up to 30 epochs,
  stopping after 5). The generative-recommenders protocol: leave-one-out, full ranking, HR@10 and
  NDCG@10, checkpoint chosen on validation NDCG@10; the catalog cross-entropy is reported beside.
  On Beauty the loss is a sampled softmax over 128 uniform negatives (the reference's ML-1M setting; the
  full softmax over 12,101 items cost too much CPU for 9 runs), validated every 2 epochs, up to 30.
- ``laws-ml-100k``: nested user-sampled subsets of ml-100k (25K, 50K, 100K interactions) x six sizes
  from 9K to 0.5M non-embedding parameters (L1-H1-D16 ... L4-H2-D128) with the sasrec backbone, and
  the same six sizes with hstu on the 25K subset; checkpoint chosen on validation cross-entropy.
  Per backbone: Zhang et al.'s size law of the test loss (fitted on the 4 smaller sizes, predicting
  the 2 largest), Shen et al.'s Performance Law (fitted without the largest size) and the envelopes.

Each study is ``python -m recbole_srt.scaling sweep`` (resumable; results under saved/, git-ignored)
then ``python -m recbole_srt.scaling laws``; its laws.json goes to benchmarks/results/<study>/ with run.json (date,
machine, command), its figures to docs/results/<study>/, and the page docs/results/<study>.md is rendered from
them (``--render``: only that; ``--quick``: 2 epochs, 1 seed, fewer sizes, as <study>-quick).
Beauty is read from saved/data/beauty (prepare it as the README says); without it that study is
skipped with a message.
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys

import harness

ROOT = harness.paths.ROOT
FULL_RANKING = "eval_args={'split':{'LS':'valid_and_test'},'group_by':'user','order':'TO','mode':'full'}"
SCALING = [sys.executable, "-m", "recbole_srt.scaling"]


def studies(quick):
    seeds = "2020" if quick else "2020,2021,2022"
    sizes = ("L1-H1-D16,L1-H1-D32,L2-H2-D32,L2-H2-D64" if quick else
             "L1-H1-D16,L1-H1-D32,L2-H2-D32,L2-H2-D64,L4-H2-D64,L4-H2-D128")
    quick_sets = ["epochs=2"] if quick else []
    common = [FULL_RANKING, "topk=[10]", "eval_cross_entropy=True"]
    return {
        "backbones-ml-100k": {
            # seeds outermost: an interrupted sweep has every backbone for the first seeds
            "sweep": ["--datasets", "ml-100k", "--presets", "L4-H2-D64", "--model", "IDTransformer",
                      "--grid", f"seed={seeds}", "--grid", "backbone=sasrec,hstu,llama"],
            "sets": common + ["valid_metric=NDCG@10"] + quick_sets,
            "laws": ["--by", "backbone"],
        },
        "backbones-beauty": {
            "needs": os.path.join(harness.paths.DATA, "beauty", "beauty.inter"),
            # seeds outermost: an interrupted sweep has every backbone for the first seeds
            "sweep": ["--datasets", "beauty", "--data_path", "saved/data", "--presets", "L2-H2-D64", "--model",
                      "IDTransformer", "--grid", f"seed={seeds}", "--grid", "backbone=sasrec,hstu,llama"],
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
        subprocess.run([sys.executable, "-m", "dataset_prep", "subsets", "--dataset", source, "--sizes",
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
        subprocess.run(sweep, check=True, cwd=ROOT)
    out = os.path.join(harness.paths.SAVED, "backbones_and_laws", f"{tag}-laws")
    shutil.rmtree(out, ignore_errors=True)
    laws = SCALING + ["laws", "--results", results, *spec["laws"], "--out", out]
    print("$", " ".join(laws[1:]))
    subprocess.run(laws, check=True, cwd=ROOT)
    # laws.json and this run's stamp stay with the results; the figures go beside the page
    kept, figures = os.path.join(harness.paths.RESULTS, tag), os.path.join(harness.paths.DOCS, tag)
    for folder in (kept, figures):
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
    shutil.copy(os.path.join(out, "laws.json"), kept)
    harness.update(os.path.join(kept, "run.json"), lambda old: harness.stamp(__file__, argv))
    for png in glob.glob(os.path.join(out, "*.png")):
        shutil.copy(png, figures)
    return tag


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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--studies", default="backbones-ml-100k,backbones-beauty,laws-ml-100k")
    parser.add_argument("--render", action="store_true", help="only write the pages again from the JSON")
    args = parser.parse_args(argv)
    plan = studies(args.quick)
    unknown = [s for s in args.studies.split(",") if s not in plan]
    if unknown:
        parser.error(f"--studies: unknown {', '.join(unknown)}; known: {', '.join(plan)}")
    for name in [] if args.render else args.studies.split(","):
        run_study(name, plan[name], args.quick, argv)
    print(*harness.publish(pages()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
