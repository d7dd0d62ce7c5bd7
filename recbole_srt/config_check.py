"""Reject bad user configuration before any data is loaded, with errors a newcomer can act on.

Pure helpers for the plugin's Config: they read yaml files and the installed RecBole's
sources as text, and import nothing from RecBole.

- :func:`known_keys` -- every key a run may legitimately set;
- :func:`check_unknown_keys` -- a typo such as ``--epoch=5`` fails at once, with a suggestion,
  instead of being silently ignored (RecBole accepts any key);
- :func:`check_types` -- ``--learning_rate=abc`` fails at once instead of deep inside training.

Every error is a :class:`ConfigError`: one line that names the key and where it came from.
"""

import difflib
import functools
import importlib.util
import numbers
import os
import re
from collections.abc import Collection, Iterable, Mapping

import yaml

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ConfigError(ValueError):
    """A user error in the configuration: one line, names the key and where it came from."""


# ---------------------------------------------------------------------------------------------
# Known keys

# Yaml files under RecBole's properties/ that are not configuration: dataset.py reads them as
# {dataset name: download url} tables, so their keys ('ml-100k', 'yelp', ...) are not options.
_NOT_CONFIG_FILES = frozenset({"url.yaml", "kg_url.yaml"})

# Keys RecBole reads that the source scan cannot see, or that only its scripts define:
_RECBOLE_EXTRA_KEYS = frozenset(
    {
        # read as config[f"{phase}_neg_sample_args"] (data/dataloader/general_dataloader.py);
        # Config derives them from eval_args['mode'] (and overwrites what a user sets).
        "valid_neg_sample_args",
        "test_neg_sample_args",
        # argparse options of RecBole's run_recbole.py (and of run_recbole_srt.py): Config also
        # reads every --key=value of sys.argv, so they reach its command-line dict too.
        "config_files",
        "nproc",
        "ip",
        "port",
        "world_size",
        "group_offset",
    }
)

_KEY = r"(?P<key>[A-Za-z_][A-Za-z0-9_]*)"
_SOURCE_PATTERNS = (
    # config["x"], self.config['x'], dataset.config["x"], self.final_config_dict["x"],
    # config.get("x") ... but not config_dict["choice"]: in trainer/hyper_tuning.py that name
    # holds a search space ({'choice': {...}, 'uniform': {...}}), not a configuration.
    re.compile(r"""\b(?!config_dict\b)\w*config\w*\s*(?:\[|\.get\()\s*(?P<q>['"])""" + _KEY + r"(?P=q)"),
    # "x" in config, 'x' not in self.config (asymknn.py, kd_dagfm.py ...); not "full" in
    # config["eval_args"]["mode"] (a membership test on a value, evaluator/collector.py).
    re.compile(r"""(?P<q>['"])""" + _KEY + r"""(?P=q)\s+(?:not\s+)?in\s+(?:self\.)?\w*config\b(?!\s*[\[.(])"""),
    # config.x, self.config.x (Config.__getattr__; eulernet.py, wandblogger.py). The look-behind
    # skips dotted module paths such as recbole.config.eval_setting in docstrings.
    re.compile(r"(?<![\w.])(?:self\.)?config\." + _KEY),
)

# Attributes of RecBole's Config object itself, not configuration keys.
_CONFIG_ATTRIBUTES = frozenset(
    {
        "final_config_dict",
        "internal_config_dict",
        "external_config_dict",
        "file_config_dict",
        "variable_config_dict",
        "cmd_config_dict",
        "parameters",
        "yaml_loader",
        "model_class",
        "compatibility_settings",
        "get",
        "items",
        "keys",
        "update",
    }
)


def _yaml_files(directory):
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            if name.endswith((".yaml", ".yml")):
                yield os.path.join(root, name)


def _yaml_keys(path):
    """The top-level keys of one yaml file (none for an empty file or a non-mapping)."""
    with open(path, "r", encoding="utf-8") as f:
        try:
            data = yaml.load(f, Loader=_SafeLoader)
        except yaml.YAMLError as e:
            problem = " ".join(str(e).split())
            raise ConfigError(f"file {path} is not valid yaml: {problem}") from None
    if not isinstance(data, dict):
        return set()
    return {str(key) for key in data}


def _recbole_dir():
    # find_spec locates the installed package without importing (and initialising) it.
    spec = importlib.util.find_spec("recbole")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("recbole is not installed: recbole_srt needs recbole==1.2.1")
    return list(spec.submodule_search_locations)[0]


@functools.lru_cache(maxsize=None)
def _recbole_keys():
    """Keys of RecBole's properties/ yaml files plus the keys its sources read from a config."""
    package = _recbole_dir()
    keys = set(_RECBOLE_EXTRA_KEYS)
    for path in _yaml_files(os.path.join(package, "properties")):
        if os.path.basename(path) not in _NOT_CONFIG_FILES:
            keys |= _yaml_keys(path)
    for root, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", "dataset_example"))
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            with open(os.path.join(root, name), "r", encoding="utf-8", errors="replace") as f:
                text = f.read()
            if "config" not in text:
                continue
            for pattern in _SOURCE_PATTERNS:
                keys.update(m.group("key") for m in pattern.finditer(text))
    return frozenset(keys - _CONFIG_ATTRIBUTES)


def known_keys(plugin_properties_dir: str, extra: Iterable[str] = ()) -> frozenset:
    """Every key a run may legitimately set.

    That is: the top-level keys of every yaml file under RecBole's own properties/ directory
    (overall.yaml, model/, dataset/, quick_start_config/; not the url tables url.yaml and
    kg_url.yaml), every key RecBole's source reads from its config (found by a regex over the
    installed package: ``config["name"]``, ``self.config['name']``, ``config.get("name")``,
    ``"name" in config``, ``config.name``), a few keys only RecBole's scripts define, the
    top-level keys of every yaml file under ``plugin_properties_dir`` (recursively), and
    ``extra``. The RecBole part is computed once per process.

    Raises FileNotFoundError when ``plugin_properties_dir`` is not a directory (a packaging
    error: every plugin key would otherwise be reported as unknown).
    """
    if not os.path.isdir(plugin_properties_dir):
        raise FileNotFoundError(f"plugin properties directory {plugin_properties_dir!r} does not exist")
    keys = set(_recbole_keys())
    for path in _yaml_files(plugin_properties_dir):
        keys |= _yaml_keys(path)
    keys.update(extra)
    return frozenset(keys)


# ---------------------------------------------------------------------------------------------
# Unknown keys


def _canonical(key):
    # 'Learning-Rate' and 'learning_rate' should be close: difflib is case-sensitive.
    return key.lower().replace("-", "_")


def _suggestion(key, known):
    by_canonical = {}
    for name in sorted(known, key=str):
        by_canonical.setdefault(_canonical(str(name)), str(name))
    wanted = _canonical(key)
    if wanted in by_canonical:
        return by_canonical[wanted]
    close = difflib.get_close_matches(wanted, list(by_canonical), n=1, cutoff=0.75)
    return by_canonical[close[0]] if close else None


def check_unknown_keys(given: Mapping[str, str], known: Collection[str]) -> None:
    """Raise ConfigError for the first unknown key of ``given`` (in sorted order).

    ``given`` maps each user-supplied key to where it came from ("the command line",
    "file a.yaml", "config_dict", ...). The message suggests the closest known key, if any.
    """
    for key in sorted(given, key=str):
        source = given[key]
        if not isinstance(key, str):
            raise ConfigError(f"config key {key!r} (from {source}) must be a string")
        if key in known:
            continue
        suggestion = _suggestion(key, known)
        if suggestion is not None:
            hint = f"did you mean '{suggestion}'?"
        else:
            hint = "see the README's option tables or RecBole's properties/overall.yaml"
        raise ConfigError(f"unknown config key '{key}' (from {source}); {hint}")


# ---------------------------------------------------------------------------------------------
# Types

# Keys whose default does not tell the types RecBole accepts: never type-checked.
TYPE_CHECK_EXEMPT = frozenset(
    {
        # Config._set_default_parameters merges a partial dict into RecBole's defaults, and
        # accepts eval_args['mode'] as a str or as a {'valid': .., 'test': ..} dict.
        "eval_args",
        # dict, None or the string "None" (Config._set_train_neg_sample_args); the plugin also
        # sets it to None itself for CE-loss sequential models.
        "train_neg_sample_args",
        # Derived from eval_args['mode'] by Config._set_eval_neg_sample_args, which overwrites
        # whatever the user gave.
        "valid_neg_sample_args",
        "test_neg_sample_args",
        # Config._init_device: str '0', int 0 (--gpu_id=0 is eval()'d to an int) or a tuple
        # (--gpu_id=0,1 is eval()'d to (0, 1)), all joined into a str.
        "gpu_id",
        # Config._set_default_parameters: a single str becomes [str] ...
        "metrics",
        "additional_feat_suffix",
        # ... and a single int becomes [int].
        "topk",
        # dataset.py: None means 'every column'; a dict of {suffix: [fields] or '*'}.
        "load_col",
        "unload_col",
        "unused_col",
        # dataset.py: None, or dicts whose values are interval strings / numbers.
        "val_interval",
        "threshold",
        # dataset.py parses these with str(value): "[5,inf)" in yaml, but --x=[5,10] on the
        # command line is eval()'d to a list, which RecBole accepts as well.
        "user_inter_num_interval",
        "item_inter_num_interval",
        "entity_kg_num_interval",
        "relation_kg_num_interval",
        # An int default (1) used as a flag by SASRecCPR/GRU4RecCPR: True must not be rejected.
        "use_proj_bias",
    }
)

# Real-valued hyper-parameters to which some RecBole 1.2.1 model yaml gives an integer default
# (SASRecCPR hidden_dropout_prob: 0, GRU4RecCPR dropout_prob: 0, DCN reg_weight: 2, SimpleX
# negative_weight: 10, FEARec global_ratio: 1 / spatial_ratio: 0, AsymKNN q: 1, DiffRec w_max: 1):
# with those defaults any number is accepted, not only an integer.
_REAL_VALUED = frozenset(
    {"dropout_prob", "hidden_dropout_prob", "reg_weight", "negative_weight", "global_ratio", "spatial_ratio",
     "q", "w_max"}
)


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _expectation(key, default):
    """(accepts(value), 'expected ...' text) for a default's type, or None if not checked."""
    if isinstance(default, bool):
        return (lambda v: isinstance(v, bool)), "True or False"
    if isinstance(default, numbers.Integral):
        if key in _REAL_VALUED:
            return _is_number, "a number"
        return _is_integer, "an integer"
    if isinstance(default, numbers.Real):
        return _is_number, "a number"
    if isinstance(default, str):
        return (lambda v: isinstance(v, str)), "a string"
    if isinstance(default, (list, tuple)):
        return (lambda v: isinstance(v, (list, tuple))), "a list"
    if isinstance(default, dict):
        return (lambda v: isinstance(v, dict)), "a dict"
    return None


def _shown(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_types(values: Mapping[str, object], defaults: Mapping[str, object], sources: Mapping[str, str]) -> None:
    """Raise ConfigError for the first user-given key (in sorted order) whose value has the wrong type.

    Only keys in ``sources`` (user-given key -> where it came from) are checked, and only
    against a default that is known and not None: a float default takes an int or a float, an
    int default an int (not 1.0), a bool default a bool, a str default a str, a list default a
    list or tuple, a dict default a dict. A user value of None (``~``) is always accepted.
    Keys in :data:`TYPE_CHECK_EXEMPT` are not checked.
    """
    for key in sorted(sources, key=str):
        if key in TYPE_CHECK_EXEMPT or key not in values or defaults.get(key) is None:
            continue
        value = values[key]
        if value is None:
            continue
        expectation = _expectation(key, defaults[key])
        if expectation is None:
            continue
        accepts, expected = expectation
        if accepts(value):
            continue
        message = f"{key}: expected {expected}, got {_shown(value)} ({type(value).__name__}, from {sources[key]})"
        if expected == "an integer" and isinstance(value, float) and value.is_integer():
            message += f"; write {int(value)}"
        raise ConfigError(message)


def check_valid_metric(config, extra: Iterable[str] = ()) -> None:
    """``valid_metric`` must be a metric that validation reports: otherwise the run fails with a
    KeyError after its first epoch (``topk: [10]`` with the default ``valid_metric: NDCG@5``)."""
    topk = config["topk"] if isinstance(config["topk"], list) else [config["topk"]]
    metrics = [str(m).lower() for m in config["metrics"] or []]
    reported = {f"{m}@{k}" for m in metrics for k in topk} | set(metrics) | set(extra)
    if str(config["valid_metric"]).lower() not in reported:
        raise ConfigError(f"valid_metric '{config['valid_metric']}' is not reported by validation, which gives "
                          f"{', '.join(sorted(reported))} (metrics x topk): set valid_metric, metrics or topk")


# ---------------------------------------------------------------------------------------------
# Ranges

# What a key means decides the values it can take: (lowest, lowest allowed?, highest, highest allowed?, meaning).
_SIZE = (1, True, None, False, "a size: an integer >= 1")
_COUNT = (0, True, None, False, "a count: an integer >= 0")
_RATE = (0, False, None, False, "a rate: a number > 0")
_NON_NEGATIVE = (0, True, None, False, "a number >= 0")
_PROBABILITY = (0, True, 1, False, "a probability in [0, 1)")
_FRACTION = (0, True, 1, True, "a fraction in [0, 1]")
RANGES = {
    **dict.fromkeys(("train_batch_size", "eval_batch_size", "MAX_ITEM_LIST_LENGTH", "hidden_size", "inner_size",
                     "n_layers", "n_heads", "embedding_size", "tokenizer_vocab_size", "fisher_windows",
                     "feedback_levels", "rerank_top", "token_embedding_size", "ddp_timeout"), _SIZE),
    **dict.fromkeys(("epochs", "stopping_step", "unfreeze_stage_epochs", "min_train_steps"), _COUNT),
    **dict.fromkeys(("learning_rate", "layer_norm_eps", "tau", "initializer_range", "clip_grad_norm"), _RATE),
    **dict.fromkeys(("weight_decay", "ewc_lambda", "feedback_weight", "next_item_weight", "label_smoothing"),
                    _NON_NEGATIVE),
    **dict.fromkeys(("hidden_dropout_prob", "attn_dropout_prob", "dropout_prob"), _PROBABILITY),
    "warmup_ratio": _FRACTION,
}


def check_ranges(values: Mapping[str, object], sources: Mapping[str, str]) -> None:
    """Raise ConfigError for the first user-given key (in sorted order) whose number lies outside what the key
    means (:data:`RANGES`): ``train_batch_size: 0``, ``learning_rate: -1``, ``hidden_dropout_prob: 2.0`` would
    otherwise fail deep inside training, or train to nonsense. None (``~``) is left to the key's own checks."""
    for key in sorted(sources, key=str):
        if key not in RANGES or key not in values:
            continue
        value = values[key]
        if value is None or not _is_number(value):
            continue
        low, low_in, high, high_in, meaning = RANGES[key]
        integral = meaning.endswith(("integer >= 1", "integer >= 0"))
        ok = (not integral or _is_integer(value)) and (value >= low if low_in else value > low)
        if high is not None:
            ok = ok and (value <= high if high_in else value < high)
        if not ok or (isinstance(value, float) and value != value):
            raise ConfigError(f"{key} must be {meaning}, got {_shown(value)} (from {sources[key]})")
