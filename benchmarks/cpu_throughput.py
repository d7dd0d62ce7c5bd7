"""SRT training throughput and model-FLOPs utilisation on the CPU (float32), with a profile of one step.

    python benchmarks/cpu_throughput.py [--size L8-H4-D256] [--batch 128] [--threads 2] [--steps 10]
                                        [--label NAME] [--quick]

Trains SRT on ml-100k (all positions, K = 1000 popularity negatives) and reports the seconds of one
step of a full batch (full-length windows) repeated ``--steps`` times after a warm-up step, the
model's own FLOP count of that step (recbole_srt/model/flops.py) per second, and MFU against
float32 matrix products measured in the same process: one of the step's largest shape (tokens x hidden
x inner) and a 1024 x 1024 x 1024 square (the reference of benchmarks/beauty.py). torch.profiler's operator table of one step (by CPU time) goes beside the results, so a reader
sees where the time is that is not dense math. ``--label`` names the row (e.g. the commit measured);
rows of several runs accumulate in benchmarks/results/cpu_throughput.json and .md.

Run it alone on an otherwise idle machine: on a shared CPU the figures mean little.
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import recbole_srt  # noqa: E402,F401  (compatibility shims first)
import torch  # noqa: E402

from recbole_srt.build import build_run, load_config  # noqa: E402

RESULTS = os.path.join(ROOT, "benchmarks", "results")


def matmul_rate(m, k, n, seconds=3.0):
    """float32 FLOP/s of an [m, k] x [k, n] product, the step's own largest shape."""
    a, b = torch.randn(m, k), torch.randn(k, n)
    a @ b
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    return 2 * m * k * n * count / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="L8-H4-D256")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--label", default="current")
    parser.add_argument("--quick", action="store_true", help="L2-H2-D64, 3 steps: a check of the script")
    args = parser.parse_args(argv)
    size, steps = ("L2-H2-D64", 3) if args.quick else (args.size, args.steps)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as workdir:
        config = load_config("SRT", "ml-100k", config_dict={
            "preset": size, "train_batch_size": args.batch, "use_gpu": False, "show_progress": False,
            "state": "ERROR", "log_dir": None, "checkpoint_dir": workdir,
            "tokenizer_dir": os.path.join(ROOT, "saved", "tokenizers"), "seed": 0})
        run = build_run(config)
        trainer, model = run.trainer, run.model
        batch = max(iter(run.train_data), key=lambda b: b[model.ITEM_SEQ].numel())
        trainer.train_epoch([batch], 0)  # warm-up
        flops, start = trainer.train_flops, time.perf_counter()
        trainer.train_epoch([batch] * steps, 0)
        seconds = (time.perf_counter() - start) / steps
        step_flops = (trainer.train_flops - flops) / steps
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            trainer.train_epoch([batch], 0)
    tokens = batch[model.ITEM_SEQ].numel()
    hidden, inner = model.hidden_size, model.backbone.inner_size
    # Two references: the step's own largest product, and the 1024^3 square that benchmarks/beauty.py uses.
    rate, square = matmul_rate(tokens, hidden, inner), matmul_rate(1024, 1024, 1024)
    row = {"label": args.label, "size": size, "batch": args.batch, "tokens": tokens, "threads": args.threads,
           "step_seconds": seconds, "step_flops": step_flops, "flops_per_second": step_flops / seconds,
           "matmul_flops_per_second": rate, "mfu": step_flops / seconds / rate,
           "square_matmul_flops_per_second": square, "mfu_square": step_flops / seconds / square,
           "date": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
           f"torch {torch.__version__}", "load_before": os.getloadavg()[0],
           "command": "python benchmarks/cpu_throughput.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    print(json.dumps(row))
    name = "cpu_throughput-quick" if args.quick else "cpu_throughput"
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, name + ".json")
    rows = json.load(open(path, encoding="utf-8")) if os.path.exists(path) else []
    rows = [r for r in rows if r["label"] != args.label] + [row]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(rows, f, indent=1)
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25)
    with open(os.path.join(RESULTS, f"{name}-profile-{args.label}.txt"), "w", encoding="utf-8") as f:
        f.write(table)
    lines = ["# SRT training step on the CPU: float32 MFU", "",
             "MFU = the model's FLOPs per second (forward + backward, analytic) over a float32 matmul measured "
             "in the same process: of the step's largest shape (tokens x hidden x inner), and a 1024³ square. One full batch "
             "of full-length windows, repeated; warm-up step left out. Profiles: "
             f"`{name}-profile-<label>.txt`.", "",
             "| label | size | tokens / step | threads | s / step | GFLOP/s | matmul GFLOP/s (step shape / 1024³) | "
             "MFU (step shape / 1024³) | load before | date | command |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        square = r.get("square_matmul_flops_per_second")
        lines.append(f"| {r['label']} | {r['size']} | {r['tokens']:,} | {r['threads']} | {r['step_seconds']:.3f} | "
                     f"{r['flops_per_second'] / 1e9:.1f} | {r['matmul_flops_per_second'] / 1e9:.1f} / "
                     f"{square / 1e9 if square else float('nan'):.1f} | {r['mfu']:.1%} / {r.get('mfu_square', float('nan')):.1%} | "
                     f"{r['load_before']:.2f} | {r['date']} | `{r['command']}` |")
    with open(os.path.join(RESULTS, name + ".md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
