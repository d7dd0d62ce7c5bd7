"""Checkpoints: naming, saving, loading, resuming and starting from one, all here.

A checkpoint is a plain tensor file plus a JSON sidecar: never unpickle objects on load.

RecBole 1.2.1 pickles its Config into checkpoints, which torch >= 2.6 refuses to load by
default and which would execute arbitrary code from an untrusted file. Here ``<path>`` holds
tensors and numbers only (``torch.load(weights_only=True)``) and ``<path>.json`` holds the
model name, the resolved config and the tokenizer reference of text models.
"""

import enum
import json
import os
from logging import getLogger

from recbole.utils import get_local_time

import torch
from recbole_srt.config_check import ConfigError
from recbole_srt.model import is_plugin_model


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


def tokenizer_of(model):
    """{"path", "sha256"} of a text model's tokenizer, None for other models."""
    return model.item_encoder.tokenizer if is_plugin_model(model) else None


def save_checkpoint(path, state, config, model):
    """``state`` holds tensors, state dicts and numbers only; the rest goes to ``path + '.json'``."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    torch.save(state, tmp)
    os.replace(tmp, path)
    meta = {"model": config["model"], "tokenizer": tokenizer_of(model), "config": config_dict(config)}
    with open(f"{path}.json", "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1, sort_keys=True)


def save_training_state(path, trainer, epoch):
    """A trainer's checkpoint: weights always; optimizer and schedule only with ``checkpoint_optimizer: True``
    (what ``resume_from`` needs, at 3x the file size)."""
    state = {"epoch": epoch, "cur_step": trainer.cur_step, "best_valid_score": float(trainer.best_valid_score),
             "state_dict": trainer.model.state_dict()}
    if trainer.config["checkpoint_optimizer"] and trainer.optimizer is not None:
        state["optimizer"] = trainer.optimizer.state_dict()
        if trainer.scheduler is not None:
            state["scheduler"] = trainer.scheduler.state_dict()
    save_checkpoint(path, state, trainer.config, trainer.model)


def load_training_state(path, map_location="cpu"):
    """The state a run resumes from (``resume_from``): weights, optimizer, epoch, step, best score."""
    state, _ = load_checkpoint(path, map_location)
    if "optimizer" not in state:
        raise ConfigError(f"resume_from: '{path}' holds weights only; resuming needs a checkpoint saved "
                          "with checkpoint_optimizer: True (use init_from to start from its weights)")
    return state


def load_weights(model, path, map_location="cpu"):
    """Load a checkpoint's weights into ``model`` as they are (the best epoch, a stage's best)."""
    state, _ = load_checkpoint(path, map_location)
    model.load_state_dict(state["state_dict"])


def load_checkpoint(path, map_location="cpu"):
    """(state, sidecar dict or None) of a checkpoint written by :func:`save_checkpoint`."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint not found: '{path}'")
    state = torch.load(path, map_location=map_location, weights_only=True)
    meta = None
    if os.path.isfile(f"{path}.json"):
        with open(f"{path}.json", encoding="utf-8") as f:
            meta = json.load(f)
    return state, meta


def init_from(model, path):
    """Load the weights of a checkpoint into ``model`` by parameter name, before training.

    Returns (missing keys, unexpected keys), also logged. Stops with a clear error when a text
    model's tokenizer differs from the checkpoint's (the token ids would mean other pieces) or
    when a parameter of the same name has another shape.
    """
    state, meta = load_checkpoint(path)
    ours = tokenizer_of(model)
    theirs = (meta or {}).get("tokenizer")
    if ours and theirs and ours["sha256"] != theirs["sha256"]:
        raise ConfigError(
            f"init_from: '{path}' was trained with the tokenizer {theirs['path']} (sha256 {theirs['sha256'][:12]}), "
            f"this run uses {ours['path']} (sha256 {ours['sha256'][:12]}); set tokenizer_path to the checkpoint's "
            "tokenizer so that token ids mean the same pieces"
        )
    if ours and not theirs:
        raise ConfigError(f"init_from: '{path}' has no tokenizer reference (no {path}.json, or not a text model's "
                          "checkpoint): a text model only starts from weights whose token ids it can trust")
    weights = state["state_dict"]
    own = model.state_dict()
    wrong = [f"{k} {tuple(v.shape)} vs {tuple(own[k].shape)}" for k, v in weights.items()
             if k in own and v.shape != own[k].shape]
    if wrong:
        raise ConfigError(f"init_from: '{path}' has parameters of other shapes (checkpoint vs this model): "
                         + "; ".join(wrong[:5]) + (" ..." if len(wrong) > 5 else ""))
    missing, unexpected = model.load_state_dict(weights, strict=False)
    getLogger().info(f"init_from {path}: {len(weights) - len(unexpected)} tensors loaded; "
                     f"missing (kept as initialised): {list(missing) or 'none'}; unexpected (ignored): "
                     f"{list(unexpected) or 'none'}")
    return list(missing), list(unexpected)


_claimed_paths = set()


def unique_checkpoint_path(folder, model):
    """A new checkpoint name, ``<model>-<time>-<pid>[-n].pth``. RecBole's ``<model>-<time to the second>.pth``
    let two runs started in the same second (parallel processes, or quick runs in one process) overwrite each
    other's best model and test the wrong one."""
    stem = os.path.join(folder, f"{model}-{get_local_time()}-{os.getpid()}")
    path, n = stem + ".pth", 1
    while path in _claimed_paths or os.path.exists(path):
        n += 1
        path = f"{stem}-{n}.pth"
    _claimed_paths.add(path)
    return path
