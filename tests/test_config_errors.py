"""Errors a newcomer can act on: each names the key, value or file, and comes before any data is loaded."""

import os
import subprocess
import sys

import pytest

from recbole_srt.build import load_config
from recbole_srt.config import get_model

from conftest import QUIET, copy_ml100k

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def check(message, dataset="ml-100k", model="SRT", argv=(), **options):
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        load_config(model, dataset, config_dict={**QUIET, **options}, argv=argv)


def test_hidden_size_not_divisible_by_heads():
    check(r"hidden_size \(65\) must be divisible by n_heads \(2\)", hidden_size=65)


def test_unknown_text_field_names_field_and_file():
    check(r"text_fields: 'brand' is not a column of .*ml-100k\.item", text_fields=["movie_title", "brand"])


def test_num_negatives_below_one():
    check(r"num_negatives must be an integer >= 1, got 0", num_negatives=0)


def test_negative_count_smoothing_is_named():
    check(r"neg_count_smoothing must be a number >= 0, got -1", neg_count_smoothing=-1)


def test_missing_item_file(tmp_path):
    folder = copy_ml100k(str(tmp_path), "noitems")
    os.remove(os.path.join(folder, "noitems.item"))
    check(r"item file not found: '.*noitems\.item'", dataset="noitems", data_path=str(tmp_path))


def test_a_given_data_path_holds_ml100k_as_for_any_dataset(tmp_path):
    """RecBole 1.2.1 reads its bundled ml-100k whatever data_path says; the plugin reads the user's folder."""
    copy_ml100k(str(tmp_path), "ml-100k")
    ours = load_config("SRT", "ml-100k", config_dict={**QUIET, "data_path": str(tmp_path)})
    assert ours["data_path"] == os.path.join(str(tmp_path), "ml-100k")
    bundled = load_config("SRT", "ml-100k", config_dict=QUIET)["data_path"]
    assert os.path.isfile(os.path.join(bundled, "ml-100k.inter")) and not bundled.startswith(str(tmp_path))


def test_window_stride_and_scope():
    check(r"window_stride must be an integer in \[1, MAX_ITEM_LIST_LENGTH=50\], got 51", window_stride=51)
    check(r"neg_sampling_scope must be one of sequence, batch, row, got 'user'", neg_sampling_scope="user")
    check(r"length_grouping must be an integer >= 1 \(1 = plain shuffle\), got 0", length_grouping=0)


def test_time_budget_must_be_positive_seconds():
    check(r"time_budget must be a number of seconds > 0 \(~ for none\), got -1", time_budget=-1)
    check(r"time_budget must be a number of seconds > 0 \(~ for none\), got 'ten'", time_budget="ten")


def test_model_names_are_case_insensitive_and_unknown_ones_list_the_known():
    assert get_model("srt").__name__ == "SRT" and get_model("sasrec").__name__ == "SASRec"
    assert load_config("bert4rec", "ml-100k", config_dict=QUIET)["model"] == "BERT4Rec"
    with pytest.raises(ValueError, match=r"--model=NoSuchModel: no such sequential model\. Known: .*BERT4Rec.*IDTransformer.*SRT"):
        load_config("NoSuchModel", "ml-100k")
    with pytest.raises(ValueError, match="RecBole's BPR is a general model; recbole_srt runs sequential models only"):
        load_config("bpr", "ml-100k")


def test_unknown_keys_fail_with_the_closest_known_one():
    check(r"unknown config key 'epoch' \(from the command line\); did you mean 'epochs'\?", argv=["--epoch=1"])
    check(r"unknown config key 'learing_rate' \(from config_dict\); did you mean 'learning_rate'\?", learing_rate=1e-3)
    check(r"unknown config key 'srt_all_positions' .*did you mean 'train_all_positions'", srt_all_positions=False)
    # RecBole's own keys, the plugin's and RecBole model keys stay accepted.
    load_config("SRT", "ml-100k", config_dict={**QUIET, "stopping_step": 3, "feedback_field": "rating"})
    load_config("SASRec", "ml-100k", config_dict={**QUIET, "loss_type": "CE", "train_neg_sample_args": None})


def test_values_of_the_wrong_type_fail_before_training(tmp_path):
    check(r"learning_rate: expected a number, got 'abc' \(str, from the command line\)", argv=["--learning_rate=abc"])
    check(r"epochs: expected an integer, got 2\.5", epochs=2.5)
    yaml_file = tmp_path / "bad.yaml"
    yaml_file.write_text("n_layers: two\n")
    with pytest.raises(ValueError, match=r"n_layers: expected an integer, got 'two' \(str, from file .*bad\.yaml\)"):
        load_config("SRT", "ml-100k", config_file_list=[str(yaml_file)], config_dict=QUIET)


def test_command_line_arguments_must_be_key_value():
    check(r"command line: expected --key=value, got 'epochs'", argv=["epochs"])


def test_plain_atomic_files_without_a_yaml_load_every_column(tmp_path):
    copy_ml100k(str(tmp_path), "plain")
    config = load_config("SASRec", "plain", config_dict={**QUIET, "data_path": str(tmp_path)})
    assert config["load_col"] is None  # every column, the timestamp included
    check(r"eval_args.order TO sorts by TIME_FIELD 'time', which is not a column of .*plain\.inter",
          dataset="plain", model="SASRec", data_path=str(tmp_path), TIME_FIELD="time")


def test_partial_eval_args_keep_the_plugin_split():
    config = load_config("SRT", "ml-100k", config_dict={**QUIET, "eval_args": {"mode": "full"}})
    assert config["eval_args"]["mode"] == {"valid": "full", "test": "full"}
    assert config["eval_args"]["order"] == "TO" and config["eval_args"]["split"] == {"LS": "valid_and_test"}


def test_no_gpu_no_use_gpu():
    import torch

    if not torch.cuda.is_available():
        assert load_config("SRT", "ml-100k", config_dict=QUIET)["use_gpu"] is False


def test_the_script_prints_user_errors_in_one_line_and_keeps_the_traceback_for_debug():
    command = [sys.executable, "run_recbole_srt.py", "--model=srt", "--epoch=1", "--log_dir=~"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["error: unknown config key 'epoch' (from the command line); did you mean "
                                        "'epochs'? (--debug: traceback)"]
    assert "Traceback" not in done.stderr
    debug = subprocess.run(command + ["--debug"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_catalog_cross_entropy_needs_catalog_scores_and_is_lower_is_better():
    from recbole_srt.config_check import ConfigError

    with pytest.raises(ConfigError, match="eval_cross_entropy.*RecBole's loader.*eval_negatives: fixed"):
        load_config("IDTransformer", "ml-100k", config_dict={"eval_cross_entropy": True, "eval_negatives": "recbole"})
    with pytest.raises(ConfigError, match="eval_mask_history: needs every item's score.*RecBole's loader"):
        load_config("IDTransformer", "ml-100k", config_dict={"eval_mask_history": True, "eval_negatives": "recbole"})
    with pytest.raises(ConfigError, match="eval_cross_entropy.*popularity 100"):
        load_config("IDTransformer", "ml-100k", config_dict={"eval_cross_entropy": True,
                                                             "eval_args": {"mode": "pop100"}})
    # RecBole knows lower-is-better only for its own metric names (rmse, logloss...)
    for metric, extra in (("cross_entropy", {"eval_cross_entropy": True}),
                          ("feedback_logloss", {"feedback_field": "rating"})):
        config = load_config("IDTransformer", "ml-100k", config_dict={"valid_metric": metric, **extra})
        assert config["valid_metric_bigger"] is False
    assert load_config("IDTransformer", "ml-100k")["valid_metric_bigger"] is True


def test_score_popularity_prior_is_a_number_for_the_plugins_models():
    check(r"score_popularity_prior must be a number >= 0 \(~ or 0 for none\), got -1", score_popularity_prior=-1)
    check(r"score_popularity_prior with cold_start_items: the withheld items have no training count",
          score_popularity_prior=1.0, cold_start_items=0.1)
    check(r"score_popularity_prior: added to the scores of the plugin's models .*SASRec does not read it",
          model="SASRec", score_popularity_prior=1.0)
