import atexit
import ctypes
import ctypes.util
import gc
import os
import resource
import shutil
import sys
import tempfile

import pytest

# The suite's memory. One pytest process runs every file; glibc gives each thread that allocates its own arena
# (up to 8 per core) and keeps what is freed there, so on a many-core machine the process's resident memory
# grows with every file. Capped arenas (before torch starts its threads) and a trim after each file hand the
# freed memory back; a test that takes the process past RSS_LIMIT_GB fails and names itself.
# The bound is 16 GB, not the 4 GB the suite aims for, until a fresh clone's run confirms the fix below: on
# 2026-12-07 this guard named test_builtin_models' S3Rec pre-training test (3.55 -> 10.83 GB; 11.4 GB alone at
# RecBole's default batch, 0.78 GB at the batch and window it now uses). docs/results/suite.md has the measured peak.
RSS_LIMIT_GB = float(os.environ.get("RECBOLE_SRT_TEST_RSS_GB", "16"))
_LIBC = ctypes.CDLL(ctypes.util.find_library("c")) if sys.platform.startswith("linux") else None
if _LIBC is not None and hasattr(_LIBC, "mallopt"):
    _LIBC.mallopt(-8, 4)  # M_ARENA_MAX

import recbole_srt  # noqa: F401,E402

from recbole_srt.build import build_run, load_config  # noqa: E402

# Everything the suite writes (checkpoints, tokenizers, results) goes under one temporary folder.
SCRATCH = tempfile.mkdtemp(prefix="recbole_srt_tests_")
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)
QUIET = {"show_progress": False, "state": "ERROR", "log_dir": None, "tensorboard_dir": None,
         "checkpoint_dir": os.path.join(SCRATCH, "saved"), "tokenizer_dir": os.path.join(SCRATCH, "tokenizers")}

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "amazon")


def ml100k_files():
    import recbole

    return os.path.join(os.path.dirname(recbole.__file__), "dataset_example", "ml-100k")


def make_run(model="SRT", dataset="ml-100k", **overrides):
    """A built run (config, loaders, model, trainer) through the plugin's one build path, quiet,
    writing only under the suite's temporary folder."""
    return build_run(load_config(model, dataset, config_dict={**QUIET, **overrides}))


def build(model="SRT", dataset="ml-100k", **overrides):
    """(config, train, valid, test) of :func:`make_run`."""
    run = make_run(model, dataset, **overrides)
    return run.config, run.train_data, run.valid_data, run.test_data


@pytest.fixture(scope="session")
def ml100k_srt():
    return build("SRT")


def write_dataset(root, name, inter_lines, item_lines, inter_header, item_header):
    """Write RecBole atomic files <root>/<name>/<name>.inter|.item."""
    folder = os.path.join(root, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"{name}.inter"), "w", encoding="utf-8") as f:
        f.write(inter_header + "\n" + "".join(line + "\n" for line in inter_lines))
    if item_lines is not None:
        with open(os.path.join(folder, f"{name}.item"), "w", encoding="utf-8") as f:
            f.write(item_header + "\n" + "".join(line + "\n" for line in item_lines))
    return folder


def copy_ml100k(root, name="ml-copy"):
    folder = os.path.join(root, name)
    os.makedirs(folder, exist_ok=True)
    for ext in ("inter", "item"):
        shutil.copy(os.path.join(ml100k_files(), f"ml-100k.{ext}"), os.path.join(folder, f"{name}.{ext}"))
    return folder


def peak_rss_gb():
    """This process's peak resident memory so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**30 if sys.platform == "darwin" else 2**20)


@pytest.fixture(autouse=True, scope="module")
def _hand_back_memory():
    yield
    gc.collect()
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


@pytest.fixture(autouse=True)
def _memory_bound(request):
    before = peak_rss_gb()
    yield
    after = peak_rss_gb()
    if after > RSS_LIMIT_GB >= before:
        pytest.fail(f"{request.node.nodeid} took the pytest process's peak resident memory from {before:.2f} GB to "
                    f"{after:.2f} GB, over the suite's bound of {RSS_LIMIT_GB:g} GB (RECBOLE_SRT_TEST_RSS_GB)")
