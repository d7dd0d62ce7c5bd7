"""Checkpoints as a plain tensor file plus a JSON sidecar: never unpickle objects on load.

RecBole 1.2.1 pickles its Config into checkpoints, which torch >= 2.6 refuses to load by
default and which would execute arbitrary code from an untrusted file.
"""

import enum
import json
import os

import torch


def jsonable(value):
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.name
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    return str(value)


def config_dict(config):
    return jsonable(dict(config.final_config_dict))


def save_checkpoint(path, state, config):
    """``state`` holds tensors, state dicts and numbers only; the config goes to ``path + '.json'``."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    torch.save(state, tmp)
    os.replace(tmp, path)
    with open(f"{path}.json", "w", encoding="utf-8") as f:
        json.dump(config_dict(config), f, indent=1, sort_keys=True)


def load_checkpoint(path, map_location="cpu"):
    """(state, config dict) of a checkpoint written by :func:`save_checkpoint`."""
    state = torch.load(path, map_location=map_location, weights_only=True)
    sidecar = f"{path}.json"
    config = None
    if os.path.isfile(sidecar):
        with open(sidecar, encoding="utf-8") as f:
            config = json.load(f)
    return state, config
