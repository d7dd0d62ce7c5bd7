"""SRT training throughput and model-FLOPs utilisation on a GPU (bf16 autocast, fp32 weights).

    python benchmarks/gpu_throughput.py [--sizes L24-H4-D256,L8-H8-D1024] [--dataset ml-100k]
                                        [--batches 128,1024] [--compile off,on] [--negatives 1000]
                                        [--epochs N] [--profile DIR] [--out NAME]
                                        [--quick] [--allow-cpu]

For each size, batch size (windows per step) and compile setting: one warm-up epoch, then ``--epochs``
timed epochs of SRT on all positions (the paper's loss, K negatives), synchronised before and after. Reports seconds per epoch, training targets (tokens)
per second, FLOPs per second from the model's own count (recbole_srt/model/flops.py: forward and
backward, attention included), MFU against the device's dense bf16 peak from its spec sheet and
against a bf16 matmul measured in the same process, and the host-device synchronisations of one
step (torch.cuda sync debug mode), and the seconds of one step of the epoch's largest batch repeated
(the loop's steady rate, without the short batches at the end of an epoch). The paper's authors
report 262 s per epoch at 100K interactions for their 24-layer model on one 16 GB GPU; ml-100k has
100K interactions.

``--profile DIR`` also writes, per row, torch.profiler's table of one training step (operators by
device time) to DIR.

On a machine without CUDA the benchmark writes that it skipped (``--allow-cpu`` runs it on the CPU,
with ``--quick`` for a small size: a check of the script, not a GPU figure). Writes
benchmarks/results/gpu_throughput.json and .md (``--quick``: gpu_throughput-quick.*; ``--out NAME``: NAME.*).
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import recbole_srt  # noqa: E402,F401  (compatibility shims first)
import torch  # noqa: E402

from recbole_srt.build import build_run, load_config  # noqa: E402
from recbole_srt.model.sizes import parameter_counts  # noqa: E402

# Dense (no sparsity) bf16 tensor-core peaks from the vendors' spec sheets, FLOP/s.
BF16_PEAK = {"H200": 989e12, "H100 SXM": 989e12, "H100 PCIe": 756e12, "H100": 989e12, "A100": 312e12,
             "L40S": 362e12, "L4": 121e12, "A10G": 70e12, "A10": 125e12, "V100": 0.0, "T4": 0.0}
AUTHORS_SECONDS_PER_EPOCH = 262.0


def spec_peak(name):
    for key, value in BF16_PEAK.items():
        if key in name:
            return value or None  # V100 / T4: no bf16 tensor cores
    return None


def matmul_rate(device, dtype, n=8192, seconds=2.0):
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    sync(device)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    sync(device)
    return 2 * n ** 3 * count / (time.perf_counter() - start)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def syncs_in_epoch(trainer, batches):
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trainer.train_epoch(batches, 0)
            sync(trainer.device)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


def syncs_per_step(trainer, batch):
    """Host-device synchronisations of one training step (CUDA only): each stalls the host until the GPU
    queue drains. Epochs of 4 and of 1 step are compared, so the epoch's own closing read is left out."""
    if trainer.device.type != "cuda":
        return None
    return (syncs_in_epoch(trainer, [batch] * 4) - syncs_in_epoch(trainer, [batch])) / 3


def steady_step(trainer, batch, steps=10):
    """Seconds per step of one full batch repeated: the loop's rate without the epoch's short batches."""
    trainer.train_epoch([batch], 0)
    sync(trainer.device)
    flops, start = trainer.train_flops, time.perf_counter()
    trainer.train_epoch([batch] * steps, 0)
    sync(trainer.device)
    return (time.perf_counter() - start) / steps, (trainer.train_flops - flops) / steps


def profile_step(trainer, batch, path):
    """torch.profiler's operator table of one training step, by device time (CPU time on a CPU)."""
    activities = [torch.profiler.ProfilerActivity.CPU]
    if trainer.device.type == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities) as prof:
        trainer.train_epoch([batch], 0)
        sync(trainer.device)
    key = "cuda_time_total" if trainer.device.type == "cuda" else "cpu_time_total"
    with open(path, "w", encoding="utf-8") as f:
        f.write(prof.key_averages().table(sort_by=key, row_limit=40))


def measure(size, batch, compiled, args, device, workdir):
    config = load_config("SRT", args.dataset, config_dict={
        "preset": size, "torch_compile": compiled, "enable_amp": True, "amp_dtype": "bfloat16", "train_batch_size": batch,
        "num_negatives": args.negatives, "use_gpu": device.type == "cuda", "show_progress": False,
        "state": "ERROR", "log_dir": None, "checkpoint_dir": workdir, "tokenizer_dir": os.path.join(ROOT, "saved", "tokenizers"),
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"}})
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    run = build_run(config)
    trainer, train = run.trainer, run.train_data
    trainer.train_epoch(train, 0)  # warm-up: allocator, kernels, lazy initialisation
    sync(device)
    targets, flops = trainer.seen_targets, trainer.train_flops
    start = time.perf_counter()
    for epoch in range(args.epochs):
        trainer.train_epoch(train, 1 + epoch)
    sync(device)
    seconds = (time.perf_counter() - start) / args.epochs
    targets, flops = (trainer.seen_targets - targets) / args.epochs, (trainer.train_flops - flops) / args.epochs
    # A full batch of full-length windows, for the per-step figures
    first = max(iter(train), key=lambda b: b[run.model.ITEM_SEQ].numel())
    syncs = syncs_per_step(trainer, first)
    step_seconds, step_flops = steady_step(trainer, first)
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
        tag = "-compiled" if compiled else ""
        profile_step(trainer, first, os.path.join(args.profile, f"profile-{size}-b{batch}{tag}.txt"))
    counts = parameter_counts(run.model)
    peak_memory = torch.cuda.max_memory_allocated(device) / 2 ** 30 if device.type == "cuda" else None
    return {"size": size, "batch": batch, "compiled": compiled, "step_seconds": step_seconds,
            "step_flops_per_second": step_flops / step_seconds, "step_tokens": first[run.model.ITEM_SEQ].numel(),
            "seconds_per_epoch": seconds, "targets_per_second": targets / seconds,
            "flops_per_second": flops / seconds, "train_flops_per_epoch": flops, "targets_per_epoch": targets,
            "parameters": counts["total"], "non_embedding_parameters": counts["non_embedding"],
            "syncs_per_step": syncs, "peak_memory_gib": peak_memory, "max_length": config["MAX_ITEM_LIST_LENGTH"]}


def markdown(result):
    if result.get("skipped"):
        return f"# GPU throughput\n\nSkipped: {result['skipped']} ({result['machine']}, {result['date']}).\n"
    lines = [f"# GPU throughput: SRT, bf16 autocast ({result['device']}, {result['date']})", "",
             f"`{result['command']}`; {result['dataset']}, K = {result['negatives']}, batch in windows of up to "
             f"{result['max_length']} items; "
             f"spec bf16 peak {result['spec_peak_tflops'] or 'unknown'} TFLOP/s, measured bf16 matmul "
             f"{result['matmul_tflops']:.1f} TFLOP/s.", "",
             "| size | batch | compiled | non-emb. params | s / epoch | targets / s | TFLOP/s | MFU (spec) | MFU (matmul) | "
             "× authors' 262 s | full step ms | step MFU (spec) | syncs / step | peak GiB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        spec = f"{r['mfu_spec']:.1%}" if r.get("mfu_spec") is not None else ""
        memory = f"{r['peak_memory_gib']:.1f}" if r["peak_memory_gib"] is not None else ""
        step_mfu = f"{r['step_mfu_spec']:.1%}" if r.get("step_mfu_spec") is not None else ""
        lines.append(f"| {r['size']} | {r['batch']} | {'yes' if r['compiled'] else 'no'} | {r['non_embedding_parameters']:,} | {r['seconds_per_epoch']:.1f} | "
                     f"{r['targets_per_second']:,.0f} | {r['flops_per_second'] / 1e12:.2f} | {spec} | "
                     f"{r['mfu_matmul']:.1%} | {AUTHORS_SECONDS_PER_EPOCH / r['seconds_per_epoch']:.1f} | "
                     f"{r['step_seconds'] * 1e3:.1f} | {step_mfu} | "
                     f"{'' if r['syncs_per_step'] is None else r['syncs_per_step']} | {memory} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="L24-H4-D256,L8-H8-D1024")
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--batches", default="128", help="windows per step, comma-separated: one row each")
    parser.add_argument("--negatives", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="one small size (L2-H2-D64)")
    parser.add_argument("--compile", default="off", help="torch_compile: off, on, or off,on (a row each)")
    parser.add_argument("--out", help="results name under benchmarks/results (default gpu_throughput)")
    parser.add_argument("--epochs", type=int, default=1, help="timed epochs per row (after one warm-up epoch)")
    parser.add_argument("--profile", metavar="DIR", help="write a torch.profiler table of one step per row here")
    parser.add_argument("--allow-cpu", action="store_true", help="run on the CPU when there is no GPU")
    args = parser.parse_args(argv)
    name = args.out or ("gpu_throughput-quick" if args.quick else "gpu_throughput")
    out = os.path.join(ROOT, "benchmarks", "results", name)
    base = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
            f"torch {torch.__version__}", "command": "python benchmarks/gpu_throughput.py " + " ".join(argv or sys.argv[1:])}
    if not torch.cuda.is_available() and not args.allow_cpu:
        result = {**base, "skipped": "no CUDA device (torch.cuda.is_available() is False)"}
    else:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
        peak = spec_peak(name) if device.type == "cuda" else None
        rate = matmul_rate(device, torch.bfloat16, n=8192 if device.type == "cuda" else 1024)
        rows = []
        with tempfile.TemporaryDirectory() as workdir:
            grid = [(size, int(batch), mode == "on") for size in (["L2-H2-D64"] if args.quick else args.sizes.split(","))
                    for batch in args.batches.split(",") for mode in args.compile.split(",")]
            for size, batch, compiled in grid:
                row = measure(size, batch, compiled, args, device, workdir)
                row["mfu_spec"] = row["flops_per_second"] / peak if peak else None
                row["step_mfu_spec"] = row["step_flops_per_second"] / peak if peak else None
                row["mfu_matmul"] = row["flops_per_second"] / rate
                rows.append(row)
                print(json.dumps(row))
        result = {**base, "device": name, "dataset": args.dataset, "max_length": rows[0]["max_length"] if rows else None, "negatives": args.negatives,
                  "spec_peak_tflops": peak / 1e12 if peak else None, "matmul_tflops": rate / 1e12, "rows": rows}
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out + ".json", "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    text = markdown(result)
    with open(out + ".md", "w", encoding="utf-8") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
