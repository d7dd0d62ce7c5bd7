"""SRT training throughput and model-FLOPs utilisation on the CPU (float32), with a profile of one step.

    python benchmarks/cpu_throughput.py [--size L8-H4-D256] [--batch 128] [--threads 2] [--steps 10]
                                        [--label NAME] [--quick] [--render]

Trains SRT on ml-100k (all positions, K = 1000 popularity negatives) and reports the seconds of one
step of a full batch (full-length windows) repeated ``--steps`` times after a warm-up step, the
model's own FLOP count of that step (recbole_srt/model/flops.py) per second, and MFU against
float32 matrix products measured in the same process: one of the step's largest shape (tokens x hidden
x inner) and a 1024 x 1024 x 1024 square (the reference of benchmarks/table1.py's predecessor). torch.profiler's
operator table of one step (by CPU time) goes beside the results, so a reader sees where the time is that is
not dense math. ``--label`` names the row (e.g. the commit measured); rows of several runs accumulate in
benchmarks/results/cpu_throughput.json, rendered to docs/results/cpu_throughput.md.

Run it alone on an otherwise idle machine: on a shared CPU the figures mean little.
"""

import argparse
import json
import os
import sys
import tempfile

import harness
from harness.speed import matmul_rate, profile_table, steady_step


def measure(size, batch_size, threads, steps):
    import torch

    from recbole_srt.build import build_run, load_config

    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as workdir:
        config = load_config("SRT", "ml-100k", config_dict={
            "preset": size, "train_batch_size": batch_size, "use_gpu": False, "show_progress": False,
            "state": "ERROR", "log_dir": None, "tensorboard_dir": None, "checkpoint_dir": workdir,
            "tokenizer_dir": os.path.join(harness.paths.SAVED, "tokenizers"), "seed": 0})
        run = build_run(config)
        model = run.model
        batch = max(iter(run.train_data), key=lambda b: b[model.ITEM_SEQ].numel())
        seconds, step_flops = steady_step(run.trainer, batch, steps)
        profile = profile_table(run.trainer, batch)
    tokens = batch[model.ITEM_SEQ].numel()
    # Two references: the step's own largest product, and a 1024^3 square.
    rate, square = matmul_rate(tokens, model.hidden_size, model.backbone.inner_size), matmul_rate(1024, 1024, 1024)
    return {"size": size, "batch": batch_size, "tokens": tokens, "threads": threads, "step_seconds": seconds,
            "step_flops": step_flops, "flops_per_second": step_flops / seconds, "matmul_flops_per_second": rate,
            "mfu": step_flops / seconds / rate, "square_matmul_flops_per_second": square,
            "mfu_square": step_flops / seconds / square}, profile


def markdown(rows, name):
    lines = ["# SRT training step on the CPU: float32 MFU", "",
             "MFU = the model's FLOPs per second (forward + backward, analytic) over a float32 matmul measured "
             "in the same process: of the step's largest shape (tokens x hidden x inner), and a 1024³ square. One full batch "
             "of full-length windows, repeated; warm-up step left out. Profiles: "
             f"`{name}-profile-<label>.txt`.", ""]
    table = []
    for r in rows:
        square = r.get("square_matmul_flops_per_second")
        table.append([r["label"], r["size"], f"{r['tokens']:,}", r["threads"], f"{r['step_seconds']:.3f}",
                      f"{r['flops_per_second'] / 1e9:.1f}", f"{r['matmul_flops_per_second'] / 1e9:.1f} / "
                      f"{square / 1e9 if square else float('nan'):.1f}",
                      f"{r['mfu']:.1%} / {r.get('mfu_square', float('nan')):.1%}", f"{r['load_before']:.2f}",
                      r["date"], f"`{r['command']}`"])
    lines += harness.table(["label", "size", "tokens / step", "threads", "s / step", "GFLOP/s",
                            "matmul GFLOP/s (step shape / 1024³)", "MFU (step shape / 1024³)", "load before", "date",
                            "command"], table)
    machines = dict.fromkeys(harness.describe(r["machine"]) for r in rows)
    return "\n".join(lines + ["", "Machine: " + "; ".join(machines) + "."]) + "\n"


def pages(results=None):
    return {**harness.rendered(lambda rows: markdown(rows, "cpu_throughput"), ["cpu_throughput"], results),
            **harness.rendered(lambda rows: markdown(rows, "cpu_throughput-quick"), ["cpu_throughput-quick"], results)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="L8-H4-D256")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--label", default="current")
    parser.add_argument("--quick", action="store_true", help="L2-H2-D64, 3 steps: a check of the script")
    parser.add_argument("--render", action="store_true", help="only write the page again from the JSON")
    args = parser.parse_args(argv)
    if not args.render:
        size, steps = ("L2-H2-D64", 3) if args.quick else (args.size, args.steps)
        load_before = os.getloadavg()[0]
        row, profile = measure(size, args.batch, args.threads, steps)
        row = {"label": args.label, **row, **harness.stamp(__file__, argv), "load_before": load_before}
        print(json.dumps(row))
        name = "cpu_throughput-quick" if args.quick else "cpu_throughput"
        harness.update(os.path.join(harness.paths.RESULTS, name + ".json"),
                       lambda rows: [r for r in rows or [] if r["label"] != args.label] + [row])
        with open(os.path.join(harness.paths.RESULTS, f"{name}-profile-{args.label}.txt"), "w", encoding="utf-8") as f:
            f.write(profile)
        print(profile)
    print("written:", *harness.publish(pages()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
