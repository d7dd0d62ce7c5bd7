"""recbole_srt.config_check: unknown keys and wrong types are rejected before any data is loaded."""

import os
import time

import pytest
import yaml

from recbole_srt import config_check
from recbole_srt.config_check import ConfigError, check_types, check_unknown_keys, known_keys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def plugin_properties_dir():
    """The plugin's properties/ folder: inside the package once the tree is reorganised, else at the repo root."""
    for path in (os.path.join(REPO, "recbole_srt", "properties"), os.path.join(REPO, "properties")):
        if os.path.isdir(path):
            return path
    raise AssertionError("no plugin properties/ directory found")


@pytest.fixture(scope="module")
def known():
    return known_keys(plugin_properties_dir())


# --- known_keys --------------------------------------------------------------------------------


def test_known_keys_is_fast_cold():
    config_check._recbole_keys.cache_clear()
    start = time.perf_counter()
    keys = known_keys(plugin_properties_dir())
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0, f"known_keys() took {elapsed:.2f} s cold"
    assert len(keys) > 300
    start = time.perf_counter()
    known_keys(plugin_properties_dir())
    assert time.perf_counter() - start < 0.5  # RecBole's part is cached


@pytest.mark.parametrize(
    "key",
    [
        # overall.yaml, dataset/sample.yaml, model/*.yaml, quick_start_config/*.yaml
        "epochs", "learning_rate", "stopping_step", "eval_args", "gpu_id",
        "load_col", "MAX_ITEM_LIST_LENGTH", "user_inter_num_interval",
        "n_layers", "hidden_dropout_prob", "train_stage", "loss_type",
        # only read in RecBole's sources: deprecated, model-specific, or run-script options
        "neg_sampling", "training_neg_sample_num", "encoding", "model", "dataset",
        "valid_neg_sample_args", "config_files", "nproc",
    ],
)
def test_recbole_keys_are_known(known, key):
    assert key in known


def test_plugin_keys_are_known(known):
    plugin_keys = set()
    for root, _, files in os.walk(plugin_properties_dir()):
        for name in files:
            if name.endswith(".yaml"):
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    plugin_keys |= set(yaml.safe_load(f) or {})
    assert {"num_negatives", "text_fields", "time_budget", "preset"} <= plugin_keys
    assert plugin_keys <= known


def test_non_keys_are_not_known(known):
    # dataset names of RecBole's url tables, hyper-tuning search-space kinds, Config attributes
    for name in ("ml-1m", "yelp", "choice", "loguniform", "final_config_dict", "parameters", "epoch"):
        assert name not in known


def test_plugin_dir_is_recursive_and_extra_is_added(tmp_path):
    nested = tmp_path / "model" / "deep"
    nested.mkdir(parents=True)
    (nested / "X.yaml").write_text("my_new_key: 3\n")
    (tmp_path / "empty.yaml").write_text("")
    keys = known_keys(str(tmp_path), extra=["from_argparse"])
    assert {"my_new_key", "from_argparse", "epochs"} <= keys


def test_missing_plugin_dir_fails_loudly(tmp_path):
    with pytest.raises(FileNotFoundError, match="no_such_dir"):
        known_keys(str(tmp_path / "no_such_dir"))


def test_broken_plugin_yaml_names_the_file(tmp_path):
    (tmp_path / "bad.yaml").write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml is not valid yaml"):
        known_keys(str(tmp_path))


# --- check_unknown_keys ------------------------------------------------------------------------


def test_unknown_key_with_suggestion(known):
    with pytest.raises(ConfigError) as e:
        check_unknown_keys({"epoch": "the command line"}, known)
    assert str(e.value) == "unknown config key 'epoch' (from the command line); did you mean 'epochs'?"
    with pytest.raises(ConfigError, match=r"'learing_rate' \(from file a\.yaml\); did you mean 'learning_rate'\?"):
        check_unknown_keys({"learing_rate": "file a.yaml"}, known)


def test_suggestion_ignores_case_and_dashes(known):
    with pytest.raises(ConfigError, match="did you mean 'MAX_ITEM_LIST_LENGTH'"):
        check_unknown_keys({"max_item_list_length": "config_dict"}, known)
    with pytest.raises(ConfigError, match="did you mean 'learning_rate'"):
        check_unknown_keys({"learning-rate": "the command line"}, known)


def test_unknown_key_without_suggestion(known):
    with pytest.raises(ConfigError) as e:
        check_unknown_keys({"zzqx_frobnicate": "config_dict"}, known)
    assert str(e.value) == (
        "unknown config key 'zzqx_frobnicate' (from config_dict); "
        "see the README's option tables or RecBole's properties/overall.yaml"
    )


def test_known_keys_pass_and_order_is_stable(known):
    check_unknown_keys({"epochs": "the command line", "num_negatives": "file a.yaml"}, known)
    check_unknown_keys({}, known)
    with pytest.raises(ConfigError, match="'aaa_unknown'"):
        check_unknown_keys({"zzz_unknown": "the command line", "epochs": "x", "aaa_unknown": "config_dict"}, known)


def test_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


# --- check_types -------------------------------------------------------------------------------

DEFAULTS = {
    "learning_rate": 0.001,
    "epochs": 300,
    "show_progress": True,
    "valid_metric": "MRR@10",
    "text_fields": ["title", "brand"],
    "clip_grad_norm": {"max_norm": 1.0},
    "time_budget": None,
    "hidden_dropout_prob": 0,  # SASRecCPR's integer default for a real-valued option
    # exempt keys, with defaults of one type that RecBole accepts in several
    "eval_args": {"order": "RO"},
    "train_neg_sample_args": {"distribution": "uniform"},
    "gpu_id": "0",
    "topk": [10],
    "metrics": ["Recall", "NDCG"],
    "seed": 2020,
    "load_col": {"inter": ["user_id", "item_id"]},
    "user_inter_num_interval": "[0,inf)",
}


def check(**values):
    check_types(values, DEFAULTS, {key: "the command line" for key in values})


def type_error(**values):
    with pytest.raises(ConfigError) as e:
        check(**values)
    return str(e.value)


def test_float_expects_a_number():
    assert type_error(learning_rate="abc") == "learning_rate: expected a number, got 'abc' (str, from the command line)"
    assert "expected a number, got True (bool" in type_error(learning_rate=True)


def test_int_accepted_for_float():
    check(learning_rate=1, epochs=5)


def test_int_expects_an_integer():
    assert type_error(epochs=1.5) == "epochs: expected an integer, got 1.5 (float, from the command line)"
    assert type_error(epochs=2.0) == "epochs: expected an integer, got 2.0 (float, from the command line); write 2"
    assert "expected an integer, got True (bool" in type_error(epochs=True)
    assert "expected an integer, got '5' (str" in type_error(epochs="5")


def test_bool_expects_a_bool():
    assert type_error(show_progress=1) == "show_progress: expected True or False, got 1 (int, from the command line)"
    assert "got 'yes' (str" in type_error(show_progress="yes")
    check(show_progress=False)


def test_list_and_dict_and_str():
    assert type_error(text_fields="title") == "text_fields: expected a list, got 'title' (str, from the command line)"
    check(text_fields=("title",))
    assert "clip_grad_norm: expected a dict, got 1.0 (float" in type_error(clip_grad_norm=1.0)
    assert "valid_metric: expected a string, got 5 (int" in type_error(valid_metric=5)


def test_none_is_always_accepted():
    check(learning_rate=None, epochs=None, show_progress=None, valid_metric=None, text_fields=None, clip_grad_norm=None)


def test_real_valued_option_with_integer_default_takes_a_float():
    check(hidden_dropout_prob=0.3)
    assert "expected a number" in type_error(hidden_dropout_prob="high")


def test_exempt_keys_are_not_checked():
    check(
        eval_args="full",
        train_neg_sample_args="None",
        gpu_id=(0, 1),
        topk=5,
        metrics="NDCG",
        load_col=None,
        user_inter_num_interval=[5, 10],
    )
    assert {"eval_args", "gpu_id", "topk", "metrics", "load_col", "unload_col",
            "val_interval", "threshold", "train_neg_sample_args", "valid_neg_sample_args",
            "test_neg_sample_args"} <= config_check.TYPE_CHECK_EXEMPT


def test_only_user_keys_with_a_default_are_checked():
    # not user-given: not checked
    check_types({"learning_rate": "abc"}, DEFAULTS, {})
    # default None, or no default at all: not checked
    check(time_budget="ten", brand_new_option=object())


def test_first_error_in_sorted_order():
    with pytest.raises(ConfigError, match="^epochs:"):
        check(learning_rate="abc", epochs="x")


def test_plugin_yaml_values_fit_recbole_defaults():
    """The plugin's own yaml values, layered over RecBole's defaults as the Config does, pass the check."""
    recbole = os.path.join(config_check._recbole_dir(), "properties")
    defaults = {}
    for path in (os.path.join(recbole, "overall.yaml"), os.path.join(recbole, "dataset", "sample.yaml")):
        with open(path, encoding="utf-8") as f:
            defaults.update(yaml.safe_load(f))
    for root, _, names in sorted(os.walk(plugin_properties_dir())):
        for name in sorted(names):
            if name.endswith(".yaml"):
                path = os.path.join(root, name)
                with open(path, encoding="utf-8") as f:
                    values = yaml.safe_load(f) or {}
                check_types(values, defaults, {key: f"file {path}" for key in values})
