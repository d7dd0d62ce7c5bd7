"""The plugin's driver: RecBole's quick_start imports ray, which fails on numpy 2."""

import json
import os
from logging import getLogger

import recbole_srt.compat  # noqa: F401  (before recbole)
from recbole.utils import ModelType, get_local_time, init_logger, init_seed, set_color

from recbole_srt.checkpoint import config_dict as resolved_config, jsonable
from recbole_srt.config import SRTConfig
from recbole_srt.data import create_dataset, data_preparation
from recbole_srt.scaling.presets import parameter_counts
from recbole_srt.trainer import SequentialTrainer


def get_trainer(config):
    import recbole_srt.trainer as plugin_trainers

    if config["MODEL_TYPE"] != ModelType.SEQUENTIAL:
        raise ValueError(f"--model={config['model']}: recbole_srt runs sequential models only")
    return getattr(plugin_trainers, f"{config['model']}Trainer", SequentialTrainer)


def load_config(model=None, dataset=None, config_file_list=None, config_dict=None):
    config = SRTConfig(model=model, dataset=dataset, config_file_list=config_file_list, config_dict=config_dict)
    config["srt_all_positions"] = bool(config["srt_all_positions"]) and config["model"] == "SRT"
    budget = config["time_budget"]
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget <= 0):
        raise ValueError(f"time_budget must be a number of seconds > 0 (~ for none), got {budget!r}")
    check = getattr(config.model_class, "check_config", None)
    if check is not None:
        check(config)
    return config


def run(model=None, dataset=None, config_file_list=None, config_dict=None, saved=True):
    """Train and test one model; returns the result dict that is also written as JSON."""
    config = load_config(model, dataset, config_file_list, config_dict)
    init_seed(config["seed"], config["reproducibility"])
    init_logger(config)
    logger = getLogger()
    logger.info(config)

    dataset = create_dataset(config)
    logger.info(dataset)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model = config.model_class(config, train_data.dataset).to(config["device"])
    logger.info(model)

    trainer = get_trainer(config)(config, model)
    best_valid_score, best_valid_result = trainer.fit(
        train_data, valid_data, saved=saved, show_progress=config["show_progress"]
    )
    test_result = trainer.evaluate(test_data, load_best_model=saved, show_progress=config["show_progress"])
    logger.info(set_color("best valid ", "yellow") + f": {best_valid_result}")
    logger.info(set_color("test result", "yellow") + f": {test_result}")

    counts = parameter_counts(model)
    result = {
        "model": config["model"],
        "dataset": config["dataset"],
        "best_valid_score": float(best_valid_score),
        "best_valid_result": jsonable(dict(best_valid_result or {})),
        "test_result": jsonable(dict(test_result or {})),
        "parameters": counts["total"],
        "non_embedding_parameters": counts["non_embedding"],
        "history": trainer.history,
        "stopped_by": trainer.stopped_by,
        "checkpoint": trainer.saved_model_file if saved else None,
        "config": resolved_config(config),
    }
    path = config["results_file"] or os.path.join(
        config["checkpoint_dir"], f"{config['model']}-{config['dataset']}-{get_local_time()}.json"
    )
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    result["results_file"] = path
    return result
