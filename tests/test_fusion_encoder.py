"""item_encoder fusion: text(i) + n_i / (n_i + m) id(i) (recbole_srt/model/item_encoders/fusion.py)."""

import pytest
import torch

from recbole_srt import new_items
from recbole_srt.checkpoint import init_from
from recbole_srt.compat import loader_dataset
from recbole_srt.config_check import ConfigError
from recbole_srt.model.item_encoders.text import TextItemEncoder
from recbole_srt.tokenizer import item_texts

from conftest import make_run

FULL = {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"}


def text_part(encoder, item_ids):
    return TextItemEncoder.forward(encoder, item_ids)


def test_an_item_never_trained_on_is_its_text_exactly_and_its_id_row_never_moves():
    run = make_run("SRT", item_encoder="fusion", cold_start_items=0.1, eval_args=FULL, fusion_id_dropout=0.3)
    model, encoder = run.model, run.model.item_encoder
    counts = run.catalog.train_counts
    cold = torch.nonzero(run.train_data.dataset.cold_items).flatten()
    warm = torch.nonzero(counts > 0).flatten()
    assert len(cold) > 0 and (counts[cold] == 0).all()
    torch.testing.assert_close(encoder.id_weight[warm], counts[warm] / (counts[warm] + 20.0))
    before = encoder.id_embedding.weight.detach().clone()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for batch, _ in zip(run.train_data, range(3)):
        model.train()
        optimizer.zero_grad()
        model.training_step(batch).loss.backward()
        optimizer.step()
    after = encoder.id_embedding.weight.detach()
    assert torch.equal(after[cold], before[cold])  # no gradient ever reaches a cold item's row
    assert not torch.equal(after[warm], before[warm])
    with pytest.raises(ConfigError, match="item_encoder fusion cannot move to another catalog"):
        encoder.set_item_tokens([torch.zeros(5, 3, dtype=torch.long)] * encoder.n_fields)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(encoder(cold), text_part(encoder, cold))
        assert (encoder(warm) - text_part(encoder, warm)).abs().sum() > 0


def test_id_dropout_drops_whole_items_while_training_only():
    encoder = make_run("SRT", item_encoder="fusion", fusion_id_dropout=0.5, fusion_eval_id="full").model.item_encoder
    items = torch.arange(1, encoder.n_items)
    with torch.no_grad():
        encoder.id_embedding.weight.normal_()
        encoder.train()
        trained = encoder(items) - text_part(encoder, items)
        dropped = (trained.abs().sum(-1) == 0) & (encoder.id_weight[items] > 0)
        assert 0.4 < dropped.float().mean() < 0.6  # whole items lose their ID part, about half of them
        encoder.eval()
        full = encoder(items) - text_part(encoder, items)
    kept = ~dropped
    torch.testing.assert_close(trained[kept], full[kept])  # fusion_eval_id full: a kept item is as at test time


def test_expected_eval_id_scores_warm_items_with_the_mean_of_their_trained_id_part_and_cold_ones_by_text():
    run = make_run("SRT", item_encoder="fusion", cold_start_items=0.1, eval_args=FULL, fusion_id_dropout=0.25,
                   fusion_eval_id="expected")
    encoder = run.model.item_encoder
    cold = torch.nonzero(run.train_data.dataset.cold_items).flatten()
    warm = torch.nonzero(run.catalog.train_counts > 0).flatten()
    with torch.no_grad():
        encoder.id_embedding.weight.normal_()
        encoder.train()
        trained = torch.stack([encoder(warm) - text_part(encoder, warm) for _ in range(200)])
        encoder.eval()
        tested = encoder(warm) - text_part(encoder, warm)
        torch.testing.assert_close(tested, 0.75 * encoder.id_weight[warm, None] * encoder.id_embedding(warm))
        # the mean over training's draws, within sampling error
        assert (trained.mean(0) - tested).abs().max() < 0.25 * encoder.id_embedding(warm).abs().max()
        torch.testing.assert_close(encoder(cold), text_part(encoder, cold))
    with pytest.raises(ConfigError, match="fusion_eval_id must be 'full' or 'expected', got 'half'"):
        make_run("SRT", item_encoder="fusion", fusion_eval_id="half")


def test_a_fused_model_scores_new_items_from_their_text_and_starts_from_a_text_checkpoint(tmp_path):
    run = make_run("SRT", item_encoder="fusion", epochs=1, checkpoint_dir=str(tmp_path))
    model, config = run.model.eval(), run.config
    fields = list(config["text_fields"])
    texts = item_texts(loader_dataset(run.train_data), fields)
    items = torch.tensor([5, 50, 500])
    records = [{f: texts[f][i] for f in fields} for i in items.tolist()]
    history = torch.tensor([1, 2, 3, 4])
    scores = new_items.score_new_items(model, config, history, records)
    with torch.no_grad():
        state = model.forward(history[None], torch.tensor([len(history)]))
        from_text = (state @ text_part(model.item_encoder, items).T)[0]
    torch.testing.assert_close(scores, from_text, rtol=1e-5, atol=1e-5)  # a new item has no ID part

    source = make_run("SRT", checkpoint_dir=str(tmp_path))
    source.trainer.save_checkpoint(0)
    missing, unexpected = init_from(make_run("SRT", item_encoder="fusion").model, source.trainer.saved_model_file)
    assert missing == ["item_encoder.id_embedding.weight"] and unexpected == []


@pytest.mark.parametrize("key,value,message", [
    ("fusion_count_prior", -1, "fusion_count_prior must be a number >= 0"),
    ("fusion_count_prior", "many", "fusion_count_prior: expected a number"),
    ("fusion_id_dropout", 1.0, r"fusion_id_dropout must be a probability in \[0, 1\)"),
])
def test_bad_fusion_settings_fail_before_loading_naming_the_key(key, value, message):
    with pytest.raises(ConfigError, match=message):
        make_run("SRT", item_encoder="fusion", **{key: value})


def test_interpolate_takes_the_shrinkage_estimate_and_leaves_a_cold_item_its_text():
    run = make_run("SRT", item_encoder="fusion", cold_start_items=0.1, eval_args=FULL, fusion_form="interpolate")
    encoder = run.model.item_encoder.eval()
    cold = torch.nonzero(run.train_data.dataset.cold_items).flatten()
    warm = torch.nonzero(run.catalog.train_counts > 0).flatten()
    with torch.no_grad():
        encoder.id_embedding.weight.normal_()
        w = 0.5 * encoder.id_weight[warm].unsqueeze(-1)  # fusion_eval_id expected: the mean under dropout 0.5
        torch.testing.assert_close(encoder(warm), (1 - w) * text_part(encoder, warm) + w * encoder.id_embedding(warm))
        torch.testing.assert_close(encoder(cold), text_part(encoder, cold))
    with pytest.raises(ConfigError, match="fusion_form must be 'sum' or 'interpolate', got 'mean'"):
        make_run("SRT", item_encoder="fusion", fusion_form="mean")
