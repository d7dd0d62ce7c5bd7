"""Checkpoints: naming, saving, loading, resuming and starting from one, all here.

A checkpoint ``<path>`` holds tensors and numbers only, never pickled objects, beside a JSON sidecar
``<path>.json`` (the model name, the resolved config and the tokenizer reference of text models).

- ``<name>.safetensors`` (the default): the weights in safetensors, the ecosystem's standard format, readable
  without torch or pickle; the epoch, step and best score in its metadata. The optimizer and schedule state
  (nested dicts safetensors cannot hold) go, when saved, to ``<path>.optim.pt``, read with
  ``torch.load(weights_only=True)``.
- ``<name>.pth`` (RecBole's trainers name theirs so, and every checkpoint before safetensors): one torch file of
  tensors and numbers, read with ``torch.load(weights_only=True)``.

Saving is atomic. Each file is written to a temporary name, flushed to disk and renamed. The companions (sidecar,
optimizer) are renamed to ``<file>.new`` first; renaming the weights to ``<path>`` is the commit point; then each
``.new`` takes its final name. Every file of one save carries the same ``save_id``, so a reader picks the sidecar
and optimizer state that belong to the weights it finds (``<file>`` or ``<file>.new``): a save killed at any
point leaves the previous complete checkpoint or the new one, and stray temporary files go at the next save.
"""

import enum
import glob
import io
import json
import os
import uuid
from logging import getLogger

from recbole.utils import get_local_time

import torch
from recbole_srt.config_check import ConfigError
from recbole_srt.model import is_plugin_model

SIDECAR, OPTIMIZER, NEW = ".json", ".optim.pt", ".new"
_SAFETENSORS_KEY = "recbole_srt"  # metadata key of the plugin's safetensors checkpoints: their scalar state


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


def torch_format(path):
    """RecBole's ``.pth`` (and ``.pt``) names hold one torch file; every other name safetensors."""
    return path.endswith((".pth", ".pt"))


# The only calls that touch the disk while saving: tests make each fail in turn to check the atomicity.
def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _replace(source, target):
    os.replace(source, target)


def _sync_folder(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not every platform opens folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _torch_bytes(value):
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def _safetensors_bytes(weights, scalars, save_id):
    from safetensors.torch import save

    tensors, storages = {}, set()
    for name, tensor in weights.items():
        tensor = tensor.detach().cpu().contiguous()
        storage = tensor.untyped_storage().data_ptr()
        # safetensors refuses tensors that share memory (tied weights): each is written as its own copy.
        if tensor.numel() and storage in storages:
            tensor = tensor.clone()
        storages.add(storage)
        tensors[name] = tensor
    return save(tensors, metadata={_SAFETENSORS_KEY: json.dumps({**scalars, "save_id": save_id})})


def _committed(path):
    """The save_id of the weights at ``path`` (None for a checkpoint written before save ids), or raise."""
    return _read_weights(path, "cpu", header_only=True)[1]


def clean_strays(path):
    """Finish what a killed save committed (its ``.new`` companions take their names) and remove what it had not
    (temporary files, companions of a save that never committed)."""
    save_id = None
    if os.path.isfile(path):
        try:
            save_id = _committed(path)
        except ConfigError:
            save_id = None
    for companion in (SIDECAR, OPTIMIZER):
        pending = path + companion + NEW
        if os.path.isfile(pending):
            if save_id is not None and _save_id_of(pending) == save_id:
                _replace(pending, path + companion)
            else:
                os.remove(pending)
    for stray in glob.glob(glob.escape(path) + "*.tmp*"):
        os.remove(stray)


def save_checkpoint(path, state, config, model):
    """``state`` holds tensors, state dicts and numbers only; the rest goes to ``path + '.json'``. Atomic: see the
    module's docstring."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    clean_strays(path)
    save_id, tmp = uuid.uuid4().hex, f".tmp{os.getpid()}"
    companions = []
    if torch_format(path):
        weights = _torch_bytes({**state, "save_id": save_id})
        optimizer = None
    else:
        scalars = {k: v for k, v in state.items() if k not in ("state_dict", "optimizer", "scheduler", "other_parameter")}
        weights = _safetensors_bytes(state["state_dict"], jsonable(scalars), save_id)
        rest = {k: state[k] for k in ("optimizer", "scheduler") if state.get(k) is not None}
        optimizer = _torch_bytes({**rest, "save_id": save_id}) if rest else None
    meta = {"model": config["model"], "tokenizer": tokenizer_of(model), "config": config_dict(config),
            "save_id": save_id, "format": "torch" if torch_format(path) else "safetensors",
            "optimizer": os.path.basename(path + OPTIMIZER) if optimizer is not None else None}
    companions.append((SIDECAR, json.dumps(meta, indent=1, sort_keys=True).encode("utf-8")))
    if optimizer is not None:
        companions.append((OPTIMIZER, optimizer))
    for suffix, data in companions:  # 1. companions, complete, under <file>.new
        _write(path + suffix + tmp, data)
        _replace(path + suffix + tmp, path + suffix + NEW)
    _write(path + tmp, weights)  # 2. the weights: renaming them commits the save
    _replace(path + tmp, path)
    for suffix, _ in companions:  # 3. the companions take their names
        _replace(path + suffix + NEW, path + suffix)
    if optimizer is None and os.path.isfile(path + OPTIMIZER):
        os.remove(path + OPTIMIZER)  # the previous save's, which this one no longer has
    _sync_folder(folder)


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


def load_training_state(path, map_location="cpu", epochs=None):
    """The state a run resumes from (``resume_from``): weights, optimizer, epoch, step, best score. With
    ``epochs`` (the run's), a checkpoint that already finished them is refused."""
    state, _ = load_checkpoint(path, map_location, key="resume_from")
    if "optimizer" not in state:
        raise ConfigError(f"resume_from: '{path}' holds weights only; resuming needs a checkpoint saved "
                          "with checkpoint_optimizer: True (use init_from to start from its weights)")
    if epochs is not None and int(state.get("epoch", -1)) + 1 >= epochs:
        raise ConfigError(f"resume_from: '{path}' finished epoch {int(state['epoch']) + 1} of epochs: {epochs}; "
                          "nothing is left to train (raise epochs to continue)")
    return state


def load_weights(model, path, map_location="cpu"):
    """Load a checkpoint's weights into ``model`` as they are (the best epoch, a stage's best)."""
    state, _ = load_checkpoint(path, map_location)
    model.load_state_dict(state["state_dict"])


def _broken(key, path, what):
    return ConfigError(f"{key}: '{path}' {what}")


def _read_weights(path, map_location, key="checkpoint", header_only=False):
    """(state, save_id) of the weights file; a truncated or foreign file is a one-line ConfigError."""
    with open(path, "rb") as f:
        head = f.read(9)
    if head[:2] == b"PK" or head[:1] == b"\x80":  # a torch zip archive, or torch's legacy pickle format
        try:
            state = torch.load(path, map_location=map_location, weights_only=True)
        except Exception as error:  # torch raises RuntimeError, EOFError, UnpicklingError, ... on a damaged file
            reason = " ".join(str(error).split())[:200]
            raise _broken(key, path, f"is truncated or not a torch checkpoint ({type(error).__name__}: {reason})") \
                from None
        if not isinstance(state, dict) or "state_dict" not in state:
            raise _broken(key, path, "is a torch file but not a recbole_srt checkpoint (no state_dict)")
        return state, state.pop("save_id", None)
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(path, framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            weights = {} if header_only else {name: f.get_tensor(name) for name in f.keys()}
        scalars = json.loads(metadata[_SAFETENSORS_KEY])
    except (SafetensorError, OSError, KeyError, ValueError) as error:
        reason = " ".join(str(error).split())[:200]
        raise _broken(key, path, f"is truncated or not a recbole_srt checkpoint ({reason})") from None
    save_id = scalars.pop("save_id", None)
    if not header_only and str(map_location) != "cpu":
        weights = {name: tensor.to(map_location) for name, tensor in weights.items()}
    return {**scalars, "state_dict": weights}, save_id


def _save_id_of(path):
    """The save_id inside a sidecar or optimizer file, None when unreadable (a file of no complete save)."""
    try:
        if path.endswith((SIDECAR, SIDECAR + NEW)):
            with open(path, encoding="utf-8") as f:
                return json.load(f).get("save_id")
        return torch.load(path, map_location="cpu", weights_only=True).get("save_id")
    except Exception:
        return None


def _companion(path, suffix, save_id, key):
    """The companion of the weights at ``path`` with their save_id: ``<path><suffix>`` or, when a save was killed
    between its commit and the companions' renames, ``<path><suffix>.new``."""
    for candidate in (path + suffix, path + suffix + NEW):
        if os.path.isfile(candidate) and _save_id_of(candidate) == save_id:
            return candidate
    if suffix == SIDECAR and os.path.isfile(path + suffix):
        _read_sidecar(path + suffix, key)  # a damaged sidecar: its own error names the line
    state = "from another save" if os.path.isfile(path + suffix) else "missing"
    raise _broken(key, path, f"has no matching {path + suffix} ({state}: truncated, or not copied with it); "
                             "copy the checkpoint's files together")


def _read_sidecar(path, key):
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{key}: '{path}' line {error.lineno}, column {error.colno}: truncated or not JSON "
                          f"({error.msg})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{key}: '{path}' is not UTF-8 JSON") from None
    if not isinstance(meta, dict):
        raise ConfigError(f"{key}: '{path}' is not a checkpoint sidecar (a {type(meta).__name__}, not an object)")
    return meta


def load_checkpoint(path, map_location="cpu", key="checkpoint"):
    """(state, sidecar dict or None) of a checkpoint written by :func:`save_checkpoint` (either format, and the
    ``.pth`` files of earlier versions). Whatever is missing or damaged is named in a one-line ConfigError."""
    if not os.path.isfile(path):
        if os.path.isfile(path + SIDECAR) or os.path.isfile(path + SIDECAR + NEW):
            raise _broken(key, path, "is missing (only its sidecar is there: a save interrupted before its first "
                                     "commit, or a file not copied)")
        raise ConfigError(f"{key}: checkpoint not found: '{path}'")
    state, save_id = _read_weights(path, map_location, key)
    if save_id is None:  # written before save ids: the sidecar is optional, as it was
        meta = _read_sidecar(path + SIDECAR, key) if os.path.isfile(path + SIDECAR) else None
        return state, meta
    meta = _read_sidecar(_companion(path, SIDECAR, save_id, key), key)
    if meta.get("optimizer"):
        extra = torch.load(_companion(path, OPTIMIZER, save_id, key), map_location=map_location, weights_only=True)
        extra.pop("save_id", None)
        state.update(extra)
    return state, meta


def init_from(model, path):
    """Load the weights of a checkpoint into ``model`` by parameter name, before training.

    Returns (missing keys, unexpected keys), also logged. Stops with a clear error when a text
    model's tokenizer differs from the checkpoint's (the token ids would mean other pieces) or
    when a parameter of the same name has another shape.
    """
    state, meta = load_checkpoint(path, key="init_from")
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


def unique_checkpoint_path(folder, model, dataset=None, suffix=".safetensors"):
    """A new checkpoint name, ``<model>-<dataset>-<time>-<pid>[-n].safetensors``. RecBole's
    ``<model>-<time to the second>.pth`` let two runs started in the same second (parallel processes, or quick
    runs in one process) overwrite each other's best model and test the wrong one."""
    name = "-".join(str(part) for part in (model, dataset, get_local_time(), os.getpid()) if part is not None)
    stem = os.path.join(folder, name)
    path, n = stem + suffix, 1
    while path in _claimed_paths or any(os.path.exists(path + end) for end in ("", SIDECAR, SIDECAR + NEW)):
        n += 1
        path = f"{stem}-{n}{suffix}"
    _claimed_paths.add(path)
    return path
