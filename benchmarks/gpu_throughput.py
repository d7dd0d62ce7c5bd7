"""SRT training throughput and model-FLOPs utilisation on a GPU (bf16 autocast, fp32 weights).

    python benchmarks/gpu_throughput.py [--sizes L24-H4-D256,L8-H8-D1024] [--dataset ml-100k]
                                        [--batches 128,1024] [--compile off,on] [--negatives 1000]
                                        [--epochs N] [--profile DIR] [--out NAME]
                                        [--quick] [--allow-cpu] [--render]

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
benchmarks/results/gpu_throughput.json (``--quick``: gpu_throughput-quick.json; ``--out NAME``: NAME.json), rendered
to docs/results/ (``--render``: only that).
"""

import argparse
import glob
import json
import os
import sys
import tempfile
import time
import warnings

import harness
import torch
from harness.speed import matmul_rate, profile_table, steady_step, sync

# Dense (no sparsity) bf16 tensor-core peaks from the vendors' spec sheets, FLOP/s.
BF16_PEAK = {"H200": 989e12, "H100 SXM": 989e12, "H100 PCIe": 756e12, "H100": 989e12, "A100": 312e12,
             "L40S": 362e12, "L4": 121e12, "A10G": 70e12, "A10": 125e12, "V100": 0.0, "T4": 0.0}
AUTHORS_SECONDS_PER_EPOCH = 262.0


def spec_peak(name):
    for key, value in BF16_PEAK.items():
        if key in name:
            return value or None  # V100 / T4: no bf16 tensor cores
    return None


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


def measure(size, batch, compiled, args, device, workdir):
    from recbole_srt.build import build_run, load_config
    from recbole_srt.model.sizes import parameter_counts

    config = load_config("SRT", args.dataset, config_dict={
        "preset": size, "torch_compile": compiled, "enable_amp": True, "amp_dtype": "bfloat16", "train_batch_size": batch,
        "num_negatives": args.negatives, "use_gpu": device.type == "cuda", "show_progress": False, "state": "ERROR",
        "log_dir": None, "tensorboard_dir": None, "checkpoint_dir": workdir, "tokenizer_dir": os.path.join(harness.paths.SAVED, "tokenizers"),
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
        with open(os.path.join(args.profile, f"profile-{size}-b{batch}{tag}.txt"), "w", encoding="utf-8") as f:
            f.write(profile_table(trainer, first, rows=40))
    counts = parameter_counts(run.model)
    peak_memory = torch.cuda.max_memory_allocated(device) / 2 ** 30 if device.type == "cuda" else None
    return {"size": size, "batch": batch, "compiled": compiled, "step_seconds": step_seconds,
            "step_flops_per_second": step_flops / step_seconds, "step_tokens": first[run.model.ITEM_SEQ].numel(),
            "seconds_per_epoch": seconds, "targets_per_second": targets / seconds,
            "flops_per_second": flops / seconds, "train_flops_per_epoch": flops, "targets_per_epoch": targets,
            "parameters": counts["total"], "non_embedding_parameters": counts["non_embedding"],
            "syncs_per_step": syncs, "peak_memory_gib": peak_memory, "max_length": config["MAX_ITEM_LIST_LENGTH"]}


def markdown(result):
    machine = harness.describe(result["machine"])
    if result.get("skipped"):
        return f"# GPU throughput\n\nSkipped: {result['skipped']} ({machine}, {result['date']}).\n"
    lines = [f"# GPU throughput: SRT, bf16 autocast ({result['device']}, {result['date']})", "",
             f"`{result['command']}`; {result['dataset']}, K = {result['negatives']}, batch in windows of up to "
             f"{result['max_length']} items; "
             f"spec bf16 peak {result['spec_peak_tflops'] or 'unknown'} TFLOP/s, measured bf16 matmul "
             f"{result['matmul_tflops']:.1f} TFLOP/s.", ""]
    # (header, the row key it needs, cell): results of earlier versions lack the later columns, left out
    columns = [("size", "size", lambda r: r["size"]), ("batch", "batch", lambda r: r["batch"]),
               ("compiled", "compiled", lambda r: "yes" if r["compiled"] else "no"),
               ("non-emb. params", "size", lambda r: f"{r['non_embedding_parameters']:,}"),
               ("s / epoch", "size", lambda r: f"{r['seconds_per_epoch']:.1f}"),
               ("targets / s", "size", lambda r: f"{r['targets_per_second']:,.0f}"),
               ("TFLOP/s", "size", lambda r: f"{r['flops_per_second'] / 1e12:.2f}"),
               ("MFU (spec)", "size", lambda r: "" if r.get("mfu_spec") is None else f"{r['mfu_spec']:.1%}"),
               ("MFU (matmul)", "size", lambda r: f"{r['mfu_matmul']:.1%}"),
               ("× authors' 262 s", "size", lambda r: f"{AUTHORS_SECONDS_PER_EPOCH / r['seconds_per_epoch']:.1f}"),
               ("full step ms", "step_seconds", lambda r: f"{r['step_seconds'] * 1e3:.1f}"),
               ("step MFU (spec)", "step_seconds",
                lambda r: "" if r.get("step_mfu_spec") is None else f"{r['step_mfu_spec']:.1%}"),
               ("syncs / step", "size", lambda r: "" if r["syncs_per_step"] is None else r["syncs_per_step"]),
               ("peak GiB", "size", lambda r: "" if r["peak_memory_gib"] is None else f"{r['peak_memory_gib']:.1f}")]
    columns = [c for c in columns if any(c[1] in r for r in result["rows"])]
    lines += harness.table([c[0] for c in columns], [[c[2](r) for c in columns] for r in result["rows"]])
    return "\n".join(lines + ["", f"Host: {machine}."]) + "\n"


def pages(results=None):
    found = sorted(glob.glob(os.path.join(results or harness.paths.RESULTS, "gpu_throughput*.json")))
    return {os.path.basename(path)[:-5]: markdown(harness.load(path)) for path in found}


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
    parser.add_argument("--render", action="store_true", help="only write the pages again from the JSON")
    args = parser.parse_args(argv)
    if not args.render:
        name = args.out or ("gpu_throughput-quick" if args.quick else "gpu_throughput")
        if not name.startswith("gpu_throughput"):
            parser.error("--out: a name starting gpu_throughput (its page is rendered from that name)")
        result = harness.stamp(__file__, argv)
        if not torch.cuda.is_available() and not args.allow_cpu:
            result["skipped"] = "no CUDA device (torch.cuda.is_available() is False)"
        else:
            result.update(run_grid(args))
        harness.update(os.path.join(harness.paths.RESULTS, name + ".json"), lambda old: result)
    print(*harness.publish(pages()))
    return 0


def run_grid(args):
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    peak = spec_peak(name) if device.type == "cuda" else None
    n = 8192 if device.type == "cuda" else 1024
    rate = matmul_rate(n, n, n, device, torch.bfloat16, seconds=2.0)
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
    return {"device": name, "dataset": args.dataset, "max_length": rows[0]["max_length"] if rows else None,
            "negatives": args.negatives, "spec_peak_tflops": peak / 1e12 if peak else None,
            "matmul_tflops": rate / 1e12, "rows": rows}


if __name__ == "__main__":
    sys.exit(main())
