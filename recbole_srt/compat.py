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
    """The dataset behind a RecBole dataloader (``.dataset`` is torch's index list there) or one of the plugin's
    (:class:`LoaderFace`)."""
    dataset = getattr(loader, "_dataset", None)
    return loader.dataset if dataset is None else dataset


def loader_sampler(loader):
    """The negative sampler of a RecBole evaluation loader, None for the plugin's (they draw their own)."""
    return getattr(loader, "_sampler", None)


class LoaderFace:
    """What RecBole's code reads of a dataloader it is handed (``Collector.data_collect`` reads
    ``train_data._dataset``), for the plugin's own loaders, which keep their dataset as ``.dataset``."""

    @property
    def _dataset(self):
        return self.dataset


def _sequential_dataset_base():
    from recbole.data.dataset import SequentialDataset

    class HookedSequentialDataset(SequentialDataset):
        """RecBole 1.2.1's SequentialDataset with the private steps the plugin replaces turned into named
        hooks: ``group_rows(group_by_list)`` (``_grouped_index``) and ``split_leave_one_out(grouped, n)``
        (``_split_index_by_leave_one_out``). Only this class knows those private names."""

        def _grouped_index(self, group_by_list):
            return self.group_rows(group_by_list)

        def _split_index_by_leave_one_out(self, grouped_index, leave_one_num):
            return self.split_leave_one_out(grouped_index, leave_one_num)

        def group_rows(self, group_by_list):
            return super()._grouped_index(group_by_list)

        def split_leave_one_out(self, grouped_index, leave_one_num):
            return super()._split_index_by_leave_one_out(grouped_index, leave_one_num)

    return HookedSequentialDataset


def import_sequential_models():
    """Import RecBole's sequential models, undoing the global side effect of sine.py.

    ``recbole/model/sequential_recommender/sine.py`` calls
    ``torch.autograd.set_detect_anomaly(True)`` at import time, which slows every
    backward pass several-fold for the whole process.
    """
    import recbole.model.sequential_recommender as seq  # noqa: F401

    torch.autograd.set_detect_anomaly(False)
    return seq


def recbole_trainer_class(config):
    """RecBole's own trainer class for a model that has one (S3Rec: pre-training, then fine-tuning), with its
    private checkpoint writer turned into the named hook ``write_checkpoint(epoch, path, extra)``; None for
    every other model. Only this function knows the private name."""
    import recbole.trainer

    cls = getattr(recbole.trainer, f"{config['model']}Trainer", None)
    if cls is None:
        return None

    class HookedTrainer(cls):
        def _save_checkpoint(self, epoch, verbose=True, **kwargs):
            self.write_checkpoint(epoch, kwargs.pop("saved_model_file", self.saved_model_file),
                                  {"cur_step": self.cur_step, "best_valid_score": self.best_valid_score})

    HookedTrainer.__name__ = cls.__name__
    return HookedTrainer


def _config_base():
    from recbole.config import Config

    class HookedConfig(Config):
        """RecBole 1.2.1's Config with the private steps the plugin extends turned into named hooks:
        ``command_line()``, ``resolve_model(model)``, ``layer_defaults(model, dataset)`` (after RecBole's
        own yaml files), ``finalise(final_dict)`` and ``after_defaults(final_dict)`` (after RecBole derives
        eval_type, valid_metric_bigger...), ``yaml_loader_class()``, ``config_files(paths)`` and
        ``convert_values(dict)``. Only this class knows those private names.

        RecBole's ``_convert_config_dict`` runs ``eval`` on every string of a config dict (and of the command line):
        ``convert_values`` replaces it, so no configuration value is ever executed; its yaml loader is yaml's
        FullLoader, replaced by ``yaml_loader_class()``."""

        def _build_yaml_loader(self):
            return self.yaml_loader_class()

        def _load_config_files(self, file_list):
            return self.config_files(file_list)

        def _convert_config_dict(self, config_dict):
            return self.convert_values(config_dict)

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
HookedSequentialDataset = _sequential_dataset_base()


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
