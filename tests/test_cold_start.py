"""cold_start_items: withheld items never reach training or validation; the test reports them apart."""

import pytest
import torch

from recbole_srt.config_check import ConfigError
from recbole_srt.quick_start import train_and_test

from conftest import make_run

FULL = {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"}


def test_withheld_items_appear_only_as_test_items_and_are_reported_apart():
    run = make_run("SRT", cold_start_items=0.1, epochs=1, eval_args=FULL)
    train, cold = run.train_data, run.train_data.dataset.cold_items
    assert int(cold.sum()) == round(0.1 * (len(cold) - 1)) and not cold[0]
    assert not cold[train.targets].any() and not cold[train.inputs].any()
    for loader in (run.valid_data, run.test_data):
        histories = loader.dataset.inter_feat[loader.dataset.item_id_list_field]
        assert not cold[histories].any()  # no cold item in anyone's history
    valid = run.valid_data.dataset
    assert not cold[valid.inter_feat[valid.iid_field]].any()
    test = run.test_data.dataset
    n_cold = int(cold[test.inter_feat[test.iid_field]].sum())
    assert n_cold > 0
    assert run.catalog.train_counts[cold].sum() == 0  # never a training negative either

    result = train_and_test(run, saved=False)
    assert result["test_users_cold"] == n_cold and result["test_users_warm"] == len(test.inter_feat) - n_cold
    assert set(result["test_result_cold"]) == set(result["test_result"]) == set(result["test_result_warm"])
    # The whole test is the users' weighted mean of the two groups.
    for metric, value in result["test_result"].items():
        mean = (n_cold * result["test_result_cold"][metric]
                + result["test_users_warm"] * result["test_result_warm"][metric]) / len(test.inter_feat)
        assert value == pytest.approx(mean, abs=2e-4)


@pytest.mark.parametrize("model,value,message", [
    ("SRT", 1.5, r"a fraction in \(0, 1\)"),
    ("SRT", True, r"a fraction in \(0, 1\)"),
    ("SASRec", 0.1, "does not use"),
])
def test_cold_start_items_is_checked_before_loading(model, value, message):
    with pytest.raises(ConfigError, match=message):
        make_run(model, cold_start_items=value)
