import collections

import pandas as pd
import pytest
import torch
from scipy.stats import chisquare
from recbole.trainer import Trainer
from recbole.utils import init_seed

from recbole_srt.data.dataloader import SampledRankingDataLoader
from recbole_srt.evaluation.ranking import fixed_negatives, keep_candidates, pessimistic_ties, unique_rows
from recbole_srt.training.trainer import Trainer as PluginTrainer

from conftest import make_run


@pytest.mark.parametrize("model_name", ["SRT", "SASRec"])
def test_fast_sampled_evaluation_equals_recbole_stock_path(model_name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # RecBole's stock Trainer writes log_tensorboard/ in the working directory
    extra = {"train_neg_sample_args": None, "loss_type": "CE"} if model_name == "SASRec" else {}
    extra["eval_negatives"] = "recbole"  # RecBole's loader: one row per candidate, as the stock Trainer expects
    # Histories of 10 items: the stock path runs the model once per candidate row (101 per user), and the
    # equality checked here does not depend on the length (43 s at 50 items).
    run = make_run(
        model_name, eval_args={"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "uni100", "group_by": "user"},
        MAX_ITEM_LIST_LENGTH=10, **extra,
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


def test_fixed_negatives_are_uniform_exclude_the_positive_and_depend_only_on_the_user():
    users = torch.arange(1, 2001)
    positives = torch.randint(1, 50, (2000,), generator=torch.Generator().manual_seed(0))
    negatives = fixed_negatives(users, positives, 51, 100, salt=7)
    assert negatives.shape == (2000, 100)
    assert negatives.min() >= 1 and negatives.max() <= 50
    assert not (negatives == positives.unsqueeze(1)).any()
    # The same user gets the same negatives in any batch; another salt (phase, seed) gives others.
    assert torch.equal(fixed_negatives(users[5:9].flip(0), positives[5:9].flip(0), 51, 100, 7), negatives[5:9].flip(0))
    assert not torch.equal(fixed_negatives(users, positives, 51, 100, 8), negatives)
    # Uniform over the 49 items that are not the positive (chi-square; a skewed hash fails it by far).
    counts = torch.bincount(negatives[positives == 1].reshape(-1), minlength=51)[2:].numpy()
    assert chisquare(counts).pvalue > 1e-3


def fast_and_stock_scores(run, model):
    """The fixed path's scores and those of RecBole's candidate rows built from the same negatives."""
    batch = next(iter(run.valid_data))
    interaction, _, positive_u, positive_i = batch
    evaluation = run.trainer.evaluation
    n_items = run.valid_data._dataset.item_num
    salt = 12345
    _, fast, _, _ = evaluation.full_sort(model, batch, n_items, (100, salt))
    negatives = fixed_negatives(interaction[run.config["USER_ID_FIELD"]], positive_i, n_items, 100, salt)
    candidates = torch.cat([positive_i.unsqueeze(1), negatives], dim=1)  # RecBole's layout: positive, then negatives
    row_idx = torch.arange(len(interaction)).repeat_interleave(101)
    rows = interaction[row_idx]
    rows.update(type(interaction)({run.config["ITEM_ID_FIELD"]: candidates.reshape(-1)}))
    _, stock, _, _ = evaluation.sampled(model, (rows, row_idx, positive_u, positive_i), n_items)
    return fast, stock, positive_u, positive_i


@pytest.mark.parametrize("model_name", ["SRT", "SASRec"])
def test_fixed_negatives_rank_exactly_as_recbole_candidate_rows_would(model_name):
    extra = {"train_neg_sample_args": None, "loss_type": "CE"} if model_name == "SASRec" else {}
    run = make_run(model_name, eval_args={"mode": "uni100"}, **extra)
    assert isinstance(run.valid_data, SampledRankingDataLoader) and run.valid_data.num_negatives == 100
    model = run.model.eval()
    with torch.no_grad():
        fast, stock, positive_u, positive_i = fast_and_stock_scores(run, model)
    assert torch.equal(torch.isfinite(fast), torch.isfinite(stock))  # the same candidates
    finite = torch.isfinite(fast)
    assert torch.allclose(fast[finite], stock[finite], rtol=1e-5, atol=1e-5)
    fast, stock = (pessimistic_ties(s, positive_u, positive_i) for s in (fast, stock))
    rank = [(s > s[positive_u, positive_i].unsqueeze(1)).sum(1) for s in (fast, stock)]
    assert torch.equal(rank[0], rank[1])


def test_fixed_negatives_give_the_same_metrics_at_every_evaluation():
    run = make_run("IDTransformer", eval_args={"mode": "uni100"})
    first = run.trainer.evaluate(run.valid_data, load_best_model=False)
    second = run.trainer.evaluate(run.valid_data, load_best_model=False)
    assert dict(first) == dict(second)
    candidates = keep_candidates(torch.zeros(1, 5), torch.tensor([[1, 1, 3]]), torch.tensor([0]), torch.tensor([2]))
    assert torch.isfinite(candidates).tolist() == [[False, True, True, True, False]]


def test_catalog_cross_entropy_is_the_held_out_items_log_loss_on_full_and_fixed_sampled_paths():
    runs = {mode: make_run("IDTransformer", eval_args={"mode": mode}, eval_cross_entropy=True, seed=7, tau=0.5)
            for mode in ("full", "uni100")}
    model = runs["full"].model.eval()
    runs["uni100"].model.load_state_dict(model.state_dict())
    results = {mode: run.trainer.evaluate(run.valid_data, load_best_model=False) for mode, run in runs.items()}
    # Direct: cross_entropy of the model's logits over items 1.. for each user's validation item.
    losses = []
    with torch.no_grad():
        for interaction, _, positive_u, positive_i in runs["full"].valid_data:
            logits = model.full_sort_predict(interaction)[:, 1:] / 0.5  # the loss's temperature
            losses.append(torch.nn.functional.cross_entropy(logits, positive_i - 1, reduction="none"))
    direct = torch.cat(losses).mean().item()
    assert results["full"]["cross_entropy"] == pytest.approx(direct, abs=2e-4)
    assert results["uni100"]["cross_entropy"] == pytest.approx(results["full"]["cross_entropy"], abs=2e-4)
    assert results["uni100"]["ndcg@5"] != results["full"]["ndcg@5"]  # the ranking metrics do see the sampling


def test_history_masking_removes_everything_the_user_had_before_the_held_out_item():
    from recbole_srt.compat import loader_dataset
    from recbole_srt.evaluation.ranking import history_items

    run = make_run("IDTransformer", eval_args={"mode": "full"}, eval_mask_history=True)
    dataset = loader_dataset(run.test_data)
    # Independent of order: ml-100k has no repeats, so a test row's history is every item of its user
    # but the held-out one (the user's items read from the whole interaction file).
    raw = pd.read_csv(dataset.dataset_path + "/ml-100k.inter", sep="\t")
    per_user = collections.defaultdict(set)
    for u, i in zip(raw["user_id:token"].astype(str), raw["item_id:token"].astype(str)):
        per_user[u].add(i)
    interaction, _, positive_u, positive_i = next(iter(run.test_data))
    rows, hist = history_items(dataset, interaction, run.model.ITEM_SEQ)
    user_tokens = dataset.id2token(dataset.uid_field, interaction[dataset.uid_field].numpy())
    for r in range(len(interaction)):
        got = set(dataset.id2token(dataset.iid_field, hist[rows == r].numpy()))
        target = dataset.id2token(dataset.iid_field, [int(positive_i[positive_u == r])])[0]
        assert got == per_user[str(user_tokens[r])] - {target}
    # Masked, the held-out item can only rank higher, and the metrics can only rise.
    plain = make_run("IDTransformer", eval_args={"mode": "full"})
    plain.model.load_state_dict(run.model.state_dict())
    masked, unmasked = (r.trainer.evaluate(r.test_data, load_best_model=False) for r in (run, plain))
    assert masked["hit@5"] >= unmasked["hit@5"] and masked["ndcg@5"] > unmasked["ndcg@5"]


def test_history_masking_of_recbole_models_covers_their_input_sequence():
    from recbole_srt.compat import loader_dataset
    from recbole_srt.evaluation.ranking import history_items

    run = make_run("SASRec", eval_args={"mode": "full"}, eval_mask_history=True, loss_type="CE",
                   train_neg_sample_args=None)
    interaction, _, _, _ = next(iter(run.test_data))
    rows, items = history_items(loader_dataset(run.test_data), interaction, run.model.ITEM_SEQ)
    lengths = interaction[run.model.ITEM_SEQ_LEN]
    assert torch.equal(torch.bincount(rows, minlength=len(interaction)), lengths)
    assert torch.equal(items, interaction[run.model.ITEM_SEQ][interaction[run.model.ITEM_SEQ] > 0])
    result = run.trainer.evaluate(run.test_data, load_best_model=False)
    assert 0 <= result["ndcg@5"] <= 1
