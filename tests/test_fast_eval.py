import pytest
import torch
from recbole.trainer import Trainer
from recbole.utils import init_seed

from recbole_srt.training.evaluation import pessimistic_ties, unique_rows
from recbole_srt.training.trainer import Trainer as PluginTrainer

from conftest import make_run


@pytest.mark.parametrize("model_name", ["SRT", "SASRec"])
def test_fast_sampled_evaluation_equals_recbole_stock_path(model_name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # RecBole's stock Trainer writes log_tensorboard/ in the working directory
    extra = {"train_neg_sample_args": None, "loss_type": "CE"} if model_name == "SASRec" else {}
    run = make_run(
        model_name, eval_args={"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "uni100", "group_by": "user"},
        **extra,
    )
    config, train, valid, model = run.config, run.train_data, run.valid_data, run.model
    # A few training steps so that scores are not those of an untrained model.
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for step, batch in zip(range(5), train):
        optimizer.zero_grad()
        model.calculate_loss(batch).backward()
        optimizer.step()
    model.eval()

    init_seed(config["seed"], True)
    stock = Trainer(config, model).evaluate(valid, load_best_model=False)
    init_seed(config["seed"], True)
    fast = PluginTrainer(config, model).evaluate(valid, load_best_model=False)
    assert dict(fast) == dict(stock)
    assert stock["ndcg@5"] > 0


def test_unique_rows_groups_identical_rows_and_survives_hash_collisions():
    key = torch.tensor([[1, 2, 3], [4, 5, 6], [1, 2, 3], [7, 8, 9], [4, 5, 6]])
    first, inverse = unique_rows(key)
    assert torch.equal(key[first][inverse], key)
    assert len(first) == 3 and sorted(first.tolist()) == [0, 1, 3]
    # Rows that differ by 2**40 in one column defeat the cheap hash more often; the
    # exact fallback must still separate them.
    wide = torch.tensor([[0, 0], [2**40, 0], [0, 2**40], [0, 0]])
    first, inverse = unique_rows(wide)
    assert torch.equal(wide[first][inverse], wide) and len(first) == 3


def test_ties_rank_above_the_positive():
    scores = torch.tensor([[0.0, 0.5, 0.7, 0.5, 0.1], [0.0, 0.2, 0.2, 0.2, 0.9]])
    out = pessimistic_ties(scores.clone(), torch.tensor([0, 1]), torch.tensor([1, 2]))
    # Row 0: item 3 ties the positive 1 and now beats it; row 1: items 1 and 3 tie the positive 2.
    assert out[0, 3] > out[0, 1] == 0.5 and out[0, 2] == 0.7
    assert out[1, 1] > out[1, 2] and out[1, 3] > out[1, 2] and out[1, 4] == 0.9
    untouched = torch.tensor([[0.0, 0.1, 0.2]])
    assert torch.equal(pessimistic_ties(untouched.clone(), torch.tensor([0]), torch.tensor([2])), untouched)


@pytest.mark.parametrize("mode", ["full", "uni100"])
def test_a_model_that_scores_every_item_alike_ranks_the_positive_last(mode):
    # Before, topk ordered ties by item id, and such a model "hit" whenever the test item had a small id.
    run = make_run("MostPop", eval_args={"mode": mode})
    run.model.item_count.zero_()
    result = run.trainer.evaluate(run.test_data, load_best_model=False)
    assert result["hit@5"] == 0 and result["ndcg@5"] == 0
