"""The one build path: config -> dataset, dataloaders, catalog, model, trainer.

``run_recbole_srt.py``, the benchmarks, the scaling sweep (through the script) and the tests all
build runs here, so a run means the same thing everywhere.
"""

import os
from dataclasses import dataclass, field
from logging import getLogger

import torch
from recbole.data.utils import create_dataset as recbole_create_dataset
from recbole.data.utils import create_samplers, get_dataloader
from recbole.model.abstract_recommender import AbstractRecommender
from recbole.utils import EvaluatorType, ModelType, init_seed

import recbole_srt.compat as compat
from recbole_srt import distributed
from recbole_srt.checkpoint import init_from, load_checkpoint, load_training_state
from recbole_srt.config import SRTConfig
from recbole_srt.config_check import ConfigError, check_valid_metric
from recbole_srt.data.atomic_check import check_atomic_files
from recbole_srt.data.catalog import build_catalog, check_text_fields
from recbole_srt.data.dataloader import AllPositionsDataLoader, SampledRankingDataLoader
from recbole_srt.data.dataset import SequenceDataset
from recbole_srt.logs import FILE_ONLY
from recbole_srt.model import is_plugin_model, plugin_model_names
from recbole_srt.results import check_folder, check_results_file
from recbole_srt.training.optim import check_learner
from recbole_srt import distributed
from recbole_srt.training.recbole_trainer import recbole_trainer
from recbole_srt.training.trainer import Trainer


@dataclass
class Run:
    config: object
    dataset: object  # the whole dataset, before the split
    train_data: object
    valid_data: object
    test_data: object
    model: object
    trainer: object
    catalog: object = None
    notes: list = field(default_factory=list)  # warnings about the protocol, also written to the results


def load_config(model=None, dataset=None, config_file_list=None, config_dict=None, argv=()):
    """The resolved config, checked: every error here comes before any data is loaded."""
    config = SRTConfig(model=model, dataset=dataset, config_file_list=config_file_list,
                       config_dict=config_dict, argv=argv)
    if config["MODEL_TYPE"] != ModelType.SEQUENTIAL:
        raise ConfigError(f"--model={config['model']}: recbole_srt runs sequential models only")
    model_class = config.model_class
    plugin, plugin_models = is_plugin_model(model_class), plugin_model_names()
    check_plugin_keys(config)
    if config["train_all_positions"] and not plugin:
        raise ConfigError(f"train_all_positions: {config['model']} trains on RecBole's rows; the plugin's models "
                          f"({plugin_models}) train on all positions")
    if plugin:
        config["train_all_positions"] = bool(config["train_all_positions"])
        if config["train_all_positions"]:
            AllPositionsDataLoader.check_config(config)
    if plugin:
        model_class.check_config(config)
        if model_class.needs_text(config):
            check_text_fields(config)
    elif config["feedback_weight"] or config["next_item_targets"] != "all":
        raise ConfigError(f"feedback_weight / next_item_targets: {config['model']} has no feedback head; "
                          f"the plugin's {plugin_models} do")
    for key in ("eval_cross_entropy", "eval_mask_history"):
        reason = catalog_not_scored(config) if config[key] else None
        if reason:
            raise ConfigError(f"{key}: needs every item's score, and {reason}")
    check_valid_metric(config, (feedback_metrics(config) if plugin else [])
                       + (["cross_entropy"] if config["eval_cross_entropy"] else []))
    check_time_column(config)
    if config["torch_compile"] and not plugin:
        raise ConfigError(f"torch_compile: compiles the backbone of the plugin's models ({plugin_models}); "
                          f"{config['model']} has none")
    prior = config["score_popularity_prior"]
    if prior is not None and (isinstance(prior, bool) or not isinstance(prior, (int, float))
                              or not 0 <= prior < float("inf")):
        raise ConfigError(f"score_popularity_prior must be a number >= 0 (~ or 0 for none), got {prior!r}")
    if prior and not plugin:
        raise ConfigError(f"score_popularity_prior: added to the scores of the plugin's models ({plugin_models}); "
                          f"{config['model']} does not read it")
    cold = config["cold_start_items"]
    if prior and cold is not None:
        raise ConfigError("score_popularity_prior with cold_start_items: the withheld items have no training count, "
                          "so the prior would rank every cold item down; set one of them")
    if cold is not None:
        if isinstance(cold, bool) or not isinstance(cold, (int, float)) or not 0 < cold < 1:
            raise ConfigError(f"cold_start_items must be a fraction in (0, 1) (~ for none), got {cold!r}")
        if not plugin:
            raise ConfigError(f"cold_start_items: withheld by the plugin's dataset, which {config['model']} does not "
                              f"use ({plugin_models} do)")
        if (config["eval_args"]["split"] or {}).get("LS") is None:
            raise ConfigError("cold_start_items: needs the leave-one-out split (eval_args.split LS), so that the "
                              "test item is each user's last")
    return config


def feedback_metrics(config):
    """Names of the metrics that evaluation adds with ``feedback_field`` (evaluation/feedback.py)."""
    if not config["feedback_field"]:
        return []
    topk = config["topk"] if isinstance(config["topk"], list) else [config["topk"]]
    ranked = [f"liked_ndcg@{k}{suffix}" for k in topk for suffix in ("", "_reranked")]
    return ["feedback_auc", "feedback_logloss", "feedback_auc_item_mean", *ranked]


def check_plugin_keys(config):
    if config["eval_negatives"] not in ("fixed", "recbole"):
        raise ConfigError(f"eval_negatives must be 'fixed' or 'recbole', got {config['eval_negatives']!r}")
    budget = config["time_budget"]
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget <= 0):
        raise ConfigError(f"time_budget must be a number of seconds > 0 (~ for none), got {budget!r}")
    from recbole_srt.training import ewc, tracking, unfreezing

    tracking.check_config(config)  # a tracker asked for and not installed: one line, before any data is loaded
    if config["amp_dtype"] not in (None, "bfloat16", "float16"):
        raise ConfigError(f"amp_dtype must be bfloat16 or float16, got {config['amp_dtype']!r}")

    ewc.check_config(config)
    unfreezing.check_config(config)
    steps = config["gradient_accumulation_steps"]
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ConfigError(f"gradient_accumulation_steps must be an integer >= 1, got {steps!r}")
    check_results_file(config)
    for key in ("checkpoint_dir", "log_dir", "tokenizer_dir", "tensorboard_dir"):
        if config[key]:
            check_folder(key, config[key])
    if not has_recbole_trainer(config):
        check_learner(config)
    check_atomic_files(config)
    # A checkpoint that is missing, truncated, incomplete or already finished stops here, before any data is loaded.
    if config["init_from"]:
        load_checkpoint(config["init_from"], key="init_from")
    if config["resume_from"]:
        load_training_state(config["resume_from"], epochs=config["epochs"])


def check_time_column(config):
    """Sequences need the user and item columns loaded, and time-ordered splits the time column: say so with the
    file and its columns, before loading."""
    load_col = config["load_col"]
    loaded = load_col.get("inter") if isinstance(load_col, dict) else None
    if loaded not in (None, "*"):
        for key in ("USER_ID_FIELD", "ITEM_ID_FIELD"):
            if config[key] not in loaded:
                raise ConfigError(f"load_col.inter is {loaded}, without {key} '{config[key]}': a sequence needs its "
                                  "users and items; add it (or set load_col: ~ to load every column)")
    eval_args = config["eval_args"] or {}
    inter_file = os.path.join(config["data_path"], f"{config['dataset']}.inter")
    if eval_args.get("order") != "TO" or not os.path.isfile(inter_file):
        return
    with open(inter_file, encoding="utf-8") as f:
        columns = [c.split(":", 1)[0] for c in f.readline().rstrip("\r\n").split(config["field_separator"])]
    time_field, load_col = config["TIME_FIELD"], config["load_col"]
    if time_field not in columns:
        raise ConfigError(f"eval_args.order TO sorts by TIME_FIELD '{time_field}', which is not a column of "
                          f"{inter_file} (columns: {columns}); set TIME_FIELD or eval_args.order: RO")
    if isinstance(load_col, dict) and load_col.get("inter") not in (None, "*") and time_field not in load_col["inter"]:
        raise ConfigError(f"eval_args.order TO needs '{time_field}' loaded, but load_col.inter is "
                          f"{load_col['inter']}; add it (or set load_col: ~ to load every column)")


def create_dataset(config):
    """The plugin's flat sequence dataset for models trained on windows, else RecBole's choice."""
    if is_plugin_model(config.model_class):
        return SequenceDataset(config)
    return recbole_create_dataset(config)


def data_preparation(config, dataset):
    """(train, valid, test) loaders: windows for training where the model supports them,
    RecBole's loaders otherwise; RecBole's split, samplers and evaluation loaders unchanged."""
    built = dataset.build()
    train_set, valid_set, test_set = built
    train_sampler, valid_sampler, test_sampler = create_samplers(config, dataset, built)
    if config["train_all_positions"]:
        world = distributed.world_size()
        train_data = AllPositionsDataLoader(config, train_set, shuffle=config["shuffle"],
                                            rank=distributed.rank(), world_size=world)
        getLogger().info(
            f"[Training]: all positions: {len(train_data.inputs)} windows of <= "
            f"{config['MAX_ITEM_LIST_LENGTH']} items, {train_data.n_targets} targets, "
            f"{len(train_data)} batches of {config['train_batch_size']} windows"
            + (f" on each of {world} ranks" if world > 1 else "")
        )
    else:
        train_data = get_dataloader(config, "train")(config, train_set, train_sampler, shuffle=config["shuffle"])
    valid_data = eval_loader(config, "valid", valid_set, valid_sampler)
    test_data = eval_loader(config, "test", test_set, test_sampler)
    return train_data, valid_data, test_data


def eval_loader(config, phase, dataset, sampler):
    """Uniformly sampled ranking through one row per user and negatives fixed per user
    (``eval_negatives: fixed``), for models that score the whole catalog; RecBole's loader otherwise."""
    args = config[f"{phase}_neg_sample_args"] or {}
    if fixed_negatives_path(config, args):
        return SampledRankingDataLoader(config, dataset, phase, args["sample_num"])
    return get_dataloader(config, phase)(config, dataset, sampler, shuffle=False)


def fixed_negatives_path(config, args):
    # RecBole's own trainers (S3Rec) would rank such rows against the whole catalog.
    return (config["eval_negatives"] == "fixed" and config["eval_type"] == EvaluatorType.RANKING
            and not has_recbole_trainer(config)
            and args.get("distribution") == "uniform" and args.get("sample_num") not in (None, "none")
            and getattr(config.model_class, "full_sort_predict", None) is not AbstractRecommender.full_sort_predict)


def has_recbole_trainer(config):
    """The model trains and evaluates with a RecBole trainer of its own (S3Rec), not the plugin's."""
    return compat.recbole_trainer_class(config) is not None


def catalog_not_scored(config):
    """Why some evaluation of this run never scores the whole catalog (so no ``cross_entropy``), or None."""
    if has_recbole_trainer(config):
        return f"{config['model']} evaluates with RecBole's own trainer"
    if config["eval_type"] != EvaluatorType.RANKING:
        return "the evaluation is value-based (no ranking)"
    for phase in ("valid", "test"):
        args = config[f"{phase}_neg_sample_args"] or {}
        if args.get("sample_num") not in (None, "none") and not fixed_negatives_path(config, args):
            return (f"{phase} ranks sampled candidates through RecBole's loader ({args.get('distribution')} "
                    f"{args.get('sample_num')}, eval_negatives: {config['eval_negatives']}); use "
                    "eval_negatives: fixed with uniN, or mode: full")
    return None


def make_model(config, train_set):
    model_class = config.model_class
    if is_plugin_model(model_class):
        needs_text = model_class.needs_text(config)
        catalog = build_catalog(config, train_set, needs_text)
        return model_class(config, train_set, catalog).to(config["device"]), catalog
    return model_class(config, train_set).to(config["device"]), None


def make_trainer(config, model):
    """RecBole's own trainer for the models that have one (S3Rec's pre-training); ours otherwise."""
    adapted = recbole_trainer(config, model)
    return adapted if adapted is not None else Trainer(config, model)


def protocol_notes(config, dataset):
    notes = []
    for phase, mode in (config["eval_args"]["mode"] or {}).items():
        if isinstance(mode, str) and mode.startswith("uni") and mode[3:].isdigit():
            wanted, catalog = int(mode[3:]), dataset.item_num - 1
            if wanted >= catalog - 1:
                notes.append(f"{phase}: {mode} asks for {wanted} negatives but the catalog has {catalog} items: "
                             "each user is ranked against every item (with eval_negatives: recbole, almost every "
                             "item); eval_args mode 'full' says so plainly")
    catalog = dataset.item_num - 1
    if (is_plugin_model(config.model_class) and config["loss"] == "sampled_softmax"
            and isinstance(config["num_negatives"], int) and config["num_negatives"] >= catalog):
        notes.append(f"num_negatives: K = {config['num_negatives']} negatives are drawn (with replacement) from a "
                     f"catalog of {catalog} items: a step scores more samples than there are items; loss: full_ce "
                     f"scores each item once, exactly (or set num_negatives below {catalog})")
    return notes


def split_notes(dataset, train_data, valid_data, test_data):
    """Users the split leaves out of the test, counted: a user with one interaction has no target at all (neither
    trained nor tested on), one with two only a training target; RecBole drops both silently."""
    uid = dataset.uid_field
    total = dataset.user_num - 1
    if uid is None or total <= 0:
        return []

    def users(loader):
        if not loader:
            return torch.zeros(0, dtype=torch.long)
        return torch.unique(compat.loader_dataset(loader).inter_feat[uid])

    tested = users(test_data)
    seen = torch.unique(torch.cat([users(train_data), users(valid_data), tested]))
    single, untested = total - len(seen), total - len(tested)
    if not untested:
        return []
    return [f"test: {untested} of {total} users are not tested: {single} have a single interaction (no target: "
            f"neither trained nor tested on) and {untested - single} too few for a test item after the validation "
            "split (training only); filter them with user_inter_num_interval to make it explicit"]


def build_run(config, evaluates=True):
    """Everything a run needs, built from a config returned by :func:`load_config`. ``evaluates=False``
    (new_items, fisher: no training or evaluation follows): the protocol's notes are kept, not logged."""
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    getLogger().info(dataset)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    notes = protocol_notes(config, dataset) + split_notes(dataset, train_data, valid_data, test_data)
    for note in notes if evaluates else ():
        getLogger().warning(note)
    # Dropout differs across ranks; the initial weights are rank 0's (DDP broadcasts them).
    init_seed(config["seed"] + distributed.rank(), config["reproducibility"])
    with distributed.main_first():  # rank 0 trains and caches the tokenizer, the others read it
        model, catalog = make_model(config, compat.loader_dataset(train_data))
    for note in catalog.notes if catalog is not None else ():  # item texts that are empty
        notes.append(note)
        if evaluates:
            getLogger().warning(note)
    if config["init_from"]:
        init_from(model, config["init_from"])
    getLogger().info(model, extra=FILE_ONLY)  # the module tree: the log file, or the console with --verbose
    trainer = make_trainer(config, model)
    if config["resume_from"]:
        trainer.resume(config["resume_from"])
    return Run(config, dataset, train_data, valid_data, test_data, model, trainer, catalog, notes)
