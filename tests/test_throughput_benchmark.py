"""benchmarks/throughput.py: what a GPU command for some sizes writes, with no GPU (its grid stood in for)."""

import json
from types import SimpleNamespace

import pytest
import torch

from benchmarks import throughput
from benchmarks.harness import paths


def row(size, seconds):
    return {"size": size, "batch": 128, "compiled": False, "seconds_per_epoch": seconds, "max_length": 50,
            "non_embedding_parameters": 1, "targets_per_second": 1.0, "flops_per_second": 1e12, "mfu_spec": None,
            "mfu_matmul": 0.1, "syncs_per_step": 0, "peak_memory_gib": 1.0}


GRID = {"device": "NVIDIA H200", "dataset": "ml-100k", "max_length": 50, "negatives": 1000, "spec_peak_tflops": 989.0,
        "matmul_tflops": 600.0}
OLD = {"date": "2026-12-01", "machine": "host", "command": "python benchmarks/throughput.py", **GRID,
       "rows": [row("L24-H4-D256", 10.0), row("L8-H8-D1024", 20.0)]}


@pytest.fixture
def gpu(monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "RESULTS", str(tmp_path))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "NVIDIA H200")
    monkeypatch.setattr(throughput, "gpu_grid", lambda args, sizes, batches: {
        **GRID, "rows": [row(size, 30.0) for size in sizes]})
    return tmp_path


def args(**given):
    return SimpleNamespace(**{"device": "cuda", "quick": False, "sizes": None, "batches": "128", "out": None,
                              "dataset": "ml-100k", "negatives": 1000, "compile": "off", **given})


def test_a_command_for_some_sizes_replaces_those_rows_only(gpu):
    result = throughput.run(args(sizes="L8-H8-D1024"), ["--sizes", "L8-H8-D1024"])["gpu_throughput"]
    content = result(OLD) if callable(result) else result
    assert [(r["size"], r["seconds_per_epoch"]) for r in content["rows"]] == [("L24-H4-D256", 10.0),
                                                                             ("L8-H8-D1024", 30.0)]
    page = throughput.gpu_markdown(content)
    assert "1. `python benchmarks/throughput.py` (2026-12-01); measured bf16 matmul 600.0 TFLOP/s." in page
    assert "| L8-H8-D1024 | 128 | no | 1 | 30.0 |" in page and page.count(" | 2 |\n") == 1


def test_another_card_or_dataset_stops_before_measuring_instead_of_mixing_grids(gpu):
    (gpu / "gpu_throughput.json").write_text(json.dumps({**OLD, "device": "NVIDIA H100 80GB HBM3"}))
    with pytest.raises(SystemExit, match="^--out: gpu_throughput.json holds device NVIDIA H100 80GB HBM3, this run "
                                         "device NVIDIA H200"):
        throughput.run(args(), [])
    assert list(throughput.run(args(out="gpu_throughput-h200"), [])) == ["gpu_throughput-h200"]
