"""The plugin's training loop on the paths the end-to-end runs do not take."""

import pytest
import torch

from recbole_srt.build import load_config
from recbole_srt.quick_start import train_and_test
from recbole_srt.training.callbacks import Callback

from conftest import QUIET, make_run


class RecordLR(Callback):
    def __init__(self):
        self.lr = {}

    def on_epoch_end(self, trainer, epoch, train_loss, seconds):
        self.lr[epoch] = trainer.optimizer.param_groups[0]["lr"]


def test_a_resumed_run_continues_the_one_cycle_schedule_where_it_stopped(tmp_path):
    options = {"epochs": 3, "stopping_step": None, "eval_step": 3, "learning_rate": 1e-3}
    whole = make_run("SRT", checkpoint_dir=str(tmp_path / "whole"), **options)
    whole_lr = RecordLR()
    whole.trainer.callbacks.append(whole_lr)
    whole.trainer.fit(whole.train_data, whole.valid_data)

    # Interrupted after its first epoch (the time budget), then resumed from its checkpoint.
    first = make_run("SRT", checkpoint_dir=str(tmp_path / "first"), checkpoint_optimizer=True, time_budget=1e-6,
                     **options)
    first.trainer.fit(first.train_data, first.valid_data)
    assert first.trainer.stopped_by == "time_budget"
    resumed = make_run("SRT", checkpoint_dir=str(tmp_path / "first"), resume_from=first.trainer.saved_model_file,
                       **options)
    resumed_lr = RecordLR()
    resumed.trainer.callbacks.append(resumed_lr)
    resumed.trainer.fit(resumed.train_data, resumed.valid_data)
    assert resumed.trainer.saved_model_file != first.trainer.saved_model_file  # the source stays resumable
    assert sorted(resumed_lr.lr) == [1, 2] and whole_lr.lr[1] > 0
    assert resumed_lr.lr == pytest.approx({1: whole_lr.lr[1], 2: whole_lr.lr[2]})
    assert resumed.trainer.cur_step == whole.trainer.cur_step


def test_time_budget_before_the_first_validation_still_tests_a_checkpoint(tmp_path):
    run = make_run("SRT", epochs=5, eval_step=5, time_budget=1e-6, learning_rate=1e-3,
                   results_file=str(tmp_path / "r.json"))
    result = train_and_test(run)
    assert result["stopped_by"] == "time_budget" and [h["epoch"] for h in result["history"]] == [0]


def test_min_train_steps_lengthens_a_short_run_and_its_schedule_to_that_many_steps():
    steps = len(make_run("SRT", epochs=1).train_data)
    run = make_run("SRT", epochs=1, eval_step=1, learning_rate=1e-3, min_train_steps=2 * steps + 1)
    lr = RecordLR()
    run.trainer.callbacks.append(lr)
    run.trainer.fit(run.train_data, None, saved=False)
    assert run.trainer.epochs == 3 and run.trainer.cur_step == 3 * steps and sorted(lr.lr) == [0, 1, 2]
    assert lr.lr[2] < 1e-4 < lr.lr[0]  # one cycle over the three epochs: annealed at the end only
    longer = make_run("SRT", epochs=4, min_train_steps=2 * steps + 1)  # already enough: epochs as given
    assert longer.trainer.horizon(steps) == 4


def test_the_last_epoch_is_validated_when_eval_step_does_not_divide_the_epochs():
    # A horizon stretched by min_train_steps is rarely a multiple of eval_step; its annealed end must not be lost.
    run = make_run("SRT", epochs=3, eval_step=2, stopping_step=None, learning_rate=1e-3)
    run.trainer.fit(run.train_data, run.valid_data, saved=False)
    assert [h["epoch"] for h in run.trainer.history] == [1, 2] and run.trainer.stopped_by == "epochs"


def test_srt_trains_at_least_1000_steps_unless_the_user_names_its_epochs():
    from recbole_srt.build import load_config

    def steps(**given):
        config = load_config("SRT", "ml-100k", config_dict={"state": "ERROR", **given})
        return config["epochs"], config["min_train_steps"]

    assert steps() == (20, 1000)  # SRT's default: 20 epochs, stretched on a small catalog
    assert steps(epochs=3) == (3, None)  # --epochs=3 alone: exactly 3 epochs
    assert steps(epochs=3, min_train_steps=500) == (3, 500)  # both named: both kept
    zero_shot = make_run("SRT", epochs=0, min_train_steps=1000)
    assert zero_shot.trainer.horizon(19) == 0  # epochs: 0 tests the starting weights, never stretched


def test_gradient_accumulation_takes_one_optimizer_step_per_group(tmp_path):
    run = make_run("SRT", epochs=1, gradient_accumulation_steps=4)
    run.trainer.fit(run.train_data, None, saved=False)
    assert run.trainer.cur_step == -(-len(run.train_data) // 4)


def test_metrics_that_need_training_counts_and_smaller_is_better_scores(tmp_path):
    run = make_run("SRT", epochs=1, metrics=["NDCG", "Hit", "ItemCoverage", "AveragePopularity"],
                   valid_metric="AveragePopularity@5", eval_args={"mode": "full"})
    assert run.config["valid_metric_bigger"] is False
    best, result = run.trainer.fit(run.train_data, run.valid_data)
    assert best == result["averagepopularity@5"] > 0 and 0 < result["itemcoverage@5"] <= 1


def test_configurations_that_cannot_work_fail_early():
    with pytest.raises(ValueError, match="train_all_positions: SASRec trains on RecBole's rows"):
        load_config("SASRec", "ml-100k", config_dict={**QUIET, "train_all_positions": True})
    with pytest.raises(ValueError, match="hidden_act: unknown 'swishy'"):
        load_config("SRT", "ml-100k", config_dict={**QUIET, "hidden_act": "swishy"})
    model = make_run("SRT", item_encoder="text+id", epochs=1).model
    with pytest.raises(ValueError, match="text\\+id cannot move to another catalog"):
        model.set_item_tokens([torch.zeros(5, 3, dtype=torch.long)] * 2)


def test_autocast_runs_the_step_in_bfloat16_with_float32_weights():
    run = make_run("IDTransformer", n_layers=2, hidden_size=32, n_heads=2, inner_size=64, enable_amp=True)
    seen = []
    run.model.backbone.blocks[0].qkv.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    batch = next(iter(run.train_data))
    loss = run.trainer.train_epoch([batch], 0)
    assert seen == [torch.bfloat16] and all(p.dtype == torch.float32 for p in run.model.parameters())
    assert loss == loss  # finite
    from recbole_srt.config_check import ConfigError

    with pytest.raises(ConfigError, match="amp_dtype must be bfloat16 or float16"):
        load_config("IDTransformer", "ml-100k", config_dict={"amp_dtype": "float8"})


def test_torch_compile_compiles_the_backbone_in_place_and_computes_the_same_loss():
    small = {"n_layers": 1, "hidden_size": 32, "n_heads": 2, "inner_size": 64, "train_batch_size": 256,
             "num_negatives": 50}
    compiled, plain = make_run("SRT", torch_compile=True, **small), make_run("SRT", **small)
    assert list(compiled.model.state_dict()) == list(plain.model.state_dict())  # checkpoints stay loadable
    plain.model.load_state_dict(compiled.model.state_dict())
    batch, negatives = next(iter(compiled.train_data)), torch.arange(1, 51)
    compiled.model.eval(), plain.model.eval()
    with torch.no_grad():
        losses = [run.model.training_step(batch, neg_ids=negatives).loss for run in (compiled, plain)]
    assert torch.allclose(*losses, atol=1e-5)
    assert compiled.model.backbone._compiled_call_impl is not None and plain.model.backbone._compiled_call_impl is None


def test_torch_compile_on_a_model_without_a_backbone_names_the_key():
    from recbole_srt.config_check import ConfigError

    with pytest.raises(ConfigError, match="torch_compile"):
        make_run("SASRec", torch_compile=True)
