import os
import shutil

import pytest

import recbole_srt  # noqa: F401
from recbole.utils import init_seed

from recbole_srt.data import create_dataset, data_preparation
from recbole_srt.quick_start import load_config

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "amazon")


def ml100k_files():
    import recbole

    return os.path.join(os.path.dirname(recbole.__file__), "dataset_example", "ml-100k")


def build(model="SRT", dataset="ml-100k", **overrides):
    """(config, train, valid, test) for a model on a dataset, quiet and in a temp-free setup."""
    options = {"show_progress": False, "state": "ERROR", "checkpoint_dir": overrides.pop("checkpoint_dir", "saved")}
    options.update(overrides)
    config = load_config(model, dataset, config_dict=options)
    init_seed(config["seed"], config["reproducibility"])
    data = create_dataset(config)
    return (config, *data_preparation(config, data))


@pytest.fixture(scope="session")
def ml100k_srt(tmp_path_factory):
    tokenizers = tmp_path_factory.mktemp("tokenizers")
    return build("SRT", tokenizer_dir=str(tokenizers))


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
