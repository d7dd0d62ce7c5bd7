"""SRTConfig: RecBole's Config plus this plugin's models and properties/ yaml files.

Resolution order (later wins): RecBole's defaults, then ``properties/overall.yaml``,
``properties/model/<Model>.yaml`` and ``properties/dataset/<dataset>.yaml`` of this
repository, then ``--config_files``, a config dict, and ``--key=value`` arguments.
"""

import importlib
import os

from recbole.config import Config
from recbole.utils import ModelType

import recbole_srt.compat as compat

PROPERTIES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "properties")


def get_model(name):
    """A model class by name: this plugin's first, then RecBole's built-ins."""
    plugin_models = importlib.import_module("recbole_srt.model")
    if hasattr(plugin_models, name):
        return getattr(plugin_models, name)
    compat.import_sequential_models()
    from recbole.utils import get_model as recbole_get_model

    try:
        return recbole_get_model(name)
    except (ValueError, ImportError):
        # An unknown name makes RecBole probe exlib_recommender, which imports lightgbm/xgboost.
        raise ValueError(f"--model={name}: no such model in recbole_srt or in RecBole") from None


class SRTConfig(Config):
    def _get_model_and_dataset(self, model, dataset):
        if model is None:
            model = self.external_config_dict.get("model")
        if isinstance(model, str):
            model = get_model(model)
        return super()._get_model_and_dataset(model, dataset)

    def _load_internal_config_dict(self, model, model_class, dataset):
        super()._load_internal_config_dict(model, model_class, dataset)
        dataset_files = (
            os.path.join(PROPERTIES_DIR, "dataset", f"{dataset}.yaml"),
            # Written by dataset_prep beside the atomic files: --dataset=NAME needs no other config.
            os.path.join(self.external_config_dict.get("data_path") or "dataset/", dataset, f"{dataset}.yaml"),
        )
        for path in (
            os.path.join(PROPERTIES_DIR, "overall.yaml"),
            os.path.join(PROPERTIES_DIR, "model", f"{model}.yaml"),
            *dataset_files,
        ):
            if os.path.isfile(path):
                values = self._update_internal_config_dict(path)
                if path in dataset_files:
                    # Dataset keys decide what RecBole treats as dataset arguments.
                    self.parameters["Dataset"] += [k for k in values if k not in self.parameters["Dataset"]]

    def _get_final_config_dict(self):
        final = super()._get_final_config_dict()
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
            from recbole_srt.scaling.presets import preset

            # A preset sets the size; keys the user gave explicitly still win.
            for key, value in preset(final["preset"]).items():
                if key not in self.external_config_dict:
                    final[key] = value
        return final
