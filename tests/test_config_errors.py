import os

import pytest

from recbole_srt.quick_start import load_config

from conftest import copy_ml100k


def check(message, dataset="ml-100k", **options):
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        load_config("SRT", dataset, config_dict={"state": "ERROR", **options})


def test_hidden_size_not_divisible_by_heads():
    check(r"hidden_size \(65\) must be divisible by n_heads \(2\)", hidden_size=65)


def test_unknown_text_field_names_field_and_file():
    check(r"text_fields: 'brand' is not a column of .*ml-100k\.item", text_fields=["movie_title", "brand"])


def test_num_negatives_below_one():
    check(r"num_negatives must be an integer >= 1, got 0", num_negatives=0)


def test_missing_item_file(tmp_path):
    folder = copy_ml100k(str(tmp_path), "noitems")
    os.remove(os.path.join(folder, "noitems.item"))
    check(r"noitems\.item', which does not exist", dataset="noitems", data_path=str(tmp_path))


def test_window_stride_and_scope():
    check(r"window_stride must be an integer in \[1, MAX_ITEM_LIST_LENGTH=50\], got 51", window_stride=51)
    check(r"neg_sampling_scope must be 'batch' or 'row'", neg_sampling_scope="user")
    check(r"length_grouping must be an integer >= 1 \(1 = plain shuffle\), got 0", length_grouping=0)


def test_time_budget_must_be_positive_seconds():
    check(r"time_budget must be a number of seconds > 0 \(~ for none\), got -1", time_budget=-1)
    check(r"time_budget must be a number of seconds > 0 \(~ for none\), got 'ten'", time_budget="ten")


def test_unknown_model():
    with pytest.raises(ValueError, match="--model=NoSuchModel"):
        load_config("NoSuchModel", "ml-100k")


def test_partial_eval_args_keep_the_plugin_split():
    config = load_config("SRT", "ml-100k", config_dict={"eval_args": {"mode": "full"}})
    assert config["eval_args"]["mode"] == {"valid": "full", "test": "full"}
    assert config["eval_args"]["order"] == "TO" and config["eval_args"]["split"] == {"LS": "valid_and_test"}
