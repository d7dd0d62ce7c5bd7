"""What data-parallel training costs on one machine: epoch time of one process with 2 torch threads
against 2 torchrun processes with 1 thread each, at the same global batch.

    python benchmarks/ddp_overhead.py [--quick] [--repeats 2] [--render]

Both through ``run_recbole_srt.py`` (the second under ``torchrun --standalone``), no validation; the epoch times
the runs log, the first left out, runs alternating, median kept. Goal: a ratio two / one process <= 1.15.
"""

import os
import re
import statistics
import subprocess
import sys
import tempfile

import harness
from recbole_srt.trials import tracked

EPOCH = re.compile(r"epoch (\d+) training \[time: ([0-9.]+)s")
FULL = {"hidden_size": 256, "n_layers": 4, "n_heads": 4, "inner_size": 1024, "epochs": 4}
QUICK = {"hidden_size": 128, "n_layers": 2, "n_heads": 2, "inner_size": 512, "epochs": 2}
GLOBAL_BATCH = 128  # windows per optimizer step: 128 in one process, 64 on each of two
SCRATCH = ("--checkpoint_dir", "--tokenizer_dir", "--results_file")  # left out of the recorded commands


def train(size, processes, workdir):
    """Seconds of each logged training epoch of one run, and its command."""
    options = [f"--{key}={value}" for key, value in size.items()] + [
        "--model=SRT", "--dataset=ml-100k", f"--train_batch_size={GLOBAL_BATCH // processes}", "--eval_step=0",
        "--eval_args={'mode': 'full'}", "--show_progress=False", "--state=INFO", "--log_dir=~", "--tensorboard_dir=~",
        f"--checkpoint_dir={workdir}", f"--tokenizer_dir={os.path.join(workdir, 'tokenizers')}",
        f"--results_file={os.path.join(workdir, f'{processes}.json')}", "--overwrite_results=True",  # each repeat
    ]
    launcher = [sys.executable] if processes == 1 else \
        [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    # The same 2 cores either way: 2 threads in one process, or 1 in each of 2 processes.
    env = {**os.environ, "OMP_NUM_THREADS": str(2 // processes)}
    command = launcher + ["run_recbole_srt.py"] + options
    with tracked(subprocess.Popen(command, cwd=harness.paths.ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)) as process:  # stopped with the study
        _, stderr = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr[-3000:]}")
    shown = ["torchrun --standalone --nproc_per_node=2" if processes > 1 else "python", "run_recbole_srt.py"]
    return [float(s) for _, s in EPOCH.findall(stderr)], " ".join(
        shown + [o for o in options if not o.startswith(SCRATCH)])


def markdown(result):
    one, two = result["one_process"], result["two_processes"]

    def row(label, batch, r):
        return [label, batch, f"{r['median_seconds']:.2f}", ", ".join(f"{s:.2f}" for s in r["seconds"]),
                ", ".join(str(x) for x in r["load"])]

    return "\n".join([
        "# Data-parallel overhead: `python benchmarks/ddp_overhead.py" + (" --quick`" if result["quick"] else "`"), "",
        f"Machine: {harness.describe(result['machine'])}. Date: {result['date']}. SRT on ml-100k, {result['size']}, "
        f"global batch {GLOBAL_BATCH} windows, no validation; seconds per training epoch as the run logs them, "
        f"first epoch left out, median over {result['repeats']} run(s) of each, runs alternating. The machine may "
        "be shared: the 1-minute load average before each run is listed.", "",
        *harness.table(["setting", "per-rank batch", "s/epoch (median)", "epochs timed", "load before runs"],
                       [row("(a) 1 process x 2 threads", GLOBAL_BATCH, one),
                        row("(b) 2 processes x 1 thread (torchrun, gloo)", GLOBAL_BATCH // 2, two)]), "",
        f"Ratio b / a: **{result['ratio']:.2f}** (goal <= 1.15).", "",
        f"Commands: (a) `{one['command']}`, (b) `{two['command']}` (OMP_NUM_THREADS 2 and 1).", ""])


def pages(results=None):
    return harness.rendered(markdown, ("ddp_overhead", "ddp_overhead-quick"), results)


def run(args, argv):
    size = QUICK if args.quick else FULL
    repeats = args.repeats or (1 if args.quick else 2)
    runs = {1: {"seconds": [], "load": []}, 2: {"seconds": [], "load": []}}
    with tempfile.TemporaryDirectory(prefix="ddp_overhead_") as workdir:
        for _ in range(repeats):
            for processes in (1, 2):
                runs[processes]["load"].append(round(os.getloadavg()[0], 2))
                seconds, runs[processes]["command"] = train(size, processes, workdir)
                runs[processes]["seconds"] += seconds[1:]
                print(f"{processes} process(es): {seconds} s/epoch", flush=True)
    for row in runs.values():
        row["median_seconds"] = statistics.median(row["seconds"])
    return {"ddp_overhead" + ("-quick" if args.quick else ""): {
        "quick": args.quick, **harness.stamp(__file__, argv), "repeats": repeats,
        "size": ", ".join(f"{k} {v}" for k, v in size.items()), "one_process": runs[1], "two_processes": runs[2],
        "ratio": runs[2]["median_seconds"] / runs[1]["median_seconds"]}}


def main(argv=None):
    parser = harness.parser(__doc__, quick="a smaller model and 2 epochs (1 timed): a few minutes")
    parser.add_argument("--repeats", type=int, default=None, help="runs of each setting (default 2; quick: 1)")
    return harness.run(parser, argv, lambda args: run(args, argv), pages)


if __name__ == "__main__":
    sys.exit(main())
