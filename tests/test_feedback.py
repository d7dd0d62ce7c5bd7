"""Feedback as input and as a second head (ARGUS): data path, losses, causality, metrics, errors."""

import numpy as np
import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from recbole_srt.config_check import ConfigError
from recbole_srt.model.backbones import BACKBONES
from recbole_srt.model.flops import training_flops
from recbole_srt.evaluation.feedback import auc, log_loss, ndcg

from conftest import build, make_run

FEEDBACK = {"feedback_field": "rating", "feedback_weight": 1.0}


def test_auc_log_loss_and_ndcg_against_direct_definitions():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, 200).astype(float)  # many ties
    labels = rng.random(200) < 0.4
    pos, neg = scores[labels], scores[~labels]
    pairs = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert auc(scores, labels) == pytest.approx(pairs / (len(pos) * len(neg)))
    assert np.isnan(auc(scores, np.ones(200, dtype=bool)))
    p = rng.random(200)
    assert log_loss(p, labels) == pytest.approx(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))
    assert ndcg(np.array([1.0, 3.0, 11.0, np.inf]), 10) == pytest.approx((1 + 1 / np.log2(4)) / 4)


def test_ml100k_ratings_keep_their_scale_and_ride_along_the_sequences():
    config, train, _, test = build("IDTransformer", **FEEDBACK)
    dataset = train.dataset
    assert set(torch.unique(dataset.flat_feedback).tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    # Training windows: the feedback of each input and of each target, from the same flat arrays.
    batch = next(iter(train))
    schema = train.schema
    real = batch[schema.item_seq] > 0
    assert ((batch[schema.feedback_seq] > 0) == real).all()
    assert ((batch[schema.target_feedback] > 0) == batch[schema.target_mask]).all()
    # Evaluation rows: the history's ratings, without the held-out one.
    inter = test.dataset.inter_feat
    row = 0
    target, length = int(inter["target_index"][row]), int(inter["item_length"][row])
    history = inter[schema.feedback_seq][row, :length]
    assert torch.equal(history, dataset.flat_feedback[target - length:target])
    assert inter["rating"][row] == dataset.flat_feedback[target]


@pytest.mark.parametrize("model_name", ["SRT", "IDTransformer"])
def test_every_encoder_and_backbone_reads_and_predicts_feedback(model_name):
    run = make_run(model_name, num_negatives=50, **FEEDBACK)
    model = run.model
    batch = next(iter(run.train_data))
    for backbone in BACKBONES.names():
        model.backbone = BACKBONES.get(backbone).from_config(run.config)
        model.zero_grad()
        step = model.training_step(batch)
        step.loss.backward()
        assert torch.isfinite(step.loss), backbone
        assert model.feedback.embedding.weight.grad.abs().sum() > 0, backbone
        assert model.feedback.head.out.weight.grad.abs().sum() > 0, backbone


def test_heads_switch_off_and_weights_combine():
    torch.manual_seed(0)
    run = make_run("IDTransformer", feedback_field="rating", feedback_weight=0.5, hidden_dropout_prob=0.0,
                   attn_dropout_prob=0.0)
    model = run.model
    batch = next(iter(run.train_data))
    terms = model.loss_terms(batch)
    real = batch[model.schema.target_mask].reshape(-1)
    assert len(terms.item_losses) == len(terms.feedback_losses) == real.numel()  # one per slot, padding too
    assert torch.equal(terms.weights, real) and torch.equal(terms.item_weights, real) and terms.targets == real.sum()
    assert torch.isfinite(terms.item_losses).all() and torch.isfinite(terms.feedback_losses).all()
    expected = terms.item_losses[real].mean() + 0.5 * terms.feedback_losses[real].mean()
    assert model.training_step(batch).loss.item() == pytest.approx(expected.item(), rel=1e-5)

    next_only = make_run("IDTransformer", feedback_field="rating", feedback_weight=0.0).model
    assert next_only.feedback.head is None and not next_only.predicts_feedback
    assert next_only.loss_terms(batch).feedback_losses is None

    feedback_only = make_run("IDTransformer", feedback_field="rating", feedback_weight=1.0, next_item_weight=0.0).model
    terms = feedback_only.loss_terms(batch)
    assert terms.item_losses is None
    assert "logits: catalog" not in terms.components  # no next-item scoring at all


def test_next_item_on_liked_targets_still_reads_every_interaction():
    run = make_run("IDTransformer", feedback_field="rating", feedback_weight=0.0, next_item_targets="liked")
    batch = next(iter(run.train_data))
    schema = run.model.schema
    terms = run.model.loss_terms(batch)
    liked = (batch[schema.target_feedback] >= 4) & batch[schema.target_mask]
    assert torch.equal(terms.item_weights, liked.reshape(-1)) and int(liked.sum()) < terms.targets
    assert ((batch[schema.feedback_seq] < 4) & (batch[schema.item_seq] > 0)).any()  # disliked inputs are read


def test_ordinal_feedback_uses_cumulative_levels():
    run = make_run("IDTransformer", feedback_field="rating", feedback_weight=1.0, feedback_target="ordinal")
    scale = run.model.feedback_scale
    labels = scale.labels(torch.tensor([1.0, 3.0, 5.0]))
    assert labels.tolist() == [[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 1]]
    logits = torch.tensor([[0.0, 1.0, 2.0, 3.0]])
    assert scale.like_logit(logits).item() == 2.0  # P(level >= 4) = P(level > 3)


def test_feedback_does_not_leak_from_the_future():
    run = make_run("IDTransformer", hidden_dropout_prob=0.0, attn_dropout_prob=0.0, **FEEDBACK)
    model = run.model.eval()
    schema = model.schema
    batch = next(iter(run.train_data))
    row = int(torch.argmax(batch[schema.item_seq_len]))
    length = int(batch[schema.item_seq_len][row])
    items = batch[schema.item_seq][row:row + 1, :length]
    feedback = batch[schema.feedback_seq][row:row + 1, :length].clone()

    def states(values):
        inputs = model.with_feedback(model.item_representations()[items], items, values)
        return model.backbone(inputs, None)[0]

    with torch.no_grad():
        before = states(feedback)
        changed = feedback.clone()
        t = length // 2
        changed[0, t] = 1.0 if changed[0, t] >= 4 else 5.0
        after = states(changed)
    assert torch.allclose(before[:t], after[:t], atol=1e-6)  # states before t never see the reaction at t
    assert not torch.allclose(before[t], after[t])


@pytest.mark.parametrize("negatives", ["fixed", "recbole"])
def test_feedback_metrics_agree_between_full_and_sampled_evaluation(negatives):
    full = make_run("IDTransformer", eval_args={"mode": "full"}, topk=[10], valid_metric="ndcg@10", **FEEDBACK)
    sampled = make_run("IDTransformer", eval_args={"mode": "uni100"}, topk=[10], valid_metric="ndcg@10",
                       eval_negatives=negatives, **FEEDBACK)
    sampled.model.load_state_dict(full.model.state_dict())
    for run in (full, sampled):
        run.trainer.evaluation.prepare(run.train_data)
    a = full.trainer.evaluate(full.test_data, load_best_model=False)
    b = sampled.trainer.evaluate(sampled.test_data, load_best_model=False)
    for key in ("feedback_auc", "feedback_logloss", "feedback_auc_item_mean", "liked_users"):
        assert a[key] == b[key]
    assert 300 < a["liked_users"] < 943  # the test users whose held-out rating is 4 or 5
    # 100 sampled candidates rank the held-out item higher than the whole catalog does
    assert b["liked_ndcg@10"] >= a["liked_ndcg@10"]
    assert {"liked_ndcg@10_reranked", "feedback_auc"} <= set(a)


def test_a_short_joint_run_predicts_feedback_above_chance():
    run = make_run("IDTransformer", epochs=3, eval_step=3, eval_args={"mode": "full"}, topk=[10],
                   valid_metric="feedback_auc", **FEEDBACK)
    run.trainer.fit(run.train_data, run.valid_data, saved=False)
    result = run.trainer.evaluate(run.test_data, load_best_model=False)
    assert result["feedback_auc"] > 0.65
    assert result["feedback_logloss"] < 0.69  # better than a coin
    assert 0.6 < result["feedback_auc_item_mean"] < 0.8


def test_feedback_head_flops_match_the_flop_counter():
    run = make_run("IDTransformer", preset="L4-H2-D64", **FEEDBACK)
    batch = next(iter(run.train_data))
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        terms = run.model.loss_terms(batch)
        run.model.objective(terms).backward()
    assert "feedback head" in terms.components
    assert training_flops(terms.components)["matmul"] == pytest.approx(counter.get_total_flops(), rel=0.05)


@pytest.mark.parametrize("overrides,message", [
    ({"feedback_weight": 1.0}, "set feedback_field"),
    ({"feedback_field": "rating", "feedback_weight": 0.0, "next_item_weight": 0.0}, "nothing to train"),
    ({"feedback_field": "rating", "feedback_weight": -1}, "feedback_weight must be a number >= 0"),
    ({"feedback_field": "rating", "next_item_targets": "good"}, "next_item_targets must be"),
    ({"feedback_field": "rating", "feedback_target": "ordinal", "feedback_threshold": 4.5}, "integer level"),
])
def test_bad_feedback_settings_fail_before_loading(overrides, message):
    with pytest.raises(ConfigError, match=message):
        build("IDTransformer", **overrides)


def test_feedback_data_errors_name_the_column():
    with pytest.raises(ConfigError, match="puts every value of feedback_field 'rating'"):
        make_run("IDTransformer", feedback_field="rating", feedback_threshold=6)
    with pytest.raises(ConfigError, match="feedback_levels=4"):
        make_run("IDTransformer", feedback_field="rating", feedback_target="ordinal", feedback_levels=4,
                 feedback_weight=1.0)
    with pytest.raises(ConfigError, match="'rating' is not a loaded interaction column"):
        make_run("IDTransformer", feedback_field="rating", load_col={"inter": ["user_id", "item_id", "timestamp"]})
    with pytest.raises(ConfigError, match="valid_metric 'NDCG@5' is not reported"):
        build("IDTransformer", topk=[10], **FEEDBACK)
    with pytest.raises(ConfigError, match="has no feedback head"):
        build("SASRec", feedback_field="rating", feedback_weight=1.0)


def test_reranking_by_like_probability():
    run = make_run("IDTransformer", eval_args={"mode": "full"}, topk=[10], valid_metric="ndcg@10", **FEEDBACK)
    model = run.model.eval()

    def evaluate(like_probability):
        model.like_probability = like_probability
        return run.trainer.evaluate(run.test_data, load_best_model=False)

    # A constant P(like) keeps the order: the re-ranked top 10 is the next-item top 10.
    constant = evaluate(lambda state, items: torch.full(items.shape, 0.5))
    assert constant["liked_ndcg@10_reranked"] == constant["liked_ndcg@10"]

    # An oracle that knows each user's held-out item (found from the user's sequence state) lifts it to
    # the top whenever it is among the 100 re-ranked candidates; the next-item ranks say how often.
    held_out, ranks = {}, []
    with torch.no_grad():
        for interaction, *_ in run.test_data:
            for state, item in zip(model.sequence_output(interaction), interaction["item_id"].tolist()):
                held_out[tuple(state.tolist())] = item
            scores = model.full_sort_predict(interaction)
            scores[:, 0] = -float("inf")
            target = scores.gather(1, interaction["item_id"].unsqueeze(1))
            ranks.append((scores >= target).sum(1)[interaction["rating"] >= 4])
    oracle = evaluate(lambda state, items: torch.tensor(
        [0.999 if held_out.get(tuple(s.tolist())) == int(i) else 1e-6 for s, i in zip(state, items)]))
    in_top_100 = (torch.cat(ranks) <= 100).double().mean().item()
    assert oracle["liked_ndcg@10_reranked"] == pytest.approx(in_top_100, abs=1e-4)
    assert oracle["liked_ndcg@10_reranked"] > oracle["liked_ndcg@10"]
