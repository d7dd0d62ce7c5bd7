"""Make RecBole 1.2.1 work on today's numpy / pandas / torch without editing site-packages.

Import this module before anything from ``recbole``: every other module of the
package does so through ``recbole_srt/__init__.py``.
"""

import os
import warnings

import numpy as np
import pandas as pd
import torch

# RecBole's Config.compatibility_settings() reads these aliases, removed in numpy 2.
for _alias, _target in (("float_", np.float64), ("complex_", np.complex128), ("unicode_", np.str_)):
    if not hasattr(np, _alias):
        setattr(np, _alias, _target)

# pandas 3 turns RecBole's ``fillna(inplace=True)`` on column slices into a no-op, and
# missing item text then crashes dataset loading much later with an unrelated error.
if int(pd.__version__.split(".")[0]) >= 3:
    raise ImportError(
        f"recbole_srt needs pandas < 3 (found {pd.__version__}): RecBole 1.2.1 relies on "
        "in-place fillna, which pandas 3 silently ignores. Install 'pandas<3'."
    )


# RecBole 1.2.1 calls pandas and torch APIs that now warn on every dataset load; the warnings
# are about RecBole's code, not the user's, and flood the log. Silenced for RecBole's modules only.
for _category in (FutureWarning, DeprecationWarning, UserWarning):
    warnings.filterwarnings("ignore", category=_category, module=r"recbole(\.|$)")


def recbole_properties_dir():
    import recbole

    return os.path.join(os.path.dirname(recbole.__file__), "properties")


def recbole_model_default_files(model, dataset):
    """The yaml files of RecBole's own defaults for this model, in the order RecBole applies them.

    Mirrors ``Config._load_internal_config_dict`` of RecBole 1.2.1: the model's yaml, then the
    quick-start file of a few special models. The generic ``sequential.yaml`` is not listed: its
    protocol is the one the plugin replaces with its own.
    """
    root = recbole_properties_dir()
    quick = os.path.join(root, "quick_start_config")
    files = [os.path.join(root, "model", f"{model}.yaml")]
    if model in ("DIN", "DIEN"):
        files.append(os.path.join(quick, "sequential_DIN.yaml"))
        if dataset == "ml-100k":
            files.append(os.path.join(quick, "sequential_DIN_on_ml-100k.yaml"))
    elif model in ("GRU4RecKG", "KSR"):
        files.append(os.path.join(quick, "sequential_embedding_model.yaml"))
    elif dataset == "ml-100k" and model in ("GRU4RecF", "SASRecF", "FDSA", "S3Rec"):
        files.append(os.path.join(quick, "special_sequential_on_ml-100k.yaml"))
    return [f for f in files if os.path.isfile(f)]


def loader_dataset(loader):
    """The dataset behind a RecBole dataloader (``.dataset`` is torch's index list there)."""
    dataset = getattr(loader, "_dataset", None)
    return loader.dataset if dataset is None else dataset


def import_sequential_models():
    """Import RecBole's sequential models, undoing the global side effect of sine.py.

    ``recbole/model/sequential_recommender/sine.py`` calls
    ``torch.autograd.set_detect_anomaly(True)`` at import time, which slows every
    backward pass several-fold for the whole process.
    """
    import recbole.model.sequential_recommender as seq  # noqa: F401

    torch.autograd.set_detect_anomaly(False)
    return seq


def has_recbole_trainer(config):
    """The model trains and evaluates with a RecBole trainer of its own (see :func:`recbole_trainer`)."""
    import recbole.trainer

    return hasattr(recbole.trainer, f"{config['model']}Trainer")


def recbole_trainer(config, model):
    """RecBole's own trainer for a model that has one (S3Rec: pre-training, then fine-tuning),
    adapted to the plugin's trainer interface; None for every other model.

    Its checkpoints are written without the pickled Config, so that they load with
    ``torch.load(weights_only=True)`` (torch >= 2.6 refuses RecBole's own)."""
    import recbole.trainer

    cls = getattr(recbole.trainer, f"{config['model']}Trainer", None)
    if cls is None:
        return None

    class SafeCheckpoints(cls):
        def _save_checkpoint(self, epoch, verbose=True, **kwargs):
            path = kwargs.pop("saved_model_file", self.saved_model_file)
            torch.save({"epoch": epoch, "cur_step": self.cur_step, "best_valid_score": self.best_valid_score,
                        "state_dict": self.model.state_dict(), "other_parameter": self.model.other_parameter()}, path)

        def save_pretrained_model(self, epoch, saved_model_file):
            torch.save({"epoch": epoch, "state_dict": self.model.state_dict(),
                        "other_parameter": self.model.other_parameter()}, saved_model_file)
            self.saved_model_file = saved_model_file

    return RecBoleTrainer(SafeCheckpoints(config, model), config)


class RecBoleTrainer:
    """RecBole's trainer behind the plugin trainer's ``fit`` / ``evaluate`` / ``history``."""

    def __init__(self, trainer, config):
        self.inner = trainer
        from recbole_srt.logs import show_progress

        self.progress = show_progress(config)  # on a terminal only, as for the plugin's own loop
        self.history, self.stopped_by = [], f"RecBole's {type(trainer).__mro__[1].__name__}"

    @property
    def saved_model_file(self):
        return self.inner.saved_model_file

    def fit(self, train_data, valid_data=None, saved=True):
        return self.inner.fit(train_data, valid_data, saved=saved, show_progress=self.progress)

    def evaluate(self, eval_data, load_best_model=True, model_file=None):
        return self.inner.evaluate(eval_data, load_best_model=load_best_model, model_file=model_file,
                                   show_progress=self.progress)

    def resume(self, path):
        from recbole_srt.config_check import ConfigError

        raise ConfigError(f"resume_from: not supported for RecBole's own {type(self.inner).__mro__[1].__name__}")


def _config_base():
    from recbole.config import Config

    class HookedConfig(Config):
        """RecBole 1.2.1's Config with the private steps the plugin extends turned into named hooks:
        ``command_line()``, ``resolve_model(model)``, ``layer_defaults(model, dataset)`` (after RecBole's
        own yaml files), ``finalise(final_dict)`` and ``after_defaults(final_dict)`` (after RecBole derives
        eval_type, valid_metric_bigger...). Only this class knows those private names."""

        def _load_cmd_line(self):
            return self.command_line()

        def _get_model_and_dataset(self, model, dataset):
            return super()._get_model_and_dataset(self.resolve_model(model), dataset)

        def _load_internal_config_dict(self, model, model_class, dataset):
            super()._load_internal_config_dict(model, model_class, dataset)
            self.layer_defaults(model, dataset)

        def _get_final_config_dict(self):
            return self.finalise(super()._get_final_config_dict())

        def _set_default_parameters(self):
            super()._set_default_parameters()
            self.after_defaults(self.final_config_dict)

        def after_defaults(self, final):
            pass

    return HookedConfig


HookedConfig = _config_base()


def collected_data(collector):
    """``Collector.get_data_struct()`` of RecBole 1.2.1, which calls ``.cpu()`` on every entry and so
    crashes on the training counts that ItemCoverage, AveragePopularity & co. need (ints, Counters)."""
    import copy

    data = collector.data_struct._data_dict
    for key, value in data.items():
        if isinstance(value, torch.Tensor):
            data[key] = value.cpu()
    returned = copy.deepcopy(collector.data_struct)
    for key in ("rec.topk", "rec.meanrank", "rec.score", "rec.items", "data.label"):
        data.pop(key, None)
    return returned


class _PandasWithCParser:
    """pandas, as RecBole's dataset module sees it, with ``read_csv`` on pandas' C parser.

    RecBole 1.2.1 reads every atomic file with ``engine="python"``, which parses line by line in Python:
    12 s of a 14 s load of 1M interactions, and minutes at 10M. With a one-character separator (every
    atomic file's tab) the C parser reads the same columns into the same frame; a longer separator, which
    only the Python parser understands, keeps it."""

    def __getattr__(self, name):
        return getattr(pd, name)

    @staticmethod
    def read_csv(*args, **kwargs):
        separator = kwargs.get("delimiter", kwargs.get("sep", ","))
        if kwargs.get("engine") == "python" and isinstance(separator, str) and len(separator) == 1:
            kwargs["engine"] = "c"
        return pd.read_csv(*args, **kwargs)


def _use_c_csv_parser():
    import recbole.data.dataset.dataset as recbole_dataset

    if recbole_dataset.pd is pd:
        recbole_dataset.pd = _PandasWithCParser()


_use_c_csv_parser()
