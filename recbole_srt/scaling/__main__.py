"""python -m recbole_srt.scaling sweep|fit|plot|laws ... (see --help of each)."""

import argparse
import json
import os
import sys

import recbole_srt  # noqa: F401  (compatibility shims before RecBole is imported anywhere)
from recbole_srt.scaling.report import json_number


def _report_failures(failed, planned):
    """Exit status of a sweep: 1 when any planned run failed, so scripts and CI notice, with each
    failed run and its log on stderr (the results file holds only the log's last lines)."""
    if not failed:
        return 0
    print(f"error: {len(failed)} of {planned} runs failed:", file=sys.stderr)
    for record in failed:
        log = os.path.join(record["run_dir"], "log.txt")
        print(f"  {record['run_id']}: {record['status']}; log: {log}", file=sys.stderr)
    return 1


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m recbole_srt.scaling", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    sweep = commands.add_parser("sweep", help="train datasets x presets x options, one process per run, resumable")
    sweep.add_argument("--datasets", required=True, help="comma-separated dataset names")
    sweep.add_argument("--data_path", default=None, help="folder holding <dataset>/ atomic files")
    sweep.add_argument("--presets", required=True, help="comma-separated presets, e.g. L4-H2-D64,L2-H2-D128")
    sweep.add_argument("--model", default="SRT")
    sweep.add_argument("--results", required=True, help="JSON-lines results file (appended to; resumes)")
    sweep.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="a RecBole property for every run (repeatable)")
    sweep.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                       help="a property to sweep over (repeatable; runs are the product)")
    sweep.add_argument("--timeout", type=float, default=None, help="seconds per run")
    sweep.add_argument("--keep-checkpoints", action="store_true")
    sweep.add_argument("--dry-run", action="store_true", help="list the runs and exit")

    for name, text in (("fit", "fit the laws to a results file and write them as JSON"),
                       ("plot", "draw Figures 4 to 7 of a results file as PNG")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--results", required=True)
        sub.add_argument("--metrics", default="ndcg@5,hit@5", help="validation metrics, as RecBole names them")
        sub.add_argument("--n-kind", default="total", choices=["total", "non_embedding"],
                         help="N of Eq. 5: total parameters (the paper's, default) or non-embedding")
        sub.add_argument("--robust", action="store_true", help="Huber loss instead of least squares")
        sub.add_argument("--bootstrap", type=int, default=100, help="bootstrap resamples for the intervals")
        sub.add_argument("--holdout", type=int, default=2, help="largest runs held out by the extrapolation check")
        sub.add_argument("--out", required=True, help="fit: JSON file; plot: folder")

    report = commands.add_parser(
        "laws", help="per group of runs (--by): test metrics over seeds, envelopes, Zhang et al.'s size law, "
                     "Shen et al.'s Performance Law; JSON, markdown and figures")
    report.add_argument("--results", required=True)
    report.add_argument("--by", default=None, help="group runs by this option (backbone, item_encoder...), or by "
                        "model / dataset / preset")
    report.add_argument("--baseline", default=None, help="group the others are tested against (default: sasrec if "
                        "present, else the first)")
    report.add_argument("--metrics", default="cross_entropy,hit@10,ndcg@10",
                        help="test metrics (cross_entropy needs eval_cross_entropy: True in the runs)")
    report.add_argument("--valid-metric", default="ndcg@10", help="validation metric of the envelopes")
    report.add_argument("--n-kind", default="non_embedding", choices=["non_embedding", "total"])
    report.add_argument("--holdout", type=int, default=2, help="largest sizes held out by the size-law check")
    report.add_argument("--perf-holdout", type=int, default=1, help="largest sizes held out by the Performance Law")
    report.add_argument("--bootstrap", type=int, default=None,
                        help="resamples of the laws' 95 %% intervals (default: 100 for the size law, 50 for the "
                             "Performance Law, whose fit is slower; 0: no intervals)")
    report.add_argument("--out", required=True, help="folder for laws.json, laws.md and the PNGs")

    args = parser.parse_args(argv)
    try:
        if args.command == "laws":
            from recbole_srt.scaling.analysis import load_runs
            from recbole_srt.scaling.report import write

            metrics = [m.strip().lower() for m in args.metrics.split(",") if m.strip()]
            _, text, paths = write(load_runs(args.results), args.out, args.by, metrics, args.valid_metric.lower(),
                                   args.n_kind, args.holdout, args.perf_holdout, args.baseline, args.bootstrap)
            print(text)
            for path in [os.path.join(args.out, "laws.json"), os.path.join(args.out, "laws.md"), *paths]:
                print(path)
            return 0
        if args.command == "sweep":
            from recbole_srt.model.sizes import preset
            from recbole_srt.scaling.sweep import plan, sweep as run_sweep
            from recbole_srt.trials import failures, parse_assignments, trials_stop_with_the_runner

            presets = [p for p in args.presets.split(",") if p]
            for name in presets:
                preset(name)  # unknown names fail before anything runs
            runs = plan([d for d in args.datasets.split(",") if d], presets, parse_assignments(args.set),
                        parse_assignments(args.grid, grid=True), args.model)
            if args.dry_run:
                for run in runs:
                    print(json.dumps(run))
                return 0
            with trials_stop_with_the_runner():
                run_sweep(runs, args.results, args.data_path, args.timeout, args.keep_checkpoints)
            return _report_failures(failures(runs, args.results), len(runs))

        from recbole_srt.scaling.analysis import fit_all, load_runs

        runs = load_runs(args.results)
        metrics = [m.strip().lower() for m in args.metrics.split(",") if m.strip()]
        # plot draws the fitted curves only: no bootstrap or extrapolation check to compute
        n_boot, holdout = (args.bootstrap, args.holdout) if args.command == "fit" else (0, 0)
        fits = {m: fit_all(runs, m, args.n_kind, args.robust, n_boot, holdout) for m in metrics}
        if args.command == "fit":
            with open(args.out, "w", encoding="utf-8") as f:
                json.dump(json_number(fits), f, indent=1)
            for metric, fit in fits.items():
                print(f"{metric}: {fit['runs']} runs, {fit['evaluations']} evaluations, "
                      f"{len(fit['envelope'])} envelope points")
                for key in ("linear_log_flops", "sigmoid", "nt", "flops_per_param_interaction"):
                    print(f"  {key}: {json.dumps(json_number(fit.get(key)))}")
                for law in ("sigmoid", "nt"):
                    for name, why in fit.get(f"{law}_not_identified", {}).items():
                        print(f"  warning: {law} {name} is not identified by these runs ({why})")
            print(f"written to {args.out}")
        else:
            from recbole_srt.scaling.plots import plot_all

            for metric in metrics:
                folder = args.out if len(metrics) == 1 else f"{args.out.rstrip('/')}/{metric.replace('@', '')}"
                for path in plot_all(runs, fits[metric], folder, metric, args.n_kind):
                    print(path)
        return 0
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
