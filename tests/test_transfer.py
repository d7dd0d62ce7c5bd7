"""Fine-tuning tools: EWC (penalty, Fisher estimate, the fisher command) and progressive unfreezing."""

import json

import pytest
import torch

from recbole_srt import fisher as fisher_cli
from recbole_srt.checkpoint import save_checkpoint
from recbole_srt.quick_start import train_and_test
from recbole_srt.training.ewc import EWC, estimate_fisher, window_loss_sum
from recbole_srt.training.trainer import Trainer
from recbole_srt.training.unfreezing import set_trainable

from conftest import make_run

SMALL = {"n_layers": 2, "hidden_size": 32, "n_heads": 2, "inner_size": 64, "train_batch_size": 8}


def test_ewc_penalty_is_half_lambda_fisher_weighted_squared_distance(tmp_path):
    run = make_run("IDTransformer", **SMALL)
    params = dict(run.model.named_parameters())
    generator = torch.Generator().manual_seed(0)
    fisher = {n: torch.rand(p.shape, generator=generator) for n, p in params.items()}
    anchor = {n: p.detach() + 0.1 * torch.randn(p.shape, generator=generator) for n, p in params.items()}
    anchor.pop("backbone.final_norm.weight")  # a tensor the file lacks stays free
    path = tmp_path / "f.pt"
    torch.save({"fisher": fisher, "anchor": anchor, "windows": 3}, path)
    ewc = EWC(run.model, str(path), lam=100.0)
    assert ewc.skipped == ["backbone.final_norm.weight"]
    expected = 50.0 * sum((fisher[n] * (params[n] - anchor[n]) ** 2).sum() for n in anchor)
    penalty = ewc.penalty()
    torch.testing.assert_close(penalty, expected)
    penalty.backward()
    name = "backbone.blocks.0.qkv.weight"
    torch.testing.assert_close(params[name].grad, 100.0 * fisher[name] * (params[name] - anchor[name]).detach())


def test_fisher_is_the_mean_squared_per_window_gradient_and_the_command_writes_it(tmp_path, capsys):
    run = make_run("IDTransformer", **SMALL)
    model = run.model
    batch = next(iter(run.train_data))  # the loader shuffles: one fixed batch for both
    got, used = estimate_fisher(model, [batch], windows=5)
    assert used == 5
    expected = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
    model.eval()
    model.training = True  # no dropout anywhere, gradients to the item table (as the estimator)
    for k in range(5):
        model.zero_grad()
        window_loss_sum(model, batch[k:k + 1]).backward()
        for n, p in model.named_parameters():
            if p.grad is not None:
                expected[n] += p.grad ** 2 / 5
    for n in expected:
        torch.testing.assert_close(got[n], expected[n], rtol=1e-4, atol=1e-10)

    checkpoint = tmp_path / "pre.pth"
    save_checkpoint(str(checkpoint), {"state_dict": model.state_dict()}, run.config, model)
    options = [f"--{k}={v}" for k, v in SMALL.items()]
    assert fisher_cli.main(["--model=IDTransformer", f"--checkpoint={checkpoint}", "--fisher_windows=4",
                            "--log_dir=~", *options]) == 0
    saved = torch.load(f"{checkpoint}.fisher.pt", weights_only=True)
    assert saved["windows"] == 4 and set(saved["fisher"]) == set(saved["anchor"])
    torch.testing.assert_close(saved["anchor"]["backbone.blocks.0.qkv.weight"],
                               model.state_dict()["backbone.blocks.0.qkv.weight"])
    assert "4 windows" in capsys.readouterr().out


def test_a_stage_trains_only_the_top_layers_and_the_heads():
    run = make_run("IDTransformer", **SMALL)
    model = run.model
    set_trainable(model, 1)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith(("backbone.blocks.1.", "backbone.final_norm", "loss_fct")) for n in trainable)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    Trainer(run.config, model, epochs=1).fit(run.train_data, None, saved=False)
    for n, p in model.named_parameters():
        assert torch.equal(p, before[n]) == (n not in trainable), n


def test_item_encoder_first_trains_it_from_the_first_stage_and_keeps_the_layers_frozen():
    from recbole_srt.training.unfreezing import stages

    run = make_run("IDTransformer", **SMALL, unfreeze_stage_epochs=2, unfreeze_item_encoder="first")
    model = run.model
    plan = stages(model, run.config)
    assert [(name, top, encoder) for name, top, encoder, _ in plan] == [
        ("item encoder", 0, True), ("item encoder + top 1 of 2 layers", 1, True), ("everything", None, True)]
    set_trainable(model, 0, item_encoder=True)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert any(n.startswith("item_encoder.") for n in trainable)
    assert all(n.startswith(("item_encoder.", "backbone.final_norm", "loss_fct")) for n in trainable)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    Trainer(run.config, model, epochs=1).fit(run.train_data, None, saved=False)
    for n, p in model.named_parameters():
        assert torch.equal(p, before[n]) == (n not in trainable), n
    paper = make_run("IDTransformer", **SMALL, unfreeze_stage_epochs=2)
    assert [name for name, *_ in stages(paper.model, paper.config)] == [
        "top 1 of 2 layers", "top 2 of 2 layers", "everything"]


def test_fine_tuning_in_stages_with_ewc_reports_every_stage_and_tests_the_best(tmp_path):
    pre = make_run("IDTransformer", **SMALL)
    checkpoint = tmp_path / "pre.pth"
    save_checkpoint(str(checkpoint), {"state_dict": pre.model.state_dict()}, pre.config, pre.model)
    fisher, _ = estimate_fisher(pre.model, pre.train_data, windows=3)
    torch.save({"fisher": fisher, "anchor": {n: p.detach() for n, p in pre.model.named_parameters()},
                "windows": 3}, f"{checkpoint}.fisher.pt")
    run = make_run("IDTransformer", **SMALL, init_from=str(checkpoint), ewc_lambda=100.0, unfreeze_stage_epochs=1,
                   epochs=1, eval_args={"mode": "full"}, checkpoint_dir=str(tmp_path),
                   results_file=str(tmp_path / "result.json"))
    result = train_and_test(run)
    stages = result["stages"]
    assert [s["stage"] for s in stages] == ["top 1 of 2 layers", "top 2 of 2 layers", "everything"]
    assert stages[0]["trainable_parameters"] < stages[1]["trainable_parameters"] < stages[2]["trainable_parameters"]
    scores = [s["best_valid_score"] for s in stages]
    assert result["best_valid_score"] == max(scores)
    best = stages[scores.index(max(scores))]
    assert result["checkpoint"] == best["checkpoint"]
    assert [(h["stage"], h["epoch"]) for h in result["history"]] == [("top 1 of 2 layers", 0),
                                                                      ("top 2 of 2 layers", 1), ("everything", 2)]
    assert all(p.requires_grad for p in run.model.parameters())
    assert json.loads((tmp_path / "result.json").read_text())["stages"][2]["stage"] == "everything"


def test_bad_fine_tuning_keys_are_refused():
    from recbole_srt.build import load_config
    from recbole_srt.config_check import ConfigError

    with pytest.raises(ConfigError, match="ewc_lambda > 0 anchors to pre-trained weights"):
        load_config("IDTransformer", "ml-100k", config_dict={"ewc_lambda": 10.0})
    with pytest.raises(ConfigError, match="unfreeze_stage_epochs must be an integer >= 1"):
        load_config("IDTransformer", "ml-100k", config_dict={"unfreeze_stage_epochs": 0})
    with pytest.raises(ConfigError, match="unfreeze_item_encoder must be 'last'"):
        load_config("IDTransformer", "ml-100k", config_dict={"unfreeze_item_encoder": "middle"})


def test_zero_epochs_tests_the_starting_weights_as_they_are(tmp_path):
    pre = make_run("IDTransformer", **SMALL, eval_args={"mode": "full"})
    checkpoint = tmp_path / "pre.pth"
    save_checkpoint(str(checkpoint), {"state_dict": pre.model.state_dict()}, pre.config, pre.model)
    expected = pre.trainer.evaluate(pre.test_data, load_best_model=False)
    run = make_run("IDTransformer", **SMALL, eval_args={"mode": "full"}, epochs=0, init_from=str(checkpoint),
                   results_file=str(tmp_path / "r.json"))
    result = train_and_test(run)
    assert result["stopped_by"] == "zero_shot" and result["checkpoint"] is None
    assert result["test_result"] == pytest.approx({k: float(v) for k, v in expected.items()})
    assert result["best_valid_result"]["ndcg@5"] >= 0

