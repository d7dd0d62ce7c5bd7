"""SRTConfig: RecBole's Config plus this plugin's models, yaml defaults and input checks.

Resolution order (later wins): RecBole's defaults; the plugin's ``properties/overall.yaml``
(the shared protocol: split, metrics, and the plugin's own keys), ``properties/model/<Model>.yaml``
and ``properties/dataset/<dataset>.yaml``, then a ``<dataset>.yaml`` beside the atomic files; then
``config_files``, a config dict and ``--key=value`` arguments. A RecBole model keeps the defaults
RecBole gives it (its model yaml and special quick-start files): the plugin's files do not
override those keys, only the user does.
"""

import ast
import importlib
import inspect
import os
import re

import torch
import yaml
from recbole.model.abstract_recommender import AbstractRecommender
from recbole.utils import ModelType

import recbole_srt.compat as compat
from recbole_srt.model import is_plugin_model
from recbole_srt.config_check import ConfigError, check_ranges, check_types, check_unknown_keys, known_keys

PROPERTIES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "properties")
# Options of run_recbole_srt.py itself, which reach the Config as command-line keys.
SCRIPT_KEYS = ("model", "dataset", "config_files", "debug")
SMALLER_METRICS = ("cross_entropy", "feedback_logloss")  # plugin metrics where lower is better


def plugin_models():
    module = importlib.import_module("recbole_srt.model")
    return {name: getattr(module, name) for name in module.__all__}


def part_defaults():
    """{key: default} declared by the registered parts (``config_keys`` beside each part's code)."""
    return importlib.import_module("recbole_srt.model").part_config_defaults()


def plugin_defaults():
    """Every key the plugin adds, with its default: ``properties/overall.yaml``, the plugin's model yaml files
    and the parts' ``config_keys`` (the configuration reference lists exactly these)."""
    defaults = dict(read_yaml(os.path.join(PROPERTIES_DIR, "overall.yaml")))
    defaults.update(part_defaults())
    for name in sorted(os.listdir(os.path.join(PROPERTIES_DIR, "model"))):
        for key, value in read_yaml(os.path.join(PROPERTIES_DIR, "model", name)).items():
            defaults.setdefault(key, value)
    return defaults


def recbole_models(package):
    module = importlib.import_module(f"recbole.model.{package}")
    return {name: cls for name, cls in vars(module).items()
            if inspect.isclass(cls) and issubclass(cls, AbstractRecommender) and cls.__module__.startswith(module.__name__)}


def get_model(name):
    """A sequential model class by name, case-insensitively: this plugin's first, then RecBole's."""
    compat.import_sequential_models()
    models = {**recbole_models("sequential_recommender"), **plugin_models()}
    by_lower = {key.lower(): cls for key, cls in models.items()}
    if str(name).lower() in by_lower:
        return by_lower[str(name).lower()]
    for package in ("general_recommender", "context_aware_recommender", "knowledge_aware_recommender"):
        other = {key.lower(): key for key in recbole_models(package)}
        if str(name).lower() in other:
            raise ConfigError(f"--model={name}: RecBole's {other[str(name).lower()]} is a "
                              f"{package.split('_')[0]} model; recbole_srt runs sequential models only")
    raise ConfigError(f"--model={name}: no such sequential model. Known: {', '.join(sorted(models, key=str.lower))}")


class LiteralLoader(yaml.SafeLoader):
    """yaml's safe loader (no Python objects, no tags that run code) with RecBole's float rule: ``1e-3`` is a
    number, as in RecBole's own loader, not the string a plain YAML 1.1 loader makes of it."""


LiteralLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                 |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                 |\.[0-9_]+(?:[eE][-+][0-9]+)?
                 |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
                 |[-+]?\.(?:inf|Inf|INF)
                 |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


def read_yaml(path, source=None):
    """A yaml file of ``key: value`` lines as a dict ({} when empty); a file that is missing, not UTF-8, not valid
    yaml or not a mapping stops with a one-line :class:`ConfigError` naming the file (and the line)."""
    source = source or f"file {path}"
    try:
        with open(path, encoding="utf-8") as f:
            values = yaml.load(f, Loader=LiteralLoader)
    except FileNotFoundError:
        raise ConfigError(f"{source}: not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{source}: is a folder, not a yaml file") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{source}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = " ".join(str(getattr(error, "problem", None) or error).split())
        raise ConfigError(f"{source}{where}: not valid yaml ({problem})") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: expected 'key: value' lines at the top level, got a {type(values).__name__}")
    return values


_SPELLED = {"true": True, "false": False, "none": None, "~": None}


def literal(raw):
    """A string from the command line or a config dict read as a Python literal where it is one (``1e-3``,
    ``[5, 10]``, ``{'mode': 'full'}``, ``True``), else kept as the string. Never evaluated: RecBole 1.2.1
    ``eval``s these strings, which runs any code a value holds."""
    if not isinstance(raw, str):
        return raw
    try:
        value = ast.literal_eval(raw.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _SPELLED.get(raw.strip().lower(), raw)
    # RecBole's rule: only plain values replace the string (not sets, bytes, complex numbers, Ellipsis).
    return value if value is None or isinstance(value, (str, int, float, list, tuple, dict, bool)) else raw


def check_file_name(key, value):
    """A value that becomes part of a file or folder name (the dataset, a prepared dataset's name) may not climb
    out of its folder: no path separator, no '..', not empty."""
    text = str(value)
    if not text.strip() or "/" in text or "\\" in text or os.sep in text or ".." in text or "\0" in text:
        raise ConfigError(f"{key}: {text!r} is used as a file name, so it may not be empty or contain '/', '\\' "
                          "or '..'; put the folder in data_path instead")
    return value


def parse_command_line(argv):
    """``--key=value`` arguments as a dict, values read as Python literals where they are ones."""
    values = {}
    for arg in argv:
        key, sep, raw = arg[2:].partition("=") if arg.startswith("--") else ("", "", "")
        if not key or not sep:
            raise ConfigError(f"command line: expected --key=value, got '{arg}'")
        value = literal(raw)
        if key in values and values[key] != value:
            raise ConfigError(f"command line: --{key} is given twice with different values")
        values[key] = value
    return values


class SRTConfig(compat.HookedConfig):
    def __init__(self, model=None, dataset=None, config_file_list=None, config_dict=None, argv=()):
        """``argv``: ``--key=value`` arguments (``run_recbole_srt.py`` passes its own); unlike
        RecBole's Config, ``sys.argv`` is never read, so a library call sees only what it is given."""
        self._argv = list(argv)
        if dataset is not None:
            check_file_name("dataset", dataset)
        try:
            super().__init__(model, dataset, config_file_list, config_dict)
        except (ValueError, TypeError) as error:
            if isinstance(error, ConfigError):
                raise
            # RecBole's own checks of a value (topk, eval_args' mode, metrics ...): the user's to fix, in one line.
            raise ConfigError(f"RecBole's config: {' '.join(str(error).split())}") from error
        check_file_name("dataset", self.dataset)
        self._check_user_keys(config_file_list or [], config_dict or {})

    def command_line(self):
        return parse_command_line(self._argv)

    def yaml_loader_class(self):
        return LiteralLoader

    def config_files(self, paths):
        values = {}
        for path in paths or []:
            values.update(read_yaml(path))
        return values

    def convert_values(self, values):
        return {key: literal(value) for key, value in values.items()}

    def resolve_model(self, model):
        if model is None:
            model = self.external_config_dict.get("model")
        if model is None:
            raise ConfigError("no model given: use --model=NAME (e.g. --model=SRT)")
        model_class = get_model(model) if isinstance(model, str) else model
        self.model_is_plugin = is_plugin_model(model_class)
        return model_class

    def layer_defaults(self, model, dataset):
        """The plugin's yaml files on top of RecBole's, except over RecBole's per-model defaults."""
        protected = {}
        for path in compat.recbole_model_default_files(model, dataset):
            protected.update(read_yaml(path))
        dataset_files = (
            os.path.join(PROPERTIES_DIR, "dataset", f"{dataset}.yaml"),
            # Written by dataset_prep beside the atomic files: --dataset=NAME needs no other config.
            os.path.join(self.external_config_dict.get("data_path") or "dataset/", dataset, f"{dataset}.yaml"),
        )
        # The parts' own keys (declared beside each part's code) go under the model's yaml.
        parts = part_defaults() if self.model_is_plugin else {}
        for path in (os.path.join(PROPERTIES_DIR, "overall.yaml"), parts,
                     os.path.join(PROPERTIES_DIR, "model", f"{model}.yaml"), *dataset_files):
            if isinstance(path, dict):
                self.internal_config_dict.update({k: v for k, v in path.items() if k not in protected})
            elif os.path.isfile(path):
                values = read_yaml(path)
                if path == dataset_files[-1] and isinstance(values.get("tokenizer_path"), str):
                    # dataset_prep writes it relative to the dataset's folder, so that the folder can be moved.
                    values["tokenizer_path"] = os.path.join(os.path.dirname(os.path.abspath(path)),
                                                            values["tokenizer_path"])
                self.internal_config_dict.update({k: v for k, v in values.items() if k not in protected})
                if path in dataset_files:
                    # Dataset keys decide what RecBole treats as dataset arguments.
                    self.parameters["Dataset"] += [k for k in values if k not in self.parameters["Dataset"]]

    def finalise(self, final):
        # RecBole 1.2.1 ships SASRec & co. with loss_type CE but a default uniform negative
        # sampler, a combination its own Config rejects: `--model=SASRec` would not run.
        # Drop the sampler unless the user asked for one.
        if (
            final.get("MODEL_TYPE") == ModelType.SEQUENTIAL
            and final.get("loss_type") == "CE"
            and "train_neg_sample_args" not in self.external_config_dict
        ):
            final["train_neg_sample_args"] = None
        # RecBole fills a partial eval_args from its own defaults (random order, 80/10/10), so
        # `--eval_args="{'mode': 'full'}"` would silently change the split: fill it from ours.
        given, ours = self.external_config_dict.get("eval_args"), self.internal_config_dict.get("eval_args")
        if isinstance(given, dict) and isinstance(ours, dict):
            final["eval_args"] = {**ours, **given}
        if final.get("preset"):
            from recbole_srt.model.sizes import preset

            # A preset sets the size; keys the user gave explicitly still win.
            for key, value in preset(final["preset"]).items():
                if key not in self.external_config_dict:
                    final[key] = value
        # min_train_steps stretches the default horizon on a small catalog. A user who names `epochs` and not
        # min_train_steps gets exactly those epochs (a smoke test with --epochs=1 stays one epoch).
        if "epochs" in self.external_config_dict and "min_train_steps" not in self.external_config_dict:
            final["min_train_steps"] = None
        # RecBole logs use_gpu=True on machines without one.
        final["use_gpu"] = bool(final.get("use_gpu")) and torch.cuda.is_available()
        return final

    def after_defaults(self, final):
        # RecBole 1.2.1 points ml-100k at its bundled copy whatever data_path says, so a user's own ml-100k (or a
        # mistyped folder) was silently replaced by it. A data_path the user gives is read as for any other dataset:
        # <data_path>/ml-100k/, and a missing file is named by the atomic-file check. Without one, the bundled copy.
        given = self.external_config_dict.get("data_path")
        if final.get("dataset") == "ml-100k" and given:
            final["data_path"] = os.path.join(given, "ml-100k")
        # RecBole judges lower-is-better from its own metric names only; the plugin's losses are too.
        if str(final.get("valid_metric", "")).lower() in SMALLER_METRICS:
            final["valid_metric_bigger"] = False

    def _check_user_keys(self, config_files, config_dict):
        """Unknown keys and values of the wrong type fail here, before any data is loaded."""
        sources = {}
        for path in config_files:
            sources.update({key: f"file {path}" for key in read_yaml(path)})
        sources.update({key: "config_dict" for key in config_dict})
        sources.update({key: "the command line" for key in self.cmd_config_dict})
        for key in SCRIPT_KEYS:
            sources.pop(key, None)
        known = known_keys(PROPERTIES_DIR, extra={**part_defaults(), **self.internal_config_dict})
        check_unknown_keys(sources, known)
        check_types(self.final_config_dict, self.internal_config_dict, sources)
        check_ranges(self.final_config_dict, sources)
